from __future__ import annotations

from functions.shared.config import BaseEnv, PublicBaseUrl, load_env


class CatalogEnv(BaseEnv):
    CATALOG_TABLE: str
    CONTENT_BUCKET: str
    DELIVERY_BUCKET: str = ""  # delivery copies (S3 Express One Zone); empty: none (infra.definitions.DELIVERY_COPIES)
    ACCOUNTS_TABLE: str = ""
    PUBLIC_BASE_URL: PublicBaseUrl  # RSL documents link to the API by it


def env() -> CatalogEnv:
    return load_env(CatalogEnv)
