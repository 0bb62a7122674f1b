"""`make bench` measures the AWS calls of one valid request per route (P1): every route of the route table must have
one, or the bench stops with "no benchmark request for ..." after its setup (it did when sign-up and the operator's
account routes were added, and only a bench run showed it)."""

from __future__ import annotations

from collections import defaultdict

from benchmarks.hotpath import DESTRUCTIVE, route_requests
from infra.definitions import ROUTES


def test_the_bench_has_a_request_for_every_route() -> None:
    requests = route_requests(defaultdict(lambda: "x", status_list_path="/v1/status-lists/1"))
    assert set(requests) == {r.route_key for r in ROUTES}
    # and each builds a request for its own method and a path of the route's shape
    for route in ROUTES:
        method, path, *_ = requests[route.route_key]()
        assert method == route.method
        assert path.count("/") == route.path.count("/"), route.route_key


def test_destructive_requests_are_routes() -> None:
    assert {r.route_key for r in ROUTES} >= DESTRUCTIVE
