"""RSL 1.0 documents (``application/rsl+xml``, namespace ``https://rslstandard.org/rsl``) built from the catalogue
and the active offers.

Structure, in the order of the grammar of the RSL 1.0 specification (Appendix A):

    <rsl xmlns="https://rslstandard.org/rsl">
      <content url="…" server="…" lastmod="…">        one per asset (or one per publisher URL prefix)
        <license>                                       one per active offer
          <permits type="usage">ai-train ai-input</permits>
          <permits type="user">commercial education</permits>
          <permits type="geo">US EU</permits>
          <payment type="crawl">
            <standard>…</standard>                      (not emitted: no standard rate card)
            <amount currency="USD">0.010000</amount>
          </payment>
        </license>
        <copyright type="organization">Publisher name</copyright>
        <terms>…/v1/offers?asset_id=…</terms>
      </content>
    </rsl>

Token lists are space separated. Our pricing models map to RSL payment types (docs/rsl.md):
``per_access → crawl``, ``per_unit → use``, ``flat → purchase``, ``subscription → subscription``, ``free → free``;
an offer that grants only ``ai-train`` (training licences) maps to ``training`` for paid models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from functions.catalog.dal.reader import OfferRecord

NS = "https://rslstandard.org/rsl"
MEDIA_TYPE = "application/rsl+xml"
USAGE_TOKENS = ("all", "ai-all", "ai-train", "ai-input", "ai-index", "search")
USER_TOKENS = ("commercial", "non-commercial", "education", "government", "personal")
PAYMENT_TYPES = {
    "per_access": "crawl",
    "per_unit": "use",
    "flat": "purchase",
    "subscription": "subscription",
    "free": "free",
}


def payment_type(offer: OfferRecord) -> str:
    model = offer["pricing"]["model"]
    if model != "free" and list(offer.get("uses") or []) == ["ai-train"] and model in ("flat", "per_unit"):
        return "training"
    return PAYMENT_TYPES[model]


def _amount_text(micros: int) -> str:
    whole, frac = divmod(int(micros), 1_000_000)
    return f"{whole}.{frac:06d}"


def _tokens(values: Iterable[str], allowed: tuple[str, ...] | None = None) -> str:
    seen: list[str] = []
    for v in values:
        if (allowed is None or v in allowed) and v not in seen:
            seen.append(v)
    return " ".join(seen)


def license_element(offer: OfferRecord) -> ET.Element:
    lic = ET.Element(f"{{{NS}}}license")
    usage = _tokens(offer.get("uses") or [], USAGE_TOKENS)
    if usage:
        ET.SubElement(lic, f"{{{NS}}}permits", {"type": "usage"}).text = usage
    users = _tokens(offer.get("user_types") or [], USER_TOKENS)
    if users:
        ET.SubElement(lic, f"{{{NS}}}permits", {"type": "user"}).text = users
    geo = _tokens(offer.get("territories") or [])
    if geo:
        ET.SubElement(lic, f"{{{NS}}}permits", {"type": "geo"}).text = geo
    pay = ET.SubElement(lic, f"{{{NS}}}payment", {"type": payment_type(offer)})
    pricing = offer["pricing"]
    if pricing["model"] != "free" and int(pricing.get("amount_micros") or 0) > 0:
        ET.SubElement(pay, f"{{{NS}}}amount", {"currency": pricing["currency"]}).text = _amount_text(
            pricing["amount_micros"]
        )
    return lic


def content_element(
    *,
    url: str,
    server: str,
    offers: Iterable[OfferRecord],
    copyright_holder: str | None,
    terms_url: str | None,
    lastmod: str | None = None,
) -> ET.Element:
    attrs = {"url": url, "server": server}
    if lastmod:
        attrs["lastmod"] = lastmod
    content = ET.Element(f"{{{NS}}}content", attrs)
    for offer in offers:
        content.append(license_element(offer))
    if copyright_holder:
        ET.SubElement(content, f"{{{NS}}}copyright", {"type": "organization"}).text = copyright_holder
    if terms_url:
        ET.SubElement(content, f"{{{NS}}}terms").text = terms_url
    return content


def document(contents: Iterable[ET.Element]) -> bytes:
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}rsl")
    for c in contents:
        root.append(c)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def robots_license_line(rsl_url: str) -> str:
    """The ``robots.txt`` line that points crawlers at a publisher's RSL document."""
    return f"License: {rsl_url}"
