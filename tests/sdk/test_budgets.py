"""Issue 13, client side: typed errors for the API 1.1 codes, ``set_budget_cap`` (PATCH, no Idempotency-Key, the
passing ``budget_reserved`` retried), and ``fetch_many`` counting with the server's ``remaining_micros``, giving back
what was not charged and stopping on ``budget_exhausted`` or an ended licence."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

import httpx
import imprimatur_client
import pytest
from imprimatur_client import (
    BudgetBelowPrice,
    BudgetExhausted,
    BudgetReserved,
    CapBelowSpent,
    Client,
    Conflict,
    Forbidden,
    LicenseCancelled,
    LicenseEnded,
    LicenseExpired,
    LicenseLapsed,
    LicenseNotActive,
    LicenseRevoked,
    ValidationFailed,
)


def problem(status: int, code: str, headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
    body = {"title": "t", "status": status, "detail": f"{code} detail", "code": code, **extra}
    return httpx.Response(status, json=body, headers=headers or {})


def make(handler: Any, sleeps: list[float] | None = None, **kw: Any) -> Client:
    return Client(
        "http://api.test",
        "imp_key",
        transport=httpx.MockTransport(handler),
        sleep=(sleeps.append if sleeps is not None else (lambda _: None)),
        **kw,
    )


# ------------------------------------------------------------------------------------------- typed errors
@pytest.mark.parametrize(
    ("status", "code", "cls", "parent"),
    [
        (403, "budget_exhausted", BudgetExhausted, Forbidden),
        (403, "license_revoked", LicenseRevoked, LicenseEnded),
        (403, "license_cancelled", LicenseCancelled, LicenseEnded),
        (403, "license_lapsed", LicenseLapsed, LicenseEnded),
        (403, "license_expired", LicenseExpired, LicenseEnded),
        (409, "license_not_active", LicenseNotActive, Conflict),
        (409, "budget_reserved", BudgetReserved, Conflict),
        (422, "budget_below_price", BudgetBelowPrice, ValidationFailed),
        (422, "cap_below_spent", CapBelowSpent, ValidationFailed),
    ],
)
def test_each_new_code_raises_its_own_class_under_its_status_class(
    status: int, code: str, cls: type[Exception], parent: type[Exception]
) -> None:
    # Given a server answering the code (with a Retry-After far beyond max_wait, so nothing is retried)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return problem(status, code, {"retry-after": "3600", "x-request-id": "rid-7"}, license_id="lic_1")

    # When any call meets it
    with pytest.raises(cls) as info:
        make(handler).content("ast_1", "ai-input")
    # Then it is the class of its code, still caught as its status class, exported, with code and request id
    err = info.value
    assert isinstance(err, parent) and isinstance(err, imprimatur_client.ImprimaturError)
    assert err.code == code and err.status == status and "request rid-7" in str(err)  # type: ignore[attr-defined]
    assert cls.__name__ in imprimatur_client.__all__ and cls.__doc__
    assert len(seen) == 1


def test_a_code_under_another_status_keeps_the_status_class() -> None:
    with pytest.raises(Conflict) as info:
        make(lambda r: problem(409, "budget_exhausted")).me()
    assert type(info.value) is Conflict and info.value.code == "budget_exhausted"
    with pytest.raises(Forbidden) as info2:
        make(lambda r: problem(403, "insufficient_role")).me()
    assert type(info2.value) is Forbidden


def test_ended_and_exhausted_errors_name_the_licence_when_the_server_does() -> None:
    with pytest.raises(LicenseLapsed) as info:
        make(lambda r: problem(403, "license_lapsed", license_id="lic_9")).content("ast_1", "ai-input")
    assert info.value.license_id == "lic_9"
    with pytest.raises(BudgetExhausted) as info2:
        make(lambda r: problem(403, "budget_exhausted")).content("ast_1", "ai-input")
    assert info2.value.license_id is None


# ------------------------------------------------------------------------------------------ set_budget_cap
LIC = {
    "id": "lic_1",
    "status": "active",
    "budget_cap_micros": 5_000_000,
    "spent_micros": 1_200_000,
    "remaining_micros": 3_800_000,
    "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
}


def test_set_budget_cap_patches_the_licence_without_an_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**LIC, "budget_cap_micros": 9_000_000, "remaining_micros": 7_800_000})

    got = make(handler).set_budget_cap("lic_1", 9_000_000)
    assert got["remaining_micros"] == 7_800_000 and got["spent_micros"] == 1_200_000
    (req,) = seen
    assert req.method == "PATCH" and req.url.path == "/v1/licenses/lic_1"
    assert json.loads(req.content) == {"budget_cap_micros": 9_000_000}
    assert "idempotency-key" not in req.headers


@pytest.mark.parametrize("bad", [-1, 1.5, "5", True, None])
def test_set_budget_cap_refuses_what_is_not_micros_before_any_request(bad: Any) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ValueError, match="micros"):
        make(lambda r: seen.append(r) or httpx.Response(200, json=LIC)).set_budget_cap("lic_1", bad)
    assert seen == []


def test_a_cap_below_spent_is_raised_at_once_with_what_was_spent() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(CapBelowSpent) as info:
        answer = problem(422, "cap_below_spent", spent_micros=1_200_000)
        make(lambda r: seen.append(r) or answer).set_budget_cap("lic_1", 1)
    assert len(seen) == 1 and info.value.spent_micros == 1_200_000


def test_a_licence_that_changed_while_its_cap_was_set_is_patched_again() -> None:
    answers = [problem(409, "license_changed"), httpx.Response(200, json=LIC)]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    assert make(handler).set_budget_cap("lic_1", 5_000_000) == LIC
    assert [r.method for r in seen] == ["PATCH", "PATCH"]


def test_budget_reserved_is_waited_out_within_max_wait_then_raised_beyond() -> None:
    # Given reservations in flight that expire after 2 s
    sleeps: list[float] = []
    answers = [problem(409, "budget_reserved", {"retry-after": "2"}), httpx.Response(200, json=LIC)]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    # When the cap is lowered, the call waits as asked and succeeds
    assert make(handler, sleeps, backoff=0.01).set_budget_cap("lic_1", 2_000_000) == LIC
    assert len(seen) == 2 and sleeps and sleeps[0] >= 2
    # And a wait longer than max_wait is raised with the server's Retry-After
    with pytest.raises(BudgetReserved) as info:
        make(lambda r: problem(409, "budget_reserved", {"retry-after": "45"})).set_budget_cap("lic_1", 2_000_000)
    assert info.value.retry_after == 45.0


# --------------------------------------------------------------------------------------------- fetch_many
class Market:
    """A fake marketplace and storage for ``fetch_many``: a licence, per-asset answers, a charge per delivery."""

    def __init__(
        self,
        files: dict[str, bytes],
        lic: dict[str, Any] | None = None,
        refuse: dict[str, httpx.Response] | None = None,
        charged: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.files, self.lic, self.refuse, self.charged, self.delay = files, lic, refuse or {}, charged, delay
        self.calls: list[str] = []
        self.active = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "s3.test":
            return httpx.Response(200, content=self.files[path.strip("/")])
        if path.startswith("/v1/licenses/"):
            return httpx.Response(200, json=self.lic)
        asset = path.split("/")[3]
        with self.lock:
            self.calls.append(asset)
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
        if asset in self.refuse:
            return self.refuse[asset]
        data = self.files[asset]
        grant = {
            "url": f"http://s3.test/{asset}",
            "expires_at": "z",
            "license_id": "lic_1",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data),
            "media_type": "text/plain",
        }
        return httpx.Response(200, json=grant, headers={"crawler-charged": self.charged} if self.charged else {})


FILES = {f"ast_{i}": f"doc {i}".encode() for i in range(6)}


def per_access(**money: Any) -> dict[str, Any]:
    return {
        "id": "lic_1",
        "status": "active",
        "terms": {"pricing": {"model": "per_access", "amount_micros": 10_000, "currency": "USD"}},
        **money,
    }


def test_fetch_many_counts_with_the_servers_remaining_micros() -> None:
    # Given a licence whose cap minus spent would allow 6 accesses, but the server says 0.025 remains
    market = Market(FILES, per_access(budget_cap_micros=100_000, spent_micros=40_000, remaining_micros=25_000))
    # When six assets are fetched
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=3)
    # Then the server's figure decides: two requests, the rest skipped without a request
    assert [r.ok for r in got] == [True, True] + [False] * 4 and all(r.skipped for r in got[2:])
    assert sorted(market.calls) == ["ast_0", "ast_1"]


def test_fetch_many_with_an_uncapped_licence_fetches_everything() -> None:
    market = Market(FILES, per_access(budget_cap_micros=None, spent_micros=990_000, remaining_micros=None))
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=2)
    assert all(r.ok for r in got) and len(market.calls) == 6


def test_fetch_many_from_an_older_server_uses_cap_minus_spent() -> None:
    market = Market(FILES, per_access(budget_cap_micros=100_000, spent_micros=70_000))  # no remaining_micros
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=2)
    assert sum(r.ok for r in got) == 3 and len(market.calls) == 3


def test_a_refused_request_gives_its_price_back() -> None:
    # Given budget for two accesses, and a first asset the server refuses (404: nothing charged)
    market = Market(FILES, per_access(remaining_micros=20_000), refuse={"ast_0": problem(404, "not_found")}, delay=0.02)
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=2)
    # Then its price went back to the budget: two assets fetched after it, the rest skipped
    assert got[0].error is not None and got[0].error.code == "not_found" and not got[0].skipped
    assert [r.ok for r in got[1:3]] == [True, True] and all(r.skipped for r in got[3:])
    assert sorted(market.calls) == ["ast_0", "ast_1", "ast_2"]


def test_a_server_error_keeps_its_price_set_aside() -> None:
    # A 5xx may have charged (the answer was lost): its price is not given back
    market = Market(FILES, per_access(remaining_micros=20_000), refuse={"ast_0": problem(500, "internal")})
    got = make(market, max_retries=0).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=1)
    assert got[0].error is not None and [r.ok for r in got[1:]] == [True, False, False, False, False]
    assert market.calls == ["ast_0", "ast_1"]


def test_pay_per_crawl_gives_back_what_crawler_charged_says_was_not_spent() -> None:
    # Given no licence, a max price of 0.05 and at most 0.10 to spend, and a marketplace that charges 0.02
    market = Market(FILES, charged="USD 0.020000")
    got = make(market).fetch_many(list(FILES), "ai-input", max_price="0.05", max_spend_micros=100_000, concurrency=1)
    # Then 0.05 is set aside per request and 0.03 comes back: 3 fit (0.06 spent, 0.04 left is less than the next
    # 0.05 to set aside), not the 2 that 0.10 / 0.05 allows
    assert [r.ok for r in got] == [True] * 3 + [False] * 3 and len(market.calls) == 3
    # Without the header the whole price counts as spent
    market = Market(FILES)
    got = make(market).fetch_many(list(FILES), "ai-input", max_price="0.05", max_spend_micros=100_000)
    assert sum(r.ok for r in got) == 2 and len(market.calls) == 2


def test_which_assets_fit_does_not_depend_on_thread_timing() -> None:
    # Budget for three, four workers: always the first three in input order, for any timing
    for delay in (0.0, 0.01, 0.03):
        market = Market(FILES, per_access(remaining_micros=30_000), delay=delay)
        got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=4)
        assert [r.ok for r in got] == [True, True, True, False, False, False], delay
        assert market.peak <= 3


@pytest.mark.parametrize(
    ("code", "named", "stops"),
    [
        ("budget_exhausted", True, True),
        ("budget_exhausted", False, True),
        ("license_lapsed", True, True),
        ("license_revoked", True, True),
        ("license_revoked", False, False),  # another asset may be covered by another licence
    ],
)
def test_fetch_many_stops_starting_requests_on_budget_exhausted_or_an_ended_named_licence(
    code: str, named: bool, stops: bool
) -> None:
    market = Market(FILES, per_access(remaining_micros=None), refuse={"ast_1": problem(403, code)})
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1" if named else None, concurrency=1)
    assert got[0].ok and got[1].error is not None and got[1].error.code == code
    if stops:
        assert all(r.skipped for r in got[2:]) and market.calls == ["ast_0", "ast_1"]
    else:
        assert all(r.ok for r in got[2:]) and len(market.calls) == 6


def test_a_named_licence_that_is_not_active_sets_nothing_aside_and_the_server_decides() -> None:
    lapsed = per_access(status="lapsed", budget_cap_micros=10_000, spent_micros=10_000, remaining_micros=0)
    market = Market(FILES, lapsed, refuse={a: problem(403, "license_lapsed") for a in FILES})
    got = make(market).fetch_many(list(FILES), "ai-input", license_id="lic_1", concurrency=1)
    assert isinstance(got[0].error, LicenseLapsed) and all(r.skipped for r in got[1:]) and market.calls == ["ast_0"]


def test_a_spend_limit_without_a_price_is_refused() -> None:
    market = Market(FILES)
    with pytest.raises(ValueError, match="max_spend_micros"):
        make(market).fetch_many(list(FILES), "ai-input", max_spend_micros=100_000)
    assert market.calls == []
