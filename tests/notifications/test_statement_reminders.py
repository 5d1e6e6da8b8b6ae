"""Statement reminders (decision 0077): the referent of an attribution with undeclared months is
reminded once the period has ended, then once more when the due date has passed; nothing when
every month is declared."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.contract import ContractStatus
from services.core.models.notification import Notification
from services.core.models.obligation import Modality, Obligation, ObligationMethod
from services.core.models.organisation import OrganisationKind
from services.core.models.placement import (
    Placement,
    PlacementStatus,
    StatementLine,
    StatementSource,
)
from services.core.models.user import Role
from services.core.settings import Settings
from services.notifications.statements import statement_reminders
from tests.factories import make_candidate, make_contract, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("clock")


async def _kinds(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(col(Notification.kind), col(Notification.key)).order_by(col(Notification.key))
    )
    return [(kind, key) for kind, key in rows]


async def test_due_then_late_then_nothing_once_declared(
    db_session: AsyncSession, settings: Settings
) -> None:
    facilitation = await make_organisation(db_session, kind=OrganisationKind.FACILITATION)
    buyer = await make_organisation(db_session, kind=OrganisationKind.BUYER, parent=facilitation)
    company = await make_organisation(db_session, parent=facilitation)
    referent = await make_user(db_session, company, Role.EMPLOYER)
    contract = await make_contract(
        db_session, buyer, holders=[company], lots=[(1, "Gros œuvre")], status=ContractStatus.ACTIVE
    )
    (lot,) = contract.lots
    db_session.add(
        Obligation(
            contract_id=contract.id,
            lot_id=lot.id,
            method=ObligationMethod.FIXED_HOURS,
            fixed_hours=Decimal(700),
            hours_owed=Decimal(700),
        )
    )
    attribution = Attribution(
        contract_id=contract.id,
        lot_id=lot.id,
        organisation_id=company.id,
        role=AttributionRole.HOLDER,
        referent_user_id=referent.id,
    )
    silent = Attribution(  # no referent: nobody to remind
        contract_id=contract.id,
        lot_id=lot.id,
        organisation_id=(await make_organisation(db_session, parent=facilitation)).id,
        role=AttributionRole.SUBCONTRACTOR,
    )
    db_session.add_all([attribution, silent])
    await db_session.flush()
    candidate = await make_candidate(db_session, facilitation)
    placement = Placement(
        candidate_id=candidate.id,
        attribution_id=attribution.id,
        employer_id=company.id,
        modality=Modality.DIRECT_HIRE,
        start_date=date(2026, 2, 9),
        status=PlacementStatus.ACTIVE,
        frozen_at=now(),
        eligibility_criteria=["RSA"],
    )
    db_session.add(placement)
    await db_session.flush()
    february = StatementLine(
        placement_id=placement.id,
        month=date(2026, 2, 1),
        hours_worked=Decimal(80),
        source=StatementSource.API,
        declared_by_type="user",
        declared_at=now(),
    )
    db_session.add(february)
    await db_session.flush()

    # During the first quarter: nothing is due yet.
    assert await statement_reminders(db_session, date(2026, 3, 20), settings) == 0
    # 2 April: the quarter ended, March is missing → due by 15 April.
    assert await statement_reminders(db_session, date(2026, 4, 2), settings) == 1
    key = f"statement:{attribution.id}:2026-01-01"
    assert await _kinds(db_session) == [("statement.due", f"{key}:statement.due")]
    # Once only.
    assert await statement_reminders(db_session, date(2026, 4, 3), settings) == 0
    # 16 April: late.
    assert await statement_reminders(db_session, date(2026, 4, 16), settings) == 1
    assert [kind for kind, _ in await _kinds(db_session)] == ["statement.due", "statement.late"]
    notification = await db_session.scalar(
        select(Notification).where(col(Notification.kind) == "statement.late")
    )
    assert notification is not None
    assert notification.recipient_user_id == referent.id
    assert notification.context["period"] == "1er trimestre 2026"
    assert notification.context["due_on"] == "15/04/2026"
    assert notification.context["missing"] == 1
    # March declared: the second quarter's reminder is the next one, in July.
    db_session.add(
        StatementLine(
            placement_id=placement.id,
            month=date(2026, 3, 1),
            hours_worked=Decimal(151),
            source=StatementSource.API,
            declared_by_type="user",
            declared_at=now(),
        )
    )
    await db_session.flush()
    assert await statement_reminders(db_session, date(2026, 4, 20), settings) == 0
