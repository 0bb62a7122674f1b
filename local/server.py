"""``make run``: the whole marketplace on this machine.

Starts moto's server (the embedded AWS), creates the resources from ``infra.definitions``, creates an admin
account and key, starts the queue dispatchers and the local gateway, optionally seeds demo data, writes
``.imprimatur/local.json`` and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.gateway import GatewayResponse

log = logging.getLogger("imprimatur.local")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit (10 MB): a larger body is a 413 here too
BODY_READ_TIMEOUT_S = 10.0  # the whole body must arrive within this (a slow-loris client gets a 408)
IDLE_TIMEOUT_S = 120.0  # a kept-alive connection, or a header line, waits at most this long
_CONTENT_LENGTH = re.compile(r"^[0-9]+$")


def write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only (0600; its directory 0700): it holds the admin key (issue 17)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode on open: narrow it
        f.write(text)


def clock_route(method: str, body: bytes | None, state_file: Path | None) -> tuple[int, dict[str, Any]]:
    """``/local/clock`` (local mode only): ``GET`` shows the marketplace's clock; ``POST {"advance_seconds": n}`` or
    ``{"offset_seconds": n}`` moves it (so a month can pass and be closed). The offset is kept in the state file for
    ``python -m local.jobs``."""
    from functions.shared import clock

    if method == "POST":
        from functions.shared.limits import json_limit_violation

        text = (body or b"{}").decode("utf-8", "replace")
        too_big = json_limit_violation(text)
        if too_big is not None:
            return 400, {"title": too_big, "code": "json_limits"}
        try:
            req = json.loads(text)
            offset = (
                float(req["offset_seconds"])
                if "offset_seconds" in req
                else clock.offset_seconds() + float(req["advance_seconds"])
            )
        except (ValueError, KeyError, TypeError):
            return 422, {"title": "Give offset_seconds or advance_seconds (a number).", "code": "validation_failed"}
        if not math.isfinite(offset) or abs(offset) > 100 * 366 * 86400:
            return 422, {"title": "The clock moves at most 100 years either way.", "code": "validation_failed"}
        clock.set_offset(offset)
        if state_file is not None and state_file.exists():
            state = json.loads(state_file.read_text())
            state["clock_offset_s"] = offset
            write_private(state_file, json.dumps(state, indent=2))
    elif method != "GET":
        return 405, {"title": "GET or POST.", "code": "method_not_allowed"}
    return 200, {"now": clock.now_iso(), "offset_seconds": clock.offset_seconds()}


def _make_http_handler(
    gateway: Any, state_file: Path | None = None, inbox: Any | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "imprimatur-local"
        timeout = IDLE_TIMEOUT_S  # the socket's timeout between requests and per header line

        def _read_body(self) -> bytes | GatewayResponse | None:
            """The body, None without one, or a 4xx ``GatewayResponse``: a Content-Length that is missing with a
            ``Transfer-Encoding`` (411), not one non-negative integer (400), above ``MAX_BODY_BYTES`` (413), or a
            body that does not arrive in full within ``BODY_READ_TIMEOUT_S`` (408)."""
            from local.gateway import _problem

            if self.headers.get("transfer-encoding"):
                return _problem(411, "Length required", "Send a Content-Length (no chunked bodies).", "length_required")
            values = {v.strip() for v in self.headers.get_all("content-length") or []}
            if not values:
                return None
            value = values.pop()
            if values or not _CONTENT_LENGTH.match(value):
                return _problem(
                    400, "Bad request", "Content-Length must be one non-negative integer.", "bad_content_length"
                )
            length = int(value) if len(value) <= 20 else MAX_BODY_BYTES + 1  # no int() of 5,000 digits
            if length > MAX_BODY_BYTES:
                return _problem(
                    413, "Content too large", f"A request body is at most {MAX_BODY_BYTES} bytes.", "body_too_large"
                )
            chunks: list[bytes] = []
            got, deadline = 0, time.monotonic() + BODY_READ_TIMEOUT_S
            try:
                while got < length:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    self.connection.settimeout(left)
                    chunk = self.rfile.read1(min(65536, length - got))
                    if not chunk:
                        return _problem(
                            400, "Bad request", "The body is shorter than its Content-Length.", "short_body"
                        )
                    chunks.append(chunk)
                    got += len(chunk)
            except TimeoutError:
                return _problem(
                    408, "Request timeout", f"The body did not arrive within {BODY_READ_TIMEOUT_S:g} s.", "body_timeout"
                )
            finally:
                self.connection.settimeout(self.timeout)
            return b"".join(chunks) if chunks else None

        def _serve(self) -> None:
            started = time.perf_counter()
            path, _, query = self.path.partition("?")
            read = self._read_body()
            body = read if isinstance(read, bytes) else None
            try:
                if read is not None and not isinstance(read, bytes):
                    resp = read  # the body was refused: answer, and close (what is left of it is not read)
                    self.close_connection = True
                elif path == "/local/clock":
                    from local.gateway import GatewayResponse

                    status, out = clock_route(self.command, body, state_file)
                    resp = GatewayResponse(status, {"content-type": "application/json"}, json.dumps(out).encode())
                elif path == "/local/inbox" and inbox is not None:
                    from local.gateway import GatewayResponse
                    from local.mail import inbox_route

                    status, ctype, raw = inbox_route(self.command, query, dict(self.headers.items()), inbox)
                    resp = GatewayResponse(status, {"content-type": ctype, "cache-control": "no-store"}, raw)
                else:
                    resp = gateway.handle(
                        self.command,
                        path,
                        query,
                        dict(self.headers.items()),
                        body,
                        host=self.headers.get("host", "127.0.0.1"),
                        source_ip=self.client_address[0],
                    )
            except Exception:
                log.exception("unhandled error for %s %s", self.command, path)
                from local.gateway import _problem

                resp = _problem(500, "Internal error", "The request failed; see the server log.", "internal_error")
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                if k not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            log.info("%s %s -> %d (%.1f ms)", self.command, path, resp.status, (time.perf_counter() - started) * 1000)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = _serve

        def __getattr__(self, name: str) -> Any:  # any other method (QUERY, PROPFIND...): the gateway answers 405
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def start_moto(host: str, port: int) -> Any:
    from moto.server import ThreadedMotoServer

    from local.embedded_aws import install

    install()  # the embedded DynamoDB, SQS, KMS and Kinesis patches (local/embedded_aws.py)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def ensure_admin(env: dict[str, str], state_dir: Path | None = None) -> str:
    """Create the local admin account once; reuse its key on later runs against the same moto state."""
    from functions.accounts.dal.store import AccountStore
    from functions.accounts.logic import accounts
    from functions.accounts.models.input import CreateAccountRequest

    store = AccountStore(env["ACCOUNTS_TABLE"])
    _account, secret = accounts.create_account(
        store,
        CreateAccountRequest(name="Local admin", email=f"admin+{int(time.time())}@imprimatur.local", roles=["admin"]),
    )
    return secret


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the Imprimatur marketplace locally (embedded AWS via moto).")
    p.add_argument("--host", default=os.environ.get("IMPRIMATUR_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("IMPRIMATUR_PORT", "8080")))
    p.add_argument("--moto-port", type=int, default=int(os.environ.get("IMPRIMATUR_MOTO_PORT", "5010")))
    p.add_argument("--state-dir", default=os.environ.get("IMPRIMATUR_STATE_DIR", ".imprimatur"))
    p.add_argument("--no-seed", action="store_true", help="do not create demo publishers, assets and offers")
    p.add_argument(
        "--auth-cache-ttl",
        type=float,
        default=0.0,
        help="cache authoriser results this many seconds (the cloud uses 60)",
    )
    p.add_argument("--job-interval", type=float, default=60.0, help="seconds between scheduled job runs")
    p.add_argument(
        "--public-url",
        default=os.environ.get("IMPRIMATUR_PUBLIC_URL"),
        help="the public base URL links and certificates name (default: the listening URL)",
    )
    p.add_argument(
        "--smtp-port",
        type=int,
        default=int(os.environ.get("IMPRIMATUR_SMTP_PORT", "0")),
        help="port of the local SMTP server whose mail /local/inbox shows (default: a free port)",
    )
    p.add_argument(
        "--signup-approval",
        default=os.environ.get("IMPRIMATUR_SIGNUP_APPROVAL", ""),
        help="roles whose self-signed-up accounts wait for an admin's approval: publisher, buyer or publisher,buyer",
    )
    p.add_argument("--signup-mails-per-address", type=int, default=3, help="sign-up mails per address and UTC day")
    p.add_argument("--signup-mails-per-day", type=int, default=200, help="sign-up mails per UTC day in all")
    args = p.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout)
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    moto = start_moto(args.host, args.moto_port)
    moto_port = moto._server.server_port if args.moto_port == 0 else args.moto_port
    endpoint = f"http://{args.host}:{moto_port}"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "POWERTOOLS_METRICS_NAMESPACE": "Imprimatur",
        }
    )
    from local.provision import provision

    env = provision()
    # sign-up mail goes to a real local SMTP server (issue 19); /local/inbox shows what it received
    from local.mail import LocalMailServer

    mail = LocalMailServer(args.host, args.smtp_port).start()
    env.update(
        {
            "MAIL_TRANSPORT": "smtp",
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
            "SIGNUP_APPROVAL": args.signup_approval,
            "SIGNUP_MAILS_PER_ADDRESS_PER_DAY": str(args.signup_mails_per_address),
            "SIGNUP_MAILS_PER_DAY": str(args.signup_mails_per_day),
        }
    )
    os.environ.update(env)

    from local.dispatch import Dispatcher
    from local.gateway import LocalGateway
    from local.static import static_routes

    gateway = LocalGateway(auth_cache_ttl=args.auth_cache_ttl, static=static_routes())
    httpd = ThreadingHTTPServer(
        (args.host, args.port), _make_http_handler(gateway, Path(args.state_dir) / "local.json", mail.inbox)
    )
    httpd.daemon_threads = True
    api_url = f"http://{args.host}:{httpd.server_port}"
    os.environ["IMPRIMATUR_API_URL"] = api_url
    # The deployment's public base URL, as the stack sets it from the API's URL: before any handler reads its
    # environment (never from a request's Host header).
    env["PUBLIC_BASE_URL"] = os.environ["PUBLIC_BASE_URL"] = (args.public_url or api_url).rstrip("/")
    gateway.warm()

    state_dir = Path(args.state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    admin_key = ensure_admin(env, state_dir)
    state: dict[str, Any] = {
        "api_url": api_url,
        "s3_endpoint": endpoint,
        "admin_api_key": admin_key,
        "region": "us-east-1",
        "smtp": {"host": mail.host, "port": mail.port},
        "inbox_url": f"{api_url}/local/inbox",
        "resources": env,
    }

    dispatcher = Dispatcher(gateway.invoke, env, job_interval_s=args.job_interval)
    dispatcher.start()
    threading.Thread(target=httpd.serve_forever, name="gateway", daemon=True).start()

    if not args.no_seed:
        try:
            from local.seed import seed
        except ImportError:
            seed = None  # type: ignore[assignment]
        if seed is not None:
            state["demo"] = seed(api_url, admin_key)

    write_private(state_dir / "local.json", json.dumps(state, indent=2))
    from local.embedded_aws import tune_gc

    tune_gc()  # started and seeded: freeze that, and keep the collector out of the way as data grows
    log.info(
        "Imprimatur is running at %s (embedded AWS at %s); admin key in %s", api_url, endpoint, state_dir / "local.json"
    )

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (a background job)
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    log.info("stopping")
    httpd.shutdown()
    dispatcher.stop()
    mail.stop()
    moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
