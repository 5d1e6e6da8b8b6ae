"""Each placement's hours totals (``placement_hours``, decision 0085) stay equal to what its
statement lines give, whatever writes them: lines declared one by one and in bulk, validated,
rejected, declared again after a rejection, corrected, deleted, a placement deleted with its
lines. The recomputation here is the test's own, from the lines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.placement import (
    Placement,
    StatementLine,
    StatementSource,
    StatementStatus,
)
from services.core.settings import Settings
from tests.factories import make_candidate
from tests.ledger_world import make_ledger_world, make_placement

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)

TOTALS = """
SELECT placement_id, first_month,
       validated_lines, validated_worked, validated_training, validated_first, validated_last,
       declared_lines, declared_worked, declared_first, declared_last,
       rejected_lines, rejected_worked, rejected_first, rejected_last
FROM placement_hours ORDER BY placement_id
"""


async def _from_lines(session: AsyncSession) -> list[tuple[Any, ...]]:
    """The totals as the lines give them, computed in Python."""
    rows = (
        await session.execute(
            text(
                "SELECT placement_id, month, status, hours_worked, training_hours "
                "FROM statement_line"
            )
        )
    ).all()
    by_placement: dict[Any, list[Any]] = {}
    for placement_id, month, status, worked, training in rows:
        by_placement.setdefault(placement_id, []).append((month, status, worked, training))
    expected = []
    for placement_id in sorted(by_placement, key=str):
        lines = by_placement[placement_id]
        row: list[Any] = [placement_id, min(m for m, *_ in lines)]
        for status in ("validated", "declared", "rejected"):
            chosen = [line for line in lines if line[1] == status]
            months = [m for m, *_ in chosen]
            row += [len(chosen), sum((w for _, _, w, _ in chosen), Decimal(0))]
            if status == "validated":
                row.append(sum((t for *_, t in chosen), Decimal(0)))
            row += [min(months, default=None), max(months, default=None)]
        expected.append(tuple(row))
    return expected


async def _assert_totals(session: AsyncSession) -> None:
    await session.flush()
    stored = [tuple(r) for r in (await session.execute(text(TOTALS))).all()]
    assert sorted(stored, key=lambda r: str(r[0])) == await _from_lines(session)


def _line(placement: Placement, month: date, worked: str, training: str = "0") -> StatementLine:
    return StatementLine(
        placement_id=placement.id,
        month=month,
        hours_worked=Decimal(worked),
        training_hours=Decimal(training),
        source=StatementSource.API,
        declared_by_type="user",
        declared_at=AT,
    )


async def test_the_totals_follow_every_write_of_the_lines(
    db_session: AsyncSession, settings: Settings
) -> None:
    session = db_session
    world = await make_ledger_world(session, settings)
    first = world.placement
    second = await make_placement(
        session,
        world.attribution,
        await make_candidate(session, world.agency),
        start=date(2025, 11, 3),
        end=None,
    )
    await _assert_totals(session)  # no line, no row
    assert (await session.execute(text("SELECT count(*) FROM placement_hours"))).scalar() == 0

    # Declared: one line, then several in one statement (two placements).
    january = _line(first, date(2026, 1, 1), "120.5", "7")
    session.add(january)
    await _assert_totals(session)
    february = _line(first, date(2026, 2, 1), "98.25", "3.5")
    others = [
        _line(second, date(2025, 11, 1), "35"),
        _line(second, date(2025, 12, 1), "140", "14"),
        _line(second, date(2026, 1, 1), "151.67"),
    ]
    session.add_all([february, *others])
    await _assert_totals(session)

    # Validated and rejected.
    january.status = StatementStatus.VALIDATED
    others[0].status = StatementStatus.VALIDATED
    others[2].status = StatementStatus.VALIDATED
    others[1].status = StatementStatus.REJECTED
    others[1].rejection_reason = "Heures non justifiées"
    await _assert_totals(session)

    # Hours corrected on a validated and a rejected line, their status kept.
    january.hours_worked = Decimal("118")
    january.training_hours = Decimal("6.5")
    others[1].hours_worked = Decimal("139.75")
    await _assert_totals(session)

    # Declared again after the rejection, with other hours; a declared line corrected.
    others[1].status = StatementStatus.DECLARED
    others[1].rejection_reason = None
    others[1].hours_worked = Decimal("121")
    others[1].training_hours = Decimal("0")
    february.hours_worked = Decimal("101")
    await _assert_totals(session)
    february.status = StatementStatus.VALIDATED
    others[1].status = StatementStatus.VALIDATED
    await _assert_totals(session)

    # A validated line moved to another month (a correction of the month), then deleted.
    others[2].month = date(2026, 3, 1)
    await _assert_totals(session)
    await session.delete(others[0])
    await _assert_totals(session)

    # Set-based writes, as an import sends them: inserted and updated in one statement.
    await session.execute(
        text(
            "INSERT INTO statement_line (id, created_at, updated_at, placement_id, month, "
            "hours_worked, training_hours, source, status, declared_by_type, declared_at) "
            "SELECT gen_random_uuid(), now(), now(), :placement, m::date, 70.5, 0, 'import', "
            "'declared', 'user', now() "
            "FROM generate_series(date '2026-01-01', date '2026-06-01', interval '1 month') m "
            "ON CONFLICT (placement_id, month) DO UPDATE "
            "SET hours_worked = excluded.hours_worked, status = 'declared', "
            "rejection_reason = NULL WHERE statement_line.status <> 'validated'"
        ),
        {"placement": second.id},
    )
    await _assert_totals(session)
    await session.execute(
        text("UPDATE statement_line SET status = 'validated' WHERE placement_id = :placement"),
        {"placement": second.id},
    )
    await _assert_totals(session)

    # Every line of a placement deleted: its row goes; the placement deleted: its lines go.
    await session.execute(
        text("DELETE FROM statement_line WHERE placement_id = :placement"), {"placement": first.id}
    )
    await _assert_totals(session)
    assert (
        await session.execute(
            text("SELECT count(*) FROM placement_hours WHERE placement_id = :p"), {"p": first.id}
        )
    ).scalar() == 0
    session.expunge_all()
    await session.execute(
        text("DELETE FROM placement WHERE id = :placement"), {"placement": second.id}
    )
    await _assert_totals(session)
    assert (await session.execute(text("SELECT count(*) FROM placement_hours"))).scalar() == 0


async def test_the_recount_makes_the_totals_again_from_the_lines(
    db_session: AsyncSession, settings: Settings
) -> None:
    """What a bulk load (triggers off) and the migration's backfill rely on."""
    session = db_session
    world = await make_ledger_world(session, settings)
    for month, status in ((1, "validated"), (2, "rejected")):
        line = _line(world.placement, date(2026, month, 1), "80", "8")
        line.status = StatementStatus(status)
        line.rejection_reason = "Non justifiées" if status == "rejected" else None
        session.add(line)
    await session.flush()
    await session.execute(text("DELETE FROM placement_hours"))
    await session.execute(
        text("SELECT placement_hours_recount(ARRAY(SELECT placement_id FROM statement_line))")
    )
    await _assert_totals(session)
    assert (await session.execute(text("SELECT count(*) FROM placement_hours"))).scalar() == 1
