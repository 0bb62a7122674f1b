"""Catalogue API: one resolver including a ``Router`` module per resource (``assets``, ``collections``,
``publishers`` with the RSL documents, ``offers``, ``pools``); what they share is in ``common``."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from functions.catalog.env import env
from functions.catalog.handlers import assets, collections, offers, pools, publishers
from functions.shared.api import make_resolver
from functions.shared.entry import http_entry

logger = Logger()
app = make_resolver()
for _routes in (assets, collections, publishers, offers, pools):
    app.include_router(_routes.router)

handler = http_entry(app, env, logger)
