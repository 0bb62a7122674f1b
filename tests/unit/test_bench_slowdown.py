"""P5's no-slowdown row (``benchmarks.embedded.slowdown``): the last third of the long run against the first, each
per second of a reference workload timed on a server whose data never grows. A machine that slows down for
everything must not read as a slowdown; a cost that grows with the data must, whatever the machine does."""

from __future__ import annotations

import pytest

from benchmarks.embedded import slowdown


def rounds(costs_ms: list[float], machine: list[float], events: int = 10_000) -> list[dict[str, float]]:
    """Rounds whose consumer costs ``cost`` ms per event on a machine running at ``1 / factor`` of its speed: the
    consumer's busy time and the reference's time are both stretched by the factor."""
    out = []
    for cost, factor in zip(costs_ms, machine, strict=True):
        busy = events * cost / 1000 * factor
        out.append({"events": events, "busy_s": busy, "rate": events / busy, "ref_s": 1.5 * factor})
    return out


def test_a_machine_that_slows_down_is_not_a_slowdown() -> None:
    # the last third ran 40 % slower for everything (as measured on 2026-11-30: raw 75 %, reference 1.56 -> 2.32 s)
    got = slowdown(rounds([0.6] * 10, [1.0, 1.0, 1.0, 1.1, 1.2, 1.2, 1.3, 1.4, 1.4, 1.4]))
    assert got["last_third_rate"] / got["first_third_rate"] == pytest.approx(1 / 1.4)
    assert got["relative_last_third"] == pytest.approx(1.0)


@pytest.mark.parametrize("machine", [[1.0] * 10, [1.0, 1.0, 1.0, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8]])
def test_a_cost_that_grows_with_the_data_is_a_slowdown_on_any_machine(machine: list[float]) -> None:
    # 0.6 ms per event at first, 20 % more by the end: the last third at 1/1.2 of the first, even while the machine
    # got faster
    got = slowdown(rounds([0.6 + 0.012 * i for i in range(10)], machine))
    assert got["relative_last_third"] < 0.9
    assert got["relative_last_third"] == pytest.approx((0.6 + 0.012) / (0.6 + 0.012 * 8), rel=0.01)


def test_thirds_of_a_short_run() -> None:
    got = slowdown(rounds([0.5, 0.5], [1.0, 1.0]))
    assert got["third_events"] == 10_000  # one round at each end
    assert got["relative_last_third"] == pytest.approx(1.0)
    assert slowdown(rounds([0.5] * 10, [1.0] * 10))["third_events"] == 30_000
