"""SDK behaviour against a fake transport: retries reuse the Idempotency-Key, typed errors, pagination,
pay-per-crawl headers, offline certificate checks."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from imprimatur_client import (
    Client,
    Forbidden,
    NotFound,
    PaymentRequired,
    ServerError,
    TransportError,
    ValidationFailed,
    VerificationFailed,
    verify_certificate,
)


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"type": "x", "title": "t", "status": status, "detail": f"{code} detail", "code": code, **extra},
        headers={"content-type": "application/problem+json"},
    )


def make(handler: Any) -> Client:
    return Client("http://api.test", "imp_key", transport=httpx.MockTransport(handler), sleep=lambda _: None)


def test_retries_on_5xx_and_429_reuse_the_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    answers = [problem(503, "unavailable"), httpx.Response(429, json={}), httpx.Response(201, json={"ok": 1})]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    assert make(handler).buy("off_1", "ai-input") == {"ok": 1}
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and seen[0].headers["authorization"] == "Bearer imp_key"


def test_gives_up_after_max_retries_with_a_typed_error() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return problem(500, "internal_error")

    with pytest.raises(ServerError) as info:
        make(handler).me()
    # exactly the 5xx class, with the problem's status and code, after the retries (not a subclass, nor httpx's own)
    assert type(info.value) is ServerError
    assert (info.value.status, info.value.code, len(calls)) == (500, "internal_error", 5)


def test_network_errors_become_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportError):
        make(handler).health()


@pytest.mark.parametrize(
    ("status", "code", "exc"), [(403, "insufficient_role", Forbidden), (404, "not_found", NotFound)]
)
def test_problems_become_typed_exceptions(status: int, code: str, exc: type[Exception]) -> None:
    with pytest.raises(exc) as info:
        make(lambda r: problem(status, code)).get_license("lic_x")
    assert info.value.code == code  # type: ignore[attr-defined]


def test_validation_errors_keep_field_errors() -> None:
    errors = [{"field": "pricing.unit", "location": "body", "message": "needed", "type": "value_error"}]
    with pytest.raises(ValidationFailed) as info:
        make(lambda r: problem(422, "validation_failed", errors=errors)).create_offer(asset_id="ast_x")
    assert info.value.errors == errors and "pricing.unit" in str(info.value)


def test_payment_required_exposes_offers_and_crawler_price() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        r = problem(402, "payment_required", offers=[{"id": "off_1"}])
        r.headers["crawler-price"] = "USD 0.010000"
        return r

    with pytest.raises(PaymentRequired) as info:
        make(handler).content("ast_1", "ai-input")
    assert info.value.offers == [{"id": "off_1"}] and info.value.crawler_price == "USD 0.010000"


def test_pay_per_crawl_headers_and_charge() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["crawler-max-price"] == "USD 0.020000"  # one price syntax: normalised
        assert request.url.params["use"] == "ai-input"
        return httpx.Response(
            200,
            headers={"crawler-charged": "USD 0.010000"},
            json={
                "url": "http://s3/x",
                "expires_at": "z",
                "license_id": "lic_1",
                "sha256": "0" * 64,
                "size_bytes": 1,
                "media_type": "text/plain",
            },
        )

    grant = make(handler).content("ast_1", "ai-input", max_price="USD 0.02")
    assert grant.crawler_charged == "USD 0.010000" and grant.license_id == "lic_1"


def test_pagination_follows_cursors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        page = {None: ([1, 2], "c1"), "c1": ([3], "c2"), "c2": ([4], None)}[cursor]
        return httpx.Response(200, json={"items": page[0], "next_cursor": page[1]})

    assert list(make(handler).search(q="x")) == [1, 2, 3, 4]


def _token(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any], kid: str = "k1") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing = f"{b64(json.dumps({'alg': 'ES256', 'kid': kid}).encode())}.{b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def test_offline_certificate_verification() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    nums = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()

    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": b64(nums.x), "y": b64(nums.y), "kid": "k1"}]}
    token = _token(key, {"license_id": "lic_1", "exp": 4_000_000_000})
    assert verify_certificate(token, jwks)["license_id"] == "lic_1"
    h, _p, s = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"license_id": "lic_2"}).encode()).rstrip(b"=").decode()
    with pytest.raises(VerificationFailed):
        verify_certificate(f"{h}.{forged}.{s}", jwks)
    with pytest.raises(VerificationFailed):
        verify_certificate(_token(key, {"license_id": "lic_1", "exp": 1}), jwks)
    with pytest.raises(VerificationFailed):
        verify_certificate(_token(ec.generate_private_key(ec.SECP256R1()), {"x": 1}), jwks)


def test_complete_upload_polls_a_202_until_the_asset_leaves_verifying() -> None:
    """Issue 17: a large object is verified asynchronously; the SDK honours Retry-After and returns the final asset."""
    seen: list[str] = []
    slept: list[float] = []
    states = iter(["verifying", "verifying", "available"])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            headers = {"Location": "/v1/assets/ast_1", "Retry-After": "7"}
            return httpx.Response(202, json={"id": "ast_1", "status": "verifying"}, headers=headers)
        return httpx.Response(200, json={"id": "ast_1", "status": next(states)})

    client = Client("http://api.test", "imp_key", transport=httpx.MockTransport(handler), sleep=slept.append)
    assert client.complete_upload("ast_1")["status"] == "available"
    assert seen == ["POST /v1/assets/ast_1/complete"] + ["GET /v1/assets/ast_1"] * 3
    assert slept == [7.0, 7.0, 7.0]
    # wait_s=0: the verifying asset at once, no polling
    seen.clear()
    assert client.complete_upload("ast_1", wait_s=0)["status"] == "verifying"
    assert seen == ["POST /v1/assets/ast_1/complete"]


def test_complete_upload_returns_a_200_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        return httpx.Response(200, json={"id": "ast_1", "status": "rejected", "status_reason": "SHA-256 ..."})

    assert make(handler).complete_upload("ast_1")["status"] == "rejected"
