from __future__ import annotations

from functions.shared.config import BaseEnv, load_env


class CatalogEnv(BaseEnv):
    CATALOG_TABLE: str
    CONTENT_BUCKET: str
    ACCOUNTS_TABLE: str = ""


def env() -> CatalogEnv:
    return load_env(CatalogEnv)
