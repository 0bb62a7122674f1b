"""``make run``'s resident memory grows with the data it stores, not with the requests it serves (issue 12): a
server that has served a few hundred requests serves thousands more that store nothing (catalogue reads, 402 answers,
absent ids, unknown keys) without growing. v1 leaked one environment class per catalogue/licensing read, an empty
DynamoDB partition per missed read, and every deleted queue receipt handle; moto kept every model object it created
(local.embedded_aws._untrack)."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Http


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _reads(http: Http, buyer: Http, asset_id: str, n: int) -> None:
    for i in range(n):
        match i % 5:
            case 0:
                assert http.get("/v1/catalog/assets", params={"limit": 5}).status_code == 200
            case 1:  # a crawler without a licence: the 402 path (catalogue and licensing readers)
                assert buyer.get(f"/v1/assets/{asset_id}/content", params={"use": "ai-input"}).status_code in (200, 402)
            case 2:
                assert buyer.get(f"/v1/licenses/lic_{i:026d}").status_code == 404
            case 3:
                assert http.as_(f"imp_unknown_{i}").get("/v1/me").status_code in (401, 403)
            case 4:
                assert buyer.get(f"/v1/offers/off_{i:026d}").status_code in (403, 404)


def test_serving_requests_that_store_nothing_does_not_grow_the_server(
    local_stack: dict[str, Any], http: Http, new_account: Any
) -> None:
    # Given the local stack, a buyer without licences and a published demo asset
    buyer, _ = new_account("buyer")
    assets = http.get("/v1/catalog/assets", params={"limit": 1}).json()["items"]
    assert assets, "the demo seed publishes assets"
    asset_id = assets[0]["id"]
    pid = local_stack["server_pid"]
    _reads(http, buyer, asset_id, 400)  # warm: imports, caches (bounded ones fill up), allocator arenas
    first = _rss(pid)
    # When it serves 1,000 more such requests, twice
    _reads(http, buyer, asset_id, 1000)
    second = _rss(pid)
    _reads(http, buyer, asset_id, 1000)
    third = _rss(pid)
    # Then its resident memory has not grown with them (v1: one pydantic class per reader call; then moto's dashboard
    # tracking kept every item copy a read returned, ~28 KB per catalogue search: ~27 MiB per 1,000 of these requests)
    grown = [(second - first) / 2**20, (third - second) / 2**20]
    assert grown[1] < 6, f"the server grew by {grown[0]:.1f} then {grown[1]:.1f} MiB per 1,000 requests storing nothing"
    assert sum(grown) < 16, f"the server grew by {grown[0]:.1f} then {grown[1]:.1f} MiB per 1,000 requests"
