from __future__ import annotations

from functions.shared.config import BaseEnv, load_env


class MeteringEnv(BaseEnv):
    METERING_TABLE: str
    LICENSING_TABLE: str
    CATALOG_TABLE: str
    ACCOUNTS_TABLE: str = ""  # read-only: the names on statements
    USAGE_QUEUE_URL: str = ""
    LICENSING_QUEUE_URL: str = ""  # lapse messages (renewal job)
    USAGE_BUCKET: str = ""
    DELIVERIES_DLQ_URL: str = ""  # malformed delivery-stream records (functions.metering.handlers.stream)


def env() -> MeteringEnv:
    return load_env(MeteringEnv)
