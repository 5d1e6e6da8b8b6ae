"""Hours statements written set-based (decision 0084): a file replacing declared and rejected
months and adding new ones in one statement, refused whole for a validated month; a month
validated between the check and the write left as it is and refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.statements import store
from services.api.statements.service import Declared
from services.core.clock import FrozenClock
from services.core.models.audit import AuditEntry
from services.core.models.placement import StatementLine, StatementSource, StatementStatus
from services.core.models.user import Role
from services.core.security.principal import Principal
from services.core.settings import Settings
from tests.api.clause import count, errors_of
from tests.api.conftest import assert_problem
from tests.api.ledger import Ledger, make_ledger

pytestmark = pytest.mark.usefixtures("reference_data")

MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)
HEADER = (
    "\ufeffIdentifiant de la mise en emploi;Mois (AAAA-MM);Heures travaillées;"
    "Dont heures de formation\r\n"
)
DECIDED_AT = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
async def ledger(db_session: AsyncSession, settings: Settings, clock: FrozenClock) -> Ledger:
    clock.set(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    return await make_ledger(db_session, settings)


def _stored(placement: str, month: date, status: StatementStatus) -> StatementLine:
    return StatementLine(
        placement_id=uuid.UUID(placement),
        month=month,
        hours_worked=Decimal(100),
        training_hours=Decimal(5),
        source=StatementSource.API,
        status=status,
        rejection_reason="Fiche de paie illisible" if status is StatementStatus.REJECTED else None,
        declared_by_type="user",
        declared_at=datetime(2026, 6, 2, 8, 0, tzinfo=UTC),
        decided_at=None if status is StatementStatus.DECLARED else DECIDED_AT,
    )


async def test_a_file_replaces_declared_and_rejected_months_and_adds_new_ones(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    placements = [await ledger.placement(attribution) for _ in range(12)]
    declared = _stored(placements[0], MAY, StatementStatus.DECLARED)
    rejected = _stored(placements[1], MAY, StatementStatus.REJECTED)
    validated = _stored(placements[2], MAY, StatementStatus.VALIDATED)
    db_session.add_all([declared, rejected, validated])
    await db_session.flush()
    kept = {declared.placement_id: declared.id, rejected.placement_id: rejected.id}

    rows = [f"{p};2026-05;{120 + n},5;{n}\r\n" for n, p in enumerate(placements)]
    rows.append(f"{placements[0]};2026-06;80;0\r\n")
    content = (HEADER + "".join(rows)).encode()
    refused = await client.post(
        "/v1/hours-statements/import",
        content=content,
        headers={**ledger.facilitator, "Content-Type": "text/csv"},
    )
    problem = assert_problem(refused, 422, "validation-failed")
    assert problem["detail"] == "1 ligne(s) refusée(s) : rien n'a été enregistré."
    assert [(e["loc"], e["message"]) for e in errors_of(problem)] == [
        (
            ["file", 4, "Mois (AAAA-MM)"],
            "les heures de 05/2026 sont déjà validées : elles ne changent plus",
        )
    ]
    assert await count(db_session, StatementLine) == 3
    await db_session.refresh(declared)
    assert declared.hours_worked == Decimal(100)

    del rows[2]
    imported = await client.post(
        "/v1/hours-statements/import",
        content=(HEADER + "".join(rows)).encode(),
        headers={**ledger.facilitator, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"stored": 12, "skipped": 0}
    lines = {
        (line.placement_id, line.month): line
        for line in await db_session.scalars(
            select(StatementLine), execution_options={"populate_existing": True}
        )
    }
    assert len(lines) == 13
    declarers: set[uuid.UUID | None] = set()
    for n, placement in enumerate(placements):
        line = lines[(uuid.UUID(placement), MAY)]
        if n == 2:
            assert (line.status, line.hours_worked, line.decided_at) == (
                StatementStatus.VALIDATED,
                Decimal(100),
                DECIDED_AT,
            )
            continue
        assert (line.hours_worked, line.training_hours) == (
            Decimal(120 + n) + Decimal("0.5"),
            Decimal(n),
        )
        assert (line.source, line.status, line.rejection_reason) == (
            StatementSource.IMPORT,
            StatementStatus.DECLARED,
            None,
        )
        assert (line.decided_by_user_id, line.decided_at) == (None, None)
        assert line.declared_at == datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
        assert line.declared_by_type == "user"
        declarers.add(line.declared_by_id)
        if line.placement_id in kept:  # replaced where it stood
            assert line.id == kept[line.placement_id]
    assert lines[(uuid.UUID(placements[0]), JUNE)].hours_worked == Decimal(80)
    assert len(declarers) == 1 and None not in declarers  # the facilitator who sent the file

    (entry,) = await db_session.scalars(
        select(AuditEntry).where(col(AuditEntry.request_id) == imported.headers["x-request-id"])
    )
    assert (entry.action, entry.resource_type) == ("list", "statement_line")
    in_file_order = [(uuid.UUID(p), MAY) for n, p in enumerate(placements) if n != 2]
    in_file_order.append((uuid.UUID(placements[0]), JUNE))
    assert entry.details["ids"] == [str(lines[key].id) for key in in_file_order]


async def test_a_month_validated_before_the_write_is_left_as_it_is_and_refused(
    ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    first, second = [await ledger.placement(attribution) for _ in range(2)]
    validated = _stored(first, MAY, StatementStatus.VALIDATED)
    db_session.add(validated)
    await db_session.flush()
    principal = Principal(
        kind="user", id=uuid.uuid4(), organisation_id=uuid.uuid4(), role=Role.FACILITATOR
    )
    # As if the check had read the month before a facilitator validated it.
    lines = [
        Declared(2, uuid.UUID(second), MAY, Decimal(90), Decimal(0)),
        Declared(3, uuid.UUID(first), MAY, Decimal(1), Decimal(0)),
    ]
    ids, refusals = await store.write(
        db_session, principal, lines, StatementSource.IMPORT, datetime.now(UTC)
    )
    assert ids == []
    assert [(r.index, r.field, r.message) for r in refusals] == [
        (3, "month", "les heures de 05/2026 sont déjà validées : elles ne changent plus")
    ]
    await db_session.refresh(validated)
    assert (validated.status, validated.hours_worked) == (StatementStatus.VALIDATED, Decimal(100))
