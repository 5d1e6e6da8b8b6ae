"""P5 (callback sweep over 1,000,000 open cases) and P6 (quarterly report over 1,000,000 intakes).

    python -m bench.callbacks [--cases 1000000]

Runs against DATABASE_URL (default: the local server), in a scratch database. The data is made
in SQL (generate_series): organisations with counsellors and a manager, one candidate, one intake
of the first quarter of 2026 and one open callback case per person, the cases' next alerts spread
evenly over the 30 days after the benchmark's start. Prints a Markdown section for
bench/RESULTS.md.

- the sweep as it runs every 10 minutes (the alerts of 10 minutes due), then after a whole day
  without any run (a day's alerts due at once), with the bare due query for comparison;
- the report for the quarter (JSON figures, then CSV and XLSX), with the bare SQL alone.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench.common import machine, scratch_database, server_urls
from services.core.alerts.raising import AlertRequest
from services.core.callbacks.cases import RaiseAlert
from services.core.callbacks.report import Quarter, callback_report
from services.core.callbacks.report_files import to_csv, to_xlsx
from services.core.clock import FrozenClock, use_clock
from services.core.db import SessionMaker, create_sessionmaker, unit_of_work
from services.core.settings import Settings
from services.notifications.callbacks.sweep import raise_due

ORGANISATIONS = 200
CHUNK = 20_000
SITES = 400
# Monday 6 April 2026, 09:00 in Paris: a working day in office hours.
START = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)

_FILLERS = {
    "uuid": "gen_random_uuid()",
    "timestamp with time zone": "now()",
    "boolean": "false",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "double precision": "0",
    "real": "0",
    "numeric": "0",
    "character varying": "''",
    "text": "''",
    "ARRAY": "'{}'",
    "jsonb": "'{}'",
    "date": "current_date",
}


async def insert_rows(
    session: AsyncSession, table: str, count: int, values: dict[str, str], *, first: int = 1
) -> None:
    """``count`` rows of ``table`` from ``generate_series(1, count) AS i``: ``values`` gives SQL
    expressions for chosen columns; every other NOT NULL column without default gets a neutral
    value of its type (so that the benchmark follows the schema as it evolves)."""
    columns = await session.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = :table AND is_nullable = 'NO' AND column_default IS NULL "
            "AND is_generated = 'NEVER'"
        ),
        {"table": table},
    )
    chosen = dict(values)
    for name, data_type in columns:
        chosen.setdefault(name, _FILLERS[data_type])
    names = ", ".join(f'"{name}"' for name in chosen)
    expressions = ", ".join(chosen.values())
    await session.execute(
        text(
            f'INSERT INTO "{table}" ({names}) '  # noqa: S608  (constants of this module)
            f"SELECT {expressions} "
            f"FROM generate_series({int(first)}, {int(first + count - 1)}) AS i"
        )
    )


def uid(prefix: str, expression: str) -> str:
    """A deterministic uuid from a number, to join generated rows."""
    return f"md5('{prefix}' || ({expression}))::uuid"


async def make_data(sessionmaker: SessionMaker, cases: int) -> None:
    window = 30 * 24 * 3600
    async with unit_of_work(sessionmaker) as session:
        await insert_rows(
            session,
            "organisation",
            ORGANISATIONS + SITES,
            {
                "id": uid("o", "i"),
                "name": "'Structure ' || i",
                "kind": f"CASE WHEN i <= {ORGANISATIONS} THEN 'france_travail' "
                "ELSE 'social_landlord' END",
                "commune_insee": "'93066'",
                "is_active": "true",
            },
        )
        await insert_rows(  # four counsellors per receiving organisation, the fourth a manager
            session,
            "user_account",
            ORGANISATIONS * 4,
            {
                "email": "'agent' || i || '@bench.invalid'",
                "full_name": "'Agent ' || i",
                "password_hash": "'x'",
                "organisation_id": uid("o", f"(i - 1) % {ORGANISATIONS} + 1"),
                "role": "'prescriber'",
                "is_manager": f"i > {ORGANISATIONS * 3}",
                "is_active": "true",
            },
        )
    organisation = uid("o", f"(i::bigint * 7919) % {ORGANISATIONS} + 1")
    site = uid("o", f"{ORGANISATIONS} + (i::bigint * 104729) % {SITES} + 1")
    deposit = "date '2026-01-01' + (i * 7) % 90"
    start = f"timestamptz '{START.isoformat()}'"
    people = {
        "candidate": {"id": uid("c", "i"), "status": "'new'", "qpv_status": "'unknown'"},
        "intake": {
            "id": uid("i", "i"),
            "candidate_id": uid("c", "i"),
            "organisation_id": organisation,
            "place_organisation_id": site,
            "source": "'kiosk'",
            "deposit_date": deposit,
            "answers": "'{}'",
        },
        "callback_case": {
            "candidate_id": uid("c", "i"),
            "intake_id": uid("i", "i"),
            "received_by_organisation_id": organisation,
            "place_organisation_id": site,
            "organisation_id": organisation,
            "deposit_date": deposit,
            "due_at": f"({deposit})::timestamptz + interval '30 days'",
            "assigned_at": f"{start} - interval '40 days'",
            "opened_at": f"{start} - interval '40 days'",
            "assignment_number": "1",
            "status": "'open'",
            "alerts_raised": "'{assigned:1}'",
            "next_alert_kind": "'urgent'",
            "next_alert_at": f"{start} + ((i::bigint * 7877) % {window}) * interval '1 second'",
            # For the report: four in five tried (0 to 39 days after the deposit), two in three
            # of those reached. (The schedule does not read these two.)
            "first_attempt_at": f"CASE WHEN i % 5 <> 0 THEN ({deposit})::timestamptz "
            "+ (i % 40) * interval '1 day' + interval '10 hours' END",
            "reached_at": f"CASE WHEN i % 5 <> 0 AND i % 3 <> 0 THEN ({deposit})::timestamptz "
            "+ (i % 40) * interval '1 day' + interval '10 hours' END",
        },
    }
    async with unit_of_work(sessionmaker) as session:
        # Matching keeps a profile per candidate by trigger: irrelevant to callbacks, and the
        # slowest part of writing a million people. Off while the rows are made.
        await session.execute(text("ALTER TABLE candidate DISABLE TRIGGER USER"))
    for table, values in people.items():
        started = time.perf_counter()
        for first in range(1, cases + 1, CHUNK):  # statements of bounded length
            async with unit_of_work(sessionmaker) as session:
                await insert_rows(
                    session, table, min(CHUNK, cases - first + 1), values, first=first
                )
        print(f"{table}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    async with unit_of_work(sessionmaker) as session:
        await session.execute(text("ALTER TABLE candidate ENABLE TRIGGER USER"))
    engine = sessionmaker.kw["bind"]
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("organisation", "user_account", "candidate", "intake", "callback_case"):
            await autocommit.execute(text(f'VACUUM ANALYZE "{table}"'))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def counted(session: AsyncSession, alert: AlertRequest) -> int:
    """Stands in for raise_alert to time the sweep's own work: writes no notification."""
    return len(alert.recipient_user_ids)


async def timed_sweep(
    sessionmaker: SessionMaker, settings: Settings, at: datetime, raise_with: RaiseAlert | None
) -> tuple[int, int, float]:
    """(cases, alerts, seconds) of one sweep at ``at`` (``raise_with`` None: the sweep's own
    batched ``raise_alerts``)."""
    started = time.perf_counter()
    with use_clock(FrozenClock(at)):
        cases, alerts = await raise_due(sessionmaker, settings, at, raise_with=raise_with)
    return cases, alerts, time.perf_counter() - started


async def bare_due_query(sessionmaker: SessionMaker, at: datetime) -> tuple[float, int]:
    async with sessionmaker() as session:
        started = time.perf_counter()
        found = await session.execute(
            text(
                "SELECT id FROM callback_case WHERE next_alert_at <= :at "
                "ORDER BY next_alert_at, id LIMIT 1000"
            ),
            {"at": at},
        )
        rows = len(found.all())
        return (time.perf_counter() - started) * 1000, rows


async def run(cases: int) -> str:
    server, _ = server_urls()
    lines = [f"## Callback sweep and quarterly report — {time.strftime('%Y-%m-%d')}", ""]
    lines += [f"Machine: {machine()}.", f"Command: `python -m bench.callbacks --cases {cases}`."]
    async with scratch_database(server, "maillon_bench_callbacks") as url:
        settings = Settings(database_url=url, log_json=False)
        # No statement timeout: on a busy machine, writing a million rows may take minutes.
        engine = create_async_engine(
            settings.async_database_url,
            connect_args={"command_timeout": None, "server_settings": {"timezone": "UTC"}},
        )
        sessionmaker = create_sessionmaker(engine)
        try:
            started = time.perf_counter()
            await make_data(sessionmaker, cases)
            lines += [
                "",
                f"Data: {cases:,} candidates, intakes (first quarter of 2026) and open callback "
                f"cases over {ORGANISATIONS} organisations and {SITES} borne sites, made in "
                f"{time.perf_counter() - started:.0f} s; next alerts spread evenly over 30 days.",
                "",
                "### P5 — sweep (target ≤ 10 s, ≤ 300 MB)",
                "",
                "| run | due cases | alerts raised | seconds | process max RSS MB |",
                "|---|---|---|---|---|",
            ]
            bare_ms, _ = await bare_due_query(sessionmaker, START + timedelta(minutes=10))
            runs = (
                ("10 minutes' alerts, raise_alerts", START + timedelta(minutes=10), None),
                ("the next 10 minutes', sweep alone", START + timedelta(minutes=20), counted),
                ("the next day's alerts, sweep alone", START + timedelta(days=1), counted),
                ("the 10 minutes after, raise_alerts", START + timedelta(days=1, minutes=10), None),
                ("the day after's alerts, raise_alerts", START + timedelta(days=2), None),
            )
            for label, at, raise_with in runs:
                due, alerts, seconds = await timed_sweep(sessionmaker, settings, at, raise_with)
                lines.append(f"| {label} | {due:,} | {alerts:,} | {seconds:.2f} | {rss_mb():.0f} |")
            lines += [
                "",
                f"Bare due query (`next_alert_at <= now`, first 1000 by the partial index) over "
                f"{cases:,} open cases: {bare_ms:.1f} ms.",
                "",
                "### P6 — quarterly report (target ≤ 2 s)",
                "",
                "| what | median of 5, seconds |",
                "|---|---|",
            ]
            quarter = Quarter.parse("2026-Q1")
            at = START
            timings: dict[str, list[float]] = {"json": [], "csv": [], "xlsx": []}
            for _ in range(5):
                async with sessionmaker() as session:
                    t0 = time.perf_counter()
                    report = await callback_report(session, quarter, at)
                    t1 = time.perf_counter()
                    to_csv(report)
                    t2 = time.perf_counter()
                    to_xlsx(report)
                    t3 = time.perf_counter()
                timings["json"].append(t1 - t0)
                timings["csv"].append(t1 - t0 + t2 - t1)
                timings["xlsx"].append(t1 - t0 + t3 - t2)
            lines += [
                f"| figures (the two SQL queries), {report.total.figures.forms_deposited:,} "
                f"intakes, {len(report.organisations)} organisations, {len(report.sites)} sites "
                f"| {statistics.median(timings['json']):.2f} |",
                f"| figures + CSV | {statistics.median(timings['csv']):.2f} |",
                f"| figures + XLSX | {statistics.median(timings['xlsx']):.2f} |",
            ]
        finally:
            await engine.dispose()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    print(asyncio.run(run(args.cases)))


if __name__ == "__main__":
    main()
