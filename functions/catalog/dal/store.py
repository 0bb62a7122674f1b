"""Catalogue table access (table ``catalog``; only the catalogue service writes it).

| pattern | key / index |
|---|---|
| asset by id | pk=``ASSET#<id>``, sk=``ASSET`` |
| a publisher's assets, newest first (``GET /v1/assets``) | gsi1: gsi1pk=``PUB#<publisher>``, gsi1sk=``ASSET#<created_at>#<id>`` |
| a collection's assets (pool opt-in by collection) | gsi2: gsi2pk=``COLA#<collection>``, gsi2sk=``<created_at>#<id>`` |
| asset by S3 key (verifier) | the key is ``assets/<publisher>/<asset_id>``: the id is parsed from it |
| public search indexes (available assets only) | pk=``IDX#<index>``, sk=``<published_at or created_at>#<asset_id>``; index ∈ ``ALL``, ``PUB#p``, ``COL#c``, ``KIND#k``, ``LANG#l``, ``TAG#t``, ``TOK#word`` (docs/catalog.md) |
| collection by id | pk=``COL#<id>``, sk=``COL`` |
| offer by id | pk=``OFFER#<id>``, sk=``OFFER`` |
| offers by scope (asset, collection, pool) | gsi1: gsi1pk=``OFFERS#<scope type>#<scope id>``, gsi1sk=``<created_at>#<id>`` |
| offers by publisher | gsi2: gsi2pk=``OFFERS#PUB#<publisher>``, gsi2sk=``<created_at>#<id>`` |
| pool by id / its members | pk=``POOL#<id>``, sk=``POOL`` / sk=``MEMBER#<asset_id>`` |

Search index items are rewritten whenever an asset's searchable fields or status change (``reindex``); queries
read ids from an index and then the assets themselves (BatchGetItem), so a lagging index item can never show
an asset that is no longer available.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, cast

from functions.catalog.dal.reader import PoolMemberRecord
from functions.catalog.models.domain import Asset, Collection, Offer, Pool
from functions.shared import aws, cursor
from functions.shared.ddb import from_item, to_item
from functions.shared.jsontypes import AttrItem, Record
from functions.shared.typeddict import TypedDict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesOutputTypeDef,
        KeysAndAttributesTypeDef,
        PutItemInputTypeDef,
        QueryInputTypeDef,
        WriteRequestOutputTypeDef,
        WriteRequestTypeDef,
    )

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
MAX_TOKENS = 24


def tokens(*texts: str | None) -> list[str]:
    out: list[str] = []
    for text in texts:
        for w in _WORD.findall((text or "").lower()):
            if len(w) >= 2 and w not in _STOP and w not in out:
                out.append(w)
    return out[:MAX_TOKENS]


class IndexEntry(TypedDict):
    """A search index item (``IDX#<index>``): one available asset."""

    pk: str
    sk: str
    asset_id: str


_MEMBER_FIELDS = tuple(PoolMemberRecord.__annotations__)


def _strip(data: Mapping[str, object]) -> Record:
    return {k: v for k, v in data.items() if k not in ("pk", "sk") and not k.startswith("gsi") and k != "index_keys"}


class CatalogStore:
    def __init__(self, table: str) -> None:
        self.table = table

    @property
    def _ddb(self) -> DynamoDBClient:
        return aws.dynamodb()

    def _get(self, pk: str, sk: str, consistent: bool = True) -> Record | None:
        got = self._ddb.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=consistent
        )
        return from_item(got["Item"]) if "Item" in got else None

    def _query(
        self,
        *,
        pk: str,
        index: str | None = None,
        limit: int = 100,
        start: AttrItem | None = None,
        forward: bool = False,
        sk_prefix: str | None = None,
    ) -> tuple[list[Record], AttrItem | None]:
        pk_name = f"{index}pk" if index else "pk"
        sk_name = f"{index}sk" if index else "sk"
        args: QueryInputTypeDef = {
            "TableName": self.table,
            "KeyConditionExpression": f"{pk_name} = :pk" + (f" AND begins_with({sk_name}, :p)" if sk_prefix else ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}, **({":p": {"S": sk_prefix}} if sk_prefix else {})},
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if index:
            args["IndexName"] = index
        if start:
            args["ExclusiveStartKey"] = start
        got = self._ddb.query(**args)
        return [from_item(i) for i in got.get("Items", [])], got.get("LastEvaluatedKey")

    # ---------------------------------------------------------------- assets
    @staticmethod
    def _asset_item(asset: Asset) -> Record:
        item: Record = {
            "pk": f"ASSET#{asset.id}",
            "sk": "ASSET",
            **asset.model_dump(),
            "gsi1pk": f"PUB#{asset.publisher_id}",
            "gsi1sk": f"ASSET#{asset.created_at}#{asset.id}",
        }
        if asset.collection_id:
            item["gsi2pk"] = f"COLA#{asset.collection_id}"
            item["gsi2sk"] = f"{asset.created_at}#{asset.id}"
        return item

    def put_new_asset(self, asset: Asset) -> None:
        self._ddb.put_item(
            TableName=self.table, Item=to_item(self._asset_item(asset)), ConditionExpression="attribute_not_exists(pk)"
        )

    def get_asset(self, asset_id: str) -> Asset | None:
        data = self._get(f"ASSET#{asset_id}", "ASSET")
        return Asset.model_validate(_strip(data)) if data else None

    def _index_keys(self, asset_id: str) -> list[dict[str, str]]:
        data = self._get(f"ASSET#{asset_id}", "ASSET") or {}
        return list(cast("list[dict[str, str]]", data.get("index_keys") or []))

    def save_asset(self, asset: Asset, *, expect_status: str | None = None) -> bool:
        """Write the asset and its search index items. False when ``expect_status`` no longer holds."""
        ddb = self._ddb
        old_keys = self._index_keys(asset.id)
        new_keys = self._search_keys(asset) if asset.status == "available" else []
        item = self._asset_item(asset)
        item["index_keys"] = new_keys
        args: PutItemInputTypeDef = {"TableName": self.table, "Item": to_item(item)}
        if expect_status:
            args["ConditionExpression"] = "#s = :s"
            args["ExpressionAttributeNames"] = {"#s": "status"}
            args["ExpressionAttributeValues"] = {":s": {"S": expect_status}}
        try:
            ddb.put_item(**args)
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        stale = [k for k in old_keys if k not in new_keys]
        self._batch_write(
            [{"DeleteRequest": {"Key": to_item(k)}} for k in stale]
            + [{"PutRequest": {"Item": to_item({**k, "asset_id": asset.id})}} for k in new_keys if k not in old_keys]
        )
        return True

    def set_delivery_key(self, asset_id: str, delivery_key: str) -> bool:
        """Record the delivery copy of an available asset, nothing else (a concurrent edit of other fields stands).
        False when the asset is no longer available."""
        ddb = self._ddb
        try:
            ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"ASSET#{asset_id}"}, "sk": {"S": "ASSET"}},
                UpdateExpression="SET delivery_key = :k",
                ConditionExpression="#s = :a",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":k": {"S": delivery_key}, ":a": {"S": "available"}},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @staticmethod
    def _search_keys(asset: Asset) -> list[dict[str, str]]:
        sort = f"{asset.published_at or asset.created_at}#{asset.id}"
        idx = ["ALL", f"PUB#{asset.publisher_id}", f"KIND#{asset.kind}", f"LANG#{asset.language}"]
        if asset.collection_id:
            idx.append(f"COL#{asset.collection_id}")
        idx += [f"TAG#{t}" for t in asset.tags]
        idx += [f"TOK#{t}" for t in tokens(asset.title, " ".join(asset.tags))]
        return [{"pk": f"IDX#{i}", "sk": sort} for i in dict.fromkeys(idx)]

    def _batch_write(self, requests: list[WriteRequestTypeDef]) -> None:
        for i in range(0, len(requests), 25):
            pending: Mapping[str, list[WriteRequestTypeDef] | list[WriteRequestOutputTypeDef]] = {
                self.table: requests[i : i + 25]
            }
            for _ in range(8):
                got = self._ddb.batch_write_item(RequestItems=pending)
                pending = got.get("UnprocessedItems") or {}
                if not pending:
                    break

    def batch_get_assets(self, ids: list[str]) -> dict[str, Asset]:
        out: dict[str, Asset] = {}
        for i in range(0, len(ids), 100):
            keys = [{"pk": {"S": f"ASSET#{a}"}, "sk": {"S": "ASSET"}} for a in dict.fromkeys(ids[i : i + 100])]
            pending: Mapping[str, KeysAndAttributesTypeDef | KeysAndAttributesOutputTypeDef] = {
                self.table: {"Keys": keys}
            }
            for _ in range(8):
                got = self._ddb.batch_get_item(RequestItems=pending)
                for item in got.get("Responses", {}).get(self.table, []):
                    a = Asset.model_validate(_strip(from_item(item)))
                    out[a.id] = a
                pending = got.get("UnprocessedKeys") or {}
                if not pending:
                    break
        return out

    def publisher_assets(
        self, publisher_id: str, limit: int, cursor_token: str | None, status: str | None
    ) -> tuple[list[Asset], str | None]:
        pk = f"PUB#{publisher_id}"
        start = cursor.decode(cursor_token, key_names=("pk", "sk", "gsi1pk", "gsi1sk"), expect={"gsi1pk": pk})
        found: list[Asset] = []
        keys = ("pk", "sk", "gsi1pk", "gsi1sk")
        for _ in range(20):
            items, lek = self._query(pk=pk, index="gsi1", limit=limit, start=start, sk_prefix="ASSET#")
            for it in items:
                if status is None or it.get("status") == status:
                    found.append(Asset.model_validate(_strip(it)))
                    if len(found) == limit:
                        return found, cursor.encode({k: {"S": str(it[k])} for k in keys})
            if not lek:
                return found, None
            start = lek
        return found, cursor.encode(start)

    def collection_asset_ids(self, collection_id: str) -> list[str]:
        ids: list[str] = []
        start = None
        while True:
            items, start = self._query(pk=f"COLA#{collection_id}", index="gsi2", limit=500, start=start)
            ids += [str(i["id"]) for i in items]
            if not start:
                return ids

    def search_page(self, index: str, start: AttrItem | None, limit: int) -> tuple[list[IndexEntry], AttrItem | None]:
        items, lek = self._query(pk=f"IDX#{index}", limit=limit, start=start)
        return cast("list[IndexEntry]", items), lek

    def count_index(self, index: str) -> int:
        total, start = 0, None
        while True:
            args: QueryInputTypeDef = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": f"IDX#{index}"}},
                "Select": "COUNT",
            }
            if start:
                args["ExclusiveStartKey"] = start
            got = self._ddb.query(**args)
            total += got.get("Count", 0)
            start = got.get("LastEvaluatedKey")
            if not start:
                return total

    # ----------------------------------------------------------- collections
    def put_collection(self, c: Collection) -> None:
        self._ddb.put_item(
            TableName=self.table,
            Item=to_item({"pk": f"COL#{c.id}", "sk": "COL", **c.model_dump()}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_collection(self, collection_id: str) -> Collection | None:
        data = self._get(f"COL#{collection_id}", "COL", consistent=False)
        return Collection.model_validate(_strip(data)) if data else None

    # ---------------------------------------------------------------- offers
    def put_offer(self, offer: Offer) -> None:
        item: Record = {
            "pk": f"OFFER#{offer.id}",
            "sk": "OFFER",
            **offer.model_dump(),
            "gsi1pk": f"OFFERS#{offer.scope['type']}#{offer.scope['id']}",
            "gsi1sk": f"{offer.created_at}#{offer.id}",
            "gsi2pk": f"OFFERS#PUB#{offer.publisher_id}",
            "gsi2sk": f"{offer.created_at}#{offer.id}",
        }
        self._ddb.put_item(TableName=self.table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")

    def get_offer(self, offer_id: str) -> Offer | None:
        data = self._get(f"OFFER#{offer_id}", "OFFER", consistent=False)
        return Offer.model_validate(_strip(data)) if data else None

    def retire_offer(self, offer_id: str, when: str) -> Offer | None:
        ddb = self._ddb
        try:
            got = ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"OFFER#{offer_id}"}, "sk": {"S": "OFFER"}},
                UpdateExpression="SET #s = :r, retired_at = if_not_exists(retired_at, :t)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":r": {"S": "retired"}, ":t": {"S": when}},
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        return Offer.model_validate(_strip(from_item(got["Attributes"])))

    def offers_by(self, key: str, index: str, limit: int, cursor_token: str | None) -> tuple[list[Offer], str | None]:
        names = ("pk", "sk", f"{index}pk", f"{index}sk")
        start = cursor.decode(cursor_token, key_names=names, expect={f"{index}pk": key})
        items, lek = self._query(pk=key, index=index, limit=limit, start=start)
        return [Offer.model_validate(_strip(i)) for i in items], cursor.encode(lek)

    def iter_offers(self, key: str, index: str = "gsi1") -> Iterator[Offer]:
        start = None
        while True:
            items, start = self._query(pk=key, index=index, limit=200, start=start)
            for i in items:
                yield Offer.model_validate(_strip(i))
            if not start:
                return

    # ----------------------------------------------------------------- pools
    def put_pool(self, pool: Pool) -> None:
        self._ddb.put_item(
            TableName=self.table,
            Item=to_item({"pk": f"POOL#{pool.id}", "sk": "POOL", **pool.model_dump()}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_pool(self, pool_id: str) -> Pool | None:
        data = self._get(f"POOL#{pool_id}", "POOL", consistent=False)
        return Pool.model_validate(_strip(data)) if data else None

    def pool_members(self, pool_id: str) -> list[PoolMemberRecord]:
        out: list[PoolMemberRecord] = []
        start = None
        while True:
            items, start = self._query(pk=f"POOL#{pool_id}", limit=500, start=start, sk_prefix="MEMBER#", forward=True)
            out += [cast(PoolMemberRecord, {k: i.get(k) for k in _MEMBER_FIELDS}) for i in items]
            if not start:
                return out

    def put_member(self, pool_id: str, member: Mapping[str, object]) -> None:
        self._ddb.put_item(
            TableName=self.table,
            Item=to_item({"pk": f"POOL#{pool_id}", "sk": f"MEMBER#{member['asset_id']}", **member}),
        )
