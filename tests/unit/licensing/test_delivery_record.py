"""The deliveries stream's producer (functions.licensing.dal.deliveries, issue 16): a delivery's record is written at
most once. It is sent again only when the first attempt certainly wrote nothing; an answer that leaves it unknown is a
503 with nothing sent again (the consumer has no per-event journal to drop a second copy)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from functions.licensing.dal import deliveries
from functions.shared import aws
from functions.shared.errors import status_of

MESSAGE: Any = {"kind": "usage", "event_id": "evt_1", "source": "delivery", "license_id": "lic_1"}


class _Kinesis:
    """Answers each put_record with the next outcome: an exception to raise, or a sequence number."""

    def __init__(self, outcomes: list[BaseException | str]) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    def put_record(self, **_: Any) -> dict[str, str]:
        self.calls += 1
        got = self.outcomes.pop(0)
        if isinstance(got, BaseException):
            raise got
        return {"SequenceNumber": got, "ShardId": "shardId-000000000000"}


def _refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutRecord")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(deliveries.time, "sleep", waits.append)
    return waits


def _with(monkeypatch: pytest.MonkeyPatch, outcomes: list[BaseException | str]) -> _Kinesis:
    fake = _Kinesis(outcomes)
    monkeypatch.setitem(aws._clients, "kinesis/1", fake)
    return fake


def test_the_client_itself_never_retries() -> None:
    # Given the producer's client, Then botocore would make one attempt only (its retries could write twice)
    aws.reset_clients()
    try:
        client = aws.kinesis_once()
        assert client.meta.config.retries["total_max_attempts"] == 1
        assert aws.client("kinesis") is not client  # other code's kinesis client keeps the default retries
    finally:
        aws.reset_clients()


@pytest.mark.parametrize(
    "first",
    [_refused("ProvisionedThroughputExceededException"), EndpointConnectionError(endpoint_url="https://kinesis")],
    ids=["throttled", "never-connected"],
)
def test_an_attempt_that_wrote_nothing_is_sent_again(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], first: BaseException
) -> None:
    # Given a first attempt that certainly wrote nothing, When the delivery is recorded
    fake = _with(monkeypatch, [first, "49"])
    # Then it is sent again, after a short wait, and recorded once
    assert deliveries.record("dlv", MESSAGE) == "49"
    assert fake.calls == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.05


@pytest.mark.parametrize(
    "ambiguous",
    [ReadTimeoutError(endpoint_url="https://kinesis"), _refused("InternalFailure")],
    ids=["read-timeout", "5xx"],
)
def test_an_attempt_that_may_have_written_is_never_sent_again(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float], ambiguous: BaseException
) -> None:
    # Given a first attempt whose outcome is unknown, When the delivery is recorded
    fake = _with(monkeypatch, [ambiguous, "50"])
    # Then it is not sent again: the delivery is refused with a 503 problem (no URL handed out)
    with pytest.raises(deliveries.NotRecorded) as err:
        deliveries.record("dlv", MESSAGE)
    assert fake.calls == 1 and sleeps == []
    assert status_of(err.value)[0] == 503 and err.value.code == "metering_unavailable"


def test_throttling_that_lasts_gives_up_after_three_attempts(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    # Given Kinesis refusing every attempt, When the delivery is recorded, Then three attempts, then a 503
    fake = _with(monkeypatch, [_refused("ProvisionedThroughputExceededException")] * 3)
    with pytest.raises(deliveries.NotRecorded) as err:
        deliveries.record("dlv", MESSAGE)
    assert fake.calls == deliveries.ATTEMPTS == 3 and len(sleeps) == 2
    assert err.value.retry_after_s == 1
