"""Token Status List (IETF draft-ietf-oauth-status-list): the lists that tell an offline verifier whether a licence
certificate still stands. Pure rules and encoding here; storage in ``functions.licensing.dal.statuslist``.

- One index per licence, for its whole life (every certificate of the licence carries the same
  ``status.status_list``); indices are handed out in order from one counter, ``LIST_SIZE`` per list, so a new list
  starts when one is full.
- ``bits: 1``: 0 VALID, 1 INVALID (the licence is revoked, cancelled or lapsed). An active licence whose term has
  passed keeps 0: its certificates' ``exp`` never passes the licence's end, and the draft lets ``exp`` decide first.
- The byte array covers the whole list (``LIST_SIZE`` bits, so no allocated index is ever out of bounds and the
  number of licences does not show); index ``i`` is bit ``i % 8`` (least significant first) of byte ``i // 8``;
  DEFLATE in the ZLIB format at the highest level; base64url without padding.
- The token: header ``typ: statuslist+jwt``; claims ``sub`` (the list's own URI), ``iat``, ``exp``, ``ttl``,
  ``status_list {bits, lst}``. A served token is at most ``RESIGN_AFTER_S`` old and of the list's current version.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from functions.licensing.logic import jws
from functions.shared.typeddict import TypedDict

LIST_SIZE = 2**20
"""Indices per list. Read at call time (tests make it small to see a list roll over)."""
BITS = 1
TTL_S = 300
"""``ttl``: how long a verifier may cache a list before fetching it again (the contract: at most 300 s)."""
TOKEN_LIFETIME_S = 3600
"""``exp - iat``: a cached copy must not be relied upon after an hour, even if the API is unreachable."""
RESIGN_AFTER_S = 60
"""A token older than this is signed again on the next request, changed or not; a change re-signs at once."""
MEDIA_TYPE = "application/statuslist+jwt"
TYP = "statuslist+jwt"


def position(counter_value: int, size: int | None = None) -> tuple[int, int]:
    """The ``(list, idx)`` of the n-th index handed out (0-based)."""
    return divmod(counter_value, size or LIST_SIZE)


def list_uri(base: str, n: int) -> str:
    return f"{base}/v1/status-lists/{n}"


class StatusListRef(TypedDict):
    idx: int
    uri: str


class StatusClaim(TypedDict):
    status_list: StatusListRef


class ListBits(TypedDict):
    bits: int
    lst: str


class TokenClaims(TypedDict):
    """The claims of a Status List Token."""

    sub: str
    iss: str
    iat: int
    exp: int
    ttl: int
    status_list: ListBits


class ListMeta(TypedDict, total=False):
    """A list's version and its last signed token (``functions.licensing.dal.statuslist``)."""

    version: int
    token: str
    token_version: int
    token_iat: int


def status_claim(base: str, n: int, idx: int) -> StatusClaim:
    """The ``status`` claim of a Referenced Token (a certificate)."""
    return {"status_list": {"idx": idx, "uri": list_uri(base, n)}}


def encode(invalid: Iterable[int], size: int | None = None) -> str:
    """``lst``: the list's bytes (a bit set per INVALID index), zlib-compressed, base64url."""
    size = size or LIST_SIZE
    data = bytearray((size * BITS + 7) // 8)
    for i in invalid:
        if not 0 <= i < size:
            raise ValueError(f"index {i} is outside a list of {size}")
        data[i // 8] |= 1 << (i % 8)
    return jws.b64url(zlib.compress(bytes(data), 9))


def token_claims(base: str, n: int, lst: str, issued_at: datetime) -> TokenClaims:
    iat = int(issued_at.timestamp())
    return {
        "sub": list_uri(base, n),
        "iss": base,
        "iat": iat,
        "exp": iat + TOKEN_LIFETIME_S,
        "ttl": TTL_S,
        "status_list": {"bits": BITS, "lst": lst},
    }


def servable(token_version: int | None, token_iat: int | None, version: int, at: datetime) -> bool:
    """May the stored token be served as it is? Only if it was built from the list's current version and is
    younger than ``RESIGN_AFTER_S``."""
    if token_version is None or token_iat is None or token_version != version:
        return False
    return 0 <= at.timestamp() - token_iat < RESIGN_AFTER_S


def parse_list_number(text: str) -> int | None:
    """``/v1/status-lists/{n}``: a canonical non-negative decimal (``01`` is not list 1: one URI per list)."""
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0") or len(text) > 9:
        return None
    return int(text)


class ListStore(Protocol):
    """What serving a list needs from storage (``functions.licensing.dal.statuslist.StatusLists``)."""

    def meta(self, n: int) -> ListMeta | None: ...

    def exists(self, n: int) -> bool: ...

    def invalid_indices(self, n: int) -> set[int]: ...

    def save_token(self, n: int, token: str, version: int, iat: int) -> None: ...


def current_token(
    lists: ListStore, kid: str, sign_digest: Callable[[bytes], bytes], base: str, n: int, at: datetime
) -> str | None:
    """The signed token of list ``n`` to serve now (None: no such list). One consistent read while the stored token
    is fresh; otherwise the list is rebuilt from its pages and signed again. The version is read before the pages, so
    a change that lands in between leaves a token that is stale (rebuilt on the next request), never one that
    claims a newer version than its bits."""
    meta = lists.meta(n)
    if meta is None:
        if not lists.exists(n):
            return None
        meta = {"version": 0}
    version = int(meta["version"])
    if servable(meta.get("token_version"), meta.get("token_iat"), version, at):
        return str(meta["token"])
    claims = token_claims(base, n, encode(lists.invalid_indices(n)), at)
    token = jws.sign_compact_digest(claims, kid, sign_digest, typ=TYP)
    lists.save_token(n, token, version, claims["iat"])
    return token
