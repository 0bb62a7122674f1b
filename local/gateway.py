"""The local gateway: turns HTTP requests into API Gateway HTTP API (payload 2.0) events and calls the same
authoriser and handlers as the cloud, in-process.

Faithful to the cloud where it matters: route matching by the route table of ``infra.definitions`` (the
stack's routes), the authoriser on ``key`` routes with an optional result cache (``auth_cache_ttl``), one
invocation at a time per function (like one warm Lambda instance, and Powertools resolvers are not
thread-safe). Two deliberate differences: a ``key`` route without an Authorization header gets a 401
problem+json here, where API Gateway itself answers ``401 {"message":"Unauthorized"}``; and the authoriser's deny
(a key that is not valid) is a 401 problem+json here, where API Gateway answers ``403 {"message":"Forbidden"}``.
Denies are cached like allows (API Gateway caches both), so with a cache TTL an invalid key reaches the authoriser
at most once per TTL and a route's function never.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from functions.shared.errors import PROBLEM_JSON, problem_body
from infra.definitions import FUNCTIONS, ROUTES, Route
from local import resolver_threads
from local.events import LambdaContext, authorizer_event, http_event

log = logging.getLogger("imprimatur.gateway")
Handler = Callable[[dict[str, Any], Any], Any]
_IMPORT_LOCK = threading.RLock()


AUTH_CACHE_MAX = 10_000  # distinct keys whose authoriser answer is kept (the server must not grow per request)


@dataclass
class GatewayResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{pattern}$")


def _problem(status: int, title: str, detail: str, code: str) -> GatewayResponse:
    return GatewayResponse(status, {"content-type": PROBLEM_JSON}, problem_body(status, title, detail, code).encode())


def _denied() -> GatewayResponse:
    return _problem(
        401,
        "Unauthorized",
        "The API key is missing, not valid, revoked, or its account is suspended.",
        "unauthorized",
    )


class LocalGateway:
    def __init__(
        self, *, auth_cache_ttl: float = 0.0, static: dict[str, Callable[[str], GatewayResponse | None]] | None = None
    ) -> None:
        # Literal segments first, so "/v1/catalog/assets" wins over "/v1/{x}/assets"-like templates.
        self.routes: list[tuple[Route, re.Pattern[str]]] = sorted(
            ((r, _compile(r.path)) for r in ROUTES), key=lambda rp: rp[0].path.count("{")
        )
        resolver_threads.install()  # functions resolve side by side here: each thread sees its own request
        self.auth_cache_ttl = auth_cache_ttl
        self._auth_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}  # None: a cached deny
        self._handlers: dict[str, Handler] = {}
        self._locks: dict[str, threading.Lock] = {name: threading.Lock() for name in FUNCTIONS}
        self.static = static or {}

    def handler(self, function: str) -> Handler:
        h = self._handlers.get(function)
        if h is None:
            with _IMPORT_LOCK:  # concurrent first imports from several threads can deadlock or half-initialise
                module, _, attr = FUNCTIONS[function].handler.rpartition(".")
                h = getattr(importlib.import_module(module), attr)
                self._handlers[function] = h
        return h

    def warm(self) -> None:
        """Import every handler now (one at a time), as a set of warm Lambda instances would be."""
        for name in FUNCTIONS:
            try:
                self.handler(name)
            except ModuleNotFoundError as exc:
                log.warning("function %s is not available: %s", name, exc)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        with self._locks[function]:
            return self.handler(function)(event, LambdaContext(function_name=function))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        allowed = False
        for route, rx in self.routes:
            m = rx.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        return (None, {}) if allowed else None  # type: ignore[return-value]

    def _authorize(
        self, route: Route, path: str, headers: dict[str, str], source_ip: str = "127.0.0.1"
    ) -> dict[str, Any] | GatewayResponse:
        token = headers.get("authorization", "")
        if not token:
            return _problem(
                401,
                "Unauthorized",
                "A valid API key is required: send 'Authorization: Bearer <api_key>'.",
                "unauthorized",
            )
        now = time.monotonic()
        cached = self._auth_cache.get(token)
        if cached and cached[0] > now:
            return cached[1] if cached[1] is not None else _denied()
        result = self.invoke("authorizer", authorizer_event(route.route_key, path, headers, source_ip=source_ip))
        ctx = dict(result.get("context") or {}) if result.get("isAuthorized") else None
        if self.auth_cache_ttl > 0:
            if len(self._auth_cache) >= AUTH_CACHE_MAX:  # bounded: expired answers go first, then the oldest
                live = {k: v for k, v in self._auth_cache.items() if v[0] > now}
                while len(live) >= AUTH_CACHE_MAX:
                    live.pop(next(iter(live)))
                self._auth_cache = live
            self._auth_cache[token] = (now + self.auth_cache_ttl, ctx)
        return ctx if ctx is not None else _denied()

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        host: str = "127.0.0.1:8080",
        source_ip: str = "127.0.0.1",
    ) -> GatewayResponse:
        headers = {k.lower(): v for k, v in headers.items()}
        for prefix, serve in self.static.items():
            if path == prefix.rstrip("/") or path.startswith(prefix):
                found = serve(path)
                if found is not None:
                    return found
        matched = self.match(method, path)
        if matched is None:
            return _problem(404, "Not found", f"No route for {path}.", "route_not_found")
        route, params = matched
        if route is None:
            return _problem(405, "Method not allowed", f"{method} is not allowed on {path}.", "method_not_allowed")
        authorizer: dict[str, Any] | None = None
        if route.auth == "key":
            got = self._authorize(route, path, headers, source_ip)
            if isinstance(got, GatewayResponse):
                return got
            authorizer = got
        event = http_event(
            method,
            path,
            route_key=route.route_key,
            path_params=params or None,
            query=query,
            headers=headers,
            body=body,
            authorizer=authorizer,
            domain=host,
            source_ip=source_ip,
        )
        result = self.invoke(route.function, event)
        return self._to_http(result)

    @staticmethod
    def _to_http(result: Any) -> GatewayResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            return GatewayResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, vs in (result.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ", ".join(str(v) for v in vs)
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        if result.get("cookies"):
            headers["set-cookie"] = "; ".join(result["cookies"])
        return GatewayResponse(int(result["statusCode"]), headers, body)
