from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest

from functions.catalog.logic import rsl

NS = {"r": rsl.NS}


def offer(model: str, amount: int = 0, uses: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "uses": uses or ["ai-input", "search"],
        "pricing": {"model": model, "amount_micros": amount, "currency": "USD"},
        **extra,
    }


@pytest.mark.parametrize(
    ("model", "uses", "expected"),
    [
        ("per_access", ["ai-input"], "crawl"),
        ("per_unit", ["ai-input"], "use"),
        ("flat", ["ai-input", "search"], "purchase"),
        ("subscription", ["ai-all"], "subscription"),
        ("free", ["all"], "free"),
        ("flat", ["ai-train"], "training"),
        ("per_unit", ["ai-train"], "training"),
    ],
)
def test_pricing_models_map_to_rsl_payment_types(model: str, uses: list[str], expected: str) -> None:
    assert rsl.payment_type(offer(model, 1, uses)) == expected


def test_document_structure_and_order() -> None:
    # Given an asset with two offers
    content = rsl.content_element(
        url="http://api.example/v1/assets/ast_1/content",
        server="http://api.example/v1/licenses",
        offers=[
            offer(
                "per_access",
                10_000,
                ["ai-input", "ai-index", "bogus"],
                user_types=["commercial"],
                territories=["US", "EU"],
            ),
            offer("free", 0, ["search"]),
        ],
        copyright_holder="Daily Planet",
        terms_url="http://api.example/v1/offers?asset_id=ast_1",
        lastmod="2026-11-28T00:00:00Z",
    )
    # When
    doc = ET.fromstring(rsl.document([content]))
    # Then
    assert doc.tag == f"{{{rsl.NS}}}rsl"
    c = doc.find("r:content", NS)
    assert c is not None and c.get("url", "").endswith("/content") and c.get("server")
    assert [child.tag.split("}")[1] for child in c] == ["license", "license", "copyright", "terms"]
    first = c.findall("r:license", NS)[0]
    assert [(e.tag.split("}")[1], e.get("type")) for e in first] == [
        ("permits", "usage"),
        ("permits", "user"),
        ("permits", "geo"),
        ("payment", "crawl"),
    ]
    assert first.find("r:permits[@type='usage']", NS).text == "ai-input ai-index"  # type: ignore[union-attr]
    assert first.find("r:permits[@type='geo']", NS).text == "US EU"  # type: ignore[union-attr]
    amount = first.find("r:payment/r:amount", NS)
    assert amount is not None and amount.get("currency") == "USD" and amount.text == "0.010000"
    free = c.findall("r:license", NS)[1]
    assert free.find("r:payment", NS).get("type") == "free"  # type: ignore[union-attr]
    assert free.find("r:payment/r:amount", NS) is None


def test_robots_line() -> None:
    assert rsl.robots_license_line("https://x/v1/publishers/acct_1/rsl.xml") == (
        "License: https://x/v1/publishers/acct_1/rsl.xml"
    )
