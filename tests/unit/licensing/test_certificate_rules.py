"""Certificate rules without AWS: which licences get one, its exp, when a stored one is handed out again, the claims,
which keys the JWKS publishes, and where the issuer comes from."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.licensing.logic import certificates
from functions.licensing.models.domain import License
from functions.licensing.models.keys import RetiredKey
from functions.shared.errors import status_of
from functions.shared.faults import StateConflict as Conflict
from functions.shared.urls import base_url

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _license(**over: Any) -> License:
    data: dict[str, Any] = {
        "id": "lic_01",
        "buyer_id": "acct_b",
        "publisher_id": "acct_p",
        "offer_id": "off_1",
        "scope": {"type": "asset", "id": "ast_1"},
        "use": "ai-train",
        "terms": {"pricing": {"model": "flat"}},
        "terms_sha256": "0" * 64,
        "status": "active",
        "starts_at": _iso(AT - DAY),
        "created_at": _iso(AT - DAY),
        "certificate": "",
        **over,
    }
    return License.model_validate(data)


@pytest.mark.parametrize("status", ["cancelled", "revoked", "lapsed"])
def test_a_licence_that_is_not_active_gets_no_certificate(status: str) -> None:
    with pytest.raises(Conflict) as err:
        certificates.require_active(_license(status=status), AT)
    assert err.value.code == "license_not_active" and status_of(err.value) == (409, "Conflict")


def test_an_active_licence_past_its_end_counts_as_not_active() -> None:
    lic = _license(expires_at=_iso(AT))
    with pytest.raises(Conflict):
        certificates.require_active(lic, AT)
    certificates.require_active(lic, AT - timedelta(seconds=1))  # one second before its end it still has one


@pytest.mark.parametrize(
    ("expires_in", "exp_in"),
    [
        (None, 7 * DAY),
        (30 * DAY, 7 * DAY),
        (7 * DAY, 7 * DAY),
        (2 * DAY, 2 * DAY),
        (timedelta(minutes=5), timedelta(minutes=5)),
    ],
)
def test_exp_is_at_most_seven_days_and_never_past_the_licence(expires_in: timedelta | None, exp_in: timedelta) -> None:
    lic = _license(expires_at=_iso(AT + expires_in) if expires_in else None)
    assert certificates.expiry(lic, AT) == AT + exp_in


class _Signer:
    kid = "kid-current"

    def sign_digest(self, digest: bytes) -> bytes:
        assert len(digest) == 32
        return bytes([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_a_certificate_names_the_licence_its_term_and_its_status_list_entry() -> None:
    lic = _license(expires_at=_iso(AT + 30 * DAY))
    token = certificates.sign(lic, _Signer(), "https://api.example.com", (2, 41), AT)
    claims = _claims(token)
    assert claims["iss"] == "https://api.example.com" and claims["license_id"] == lic.id
    assert claims["iat"] == int(AT.timestamp()) and claims["exp"] == int((AT + 7 * DAY).timestamp())
    assert claims["status"] == {"status_list": {"idx": 41, "uri": "https://api.example.com/v1/status-lists/2"}}


def test_a_revoked_licence_is_never_signed_even_if_asked_directly() -> None:
    with pytest.raises(Conflict):
        certificates.sign(_license(status="revoked"), _Signer(), "https://api.example.com", (0, 0), AT)


def test_a_stored_certificate_is_reused_only_with_more_than_six_days_left_same_key_and_issuer() -> None:
    issued = certificates.sign(_license(), _Signer(), "https://api.example.com", (0, 1), AT)
    ok = {"kid": "kid-current", "issuer": "https://api.example.com"}
    assert certificates.reusable(issued, at=AT, **ok)
    assert certificates.reusable(issued, at=AT + DAY - timedelta(seconds=1), **ok)
    assert not certificates.reusable(issued, at=AT + DAY, **ok)  # six days left or less: renewed
    assert not certificates.reusable(issued, at=AT, kid="kid-next", issuer="https://api.example.com")
    assert not certificates.reusable(issued, at=AT, kid="kid-current", issuer="https://other.example.com")
    assert not certificates.reusable("", at=AT, **ok)
    assert not certificates.reusable("not-a-jws", at=AT, **ok)


def test_a_v1_certificate_without_status_is_never_reused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":"kid-current"}').rstrip(b"=").decode()
    body = {"iss": "https://api.example.com", "exp": int((AT + 30 * DAY).timestamp())}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    assert not certificates.reusable(
        f"{header}.{payload}.sig", at=AT, kid="kid-current", issuer="https://api.example.com"
    )


def test_the_jwks_keeps_a_retired_key_until_its_certificates_have_expired() -> None:
    retired_at = AT - 3 * DAY
    retired = [RetiredKey(key_id="old", retired_at=retired_at), RetiredKey(key_id="older", retired_at=AT - 30 * DAY)]
    assert certificates.published_key_ids("new", retired, AT) == ["new", "old"]
    # A certificate signed just before retirement lives 7 days: still published then (plus a day's grace)
    assert certificates.published_key_ids("new", retired, retired_at + 7 * DAY) == ["new", "old"]
    assert certificates.published_key_ids("new", retired, retired_at + 8 * DAY) == ["new"]
    assert certificates.published_key_ids("new", [RetiredKey(key_id="new", retired_at=AT)], AT) == ["new"]


def test_the_base_url_comes_from_configuration_not_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/")
    forged = {"headers": {"host": "evil.example", "x-forwarded-proto": "http"}, "requestContext": {"domainName": "x"}}
    assert base_url(forged) == base_url() == "https://api.example.com"
    for bad in ("", "api.example.com", "ftp://x", "https://", "https://x?y=1"):
        monkeypatch.setenv("PUBLIC_BASE_URL", bad)
        with pytest.raises(RuntimeError):
            base_url()
