"""OpenAPI response declarations from models, for routes that answer with a status other than 200 (201, 202) and
so return a ``Response``: the schema comes from the model named in the route's declaration, never from a
hand-written ``$ref`` (issue 15)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel


def answer(model: type[BaseModel], description: str) -> OpenAPIResponse:
    """``responses={201: answer(GrantResponse, "Granted")}``: the JSON body's schema is ``model``'s."""
    return {"description": description, "content": {"application/json": {"model": model}}}
