"""Issue 18, SDK: an Idempotency-Key on every POST, retries only where safe (network, 429, 5xx, Retry-After, the
in-flight 409), the request id in every error, docstrings, fetch_text and fetch_many within a budget."""

from __future__ import annotations

import hashlib
import inspect
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import imprimatur_client
import pytest
from imprimatur_client import Client, Conflict, NotFound, RateLimited, ValidationFailed, VerificationFailed, money
from imprimatur_client.client import FetchResult


def problem(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json={"title": "t", "status": status, "detail": f"{code} detail", "code": code}, headers=headers or {}
    )


def make(handler: Any, sleeps: list[float] | None = None, **kw: Any) -> Client:
    return Client(
        "http://api.test",
        "imp_key",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else (lambda _: None)),
        **kw,
    )


def scripted(*answers: httpx.Response) -> tuple[list[httpx.Request], Any]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    return seen, handler


LICENCE = {"id": "lic_1", "status": "cancelled"}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.cancel_license("lic_1"),
        lambda c: c.revoke_license("lic_1", "breach"),
        lambda c: c.suspend_account("acct_1"),
        lambda c: c.complete_upload("ast_1"),
        lambda c: c.join_pool("pool_1", ["ast_1"]),
        lambda c: c.distribute_pool("pool_1", "2026-10"),
    ],
)
def test_every_post_carries_one_idempotency_key_reused_by_its_retries(call: Any) -> None:
    # Given a server that fails twice before answering
    seen, handler = scripted(
        problem(503, "unavailable"), problem(502, "bad_gateway"), httpx.Response(200, json=LICENCE)
    )
    # When the POST is made
    call(make(handler))
    # Then it was sent three times with one key, and a second call uses another key
    assert len(seen) == 3 and len({r.headers["idempotency-key"] for r in seen}) == 1
    first = seen[0].headers["idempotency-key"]
    seen.clear()
    call(make(handler))
    assert seen[-1].headers["idempotency-key"] != first


def test_gets_and_deletes_carry_no_idempotency_key() -> None:
    seen, handler = scripted(httpx.Response(200, json={"id": "off_1"}))
    c = make(handler)
    c.get_offer("off_1")
    c.retire_offer("off_1")
    assert all("idempotency-key" not in r.headers for r in seen)


def test_a_caller_key_is_sent_as_is() -> None:
    seen, handler = scripted(httpx.Response(201, json={"license": {}, "certificate": "x"}))
    make(handler).buy("off_1", "ai-input", idempotency_key="job-42")
    assert seen[0].headers["idempotency-key"] == "job-42"


def test_the_in_flight_409_is_retried_and_no_other_409_is() -> None:
    seen, handler = scripted(problem(409, "idempotency_in_progress"), httpx.Response(201, json={"ok": True}))
    assert make(handler).buy("off_1", "ai-input") == {"ok": True} and len(seen) == 2
    seen, handler = scripted(problem(409, "offer_retired"), httpx.Response(201, json={"ok": True}))
    with pytest.raises(Conflict) as info:
        make(handler).buy("off_1", "ai-input")
    assert info.value.code == "offer_retired" and len(seen) == 1


@pytest.mark.parametrize(("status", "code"), [(400, "malformed_json"), (404, "not_found"), (422, "validation_failed")])
def test_client_errors_are_never_retried(status: int, code: str) -> None:
    seen, handler = scripted(problem(status, code), httpx.Response(200, json={}))
    with pytest.raises(imprimatur_client.ImprimaturError):
        make(handler).cancel_license("lic_1")
    assert len(seen) == 1


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    sleeps: list[float] = []
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=8), usegmt=True)
    seen, handler = scripted(
        problem(429, "rate_limited", {"retry-after": "3"}),
        problem(503, "unavailable", {"retry-after": later}),
        httpx.Response(200, json={"id": "acct_1"}),
    )
    make(handler, sleeps, backoff=0.01).me()
    assert len(seen) == 3 and sleeps[0] >= 3 and 6 <= sleeps[1] <= 8


def test_back_off_grows_with_jitter_and_is_capped() -> None:
    sleeps: list[float] = []
    seen, handler = scripted(problem(500, "internal"))
    with pytest.raises(imprimatur_client.ServerError):
        make(handler, sleeps, backoff=1.0, max_retries=6, max_wait=10).me()
    assert len(seen) == 7 and len(sleeps) == 6
    for n, s in enumerate(sleeps):
        assert min(2**n, 10) * 0.5 <= s <= min(2**n, 10)


def test_a_retry_after_beyond_max_wait_is_raised_not_waited_for() -> None:
    sleeps: list[float] = []
    seen, handler = scripted(problem(429, "rate_limited", {"retry-after": "3600"}), httpx.Response(200, json={}))
    with pytest.raises(RateLimited):
        make(handler, sleeps).me()
    assert len(seen) == 1 and sleeps == []


def test_network_errors_are_retried_then_raised_with_the_request_id() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["x-request-id"])
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(imprimatur_client.TransportError) as info:
        make(handler, max_retries=2).health()
    assert len(calls) == 3 and info.value.request_id == calls[0] and calls[0] in str(info.value)


def test_errors_name_the_servers_request_id_or_ours() -> None:
    _, handler = scripted(problem(404, "not_found", {"apigw-requestid": "Xyz123="}))
    with pytest.raises(NotFound) as info:
        make(handler).get_license("lic_x")
    assert info.value.request_id == "Xyz123=" and "request Xyz123=" in str(info.value)
    seen, handler = scripted(problem(422, "validation_failed"))
    with pytest.raises(ValidationFailed) as info2:
        make(handler).create_offer(asset_id="ast_1")
    sent = seen[0].headers["x-request-id"]
    assert sent.startswith("req_") and f"request {sent}" in str(info2.value)


def test_every_public_method_and_export_has_a_docstring() -> None:
    missing = [
        name
        for name, member in inspect.getmembers(Client)
        if not name.startswith("_") and callable(member) and not (member.__doc__ or "").strip()
    ]
    missing += [
        n for n in imprimatur_client.__all__ if n != "__version__" and not getattr(imprimatur_client, n).__doc__
    ]
    assert missing == []


# ------------------------------------------------------------------------------------------- fetching
def store(
    files: dict[str, bytes], *, lic: dict[str, Any] | None = None, delay: float = 0.0
) -> tuple[Any, dict[str, Any]]:
    """A fake marketplace + storage: grants for ``files``, the bytes behind them, concurrency and call records."""
    stats: dict[str, Any] = {"active": 0, "peak": 0, "content_calls": [], "lock": threading.Lock(), "spent": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/v1/licenses/"):
            return httpx.Response(200, json=lic)
        if path.endswith("/content"):
            asset = path.split("/")[3]
            with stats["lock"]:
                stats["content_calls"].append(asset)
                stats["active"] += 1
                stats["peak"] = max(stats["peak"], stats["active"])
            time.sleep(delay)
            with stats["lock"]:
                stats["active"] -= 1
            if asset == "ast_broke":
                return problem(403, "budget_exhausted")
            data = files[asset]
            return httpx.Response(
                200,
                json={
                    "url": f"http://s3.test/{asset}",
                    "expires_at": "z",
                    "license_id": "lic_1",
                    "sha256": hashlib.sha256(files.get(asset + ":declared", data)).hexdigest(),
                    "size_bytes": len(data),
                    "media_type": "text/plain; charset=latin-1" if asset == "ast_latin" else "text/markdown",
                },
            )
        if request.url.host == "s3.test":
            return httpx.Response(200, content=files[path.strip("/")])
        return problem(404, "not_found")

    return handler, stats


def test_fetch_text_verifies_and_decodes_with_the_charset() -> None:
    handler, _ = store({"ast_md": "Über die Brücke".encode(), "ast_latin": "café".encode("latin-1")})
    c = make(handler)
    assert c.fetch_text("ast_md", "ai-input") == "Über die Brücke"
    assert c.fetch_text("ast_latin", "ai-input") == "café"


def test_fetch_text_refuses_bytes_that_do_not_match_the_sha256() -> None:
    handler, _ = store({"ast_md": b"tampered", "ast_md:declared": b"original"})
    with pytest.raises(VerificationFailed):
        make(handler).fetch_text("ast_md", "ai-input")


def test_fetch_many_is_concurrent_bounded_and_ordered() -> None:
    files = {f"ast_{i}": f"doc {i}".encode() for i in range(12)}
    handler, stats = store(files, delay=0.05)
    got = make(handler).fetch_many(list(files), "ai-input", concurrency=3)
    assert [r.asset_id for r in got] == list(files) and [r.text() for r in got] == [f"doc {i}" for i in range(12)]
    assert stats["peak"] == 3  # concurrent, and never more than asked


def test_fetch_many_stays_within_the_licences_budget() -> None:
    # Given a per-access licence at 0.01 with 0.025 left of its cap: two accesses fit, a third would not
    files = {f"ast_{i}": b"x" for i in range(5)}
    lic = {
        "id": "lic_1",
        "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
        "budget_cap_micros": 100_000,
        "spent_micros": 75_000,
    }
    handler, stats = store(files, lic=lic)
    got = make(handler).fetch_many(list(files), "ai-input", license_id="lic_1", concurrency=2)
    # Then only two were requested (and charged); the rest were skipped without a request
    assert [r.ok for r in got] == [True, True, False, False, False] and [r.skipped for r in got][2:] == [True] * 3
    assert sorted(stats["content_calls"]) == ["ast_0", "ast_1"]
    # And a caller's own cap is honoured as well
    handler, stats = store(files, lic={**lic, "spent_micros": 0})
    got = make(handler).fetch_many(list(files), "ai-input", license_id="lic_1", max_spend_micros=30_000)
    assert sum(r.ok for r in got) == 3 and len(stats["content_calls"]) == 3


def test_fetch_many_stops_starting_fetches_once_the_server_says_budget_exhausted() -> None:
    files = {"ast_0": b"a", "ast_broke": b"", **{f"ast_{i}": b"b" for i in range(1, 6)}}
    handler, stats = store(files)
    got = make(handler).fetch_many(["ast_0", "ast_broke", "ast_1", "ast_2", "ast_3"], "ai-input", concurrency=1)
    assert got[0].ok and got[1].error is not None and got[1].error.code == "budget_exhausted"
    assert all(r.skipped for r in got[2:]) and stats["content_calls"] == ["ast_0", "ast_broke"]
    assert isinstance(got[2], FetchResult) and not got[2].ok


# ------------------------------------------------------------------------------------------- prices
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.05", ("USD", 50_000)),
        ("USD 0.05", ("USD", 50_000)),
        ("eur 25", ("EUR", 25_000_000)),
        ("1.000001", ("USD", 1_000_001)),
    ],
)
def test_one_price_syntax(text: str, expected: tuple[str, int]) -> None:
    assert money.parse(text) == expected


@pytest.mark.parametrize("text", ["0.0000001", "USD", "$0.05", "0,05", "-1", "USD0.05 x", ""])
def test_bad_prices_name_their_option(text: str) -> None:
    with pytest.raises(money.PriceError, match="--max-price"):
        money.parse(text, "--max-price")


def test_amounts_are_shown_exactly_with_their_currency() -> None:
    assert money.show(25_007_850, "USD") == "USD 25.00785"
    assert money.show(-10_000, "EUR") == "EUR -0.01"
    assert money.show(1_234_500_000, "USD") == "USD 1,234.50"
    assert money.header("0.02") == "USD 0.020000"


def test_api_gateways_bare_403_for_a_denied_key_is_an_authentication_error() -> None:
    """In the cloud the authoriser denies a bad key and API Gateway answers 403 {"message":"Forbidden"} itself
    (issue 17, section 2); the SDK reports it as the key's problem, like the local 401 problem."""
    from imprimatur_client.errors import Forbidden, Unauthorized, from_response

    denied = from_response(403, {"message": "Forbidden"}, {})
    assert type(denied) is Unauthorized and denied.code == "unauthorized"
    ours = from_response(403, {"code": "insufficient_role", "detail": "needs admin", "status": 403}, {})
    assert type(ours) is Forbidden and ours.code == "insufficient_role"
