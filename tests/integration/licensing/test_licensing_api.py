"""Licences: grant, idempotency, parties, cancel/revoke, certificates verified offline."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from joserfc import jws as jose_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tests.integration.conftest import queue_messages


def test_grant_freezes_terms_and_books_a_flat_charge(aws: dict[str, str], market: dict[str, Any]) -> None:
    buyer = market["buyer"]
    # When
    r = buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"})
    # Then
    assert r.status == 201, r.body
    lic = r.json["license"]
    pricing = {k: v for k, v in market["flat"]["pricing"].items() if v is not None}
    assert lic["status"] == "active" and lic["terms"]["pricing"] == pricing
    assert lic["expires_at"] and lic["publisher_id"] == market["pub_acct"]["id"]
    charges = [m for m in queue_messages(aws) if m["kind"] == "charge"]
    assert charges == [{**charges[0], "charge_id": f"grant:{lic['id']}", "amount_micros": 5_000_000}]
    # And later edits to the offer never change the licence: retiring it leaves the licence active
    market["pub"].delete(f"/v1/offers/{market['flat']['id']}")
    again = buyer.get(f"/v1/licenses/{lic['id']}").json
    assert again["status"] == "active" and again["terms"] == lic["terms"]
    canonical = json.dumps(lic["terms"], sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canonical).hexdigest() == lic["terms_sha256"]


def test_same_idempotency_key_gives_one_licence_and_one_charge(aws: dict[str, str], market: dict[str, Any]) -> None:
    buyer = market["buyer"]
    body = {"offer_id": market["flat"]["id"], "use": "ai-train"}
    first = buyer.post("/v1/licenses", body, headers={"idempotency-key": "buy-1"})
    second = buyer.post("/v1/licenses", body, headers={"idempotency-key": "buy-1"})
    assert first.status == second.status == 201 and first.json == second.json
    listed = buyer.get("/v1/licenses", params={"as": "buyer"}).json["items"]
    assert [x["id"] for x in listed] == [first.json["license"]["id"]]
    charge_ids = {m["charge_id"] for m in queue_messages(aws) if m["kind"] == "charge"}
    assert charge_ids == {f"grant:{first.json['license']['id']}"}  # a replay re-sends the same charge id at most
    other = buyer.post("/v1/licenses", {**body, "budget_cap_micros": 5}, headers={"idempotency-key": "buy-1"})
    assert other.status == 422 and other.json["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("use_not_granted", 422, "use_not_granted"),
        ("retired", 409, "offer_retired"),
        ("withdrawn", 409, "offer_retired"),
        ("unknown", 404, "not_found"),
    ],
)
def test_grant_refusals(market: dict[str, Any], setup: str, status: int, code: str) -> None:
    buyer, pub = market["buyer"], market["pub"]
    offer_id, use = market["flat"]["id"], "ai-train"
    if setup == "use_not_granted":
        use = "search"
    elif setup == "retired":
        pub.delete(f"/v1/offers/{offer_id}")
    elif setup == "withdrawn":
        pub.delete(f"/v1/assets/{market['asset']['id']}")
    else:
        offer_id = "off_00000000000000000000000000"
    r = buyer.post("/v1/licenses", {"offer_id": offer_id, "use": use})
    assert (r.status, r.json["code"]) == (status, code)


def test_max_licenses(market: dict[str, Any], make_account: Any) -> None:
    offer = market["offer"](uses=["search"], pricing={"model": "free"}, max_licenses=1)
    assert market["buyer"].post("/v1/licenses", {"offer_id": offer["id"], "use": "search"}).status == 201
    r = market["other"].post("/v1/licenses", {"offer_id": offer["id"], "use": "search"})
    assert r.status == 409 and r.json["code"] == "max_licenses_reached"


def test_only_the_two_parties_see_a_licence(market: dict[str, Any], make_account: Any) -> None:
    lic = market["buyer"].post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).json["license"]
    assert market["pub"].get(f"/v1/licenses/{lic['id']}").status == 200
    assert market["other"].get(f"/v1/licenses/{lic['id']}").status == 404
    assert market["other"].get(f"/v1/licenses/{lic['id']}/certificate").status == 404
    assert market["other"].post(f"/v1/licenses/{lic['id']}/cancel").status == 404
    assert market["pub"].post(f"/v1/licenses/{lic['id']}/cancel").status == 404
    assert market["buyer"].post(f"/v1/licenses/{lic['id']}/revoke", {"reason": "x"}).status == 404
    pub_list = market["pub"].get("/v1/licenses", params={"as": "publisher"}).json["items"]
    assert [x["id"] for x in pub_list] == [lic["id"]]
    assert market["pub"].get("/v1/licenses", params={"as": "buyer"}).status == 403


def test_licences_name_both_parties_from_one_batch_read_of_accounts(
    market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two licences of one buyer on one publisher's content
    for body in (
        {"offer_id": market["flat"]["id"], "use": "ai-train"},
        {"offer_id": market["per_access"]["id"], "use": "search"},
    ):
        assert market["buyer"].post("/v1/licenses", body).status == 201
    from functions.accounts.dal import reader

    calls: list[list[str]] = []
    original = reader.names_by_id
    monkeypatch.setattr(
        "functions.licensing.handlers.api.names_by_id",
        lambda table, ids: calls.append(list(ids)) or original(table, ids),
    )
    # When the publisher lists them, and the buyer reads one
    listed = market["pub"].get("/v1/licenses", params={"as": "publisher"}).json["items"]
    one = market["buyer"].get(f"/v1/licenses/{listed[0]['id']}").json
    # Then both show the parties' names, read in one batch per answer (never an account read per licence)
    buyer_name, pub_name = market["buyer_acct"]["name"], market["pub_acct"]["name"]
    assert [(x["buyer_name"], x["publisher_name"]) for x in listed] == [(buyer_name, pub_name)] * 2
    assert (one["buyer_name"], one["publisher_name"]) == (buyer_name, pub_name) == (buyer_name, "Harbour Gazette")
    assert len(calls) == 2 and sorted(set(calls[0])) == sorted({market["buyer_acct"]["id"], market["pub_acct"]["id"]})


def test_account_names_reader_reads_only_names_in_batches_and_skips_unknown_ids(
    aws: dict[str, str], make_account: Any
) -> None:
    from functions.accounts.dal.reader import names_by_id

    made = [make_account("buyer", name=f"Buyer {n}")[1] for n in range(3)]
    ids = [a["id"] for a in made]
    got = names_by_id(aws["ACCOUNTS_TABLE"], [*ids, ids[0], "acct_" + "0" * 26, ""])
    assert got == {a["id"]: a["name"] for a in made}
    assert names_by_id(aws["ACCOUNTS_TABLE"], []) == {}


def test_cancel_and_revoke(market: dict[str, Any]) -> None:
    buyer, pub = market["buyer"], market["pub"]
    a = buyer.post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).json["license"]
    b = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "search"}).json["license"]
    first = buyer.post(f"/v1/licenses/{a['id']}/cancel")
    assert first.json["status"] == "cancelled"
    again = buyer.post(f"/v1/licenses/{a['id']}/cancel")  # a retry: the same 200 and body (issue 18)
    assert again.status == 200 and again.json == first.json
    assert pub.post(f"/v1/licenses/{a['id']}/revoke", {"reason": "x"}).status == 409
    revoked = pub.post(f"/v1/licenses/{b['id']}/revoke", {"reason": "breach of attribution"})
    assert revoked.json["status"] == "revoked" and revoked.json["revoke_reason"] == "breach of attribution"
    assert pub.post(f"/v1/licenses/{b['id']}/revoke", {"reason": ""}).status == 422
    statuses = {x["id"]: x["status"] for x in buyer.get("/v1/licenses").json["items"]}
    assert statuses == {a["id"]: "cancelled", b["id"]: "revoked"}
    assert [x["id"] for x in buyer.get("/v1/licenses", params={"status": "revoked"}).json["items"]] == [b["id"]]


def test_certificate_verifies_offline_and_tampering_fails(market: dict[str, Any], api: Any) -> None:
    granted = market["buyer"].post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"}).json
    cert = granted["certificate"]
    jwks = api.get("/.well-known/jwks.json")
    assert jwks.status == 200 and "max-age" in jwks.headers["cache-control"]
    keys = KeySet.import_key_set(jwks.json)
    # When verified with a standard JOSE library against the published JWKS
    token = jose_jws.deserialize_compact(cert, keys, algorithms=["ES256"])
    claims = json.loads(token.payload)
    # Then it names the licence, the parties, the scope, the use, the term and the frozen terms' hash
    lic = granted["license"]
    assert claims["license_id"] == lic["id"] and claims["buyer_id"] == lic["buyer_id"]
    assert claims["publisher_id"] == lic["publisher_id"] and claims["scope"] == lic["scope"]
    assert claims["use"] == "ai-train" and claims["terms_sha256"] == lic["terms_sha256"] and "exp" in claims
    assert token.protected["alg"] == "ES256" and token.protected["kid"] == jwks.json["keys"][0]["kid"]
    # And a tampered payload fails verification
    header, _payload, sig = cert.split(".")
    forged = json.dumps({**claims, "use": "all"}, separators=(",", ":")).encode()
    import base64

    tampered = ".".join([header, base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), sig])
    with pytest.raises(BadSignatureError):
        jose_jws.deserialize_compact(tampered, keys, algorithms=["ES256"])
    again = market["buyer"].get(f"/v1/licenses/{lic['id']}/certificate").json
    assert again["certificate"] == cert and again["jwks_url"].endswith("/.well-known/jwks.json")
