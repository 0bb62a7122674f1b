from __future__ import annotations

from functions.shared.config import BaseEnv, load_env


class AccountsEnv(BaseEnv):
    ACCOUNTS_TABLE: str


def env() -> AccountsEnv:
    return load_env(AccountsEnv)
