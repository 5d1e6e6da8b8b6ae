"""The connection the ranking's statements run on, and their cache of prepared statements.

The statements run on the session's own asyncpg connection (:func:`driver`), each prepared once
per connection (:func:`fetch`) and planned once (``plan_cache_mode = force_generic_plan``:
planning each execution costs more than the scan, decisions 0026 and 0073; the tier predicates
are literal, so the generic plan uses the same indexes); no transaction of their own (inside the
caller's when it has one, e.g. the worker's job; none otherwise: a read needs none).
"""

from __future__ import annotations

import re
import weakref
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.db import session_driver

_GENERIC_PLANS: weakref.WeakSet[Any] = weakref.WeakSet()


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection (checked out once, as for any statement of the session),
    set to plan prepared statements once. The setting is the connection's (a ``SET`` outside a
    transaction, or committed with the caller's); rolled back with a failed transaction, it only
    costs plans until the connection is replaced."""
    found: asyncpg.Connection = await session_driver(session)
    if found not in _GENERIC_PLANS:
        await found.execute("SET plan_cache_mode = force_generic_plan")
        _GENERIC_PLANS.add(found)
    return found


_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@lru_cache(maxsize=512)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters as asyncpg's ``$n``, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


Statement = tuple[str, tuple[Any, ...]]

TRACE: ContextVar[list[Statement] | None] = ContextVar("matching_statements", default=None)
"""When set to a list, each statement run here is appended to it with its arguments (the ranking
benchmark replays them as bare SQL)."""

# Prepared statements by connection, kept whatever their size: asyncpg's own cache skips
# statements over 15 KB (an offer's eight tiers in one statement were about 17 KB; its two tiers
# are about 5 KB since decision 0073), which would be parsed and planned every time.
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _prepared_of(connection: asyncpg.Connection) -> dict[str, Any]:
    found = _PREPARED.get(connection)
    if found is None:
        # A new connection: forget the statements of closed ones (they reference their
        # connection, so the weak key alone would never let them go).
        for closed in [c for c in list(_PREPARED) if c.is_closed()]:
            del _PREPARED[closed]
        found = _PREPARED[connection] = {}
    return found


async def fetch(
    connection: asyncpg.Connection, sql: str, params: dict[str, Any]
) -> list[asyncpg.Record]:
    """Run ``sql`` (``:name`` parameters) as a statement prepared once per connection."""
    statement, names = _positional(sql)
    args = tuple(params[name] for name in names)
    prepared = _prepared_of(connection)
    ready = prepared.get(statement)
    if ready is None:
        ready = prepared[statement] = await connection.prepare(statement)
    trace = TRACE.get()
    if trace is not None:
        trace.append((statement, args))
    try:
        rows: list[asyncpg.Record] = await ready.fetch(*args)
    except asyncpg.exceptions.InvalidCachedStatementError:
        # The schema changed under the statement (a migration): prepared again next time.
        prepared.pop(statement, None)
        raise
    return rows
