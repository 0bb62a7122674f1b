from __future__ import annotations

from functions.shared.config import BaseEnv, load_env


class LicensingEnv(BaseEnv):
    LICENSING_TABLE: str
    CATALOG_TABLE: str
    USAGE_QUEUE_URL: str
    SIGNING_KEY_ID: str = ""  # only the licensing function signs; delivery never does


def env() -> LicensingEnv:
    return load_env(LicensingEnv)
