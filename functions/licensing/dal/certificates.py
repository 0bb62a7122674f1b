"""The latest certificate of a licence, kept on the licence item (``certificate``) so that a fetch may hand it out
again instead of signing (``functions.licensing.logic.certificates.reusable``)."""

from __future__ import annotations

from functions.shared import aws


def save_certificate(table: str, license_id: str, certificate: str) -> bool:
    """Replace the stored certificate, only while the licence is active (False otherwise: the licence ended while
    the certificate was being signed, and that certificate's status-list bit tells verifiers so)."""
    ddb = aws.client("dynamodb")
    try:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": f"LIC#{license_id}"}, "sk": {"S": "LIC"}},
            UpdateExpression="SET certificate = :c",
            ConditionExpression="#s = :active",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": {"S": certificate}, ":active": {"S": "active"}},
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        return False
    return True
