"""The local mail server of ``make run``: a real SMTP server (aiosmtpd) that the accounts function sends to in local
mode (``MAIL_TRANSPORT=smtp``), and the inbox it fills, readable at ``/local/inbox`` (local mode only, like
``/local/clock``): an HTML list for people, JSON for tests (``?format=json`` or ``Accept: application/json``;
``?to=<address>`` filters by recipient). The inbox keeps the last ``MAX_MESSAGES`` messages, in memory."""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from itertools import count
from typing import Any
from urllib.parse import parse_qs

from functions.shared import clock

MAX_MESSAGES = 500


@dataclass
class Received:
    id: int
    received_at: str
    mail_from: str
    to: list[str]
    subject: str
    text: str
    html: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")  # SMTP lines end in CRLF; readers get the text as it was written


class Inbox:
    def __init__(self, max_messages: int = MAX_MESSAGES) -> None:
        self._messages: deque[Received] = deque(maxlen=max_messages)
        self._lock = threading.Lock()
        self._ids = count(1)

    def add(self, mail_from: str, rcpt_tos: list[str], data: bytes) -> Received:
        msg = message_from_bytes(data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
        with self._lock:
            got = Received(
                id=next(self._ids),
                received_at=clock.now_iso(),
                mail_from=mail_from,
                to=list(rcpt_tos),
                subject=str(msg.get("subject", "")),
                text=_lf(text_part.get_content()) if text_part is not None else "",  # type: ignore[attr-defined]
                html=_lf(html_part.get_content()) if html_part is not None else "",  # type: ignore[attr-defined]
                content_type=msg.get_content_type(),
                headers={k: str(v) for k, v in msg.items()},
            )
            self._messages.append(got)
        return got

    def messages(self, to: str | None = None) -> list[Received]:
        with self._lock:
            items = list(self._messages)
        if to:
            items = [m for m in items if to.lower() in (t.lower() for t in m.to)]
        return list(reversed(items))  # newest first


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.inbox.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class LocalMailServer:
    """aiosmtpd on ``host:port`` (a free port when ``port`` is 0), filling ``inbox``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(_Handler(self.inbox), hostname=host, port=self.port)

    def start(self) -> LocalMailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def inbox_route(method: str, query: str, headers: dict[str, str], inbox: Inbox) -> tuple[int, str, bytes]:
    """``/local/inbox``: (status, content type, body)."""
    if method != "GET":
        body = {"title": "GET only.", "code": "method_not_allowed"}
        return 405, "application/json", json.dumps(body).encode()
    params = parse_qs(query)
    to = (params.get("to") or [""])[0] or None
    items = inbox.messages(to)
    accept = {k.lower(): v for k, v in headers.items()}.get("accept", "")
    if (params.get("format") or [""])[0] == "json" or "application/json" in accept:
        return 200, "application/json", json.dumps({"items": [asdict(m) for m in items]}).encode()
    rows = "\n".join(
        f"<article><h2>{escape(m.subject)}</h2><p><small>#{m.id} · {escape(m.received_at)} · from "
        f"{escape(m.mail_from)} to {escape(', '.join(m.to))}</small></p>"
        f'<details open><summary>HTML</summary><iframe sandbox srcdoc="{escape(m.html, quote=True)}" '
        f'style="width:100%;height:18em;border:1px solid #ccc"></iframe></details>'
        f"<details><summary>Plain text</summary><pre>{escape(m.text)}</pre></details></article>"
        for m in items
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local inbox</title></head>'
        '<body style="font-family:sans-serif;max-width:60em;margin:2em auto">'
        f"<h1>Local inbox</h1><p>{len(items)} message(s), newest first; JSON: "
        '<a href="?format=json">?format=json</a>. Local mode only.</p>'
        f"{rows or '<p>No mail yet.</p>'}</body></html>"
    )
    return 200, "text/html; charset=utf-8", page.encode()
