"""A publisher's public profile (issue 19) is what buyers see: on the publisher's page, in catalogue and offer
listings, in RSL ``<copyright>`` and on licences."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

PROFILE = {
    "display_name": "The Harbour Gazette",
    "website": "https://harbour.example",
    "description": "Local news from the harbour since 1901.",
    "logo_url": "https://harbour.example/logo.png",
}
NS = {"r": "https://rslstandard.org/rsl"}


def test_buyers_see_the_display_name_everywhere(market: dict[str, Any]) -> None:
    pub, asset, buyer = market["pub"], market["asset"], market["buyer"]
    pub_id = market["pub_acct"]["id"]
    anon = pub.as_(None)
    # Before a profile: the account name
    assert anon.get(f"/v1/publishers/{pub_id}").json["name"] == "Harbour Gazette"
    # When the publisher sets its profile
    assert pub.patch("/v1/me", {"profile": PROFILE}).status == 200
    # Then its public page shows it
    page = anon.get(f"/v1/publishers/{pub_id}").json
    assert page["name"] == "The Harbour Gazette"
    assert {k: page[k] for k in PROFILE} == PROFILE
    # the catalogue and the offer listings name it
    items = anon.get("/v1/catalog/assets", params={"publisher_id": pub_id}).json["items"]
    assert items and all(i["publisher_name"] == "The Harbour Gazette" for i in items)
    assert all(o["publisher_name"] == "The Harbour Gazette" for i in items for o in i["offers"])
    offers = anon.get("/v1/offers", params={"asset_id": asset["id"]}).json["items"]
    assert offers and all(o["publisher_name"] == "The Harbour Gazette" for o in offers)
    one = anon.get(f"/v1/offers/{market['flat']['id']}").json
    assert one["publisher_name"] == "The Harbour Gazette"
    # RSL names it as the copyright holder, in both documents
    for path in (f"/v1/assets/{asset['id']}/rsl.xml", f"/v1/publishers/{pub_id}/rsl.xml"):
        doc = ET.fromstring(anon.get(path).body)
        holder = doc.find("r:content/r:copyright", NS)
        assert holder is not None and holder.text == "The Harbour Gazette"
    # and the buyer's licence says whom it licenses from
    lic = buyer.post("/v1/licenses", {"offer_id": market["per_access"]["id"], "use": "ai-input"})
    assert lic.status == 201 and lic.json["license"]["publisher_name"] == "The Harbour Gazette"
    listed = buyer.get("/v1/licenses").json["items"]
    assert listed[0]["publisher_name"] == "The Harbour Gazette"


def test_clearing_the_display_name_falls_back_to_the_account_name(market: dict[str, Any]) -> None:
    pub, pub_id = market["pub"], market["pub_acct"]["id"]
    assert pub.patch("/v1/me", {"profile": PROFILE}).status == 200
    assert pub.patch("/v1/me", {"profile": {"display_name": None}}).status == 200
    page = pub.as_(None).get(f"/v1/publishers/{pub_id}").json
    assert page["name"] == "Harbour Gazette" and page["display_name"] is None
    assert page["website"] == PROFILE["website"]


def test_the_public_page_never_shows_the_email(market: dict[str, Any]) -> None:
    page = market["pub"].as_(None).get(f"/v1/publishers/{market['pub_acct']['id']}")
    assert page.status == 200 and "@" not in page.body.decode()
