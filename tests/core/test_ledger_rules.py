"""The ledger's rules (product.md §8, decision 0074), with figures worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.core.ledger.anru import anru_share
from services.core.ledger.counted import CountingRules, counted_hours, total_counted
from services.core.ledger.owed import Declared, hours_owed
from services.core.ledger.placements import age_bracket
from services.core.ledger.schedule import period_of, periods
from services.core.models.obligation import (
    AnruFamily,
    Modality,
    Obligation,
    ObligationMethod,
    StatementSchedule,
)
from services.core.models.offer import ContractType
from services.core.models.placement import (
    AgeBracket,
    Placement,
    PlacementStatus,
    StatementLine,
    StatementSource,
    StatementStatus,
)

START, END = date(2026, 1, 1), date(2027, 12, 31)
NOTHING = Declared()
D = Decimal


def _owed(declared: Declared = NOTHING, start: date = START, end: date = END, **kw: Any) -> D:
    return hours_owed(
        Obligation(contract_id=uuid.uuid4(), **kw), start=start, end=end, declared=declared
    )


def test_fixed_hours() -> None:
    assert _owed(method=ObligationMethod.FIXED_HOURS, fixed_hours=D(700)) == D(700)


def test_labour_share_of_the_acceptance() -> None:
    # 1,000,000 € × 50 % × 5 % ÷ 30 €/h = 833.33… h → 833 h
    owed = _owed(
        method=ObligationMethod.LABOUR_SHARE,
        amount=D(1_000_000),
        labour_share_percent=D(50),
        insertion_rate_percent=D(5),
        hourly_cost=D(30),
    )
    assert owed == D(833)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(D(1_005_000), D(838)), (D(1_006_000), D(838)), (D(1_007_000), D(839))],
)
def test_labour_share_rounds_halves_up(amount: D, expected: D) -> None:
    # 1,005,000 → 837.5 → 838; 1,006,000 → 838.33 → 838; 1,007,000 → 839.17 → 839
    owed = _owed(
        method=ObligationMethod.LABOUR_SHARE,
        amount=amount,
        labour_share_percent=D(50),
        insertion_rate_percent=D(5),
        hourly_cost=D(30),
    )
    assert owed == expected


@pytest.mark.parametrize(
    ("invoiced", "expected"),
    [
        (D(2_700_000), D(0)),
        (D(2_701_999), D(0)),
        (D(2_702_000), D(1)),
        (D(2_710_000), D(5)),
        (D(2_711_999), D(5)),
        (D(1_000_000), D(0)),
    ],
)
def test_per_invoiced_tranche_counts_complete_tranches(invoiced: D, expected: D) -> None:
    owed = _owed(
        Declared(amount_invoiced=invoiced),
        method=ObligationMethod.PER_INVOICED_TRANCHE,
        tranche_amount=D(2000),
        tranche_threshold=D(2_700_000),
    )
    assert owed == expected


def test_share_of_hours_worked() -> None:
    # 5 % of 12,345 h = 617.25 h → 617 h
    owed = _owed(
        Declared(hours_worked=D(12_345)),
        method=ObligationMethod.SHARE_OF_HOURS_WORKED,
        hours_share_percent=D(5),
    )
    assert owed == D(617)


def test_hours_per_year_pro_rata() -> None:
    # 110 h a year over 2026 (365 days) → 110; over two years (730 days) → 220;
    # over 1 January – 30 June 2026 (181 days) → 110 × 181 / 365 = 54.55 → 55
    kw: dict[str, Any] = {"method": ObligationMethod.HOURS_PER_YEAR, "hours_per_year": D(110)}
    assert _owed(start=date(2026, 1, 1), end=date(2026, 12, 31), **kw) == D(110)
    assert _owed(**kw) == D(220)
    assert _owed(start=date(2026, 1, 1), end=date(2026, 6, 30), **kw) == D(55)


def test_a_missing_parameter_owes_nothing_yet() -> None:
    assert _owed(method=ObligationMethod.LABOUR_SHARE, amount=D(10)) == D(0)
    assert _owed(method=ObligationMethod.FIXED_HOURS) == D(0)


# -- counted hours ---------------------------------------------------------------------------


def _placement(**kw: Any) -> Placement:
    values: dict[str, Any] = {
        "candidate_id": uuid.uuid4(),
        "attribution_id": uuid.uuid4(),
        "employer_id": uuid.uuid4(),
        "modality": Modality.DIRECT_HIRE,
        "contract_type": ContractType.CDD,
        "start_date": date(2026, 3, 10),
        "end_date": date(2026, 8, 20),
        "status": PlacementStatus.ACTIVE,
        "frozen_at": datetime(2026, 3, 10, tzinfo=UTC),
        "eligibility_criteria": ["RSA"],
    }
    values.update(kw)
    return Placement(**values)


def _line(
    month: date,
    hours: str,
    training: str = "0",
    status: StatementStatus = StatementStatus.VALIDATED,
) -> StatementLine:
    return StatementLine(
        placement_id=uuid.uuid4(),
        month=month,
        hours_worked=D(hours),
        training_hours=D(training),
        source=StatementSource.API,
        status=status,
        declared_by_type="user",
        declared_at=datetime(2026, 4, 1, tzinfo=UTC),
    )


def test_only_validated_lines_count() -> None:
    rules = CountingRules()
    p = _placement()
    assert counted_hours(rules, p, _line(date(2026, 4, 1), "120")) == D(120)
    assert (
        counted_hours(rules, p, _line(date(2026, 4, 1), "120", status=StatementStatus.DECLARED))
        == 0
    )
    assert (
        counted_hours(rules, p, _line(date(2026, 4, 1), "120", status=StatementStatus.REJECTED))
        == 0
    )


def test_training_hours_count_only_when_allowed() -> None:
    p = _placement()
    line = _line(date(2026, 4, 1), "120", training="20")
    assert counted_hours(CountingRules(training_counts=False), p, line) == D(100)
    assert counted_hours(CountingRules(training_counts=True), p, line) == D(120)


def test_nothing_outside_the_placements_dates() -> None:
    rules = CountingRules()
    p = _placement()  # 10 March – 20 August 2026
    assert counted_hours(rules, p, _line(date(2026, 2, 1), "50")) == 0
    assert counted_hours(rules, p, _line(date(2026, 3, 1), "50")) == D(50)  # meets 10 March
    assert counted_hours(rules, p, _line(date(2026, 8, 1), "50")) == D(50)
    assert counted_hours(rules, p, _line(date(2026, 9, 1), "50")) == 0


def test_a_cdi_counts_only_during_the_capped_years() -> None:
    rules = CountingRules(cdi_cap_years=4)
    cdi = _placement(contract_type=ContractType.CDI, start_date=date(2026, 3, 10), end_date=None)
    assert counted_hours(rules, cdi, _line(date(2030, 2, 1), "151.67")) == D("151.67")
    assert counted_hours(rules, cdi, _line(date(2030, 3, 1), "151.67")) == D("151.67")  # < 10/03
    assert counted_hours(rules, cdi, _line(date(2030, 4, 1), "151.67")) == 0
    # a CDD is never capped, nor a CDI without a cap
    assert counted_hours(rules, _placement(end_date=None), _line(date(2031, 1, 1), "10")) == D(10)
    assert counted_hours(CountingRules(), cdi, _line(date(2031, 1, 1), "10")) == D(10)


def test_modality_and_eligibility() -> None:
    line = _line(date(2026, 4, 1), "100")
    provided = _placement(modality=Modality.PROVISION)
    assert (
        counted_hours(
            CountingRules(allowed_modalities=frozenset({Modality.DIRECT_HIRE})), provided, line
        )
        == 0
    )
    assert counted_hours(CountingRules(), provided, line) == D(100)
    flagged = _placement(eligibility_criteria=[], eligibility_flagged=True)
    assert counted_hours(CountingRules(), flagged, line) == 0
    accepted = _placement(
        eligibility_criteria=[], eligibility_flagged=True, exception_reason="Sortie de détention"
    )
    assert counted_hours(CountingRules(), accepted, line) == D(100)
    rsa_only = CountingRules(eligible_publics=frozenset({"DELD", "JEUNE"}))
    assert counted_hours(rsa_only, _placement(), line) == 0
    assert counted_hours(rsa_only, _placement(eligibility_criteria=["JEUNE"]), line) == D(100)
    draft = _placement(status=PlacementStatus.DRAFT)
    assert counted_hours(CountingRules(), draft, line) == 0


def test_total_counted() -> None:
    p = _placement()
    lines = [(p, _line(date(2026, m, 1), "100", training="10")) for m in (3, 4, 5)]
    assert total_counted(CountingRules(), lines) == D(270)


# -- ANRU ------------------------------------------------------------------------------------


def test_anru_investment_at_4_9_percent_is_not_met_at_5_0_it_is() -> None:
    not_met = anru_share(AnruFamily.INVESTMENT, D(490), D(10_000))
    met = anru_share(AnruFamily.INVESTMENT, D(500), D(10_000))
    assert not_met is not None and met is not None
    assert (not_met.share_percent, not_met.met) == (D("4.90"), False)
    assert (met.share_percent, met.met) == (D("5.00"), True)
    # just below the threshold, however small the gap
    almost = anru_share(AnruFamily.INVESTMENT, D("499.99"), D(10_000))
    assert almost is not None and almost.met is False


def test_anru_gup_needs_10_percent() -> None:
    below = anru_share(AnruFamily.GUP, D(999), D(10_000))
    at = anru_share(AnruFamily.GUP, D(1000), D(10_000))
    assert below is not None and below.met is False
    assert at is not None and at.met is True
    assert anru_share(AnruFamily.NONE, D(1), D(1)) is None
    assert anru_share(AnruFamily.ENGINEERING, D(1), D(1)) is None
    nothing = anru_share(AnruFamily.GUP, D(10), D(0))
    assert nothing is not None and nothing.met is None


# -- schedules and frozen brackets -------------------------------------------------------------


def test_quarterly_statements_are_due_the_15th_of_the_next_month() -> None:
    q = period_of(StatementSchedule.QUARTERLY, date(2026, 11, 7))
    assert (q.start, q.end, q.due) == (date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 15))
    q1 = period_of(StatementSchedule.QUARTERLY, date(2026, 2, 28))
    assert (q1.start, q1.end, q1.due) == (date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 15))
    m = period_of(StatementSchedule.MONTHLY, date(2026, 2, 3), due_day=10)
    assert (m.start, m.end, m.due) == (date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 10))
    assert [
        p.due for p in periods(StatementSchedule.QUARTERLY, date(2026, 2, 1), date(2026, 9, 1))
    ] == [
        date(2026, 4, 15),
        date(2026, 7, 15),
        date(2026, 10, 15),
    ]


def test_age_brackets() -> None:
    on = date(2026, 5, 1)
    assert age_bracket(2001, on) is AgeBracket.UNDER_26
    assert age_bracket(2000, on) is AgeBracket.FROM_26_TO_49
    assert age_bracket(1977, on) is AgeBracket.FROM_26_TO_49
    assert age_bracket(1976, on) is AgeBracket.FROM_50
    assert age_bracket(None, on) is None
