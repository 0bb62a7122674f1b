"""One JSON-protocol AWS call (DynamoDB) without botocore's generic request pipeline: the delivery's read.

botocore spends most of a small call's CPU on machinery a fixed, read-only request does not need: building the
request from the service model, rebuilding the user agent, resolving the endpoint ruleset, and walking the response's
shape to parse every attribute value (the delivery's ``BatchGetItem`` of a licence and an asset: about 3.4 ms of the
handler's 10 ms per delivery, measured 2026-11-30; docs/performance.md, "The cost of a delivery").

What is kept from botocore, so the call behaves as the client's own:
- the client's credentials, region and signer (``RequestSigner.sign``: SigV4, refreshed credentials);
- the client's endpoint URL and HTTP session (connection pool, timeouts, proxies; its exceptions:
  ``EndpointConnectionError``, ``ReadTimeoutError``...);
- the client's events, in botocore's order: ``before-parameter-build`` (the API parameters), ``before-call`` (the
  serialised request; a handler may answer instead, as botocore allows) and ``before-send`` (the signed request:
  moto's in-process mock and the Stubber answer here). So the tests' mocks, their fault injection and the call
  counting of P1 and ``make bench`` see this call exactly as they see any other;
- errors: ``ClientError`` with DynamoDB's error code and message, after botocore's standard retry rule for
  transient failures (throttling, 5xx, a connection that failed or dropped, a response whose CRC32 does not match),
  3 attempts with jittered backoff. Only idempotent reads may use it.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from typing import TYPE_CHECKING, Any  # Any: botocore's untyped internals (signer, events, session)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from functions.shared.jsontypes import LambdaEvent

ATTEMPTS = 3
TRANSIENT = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
READS = frozenset({"GetItem", "BatchGetItem", "Query"})


def _binary(d: dict[str, object]) -> dict[str, object]:
    """JSON keeps DynamoDB's binary values as base64 text; botocore hands them over as bytes (so does this)."""
    if len(d) == 1:
        if isinstance(b := d.get("B"), str):
            import base64

            return {"B": base64.b64decode(b)}
        if isinstance(bs := d.get("BS"), list):
            import base64

            return {"BS": [base64.b64decode(x) for x in bs]}
    return d


def _error(op: str, status: int, body: dict[str, object], headers: Any) -> Exception:  # Any: botocore's headers
    from botocore.exceptions import ClientError

    code = str(body.get("__type") or "").rpartition("#")[2]
    if not code:
        code = str(headers.get("x-amzn-ErrorType") or status).partition(":")[0]
    message = str(body.get("message") or body.get("Message") or "")
    error: Any = {"Error": {"Code": code, "Message": message}}  # Any: the stubs' TypedDict wants every field
    error["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(error, op)


def _once(typed: DynamoDBClient, op: str, params: dict[str, object]) -> LambdaEvent:
    from botocore.awsrequest import AWSRequest

    client: Any = typed  # the stubs do not describe the signer, the event hooks' emit_until_response or the session
    meta = client.meta
    service = meta.service_model
    service_id = service.service_id.hyphenize()
    model = service.operation_model(op)
    events = meta.events
    context: dict[str, object] = {}
    events.emit(f"before-parameter-build.{service_id}.{op}", params=params, model=model, context=context)
    request_dict: dict[str, object] = {
        "url_path": "/",
        "query_string": "",
        "method": "POST",
        "headers": {
            "X-Amz-Target": f"{service.metadata['targetPrefix']}.{op}",
            "Content-Type": f"application/x-amz-json-{service.metadata['jsonVersion']}",
            "User-Agent": _user_agent(),
        },
        "body": json.dumps(params, separators=(",", ":")).encode(),
        "context": context,
    }
    signer = client._request_signer  # the client's own signer: its credentials, region and name
    _, answered = events.emit_until_response(
        f"before-call.{service_id}.{op}", model=model, params=request_dict, request_signer=signer, context=context
    )
    if answered is not None:  # a handler answered instead (as botocore allows): (http response, parsed)
        http, parsed = answered
        if http.status_code >= 300:
            from botocore.exceptions import ClientError

            raise ClientError(parsed, op)
        return dict(parsed)
    headers = request_dict["headers"]
    assert isinstance(headers, dict)
    request = AWSRequest(method="POST", url=meta.endpoint_url + "/", data=request_dict["body"], headers=headers)
    signer.sign(op, request)
    prepared = request.prepare()
    _, response = events.emit_until_response(f"before-send.{service_id}.{op}", request=prepared)
    if response is None:
        response = client._endpoint.http_session.send(prepared)  # its pool and timeouts
    content = response.content or b"{}"
    crc = response.headers.get("x-amz-crc32")
    if crc is not None and int(crc) != zlib.crc32(content) & 0xFFFFFFFF:
        raise _Corrupt(op)
    body = json.loads(content, object_hook=_binary)
    if response.status_code >= 300:
        raise _error(op, response.status_code, body, response.headers)
    return dict(body)


class _Corrupt(Exception):
    def __init__(self, op: str) -> None:
        super().__init__(f"{op}: the response's CRC32 does not match its body")


def call(client: DynamoDBClient, op: str, params: dict[str, object]) -> LambdaEvent:
    """``op`` (a read: ``GetItem``, ``BatchGetItem``, ``Query``) with ``params`` in DynamoDB's wire form; its parsed
    answer. Transient failures are retried (3 attempts, full jitter); anything else raises as botocore would."""
    if op not in READS:
        raise ValueError(f"wire.call sends idempotent reads only, not {op}")
    from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

    for attempt in range(ATTEMPTS):
        try:
            return _once(client, op, params)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = exc.response.get("Error", {}).get("Code") in TRANSIENT or status >= 500
            if not transient or attempt == ATTEMPTS - 1:
                raise
        except (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, _Corrupt):
            if attempt == ATTEMPTS - 1:
                raise
        time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))
    raise AssertionError("unreachable")


_UA: list[str] = []


def _user_agent() -> str:
    if not _UA:
        import boto3
        import botocore

        _UA.append(f"Boto3/{boto3.__version__} md/Botocore#{botocore.__version__} md/imprimatur#wire")
    return _UA[0]
