"""OpenAPI description of the delivery route. The delivery function itself does not use a web framework (cold
start of the hot path); this resolver exists only so the generated document describes the route exactly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from functions.licensing.models.output import ContentOut
from functions.shared.api import make_resolver

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import (
        OpenAPIResponseContentModel,
        OpenAPIResponseContentSchema,
    )

app = make_resolver()
_PROBLEM: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}


@app.get(
    "/v1/assets/<id>/content",
    summary="Fetch licensed content: a presigned S3 GET (≤ 300 s), or 402 with the applicable offers",
    tags=["delivery"],
    responses={
        402: {
            "description": "Not entitled; `offers` lists what applies, `crawler-price` names a per-access price",
            "content": _PROBLEM,
        },
        410: {"description": "The asset was withdrawn", "content": _PROBLEM},
        503: {
            "description": "`metering_unavailable`: the delivery could not be recorded for metering; no URL was "
            "handed out, retry after `Retry-After`",
            "content": _PROBLEM,
        },
    },
)
def content(
    id: str,
    use: Annotated[Literal["all", "ai-all", "ai-train", "ai-input", "ai-index", "search"], Query()],
    license_id: Annotated[str | None, Query(max_length=64)] = None,
    crawler_max_price: Annotated[str | None, Header(alias="crawler-max-price", max_length=40)] = None,
    crawler_exact_price: Annotated[str | None, Header(alias="crawler-exact-price", max_length=40)] = None,
) -> ContentOut:
    raise NotImplementedError("documentation only: functions.licensing.handlers.delivery serves this route")
