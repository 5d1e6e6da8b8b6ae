"""A contract's progress (§8.6 item 1, decision 0074), with figures worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from services.core.ledger.progress import elapsed_share, progress
from services.core.models.attribution import Attribution, AttributionRole
from services.core.models.obligation import Modality, Obligation, ObligationMethod
from services.core.models.placement import (
    Placement,
    PlacementStatus,
    StatementLine,
    StatementSource,
    StatementStatus,
)

D = Decimal
CONTRACT = uuid.uuid4()
LOT1, LOT2 = uuid.uuid4(), uuid.uuid4()


def _attribution(lot: uuid.UUID, share: str, parent: Attribution | None = None) -> Attribution:
    return Attribution(
        id=uuid.uuid4(),
        contract_id=CONTRACT,
        lot_id=lot,
        organisation_id=uuid.uuid4(),
        role=AttributionRole.SUBCONTRACTOR if parent else AttributionRole.HOLDER,
        allocated_share_percent=D(share),
        parent_attribution_id=parent.id if parent else None,
    )


def _placement(attribution: Attribution) -> Placement:
    return Placement(
        id=uuid.uuid4(),
        candidate_id=uuid.uuid4(),
        attribution_id=attribution.id,
        employer_id=attribution.organisation_id,
        modality=Modality.DIRECT_HIRE,
        start_date=date(2026, 1, 5),
        status=PlacementStatus.ACTIVE,
        frozen_at=datetime(2026, 1, 5, tzinfo=UTC),
        eligibility_criteria=["RSA"],
    )


def _line(
    placement: Placement, month: int, hours: str, training: str = "0", status: str = "validated"
) -> tuple[Placement, StatementLine]:
    return placement, StatementLine(
        placement_id=placement.id,
        month=date(2026, month, 1),
        hours_worked=D(hours),
        training_hours=D(training),
        source=StatementSource.API,
        status=StatementStatus(status),
        declared_by_type="user",
        declared_at=datetime(2026, month, 20, tzinfo=UTC),
    )


def test_elapsed_share() -> None:
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    assert elapsed_share(start, end, date(2025, 12, 31)) == 0
    assert elapsed_share(start, end, date(2026, 12, 31)) == 1
    assert elapsed_share(start, end, date(2026, 6, 30)) == D(181) / D(365)


def test_a_contract_with_two_lots_a_subcontractor_and_a_lot_behind() -> None:
    fixed = Obligation(
        id=uuid.uuid4(),
        contract_id=CONTRACT,
        lot_id=LOT1,
        method=ObligationMethod.FIXED_HOURS,
        fixed_hours=D(700),
        hours_owed=D(700),
        training_counts=False,
    )
    labour = Obligation(
        id=uuid.uuid4(),
        contract_id=CONTRACT,
        lot_id=LOT2,
        method=ObligationMethod.LABOUR_SHARE,
        hours_owed=D(833),
    )
    holder = _attribution(LOT1, "80")
    sub = _attribution(LOT1, "20", parent=holder)
    rival = _attribution(LOT2, "100")
    p_holder, p_sub, p_rival = _placement(holder), _placement(sub), _placement(rival)
    lines = [
        # the holder: 100 h a month, 10 of them training, January to June → 6 × 90 = 540
        *(_line(p_holder, m, "100", "10") for m in range(1, 7)),
        # July is after the day of reading: left out
        _line(p_holder, 7, "100"),
        # the subcontractor: 3 × 50 = 150 validated; 40 h declared, waiting
        *(_line(p_sub, m, "50") for m in (2, 3, 4)),
        _line(p_sub, 5, "40", status="declared"),
        # the rival on lot 2: one line rejected, one waiting (80 h)
        _line(p_rival, 4, "120", status="rejected"),
        _line(p_rival, 5, "80", status="declared"),
    ]
    result = progress(
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        on=date(2026, 6, 30),
        lot_ids=[LOT1, LOT2],
        obligations=[fixed, labour],
        attributions=[holder, sub, rival],
        lines=lines,
    )
    lot1, lot2 = result.lots
    # Lot 1: 540 + 150 = 690 of 700 → 98.57 %, 10 h remaining; 700 × 181 / 365 = 347.12 expected.
    assert (lot1.figures.owed, lot1.figures.counted, lot1.figures.pending) == (
        D(700),
        D(690),
        D(40),
    )
    assert lot1.figures.rate_percent == D("98.57")
    assert lot1.figures.remaining == D(10)
    assert lot1.expected_by_now == D("347.12")
    assert lot1.behind_schedule is False
    h, s = lot1.companies
    assert (h.figures.owed, h.figures.counted, h.with_subcontractors) == (D(560), D(540), D(690))
    assert (s.figures.owed, s.figures.counted, s.figures.pending) == (D(140), D(150), D(40))
    assert s.figures.rate_percent == D("107.14")  # over-achievement reported as such
    # Lot 2: nothing counted; 833 × 181 / 365 = 413.08 expected → behind schedule.
    assert (lot2.figures.counted, lot2.figures.pending) == (D(0), D(80))
    assert lot2.expected_by_now == D("413.08")
    assert lot2.behind_schedule is True
    assert lot2.figures.rate_percent == D("0.00")
    # The contract: 1,533 h owed, 690 counted, 120 waiting, behind (one lot is).
    assert (result.figures.owed, result.figures.counted, result.figures.pending) == (
        D(1533),
        D(690),
        D(120),
    )
    assert result.expected_by_now == D("760.20")
    assert result.behind_schedule is True
    assert result.elapsed_percent == D("49.59")
