"""The per-key limiter's leases (functions/shared/ratelimit.py) with an injected clock and in-memory counters, and
real threads: N instances never hand out more than the limit (so never more than limit + N x chunk), and writes
stay at one per chunk."""

from __future__ import annotations

import threading
from collections import Counter as Tally

import pytest

from functions.shared.ratelimit import Limiter


class MemoryCounter:
    """What DynamoDB's ``UpdateItem ADD`` does: an atomic add that returns the new total."""

    def __init__(self) -> None:
        self.totals: Tally[tuple[str, int]] = Tally()
        self.calls = 0
        self._lock = threading.Lock()

    def add(self, subject: str, window: int, n: int, expires_at: int) -> int:
        with self._lock:
            self.calls += 1
            self.totals[(subject, window)] += n
            return self.totals[(subject, window)]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_one_write_per_chunk_then_429_until_the_window_ends() -> None:
    counter, clock = MemoryCounter(), Clock(1000.0)  # window 100 of 10 s: [1000, 1010)
    lim = Limiter(counter, clock=clock)
    allowed = [lim.take("acct#a", limit=25, window_s=10, chunk=10).allowed for _ in range(40)]
    assert allowed == [True] * 25 + [False] * 15
    assert counter.calls == 3  # 10 + 10 + the 5 left under the limit; the refusals write nothing
    clock.t = 1007.2
    refused = lim.take("acct#a", limit=25, window_s=10, chunk=10)
    assert not refused.allowed and refused.retry_after_s == 3  # ceil(1010 - 1007.2)
    assert lim.exhausted("acct#a", 10) == refused
    clock.t = 1010.0  # the next window: a fresh lease
    assert lim.exhausted("acct#a", 10) is None
    assert lim.take("acct#a", limit=25, window_s=10, chunk=10).allowed
    assert counter.calls == 4


def test_subjects_are_counted_apart() -> None:
    counter, clock = MemoryCounter(), Clock(50.0)
    lim = Limiter(counter, clock=clock)
    assert all(lim.take("acct#a", limit=3, window_s=10, chunk=2).allowed for _ in range(3))
    assert not lim.take("acct#a", limit=3, window_s=10, chunk=2).allowed
    assert lim.take("acct#b", limit=3, window_s=10, chunk=2).allowed
    assert lim.take("ip#192.0.2.1", limit=3, window_s=10, chunk=2).allowed


def test_another_instance_sees_the_shared_counter() -> None:
    counter, clock = MemoryCounter(), Clock(0.0)
    one, two = Limiter(counter, clock=clock), Limiter(counter, clock=clock)
    assert one.take("acct#a", limit=15, window_s=60, chunk=10).allowed  # one holds 9 more
    got = [two.take("acct#a", limit=15, window_s=60, chunk=10).allowed for _ in range(6)]
    assert got == [True] * 5 + [False]  # two leased only the 5 left under the limit
    assert sum(one.take("acct#a", limit=15, window_s=60, chunk=10).allowed for _ in range(20)) == 9


def test_fails_open_with_one_chunk_when_the_counter_is_down() -> None:
    class Down:
        calls = 0

        def add(self, subject: str, window: int, n: int, expires_at: int) -> int:
            Down.calls += 1
            raise ConnectionError("no DynamoDB")

    lim = Limiter(Down(), clock=Clock(0.0))
    assert all(lim.take("acct#a", limit=100, window_s=10, chunk=5).allowed for _ in range(10))
    assert Down.calls == 2  # one attempt per chunk, not one per request


def test_memory_is_bounded_by_subjects() -> None:
    lim = Limiter(MemoryCounter(), clock=Clock(0.0), max_subjects=50)
    for i in range(500):
        lim.take(f"ip#10.0.{i // 256}.{i % 256}", limit=10, window_s=10, chunk=5)
    assert len(lim._leases) <= 50


@pytest.mark.parametrize(("instances", "chunk"), [(8, 7), (4, 50), (16, 1)])
def test_threads_n_instances_never_exceed_limit_plus_n_chunks(instances: int, chunk: int) -> None:
    """Real threads, each its own instance (its own leases), hammering one key through one atomic counter."""
    limit, per_thread = 300, 200  # 8 x 200 requests > 300: the limit binds
    counter, clock = MemoryCounter(), Clock(123.0)
    served = Tally[int]()
    start = threading.Barrier(instances)

    def run(i: int) -> None:
        lim = Limiter(counter, clock=clock)
        start.wait()
        for _ in range(per_thread):
            if lim.take("acct#hot", limit=limit, window_s=10, chunk=chunk).allowed:
                served[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(served.values())
    demand = instances * per_thread
    assert total <= limit + instances * chunk  # the bound
    assert total <= limit  # and in fact never more than the limit: leases are cut at the limit
    # the approximation: unspent leases strand at most one chunk per instance
    assert total >= min(demand, limit) - instances * chunk
    # writes: at most one per chunk handed out, plus one refused lease per instance
    assert counter.calls <= -(-limit // chunk) + 2 * instances


def test_the_environment_model_defaults_are_the_definitions() -> None:
    from functions.shared import ratelimit
    from infra.definitions import RATE_LIMITS

    defaults = ratelimit.RateLimitEnv()
    assert RATE_LIMITS.env() == {
        "RATE_LIMIT_WINDOW_S": str(defaults.RATE_LIMIT_WINDOW_S),
        "RATE_LIMIT_PER_KEY": str(defaults.RATE_LIMIT_PER_KEY),
        "RATE_LIMIT_PER_IP": str(defaults.RATE_LIMIT_PER_IP),
        "RATE_LIMIT_CHUNK": str(defaults.RATE_LIMIT_CHUNK),
    }
