"""The ledger auditor on a schedule (EventBridge Scheduler, daily; ``make audit`` runs the same checks from a laptop).

Reads the metering and licensing tables (a parallel Scan: the auditor's access pattern, never a request path), checks
the money invariants of API v1.1 (``functions.metering.logic.audit``), logs each violation with the key of the record
that breaks it, and publishes the count as the ``LedgerViolations`` metric (namespace ``Imprimatur``, dimension
``service=ledger_audit``), which an alarm watches (> 0 notifies the alarm topic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.config import BaseEnv, load_env
from functions.shared.jsontypes import JSONObject

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE = "ledger_audit"  # the metric's ``service`` dimension, which the alarm names (infra/constructs/monitoring.py)
METRIC = "LedgerViolations"

logger = Logger()
metrics = Metrics(service=SERVICE)


class AuditEnv(BaseEnv):
    METERING_TABLE: str
    LICENSING_TABLE: str
    AUDIT_SCAN_SEGMENTS: int = 4


def env() -> AuditEnv:
    return load_env(AuditEnv)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: JSONObject, context: LambdaContext) -> JSONObject:
    e = env()
    from functions.metering.dal.audit import ledger_records
    from functions.metering.logic.audit import run

    report = run(lambda: ledger_records(e.METERING_TABLE, e.LICENSING_TABLE, segments=e.AUDIT_SCAN_SEGMENTS))
    for v in report.violations:
        logger.error("ledger violation", extra={"invariant": v.invariant, "pk": v.pk, "sk": v.sk, "detail": v.detail})
    for invariant, why in sorted(report.skipped.items()):
        logger.warning("invariant not checked", extra={"invariant": invariant, "reason": why})
    metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=len(report.violations))
    result: JSONObject = {
        "violations": len(report.violations),
        "records": report.records,
        "passes": report.passes,
        "by_invariant": {str(k): n for k, n in report.counts().items()},
        "not_checked": {str(k): why for k, why in report.skipped.items()},
    }
    logger.info(report.summary(), extra=result)
    return result
