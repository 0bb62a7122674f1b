"""A mail to send (sign-up, issue 19): what the templates (``functions.accounts.logic.mail``) write and the senders
(``functions.accounts.dal.mail``) send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Locale = Literal["en", "fr"]
LOCALES: tuple[Locale, ...] = ("en", "fr")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    locale: Locale
