"""The Imprimatur stack: composes the constructs, wires monitoring, and publishes the stable outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.constants import APP_NAME, USAGE_GLUE_TABLE, Naming, Outputs
from infra.constructs.api import Api
from infra.constructs.build import BuildOutput, LambdaPackages
from infra.constructs.console import Console
from infra.constructs.data import Queues, SigningKey, Storage, Streams, Tables, UsageCatalog
from infra.constructs.mail import Mail
from infra.constructs.monitoring import Monitoring
from infra.constructs.schedules import Schedules
from infra.constructs.services import Services
from infra.constructs.signing import public_base_url, retired_signing_keys, signing_key_generation, wire
from infra.definitions import TABLES


class ImprimaturStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, naming: Naming, build_output: BuildOutput, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name,
            description=f"Imprimatur: open marketplace for licensing content to AI (stage {naming.stage_label})",
            **kwargs,
        )
        self.naming = naming
        Tags.of(self).add("project", APP_NAME)
        Tags.of(self).add("stage", naming.stage_label)

        self.tables = Tables(self, "Tables")
        self.queues = Queues(self, "Queues")
        self.streams = Streams(self, "Streams")
        self.storage = Storage(self, "Storage", naming=naming, uploads=self.queues.queues["uploads"])
        self.usage_catalog = UsageCatalog(self, "UsageCatalog", naming=naming, bucket=self.storage.usage)
        self.signing_key = SigningKey(self, "SigningKey", naming=naming, generation=signing_key_generation(self))
        self.packages = LambdaPackages(self, "Packages", output=build_output)
        self.services = Services(
            self,
            "Services",
            naming=naming,
            packages=self.packages,
            tables=self.tables,
            storage=self.storage,
            queues=self.queues,
            streams=self.streams,
            signing_key=self.signing_key,
        )
        self.api = Api(self, "Api", naming=naming, services=self.services)
        self.public_base_url = public_base_url(self, self.api.http_api.api_endpoint)
        wire(self, self.services, base_url=self.public_base_url, retired=retired_signing_keys(self))
        self.mail = Mail(self, "Mail", services=self.services)  # sign-up mail through SES (issue 19)
        self.schedules = Schedules(self, "Schedules", services=self.services)
        self.console = Console(self, "Console", api_url=self.api.url, access_logs=self.storage.access_logs)
        self.monitoring = Monitoring(self, "Monitoring")
        self._watch()
        self._outputs()

    def _watch(self) -> None:
        m = self.monitoring
        for name, q in self.queues.queues.items():
            m.dead_letter_queue(_pascal(name), q.dlq)
            m.queue_age(_pascal(name), q.queue)
        m.dead_letter_queue("Schedules", self.schedules.dlq)
        for name, s in self.streams.streams.items():
            d = s.definition
            m.dead_letter_queue(_pascal(name), s.dlq)  # malformed records, sent there by the consumer
            m.iterator_age(_pascal(d.consumer), self.services.functions[d.consumer].function, d.iterator_age_alarm_s)
            m.stream_write_throttled(_pascal(name), s.stream)
        for name, fn in self.services.functions.items():
            m.function_errors(_pascal(name), fn.function)
        m.api_server_errors(self.api.http_api)
        m.ledger_violations(service="ledger_audit")

    def _outputs(self) -> None:
        url = self.api.url
        values: dict[str, str] = {
            Outputs.API_URL: url,
            Outputs.CONSOLE_URL: f"https://{self.console.distribution.distribution_domain_name}/",
            Outputs.JWKS_URL: f"{self.public_base_url}/.well-known/jwks.json",
            Outputs.CONTENT_BUCKET_NAME: self.storage.content.bucket_name,
            Outputs.USAGE_BUCKET_NAME: self.storage.usage.bucket_name,
            Outputs.USAGE_QUEUE_URL: self.queues.queues["usage"].queue.queue_url,
            Outputs.SIGNING_KEY_ID: self.signing_key.key.key_id,
            Outputs.ALARM_TOPIC_ARN: self.monitoring.topic.topic_arn,
            Outputs.USAGE_GLUE_DATABASE: self.usage_catalog.database_name,
            Outputs.USAGE_GLUE_TABLE: USAGE_GLUE_TABLE,
            **{Outputs.table_name(name): self.tables.tables[name].table_name for name in TABLES},
        }
        for key, value in values.items():
            CfnOutput(self, key, value=value)
            if key == Outputs.CONTENT_BUCKET_NAME:  # next to it: the delivery copies, where the region has a zone
                delivery = self.storage.delivery
                CfnOutput(self, Outputs.DELIVERY_BUCKET_NAME, value=delivery.bucket.ref, condition=delivery.condition)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
