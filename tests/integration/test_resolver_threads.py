"""The local process resolves requests of several functions (and, in the concurrency tests, several instances of one
function) in threads at once; each resolver must see its own request (local/resolver_threads.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = textwrap.dedent(
    """
    import json, sys, threading
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.api_gateway import Router

    if sys.argv[1] == "installed":
        from local import resolver_threads
        resolver_threads.install()

    both_inside = threading.Barrier(2)
    router = Router()

    @router.get("/r/<name>")
    def via_router(name: str) -> dict:
        both_inside.wait(timeout=10)  # both requests are being resolved now
        return {"seen": router.current_event.path, "name": name}

    def resolver() -> APIGatewayHttpResolver:
        app = APIGatewayHttpResolver()

        @app.get("/a/<name>")
        def direct(name: str) -> dict:
            both_inside.wait(timeout=10)
            return {"seen": app.current_event.path, "name": name}

        app.include_router(router)
        return app

    def event(path: str) -> dict:
        return {"version": "2.0", "routeKey": f"GET {path}", "rawPath": path, "rawQueryString": "", "headers": {},
                "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"},
                "isBase64Encoded": False}

    out = {}
    def run(app: APIGatewayHttpResolver, path: str) -> None:
        out[path] = json.loads(app.resolve(event(path), None)["body"])["seen"]

    for paths in (("/a/one", "/a/two"), ("/r/one", "/a/two")):
        both_inside.reset()
        threads = [threading.Thread(target=run, args=(resolver(), p)) for p in paths]
        for t in threads: t.start()
        for t in threads: t.join()
    print(json.dumps(out))
    """
)


def _run(mode: str) -> dict[str, str]:
    got = subprocess.run(
        [sys.executable, "-c", SCENARIO, mode], capture_output=True, text=True, timeout=60, check=True, cwd=ROOT
    )
    return dict(json.loads(got.stdout))


def test_each_thread_resolves_its_own_request() -> None:
    # Given two resolvers (one through an included Router) resolving at the same time in two threads
    # When the local process's per-thread request is installed
    seen = _run("installed")
    # Then each route read its own request's path
    assert seen == {"/a/one": "/a/one", "/a/two": "/a/two", "/r/one": "/r/one"}


def test_without_it_powertools_shares_one_request_between_threads() -> None:
    # Given the same scenario with Powertools as it is (the request is kept on the BaseRouter class)
    seen = _run("plain")
    # Then at least one route read the other thread's request: why the local gateway installs it
    assert any(path != got for path, got in seen.items())


def test_the_local_gateway_installs_it() -> None:
    from local import resolver_threads
    from local.gateway import LocalGateway

    LocalGateway()
    assert resolver_threads.installed()
