"""One chunk of the import in one transaction, set-based.

Contact keys are locked (the advisory locks intakes and ``POST /v1/candidates`` take), the stored
people they name are read and locked, the rows are laid over them in memory
(:mod:`.people`), then everything is written with ``COPY``: new candidates, their shares,
``candidate.created`` / ``candidate.updated`` in the outbox and one audit entry per person; the
people found again are updated from a temporary table in one ``UPDATE … FROM``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.api.candidates.bulk.people import (
    LISTS,
    QPV_COLUMNS,
    SCALARS,
    STORED_COLUMNS,
    resolve,
)
from services.api.candidates.bulk.rows import ValidRow
from services.core.events import CandidateCreated, CandidateUpdated
from services.core.geo.qpv import QpvIndex
from services.core.ids import uuid7
from services.core.models.candidate import ShareReason

# Every column of a new candidate the import writes; the database fills the rest (generated
# search vector, server defaults).
NEW_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "updated_at",
    *SCALARS,
    "search_name",
    "lon",
    "lat",
    *LISTS,
    *QPV_COLUMNS,
    "geocoding_attempts",
    "status",
    "last_activity_at",
)
# What a row may change on a stored person.
UPDATED_COLUMNS: tuple[str, ...] = (*SCALARS, "search_name", "lon", "lat", *LISTS, *QPV_COLUMNS)

_LOCK = (
    "SELECT count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0))) "
    "FROM (SELECT k FROM unnest($1::text[]) AS k ORDER BY k) AS ordered"
)
# Column and table names below are constants of this module, never input. Each contact key is
# looked up through its own index (a join on the keys' list, whatever the statistics say), then
# the people are read and locked by id; the dead (anonymised, merged) are set aside in Python.
_STORED = (
    f"SELECT {', '.join(STORED_COLUMNS)}, anonymised_at, merged_into_id "  # noqa: S608
    "FROM candidate WHERE id IN ("
    "SELECT p.id FROM unnest($1::text[]) AS k(v) JOIN candidate AS p ON p.phone_e164 = k.v "
    "UNION SELECT e.id FROM unnest($2::text[]) AS k(v) JOIN candidate AS e ON e.email = k.v"
    ") ORDER BY created_at, id FOR UPDATE"
)
_SHARED = (
    "SELECT candidate_id FROM candidate_share "
    "WHERE organisation_id = $1 AND candidate_id = ANY($2::uuid[])"
)
_UPDATE_TABLE = "bulk_candidate_update"


@dataclass
class ChunkResult:
    created: int = 0
    linked: int = 0  # rows laid over a stored person
    updated: int = 0  # stored people whose profile changed
    shared: int = 0  # stored people newly shared with the organisation
    duplicates: int = 0  # rows laid over a person created earlier in the file
    created_ids: list[uuid.UUID] = field(default_factory=list)


def _event(
    event_type: str, candidate_id: uuid.UUID, moment: datetime, request_id: str | None
) -> tuple[Any, ...]:
    return (
        uuid7(),
        event_type,
        json.dumps({"candidate_id": str(candidate_id)}),
        moment,
        request_id,
        0,
    )


async def write_chunk(
    connection: Any,
    rows: Sequence[ValidRow],
    *,
    organisation_id: uuid.UUID,
    import_id: uuid.UUID,
    qpv: QpvIndex | None,
    moment: datetime,
    request_id: str | None,
    actor: tuple[str, uuid.UUID | None],
    created_earlier: Set[uuid.UUID] = frozenset(),
) -> ChunkResult:
    """Write ``rows`` on ``connection`` (asyncpg, inside the caller's transaction)."""
    result = ChunkResult()
    keys = sorted({key for row in rows for key in row.contact_keys()})
    phones = [key.removeprefix("phone:") for key in keys if key.startswith("phone:")]
    emails = [key.removeprefix("email:") for key in keys if key.startswith("email:")]
    stored: list[Any] = []
    if keys:
        await connection.execute(_LOCK, keys)
        stored = [
            record
            for record in await connection.fetch(_STORED, phones, emails)
            if record["anonymised_at"] is None and record["merged_into_id"] is None
        ]
    resolution = resolve(rows, stored)
    known = [person.id for person in resolution.people if not person.is_new]
    already_shared: set[uuid.UUID] = set()
    if known:
        already_shared = {
            record[0] for record in await connection.fetch(_SHARED, organisation_id, known)
        }

    candidates: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    shares: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    audits: list[tuple[Any, ...]] = []
    actor_type, actor_id = actor

    def audit(action: str, candidate_id: uuid.UUID, details: dict[str, Any]) -> None:
        audits.append(
            (
                uuid7(),
                moment,
                actor_type,
                actor_id,
                organisation_id,
                action,
                "candidate",
                candidate_id,
                request_id,
                json.dumps({"import_id": str(import_id), **details}),
            )
        )

    for person in resolution.people:
        person.settle(qpv, moment)
        if person.is_new:
            values = person.new_candidate_values(moment)
            candidates.append(tuple(values[name] for name in NEW_COLUMNS))
            shares.append((person.id, organisation_id, ShareReason.CREATED.value, moment))
            events.append(_event(CandidateCreated.type, person.id, moment, request_id))
            audit("create", person.id, {"lines": person.lines})
            result.created += 1
            result.created_ids.append(person.id)
            result.duplicates += len(person.lines) - 1
            continue
        updates.append((person.id, *(person.values[name] for name in UPDATED_COLUMNS)))
        if person.id in created_earlier:  # by an earlier chunk of the same file
            result.duplicates += len(person.lines)
            if person.field_names():
                events.append(_event(CandidateUpdated.type, person.id, moment, request_id))
                audit("update", person.id, {"fields": person.field_names(), "lines": person.lines})
            continue
        result.linked += len(person.lines)
        if person.id not in already_shared:
            shares.append((person.id, organisation_id, ShareReason.CREATED.value, moment))
            audit("share", person.id, {"organisation_id": str(organisation_id)})
            result.shared += 1
        if person.field_names():
            events.append(_event(CandidateUpdated.type, person.id, moment, request_id))
            audit("update", person.id, {"fields": person.field_names(), "lines": person.lines})
            result.updated += 1

    if candidates:
        await connection.copy_records_to_table("candidate", records=candidates, columns=NEW_COLUMNS)
    if updates:
        await _update_stored(connection, updates, moment)
    if shares:
        await connection.copy_records_to_table(
            "candidate_share",
            records=shares,
            columns=("candidate_id", "organisation_id", "reason", "created_at"),
        )
    if events:
        await connection.copy_records_to_table(
            "outbox_event",
            records=events,
            columns=("id", "type", "payload", "occurred_at", "request_id", "publish_attempts"),
        )
    if audits:
        await connection.copy_records_to_table(
            "audit_entry",
            records=audits,
            columns=(
                "id",
                "occurred_at",
                "actor_type",
                "actor_id",
                "organisation_id",
                "action",
                "resource_type",
                "resource_id",
                "request_id",
                "details",
            ),
        )
    return result


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
