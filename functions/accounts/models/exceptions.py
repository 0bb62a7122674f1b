"""Accounts' own faults that no shared family covers. ``Unavailable``: a dependency the request needs (the mail
sender) is missing or refusing; the sign-up router answers it ``503`` with ``Retry-After``
(``functions.accounts.handlers.signup``)."""

from __future__ import annotations


class Unavailable(Exception):
    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
