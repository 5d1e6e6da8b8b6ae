"""P8: the insertion-hours ledger on a generated territory (5,000 contracts, 15,000
attributions, 100,000 placements, 2,000,000 statement lines).

    python -m bench.ledger [--contracts 5000] [--placements 100000] [--samples 200]
                           [--only progress|import] [--database maillon_bench_ledger]

Runs against DATABASE_URL (default: the local server), in a scratch database dropped at the end
(the data: bench/ledger_data.py). The API runs in-process (httpx ``ASGITransport``: middleware,
authentication, scoping, audit, JSON), as a facilitator whose territory holds every contract;
each figure is set beside the bare SQL of the same work on one asyncpg connection:

- a contract's progress (``GET /v1/contracts/{id}/progress``, target p95 ≤ 50 ms) against the
  progress queries alone;
- the territory's quarterly clause-progress report (``GET /v1/reports/clause-progress``, target
  ≤ 2 s) against its queries alone;
- a 10,000-line statement import (``POST /v1/hours-statements/import``, CSV, target ≤ 10 s)
  against one ``INSERT … ON CONFLICT`` of the same lines (rolled back).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bench.common import machine, percentiles, scratch_database, server_urls
from bench.ledger_data import Sizes, ident, make_territory, placement_spec
from services.api.app import create_app
from services.core.db import create_sessionmaker
from services.core.ledger.progress_sql import query
from services.core.ledger.scope import quarter as parse_quarter
from services.core.migrate import upgrade
from services.core.security.tokens import create_access_token
from services.core.settings import Settings

IMPORT_RUNS = 3
DATABASE = "maillon_bench_ledger"
# The benchmark's day (real time): statements of the third quarter of 2026 are due.
TODAY = datetime.now(UTC).date()


def statement_csv(numbers: range, sizes: Sizes) -> tuple[bytes, list[tuple[object, ...]]]:
    """A filled template (the three columns the import needs) for the free month of each
    placement, and the same lines as rows for the bare SQL."""
    out = io.StringIO()
    out.write("\ufeffIdentifiant de la mise en emploi;Mois (AAAA-MM);Heures travaillées;"
              "Dont heures de formation\r\n")  # fmt: skip
    rows: list[tuple[object, ...]] = []
    for number in numbers:
        spec = placement_spec(number, sizes)
        hours = 70 + number % 80
        out.write(f"{spec.id};{spec.free_month:%Y-%m};{hours},5;0\r\n")
        rows.append((spec.id, spec.free_month, f"{hours}.5"))
    return out.getvalue().encode("utf-8"), rows


BARE_IMPORT = """
INSERT INTO statement_line (id, created_at, updated_at, placement_id, month, hours_worked,
                            training_hours, source, status, declared_by_type, declared_at)
SELECT gen_random_uuid(), now(), now(), p, m, h::numeric, 0, 'import', 'declared', 'user', now()
FROM unnest($1::uuid[], $2::date[], $3::text[]) AS t(p, m, h)
ON CONFLICT (placement_id, month) DO UPDATE
SET hours_worked = excluded.hours_worked, status = 'declared', updated_at = now()
WHERE statement_line.status <> 'validated'
"""


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def measure_import(
    client: httpx.AsyncClient, connection: asyncpg.Connection, headers: dict[str, str],
    sizes: Sizes, count: int,
) -> list[str]:  # fmt: skip
    content, rows = statement_csv(range(1, count + 1), sizes)
    api: list[float] = []
    for _ in range(IMPORT_RUNS):
        started = time.perf_counter()
        response = await client.post(
            "/v1/hours-statements/import",
            content=content,
            headers={**headers, "Content-Type": "text/csv"},
        )
        api.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.text[:500]
        assert response.json()["stored"] == count, response.text[:500]
    columns = list(zip(*rows, strict=True))
    sql: list[float] = []
    for _ in range(IMPORT_RUNS):
        transaction = connection.transaction()
        await transaction.start()
        sql.append(await timed(lambda: connection.execute(BARE_IMPORT, *columns)))
        await transaction.rollback()
    return [
        f"| statement import, {count:,} lines (CSV, {len(content) / 1024:.0f} KB), each run "
        f"| {IMPORT_RUNS} | {' / '.join(f'{ms / 1000:.2f}' for ms in api)} s "
        f"| ≤ 10 s | {' / '.join(f'{ms:.0f}' for ms in sql)} ms "
        f"| {statistics.median(api) / statistics.median(sql):.1f}× |",
    ]


@asynccontextmanager
async def kept_database(server_url: str, name: str, drop: bool = True) -> AsyncIterator[str]:
    """The database ``name`` as a previous ``--keep`` run left it (dropped afterwards unless
    ``drop`` is false)."""
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        if drop:
            admin = await asyncpg.connect(
                server_url.replace("postgresql+asyncpg://", "postgresql://")
            )
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


async def run(
    sizes: Sizes, samples: int, import_lines: int, keep: bool, reuse: bool,
    only: str | None = None, name: str = DATABASE, drop: bool = True,
) -> str:  # fmt: skip
    server, redis_url = server_urls()
    command = (
        f"python -m bench.ledger --contracts {sizes.contracts} --placements {sizes.placements} "
        f"--samples {samples} --import-lines {import_lines}" + (f" --only {only}" if only else "")
    )
    lines = [f"## P8 — the insertion-hours ledger — {time.strftime('%Y-%m-%d')}", ""]
    lines += [f"Machine: {machine()}.", f"Command: `{command}`.", ""]
    if reuse:
        database = kept_database(server, name, drop)
    elif keep:
        database = loaded_database(server, name)
    else:
        database = scratch_database(server, name)
    async with database as url:
        # The liveness probe's 1 s would take a machine shared with other work for a database
        # down: 10 s here (the figures are the requests' own).
        settings = Settings(
            database_url=url,
            redis_url=redis_url,
            log_json=True,
            database_probe_timeout_seconds=10,
        )
        engine = create_async_engine(
            settings.async_database_url,
            connect_args={"command_timeout": None, "server_settings": {"timezone": "UTC"}},
        )
        try:
            if reuse:
                lines += ["Data: as loaded by the previous `--keep` run (same sizes).", ""]
            else:
                lines += [await make_territory(engine, create_sessionmaker(engine), sizes), ""]
            if not keep:
                lines += await measure(settings, engine, url, sizes, samples, import_lines, only)
        finally:
            await engine.dispose()
    return "\n".join(lines)


async def measure(
    settings: Settings, engine: AsyncEngine, url: str, sizes: Sizes, samples: int,
    import_lines: int, only: str | None = None,
) -> list[str]:  # fmt: skip
    token, _ = create_access_token(ident("u", 1), settings)
    headers = {"Authorization": f"Bearer {token}"}
    lines = [
        "| workload | n | API (in-process) | target | bare SQL | API / SQL (median) |",
        "|---|---|---|---|---|---|",
    ]
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    app = create_app(settings)
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120
            ) as client,
            engine.connect() as bare,
        ):
            if only in (None, "progress"):
                lines += await measure_progress(client, bare, headers, sizes, samples)
            if only in (None, "import"):
                # A new token: the progress phase may outlast an access token's life at full size.
                token, _ = create_access_token(ident("u", 1), settings)
                headers = {"Authorization": f"Bearer {token}"}
                lines += await measure_import(client, connection, headers, sizes, import_lines)
    finally:
        await connection.close()
    return lines


QUERIES = ("obligations", "attributions", "sums", "participants", "placements")
QUARTER = "2026-Q3"
REPORT_RUNS = 5


async def bare_progress(connection: AsyncConnection, contracts: list[uuid.UUID]) -> float:
    """The progress queries alone (the same text and values as ``progress()`` binds), one
    after the other, their rows fetched: milliseconds."""
    period = parse_quarter(QUARTER)
    # As progress() does: no JIT; a plan made for each execution's values for several contracts.
    await connection.execute(text("SET jit = off"))
    mode = "force_custom_plan" if len(contracts) > 1 else "auto"
    await connection.execute(text(f"SET plan_cache_mode = {mode}"))
    params = {
        "scope_contracts": contracts,
        "scope_lot": None,
        "scope_company": None,
        "start": period.start,
        "end": period.end,
        "start_month": period.start_month,
        "today": TODAY,
    }
    started = time.perf_counter()
    for name in QUERIES:
        (await connection.execute(query(name), params)).all()
    return (time.perf_counter() - started) * 1000


async def measure_progress(
    client: httpx.AsyncClient, connection: AsyncConnection, headers: dict[str, str],
    sizes: Sizes, samples: int,
) -> list[str]:  # fmt: skip
    """A contract's progress, then the territory's quarterly report."""
    contracts = [ident("c", 1 + (n * 7919) % sizes.contracts) for n in range(samples + 5)]
    api: list[float] = []
    sql: list[float] = []
    for contract in contracts:
        started = time.perf_counter()
        response = await client.get(
            f"/v1/contracts/{contract}/progress?quarter={QUARTER}", headers=headers
        )
        api.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:500]
        sql.append(await bare_progress(connection, [contract]))
    a, s = percentiles(api[5:]), percentiles(sql[5:])  # the first five warm the caches
    body = response.json()
    found = [
        f"| a contract's progress (`GET /v1/contracts/{{id}}/progress?quarter={QUARTER}`), "
        f"p50 / p95 / max | {samples} | {a['p50']:.1f} / **{a['p95']:.1f}** / {a['max']:.1f} ms "
        f"| p95 ≤ 50 ms | {s['p50']:.1f} / {s['p95']:.1f} / {s['max']:.1f} ms "
        f"| {a['p50'] / s['p50']:.1f}× |"
    ]
    assert "total" in body
    every = [ident("c", n) for n in range(1, sizes.contracts + 1)]
    statuses: list[int] = []
    report_api: list[float] = []
    report_sql: list[float] = []
    path = f"/v1/reports/clause-progress?scope=territory&scope_id={ident('o', 1)}&quarter={QUARTER}"
    for _ in range(REPORT_RUNS):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        report_api.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            statuses.append(response.status_code)
        report_sql.append(await bare_progress(connection, every))
    found.append(
        f"| the territory's quarterly clause-progress report (`GET /v1/reports/clause-progress"
        f"?scope=territory&quarter={QUARTER}`, {sizes.contracts:,} contracts), each run "
        f"| {REPORT_RUNS} | {' / '.join(f'{ms / 1000:.2f}' for ms in report_api)} s | ≤ 2 s "
        f"| {' / '.join(f'{ms / 1000:.2f}' for ms in report_sql)} s "
        f"| {statistics.median(report_api) / statistics.median(report_sql):.1f}× |"
        + (f" answers: {statuses}" if statuses else "")
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=5_000)
    parser.add_argument("--placements", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--import-lines", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="load only, keep the database")
    parser.add_argument("--reuse", action="store_true", help="measure a kept one, then drop it")
    parser.add_argument("--only", choices=("progress", "import"), help="one workload only")
    parser.add_argument("--database", default=DATABASE, help="the scratch database's name")
    parser.add_argument(
        "--keep-after", action="store_true", help="with --reuse: keep the database to measure again"
    )
    args = parser.parse_args()
    sizes = Sizes(args.contracts, args.placements, args.people)
    print(
        asyncio.run(
            run(
                sizes,
                args.samples,
                args.import_lines,
                args.keep,
                args.reuse,
                args.only,
                args.database,
                not args.keep_after,
            )
        )
    )


@asynccontextmanager
async def loaded_database(server_url: str, name: str) -> AsyncIterator[str]:
    """A fresh database made by the migrations, kept for a ``--reuse`` run."""
    dsn = server_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    await asyncio.to_thread(upgrade, url)
    yield url


if __name__ == "__main__":
    main()
