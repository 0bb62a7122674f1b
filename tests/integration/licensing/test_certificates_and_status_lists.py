"""API v1.1 "Certificates tell the truth", through the handlers against the embedded AWS: certificates verified with
joserfc against the published JWKS, their exp, 409 for licences that are not active, renewal on fetch, the issuer
taken from configuration whatever the request's Host says, status lists read by an independent decoder (written
from the IETF draft) flipping on revoke and cancel, one index per licence under retries and races, lists rolling
over, and the JWKS keeping a retired key until its certificates have expired."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from joserfc import jws as jose_jws
from joserfc.jwk import KeySet

from functions.shared import clock
from functions.shared.config import clear_env_cache
from tests.fixtures import Api, Resp
from tests.status_list_decoder import decode_list, jwt_parts

DAY = 86_400


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[float], None]]:
    """Move the clock the certificate and status-list code reads (``functions.shared.clock.now``) forward."""
    real = clock.now
    offset = {"s": 0.0}
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(seconds=offset["s"]))

    def move(seconds: float) -> None:
        offset["s"] = seconds

    yield move


def _verify(token: str, api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS with joserfc against the JWKS the API publishes; header and claims."""
    keys = KeySet.import_key_set(api.get("/.well-known/jwks.json").json)
    got = jose_jws.deserialize_compact(token, keys, algorithms=["ES256"])
    return dict(got.protected), json.loads(got.payload)


def _grant(market: dict[str, Any], offer: str = "flat", use: str = "ai-train") -> dict[str, Any]:
    r = market["buyer"].post("/v1/licenses", {"offer_id": market[offer]["id"], "use": use})
    assert r.status == 201, r.body
    return dict(r.json)


def _status_list(api: Api, uri: str) -> tuple[Resp, dict[str, Any]]:
    path = uri.split("://", 1)[1].split("/", 1)[1]
    r = api.get("/" + path)  # no API key: public
    assert r.status == 200, r.body
    _, claims = _verify(r.body.decode(), api)
    return r, claims


def _bit(api: Api, certificate_claims: dict[str, Any]) -> int:
    ref = certificate_claims["status"]["status_list"]
    _, claims = _status_list(api, ref["uri"])
    return decode_list(claims["status_list"]).status(ref["idx"])


def test_the_grant_certificate_verifies_and_tells_its_term_and_status(market: dict[str, Any], api: Api) -> None:
    # When a buyer takes a 30-day licence
    granted = _grant(market)
    header, claims = _verify(granted["certificate"], api)
    lic = granted["license"]
    # Then the certificate is ES256 by the published key, issued by the configured public base URL
    assert header["alg"] == "ES256" and claims["iss"] == "http://127.0.0.1:8080"
    # And it expires 7 days after issue (the licence runs 30), no later
    assert claims["exp"] - claims["iat"] == 7 * DAY
    assert claims["exp"] <= int(clock.parse_iso(lic["expires_at"]).timestamp())
    # And it points at an entry of a public status list, which is VALID
    ref = claims["status"]["status_list"]
    assert isinstance(ref["idx"], int) and ref["uri"] == "http://127.0.0.1:8080/v1/status-lists/0"
    assert _bit(api, claims) == 0


def test_a_short_licence_certificate_expires_with_the_licence(market: dict[str, Any], api: Api) -> None:
    offer = market["offer"](uses=["search"], pricing={"model": "free"}, term_days=1)
    granted = market["buyer"].post("/v1/licenses", {"offer_id": offer["id"], "use": "search"}).json
    _, claims = _verify(granted["certificate"], api)
    assert claims["exp"] == int(clock.parse_iso(granted["license"]["expires_at"]).timestamp())
    fetched = market["buyer"].get(f"/v1/licenses/{granted['license']['id']}/certificate").json
    assert _verify(fetched["certificate"], api)[1]["exp"] == claims["exp"]


@pytest.mark.parametrize("end", ["cancel", "revoke"])
def test_ending_a_licence_flips_its_bit_and_its_certificate_is_409(market: dict[str, Any], api: Api, end: str) -> None:
    # Given two licences, both VALID in their status list
    granted, other = _grant(market), _grant(market, "per_access", "search")
    lic_id = granted["license"]["id"]
    _, claims = _verify(granted["certificate"], api)
    _, other_claims = _verify(other["certificate"], api)
    assert _bit(api, claims) == _bit(api, other_claims) == 0
    # When the buyer cancels it, or the publisher revokes it
    if end == "cancel":
        assert market["buyer"].post(f"/v1/licenses/{lic_id}/cancel").status == 200
    else:
        assert market["pub"].post(f"/v1/licenses/{lic_id}/revoke", {"reason": "breach"}).status == 200
    # Then its bit is 1 (INVALID) at the next fetch of the list, and only its bit
    assert _bit(api, claims) == 1 and _bit(api, other_claims) == 0
    # And its certificate is not signed again, for either party
    for who in (market["buyer"], market["pub"]):
        r = who.get(f"/v1/licenses/{lic_id}/certificate")
        assert (r.status, r.json["code"]) == (409, "license_not_active")
    # And a retried end answers the same and leaves the bit set
    if end == "cancel":
        assert market["buyer"].post(f"/v1/licenses/{lic_id}/cancel").status == 200
    assert _bit(api, claims) == 1


def test_an_expired_licence_has_no_certificate(market: dict[str, Any], at: Callable[[float], None]) -> None:
    offer = market["offer"](uses=["search"], pricing={"model": "free"}, term_days=1)
    lic = market["buyer"].post("/v1/licenses", {"offer_id": offer["id"], "use": "search"}).json["license"]
    at(DAY + 1)
    r = market["buyer"].get(f"/v1/licenses/{lic['id']}/certificate")
    assert (r.status, r.json["code"]) == (409, "license_not_active")


def test_fetching_renews_the_certificate(market: dict[str, Any], api: Api, at: Callable[[float], None]) -> None:
    granted = _grant(market)
    lic_id = granted["license"]["id"]
    _, first = _verify(granted["certificate"], api)
    # When it is fetched the same day: more than six of its seven days remain, so the same certificate comes back
    again = market["buyer"].get(f"/v1/licenses/{lic_id}/certificate").json
    assert again["certificate"] == granted["certificate"]
    assert again["jwks_url"] == "http://127.0.0.1:8080/.well-known/jwks.json"
    # When it is fetched two days later
    at(2 * DAY)
    renewed = market["buyer"].get(f"/v1/licenses/{lic_id}/certificate").json["certificate"]
    _, claims = _verify(renewed, api)
    # Then a fresh certificate runs 7 days from now, with the licence's same status-list entry
    assert claims["iat"] >= first["iat"] + 2 * DAY and claims["exp"] - claims["iat"] == 7 * DAY
    assert claims["status"] == first["status"]
    # And that one is what the next fetch hands out
    assert market["buyer"].get(f"/v1/licenses/{lic_id}/certificate").json["certificate"] == renewed


def test_the_issuer_and_urls_ignore_a_forged_host_header(
    aws: dict[str, str], market: dict[str, Any], gw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose public base URL is configured
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://licences.example.org")
    clear_env_cache()
    lic = _grant(market)["license"]
    forged = {"host": "evil.example", "x-forwarded-proto": "http", "x-forwarded-host": "evil.example"}
    key = market["buyer"].key

    def call(path: str, with_key: bool = True) -> Any:
        headers = {**forged, **({"authorization": f"Bearer {key}"} if with_key else {})}
        return gw.handle("GET", path, "", headers, None, host="evil.example")

    # When the certificate is fetched with a forged Host (at the gateway and in the header)
    got = call(f"/v1/licenses/{lic['id']}/certificate")
    body = json.loads(got.body)
    _, claims = jwt_parts(body["certificate"])
    # Then the signed issuer, the status-list URI and the JWKS URL are the configured ones
    assert claims["iss"] == "https://licences.example.org"
    assert claims["status"]["status_list"]["uri"].startswith("https://licences.example.org/v1/status-lists/")
    assert body["jwks_url"] == "https://licences.example.org/.well-known/jwks.json"
    # And so are the status list's subject and the RSL document's links
    _, list_claims = jwt_parts(call("/v1/status-lists/0", with_key=False).body.decode())
    assert list_claims["sub"] == "https://licences.example.org/v1/status-lists/0"
    rsl = call(f"/v1/assets/{market['asset']['id']}/rsl.xml", with_key=False).body.decode()
    assert "evil.example" not in rsl and "https://licences.example.org/" in rsl


def test_the_status_list_token_follows_the_draft(market: dict[str, Any], api: Api) -> None:
    granted = _grant(market)
    uri = jwt_parts(granted["certificate"])[1]["status"]["status_list"]["uri"]
    r, claims = _status_list(api, uri)
    header, _ = jwt_parts(r.body.decode())
    assert r.content_type == "application/statuslist+jwt"
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
    assert claims["sub"] == uri and claims["iat"] < claims["exp"] and 0 < claims["ttl"] <= 300
    assert claims["status_list"]["bits"] == 1 and len(decode_list(claims["status_list"])) == 2**20
    assert "max-age" in r.headers["cache-control"]
    for missing in ("/v1/status-lists/1", "/v1/status-lists/01", "/v1/status-lists/x", "/v1/status-lists/-1"):
        got = api.get(missing)
        assert (got.status, got.json["code"]) == (404, "not_found"), missing


def test_the_list_is_signed_again_only_on_change_or_after_a_minute(
    aws: dict[str, str], market: dict[str, Any], api: Api, at: Callable[[float], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.dal.keys import Signer

    signs: list[bytes] = []
    real_sign = Signer.sign_digest
    monkeypatch.setattr(Signer, "sign_digest", lambda self, d: signs.append(d) or real_sign(self, d))
    a = _grant(market)
    b = _grant(market, "per_access", "search")
    before = len(signs)
    # When the list is read three times in a row
    first = [api.get("/v1/status-lists/0").body for _ in range(3)]
    # Then it was signed once
    assert first[0] == first[1] == first[2] and len(signs) == before + 1
    # When a licence is revoked: signed again at the next read, with the bit set
    market["pub"].post(f"/v1/licenses/{a['license']['id']}/revoke", {"reason": "x"})
    changed = api.get("/v1/status-lists/0").body
    assert changed != first[0] and len(signs) == before + 2
    # When a minute passes without a change: signed again (iat stays within a minute of now)
    at(61)
    later = api.get("/v1/status-lists/0").body
    assert later != changed and len(signs) == before + 3
    assert jwt_parts(later.decode())[1]["iat"] - jwt_parts(changed.decode())[1]["iat"] >= 60
    idx_a = jwt_parts(a["certificate"])[1]["status"]["status_list"]["idx"]
    idx_b = jwt_parts(b["certificate"])[1]["status"]["status_list"]["idx"]
    assert decode_list(jwt_parts(later.decode())[1]["status_list"]).invalid() == {idx_a} != {idx_b}


def _bare_licence(aws: dict[str, str], market: dict[str, Any]) -> str:
    """A licence stored without a status-list index (as the delivery path grants pay-per-crawl licences)."""
    from functions.licensing.dal.store import LicensingStore
    from functions.licensing.logic.licenses import build_license

    lic = build_license(market["buyer_acct"]["id"], market["per_access"], "search", None, pay_per_crawl=True)
    LicensingStore(aws["LICENSING_TABLE"]).grant(lic, max_licenses=None)
    return lic.id


def test_one_index_per_licence_under_retries_and_a_race(
    aws: dict[str, str], market: dict[str, Any], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.dal.statuslist import StatusLists

    lists = StatusLists(aws["LICENSING_TABLE"])
    lic_id = _bare_licence(aws, market)
    assert lists.ref(lic_id) is None
    # Given eight first uses that all pass the "no index yet" read before any of them writes one
    threads = 8
    barrier = threading.Barrier(threads)
    real_reserve = StatusLists.reserve

    def reserve_after_everyone_looked(self: StatusLists) -> tuple[int, int]:
        barrier.wait(timeout=30)
        return real_reserve(self)

    monkeypatch.setattr(StatusLists, "reserve", reserve_after_everyone_looked)
    got: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            got.append(StatusLists(aws["LICENSING_TABLE"]).allocate(lic_id))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=first_use) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    # Then every one of them got the same index: the one that was stored
    assert not errors and len(got) == threads and len(set(got)) == 1
    assert lists.ref(lic_id) == got[0]
    monkeypatch.setattr(StatusLists, "reserve", real_reserve)
    # And a retry, and the certificate fetched over the API, name that index too
    assert lists.allocate(lic_id) == got[0]
    cert = market["buyer"].get(f"/v1/licenses/{lic_id}/certificate").json["certificate"]
    assert jwt_parts(cert)[1]["status"]["status_list"]["idx"] == got[0][1]
    # And the indices the losers reserved stay VALID and unused (never handed to another licence)
    assert _bit(api, jwt_parts(cert)[1]) == 0


def test_a_licence_ended_while_its_first_certificate_is_signed_gets_no_index(
    aws: dict[str, str], market: dict[str, Any]
) -> None:
    from functions.licensing.dal.statuslist import StatusLists, mark_invalid

    lic_id = _bare_licence(aws, market)
    market["buyer"].post(f"/v1/licenses/{lic_id}/cancel")
    assert mark_invalid(aws["LICENSING_TABLE"], lic_id) is False  # never had an index: a no-op
    with pytest.raises(Exception) as err:
        StatusLists(aws["LICENSING_TABLE"]).allocate(lic_id)
    assert getattr(err.value, "code", None) == "license_not_active"
    assert StatusLists(aws["LICENSING_TABLE"]).ref(lic_id) is None


def test_bits_set_and_clear_idempotently_across_pages(
    aws: dict[str, str], market: dict[str, Any], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.dal import statuslist as dal
    from functions.licensing.logic import statuslist as rules

    monkeypatch.setattr(rules, "LIST_SIZE", 8)
    monkeypatch.setattr(dal, "PAGE_SIZE", 2)  # four pages per list
    table = aws["LICENSING_TABLE"]
    grants = [_grant(market, "per_access", "search") for _ in range(6)]
    ids = [g["license"]["id"] for g in grants]
    idx = [jwt_parts(g["certificate"])[1]["status"]["status_list"]["idx"] for g in grants]
    assert idx == list(range(6))
    for i in (1, 2, 5):
        assert dal.mark_invalid(table, ids[i]) is True
        assert dal.mark_invalid(table, ids[i]) is False  # already set: no change, no new version
    _, claims = _status_list(api, "http://h/v1/status-lists/0")
    assert decode_list(claims["status_list"]).invalid() == {1, 2, 5} and len(decode_list(claims["status_list"])) == 8
    # When a lapsed licence becomes active again (the lead's cap raise calls mark_valid): back to VALID
    assert dal.mark_valid(table, ids[2]) is True and dal.mark_valid(table, ids[2]) is False
    _, claims = _status_list(api, "http://h/v1/status-lists/0")
    assert decode_list(claims["status_list"]).invalid() == {1, 5}


def test_a_full_list_rolls_over_to_a_new_one(
    aws: dict[str, str], market: dict[str, Any], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.logic import statuslist as rules

    # Given lists of 4 entries (2^20 in production)
    monkeypatch.setattr(rules, "LIST_SIZE", 4)
    assert api.get("/v1/status-lists/1").status == 404
    # When five licences are granted
    grants = [_grant(market, "per_access", "search") for _ in range(5)]
    refs = [jwt_parts(g["certificate"])[1]["status"]["status_list"] for g in grants]
    # Then the fifth starts list 1 at index 0, which now exists; list 2 does not
    assert [(r["uri"].rsplit("/", 1)[1], r["idx"]) for r in refs] == [("0", 0), ("0", 1), ("0", 2), ("0", 3), ("1", 0)]
    _, claims = _status_list(api, refs[4]["uri"])
    decoded = decode_list(claims["status_list"])
    assert len(decoded.data) == 1 and decoded.invalid() == set()  # 4 one-bit entries: one byte
    assert api.get("/v1/status-lists/2").status == 404
    # And revoking the fifth sets bit 0 of list 1, not bit 0 of list 0
    market["pub"].post(f"/v1/licenses/{grants[4]['license']['id']}/revoke", {"reason": "x"})
    assert decode_list(_status_list(api, refs[4]["uri"])[1]["status_list"]).invalid() == {0}
    assert decode_list(_status_list(api, refs[0]["uri"])[1]["status_list"]).invalid() == set()


def test_the_jwks_keeps_a_retired_key_until_its_certificates_have_expired(
    aws: dict[str, str], market: dict[str, Any], api: Api, monkeypatch: pytest.MonkeyPatch, at: Callable[[float], None]
) -> None:
    # Given a certificate signed by the key in use
    old_key = aws["SIGNING_KEY_ID"]
    granted = _grant(market)
    lic_id = granted["license"]["id"]
    # When the signing key is rotated: a new key signs, the old one is listed as retired now
    new_key = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    retired_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    monkeypatch.setenv("SIGNING_KEY_ID", new_key)
    monkeypatch.setenv("RETIRED_SIGNING_KEYS", json.dumps([{"key_id": old_key, "retired_at": retired_at}]))
    clear_env_cache()
    # Then the JWKS publishes both, and the old certificate still verifies against it
    jwks = api.get("/.well-known/jwks.json").json
    assert len(jwks["keys"]) == 2
    old_header, _ = _verify(granted["certificate"], api)
    # And the next fetch is signed by the new key (a certificate of a retired key is not handed out again)
    renewed = market["buyer"].get(f"/v1/licenses/{lic_id}/certificate").json["certificate"]
    new_header, _ = _verify(renewed, api)
    assert new_header["kid"] != old_header["kid"] and jwks["keys"][0]["kid"] == new_header["kid"]
    # And six days on, the old key is still published (a certificate it signed just before may still be in term)
    at(6 * DAY)
    assert {k["kid"] for k in api.get("/.well-known/jwks.json").json["keys"]} == {old_header["kid"], new_header["kid"]}
    # But once every certificate it signed has expired (7 days, plus a day's grace), it is gone
    at(8 * DAY + 1)
    assert [k["kid"] for k in api.get("/.well-known/jwks.json").json["keys"]] == [new_header["kid"]]
