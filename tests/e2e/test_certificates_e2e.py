"""API v1.1 "Certificates tell the truth" over real HTTP against `make run` (python -m local.server): a certificate
verified with joserfc against the JWKS the server publishes, issued by the server's own URL whatever Host the client
sends, pointing at a public status list that an independent decoder (written from the IETF draft) reads as VALID,
then INVALID once the publisher revokes the licence, whose certificate is then refused with 409."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import requests
from joserfc import jws as jose_jws
from joserfc.jwk import KeySet

from tests.e2e.helpers import publish
from tests.status_list_decoder import decode_list


def _verified(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    got = jose_jws.deserialize_compact(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    return dict(got.protected), json.loads(got.payload)


def test_certificate_status_list_and_revocation_over_http(
    http: Any, new_account: Any, local_stack: dict[str, Any]
) -> None:
    base = local_stack["api_url"]
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    asset = publish(pub, f"Tide tables for the estuary, {time.time_ns()}")
    offer = pub.post(
        "/v1/offers",
        json={"asset_id": asset["id"], "uses": ["ai-train"], "pricing": {"model": "free"}, "term_days": 30},
    ).json()
    granted = buyer.post("/v1/licenses", json={"offer_id": offer["id"], "use": "ai-train"})
    assert granted.status_code == 201, granted.text
    lic_id = granted.json()["license"]["id"]
    jwks = http.get("/.well-known/jwks.json").json()

    # When the buyer fetches its certificate sending a forged Host header
    r = buyer.get(f"/v1/licenses/{lic_id}/certificate", headers={"Host": "evil.example", "X-Forwarded-Proto": "http"})
    assert r.status_code == 200, r.text
    header, claims = _verified(r.json()["certificate"], jwks)
    # Then it verifies against the published JWKS, and names the server's own URL as issuer
    assert (
        header["alg"] == "ES256" and claims["iss"] == base and r.json()["jwks_url"] == f"{base}/.well-known/jwks.json"
    )
    assert claims["exp"] - claims["iat"] <= 7 * 86_400 and claims["license_id"] == lic_id
    ref = claims["status"]["status_list"]
    assert ref["uri"].startswith(f"{base}/v1/status-lists/")

    def bit() -> int:
        # The status list, fetched without an API key, as any verifier would
        got = requests.get(ref["uri"], timeout=30)
        assert got.status_code == 200 and got.headers["content-type"] == "application/statuslist+jwt"
        list_header, list_claims = _verified(got.text, jwks)
        assert list_header["typ"] == "statuslist+jwt" and list_claims["sub"] == ref["uri"]
        assert list_claims["ttl"] <= 300
        return decode_list(list_claims["status_list"]).status(ref["idx"])

    assert bit() == 0
    # When the publisher revokes the licence
    assert pub.post(f"/v1/licenses/{lic_id}/revoke", json={"reason": "terms breached"}).status_code == 200
    # Then the list says INVALID at the next fetch, and the certificate is never signed again
    assert bit() == 1
    refused = buyer.get(f"/v1/licenses/{lic_id}/certificate")
    assert refused.status_code == 409 and refused.json()["code"] == "license_not_active"


def test_the_verifier_example_of_docs_api_md_runs(new_account: Any, local_stack: dict[str, Any]) -> None:
    # Given a certificate of an active licence
    pub, _ = new_account("publisher")
    buyer, _ = new_account("buyer")
    asset = publish(pub, f"Harbour dues for 2027, {time.time_ns()}")
    offer = pub.post(
        "/v1/offers", json={"asset_id": asset["id"], "uses": ["search"], "pricing": {"model": "free"}}
    ).json()
    granted = buyer.post("/v1/licenses", json={"offer_id": offer["id"], "use": "search"}).json()
    # When the python example of docs/api.md runs as written (base and certificate given)
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    (code,) = re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)
    scope: dict[str, Any] = {"base": local_stack["api_url"], "certificate": granted["certificate"]}
    exec(compile(code, "docs/api.md", "exec"), scope)  # noqa: S102 - our own documentation
    # Then it finds the licence not revoked; and revoked once the publisher revokes it
    assert scope["revoked"] is False and scope["claims"]["license_id"] == granted["license"]["id"]
    pub.post(f"/v1/licenses/{granted['license']['id']}/revoke", json={"reason": "no longer offered"})
    exec(compile(code, "docs/api.md", "exec"), scope)  # noqa: S102
    assert scope["revoked"] is True
