"""Issue 17, section 5: ``make run`` with real data. The state file holding the admin key is private, and the local HTTP
server caps body size and read time, over raw sockets against the real server.

v1 wrote ``.imprimatur/local.json`` with the umask's mode (0644: any local user read the admin key); a negative
``Content-Length`` made it read until the client closed (a hang), a non-numeric one killed the request's thread with
no answer, a huge one was read into memory, and a client sending its body a byte at a time held a thread forever.
"""

from __future__ import annotations

import json
import socket
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from local import server


def _addr(local_stack: dict[str, Any]) -> tuple[str, int]:
    u = urlparse(local_stack["api_url"])
    return u.hostname or "127.0.0.1", u.port or 80


def raw(
    addr: tuple[str, int], head: bytes, body: bytes = b"", *, timeout: float = 15.0
) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body``; read one response."""
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(head + b"\r\n\r\n" + body)
        return _response(s)


def _response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed without a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _problem(got: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    st, headers, body = got
    assert st == status, (st, body)
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == code


def _post(length: str | None = None, *extra: str) -> bytes:
    lines = ["POST /v1/accounts HTTP/1.1", "Host: localhost", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\r\n".join([*lines, *extra]).encode()


def test_local_json_is_readable_by_its_owner_only(local_stack: dict[str, Any]) -> None:
    state_file = Path(local_stack["log_path"]).parent / "local.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700
    assert json.loads(state_file.read_text())["admin_api_key"]


def test_write_private_narrows_an_existing_file_and_directory(tmp_path: Path) -> None:
    d = tmp_path / "state"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    f = d / "local.json"
    f.write_text("{}")
    f.chmod(0o644)
    server.write_private(f, '{"admin_api_key": "k"}')
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert json.loads(f.read_text()) == {"admin_api_key": "k"}


def test_moving_the_clock_keeps_the_state_file_private(tmp_path: Path) -> None:
    f = tmp_path / "s" / "local.json"
    f.parent.mkdir()
    f.write_text("{}")
    f.chmod(0o644)
    try:
        assert server.clock_route("POST", b'{"advance_seconds": 0}', f)[0] == 200
    finally:
        from functions.shared import clock

        clock.set_offset(0)
    assert stat.S_IMODE(f.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"offset_seconds": 1e999}',
        b'{"offset_seconds": NaN}',
        b'{"offset_seconds": 1e300}',
    ],
)
def test_the_local_clock_route_refuses_hostile_bodies(local_stack: dict[str, Any], body: bytes) -> None:
    head = f"POST /local/clock HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}".encode()
    st, _, out = raw(_addr(local_stack), head, body)
    assert st in (400, 422), out


@pytest.mark.parametrize(
    ("length", "status", "code"),
    [
        ("-1", 400, "bad_content_length"),
        ("-100", 400, "bad_content_length"),
        ("abc", 400, "bad_content_length"),
        ("1e3", 400, "bad_content_length"),
        ("0x10", 400, "bad_content_length"),
        ("", 400, "bad_content_length"),
        ("9" * 30, 413, "body_too_large"),
        ("9" * 5_000, 413, "body_too_large"),
        (str(server.MAX_BODY_BYTES + 1), 413, "body_too_large"),
    ],
    ids=["-1", "-100", "abc", "1e3", "hex", "empty", "30-digits", "5000-digits", "limit+1"],
)
def test_a_bad_content_length_is_a_4xx_at_once(
    local_stack: dict[str, Any], length: str, status: int, code: str
) -> None:
    started = time.monotonic()
    got = raw(_addr(local_stack), _post(length), b"{}")
    _problem(got, status, code)
    assert got[1].get("connection") == "close"
    assert time.monotonic() - started < 5  # answered without waiting for a body


def test_two_different_content_lengths_are_400(local_stack: dict[str, Any]) -> None:
    _problem(raw(_addr(local_stack), _post("2", "Content-Length: 3"), b"{}"), 400, "bad_content_length")


def test_a_chunked_body_is_411(local_stack: dict[str, Any]) -> None:
    got = raw(_addr(local_stack), _post(None, "Transfer-Encoding: chunked"), b"2\r\n{}\r\n0\r\n\r\n")
    _problem(got, 411, "length_required")


def test_a_slow_loris_body_is_408_not_a_hang(local_stack: dict[str, Any]) -> None:
    addr = _addr(local_stack)
    started = time.monotonic()
    with socket.create_connection(addr, timeout=server.BODY_READ_TIMEOUT_S + 15) as s:
        s.sendall(_post("100") + b"\r\n\r\n")
        sent = 0
        try:
            while time.monotonic() - started < server.BODY_READ_TIMEOUT_S + 5:
                s.sendall(b" ")  # one byte a second: each read is quick, the whole body never arrives
                sent += 1
                time.sleep(1)
                s.setblocking(False)
                try:
                    if s.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(10)
        got = _response(s)
    elapsed = time.monotonic() - started
    _problem(got, 408, "body_timeout")
    assert server.BODY_READ_TIMEOUT_S - 1 <= elapsed <= server.BODY_READ_TIMEOUT_S + 6, elapsed
    assert sent < 100


def test_the_server_still_serves_after_the_abuse(local_stack: dict[str, Any]) -> None:
    st, _, body = raw(_addr(local_stack), b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close")
    assert st == 200, body


def test_a_body_at_the_limit_is_read_and_answered(local_stack: dict[str, Any]) -> None:
    body = b'{"name":"' + b"x" * (server.MAX_BODY_BYTES - 20) + b'"}'
    assert len(body) <= server.MAX_BODY_BYTES
    head = _post(str(len(body)), f"Authorization: Bearer {local_stack['admin_api_key']}")
    st, _, out = raw(_addr(local_stack), head, body, timeout=60)
    assert 400 <= st < 500, out  # read in full, then refused by validation (a name of 10 MB), not a 5xx
