"""Ranking benchmarks P1 and P2 (quality.md): the worker's path against the bare SQL it runs and
against a naive in-Python scoring of everyone.

    python -m bench.ranking [--candidates 1000000] [--small 100000] [--offers 20000]

Two scratch databases, created, migrated and dropped here, loaded by the generator
(bench/seed.py): ``--small`` candidates (P1 at 100,000) and ``--candidates`` (P1 at 1,000,000
and P2), each with ``--offers`` open offers.

- P1: ``rank_candidates_for_offer(session, offer_id, settings=…, limit=50, today=…)`` for offers
  drawn at random, top 50 with their per-criterion points.
- P2: ``rank_offers_for_candidate(session, candidate_id, settings=…, limit=50, today=…)`` for
  rankable candidates drawn at random, against every open offer.

For each call, the statements the function sent (captured from the engine) are replayed just
after on a plain asyncpg connection with the same parameters: the bare SQL of the same query.
The naive baseline fetches every rankable candidate (P1) or every open offer (P2) and scores them
in Python by the rules of product.md §5 (same criteria, this file's weights), then keeps the top
50: what ranking without the database's indexes costs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import machine, percentiles, scratch_database, server_urls
from bench.seed import SeedReport, seeded, to_plain_url
from services.core.clock import PARIS, now
from services.core.db import SessionMaker
from services.core.settings import Settings

LIMIT = 50

Ranker = Callable[..., Awaitable[Any]]


class Capture:
    """The statements an engine sends while ``active``, with their parameters."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)

    def _before(
        self,
        conn: Any,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        if self.active:
            self.statements.append((statement, tuple(parameters or ())))


async def replay(
    connection: asyncpg.Connection, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    """The same statements on a plain connection, inside a transaction rolled back (the
    functions only read; a write, if any, is undone)."""
    transaction = connection.transaction()
    await transaction.start()
    try:
        for statement, parameters in statements:
            await connection.fetch(statement, *parameters)
    finally:
        await transaction.rollback()


async def timed_calls(
    sessionmaker: SessionMaker,
    capture: Capture,
    connection: asyncpg.Connection,
    call: Callable[[Any, uuid.UUID], Awaitable[Any]],
    ids: list[uuid.UUID],
) -> tuple[list[float], list[float], list[int], int]:
    """Worker path then bare SQL, one id after the other; sizes of the results, statements."""
    path_ms: list[float] = []
    sql_ms: list[float] = []
    sizes: list[int] = []
    statement_count = 0
    for object_id in ids:
        capture.statements.clear()
        async with sessionmaker() as session:
            capture.active = True
            started = time.perf_counter()
            result = await call(session, object_id)
            path_ms.append((time.perf_counter() - started) * 1000)
            capture.active = False
            await session.rollback()
        sizes.append(len(result))
        statements = list(capture.statements)
        statement_count = len(statements)
        started = time.perf_counter()
        await replay(connection, statements)
        sql_ms.append((time.perf_counter() - started) * 1000)
    return path_ms, sql_ms, sizes, statement_count


# -- the naive baseline -----------------------------------------------------------------------

# Points per criterion (product.md §5), this file's own: the baseline's cost does not depend on
# the exact values.
W_SECTOR_WANTED, W_SECTOR_WORKED, W_QPV, W_QPV_PRIORITY = 40.0, 25.0, 10.0, 20.0
W_AVAILABLE, W_DISTANCE, W_ELIGIBLE = 20.0, 20.0, 10.0
DEFAULT_RADIUS_KM = 20

CANDIDATES_SQL = """
SELECT c.id, coalesce(c.lon, m.lon), coalesce(c.lat, m.lat), c.sectors_wanted, c.sectors_worked,
       c.rome_wishes, c.qpv_status = 'in_qpv', c.available_from, c.hours_per_week,
       coalesce(c.mobility_radius_km, 20),
       EXISTS (SELECT 1 FROM eligibility_criterion e WHERE e.candidate_id = c.id
               AND e.validated_on IS NOT NULL AND (e.expires_on IS NULL OR e.expires_on >= $1))
FROM candidate c LEFT JOIN commune m ON m.insee = c.commune_insee
WHERE c.status IN ('new', 'active') AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
"""
OFFERS_SQL = """
SELECT o.id, o.lon, o.lat, o.sector, o.rome_code, o.start_date, o.hours_per_week,
       o.requires_eligibility, coalesce(k.is_npnru, false), coalesce(k.qpv_priority, 'none')
FROM offer o LEFT JOIN contract k ON k.id = o.contract_id
WHERE o.status = 'open'
"""


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12_742.0 * math.asin(math.sqrt(a))


def naive_score(candidate: Any, offer: Any, today: date) -> float | None:
    """The score of one pair by §5, or None when the pair is not ranked."""
    (_, c_lon, c_lat, wanted, worked, wishes, in_qpv, available, c_hours, radius, eligible) = (
        candidate
    )
    (_, o_lon, o_lat, sector, rome, start, o_hours, requires, npnru, priority) = offer
    points: float
    if sector is not None and sector in wanted:
        points = W_SECTOR_WANTED
    elif sector is not None and sector in worked:
        points = W_SECTOR_WORKED
    elif rome in wishes:
        points = W_SECTOR_WANTED
    else:
        return None
    if priority == "required" and not in_qpv:
        return None
    if requires and not eligible:
        return None
    if c_lon is None or o_lon is None:
        return None
    km = distance_km(c_lon, c_lat, o_lon, o_lat)
    if km > radius:
        return None
    points += W_DISTANCE * (1 - km / max(radius, 1))
    if in_qpv:
        points += W_QPV_PRIORITY if (npnru or priority == "preferred") else W_QPV
    begins = start or today
    if available is None or available <= begins:
        points += W_AVAILABLE
    else:
        points += W_AVAILABLE * max(0.0, 1 - (available - begins).days / 60)
    if c_hours and o_hours and abs(float(o_hours) - c_hours) > 10:
        points -= 5
    if eligible:
        points += W_ELIGIBLE
    return points


async def naive_offer(connection: asyncpg.Connection, offer_id: uuid.UUID, today: date) -> int:
    offer = await connection.fetchrow(OFFERS_SQL + " AND o.id = $1", offer_id)
    scored = []
    for candidate in await connection.fetch(CANDIDATES_SQL, today):
        score = naive_score(candidate, offer, today)
        if score is not None:
            scored.append((score, candidate[0]))
    scored.sort(reverse=True)
    return len(scored[:LIMIT])


async def naive_candidate(
    connection: asyncpg.Connection, candidate_id: uuid.UUID, today: date
) -> int:
    candidate = await connection.fetchrow(CANDIDATES_SQL + " AND c.id = $2", today, candidate_id)
    scored = []
    for offer in await connection.fetch(OFFERS_SQL):
        score = naive_score(candidate, offer, today)
        if score is not None:
            scored.append((score, offer[0]))
    scored.sort(reverse=True)
    return len(scored[:LIMIT])


# -- the run ----------------------------------------------------------------------------------


def ranking_functions() -> tuple[Ranker, Ranker]:
    """The worker's two entry points (services/matching/ranking.py)."""
    module = importlib.import_module("services.matching.ranking")
    return module.rank_candidates_for_offer, module.rank_offers_for_candidate


def row(label: str, path: list[float], sql: list[float], naive: list[float], target: str,
        sizes: list[int], statements: int) -> str:  # fmt: skip
    p, s = percentiles(path), percentiles(sql)
    n = percentiles(naive) if naive else None
    full = sum(size >= LIMIT for size in sizes)
    naive_cells = (
        f"{n['p50']:,.0f} | {n['p50'] / p['p50']:,.0f}×" if n is not None else "— | —"
    )  # fmt: skip
    return (
        f"| {label} | {len(path)} | {p['p50']:.1f} | {p['p95']:.1f} | {p['max']:.1f} | {target} "
        f"| {s['p50']:.1f} | {s['p95']:.1f} | {p['p50'] / s['p50']:.2f}× | {naive_cells} "
        f"| {full}/{len(sizes)} | {statements} |"
    )


HEADER = [
    "| workload | n | p50 ms | p95 ms | max ms | target p95 | bare SQL p50 ms | bare SQL p95 ms "
    "| path / SQL (p50) | naive p50 ms | speed-up vs naive (p50) | full top 50 | statements |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


async def sample_ids(connection: asyncpg.Connection, sql: str, count: int) -> list[uuid.UUID]:
    rows = await connection.fetch(sql + " ORDER BY md5(id::text) LIMIT $1", count)
    return [r[0] for r in rows]


async def bench_database(
    settings: Settings,
    sessionmaker: SessionMaker,
    report: SeedReport,
    *,
    samples: int,
    naive_samples: int,
    with_p2: bool,
) -> list[str]:
    rank_for_offer, rank_for_candidate = ranking_functions()
    today = now().astimezone(PARIS).date()
    engine = sessionmaker.kw["bind"]
    capture = Capture()
    capture.attach(engine)
    assert settings.database_url is not None
    connection = await asyncpg.connect(to_plain_url(settings.database_url))
    rows: list[str] = []
    try:
        offers = await sample_ids(
            connection, "SELECT id FROM offer WHERE status = 'open'", samples + naive_samples
        )
        candidates = await sample_ids(
            connection,
            "SELECT candidate_id AS id FROM match_profile",
            samples + naive_samples,
        )

        async def for_offer(session: Any, offer_id: uuid.UUID) -> Any:
            return await rank_for_offer(
                session, offer_id, settings=settings, limit=LIMIT, today=today
            )

        async def for_candidate(session: Any, candidate_id: uuid.UUID) -> Any:
            return await rank_for_candidate(
                session, candidate_id, settings=settings, limit=LIMIT, today=today
            )

        # Warm-up: caches and prepared statements, as in a running worker.
        await timed_calls(sessionmaker, capture, connection, for_offer, offers[:5])
        path, sql, sizes, statements = await timed_calls(
            sessionmaker, capture, connection, for_offer, offers[:samples]
        )
        naive = []
        for offer_id in offers[samples:]:
            started = time.perf_counter()
            await naive_offer(connection, offer_id, today)
            naive.append((time.perf_counter() - started) * 1000)
        target = "≤ 50 ms" if report.candidates >= 1_000_000 else "≤ 10 ms"
        rows.append(
            row(
                f"P1 offer → {report.candidates:,} candidates",
                path,
                sql,
                naive,
                target,
                sizes,
                statements,
            )
        )
        if with_p2:
            await timed_calls(sessionmaker, capture, connection, for_candidate, candidates[:5])
            path, sql, sizes, statements = await timed_calls(
                sessionmaker, capture, connection, for_candidate, candidates[:samples]
            )
            naive = []
            for candidate_id in candidates[samples:]:
                started = time.perf_counter()
                await naive_candidate(connection, candidate_id, today)
                naive.append((time.perf_counter() - started) * 1000)
            open_offers = await connection.fetchval(
                "SELECT count(*) FROM offer WHERE status = 'open'"
            )
            rows.append(
                row(
                    f"P2 candidate → {open_offers:,} open offers",
                    path,
                    sql,
                    naive,
                    "≤ 20 ms",
                    sizes,
                    statements,
                )
            )
    finally:
        await connection.close()
    return rows


async def run(
    candidates: int, small: int, offers: int, samples: int, naive_samples: int, data_dir: Path
) -> str:
    ranking_functions()  # fail before loading anything when the module is not there
    server, redis_url = server_urls()
    lines = [f"## Ranking P1 / P2 — {time.strftime('%Y-%m-%d')}", "", f"Machine: {machine()}."]
    lines += [
        f"Command: `python -m bench.ranking --candidates {candidates} --small {small} "
        f"--offers {offers} --samples {samples} --naive-samples {naive_samples}`.",
        "",
    ]
    table: list[str] = []
    loads: list[str] = []
    for size, with_p2 in ((small, False), (candidates, True)):
        if size <= 0:
            continue
        async with scratch_database(server, f"maillon_bench_ranking_{size}") as url:
            settings = Settings(database_url=url, redis_url=redis_url, log_json=True)
            async with seeded(settings, data_dir, candidates=size, offers=offers) as (
                sessionmaker,
                report,
            ):
                async with sessionmaker() as session:
                    profiles = await session.scalar(text("SELECT count(*) FROM match_profile"))
                loads.append(
                    f"- {size:,} candidates ({profiles:,} rankable: new or active, located) and "
                    f"{report.offers:,} open offers: candidates loaded at "
                    f"{report.candidates_per_second:,.0f}/s."
                )
                table += await bench_database(
                    settings,
                    sessionmaker,
                    report,
                    samples=samples,
                    naive_samples=naive_samples,
                    with_p2=with_p2,
                )
    return "\n".join([*lines, *loads, "", *HEADER, *table])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--naive-samples", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    print(
        asyncio.run(
            run(
                args.candidates,
                args.small,
                args.offers,
                args.samples,
                args.naive_samples,
                args.data,
            )
        )
    )


if __name__ == "__main__":
    main()
