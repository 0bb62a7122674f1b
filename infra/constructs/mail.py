"""Sign-up mail in the cloud (issue 19): an Amazon SES identity for the operator's sender, and the accounts function
allowed to send from that identity and nothing else.

Context values (``cdk.json`` or ``-c key=value``; docs/infrastructure.md, "Mail and sign-up"):

- ``mail_from``: the sender, ``no-reply@news.example.org`` or ``Imprimatur <no-reply@news.example.org>``. Without it
  no identity is created and sign-up answers ``503 signup_unavailable`` (a stack never sends mail nobody configured).
- ``mail_identity``: the SES identity to create and send from: a domain (default: the sender's domain, verified by
  the DKIM records SES gives) or the sender's address itself (verified by a link SES mails to it).
- ``signup_approval``: roles whose new accounts wait for an admin (``publisher``, ``buyer``, ``publisher,buyer``).
- ``signup_mails_per_address`` (default 3) and ``signup_mails_per_day`` (default 200, SES's sandbox quota).
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.constructs.services import Services

MAIL_FROM_CONTEXT: Final = "mail_from"
MAIL_IDENTITY_CONTEXT: Final = "mail_identity"
SIGNUP_APPROVAL_CONTEXT: Final = "signup_approval"
SIGNUP_PER_ADDRESS_CONTEXT: Final = "signup_mails_per_address"
SIGNUP_PER_DAY_CONTEXT: Final = "signup_mails_per_day"
MAIL_SENDERS: Final = ("accounts",)
"""The only functions that may send mail (ses:SendEmail on the one identity)."""
SEND_ACTIONS: Final = ("ses:SendEmail",)
"""SESv2 ``SendEmail`` (raw MIME content included) is authorised by ``ses:SendEmail`` on the identity."""


def _context(stack: Stack, key: str, default: str = "") -> str:
    value = stack.node.try_get_context(key)
    return default if value is None else str(value).strip()


class Mail(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, services: Services) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        mail_from = _context(stack, MAIL_FROM_CONTEXT)
        approval = _context(stack, SIGNUP_APPROVAL_CONTEXT)
        env = {
            "SIGNUP_APPROVAL": approval,
            "SIGNUP_MAILS_PER_ADDRESS_PER_DAY": str(int(_context(stack, SIGNUP_PER_ADDRESS_CONTEXT, "3"))),
            "SIGNUP_MAILS_PER_DAY": str(int(_context(stack, SIGNUP_PER_DAY_CONTEXT, "200"))),
            "MAIL_TRANSPORT": "none",
        }
        self.identity: ses.EmailIdentity | None = None
        self.identity_name: str | None = None
        if mail_from:
            address = parseaddr(mail_from)[1]
            if "@" not in address:
                raise ValueError(f"context {MAIL_FROM_CONTEXT}={mail_from!r} is not an e-mail address")
            name = _context(stack, MAIL_IDENTITY_CONTEXT) or address.rpartition("@")[2]
            if name != address and not address.lower().endswith("@" + name.lower()):
                raise ValueError(f"context {MAIL_IDENTITY_CONTEXT}={name!r} does not cover the sender {address!r}")
            identity = ses.Identity.email(name) if "@" in name else ses.Identity.domain(name)
            self.identity = ses.EmailIdentity(self, "Identity", identity=identity)
            self.identity_name = name
            env |= {"MAIL_TRANSPORT": "ses", "MAIL_FROM": mail_from}
            arn = stack.format_arn(service="ses", resource="identity", resource_name=name)
            for fn in MAIL_SENDERS:
                services.functions[fn].allow(SEND_ACTIONS, [arn])
        for fn in MAIL_SENDERS:
            for key, value in env.items():
                services.functions[fn].function.add_environment(key, value)
