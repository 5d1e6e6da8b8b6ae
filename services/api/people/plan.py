"""What writing people and intakes writes: the rows, planned in memory.

:func:`plan_people` turns the people a set of rows names (:class:`Found`: laid over the stored
ones by :mod:`.persons`) into the rows to write (:class:`Writes`): new candidates, the people
found again updated, their shares, ``candidate.created`` / ``candidate.updated`` in the outbox
(:func:`services.core.events.outbox_row`, as every event), and one audit entry per person when
the caller asks for them (the import; an intake audits the intake itself). :mod:`.store` writes
them.
"""

from __future__ import annotations

import uuid
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.api.people.columns import NEW_COLUMNS, UPDATED_COLUMNS
from services.api.people.persons import Resolution
from services.core.events import CandidateCreated, CandidateUpdated, Event, outbox_row
from services.core.geo.qpv import QpvIndex
from services.core.ids import uuid7
from services.core.models.candidate import ShareReason

Row = dict[str, Any]


@dataclass
class ChunkResult:
    created: int = 0
    linked: int = 0  # rows laid over a stored person
    updated: int = 0  # stored people whose profile changed
    shared: int = 0  # stored people newly shared (a facilitator's form: one of its territory)
    duplicates: int = 0  # rows laid over a person created earlier in the file
    created_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Writes:
    """The rows to write, column name → value (JSON columns as Python values)."""

    candidates: list[Row] = field(default_factory=list)
    updates: list[Row] = field(default_factory=list)  # id, UPDATED_COLUMNS, updated_at
    shares: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    audits: list[Row] = field(default_factory=list)
    intakes: list[Row] = field(default_factory=list)
    result: ChunkResult = field(default_factory=ChunkResult)


@dataclass
class Found:
    resolution: Resolution
    already_shared: set[uuid.UUID]


def audit_row(
    moment: datetime,
    actor: tuple[str, uuid.UUID | None],
    organisation_id: uuid.UUID,
    action: str,
    resource: tuple[str, uuid.UUID],
    request_id: str | None,
    details: dict[str, Any],
) -> Row:
    return {
        "id": uuid7(),
        "occurred_at": moment,
        "actor_type": actor[0],
        "actor_id": actor[1],
        "organisation_id": organisation_id,
        "action": action,
        "resource_type": resource[0],
        "resource_id": resource[1],
        "request_id": request_id,
        "details": details,
    }


def plan_people(
    found: Found,
    *,
    organisation_id: uuid.UUID,
    qpv: QpvIndex | None,
    moment: datetime,
    request_id: str | None,
    link_reason: ShareReason,
    audit_context: dict[str, Any] | None,
    actor: tuple[str, uuid.UUID | None],
    created_earlier: Set[uuid.UUID] = frozenset(),
) -> Writes:
    """The rows that store ``found``'s people; ``audit_context`` None: no audit entry per person
    (the caller audits what it records, as an intake does)."""
    writes = Writes()
    result = writes.result

    def audit(action: str, candidate_id: uuid.UUID, details: dict[str, Any]) -> None:
        if audit_context is not None:
            writes.audits.append(
                audit_row(
                    moment,
                    actor,
                    organisation_id,
                    action,
                    ("candidate", candidate_id),
                    request_id,
                    {**audit_context, **details},
                )
            )

    def event(event: Event) -> None:
        writes.events.append(outbox_row(event, moment=moment, request_id=request_id))

    def share(candidate_id: uuid.UUID, reason: ShareReason) -> None:
        writes.shares.append(
            {
                "candidate_id": candidate_id,
                "organisation_id": organisation_id,
                "reason": reason.value,
                "created_at": moment,
            }
        )

    for person in found.resolution.people:
        person.settle(qpv, moment)
        if person.is_new:
            values = person.new_candidate_values(moment)
            writes.candidates.append({name: values[name] for name in NEW_COLUMNS})
            share(person.id, ShareReason.CREATED)
            event(CandidateCreated(candidate_id=person.id))
            audit("create", person.id, {"lines": person.lines})
            result.created += 1
            result.created_ids.append(person.id)
            result.duplicates += len(person.lines) - 1
            continue
        writes.updates.append(
            {
                "id": person.id,
                **{name: person.values[name] for name in UPDATED_COLUMNS},
                "updated_at": moment,
            }
        )
        if person.id in created_earlier:  # by an earlier chunk of the same file
            result.duplicates += len(person.lines)
            if person.field_names():
                event(CandidateUpdated(candidate_id=person.id))
                audit("update", person.id, {"fields": person.field_names(), "lines": person.lines})
            continue
        result.linked += len(person.lines)
        if person.id not in found.already_shared:
            share(person.id, link_reason)
            audit("share", person.id, {"organisation_id": str(organisation_id)})
            result.shared += 1
        if person.field_names():
            event(CandidateUpdated(candidate_id=person.id))
            audit("update", person.id, {"fields": person.field_names(), "lines": person.lines})
            result.updated += 1
    return writes
