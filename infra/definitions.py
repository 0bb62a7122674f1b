"""The single description of the marketplace's resources and routes.

Both the CDK stack (``infra/``) and the local embedded mode (``local/``) build from this module, so the
two cannot drift; ``tests/infra/test_local_matches_template.py`` proves it against the synthesized template.
This module imports nothing from CDK or boto3: the local mode and the tests import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Auth = Literal["public", "key", "optional"]
"""How a route is authenticated.

- ``public``: no authoriser, anyone may call it.
- ``key``: the Lambda REQUEST authoriser runs (cached); the handler receives the caller in the
  authoriser context.
- ``optional``: no authoriser at the gateway (HTTP API authorisers cannot be optional); the handler
  authenticates a presented key itself with the same logic (``functions.shared.auth``), e.g. an
  owner reading a draft asset that is otherwise public once available.
"""

AUTH_CACHE_TTL_SECONDS = 60
"""Authoriser result cache TTL in the cloud. A revoked key or suspended account stops working within this."""


@dataclass(frozen=True)
class Gsi:
    name: str
    pk: str
    sk: str


@dataclass(frozen=True)
class TableDef:
    """A DynamoDB table: string ``pk``/``sk`` keys, on-demand, PITR, TTL on ``ttl``."""

    name: str  # logical name; the env var is f"{name.upper()}_TABLE"
    gsis: tuple[Gsi, ...] = ()
    ttl_attribute: str = "ttl"
    stream: bool = False
    """A DynamoDB stream (keys only): the licensing table's, read by the outbox relay (issue 17)."""

    @property
    def env_var(self) -> str:
        return f"{self.name.upper()}_TABLE"


def _gsis(n: int) -> tuple[Gsi, ...]:
    return tuple(Gsi(f"gsi{i}", f"gsi{i}pk", f"gsi{i}sk") for i in range(1, n + 1))


TABLES: dict[str, TableDef] = {
    # One table per service; only its owner writes it (ARCHITECTURE.md).
    # accounts: gsi2 = every account and the name/e-mail prefix search (functions/accounts/dal/index.py)
    "accounts": TableDef("accounts", _gsis(2)),
    "catalog": TableDef("catalog", _gsis(4)),
    "licensing": TableDef("licensing", _gsis(4), stream=True),
    "metering": TableDef("metering", _gsis(2)),
    # per-key and per-IP request counters (functions.shared.ratelimit): one item per subject and window, by TTL;
    # every function behind a route and the authoriser may only UpdateItem it (RATE_LIMITED_FUNCTIONS)
    "limits": TableDef("limits"),
}


@dataclass(frozen=True)
class BucketDef:
    name: str  # logical name; env var f"{name.upper()}_BUCKET"
    versioned: bool = True

    @property
    def env_var(self) -> str:
        return f"{self.name.upper()}_BUCKET"


CONTENT_CORS: dict[str, Any] = {
    # Browsers upload and download content with presigned URLs, and read each part's ETag to complete a multipart upload
    "AllowedMethods": ["PUT", "GET", "HEAD"],
    "AllowedOrigins": ["*"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3000,
}

BUCKETS: dict[str, BucketDef] = {
    "content": BucketDef("content"),
    "usage": BucketDef("usage"),
}

DELIVERY_COPIES = BucketDef("delivery", versioned=False)
"""Delivery copies (issue 16, P4): the verifier copies each verified object of up to
``functions.catalog.models.domain.DELIVERY_COPY_MAX_BYTES``
into an S3 Express One Zone directory bucket, and deliveries presign on that copy (USD 0.03 per million GETs
instead of S3 Standard's 0.40). The content bucket stays the record (versioned, multi-AZ). Env var
``DELIVERY_BUCKET``; empty where the region has no S3 Express zone (``EXPRESS_ZONES``): deliveries then presign
on the content bucket, as before. Locally a general-purpose bucket stands in (moto has no directory buckets)."""
DELIVERY_COPY_USERS: tuple[str, ...] = ("catalog", "verifier", "delivery")
"""Who needs ``DELIVERY_BUCKET``: the two that verify (and copy), and the delivery (presigns, read-only session)."""
EXPRESS_ZONES: dict[str, str] = {
    # One S3 Express One Zone AZ ID per region that has any, from
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-Endpoints.html (read 2026-11-30)
    "us-east-1": "use1-az4",
    "us-east-2": "use2-az1",
    "us-west-2": "usw2-az1",
    "ap-south-1": "aps1-az1",
    "ap-northeast-1": "apne1-az1",
    "eu-west-1": "euw1-az1",
    "eu-north-1": "eun1-az1",
}


@dataclass(frozen=True)
class QueueDef:
    name: str  # env var f"{name.upper()}_QUEUE_URL"
    consumer: str  # function that consumes it
    visibility_timeout_s: int
    max_receive_count: int = 5
    batch_size: int = 10
    max_concurrency: int = 10  # the event source mapping's cap on concurrent consumers (SQS allows 2-1000)

    @property
    def env_var(self) -> str:
        return f"{self.name.upper()}_QUEUE_URL"

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"


@dataclass(frozen=True)
class StreamDef:
    """A Kinesis data stream and the consumer of its shards (issue 16: server-generated delivery events).

    Exactly once by a per-shard commit (``functions.metering.dal.store``, "Delivery events"): one consumer per shard
    (parallelization factor 1), batches in sequence order, each chunk's transaction moving the shard's committed
    sequence number forward. Failures are retried from the first uncommitted record (partial batch responses) and never
    skipped (``retry_attempts`` -1): a stuck shard raises the iterator-age alarm instead of losing money."""

    name: str  # env var f"{name.upper()}_STREAM"
    consumer: str
    shards: int = 2  # 1,000 records/s and 1 MiB/s each: 2 carry P3's 1,000 deliveries/s with room (docs/performance.md)
    batch_size: int = 1000  # records per invocation (Kinesis allows up to 10,000)
    batching_window_s: int = 2  # wait up to this long to fill a batch: fewer, larger chunks per event
    retention_h: int = 24  # the default; longer retention is billed per shard-hour
    iterator_age_alarm_s: int = 300  # the consumer is this far behind: alarm (money is late, not lost)

    @property
    def env_var(self) -> str:
        return f"{self.name.upper()}_STREAM"

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"  # malformed records, sent by the consumer itself (they cannot block the shard)


@dataclass(frozen=True)
class FunctionDef:
    name: str
    handler: str  # dotted path "module.attr", identical in Lambda and in the repository
    timeout_s: int = 10
    memory_mb: int = 512
    tables_rw: tuple[str, ...] = ()
    tables_r: tuple[str, ...] = ()
    extra_env: dict[str, str] = field(default_factory=dict)
    budget_writer: bool = False
    """May update capped licences' budget records in the licensing table, and nothing else of it (ARCHITECTURE.md:
    IAM ``dynamodb:LeadingKeys`` on ``BUDGET#*``; ``functions.licensing.dal.budget``)."""
    scans: bool = False
    """May ``Scan`` the tables it reads (base tables only): the ledger auditor, on a schedule, never a request path."""
    tracing: Literal["active", "pass_through"] = "active"
    """X-Ray: ``active`` samples requests (Lambda's fixed rule: 1 per second and 5 % of the rest, not configurable);
    ``pass_through`` traces only a request whose caller sent a sampled trace header (the hot path: docs/performance.md,
    "The cost of a delivery")."""


FUNCTIONS: dict[str, FunctionDef] = {
    # sized from a measured cold start and warm authorisation (docs/performance.md, "Authoriser sizing")
    "authorizer": FunctionDef(
        "authorizer", "functions.accounts.handlers.authorizer.handler", 6, 1024, tables_r=("accounts",)
    ),
    "accounts": FunctionDef("accounts", "functions.accounts.handlers.api.handler", tables_rw=("accounts",)),
    "catalog": FunctionDef(
        "catalog", "functions.catalog.handlers.api.handler", tables_rw=("catalog",), tables_r=("accounts",)
    ),
    # the verifier hashes objects up to 50 GiB (docs/performance.md, "Verifying large uploads"): Lambda's longest
    # timeout, and 1,769 MB for one full vCPU (SHA-256 is one core's work; the read-ahead threads wait on S3)
    "verifier": FunctionDef(
        "verifier", "functions.catalog.handlers.verifier.handler", 900, 1769, tables_rw=("catalog",)
    ),
    "licensing": FunctionDef(
        "licensing",
        "functions.licensing.handlers.api.handler",
        tables_rw=("licensing",),
        tables_r=("catalog", "accounts", "metering"),
    ),
    # the grant-charge outbox relay (issue 17): the licensing table's stream, a sweep schedule, make run's poller
    "licensing_outbox": FunctionDef(
        "licensing_outbox", "functions.licensing.handlers.outbox.handler", 60, 256, tables_rw=("licensing",)
    ),
    "licensing_consumer": FunctionDef(
        "licensing_consumer", "functions.licensing.handlers.consumer.handler", 30, tables_rw=("licensing",)
    ),
    "delivery": FunctionDef(
        "delivery",
        "functions.licensing.handlers.delivery.handler",
        tables_rw=("licensing",),
        tables_r=("catalog", "accounts"),  # accounts: a suspended publisher's offers grant no licence (issue 19)
        tracing="pass_through",  # 5 % sampling was USD 0.25 per million deliveries (issue 16)
    ),
    "metering": FunctionDef(
        "metering",
        "functions.metering.handlers.api.handler",
        tables_rw=("metering",),
        tables_r=("licensing", "catalog", "accounts"),
        budget_writer=True,
    ),
    "metering_consumer": FunctionDef(
        "metering_consumer",
        "functions.metering.handlers.consumer.handler",
        60,
        1024,
        tables_rw=("metering",),
        tables_r=("licensing", "catalog"),
        budget_writer=True,
    ),
    "metering_jobs": FunctionDef(
        "metering_jobs",
        "functions.metering.handlers.jobs.handler",
        300,
        1024,
        tables_rw=("metering",),
        tables_r=("licensing", "catalog", "accounts"),
        budget_writer=True,
    ),
    # server-generated delivery events from the deliveries stream, committed per shard (issue 16)
    "metering_stream": FunctionDef(
        "metering_stream",
        "functions.metering.handlers.stream.handler",
        60,
        1024,
        tables_rw=("metering",),
        tables_r=("licensing", "catalog"),
        budget_writer=True,
    ),
    # the ledger auditor (issue 14): reads both money tables whole, writes nothing; a metric and an alarm report it
    "ledger_audit": FunctionDef(
        "ledger_audit",
        "functions.metering.handlers.audit.handler",
        900,
        1024,
        tables_r=("metering", "licensing"),
        scans=True,
    ),
}

QUEUES: dict[str, QueueDef] = {
    # SQS visibility timeout >= 6x the consumer timeout (R5), DLQ after at most 5 receives.
    # max_concurrency, the reasoning in docs/performance.md ("The consumer at scale"): usage 10 (one instance meters
    # ~1,000 events/s; more writers of a hot licence's aggregates only conflict), uploads 20 (each may read 50 GiB
    # for 15 minutes), licensing 2 (lapses and charges: a few per licence)
    "usage": QueueDef("usage", "metering_consumer", visibility_timeout_s=6 * 60, batch_size=100, max_concurrency=10),
    "uploads": QueueDef(
        "uploads", "verifier", visibility_timeout_s=6 * 900, batch_size=1, max_concurrency=20
    ),  # one object per call
    # effects on licences decided elsewhere (a renewal the cap cannot cover lapses the licence): ARCHITECTURE.md
    "licensing": QueueDef(
        "licensing", "licensing_consumer", visibility_timeout_s=6 * 30, batch_size=10, max_concurrency=2
    ),
}

STREAMS: dict[str, StreamDef] = {
    # every 200 of GET /v1/assets/{id}/content, written by the delivery function (issue 16: the per-delivery SQS
    # message and per-event journal item were USD 1.25 of the 4.32 per million; docs/performance.md)
    "deliveries": StreamDef("deliveries", "metering_stream"),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway HTTP API path template, e.g. "/v1/assets/{id}"
    function: str
    auth: Auth

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _r(method: str, path: str, function: str, auth: Auth = "key") -> Route:
    return Route(method, path, function, auth)


ROUTES: tuple[Route, ...] = (
    # accounts
    _r("GET", "/v1/health", "accounts", "public"),
    _r("GET", "/v1/openapi.json", "accounts", "public"),
    _r("POST", "/v1/accounts", "accounts"),
    _r("POST", "/v1/accounts/{id}/suspend", "accounts"),
    # admin account management (API v1.1, issue 19)
    _r("GET", "/v1/accounts", "accounts"),
    _r("GET", "/v1/accounts/{id}", "accounts"),
    _r("PATCH", "/v1/accounts/{id}", "accounts"),
    _r("POST", "/v1/accounts/{id}/reinstate", "accounts"),
    _r("POST", "/v1/accounts/{id}/keys", "accounts"),
    _r("PATCH", "/v1/me", "accounts"),
    # self sign-up (issue 19): public, rate-limited by mail quotas in the accounts table
    _r("POST", "/v1/signup", "accounts", "public"),
    _r("GET", "/v1/signup/verify", "accounts", "public"),
    _r("POST", "/v1/signup/verify", "accounts", "public"),
    _r("POST", "/v1/accounts/{id}/approve", "accounts"),
    _r("GET", "/v1/me", "accounts"),
    _r("POST", "/v1/me/keys", "accounts"),
    _r("GET", "/v1/me/keys", "accounts"),
    _r("DELETE", "/v1/me/keys/{key_id}", "accounts"),
    # catalogue and offers
    _r("POST", "/v1/assets", "catalog"),
    _r("GET", "/v1/assets", "catalog"),
    _r("GET", "/v1/assets/{id}", "catalog", "optional"),
    _r("PATCH", "/v1/assets/{id}", "catalog"),
    _r("DELETE", "/v1/assets/{id}", "catalog"),
    _r("POST", "/v1/assets/{id}/complete", "catalog"),
    _r("GET", "/v1/catalog/assets", "catalog", "public"),
    _r("POST", "/v1/collections", "catalog"),
    _r("GET", "/v1/collections/{id}", "catalog", "public"),
    _r("GET", "/v1/publishers/{id}", "catalog", "public"),
    _r("POST", "/v1/offers", "catalog"),
    _r("GET", "/v1/offers", "catalog", "public"),
    _r("GET", "/v1/offers/{id}", "catalog", "public"),
    _r("DELETE", "/v1/offers/{id}", "catalog"),
    # pools and open standards (catalogue side)
    _r("POST", "/v1/pools", "catalog"),
    _r("GET", "/v1/pools/{id}", "catalog", "public"),
    _r("POST", "/v1/pools/{id}/members", "catalog"),
    _r("DELETE", "/v1/pools/{id}/members/{asset_id}", "catalog"),
    _r("GET", "/v1/publishers/{id}/rsl.xml", "catalog", "public"),
    _r("GET", "/v1/assets/{id}/rsl.xml", "catalog", "public"),
    # licensing and delivery
    _r("POST", "/v1/licenses", "licensing"),
    _r("GET", "/v1/licenses", "licensing"),
    _r("GET", "/v1/licenses/{id}", "licensing"),
    _r("PATCH", "/v1/licenses/{id}", "licensing"),
    _r("GET", "/v1/licenses/{id}/certificate", "licensing"),
    _r("POST", "/v1/licenses/{id}/cancel", "licensing"),
    _r("POST", "/v1/licenses/{id}/revoke", "licensing"),
    _r("GET", "/.well-known/jwks.json", "licensing", "public"),
    _r("GET", "/v1/status-lists/{n}", "licensing", "public"),
    _r("GET", "/v1/assets/{id}/content", "delivery"),
    # metering, ledger, statements
    _r("POST", "/v1/usage", "metering"),
    _r("GET", "/v1/usage", "metering"),
    _r("GET", "/v1/balance", "metering"),
    _r("GET", "/v1/statements/{period}", "metering"),
    _r("POST", "/v1/periods/{period}/close", "metering"),
    _r("POST", "/v1/pools/{id}/distributions", "metering"),
)

SCHEDULES: dict[str, tuple[str, str, dict[str, str]]] = {
    # name: (function, schedule expression, payload)
    "subscription-renewals": ("metering_jobs", "rate(1 hour)", {"job": "renew_subscriptions"}),
    "monthly-statements": ("metering_jobs", "cron(0 2 1 * ? *)", {"job": "monthly_close"}),
    "pool-distributions": ("metering_jobs", "cron(0 3 1 * ? *)", {"job": "pool_distributions"}),
    # daily, after the monthly jobs' hour: the money invariants (functions.metering.logic.audit)
    "ledger-audit": ("ledger_audit", "cron(30 4 * * ? *)", {"job": "ledger_audit"}),
    # the delivery copies' repair (issue 16): copy what is missing (assets verified before copies, a lost zone)
    "delivery-copies": ("verifier", "cron(15 5 * * ? *)", {"job": "delivery_copies"}),
    # the backstop of the outbox's stream relay: charges older than a minute still in the outbox (issue 17)
    "outbox-sweep": ("licensing_outbox", "rate(15 minutes)", {"job": "relay_outbox"}),
}


@dataclass(frozen=True)
class RateLimits:
    """Per-key and per-IP request limits (issue 17; docs/api.md "Rate limits"; docs/decision_log.md 2026-11-29).

    Fixed windows of ``window_s`` seconds; ``per_key`` requests per window for all the keys of one account,
    ``per_ip`` for requests without a valid key from one source address (public routes, and failed keys at the
    authoriser); each function instance leases ``chunk`` tokens per DynamoDB write. The stack takes overrides from
    the ``rate_limits`` context (JSON, e.g. ``-c rate_limits='{"per_key": 2000}'``), ``make run`` from its
    environment (``RATE_LIMIT_PER_KEY``...). The defaults equal ``functions.shared.ratelimit``'s (a unit test)."""

    window_s: int = 10
    per_key: int = 1000
    per_ip: int = 600
    chunk: int = 50

    def env(self) -> dict[str, str]:
        return {
            "RATE_LIMIT_WINDOW_S": str(self.window_s),
            "RATE_LIMIT_PER_KEY": str(self.per_key),
            "RATE_LIMIT_PER_IP": str(self.per_ip),
            "RATE_LIMIT_CHUNK": str(self.chunk),
        }


RATE_LIMITS = RateLimits()
RATE_LIMITED_FUNCTIONS: tuple[str, ...] = ("authorizer", *dict.fromkeys(r.function for r in ROUTES))
"""The authoriser (failed keys per IP) and every function behind a route (per account, or per IP without a key)."""

PLATFORM_FEE_BPS = 1000
"""The one published platform fee: 10.00 % of gross, in basis points (see docs/decision_log.md)."""

LOCAL_PREFIX = "imprimatur-local"


def local_name(kind: str, logical: str) -> str:
    """Physical name of a resource in the local embedded mode (CDK generates names in the cloud)."""
    return f"{LOCAL_PREFIX}-{logical}".replace("_", "-")
