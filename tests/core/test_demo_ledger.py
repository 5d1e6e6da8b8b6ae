"""The demo's ledger (``maillon up --demo``): loaded once, and the figures it was built for,
worked out by hand (on 2 March 2026: contracts from 1 August 2025 to 31 July 2027, six months of
statements from September 2025 to February 2026, February declared and not yet validated)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import now
from services.core.demo.ledger import CLEANING_REFERENCE, SCHOOL_REFERENCE, load_ledger
from services.core.demo.territory import load_territory
from services.core.ledger.progress import progress
from services.core.ledger.scope import Period, ScopeKind, resolve
from services.core.models.contract import Contract
from services.core.models.outcome import PlacementOutcome
from services.core.models.placement import Placement, StatementLine, StatementStatus

pytestmark = pytest.mark.usefixtures("clock")  # 2 March 2026

TODAY = date(2026, 3, 2)
PERIOD = Period(date(2025, 8, 1), date(2026, 2, 28))


async def _contract(session: AsyncSession, reference: str) -> Contract:
    contract = await session.scalar(select(Contract).where(col(Contract.reference) == reference))
    assert contract is not None
    return contract


async def test_the_demo_ledger_loads_once_with_its_figures(db_session: AsyncSession) -> None:
    await load_territory(db_session)
    said = await load_ledger(db_session)
    assert "12 mises en emploi, 57 lignes de relevés sur 6 mois" in said
    assert "acheteur@demo.maillon.fr" in said
    assert await load_ledger(db_session) == (
        "suivi des heures d'insertion de démonstration déjà chargé"
    )
    assert await db_session.scalar(select(func.count()).select_from(Placement)) == 12
    statuses = dict(
        (
            await db_session.execute(
                select(col(StatementLine.status), func.count()).group_by(col(StatementLine.status))
            )
        ).all()
    )
    # February declared (11 placements still running then), one line rejected.
    assert statuses == {
        StatementStatus.VALIDATED: 45,
        StatementStatus.DECLARED: 11,
        StatementStatus.REJECTED: 1,
    }
    assert await db_session.scalar(select(func.count()).select_from(PlacementOutcome)) == 1

    school = await _contract(db_session, SCHOOL_REFERENCE)
    scope = await resolve(db_session, ScopeKind.CONTRACT, school.id)
    assert scope is not None
    report = await progress(db_session, scope, PERIOD, as_of=now(), today=TODAY)
    lots = {row.name.split(" — ")[0]: row.hours for row in report.lots}
    # Lot 1: 9,800,000 € × 45 % × 5 % ÷ 32 €/h = 6,890.6 → 6,891 h. Validated months less the
    # first month's 7 training hours (not counted): 120 × 5 − 7, 130 × 5 − 7, 110 × 4 − 7 (its
    # December rejected), the ACI's 80 × 5 − 7 twice and 70 × 3 − 7 (ended in November).
    assert lots["Lot 1"].hours_owed == Decimal(6891)
    assert lots["Lot 1"].counted_hours_to_date == Decimal(593 + 643 + 433 + 393 + 393 + 203)
    # Expected at the end of the last quarter due (31 December: 153 of 730 days): 1,444 h.
    assert lots["Lot 1"].expected_hours == Decimal(1444)
    assert not lots["Lot 1"].behind_schedule
    # Lot 2: 2,400 h fixed; January's 20 h less 7 of training, three people (one accepted as
    # an exception); 503 h expected: behind.
    assert lots["Lot 2"].hours_owed == Decimal(2400)
    assert lots["Lot 2"].counted_hours_to_date == Decimal(39)
    assert lots["Lot 2"].expected_hours == Decimal(503)
    assert lots["Lot 2"].behind_schedule
    assert report.by_modality.keys() >= {"direct_hire", "provision", "subcontracting"}

    cleaning = await _contract(db_session, CLEANING_REFERENCE)
    scope = await resolve(db_session, ScopeKind.CONTRACT, cleaning.id)
    assert scope is not None
    report = await progress(db_session, scope, PERIOD, as_of=now(), today=TODAY)
    # 1,500 h a year over 730 days: 3,000 h; training counts: 90 × 5 for three people.
    assert report.total.hours_owed == Decimal(3000)
    assert report.total.counted_hours_to_date == Decimal(1350)
    assert not report.total.behind_schedule
