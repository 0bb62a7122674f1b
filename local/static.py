"""Static files served by the local gateway (the web console lives under /console/ when present)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path

from local.gateway import GatewayResponse

ROOT = Path(__file__).resolve().parent.parent


def _dir_server(prefix: str, directory: Path) -> Callable[[str], GatewayResponse | None]:
    def serve(path: str) -> GatewayResponse | None:
        rel = path[len(prefix) :] if path.startswith(prefix) else ""
        target = (directory / (rel or "index.html")).resolve()
        if not str(target).startswith(str(directory.resolve())) or not target.is_file():
            target = directory / "index.html"
            if not target.is_file():
                return None
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        headers = {
            "content-type": ctype,
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
            "content-security-policy": "default-src 'self'; img-src 'self' data:; connect-src *; "
            "frame-ancestors 'none'",
        }
        return GatewayResponse(200, headers, target.read_bytes())

    return serve


def static_routes() -> dict[str, Callable[[str], GatewayResponse | None]]:
    console = ROOT / "console" / "dist"
    return {"/console/": _dir_server("/console/", console)} if console.is_dir() else {}
