"""Public catalogue search over available assets (``GET /v1/catalog/assets``).

One index is chosen per request, most selective first: ``collection_id`` → ``publisher_id`` → ``tag`` → the
longest word of ``q`` → ``kind`` → ``language`` → all. Its entries (newest first) give asset ids; the assets are
read in one BatchGetItem per page, and every other filter is applied to the assets themselves, together with
their active offers (``use``, ``max_price_micros``). A request reads at most ``MAX_INDEX_PAGES`` index pages: a
page may hold fewer than ``limit`` items while ``next_cursor`` is still set (docs/catalog.md).
"""

from __future__ import annotations

from functions.catalog.dal import reader
from functions.catalog.dal.reader import OfferRecord
from functions.catalog.dal.store import CatalogStore, tokens
from functions.catalog.models.domain import Asset
from functions.shared import cursor
from functions.shared.typeddict import TypedDict
from functions.shared.uses import covers

MAX_INDEX_PAGES = 5


class SearchFilters(TypedDict, total=False):
    """The query of ``GET /v1/catalog/assets`` (absent or None: no filter)."""

    q: str | None
    kind: str | None
    language: str | None
    tag: str | None
    publisher_id: str | None
    collection_id: str | None
    use: str | None
    max_price_micros: int | None


def choose_index(f: SearchFilters) -> str:
    if collection_id := f.get("collection_id"):
        return f"COL#{collection_id}"
    if publisher_id := f.get("publisher_id"):
        return f"PUB#{publisher_id}"
    if tag := f.get("tag"):
        return f"TAG#{tag.strip().lower()}"
    words = tokens(f.get("q"))
    if words:
        return f"TOK#{max(words, key=len)}"
    if kind := f.get("kind"):
        return f"KIND#{kind}"
    if language := f.get("language"):
        return f"LANG#{language}"
    return "ALL"


def _asset_matches(a: Asset, f: SearchFilters) -> bool:
    if a.status != "available":
        return False
    if (kind := f.get("kind")) and a.kind != kind:
        return False
    if (language := f.get("language")) and a.language != language:
        return False
    if (tag := f.get("tag")) and tag.strip().lower() not in a.tags:
        return False
    if (publisher_id := f.get("publisher_id")) and a.publisher_id != publisher_id:
        return False
    if (collection_id := f.get("collection_id")) and a.collection_id != collection_id:
        return False
    words = tokens(f.get("q"))
    if words:
        have = set(tokens(a.title, " ".join(a.tags), a.description))
        if not all(w in have for w in words):
            return False
    return True


def _offers_match(offers: list[OfferRecord], f: SearchFilters) -> bool:
    use, max_price = f.get("use"), f.get("max_price_micros")
    if use is None and max_price is None:
        return True
    for o in offers:
        if use is not None and not covers(o["uses"], use):
            continue
        if max_price is not None and int(o["pricing"].get("amount_micros") or 0) > max_price:
            continue
        return True
    return False


def search(
    store: CatalogStore, f: SearchFilters, limit: int, cursor_token: str | None
) -> tuple[list[tuple[Asset, list[OfferRecord]]], str | None]:
    index = choose_index(f)
    start = cursor.decode(cursor_token, key_names=("pk", "sk"), expect={"pk": f"IDX#{index}"})
    results: list[tuple[Asset, list[OfferRecord]]] = []
    shared: dict[tuple[str, str], list[OfferRecord]] = {}  # collection and pool offers, read once per request
    for _ in range(MAX_INDEX_PAGES):
        entries, lek = store.search_page(index, start, limit)
        assets = store.batch_get_assets([e["asset_id"] for e in entries])
        for e in entries:
            a = assets.get(e["asset_id"])
            if a is not None and _asset_matches(a, f):
                offers = reader.active_offers_for_asset(reader.asset_from_item_model(a), shared)
                if _offers_match(offers, f):
                    results.append((a, offers))
            if len(results) == limit:
                return results, cursor.encode({"pk": {"S": e["pk"]}, "sk": {"S": e["sk"]}})
        if not lek:
            return results, None
        start = lek
    return results, cursor.encode(start)
