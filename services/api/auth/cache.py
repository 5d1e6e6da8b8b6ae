"""Who a credential is, remembered a few seconds per process (decision 0029).

Loading the caller (the user or API key, then a facilitator's territory) took two or three
queries on every request. The answer is kept ``auth_cache_seconds`` (5 s by default) per user or
per API key digest; an access token is still decoded and checked on every request. Whether an
organisation is active (a borne's place) is kept the same way. Any change this process writes to
users, API keys or organisations through the ORM empties both at once; another process sees it
within ``auth_cache_seconds``. Bounded: the oldest entries go first.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.core.models.api_key import ApiKey
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.security.principal import Principal
from services.core.security.tokens import AccessClaims

_WATCHED = (User, ApiKey, Organisation)


K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values kept ``ttl`` seconds (given at each call: the setting may change in tests)."""

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def get(self, key: K, ttl: float) -> V | None:
        if ttl <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at >= ttl:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


# ("user", user id) or ("api_key", key digest) → the caller.
principals: TtlCache[tuple[str, str], Principal] = TtlCache()
# Organisation id → is it active.
organisations_active: TtlCache[uuid.UUID, bool] = TtlCache()
# SHA-256 of an access token → its claims, its signature checked (its expiry is checked again at
# every use): a token says the same thing for its whole life.
verified_tokens: TtlCache[str, AccessClaims] = TtlCache()


@event.listens_for(Session, "after_flush")
def _forget_on_access_change(session: Session, _context: Any) -> None:
    """A user, API key or organisation written by this process: forget every caller."""
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, _WATCHED):
            principals.clear()
            organisations_active.clear()
            return
