"""Reading and writing a set of hours statement lines on PostgreSQL, set-based (decision 0084).

Whatever the number of lines — one, a batch, a file of tens of thousands — the same round trips:

1. the placements the lines name, within the declarer's reach (one statement, the ids as one
   array: what the checks need — status and dates);
2. the stored lines of the same (placement, month), locked (one statement, the keys as two
   arrays joined to the table's unique index);
3. once every line is checked in memory (:func:`services.api.statements.service.refusals`),
   every line written in one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE``: a new
   month added, a declared or rejected one replaced, a validated one left as it is.

Statements 2 and 3 go to asyncpg directly, on the connection of the request's session, inside
its transaction (decision 0028): the audit entry the session writes commits with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.placements.policy import placements_visible
from services.api.statements.service import Declared, Known, Refusal, already_validated
from services.core.db import session_driver
from services.core.ids import uuid7
from services.core.models.placement import (
    Placement,
    PlacementStatus,
    StatementSource,
    StatementStatus,
)
from services.core.security.principal import Principal

Key = tuple[uuid.UUID, date]

# The stored lines of the (placement, month) pairs sent, locked until the request ends, in the
# key's order whatever the lines' order: two sets replacing the same stored lines take their
# locks in one order, and one waits for the other.
_STORED = """
SELECT s.placement_id, s.month, s.status
FROM statement_line AS s
JOIN unnest($1::uuid[], $2::date[]) AS t (placement_id, month)
  ON s.placement_id = t.placement_id AND s.month = t.month
ORDER BY s.placement_id, s.month
FOR UPDATE OF s
"""

# Every checked line in one statement. A line validated since it was read (a pair first stored
# by another request meanwhile) is left as it is and missing from what the statement returns.
_WRITE = """
INSERT INTO statement_line AS s (
    id, created_at, updated_at, placement_id, month, hours_worked, training_hours, source,
    status, rejection_reason, declared_by_type, declared_by_id, declared_at,
    decided_by_user_id, decided_at
)
SELECT t.id, $6, $6, t.placement_id, t.month, t.hours_worked, t.training_hours, $7,
       'declared', NULL, $8, $9, $6, NULL, NULL
FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::numeric[], $5::numeric[])
     AS t (id, placement_id, month, hours_worked, training_hours)
ON CONFLICT (placement_id, month) DO UPDATE
SET updated_at = excluded.updated_at,
    hours_worked = excluded.hours_worked,
    training_hours = excluded.training_hours,
    source = excluded.source,
    status = excluded.status,
    rejection_reason = NULL,
    declared_by_type = excluded.declared_by_type,
    declared_by_id = excluded.declared_by_id,
    declared_at = excluded.declared_at,
    decided_by_user_id = NULL,
    decided_at = NULL
WHERE s.status <> 'validated'
RETURNING s.id, s.placement_id, s.month
"""


@dataclass(frozen=True)
class Stored:
    """A line as written: what :class:`~services.api.statements.schemas.StatementLinePublic`
    shows of it."""

    id: uuid.UUID
    placement_id: uuid.UUID
    month: date
    hours_worked: Decimal
    training_hours: Decimal
    source: StatementSource
    status: StatementStatus
    rejection_reason: str | None
    declared_by_type: str
    declared_by_id: uuid.UUID | None
    declared_at: datetime
    decided_by_user_id: uuid.UUID | None
    decided_at: datetime | None


@dataclass(frozen=True)
class Found:
    """What the checks of a set of lines need, read for the whole set."""

    placements: dict[uuid.UUID, Known]
    stored: dict[Key, StatementStatus]


async def find(session: AsyncSession, principal: Principal, lines: Sequence[Declared]) -> Found:
    """The placements ``lines`` name within ``principal``'s reach, and the stored lines of the
    same months (locked): two statements for the whole set."""
    if not lines:
        return Found({}, {})
    ids = list({line.placement_id: None for line in lines})
    rows = await session.execute(
        select(
            col(Placement.id),
            col(Placement.status),
            col(Placement.start_date),
            col(Placement.end_date),
        ).where(
            col(Placement.id) == any_(bindparam("ids", ids, type_=ARRAY(Uuid()))),
            placements_visible(principal),
        )
    )
    placements = {
        placement_id: Known(PlacementStatus(status), start, end)
        for placement_id, status, start, end in rows
    }
    keys = list(
        {(line.placement_id, line.month): None for line in lines if line.placement_id in placements}
    )
    stored: dict[Key, StatementStatus] = {}
    if keys:
        driver = await _driver(session)
        records = await driver.fetch(_STORED, [key[0] for key in keys], [key[1] for key in keys])
        stored = {
            (record["placement_id"], record["month"]): StatementStatus(record["status"])
            for record in records
        }
    return Found(placements, stored)


async def write(
    session: AsyncSession,
    principal: Principal,
    lines: Sequence[Declared],
    source: StatementSource,
    at: datetime,
) -> tuple[list[uuid.UUID], list[Refusal]]:
    """Write ``lines`` (checked, each (placement, month) once) in one statement: the ids of the
    lines as written, in ``lines``' order; or, when some were validated meanwhile, their
    refusals (the caller answers them, and the transaction rolls the others back)."""
    if not lines:
        return [], []
    driver = await _driver(session)
    records = await driver.fetch(
        _WRITE,
        [uuid7() for _ in lines],
        [line.placement_id for line in lines],
        [line.month for line in lines],
        [line.hours_worked for line in lines],
        [line.training_hours for line in lines],
        at,
        source.value,
        principal.kind,
        principal.id,
    )
    ids: dict[Key, uuid.UUID] = {
        (record["placement_id"], record["month"]): record["id"] for record in records
    }
    refused = [
        already_validated(line) for line in lines if (line.placement_id, line.month) not in ids
    ]
    if refused:
        return [], refused
    return [ids[(line.placement_id, line.month)] for line in lines], []


def stored(
    lines: Sequence[Declared],
    ids: Sequence[uuid.UUID],
    principal: Principal,
    source: StatementSource,
    at: datetime,
) -> list[Stored]:
    """The lines :func:`write` wrote, as stored."""
    return [
        Stored(
            id=line_id,
            placement_id=line.placement_id,
            month=line.month,
            hours_worked=line.hours_worked,
            training_hours=line.training_hours,
            source=source,
            status=StatementStatus.DECLARED,
            rejection_reason=None,
            declared_by_type=principal.kind,
            declared_by_id=principal.id,
            declared_at=at,
            decided_by_user_id=None,
            decided_at=None,
        )
        for line, line_id in zip(lines, ids, strict=True)
    ]


async def _driver(session: AsyncSession) -> Any:
    driver = await session_driver(session)
    # The statements must run in the request's transaction (begun by the placements' read):
    # outside it, each would commit on its own.
    assert driver.is_in_transaction(), "no transaction open on the session's connection"
    return driver
