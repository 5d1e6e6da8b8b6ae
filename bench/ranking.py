"""Ranking benchmarks P1 and P2 (quality.md): the worker's path against the bare SQL it runs and
against a naive in-Python scoring of everyone.

    python -m bench.ranking [--candidates 1000000] [--small 100000] [--offers 20000]

Two scratch databases, created, migrated and dropped here, loaded by the generator
(bench/seed.py): ``--small`` candidates (P1 at 100,000) and ``--candidates`` (P1 at 1,000,000
and P2), each with ``--offers`` open offers.

- P1: ``rank_candidates_for_offer(session, offer_id, settings=…, limit=50, today=…)`` for offers
  drawn at random, top 50 with their per-criterion points.
  The worker stores the points only; the explanations' French labels are built when first read
  (services/matching/labels.py): a second P1 row times the same call with every label of the
  top 50 read, the whole "top 50 with explanations".
- P2: ``rank_offers_for_candidate(session, candidate_id, settings=…, limit=50, today=…)`` for
  rankable candidates drawn at random, against every open offer.

What is timed is the worker's path: the call on a session whose connection is already held,
as the worker's job holds it (the job checks it out and claims its event before ranking); the
ranking runs its statements on that connection's asyncpg driver, each prepared once
(services/matching/statement_cache.py). For each call, the statements the function sent (traced
by the module, and any sent through the engine) are replayed just after on a plain asyncpg
connection with the same parameters, the same plan setting (``plan_cache_mode =
force_generic_plan``) and every statement kept prepared (asyncpg's cache, its size limit
raised): the bare SQL of the same query.
Warm-up: as many other offers (candidates) as measured ones go through both paths first, and
for P1 one other offer of each statement shape (sector, QPV required, eligibility required: the
text of an offer's statement depends on those), so statements are prepared and planned as in a
running worker, which keeps each shape's plan on its connection; the measured ones are not
among them. Preparing and planning a shape the first time on a connection costs about 10 ms
(the statement of eight tiers is ~17 KB): once per shape and connection.
The naive baseline fetches every rankable candidate (P1) or every open offer (P2) and scores them
in Python by the rules of product.md §5 (same criteria, this file's weights), then keeps the top
50: what ranking without the database's indexes costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import machine, percentiles, scratch_database, server_urls
from bench.seed import existing, seeded, to_plain_url
from services.core import collector
from services.core.clock import PARIS, now
from services.core.db import SessionMaker
from services.core.ranking.weights import UNKNOWN_SHARE, Weights
from services.core.referentials.sectors import sector_for_rome
from services.core.settings import Settings
from services.matching.statement_cache import TRACE

LIMIT = 50


class Capture:
    """The statements an engine, or an asyncpg connection it holds, sends while ``active``, with
    their parameters."""

    def __init__(self) -> None:
        self.active = False
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)

    @contextlib.contextmanager
    def tracing(self) -> Iterator[None]:
        """Active, with the statements the matching module runs on its driver recorded too."""
        token = TRACE.set(self.statements)
        self.active = True
        try:
            yield
        finally:
            self.active = False
            TRACE.reset(token)

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
    """The same statements on a plain connection; inside a transaction rolled back if one of
    them writes (the ranking functions only read)."""
    if all(sql.lstrip().upper().startswith(("SELECT", "WITH")) for sql, _ in statements):
        for statement, parameters in statements:
            await connection.fetch(statement, *parameters)
        return
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
            await session.connection()  # held, as the worker's job holds it
            with capture.tracing():
                started = time.perf_counter()
                result = await call(session, object_id)
                path_ms.append((time.perf_counter() - started) * 1000)
            await session.rollback()
        sizes.append(len(result))
        statements = list(capture.statements)
        statement_count = len(statements)
        started = time.perf_counter()
        await replay(connection, statements)
        sql_ms.append((time.perf_counter() - started) * 1000)
    return path_ms, sql_ms, sizes, statement_count


# -- the naive baseline -----------------------------------------------------------------------

# Everything read from ``candidate`` itself (no precomputed profile, no spatial index): home point
# (coordinates, else the commune's centre), sectors, QPV, availability, radius, the latest expiry
# of a validated eligibility criterion.
CANDIDATES_SQL = """
SELECT c.id, coalesce(c.lon, m.lon), coalesce(c.lat, m.lat), c.sectors_wanted, c.sectors_worked,
       c.rome_wishes, c.qpv_status = 'in_qpv', c.available_from, c.hours_per_week,
       c.mobility_radius_km,
       (SELECT max(coalesce(e.expires_on, 'infinity'::date)) FROM eligibility_criterion e
        WHERE e.candidate_id = c.id AND e.validated_on IS NOT NULL)
FROM candidate c LEFT JOIN commune m ON m.insee = c.commune_insee
WHERE c.status IN ('new', 'active') AND c.anonymised_at IS NULL AND c.merged_into_id IS NULL
"""
OFFERS_SQL = """
SELECT o.id, o.lon, o.lat, o.sector, o.rome_code, o.start_date, o.hours_per_week,
       o.requires_eligibility, o.contract_id IS NOT NULL, coalesce(k.is_npnru, false),
       k.qpv_priority
FROM offer o LEFT JOIN contract k ON k.id = o.contract_id
WHERE o.status = 'open'
"""
DEFAULT_RADIUS_KM = 20  # a candidate who gave none (as the matching profile)


def equirectangular_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dlat = math.radians(lat1 - lat2)
    dlon = math.cos(math.radians((lat1 + lat2) / 2)) * math.radians(lon1 - lon2)
    return 6371.0088 * math.sqrt(dlat * dlat + dlon * dlon)


def naive_score(candidate: Any, offer: Any, weights: Any, today: date) -> float | None:
    """The score of one pair by the rules of product.md §5 as the matching module states them
    (same weights), in Python; None when the pair is not ranked."""
    (_, c_lon, c_lat, wanted, worked, wishes, in_qpv, available, c_hours, radius, until) = candidate
    (_, o_lon, o_lat, sector, rome, start, o_hours, requires, has_contract, npnru, priority) = offer
    if c_lon is None or o_lon is None:
        return None
    wish_sectors = {sector_for_rome(wish) for wish in wishes}
    if sector is not None:
        if sector not in wanted and sector not in worked and sector not in wish_sectors:
            return None
        strong = sector in wanted or sector in wish_sectors
    else:
        if not any(rome.upper().startswith(wish.upper()) for wish in wishes):
            return None
        strong = True
    if priority == "required" and not in_qpv:
        return None
    eligible = until is not None and until >= today
    if requires and not eligible:
        return None
    km = equirectangular_km(c_lon, c_lat, o_lon, o_lat)
    if km > (DEFAULT_RADIUS_KM if radius is None else radius):
        return None
    reference = max(start, today) if start is not None else today
    prioritised = npnru or priority in ("preferred", "required")
    # What the person did not say earns half the best (decision 0038).
    if available is None:
        availability = weights.availability * UNKNOWN_SHARE
    else:
        late = max(0, (available - reference).days)
        availability = weights.availability * max(0.0, 1.0 - late / weights.availability_decay_days)
    if o_hours is None or (c_hours is not None and c_hours >= float(o_hours)):
        hours = weights.hours
    else:
        hours = weights.hours * UNKNOWN_SHARE if c_hours is None else 0.0
    if radius is None:
        distance = UNKNOWN_SHARE * max(0.0, 1.0 - km / DEFAULT_RADIUS_KM)
    else:
        distance = 1.0 if radius <= 0 else max(0.0, 1.0 - km / radius)
    points: list[float] = [
        weights.sector if strong else weights.sector_experience,
        (weights.qpv_priority if prioritised else weights.qpv) if in_qpv else 0.0,
        availability + hours,
        weights.distance * distance,
        weights.eligibility if (requires or has_contract) and eligible else 0.0,
    ]
    return sum(round(100 * p) / 100 for p in points)


def top(scored: list[tuple[float, date, uuid.UUID]]) -> list[tuple[float, uuid.UUID]]:
    scored.sort()
    return [(-score, object_id) for score, _, object_id in scored[:LIMIT]]


async def naive_offer(
    connection: asyncpg.Connection, offer_id: uuid.UUID, weights: Any, today: date
) -> list[tuple[float, uuid.UUID]]:
    """Every rankable candidate fetched and scored in Python, then the top 50."""
    offer = await connection.fetchrow(OFFERS_SQL + " AND o.id = $1", offer_id)
    scored: list[tuple[float, date, uuid.UUID]] = []
    for candidate in await connection.fetch(CANDIDATES_SQL):
        score = naive_score(candidate, offer, weights, today)
        if score is not None:
            scored.append((-round(score, 2), candidate[7] or date.max, candidate[0]))
    return top(scored)


async def naive_candidate(
    connection: asyncpg.Connection, candidate_id: uuid.UUID, weights: Any, today: date
) -> list[tuple[float, uuid.UUID]]:
    """Every open offer fetched and scored in Python, then the top 50."""
    candidate = await connection.fetchrow(CANDIDATES_SQL + " AND c.id = $1", candidate_id)
    scored: list[tuple[float, date, uuid.UUID]] = []
    for offer in await connection.fetch(OFFERS_SQL):
        score = naive_score(candidate, offer, weights, today)
        if score is not None:
            scored.append((-round(score, 2), offer[5] or date.max, offer[0]))
    return top(scored)


# -- the run ----------------------------------------------------------------------------------


def matching_module() -> Any:
    """The worker's module (services/matching/ranking.py): its two entry points."""
    return importlib.import_module("services.matching.ranking")


@dataclass
class Workload:
    label: str
    target: str
    path_ms: list[float]
    sql_ms: list[float]
    naive_ms: list[float]
    sizes: list[int]
    statements: int
    same_top: int  # naive top 50 identical to the worker's (ids, in order)

    def row(self) -> str:
        p, s = percentiles(self.path_ms), percentiles(self.sql_ms)
        n = percentiles(self.naive_ms) if self.naive_ms else None
        full = sum(size >= LIMIT for size in self.sizes)
        naive = f"{n['p50']:,.0f} | {n['p50'] / p['p50']:,.0f}×" if n is not None else "— | —"
        return (
            f"| {self.label} | {len(self.path_ms)} | {p['p50']:.1f} | {p['p95']:.1f} | "
            f"{p['max']:.1f} | {self.target} | {s['p50']:.1f} | {s['p95']:.1f} | "
            f"{p['p50'] / s['p50']:.2f}× | {naive} | {self.same_top}/{len(self.naive_ms)} | "
            f"{full}/{len(self.sizes)} | {self.statements} |"
        )


HEADER = [
    "| workload | n | p50 ms | p95 ms | max ms | target p95 | bare SQL p50 ms | bare SQL p95 ms "
    "| worker / SQL (p50) | naive p50 ms | speed-up vs naive (p50) | naive top 50 identical "
    "| full top 50 | statements |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


async def sample_ids(
    connection: asyncpg.Connection, table: str, column: str, where: str, count: int
) -> list[uuid.UUID]:
    """``count`` ids drawn at random (a fixed hash order: the same ones in every run)."""
    rows = await connection.fetch(
        f"SELECT {column} FROM {table} WHERE {where} ORDER BY md5({column}::text) LIMIT $1",  # noqa: S608
        count,
    )
    return [r[0] for r in rows]


async def one_of_each_shape(
    connection: asyncpg.Connection, measured: list[uuid.UUID]
) -> list[uuid.UUID]:
    """An open offer of each statement shape of P1 (services/matching/queries.py: the sector,
    whether the contract requires QPV residents, whether the offer requires eligibility), none
    of the ``measured`` ones."""
    rows = await connection.fetch(
        "SELECT DISTINCT ON (o.sector, c.qpv_priority = 'required', o.requires_eligibility) o.id"
        " FROM offer o LEFT JOIN contract c ON c.id = o.contract_id"
        " WHERE o.status = 'open' AND o.id <> ALL($1::uuid[])"
        " ORDER BY o.sector, c.qpv_priority = 'required', o.requires_eligibility, md5(o.id::text)",
        measured,
    )
    return [r[0] for r in rows]


Top = list[tuple[float, uuid.UUID]]
Naive = Callable[[asyncpg.Connection, uuid.UUID, Any, date], Awaitable[Top]]


async def workload(
    label: str,
    target: str,
    sessionmaker: SessionMaker,
    capture: Capture,
    connection: asyncpg.Connection,
    call: Callable[[Any, uuid.UUID], Awaitable[Any]],
    naive: Naive,
    ids: list[uuid.UUID],
    naive_ids: list[uuid.UUID],
    warm_ids: list[uuid.UUID],
    weights: Any,
    today: date,
) -> Workload:
    # Warm-up on other ids: prepared statements and their plans, as in a running worker.
    await timed_calls(sessionmaker, capture, connection, call, warm_ids)
    path, sql, sizes, statements = await timed_calls(sessionmaker, capture, connection, call, ids)
    naive_ms: list[float] = []
    same = 0
    for object_id in naive_ids:
        started = time.perf_counter()
        expected = await naive(connection, object_id, weights, today)
        naive_ms.append((time.perf_counter() - started) * 1000)
        async with sessionmaker() as session:
            ranked = await call(session, object_id)
        got = [(r.score, getattr(r, "candidate_id", None) or r.offer_id) for r in ranked]
        same += [i for _, i in got] == [i for _, i in expected] and all(
            abs(a - b) < 0.011 for (a, _), (b, _) in zip(got, expected, strict=True)
        )
    return Workload(label, target, path, sql, naive_ms, sizes, statements, same)


async def bench_database(
    settings: Settings,
    sessionmaker: SessionMaker,
    size: int,
    *,
    samples: int,
    naive_samples: int,
    with_p2: bool,
) -> list[Workload]:
    matching = matching_module()
    # The worker's process settles its collector once started (decision 0032): so does this one.
    collector.settle(settings.gc_threshold)
    weights = Weights.from_settings(settings)
    today = now().astimezone(PARIS).date()
    capture = Capture()
    capture.attach(sessionmaker.kw["bind"])
    assert settings.database_url is not None
    connection = await asyncpg.connect(
        to_plain_url(settings.database_url),
        server_settings={"plan_cache_mode": "force_generic_plan"},
        max_cacheable_statement_size=1024 * 1024,
    )

    async def for_offer(session: Any, offer_id: uuid.UUID) -> Any:
        return await matching.rank_candidates_for_offer(
            session, offer_id, settings=settings, limit=LIMIT, today=today
        )

    async def for_offer_read(session: Any, offer_id: uuid.UUID) -> Any:
        ranked = await for_offer(session, offer_id)
        for item in ranked:
            item.explanation.criteria  # noqa: B018  (every label built)
        return ranked

    async def for_candidate(session: Any, candidate_id: uuid.UUID) -> Any:
        return await matching.rank_offers_for_candidate(
            session, candidate_id, settings=settings, limit=LIMIT, today=today
        )

    results: list[Workload] = []
    try:
        offers = await sample_ids(
            connection, "offer", "id", "status = 'open'", 2 * samples + naive_samples
        )
        offers += await one_of_each_shape(connection, offers[: samples + naive_samples])
        target = "≤ 50 ms" if size >= 1_000_000 else "≤ 10 ms"
        results.append(
            await workload(
                f"P1 offer → {size:,} candidates", target, sessionmaker, capture,
                connection, for_offer, naive_offer, offers[:samples],
                offers[samples : samples + naive_samples], offers[samples + naive_samples :],
                weights, today,
            )
        )  # fmt: skip
        results.append(
            await workload(
                f"P1 offer → {size:,} candidates, every label read", target, sessionmaker,
                capture, connection, for_offer_read, naive_offer, offers[:samples], [],
                offers[samples + naive_samples :], weights, today,
            )
        )  # fmt: skip
        if with_p2:
            candidates = await sample_ids(
                connection, "match_profile", "candidate_id", "true", 2 * samples + naive_samples
            )
            open_offers = await connection.fetchval(
                "SELECT count(*) FROM offer WHERE status = 'open'"
            )
            results.append(
                await workload(
                    f"P2 candidate → {open_offers:,} open offers", "≤ 20 ms", sessionmaker,
                    capture, connection, for_candidate, naive_candidate, candidates[:samples],
                    candidates[samples : samples + naive_samples],
                    candidates[samples + naive_samples :], weights, today,
                )
            )  # fmt: skip
    finally:
        await connection.close()
    return results


async def run(
    candidates: int,
    small: int,
    offers: int,
    samples: int,
    naive_samples: int,
    data_dir: Path,
    urls: dict[int, str],
) -> str:
    """``urls``: databases loaded beforehand by ``maillon bench seed``, by size (used as they
    are); the other sizes get a scratch database loaded here."""
    matching_module()  # fail before loading anything when the module is not there
    server, redis_url = server_urls()
    table: list[Workload] = []
    loads: list[str] = []
    for size, with_p2 in ((small, False), (candidates, True)):
        if size <= 0:
            continue
        if size in urls:
            settings = Settings(database_url=urls[size], redis_url=redis_url, log_json=True)
            async with existing(settings) as sessionmaker:
                how = "loaded beforehand by `maillon bench seed`"
                loads.append(await describe(sessionmaker, how))
                table += await bench_database(
                    settings, sessionmaker, size, samples=samples,
                    naive_samples=naive_samples, with_p2=with_p2,
                )  # fmt: skip
            continue
        async with scratch_database(server, f"maillon_bench_ranking_{size}") as url:
            settings = Settings(database_url=url, redis_url=redis_url, log_json=True)
            async with seeded(settings, data_dir, candidates=size, offers=offers) as (
                sessionmaker,
                report,
            ):
                loads.append(
                    await describe(
                        sessionmaker,
                        f"loaded here at {report.candidates_per_second:,.0f} candidates/s "
                        "(COPY, every index and trigger)",
                    )
                )
                table += await bench_database(
                    settings, sessionmaker, size, samples=samples,
                    naive_samples=naive_samples, with_p2=with_p2,
                )  # fmt: skip
    command = f"python -m bench.ranking --candidates {candidates} --small {small} "
    if len(urls) < sum(size > 0 for size in (candidates, small)):
        command += f"--offers {offers} "
    command += f"--samples {samples} --naive-samples {naive_samples}"
    command += "".join(
        f" --{'small-' if size == small else ''}database-url URL" for size in sorted(urls)
    )
    lines = [f"## Ranking P1 / P2 — {time.strftime('%Y-%m-%d')}", "", f"Machine: {machine()}."]
    lines += [f"Command: `{command}`.", ""]
    return "\n".join([*lines, *loads, "", *HEADER, *(w.row() for w in table)])


async def describe(sessionmaker: SessionMaker, how: str) -> str:
    async with sessionmaker() as session:
        candidates = await session.scalar(text("SELECT count(*) FROM candidate"))
        profiles = await session.scalar(text("SELECT count(*) FROM match_profile"))
        offers = await session.scalar(text("SELECT count(*) FROM offer WHERE status = 'open'"))
    return (
        f"- {candidates:,} candidates ({profiles:,} rankable: new or active, located) and "
        f"{offers:,} open offers, {how}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--naive-samples", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--database-url", help="the --candidates database, seeded beforehand")
    parser.add_argument("--small-database-url", help="the --small database, seeded beforehand")
    args = parser.parse_args()
    urls = {
        size: url
        for size, url in (
            (args.candidates, args.database_url),
            (args.small, args.small_database_url),
        )
        if url
    }
    print(
        asyncio.run(
            run(
                args.candidates,
                args.small,
                args.offers,
                args.samples,
                args.naive_samples,
                args.data,
                urls,
            )
        )
    )


if __name__ == "__main__":
    main()
