"""The grant-charge outbox (issue 17, section 6): a grant's charge is written in the grant's own transaction, so a
send that fails after the transaction loses nothing; the relay sends it once, and metering books it once even when
the message arrives twice."""

from __future__ import annotations

from typing import Any

import pytest

from functions.licensing.dal import outbox
from functions.licensing.dal import queue as queue_dal
from local.dispatch import drain, run_job
from tests.integration.conftest import queue_messages


def _spent(aws: dict[str, str], license_id: str) -> int:
    from functions.metering.dal.store import MeteringStore

    spend = MeteringStore(aws["METERING_TABLE"]).get(f"SPEND#{license_id}", "SPEND")
    return int(spend["spent_micros"]) if spend else 0


def _outbox(aws: dict[str, str]) -> list[outbox.Pending]:
    return outbox.pending(aws["LICENSING_TABLE"], "9999")


def test_a_send_failing_after_the_grant_leaves_the_charge_to_the_relay_which_books_it_once(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer, flat = market["buyer"], market["flat"]
    queue_messages(aws)  # start from an empty usage queue

    # Given the usage queue refuses every send (after the licence transaction commits)
    def refuse(*_: Any, **__: Any) -> None:
        raise ConnectionError("injected: the usage queue cannot be reached")

    monkeypatch.setattr(queue_dal, "send", refuse)
    # When the buyer takes a flat licence
    r = buyer.post("/v1/licenses", {"offer_id": flat["id"], "use": "ai-train"})
    # Then the licence is granted (the send failure is not the buyer's problem) and its charge waits in the outbox
    assert r.status == 201, r.body
    lic = r.json["license"]
    assert queue_messages(aws) == []
    (pending,) = _outbox(aws)
    assert pending.message["kind"] == "charge" and pending.message["charge_id"] == f"grant:{lic['id']}"
    assert pending.message["amount_micros"] == 5_000_000 and pending.message["license_id"] == lic["id"]
    # And a relay while the queue still refuses loses nothing either
    with pytest.raises(ConnectionError):
        run_job(gw.invoke, "relay_outbox", age_s=0)
    assert len(_outbox(aws)) == 1
    monkeypatch.undo()

    # When the relay runs (make run's poller, or the schedule's sweep in the cloud)
    assert run_job(gw.invoke, "relay_outbox", age_s=0) == {"relayed": 1}
    # Then the charge is on the usage queue once, with the contract of a direct send, and the outbox is empty
    (msg,) = queue_messages(aws)
    assert msg == pending.message
    assert _outbox(aws) == [] and run_job(gw.invoke, "relay_outbox", age_s=0) == {"relayed": 0}

    # And metering books it once, even when the same message arrives again (a relay racing the request's own send)
    queue_dal.send(aws["USAGE_QUEUE_URL"], msg)
    queue_dal.send(aws["USAGE_QUEUE_URL"], msg)
    drain(gw.invoke, aws, queues=("usage",))
    assert _spent(aws, lic["id"]) == 5_000_000


def test_a_grant_whose_send_succeeds_leaves_nothing_in_the_outbox(
    aws: dict[str, str], gw: Any, market: dict[str, Any]
) -> None:
    queue_messages(aws)
    r = market["buyer"].post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"})
    assert r.status == 201
    assert [m["charge_id"] for m in queue_messages(aws)] == [f"grant:{r.json['license']['id']}"]
    assert _outbox(aws) == []


def test_the_stream_relay_sends_an_item_still_there_and_skips_one_already_sent(
    aws: dict[str, str], gw: Any, market: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.licensing.handlers import outbox as relay

    monkeypatch.setattr(relay, "STREAM_GRACE_S", 0.0)
    monkeypatch.setattr(queue_dal, "send", lambda *_: (_ for _ in ()).throw(ConnectionError("injected")))
    r = market["buyer"].post("/v1/licenses", {"offer_id": market["flat"]["id"], "use": "ai-train"})
    assert r.status == 201
    monkeypatch.undo()
    monkeypatch.setattr(relay, "STREAM_GRACE_S", 0.0)
    queue_messages(aws)
    (pending,) = _outbox(aws)

    def record(sk: str, event: str = "INSERT") -> dict[str, Any]:
        keys = {"pk": {"S": outbox.OUTBOX_PK}, "sk": {"S": sk}}
        return {"eventName": event, "dynamodb": {"Keys": keys, "ApproximateCreationDateTime": 0}}

    # A stream batch: the pending item, an item the request already sent (gone), and a REMOVE of it
    event = {
        "Records": [record(pending.sk), record("2026-01-01T00:00:00Z#grant:lic_gone"), record(pending.sk, "REMOVE")]
    }
    assert gw.invoke("licensing_outbox", event) == {"relayed": 1}
    assert [m["charge_id"] for m in queue_messages(aws)] == [pending.message["charge_id"]]
    # The same record delivered again (stream retries): nothing more is sent
    assert gw.invoke("licensing_outbox", {"Records": [record(pending.sk)]}) == {"relayed": 0}
    assert queue_messages(aws) == []
