"""The base of every pydantic model in ``functions``: its validator and serializer are built on first use, not when the
class is defined (pydantic's ``defer_build``).

Building a model's core schema costs a few milliseconds of CPU each on this machine; an API handler defines 20 to 60
models (inputs, outputs, domain records), and building them all at import was about a quarter of a second of its cold
start (docs/performance.md, P2). Deferred, a handler's import builds none, and an instance builds only the models its
requests use. Behaviour is the same: fields, validators, config and the generated JSON schemas do not change
(``python -m local.openapi --check``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DeferredModel(BaseModel):
    model_config = ConfigDict(defer_build=True)
