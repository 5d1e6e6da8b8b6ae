"""P8's territory: 5,000 contracts, 15,000 attributions, 100,000 placements, 2,000,000 statement
lines (by default), made once in a scratch database.

The small tables (organisations, accounts, contracts, lots, obligations, attributions, people)
are written by the server from ``generate_series``; placements and statement lines, the bulk,
are generated here and sent by ``COPY`` (asyncpg ``copy_records_to_table``). Ids are derived
from numbers (``md5(prefix || n)::uuid``), so that the rows join without reading anything back.

Shape: one facilitation structure over 200 buyers and 3,000 companies (seven in ten standard,
then ETTIs, ACIs and EIs; four size brackets). Each contract has two lots; lot 1 has a holder and
a subcontracting ACI (whose hours count in the holder's total), lot 2 another holder. Each lot's
obligation uses one of the five methods. Placements start between January 2024 and March 2025,
last 21 months, and have a statement line for each of their first 20 months (the 21st is left
for the import benchmark); one placement of a standard holder in five is a provision by an ETTI.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.callbacks import insert_rows, uid
from services.core.db import SessionMaker, unit_of_work

BUYERS = 200
COMPANIES = 3_000
STANDARD = 2_100  # companies k with k % 10 < 7
METHODS = ("fixed_hours", "labour_share", "per_invoiced_tranche", "share_of_hours_worked",
           "hours_per_year")  # fmt: skip
MONTHS_DECLARED = 20
FIRST_MONTH = date(2024, 1, 1)
CRITERIA = ("DELD", "RSA", "JEUNE", "SENIOR", "TH", "DETLD")
COPY_CHUNK = 100_000


@dataclass(frozen=True)
class Sizes:
    contracts: int = 5_000
    placements: int = 100_000
    people: int = 50_000

    @property
    def attributions(self) -> int:
        return 3 * self.contracts

    @property
    def lines(self) -> int:
        return MONTHS_DECLARED * self.placements


def ident(prefix: str, number: int) -> uuid.UUID:
    """The uuid SQL's ``md5(prefix || number)::uuid`` gives (see :func:`bench.callbacks.uid`)."""
    return uuid.UUID(hashlib.md5(f"{prefix}{number}".encode()).hexdigest())  # noqa: S324


def company(k: int) -> int:
    """Organisation number of company ``k`` (0-based)."""
    return 2 + BUYERS + k


def standard_company(m: int) -> int:
    """The ``m``-th standard company (0 ≤ m < 2,100), as a 0-based company index."""
    return 10 * (m // 7) + m % 7


def holders(contract: int) -> tuple[int, int]:
    """Company indexes of the holders of lots 1 and 2 of a contract."""
    return standard_company((contract * 7) % STANDARD), standard_company(
        (contract * 7 + 1) % STANDARD
    )


def _holder_sql(contract: str, lot_offset: int) -> str:
    """:func:`holders` in SQL (integer division)."""
    m = f"(({contract}) * 7 + {lot_offset}) % {STANDARD}"
    return f"(10 * ({m} / 7) + {m} % 7)"


def aci(contract: int) -> int:
    return 10 * (contract % 300) + 8


def etti(placement: int) -> int:
    return 10 * (placement % 300) + 7


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def end_of_month(first: date) -> date:
    return date.fromordinal(add_months(first, 1).toordinal() - 1)


@dataclass(frozen=True)
class PlacementSpec:
    number: int
    attribution: int
    start_month: date

    @property
    def id(self) -> uuid.UUID:
        return ident("p", self.number)

    @property
    def free_month(self) -> date:
        """The month after the last declared one (inside the placement: for the import)."""
        return add_months(self.start_month, MONTHS_DECLARED)


def placement_spec(number: int, sizes: Sizes) -> PlacementSpec:
    attribution = (number - 1) % sizes.attributions + 1
    return PlacementSpec(number, attribution, add_months(FIRST_MONTH, number % 15))


async def make_small_tables(sessionmaker: SessionMaker, sizes: Sizes) -> None:
    contracts = sizes.contracts

    def org(expression: str) -> str:
        return uid("o", expression)

    async with unit_of_work(sessionmaker) as session:
        await insert_rows(
            session,
            "organisation",
            1 + BUYERS + COMPANIES,
            {
                "id": org("i"),
                "name": "'Structure ' || i",
                "kind": f"CASE WHEN i = 1 THEN 'facilitation' WHEN i <= {1 + BUYERS} "
                "THEN 'buyer' ELSE 'employer' END",
                "parent_id": f"CASE WHEN i = 1 THEN NULL ELSE {org('1')} END",
                "commune_insee": "'93066'",
                "is_active": "true",
                "company_kind": f"CASE WHEN i <= {1 + BUYERS} THEN NULL ELSE "
                f"(ARRAY['standard','standard','standard','standard','standard','standard',"
                f"'standard','etti','aci','ei'])[(i - {2 + BUYERS}) % 10 + 1] END",
                "size_bracket": f"CASE WHEN i <= {1 + BUYERS} THEN NULL ELSE "
                f"(ARRAY['<10','10-49','50-249','250+'])[(i - {2 + BUYERS}) / 10 % 4 + 1] END",
            },
        )
        await insert_rows(  # the facilitator, then one referent per company
            session,
            "user_account",
            1 + COMPANIES,
            {
                "id": uid("u", "i"),
                "email": "'p8-' || i || '@bench.invalid'",
                "full_name": "'Agent ' || i",
                "password_hash": "'x'",
                "organisation_id": f"CASE WHEN i = 1 THEN {org('1')} "
                f"ELSE {org(f'{1 + BUYERS} + i - 1')} END",
                "role": "CASE WHEN i = 1 THEN 'facilitator' ELSE 'employer' END",
                "is_active": "true",
            },
        )
        start = "date '2024-01-01' + (i % 365)"
        await insert_rows(
            session,
            "contract",
            contracts,
            {
                "id": uid("c", "i"),
                "buyer_id": org(f"2 + (i - 1) % {BUYERS}"),
                "reference": "'P8-' || i",
                "title": "'Marché de travaux ' || i",
                "clause_kind": "'execution'",
                "start_date": start,
                "end_date": f"{start} + 1000",
                "required_insertion_hours": "2000",
                "status": "'active'",
                "qpv_priority": "'none'",
            },
        )
        holder_one, holder_two = _holder_sql("i", 0), _holder_sql("i", 1)
        await session.execute(
            text(
                "INSERT INTO contract_holder (contract_id, organisation_id) "  # noqa: S608
                f"SELECT {uid('c', 'i')}, {org(f'{2 + BUYERS} + {holder_one}')} "
                f"FROM generate_series(1, {contracts}) AS i UNION ALL "
                f"SELECT {uid('c', 'i')}, {org(f'{2 + BUYERS} + {holder_two}')} "
                f"FROM generate_series(1, {contracts}) AS i"
            )
        )
        await insert_rows(  # lots 2i - 1 and 2i of contract i
            session,
            "contract_lot",
            2 * contracts,
            {
                "id": uid("l", "i"),
                "contract_id": uid("c", "(i + 1) / 2"),
                "number": "2 - i % 2",
                "title": "'Lot ' || (2 - i % 2)",
            },
        )
        method = f"(ARRAY{list(METHODS)})[i % 5 + 1]"
        await insert_rows(
            session,
            "obligation",
            2 * contracts,
            {
                "id": uid("ob", "i"),
                "contract_id": uid("c", "(i + 1) / 2"),
                "lot_id": uid("l", "i"),
                "method": method,
                "fixed_hours": "CASE WHEN i % 5 = 0 THEN 6000 END",
                "amount": "CASE WHEN i % 5 = 1 THEN 10000000 END",
                "labour_share_percent": "CASE WHEN i % 5 = 1 THEN 40 END",
                "insertion_rate_percent": "CASE WHEN i % 5 = 1 THEN 5 END",
                "hourly_cost": "CASE WHEN i % 5 = 1 THEN 35 END",
                "tranche_amount": "CASE WHEN i % 5 = 2 THEN 2000 END",
                "tranche_threshold": "CASE WHEN i % 5 = 2 THEN 0 END",
                "hours_share_percent": "CASE WHEN i % 5 = 3 THEN 5 END",
                "hours_per_year": "CASE WHEN i % 5 = 4 THEN 2000 END",
                # Stored (decision 0074): fixed, labour share and per year as the rules derive
                # them; for the two methods fed by declarations, what a declared total gives.
                "hours_owed": "(ARRAY[6000, 5714, 5000, 5500, 5479])[i % 5 + 1]",
                "eligible_publics": "'{}'",
                "allowed_modalities": "'{direct_hire,provision,subcontracting}'",
                "training_counts": "i % 2 = 0",
                "anru_family": "CASE WHEN i % 5 = 3 THEN 'investment' ELSE 'none' END",
                "statement_schedule": "'quarterly'",
                "statement_due_day": "15",
            },
        )
        # Attributions 3c - 2 (lot 1's holder), 3c - 1 (lot 2's holder), 3c (lot 1's ACI).
        contract = "((i + 2) / 3)"
        await insert_rows(
            session,
            "attribution",
            3 * contracts,
            {
                "id": uid("a", "i"),
                "contract_id": uid("c", contract),
                "lot_id": f"CASE WHEN i % 3 = 2 THEN {uid('l', f'2 * {contract}')} "
                f"ELSE {uid('l', f'2 * {contract} - 1')} END",
                "organisation_id": f"CASE i % 3 "
                f"WHEN 1 THEN {org(f'{2 + BUYERS} + {_holder_sql(contract, 0)}')} "
                f"WHEN 2 THEN {org(f'{2 + BUYERS} + {_holder_sql(contract, 1)}')} "
                f"ELSE {org(f'{2 + BUYERS} + 10 * ({contract} % 300) + 8')} END",
                "role": "CASE WHEN i % 3 = 0 THEN 'subcontractor' ELSE 'holder' END",
                "parent_attribution_id": f"CASE WHEN i % 3 = 0 THEN {uid('a', 'i - 2')} END",
                "referent_user_id": f"CASE i % 3 "
                f"WHEN 1 THEN {uid('u', f'2 + {_holder_sql(contract, 0)}')} "
                f"WHEN 2 THEN {uid('u', f'2 + {_holder_sql(contract, 1)}')} "
                f"ELSE {uid('u', f'2 + 10 * ({contract} % 300) + 8')} END",
            },
        )
        await session.execute(text("ALTER TABLE candidate DISABLE TRIGGER USER"))
        await insert_rows(
            session,
            "candidate",
            sizes.people,
            {"id": uid("pe", "i"), "status": "'placed'", "qpv_status": "'unknown'"},
        )
        await session.execute(text("ALTER TABLE candidate ENABLE TRIGGER USER"))


def _placement_rows(sizes: Sizes, at: datetime) -> Iterator[tuple[object, ...]]:
    rng = random.Random(8)
    for number in range(1, sizes.placements + 1):
        spec = placement_spec(number, sizes)
        contract = (spec.attribution + 2) // 3
        role = spec.attribution % 3
        if role == 0:
            employer, modality = company(aci(contract)), "subcontracting"
        elif number % 5 == 0 and role == 1:
            employer, modality = company(etti(number)), "provision"
        else:
            lot_holder = holders(contract)[0 if role == 1 else 1]
            employer, modality = company(lot_holder), "direct_hire"
        start = spec.start_month.replace(day=1 + number % 20)
        end = end_of_month(add_months(spec.start_month, MONTHS_DECLARED))
        yield (
            spec.id,
            at,
            at,
            ident("pe", (number - 1) % sizes.people + 1),
            ident("a", spec.attribution),
            ident("o", employer),
            modality,
            ("CDD", "CDI", "CDDI", "MIS")[number % 4],
            "F1703",
            start,
            end,
            Decimal(35),
            "active",
            at,
            [CRITERIA[number % len(CRITERIA)]] if number % 17 else [],
            number % 3 == 0,
            ("<26", "26-49", "50+")[rng.randrange(3)],
            ("female", "male")[number % 4 == 0],
            number % 17 == 0,
        )


PLACEMENT_COLUMNS = (
    "id", "created_at", "updated_at", "candidate_id", "attribution_id", "employer_id", "modality",
    "contract_type", "rome_code", "start_date", "end_date", "weekly_hours", "status", "frozen_at",
    "eligibility_criteria", "qpv_resident", "age_bracket", "sex", "eligibility_flagged",
)  # fmt: skip

LINE_COLUMNS = (
    "id", "created_at", "updated_at", "placement_id", "month", "hours_worked", "training_hours",
    "source", "status", "rejection_reason", "declared_by_type", "declared_at",
)  # fmt: skip


def _line_rows(sizes: Sizes, at: datetime) -> Iterator[tuple[object, ...]]:
    for number in range(1, sizes.placements + 1):
        spec = placement_spec(number, sizes)
        for offset in range(MONTHS_DECLARED):
            worked = Decimal(20 + (number * 7 + offset * 13) % 60)
            training = Decimal(7) if offset % 4 == 0 else Decimal(0)
            # The last quarter of a placement's lines is partly declared, not validated yet;
            # one line in fifty was rejected.
            if offset >= MONTHS_DECLARED - 2 and number % 3 == 0:
                status, reason = "declared", None
            elif (number + offset) % 50 == 0:
                status, reason = "rejected", "Heures non justifiées"
            else:
                status, reason = "validated", None
            yield (
                # Ids in insertion order: the primary key's index grows at its end.
                uuid.UUID(int=(0x8 << 124) | (number << 8) | offset),
                at,
                at,
                spec.id,
                add_months(spec.start_month, offset),
                worked,
                training,
                "api",
                status,
                reason,
                "user",
                at,
            )


async def _copy(
    connection: asyncpg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Iterator[tuple[object, ...]],
) -> int:
    total = 0
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == COPY_CHUNK:
            await connection.copy_records_to_table(table, records=chunk, columns=columns)
            total += len(chunk)
            chunk = []
    if chunk:
        await connection.copy_records_to_table(table, records=chunk, columns=columns)
        total += len(chunk)
    return total


async def make_territory(engine: AsyncEngine, sessionmaker: SessionMaker, sizes: Sizes) -> str:
    """Write the territory; returns a line saying what was made, and how fast."""
    started = time.perf_counter()
    await make_small_tables(sessionmaker, sizes)
    small = time.perf_counter() - started
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        # The rows reference each other by construction: the foreign keys' per-row triggers
        # are skipped for this connection's load (a superuser's setting), the indexes are not.
        await driver.execute("SET session_replication_role = replica")
        copy_started = time.perf_counter()
        placements = await _copy(driver, "placement", PLACEMENT_COLUMNS, _placement_rows(sizes, at))
        print(f"placements: {time.perf_counter() - copy_started:.0f} s", file=sys.stderr)
        lines_started = time.perf_counter()
        # An index whose keys arrive in random order is built after the load, in one pass.
        rebuilt = await driver.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'statement_line' "
            "AND indexname = 'ix_statement_line_month_status'"
        )
        for index in rebuilt:
            await driver.execute(f'DROP INDEX "{index["indexname"]}"')
        lines = await _copy(driver, "statement_line", LINE_COLUMNS, _line_rows(sizes, at))
        for index in rebuilt:
            await driver.execute(index["indexdef"])
        print(f"statement lines: {time.perf_counter() - lines_started:.0f} s", file=sys.stderr)
        copied = time.perf_counter() - copy_started
        # The load skipped the triggers: each placement's hours totals (decision 0085) are made
        # from its lines, as migration 0038 made them from the lines stored before it.
        await driver.execute("SET session_replication_role = origin")
        totals_started = time.perf_counter()
        await driver.execute(
            "SELECT placement_hours_recount("
            "ARRAY(SELECT DISTINCT placement_id FROM statement_line))"
        )
        totals = time.perf_counter() - totals_started
        print(f"placement hours: {totals:.0f} s", file=sys.stderr)
        await connection.commit()
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("organisation", "user_account", "contract", "contract_lot", "obligation",
                      "attribution", "candidate", "placement", "statement_line",
                      "placement_hours"):  # fmt: skip
            await autocommit.execute(text(f'VACUUM ANALYZE "{table}"'))
    return (
        f"Data: {sizes.contracts:,} contracts (two lots each, each lot's obligation by one of "
        f"the five methods), {sizes.attributions:,} attributions over {COMPANIES:,} companies "
        f"and {BUYERS} buyers, {placements:,} placements of {sizes.people:,} people, "
        f"{lines:,} statement lines; the small tables made by the server in {small:.0f} s, "
        f"placements and lines sent by COPY in {copied:.0f} s, their hours totals made in "
        f"{totals:.0f} s, "
        f"{time.perf_counter() - started:.0f} s in all with VACUUM ANALYZE."
    )
