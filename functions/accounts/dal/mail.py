"""The mail port and its two adapters: Amazon SES (SESv2 ``SendEmail`` with a raw MIME message) in the cloud, SMTP to
the local server's aiosmtpd in ``make run``. Both send the same multipart/alternative message (plain text, then
HTML). Tests may pass any object with ``send(mail)``."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Protocol

from functions.accounts.models.exceptions import Unavailable
from functions.accounts.models.mail import Mail

if TYPE_CHECKING:
    from functions.accounts.env import AccountsEnv


class MailSender(Protocol):
    def send(self, mail: Mail) -> None: ...


def to_message(mail: Mail, sender: str) -> EmailMessage[str, str]:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    msg["Content-Language"] = mail.locale  # after the parts: making them moves Content-* headers into the first
    return msg


def _unavailable() -> Unavailable:
    return Unavailable("The verification mail could not be sent just now; try again later.", code="mail_unavailable")


class SesSender:
    def __init__(self, sender: str) -> None:
        self.sender = sender

    def send(self, mail: Mail) -> None:
        from botocore.exceptions import ClientError

        from functions.shared import aws

        raw = to_message(mail, self.sender).as_bytes()
        try:
            aws.client("sesv2").send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [mail.to]},
                Content={"Raw": {"Data": raw}},
            )
        except ClientError as exc:  # e.g. MessageRejected in the SES sandbox, or a throttled account
            raise _unavailable() from exc


class SmtpSender:
    def __init__(self, sender: str, host: str, port: int) -> None:
        self.sender, self.host, self.port = sender, host, port

    def send(self, mail: Mail) -> None:
        import smtplib

        try:
            with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
                smtp.send_message(to_message(mail, self.sender))
        except (OSError, smtplib.SMTPException) as exc:
            raise _unavailable() from exc


def sender_from_env(e: AccountsEnv) -> MailSender | None:
    """The configured transport; None when the operator configured none (sign-up is then unavailable)."""
    if e.MAIL_TRANSPORT == "none" or not e.MAIL_FROM:
        return None
    if e.MAIL_TRANSPORT == "smtp":
        return SmtpSender(e.MAIL_FROM, e.SMTP_HOST, e.SMTP_PORT)
    return SesSender(e.MAIL_FROM)
