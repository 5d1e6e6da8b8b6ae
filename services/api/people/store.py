"""Reading and writing people on PostgreSQL: the round trips of the write path.

Contact keys are locked (the advisory locks intakes and ``POST /v1/candidates`` take) and the
stored people they name read and locked (:func:`find_people`); once :mod:`.plan` has made the
rows, the import writes them with ``COPY`` (:func:`copy_writes`, the people found again updated
from a temporary table in one ``UPDATE … FROM``) and an intake request, a handful of rows, in one
statement (:func:`insert_writes`, or :func:`insert_new_person` for a form naming somebody new).
Statements go to asyncpg directly, on the import's connection or on a request's
(:class:`SessionDriver`).
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.people.columns import (
    AUDIT_COLUMNS,
    EVENT_COLUMNS,
    INTAKE_COLUMNS,
    JSON_COLUMNS,
    NEW_COLUMNS,
    SHARE_COLUMNS,
    UPDATED_COLUMNS,
)
from services.api.people.persons import STORED_COLUMNS, ValidRow, resolve
from services.api.people.plan import Found, Row, Writes
from services.core.db import session_driver

# The contact keys' advisory locks taken (as intakes and ``POST /v1/candidates`` take them), then
# the stored people they name read and locked, oldest first: one round trip (migration 0013: one
# generic plan per connection). The dead (anonymised, merged) are set aside in Python.
_STORED = (
    f"SELECT {', '.join(STORED_COLUMNS)}, anonymised_at, merged_into_id "  # noqa: S608
    "FROM candidates_by_contact($1::text[], $2::text[]) ORDER BY created_at, id"
)
# Which of them are shared with the writer's organisations ($2), and whether with its own ($1).
# A statement of its own, after the one that waited on the keys' locks: its snapshot sees the
# shares a writer that held a key committed meanwhile (the people read's snapshot, taken inside
# the function once the locks are held, sees them; a condition in ``_STORED``'s own query would
# not — its snapshot is taken before the wait).
_SHARED = (
    "SELECT candidate_id, bool_or(organisation_id = $1) AS own FROM candidate_share "
    "WHERE organisation_id = ANY($2::uuid[]) AND candidate_id = ANY($3::uuid[]) "
    "GROUP BY candidate_id"
)
_UPDATE_TABLE = "bulk_candidate_update"


class Driver(Protocol):
    """What the writer needs of a connection: asyncpg's, or :class:`SessionDriver`."""

    async def execute(self, query: str, *args: Any) -> Any: ...

    async def fetch(self, query: str, *args: Any) -> Sequence[Mapping[str, Any]]: ...


# What asyncpg raises when the connection itself is gone or left in an unknown state.
_CONNECTION_LOST = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
)


class SessionDriver:
    """:class:`Driver` on the connection of a request's session, asyncpg called directly
    (SQLAlchemy's layers around a statement cost more than the statement; decision 0028).

    Statements run inside :meth:`transaction`: a savepoint of the session's transaction when one
    is open on the connection (a batch, a test), else a transaction of its own committed when the
    block ends, before the request answers; or, when no transaction is open, a single statement
    runs :meth:`alone`, committed when it returns. A connection lost meanwhile is invalidated, so
    the pool never hands it out again.
    """

    def __init__(self, session: AsyncSession, driver: Any) -> None:
        self._session = session
        self._driver = driver

    @classmethod
    async def of(cls, session: AsyncSession) -> SessionDriver:
        return cls(session, await session_driver(session))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        try:
            async with self._driver.transaction():
                yield
        except Exception as exc:
            await self._forget_if_lost(exc)
            raise

    def in_transaction(self) -> bool:
        return bool(self._driver.is_in_transaction())

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Statements run outside any transaction (each its own, committed when it returns)."""
        assert not self.in_transaction(), "a transaction is open on the connection"
        try:
            yield
        except Exception as exc:
            await self._forget_if_lost(exc)
            raise

    async def _forget_if_lost(self, exc: Exception) -> None:
        if isinstance(exc, _CONNECTION_LOST) or self._driver.is_closed():
            await (await self._session.connection()).invalidate()

    async def execute(self, query: str, *args: Any) -> Any:
        return await self._driver.execute(query, *args)

    async def fetch(self, query: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        return cast(Sequence[Mapping[str, Any]], await self._driver.fetch(query, *args))


async def find_people(
    connection: Driver,
    rows: Sequence[ValidRow],
    organisation_id: uuid.UUID,
    among: Sequence[uuid.UUID] | None = None,
) -> Found:
    """Lock the rows' contact keys, read the stored people they name among the candidates shared
    with ``among`` (by default ``organisation_id`` alone): anybody else is another
    organisation's record, which a phone or an e-mail must not open (decision 0044). Then lay the
    rows over them."""
    phones, emails = contact_keys(rows)
    stored: list[Mapping[str, Any]] = []
    if phones or emails:
        stored = [
            record
            for record in await connection.fetch(_STORED, phones, emails)
            if record["anonymised_at"] is None and record["merged_into_id"] is None
        ]
    already_shared: set[uuid.UUID] = set()
    if stored:
        organisations = sorted({*(among or ()), organisation_id})
        shared = {
            record["candidate_id"]: record["own"]
            for record in await connection.fetch(
                _SHARED, organisation_id, organisations, [record["id"] for record in stored]
            )
        }
        stored = [record for record in stored if record["id"] in shared]
        already_shared = {candidate_id for candidate_id, own in shared.items() if own}
    return Found(resolution=resolve(rows, stored), already_shared=already_shared)


def _records(rows: list[Row], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows as ``COPY`` records (JSON columns as text: asyncpg's codec takes strings)."""
    pick = operator.itemgetter(*columns)  # at least two columns: a tuple per row
    json_positions = [i for i, name in enumerate(columns) if name in JSON_COLUMNS]
    if not json_positions:
        return [pick(row) for row in rows]
    records = []
    for row in rows:
        values = list(pick(row))
        for position in json_positions:
            values[position] = json.dumps(values[position])
        records.append(tuple(values))
    return records


async def copy_writes(connection: Any, writes: Writes, moment: datetime) -> None:
    """Write ``writes`` with ``COPY`` (asyncpg): the fastest way for thousands of rows."""
    tables: tuple[tuple[str, list[Row], Sequence[str]], ...] = (
        ("candidate", writes.candidates, NEW_COLUMNS),
        ("candidate_share", writes.shares, SHARE_COLUMNS),
        ("intake", writes.intakes, INTAKE_COLUMNS),
        ("outbox_event", writes.events, EVENT_COLUMNS),
        ("audit_entry", writes.audits, AUDIT_COLUMNS),
    )
    for table, rows, columns in tables[:1]:
        if rows:
            await connection.copy_records_to_table(
                table, records=_records(rows, columns), columns=columns
            )
    if writes.updates:
        await _update_stored(connection, _records(writes.updates, ("id", *UPDATED_COLUMNS)), moment)
    for table, rows, columns in tables[1:]:
        if rows:
            await connection.copy_records_to_table(
                table, records=_records(rows, columns), columns=columns
            )


# Everything an intake request writes, in one statement kept in the database (``people_write``,
# migration 0017): a handful of rows a table, each table's rows as one JSON array turned into
# typed rows by PostgreSQL; empty arrays write nothing.
_PEOPLE_WRITE = (
    "SELECT people_write($1::jsonb, $2::jsonb, $3::jsonb, $4::jsonb, $5::jsonb, $6::jsonb)"
)
# The same for a form naming nobody known among the candidates shared with the writer's
# organisations, written only if that still holds once the contact keys are locked
# (``intake_new_person``, migrations 0017 and 0021).
_NEW_PERSON = (
    "SELECT intake_new_person($1::text[], $2::text[], $3::uuid[], $4::jsonb, $5::jsonb, "
    "$6::jsonb, $7::jsonb, $8::jsonb) AS written"
)


def _json(rows: list[Row]) -> str:
    # orjson writes ids, dates and times itself (ISO 8601, which PostgreSQL reads), the rest by
    # str(): several times faster than the standard library on an intake's rows.
    return orjson.dumps(rows, default=str).decode()


async def insert_writes(connection: Driver, writes: Writes) -> None:
    """Write ``writes`` in one statement (a few rows: one round trip, no ``COPY`` set-up)."""
    await connection.execute(
        _PEOPLE_WRITE,
        _json(writes.candidates),
        _json(writes.updates),
        _json(writes.shares),
        _json(writes.intakes),
        _json(writes.events),
        _json(writes.audits),
    )


def contact_keys(rows: Sequence[ValidRow]) -> tuple[list[str], list[str]]:
    """The phones and e-mails ``rows`` name, sorted, each once."""
    keys = sorted({key for row in rows for key in row.contact_keys()})
    phones = [key.removeprefix("phone:") for key in keys if key.startswith("phone:")]
    emails = [key.removeprefix("email:") for key in keys if key.startswith("email:")]
    return phones, emails


async def insert_new_person(
    connection: Driver, rows: Sequence[ValidRow], writes: Writes, among: Sequence[uuid.UUID]
) -> bool:
    """Write ``writes`` — new people only, planned without reading anyone — unless a living
    person shared with one of ``among`` has one of ``rows``' contact keys once they are locked
    (as :func:`find_people` would find them); whether it wrote.

    One statement: on a connection outside any transaction, one round trip committed on return.
    """
    assert not writes.updates, "planned for new people only"
    phones, emails = contact_keys(rows)
    (record,) = await connection.fetch(
        _NEW_PERSON,
        phones,
        emails,
        sorted(set(among)),
        _json(writes.candidates),
        _json(writes.shares),
        _json(writes.intakes),
        _json(writes.events),
        _json(writes.audits),
    )
    return bool(record["written"])


async def _update_stored(connection: Any, updates: list[tuple[Any, ...]], moment: datetime) -> None:
    """The people found again, from a temporary table in one ``UPDATE … FROM``; their last
    activity is now (retention counts from it)."""
    await connection.execute(
        f"CREATE TEMPORARY TABLE {_UPDATE_TABLE} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT id, {', '.join(UPDATED_COLUMNS)} FROM candidate WITH NO DATA"
    )
    await connection.copy_records_to_table(
        _UPDATE_TABLE, records=updates, columns=("id", *UPDATED_COLUMNS)
    )
    # A temporary table has no statistics until analysed: without them the planner may scan
    # every candidate instead of looking the ids up.
    await connection.execute(f"ANALYZE {_UPDATE_TABLE}")
    assignments = ", ".join(f"{name} = u.{name}" for name in UPDATED_COLUMNS)
    await connection.execute(
        f"UPDATE candidate AS c SET {assignments}, updated_at = $1, last_activity_at = $1 "  # noqa: S608
        f"FROM {_UPDATE_TABLE} AS u WHERE c.id = u.id",
        moment,
    )
