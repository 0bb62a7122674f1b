from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from functions.shared.config import BaseEnv, load_env

SIGNUP_ROLES = ("publisher", "buyer")


class AccountsEnv(BaseEnv):
    ACCOUNTS_TABLE: str
    # Self sign-up and its mail (issue 19; docs/infrastructure.md, "Mail and sign-up"). Without a transport the
    # sign-up routes answer 503 ``signup_unavailable``: a stack whose operator configured no sender sends nothing.
    MAIL_TRANSPORT: Literal["ses", "smtp", "none"] = "none"
    MAIL_FROM: str = ""
    SMTP_HOST: str = "127.0.0.1"
    SMTP_PORT: int = 25
    SIGNUP_APPROVAL: str = ""
    """Comma-separated roles whose new accounts wait for an operator's approval: ``""``, ``publisher``, ``buyer`` or
    ``publisher,buyer``."""
    SIGNUP_MAILS_PER_ADDRESS_PER_DAY: int = 3
    SIGNUP_MAILS_PER_DAY: int = 200
    """The global daily cap of sign-up mails (SES's sandbox allows 200 a day)."""

    @field_validator("SIGNUP_APPROVAL")
    @classmethod
    def _roles(cls, value: str) -> str:
        roles = [r.strip() for r in value.split(",") if r.strip()]
        unknown = [r for r in roles if r not in SIGNUP_ROLES]
        if unknown:
            raise ValueError(f"SIGNUP_APPROVAL names unknown roles {unknown}; use publisher and/or buyer")
        return ",".join(sorted(set(roles)))

    @property
    def approval_roles(self) -> frozenset[str]:
        return frozenset(r for r in self.SIGNUP_APPROVAL.split(",") if r)


def env() -> AccountsEnv:
    return load_env(AccountsEnv)
