"""Per-key and per-IP request limits, counted in DynamoDB in leased chunks (issue 17, section 2).

HTTP APIs cannot take an AWS WAF web ACL, and the stage throttle is shared by every tenant, so each function
instance limits requests itself:

- a *subject* is ``acct#<account_id>`` for a caller with a valid key (all of an account's keys share one budget, so
  minting keys does not multiply it) or ``ip#<source_ip>`` for a request without one (public routes, and invalid
  keys at the authoriser);
- time is cut into fixed windows of ``window_s`` seconds; one DynamoDB item per subject and window counts the
  tokens handed out (``pk = RL#<subject>``, ``sk = <window number>``, expiring by TTL);
- an instance *leases* ``chunk`` tokens at once with one unconditional ``UpdateItem ADD`` and spends them in memory,
  so a busy key costs one write per ``chunk`` requests, not one per request. The write returns the new total; the
  instance keeps only the part of its chunk that was still under the limit (``limit - (total - chunk)``), so the
  tokens handed out in a window never exceed ``limit``. What an instance leased and did not spend is lost when the
  window ends: with N instances a subject may be refused while up to N x chunk of its tokens sit unused elsewhere
  (the approximation, at most one chunk per instance);
- once an instance has seen the window exhausted it answers ``429`` until the window ends without writing again.

The same idea as the budget leases (docs/metering.md, "Budget caps and leases"), simpler because unused tokens need
not be returned: they expire with their window. If DynamoDB fails, the instance grants itself one chunk for the
window and logs it (fail open: an outage of the counter must not take the API down, and one chunk bounds both the
requests let through and the writes retried). docs/api.md "Rate limits"; docs/decision_log.md 2026-11-29.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from functions.shared.jsontypes import LambdaEvent
from functions.shared.settings import bounded, load_settings

log = logging.getLogger(__name__)

MAX_SUBJECTS = 10_000
"""Leases kept per instance (distinct subjects); older ones are dropped first, so memory does not grow per IP."""
TTL_GRACE_S = 3600
"""A counter item expires this long after its window (DynamoDB deletes expired items lazily; nothing reads old ones)."""

DEFAULT_WINDOW_S = 10
DEFAULT_PER_KEY = 1000
DEFAULT_PER_IP = 600
DEFAULT_CHUNK = 50


@dataclass(frozen=True)
class RateLimitEnv:
    """The limits, from the environment (the stack sets them from ``infra.definitions.RATE_LIMITS`` and the
    ``rate_limits`` context; ``make run`` from the same definitions). Without ``LIMITS_TABLE`` nothing is limited.
    Read without pydantic (``functions.shared.settings``): every function runs the limiter, the delivery among them."""

    LIMITS_TABLE: str | None = None
    RATE_LIMIT_WINDOW_S: int = bounded(DEFAULT_WINDOW_S, ge=1, le=3600)
    RATE_LIMIT_PER_KEY: int = bounded(DEFAULT_PER_KEY, ge=1)
    RATE_LIMIT_PER_IP: int = bounded(DEFAULT_PER_IP, ge=1)
    RATE_LIMIT_CHUNK: int = bounded(DEFAULT_CHUNK, ge=1)


def env() -> RateLimitEnv:
    return load_settings(RateLimitEnv)


class Counter(Protocol):
    def add(self, subject: str, window: int, n: int, expires_at: int) -> int:
        """Add ``n`` to the subject's count for ``window`` and return the new total."""
        ...


class DynamoCounter:
    """The counter items in the limits table: one ``UpdateItem`` (1 write unit) per lease."""

    def __init__(self, table: str) -> None:
        self.table = table

    def add(self, subject: str, window: int, n: int, expires_at: int) -> int:
        from functions.shared import aws

        got = aws.client("dynamodb").update_item(
            TableName=self.table,
            Key={"pk": {"S": f"RL#{subject}"}, "sk": {"S": str(window)}},
            UpdateExpression="ADD #n :n SET #ttl = :ttl",
            ExpressionAttributeNames={"#n": "n", "#ttl": "ttl"},
            ExpressionAttributeValues={":n": {"N": str(n)}, ":ttl": {"N": str(expires_at)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(got["Attributes"]["n"]["N"])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int
    """Seconds until the current window ends (at least 1): when a refused subject may come back."""


@dataclass
class _Lease:
    window: int
    tokens: int = 0
    exhausted: bool = False


class Limiter:
    """One instance's leases. Thread-safe (the local gateway runs functions in threads; Lambda runs one at a time)."""

    def __init__(
        self, counter: Counter, *, clock: Callable[[], float] = time.time, max_subjects: int = MAX_SUBJECTS
    ) -> None:
        self.counter = counter
        self.clock = clock
        self.max_subjects = max_subjects
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self.writes = 0

    def exhausted(self, subject: str, window_s: int) -> Decision | None:
        """A refusal if this instance already knows the subject's window is used up (no write); else None."""
        now = self.clock()
        window = int(now // window_s)
        with self._lock:
            lease = self._leases.get(subject)
            if lease is not None and lease.window == window and lease.exhausted and lease.tokens == 0:
                return Decision(False, _retry_after(now, window, window_s))
        return None

    def take(self, subject: str, *, limit: int, window_s: int, chunk: int) -> Decision:
        """Spend one token of ``subject`` in the current window, leasing ``chunk`` more when none is left."""
        now = self.clock()
        window = int(now // window_s)
        retry_after = _retry_after(now, window, window_s)
        with self._lock:
            lease = self._leases.get(subject)
            if lease is None or lease.window != window:
                lease = _Lease(window)
                self._remember(subject, lease)
            if lease.tokens == 0 and not lease.exhausted:
                lease.tokens = self._lease(subject, window, window_s, limit, chunk)
                lease.exhausted = lease.tokens < chunk  # the counter is at or past the limit now
            if lease.tokens == 0:
                return Decision(False, retry_after)
            lease.tokens -= 1
            return Decision(True, retry_after)

    def _lease(self, subject: str, window: int, window_s: int, limit: int, chunk: int) -> int:
        expires_at = (window + 1) * window_s + TTL_GRACE_S
        self.writes += 1
        try:
            total = self.counter.add(subject, window, chunk, expires_at)
        except Exception:  # fail open, one chunk per window: see the module docstring
            log.warning("rate limit counter unavailable; granting one chunk", extra={"subject": subject})
            return chunk
        before = total - chunk
        return max(0, min(chunk, limit - before))

    def _remember(self, subject: str, lease: _Lease) -> None:
        self._leases.pop(subject, None)
        if len(self._leases) >= self.max_subjects:
            current = {k: v for k, v in self._leases.items() if v.window >= lease.window}
            while len(current) >= self.max_subjects:
                current.pop(next(iter(current)))
            self._leases = current
        self._leases[subject] = lease

    def reset(self) -> None:
        with self._lock:
            self._leases.clear()


def _retry_after(now: float, window: int, window_s: int) -> int:
    return max(1, math.ceil((window + 1) * window_s - now))


_limiter: Limiter | None = None
_limiter_lock = threading.Lock()


def limiter() -> Limiter | None:
    """This instance's limiter, or None when no limits table is configured."""
    global _limiter
    table = env().LIMITS_TABLE
    if not table:
        return None
    if _limiter is None or not isinstance(_limiter.counter, DynamoCounter) or _limiter.counter.table != table:
        with _limiter_lock:
            if _limiter is None or not isinstance(_limiter.counter, DynamoCounter) or _limiter.counter.table != table:
                _limiter = Limiter(DynamoCounter(table))
    return _limiter


def reset() -> None:
    """Forget this process's leases (tests switch between embedded AWS worlds)."""
    global _limiter
    with _limiter_lock:
        _limiter = None


def subject_of(event: LambdaEvent) -> tuple[str, int]:
    """The subject of an HTTP API event and its limit: the caller's account, or else the source IP."""
    e = env()
    request = event.get("requestContext") or {}
    ctx = (request.get("authorizer") or {}).get("lambda") or {}
    if ctx.get("account_id"):
        return f"acct#{ctx['account_id']}", e.RATE_LIMIT_PER_KEY
    return f"ip#{source_ip(event)}", e.RATE_LIMIT_PER_IP


def source_ip(event: LambdaEvent) -> str:
    return str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "unknown")


def check(event: LambdaEvent) -> Decision | None:
    """Spend one token for this request; a refusal, or None when it may go on (or nothing is limited)."""
    lim = limiter()
    if lim is None:
        return None
    e = env()
    subject, limit = subject_of(event)
    decision = lim.take(subject, limit=limit, window_s=e.RATE_LIMIT_WINDOW_S, chunk=e.RATE_LIMIT_CHUNK)
    return None if decision.allowed else decision


def refused(event: LambdaEvent) -> LambdaEvent | None:
    """The ``429`` problem+json (with ``Retry-After``) for a request over its limit, or None to go on."""
    decision = check(event)
    if decision is None:
        return None
    from functions.shared.errors import TooManyRequests

    e = env()
    subject, limit = subject_of(event)
    who = "this account's API keys" if subject.startswith("acct#") else "requests without a valid key from this address"
    detail = (
        f"Too many requests: {who} may make {limit} requests per {e.RATE_LIMIT_WINDOW_S} s. "
        f"Retry after {decision.retry_after_s} s."
    )
    error = TooManyRequests(
        detail,
        code="rate_limited",
        extra={"limit": limit, "window_s": e.RATE_LIMIT_WINDOW_S},
        headers={"Retry-After": str(decision.retry_after_s)},
    )
    return dict(error.result())
