"""The embedded SQS (moto), made linear: the local mode's usage queue carries every metering event.

Why (docs/decision_log.md, 2026-11-29): moto 5's ``ReceiveMessage`` checks each visible message's retention period
by computing *all* the queue's attributes, three of which count the whole queue reading the clock once per message;
``SendMessage`` computes them again. A receive therefore cost O(queue length^2): with 760 messages waiting, one
receive took about two seconds and a backlog never drained. Here:

- the retention check reads the queue's ``message_retention_period`` (the value moto's attribute returns);
- the visible-message list and the approximate counts read the clock once per call, not once per message;
- a delete finds its message through an index of receipt handles instead of asking every message of the queue
  whether it ever had that handle (a 10-message delete batch on a 2,000-message queue made 20,000 such calls);
- ``deleted_messages`` (receipt handles kept so that a second delete of the same handle succeeds) keeps the most
  recent 100,000 handles per queue instead of every handle ever deleted (it grew with requests served, not data).

Applied with the DynamoDB patches by ``local.embedded_aws.install``; never imported by ``functions/``.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.core.utils import unix_time, unix_time_millis
from moto.sqs.models import Message, Queue, SQSBackend

DELETED_HANDLES_KEPT = 100_000

_ORIGINAL: dict[str, Any] = {
    "delete": Queue.delete_message,
    "mark_received": Message.mark_received,
    "retention": SQSBackend.is_message_valid_based_on_retention_period,
    "messages": Queue.messages,
    "delayed": Queue.approximate_number_of_messages_delayed,
    "not_visible": Queue.approximate_number_of_messages_not_visible,
    "init": Queue.__init__,
}
_installed = False


class RecentSet:
    """A set that forgets its oldest members beyond ``limit`` (the operations moto uses: ``in``, ``update``, ``add``)."""

    def __init__(self, limit: int = DELETED_HANDLES_KEPT, items: Iterable[str | None] = ()) -> None:
        self.limit = limit
        self._d: OrderedDict[str | None, None] = OrderedDict()
        self.update(items)

    def add(self, item: str | None) -> None:
        self._d[item] = None
        self._d.move_to_end(item)
        while len(self._d) > self.limit:
            self._d.popitem(last=False)

    def update(self, items: Iterable[str | None]) -> None:
        for item in items:
            self.add(item)

    def discard(self, item: str | None) -> None:
        self._d.pop(item, None)

    def __contains__(self, item: object) -> bool:
        return item in self._d

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self) -> Iterator[str | None]:
        return iter(self._d)


def _retention_ok(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(retention + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]


def _messages(self: Queue) -> list[Message]:
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _delayed(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _not_visible(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


_BY_HANDLE: weakref.WeakValueDictionary[str, Message] = weakref.WeakValueDictionary()


def _mark_received(self: Message, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL["mark_received"](self, *args, **kwargs)
    if self.receipt_handle is not None:
        _BY_HANDLE[self.receipt_handle] = self


def _delete_message(self: Queue, receipt_handle: str) -> None:
    """moto's ``Queue.delete_message``: the message that had this handle leaves the queue (and its pending set)."""
    if receipt_handle in self.deleted_messages:
        return
    message = _BY_HANDLE.get(receipt_handle)
    remaining = [m for m in self._messages if m is not message] if message is not None else self._messages
    if message is None or len(remaining) == len(self._messages):
        _ORIGINAL["delete"](self, receipt_handle)  # not indexed, or not in this queue: moto decides (and raises)
        return
    self.pending_messages.discard(message)
    self.deleted_messages.update(message.all_receipt_handles)  # type: ignore[arg-type]
    self._messages = remaining


def _wrap_init(init: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Queue, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.deleted_messages = RecentSet(items=self.deleted_messages)  # type: ignore[assignment]

    return __init__


def install() -> None:
    """Patch this process's moto SQS (idempotent). Call before any queue is created."""
    global _installed
    if _installed:
        return
    SQSBackend.is_message_valid_based_on_retention_period = _retention_ok  # type: ignore[method-assign]
    Queue.messages = property(_messages)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(_delayed)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(_not_visible)  # type: ignore[assignment,method-assign]
    Queue.__init__ = _wrap_init(_ORIGINAL["init"])  # type: ignore[method-assign]
    Queue.delete_message = _delete_message  # type: ignore[method-assign]
    Message.mark_received = _mark_received  # type: ignore[method-assign]
    _installed = True


def uninstall() -> None:
    global _installed
    SQSBackend.is_message_valid_based_on_retention_period = _ORIGINAL["retention"]  # type: ignore[method-assign]
    Queue.messages = _ORIGINAL["messages"]  # type: ignore[method-assign]
    Queue.approximate_number_of_messages_delayed = _ORIGINAL["delayed"]  # type: ignore[method-assign]
    Queue.approximate_number_of_messages_not_visible = _ORIGINAL["not_visible"]  # type: ignore[method-assign]
    Queue.__init__ = _ORIGINAL["init"]  # type: ignore[method-assign]
    Queue.delete_message = _ORIGINAL["delete"]  # type: ignore[method-assign]
    Message.mark_received = _ORIGINAL["mark_received"]  # type: ignore[method-assign]
    _installed = False
