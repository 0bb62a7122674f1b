"""The mail port's two adapters (issue 19): SMTP to the local server's real aiosmtpd (whose inbox ``/local/inbox``
shows), and SES (SESv2 raw message) against moto, including SES refusing an unverified sender."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string, policy

import boto3
import pytest
from moto import mock_aws

from functions.accounts.dal.mail import SesSender, SmtpSender
from functions.accounts.logic.mail import verification_mail
from functions.accounts.models.exceptions import Unavailable
from functions.shared import aws as shared_aws
from local.mail import LocalMailServer, free_port, inbox_route

MAIL = verification_mail("en", "ann@example.org", "Ann <3", ["publisher"], "https://x.example/v#token=abc", 24)


@pytest.fixture
def smtp() -> Iterator[LocalMailServer]:
    server = LocalMailServer("127.0.0.1", 0).start()
    yield server
    server.stop()


def test_smtp_sends_one_multipart_message_the_local_inbox_shows(smtp: LocalMailServer) -> None:
    # When
    SmtpSender("Imprimatur <no-reply@imprimatur.local>", smtp.host, smtp.port).send(MAIL)
    # Then the inbox has it, parsed: both parts, the envelope
    (got,) = smtp.inbox.messages()
    assert got.to == ["ann@example.org"] and got.mail_from == "no-reply@imprimatur.local"
    assert got.content_type == "multipart/alternative" and got.subject == MAIL.subject
    assert got.text.strip() == MAIL.text.strip() and "Ann &lt;3" in got.html
    # And /local/inbox serves it as JSON (filtered by recipient) and as an HTML page
    status, ctype, body = inbox_route("GET", "format=json&to=ANN@example.org", {}, smtp.inbox)
    assert status == 200 and ctype == "application/json" and b"Confirm your Imprimatur account" in body
    status, _, body = inbox_route("GET", "format=json&to=bob@example.org", {}, smtp.inbox)
    assert body == b'{"items": []}'
    status, ctype, body = inbox_route("GET", "", {"Accept": "text/html"}, smtp.inbox)
    assert (
        status == 200 and ctype.startswith("text/html") and b"Local inbox" in body and b"Ann <3" not in body
    )  # escaped
    assert inbox_route("POST", "", {}, smtp.inbox)[0] == 405


def test_smtp_without_a_server_is_unavailable() -> None:
    with pytest.raises(Unavailable) as refused:
        SmtpSender("no-reply@imprimatur.local", "127.0.0.1", free_port("127.0.0.1")).send(MAIL)
    assert refused.value.code == "mail_unavailable"


@pytest.fixture
def ses() -> Iterator[None]:
    with mock_aws():
        shared_aws.reset_clients()
        boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity="imprimatur.local")
        yield
        shared_aws.reset_clients()


def test_ses_sends_the_same_raw_message_from_the_verified_domain(ses: None) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    SesSender("Imprimatur <no-reply@imprimatur.local>").send(MAIL)
    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    msg = message_from_string(sent.raw_data, policy=policy.default)
    assert msg["To"] == "ann@example.org" and msg.get_content_type() == "multipart/alternative"


def test_ses_refusing_an_unverified_sender_is_unavailable(ses: None) -> None:
    with pytest.raises(Unavailable):
        SesSender("no-reply@not-verified.example").send(MAIL)
