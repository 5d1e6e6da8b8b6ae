"""Clause progress (product.md §8.6, decision 0078): every indicator for a scope and a period.

Set-based queries (``progress.sql``) give the obligations of the scope and its attributions,
the sums of its hours and statements due already added up by obligation, company, the whole
scope and by modality, employer's kind and company size, its participants grouped by what their
first placement froze, and its placements by contract type and length; what each obligation
owes, expects and risks is worked out here, and added up into the rows of its contracts.
Aggregates only: no participant is named, nothing is audited.

Hours *counted* are those of §8.4 (decision 0074); the period's own are ``counted_hours``, those
of every month up to its end ``counted_hours_to_date``, which the rate, the remaining hours, the
pace, the penalty exposure and the ANRU shares are measured with.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from operator import add
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.ledger.anru import AnruShare, anru_share
from services.core.ledger.figures import (
    LENGTHS,
    OPEN_ENDED,
    UNDER_50,
    UNKNOWN,
    ZERO,
    Hours,
    Publics,
    Row,
    Target,
    percent,
)
from services.core.ledger.pace import pace
from services.core.ledger.progress_sql import query
from services.core.ledger.scope import Period, Scope
from services.core.models.obligation import AnruFamily, StatementSchedule
from services.core.settings import Settings


@dataclass
class Progress:
    scope: Scope
    period: Period
    as_of: datetime
    total: Hours
    lots: list[Row]
    contracts: list[Row]
    companies: list[Row]
    by_modality: dict[str, Decimal]
    by_employer_kind: dict[str, Decimal]
    by_company_size: dict[str, Decimal]
    anru: list[AnruShare]
    participants: Publics
    new_entrants: Publics
    targets: list[Target]
    placements_by_contract_type: dict[str, int]
    placements_by_length: dict[str, int]
    budget_plan_hours: Decimal
    qpv_hours_to_date: Decimal
    # Outcomes at exit, +6 and +12 months (§8.5) are not recorded yet: None.
    outcomes: dict[str, dict[str, int]] | None = None

    @property
    def under_50_hours(self) -> Decimal:
        return sum((self.by_company_size.get(size, ZERO) for size in UNDER_50), ZERO)

    @property
    def under_50_share_percent(self) -> Decimal | None:
        return percent(self.under_50_hours, self.total.counted_hours)

    @property
    def hours_per_participant(self) -> Decimal | None:
        if not self.participants.total:
            return None
        return (self.total.counted_hours / self.participants.total).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )


def targets_of(settings: Settings) -> dict[str, Decimal]:
    """The territory's targets (decision 0078), by public."""
    return {str(public): Decimal(str(value)) for public, value in settings.progress_targets.items()}


def cents(hundredths: int) -> Decimal:
    """Hours given in hundredths (the queries add integers)."""
    return Decimal(hundredths) / 100 if hundredths else ZERO


# What the sums query adds up per row, in this order (then, for the total, the QPV hours to date).
_SUMS = (
    "counted_hours",
    "counted_hours_to_date",
    "declared_not_validated",
    "rejected_hours",
    "qpv_hours",
    "subcontracted_hours",
    "statements_due",
    "statements_received",
    "statements_late",
)


def _hours(sums: list[int]) -> Hours:
    counted, to_date, pending, rejected, qpv, subcontracted, due, received, late = sums
    return Hours(
        counted_hours=cents(counted),
        counted_hours_to_date=cents(to_date),
        declared_not_validated=cents(pending),
        rejected_hours=cents(rejected),
        qpv_hours=cents(qpv),
        subcontracted_hours=cents(subcontracted),
        statements_due=due,
        statements_received=received,
        statements_late=late,
    )


def _length(days: int | None) -> str:
    if days is None:
        return OPEN_ENDED
    for key, up_to in LENGTHS:
        if up_to is None or days <= up_to:
            return key
    return LENGTHS[-1][0]


async def progress(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    *,
    as_of: datetime,
    today: date,
    targets: Mapping[str, Decimal] | None = None,
) -> Progress:
    """Every indicator of §8.6 for ``scope`` over ``period``, as known on ``today``."""
    params: dict[str, Any] = {
        "scope_contracts": list(scope.contract_ids),
        "scope_lot": scope.lot_id,
        "scope_company": scope.company_id,
        "start": period.start,
        "end": period.end,
        "start_month": period.start_month,
        "today": today,
    }

    def q(name: str) -> TextClause:
        return query(name, lot=scope.lot_id is not None, company=scope.company_id is not None)

    # These queries are short for a contract and one pass over the placements for a territory:
    # JIT compiling them costs more than it saves (measured on the P8 data). The same text serves
    # one contract and five thousand: a scope of several contracts is planned for its own values,
    # never with the generic plan a connection's prepared statement settles on after five
    # contracts (a contract keeps it: planning would cost it more than it saves).
    await session.execute(
        text("SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', :mode, true)"),
        {"mode": "force_custom_plan" if len(scope.contract_ids) > 1 else "auto"},
    )
    obligations = (await session.execute(q("obligations"), params)).mappings().all()
    # The companies' rows are built from them; a company's own report has none.
    attributions = (
        {row["id"]: row for row in (await session.execute(q("attributions"), params)).mappings()}
        if scope.company_id is None
        else {}
    )
    # -- the sums, added up by the database: per obligation, per company, for the whole scope,
    # and by modality, employer's kind and company size (integers: hundredths of an hour and
    # statement counts, turned into hours once per row).
    width = len(_SUMS)
    obligation_sums: dict[tuple[uuid.UUID, uuid.UUID | None], list[int]] = {}
    by_company: dict[uuid.UUID, Hours] = defaultdict(Hours)
    total_sums = [0] * width
    qpv_to_date = 0
    breakdowns: dict[str, dict[str, int]] = {"modality": {}, "employer_kind": {}, "size": {}}
    for kind, contract_id, lot_id, company, label, *sums in await session.execute(
        q("sums"), params
    ):
        if kind == "obligation":
            obligation_sums[contract_id, lot_id] = sums[:-1]
        elif kind == "company":
            by_company[company] = _hours(sums[:-1])
        elif kind == "total":
            total_sums, qpv_to_date = sums[:-1], sums[-1]
        else:
            breakdowns[kind][label or UNKNOWN] = sums[0]
    total = _hours(total_sums)
    by_modality = breakdowns["modality"]
    by_employer_kind = breakdowns["employer_kind"]
    by_size = breakdowns["size"]

    # -- what each obligation owes, expects and risks --------------------------------------
    lots: list[Row] = []
    # A contract's row: its name, then its obligations' sums (integers, as above) and their
    # hours owed, expected and penalty exposure, added up.
    contracts: dict[uuid.UUID, tuple[str, list[int], list[Decimal]]] = {}
    anru: dict[AnruFamily, list[Decimal]] = {}
    budget_plan = ZERO
    nothing = [0] * width
    for o in obligations:
        sums = obligation_sums.get((o["contract_id"], o["lot_id"]), nothing)
        hours = _hours(sums)
        owed = Decimal(o["hours_owed"])
        hours.hours_owed = owed
        hours.expected_hours = pace(
            owed,
            start=o["start_date"],
            end=o["end_date"],
            schedule=StatementSchedule(o["statement_schedule"]),
            due_day=o["statement_due_day"],
            period_end=period.end,
            today=today,
        ).expected_hours
        if o["penalty_per_missing_hour"] is not None:
            hours.penalty_exposure = hours.remaining_hours * Decimal(o["penalty_per_missing_hour"])
        family = AnruFamily(o["anru_family"])
        if family is not AnruFamily.NONE:
            shares = anru.setdefault(family, [ZERO, ZERO])
            shares[0] += hours.counted_hours_to_date
            shares[1] += Decimal(o["hours_worked_declared"] or 0)
            if o["budget_plan_line"]:
                budget_plan += owed
        total.hours_owed += owed
        total.expected_hours += hours.expected_hours
        total.penalty_exposure += hours.penalty_exposure
        contract = contracts.get(o["contract_id"])
        if contract is None:
            name = f"{o['contract_reference']} — {o['contract_title']}"
            contract = contracts[o["contract_id"]] = (name, [0] * width, [ZERO, ZERO, ZERO])
        contract[1][:] = map(add, contract[1], sums)
        figures = contract[2]
        figures[0] += owed
        figures[1] += hours.expected_hours
        figures[2] += hours.penalty_exposure
        if o["lot_id"] is not None:
            lot = f"Lot {o['lot_number']} — {o['lot_title']}"
            lots.append(Row(o["lot_id"], lot, hours, contract[0]))
    contract_rows = []
    for contract_id, (name, sums, (owed, expected, penalty)) in contracts.items():
        hours = _hours(sums)
        hours.hours_owed, hours.expected_hours, hours.penalty_exposure = owed, expected, penalty
        contract_rows.append(Row(contract_id, name, hours))

    companies = _company_rows(scope, obligations, attributions, by_company)
    publics, entrants, by_type, by_length = await _people(session, q, params)
    return Progress(
        scope=scope,
        period=period,
        as_of=as_of,
        total=total,
        lots=lots,
        contracts=contract_rows,
        companies=companies,
        by_modality={key: cents(value) for key, value in by_modality.items()},
        by_employer_kind={key: cents(value) for key, value in by_employer_kind.items()},
        by_company_size={key: cents(value) for key, value in by_size.items()},
        anru=[
            share
            for family in (AnruFamily.INVESTMENT, AnruFamily.GUP)
            if family in anru
            and (share := anru_share(family, anru[family][0], anru[family][1])) is not None
        ],
        participants=publics,
        new_entrants=entrants,
        targets=[
            _target(publics, public, value) for public, value in sorted((targets or {}).items())
        ],
        placements_by_contract_type=by_type,
        placements_by_length=by_length,
        budget_plan_hours=budget_plan,
        qpv_hours_to_date=cents(qpv_to_date),
    )


def _company_rows(
    scope: Scope,
    obligations: Iterable[Any],
    attributions: dict[uuid.UUID, Any],
    by_company: dict[uuid.UUID, Hours],
) -> list[Row]:
    """A row per company working in the scope (its subcontractors' hours included), owing its
    allocated share of each lot it is attributed (the whole lot for a holder without one)."""
    if scope.company_id is not None:
        return []
    owed = {(o["contract_id"], o["lot_id"]): Decimal(o["hours_owed"]) for o in obligations}
    rows: dict[uuid.UUID, Row] = {}
    for a in attributions.values():
        key = (a["contract_id"], a["lot_id"])
        if key not in owed:
            continue  # another lot's attribution
        company = a["organisation_id"]
        row = rows.get(company)
        if row is None:
            row = rows[company] = Row(company, a["name"], by_company[company], a["role"])
        if a["role"] != "subcontractor":
            share = a["allocated_share_percent"]
            if share is None:
                share = Decimal(100) if a["role"] == "holder" else ZERO
            row.hours.hours_owed += (owed[key] * Decimal(share) / 100).quantize(Decimal("0.01"))
    return sorted(rows.values(), key=lambda r: (r.name, str(r.id)))


def _target(publics: Publics, public: str, target: Decimal) -> Target:
    people = publics.by_sex.get(public, 0) + publics.by_age_bracket.get(public, 0)
    return Target(public, target, people, percent(people, publics.total))


async def _people(
    session: AsyncSession, q: Callable[[str], TextClause], params: dict[str, Any]
) -> tuple[Publics, Publics, dict[str, int], dict[str, int]]:
    participants, entrants = Publics(), Publics()
    for row in (await session.execute(q("participants"), params)).mappings():
        values = {
            "sex": row["sex"] or UNKNOWN,
            "age_bracket": row["age_bracket"] or UNKNOWN,
            "qualification": row["qualification_level"] or UNKNOWN,
            "qpv": UNKNOWN if row["qpv_resident"] is None else str(row["qpv_resident"]).lower(),
        }
        criteria = list(row["eligibility_criteria"] or ())
        participants.add(row["people"], values, criteria)
        if row["is_new"]:
            entrants.add(row["people"], values, criteria)
    by_type: dict[str, int] = {}
    by_length: dict[str, int] = {}
    for row in (await session.execute(q("placements"), params)).mappings():
        kind = row["contract_type"] or UNKNOWN
        by_type[kind] = by_type.get(kind, 0) + row["placements"]
        length = _length(row["days"])
        by_length[length] = by_length.get(length, 0) + row["placements"]
    return participants, entrants, by_type, by_length
