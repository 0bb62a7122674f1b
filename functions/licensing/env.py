from __future__ import annotations

from pydantic import Field, Json

from functions.licensing.models.keys import RetiredKey
from functions.shared.config import BaseEnv, PublicBaseUrl, load_env


class LicensingEnv(BaseEnv):
    LICENSING_TABLE: str
    CATALOG_TABLE: str
    METERING_TABLE: str = ""  # read-only: what each licence has been charged (spent_micros)
    ACCOUNTS_TABLE: str = ""  # read-only: the names of a licence's buyer and publisher
    USAGE_QUEUE_URL: str
    SIGNING_KEY_ID: str = ""  # only the licensing function signs; delivery never does
    PUBLIC_BASE_URL: PublicBaseUrl  # certificates' issuer, status-list URIs, the JWKS URL
    # JSON list set by the stack from the ``retired_signing_keys`` context: published in the JWKS until every
    # certificate they signed has expired (docs/infrastructure.md, "Rotating the signing key").
    RETIRED_SIGNING_KEYS: Json[list[RetiredKey]] = Field(default_factory=list)


def env() -> LicensingEnv:
    return load_env(LicensingEnv)
