"""Index designs of ``match_profile`` side by side (P1, P2, the bulk import), on the same data.

    python -m bench.indexes prepare --candidates 100000 [--offers 20000]
    python -m bench.indexes run [--sizes 100000 1000000] [--designs tiers64 ...] [--rounds 2]
    python -m bench.indexes drop

``prepare`` loads one database per size (``maillon_bench_idx_<size>``) once, by the generator
(bench/seed.py), with the tier indexes dropped first (each design builds its own; the load is
faster without them). ``run`` then, for each round and each design in turn (A, B, C, A, B, C…,
so the machine's load falls on every design alike): drops every ``match_profile`` index but the
primary key, builds the design's (timed), ``ANALYZE``, and measures P1 and P2 as
``bench.ranking`` does — the worker's path (``rank_candidates_for_offer`` /
``rank_offers_for_candidate`` on a session whose connection is held, warmed on other offers of
every statement shape) against the bare SQL of the same statements — with the ranking SQL the
design needs (the module's statement builder swapped for the run). Every design must give the
same top 50 as the first for every measured offer: the run says how many differ.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.common import machine, server_urls
from bench.intake import bulk_import, population
from bench.ranking import LIMIT, Capture, one_of_each_shape, replay, sample_ids
from bench.seed import _chunk_timer, seed, to_plain_url
from services.core.clock import PARIS, now
from services.core.db import (
    SessionMaker,
    create_engine,
    create_sessionmaker,
    session_driver,
    unit_of_work,
)
from services.core.migrate import upgrade
from services.core.ranking.score import SCORE_SQL, km_sql, points_sql, reach_km
from services.core.ranking.weights import Weights
from services.core.referentials.loader import load_reference_data
from services.core.referentials.sectors import SectorCode
from services.core.settings import Settings
from services.matching import offer_terms, queries, ranking, statement_cache

PREFIX = "maillon_bench_idx_"


def database_url(server: str, size: int) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{PREFIX}{size}"))


async def admin_connection(server: str) -> asyncpg.Connection:
    return await asyncpg.connect(server.replace("postgresql+asyncpg://", "postgresql://", 1))


async def candidate_count(url: str) -> int | None:
    """Candidates of a database loaded before; None when it does not exist or is not loaded."""
    try:
        connection = await asyncpg.connect(to_plain_url(url))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        loaded = await connection.fetchval("SELECT count(*) FROM offer WHERE status = 'open'")
        if not loaded:
            return None
        count: int = await connection.fetchval("SELECT count(*) FROM candidate")
        return count
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()


async def drop_profile_indexes(connection: asyncpg.Connection) -> None:
    """Every index of ``match_profile`` but its primary key."""
    names = await connection.fetch(
        "SELECT indexrelid::regclass::text FROM pg_index"
        " WHERE indrelid = 'match_profile'::regclass AND NOT indisprimary"
    )
    for (name,) in names:
        await connection.execute(f"DROP INDEX {name}")


async def prepare(server: str, redis: str, size: int, offers: int, data: Path) -> None:
    url = database_url(server, size)
    if await candidate_count(url) == size:
        print(f"{PREFIX}{size}: already loaded")
        return
    admin = await admin_connection(server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PREFIX}{size}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PREFIX}{size}"')
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, url)
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        await drop_profile_indexes(connection)
    finally:
        await connection.close()
    settings = Settings(database_url=url, redis_url=redis, log_json=True)
    engine = create_engine(settings, application_name="maillon-bench", statement_timeout=0)
    started = time.perf_counter()
    try:
        sessionmaker = create_sessionmaker(engine)
        await load_reference_data(sessionmaker, data)
        async with unit_of_work(sessionmaker) as session:
            await seed(session, candidates=size, offers=offers, progress=_chunk_timer())
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    print(f"{PREFIX}{size}: loaded in {time.perf_counter() - started:.0f} s")


# -- the designs -----------------------------------------------------------------------------

COVERED = (
    "candidate_id",
    "home",
    "radius_km",
    "available_from",
    "hours_per_week",
    "eligible_until",
)
ROME_WISHES_INDEX = (
    "CREATE INDEX ix_match_profile_rome_wishes ON match_profile USING gin (rome_wishes)"
    " WHERE cardinality(rome_wishes) > 0"
)


def _sector(sector: str) -> str:
    return f"ARRAY['{SectorCode(sector).value}']::varchar(30)[]"


def _tier64(wanted: bool, qpv: bool, eligible: bool, alias: str = "") -> str:
    """A tier's predicate, ``{s}`` standing for the sector's literal array."""
    return (
        f"{alias}sectors @> {{s}}"
        f" AND {'' if wanted else 'NOT '}{alias}wanted @> {{s}}"
        f" AND {'' if qpv else 'NOT '}{alias}in_qpv"
        f" AND {alias}eligible_until IS {'NOT ' if eligible else ''}NULL"
    )


FOUR = [(w, q, e) for w in (True, False) for q in (True, False) for e in (True, False)]


def tiers64_indexes() -> list[str]:
    """The design of migration 0009: sector × wanted or worked × QPV × eligibility."""
    return [
        f"CREATE INDEX ix_match_profile_{sector.value}_{'wanted' if w else 'worked'}_"
        f"{'qpv' if q else 'other'}_{'elig' if e else 'none'} ON match_profile USING gist (reach)"
        f" INCLUDE ({', '.join(COVERED)}) WHERE {_tier64(w, q, e).format(s=_sector(sector))}"
        for sector in SectorCode
        for w, q, e in FOUR
    ] + [ROME_WISHES_INDEX]


def tiers16_indexes() -> list[str]:
    """Sector × wanted or worked only; QPV residence covered."""
    return [
        f"CREATE INDEX ix_match_profile_{sector.value}_{'wanted' if wanted else 'worked'} ON"
        f" match_profile USING gist (reach) INCLUDE ({', '.join((*COVERED, 'in_qpv'))})"
        f" WHERE sectors @> {_sector(sector)} AND {'' if wanted else 'NOT '}wanted @>"
        f" {_sector(sector)}"
        for sector in SectorCode
        for wanted in (True, False)
    ] + [ROME_WISHES_INDEX]


def sector8_indexes() -> list[str]:
    """One covering index per sector."""
    return [
        f"CREATE INDEX ix_match_profile_{sector.value} ON match_profile USING gist (reach)"
        f" INCLUDE ({', '.join((*COVERED, 'in_qpv', 'wanted'))})"
        f" WHERE sectors @> {_sector(sector)}"
        for sector in SectorCode
    ] + [ROME_WISHES_INDEX]


def gist1_indexes() -> list[str]:
    """One GiST on the reach for everybody, sectors covered and filtered."""
    return [
        "CREATE INDEX ix_match_profile_reach ON match_profile USING gist (reach)"
        f" INCLUDE ({', '.join((*COVERED, 'in_qpv', 'wanted', 'sectors'))})",
        ROME_WISHES_INDEX,
    ]


@dataclass(frozen=True)
class Part:
    """One part of an offer's statement: which profiles (``link``, with ``{s}`` for the
    sector's literal array), whether they are strongly linked, whether they live in a QPV, and
    the best score it can reach (``wanted``/``qpv``/``eligible``: None = either)."""

    link: str
    strong: str
    in_qpv: str
    wanted: bool
    qpv: bool | None = None
    eligible: bool | None = None


def part_sql(shape: queries.Shape, sector: str, part: Part, gate: str) -> str:
    """``queries.candidates_sql`` with the part's link, strong and QPV expressions."""
    extra = ""
    if shape.qpv_required and part.in_qpv not in ("true", "false"):
        extra += " AND p.in_qpv"
    if shape.requires_eligibility:
        extra += " AND p.eligible_until >= CAST(:today AS date)"
    if gate:
        extra += f" AND {gate}"
    s = _sector(sector)
    km = km_sql("p.home", "CAST(:lon AS float8)", "CAST(:lat AS float8)")
    strong, in_qpv = part.strong.format(s=s), part.in_qpv
    points = points_sql(
        strong=strong,
        in_qpv=in_qpv,
        qpv_weight="CAST(:qpv_weight AS float8)",
        available_from="p.available_from",
        reference="CAST(:reference AS date)",
        candidate_hours="p.hours_per_week",
        offer_hours="CAST(:offer_hours AS float8)",
        km="d.km",
        radius="p.radius_km",
        eligible_until="p.eligible_until",
        eligibility_applies="CAST(:eligibility_applies AS boolean)",
    )
    return f"""
SELECT s.*, {SCORE_SQL} AS score FROM (
  SELECT p.candidate_id, p.available_from, p.hours_per_week, {in_qpv} AS in_qpv, p.radius_km,
         p.eligible_until, {strong} AS strong, d.km, {points}
  FROM match_profile p
  CROSS JOIN LATERAL (SELECT {km} AS km) AS d
  WHERE {part.link.format(s=s)}
    AND p.reach @> box(point(CAST(:lon AS float8), CAST(:lat AS float8)),
                       point(CAST(:lon AS float8), CAST(:lat AS float8)))
    AND d.km <= {reach_km("p.radius_km")}{extra}
) AS s
ORDER BY score DESC, s.available_from ASC NULLS LAST, s.candidate_id
LIMIT :limit
"""  # noqa: S608


def parts_sql(shape: queries.Shape, sector: str, parts: tuple[Part, ...]) -> str:
    """As ``queries.tiers_sql``: part ``k`` read only when the ones before leave room."""
    if len(parts) == 1:
        return part_sql(shape, sector, parts[0], "")
    ctes = []
    for k, part in enumerate(parts):
        gate = ""
        if k:
            kept = " UNION ALL ".join(f"SELECT score FROM t{j}" for j in range(k))  # noqa: S608
            gate = (
                f"coalesce((SELECT u.score FROM ({kept}) AS u ORDER BY u.score DESC"  # noqa: S608
                " OFFSET CAST(:limit AS bigint) - 1 LIMIT 1), -1.0)"
                f" <= CAST(:bound_{k} AS float8)"
            )
        ctes.append(f"t{k} AS MATERIALIZED ({part_sql(shape, sector, part, gate)})")
    union = " UNION ALL ".join(f"SELECT * FROM t{k}" for k in range(len(ctes)))  # noqa: S608
    return (
        f"WITH {', '.join(ctes)} SELECT * FROM ({union}) AS r"  # noqa: S608
        " ORDER BY r.score DESC, r.available_from ASC NULLS LAST, r.candidate_id LIMIT :limit"
    )


def bound(part: Part, terms: offer_terms.OfferTerms, weights: Weights) -> float:
    qpv_weight = weights.qpv_priority if terms.qpv_prioritised else weights.qpv
    eligibility = weights.eligibility if terms.eligibility_applies else 0.0
    return (
        (weights.sector if part.wanted else weights.sector_experience)
        + (0.0 if part.qpv is False else qpv_weight)
        + (0.0 if part.eligible is False else eligibility)
        + weights.availability
        + weights.hours
        + weights.distance
    )


SECTOR_LINK = "p.sectors @> {s}"
FLAT = (Part(SECTOR_LINK, "p.wanted @> {s}", "p.in_qpv", wanted=True),)
TIERS64 = tuple(
    Part(
        _tier64(w, q, e, "p."),
        "true" if w else "false",
        "true" if q else "false",
        wanted=w,
        qpv=q,
        eligible=e,
    )
    for w, q, e in FOUR
)
BY_LINK = (
    Part(SECTOR_LINK + " AND p.wanted @> {s}", "true", "p.in_qpv", wanted=True),
    Part(SECTOR_LINK + " AND NOT p.wanted @> {s}", "false", "p.in_qpv", wanted=False),
)


def ranked_rows_with(parts: tuple[Part, ...]) -> Callable[..., Any]:
    """A stand-in for ``ranking._ranked_rows`` reading the sector's profiles by ``parts``."""

    async def ranked_rows(
        connection: asyncpg.Connection,
        terms: offer_terms.OfferTerms,
        params: dict[str, Any],
        weights: Weights,
        limit: int,
    ) -> list[asyncpg.Record]:
        shape = queries.Shape.of(terms)
        if terms.sector is None:
            sql = queries.candidates_sql(shape, None)
            return await statement_cache.fetch(connection, sql, params)
        kept = [
            part
            for part in parts
            if (part.qpv is not False or not shape.qpv_required)
            and (part.eligible is not False or not shape.requires_eligibility)
        ]
        ordered = sorted(kept, key=lambda part: -bound(part, terms, weights))
        bounds = {f"bound_{k}": bound(part, terms, weights) for k, part in enumerate(ordered)}
        sql = parts_sql(shape, terms.sector.value, tuple(ordered))
        return await statement_cache.fetch(
            connection, sql, {**params, **bounds} if len(parts) > 1 else params
        )

    return ranked_rows


@dataclass(frozen=True)
class Design:
    name: str
    what: str
    indexes: Callable[[], list[str]]
    # The parts of a sector's statement, read best first.
    parts: tuple[Part, ...]
    plan_mode: str = "force_generic_plan"


DESIGNS = {
    d.name: d
    for d in (
        Design("tiers64", "64 partial GiST tiers (sector × wanted/worked × QPV × eligibility), "
               "8 tiers a sector (current)", tiers64_indexes, TIERS64),
        Design("tiers16", "16 partial GiST (sector × wanted/worked), 2 parts a sector",
               tiers16_indexes, BY_LINK),
        Design("tiers16-auto", "as tiers16, PostgreSQL's default plan cache mode (no forced "
               "generic plans)", tiers16_indexes, BY_LINK, "auto"),
        Design("sector8", "8 partial GiST, one covering index per sector, one scan",
               sector8_indexes, FLAT),
        Design("sector8-auto", "as sector8, PostgreSQL's default plan cache mode (no forced "
               "generic plans)", sector8_indexes, FLAT, "auto"),
        Design("gist1", "1 GiST on the reach for everybody (sectors covered, filtered), one scan",
               gist1_indexes, FLAT),
    )
}  # fmt: skip


@contextlib.contextmanager
def design_statements(design: Design) -> Iterator[None]:
    """The ranking module's statements for ``design``, and its plan cache mode."""
    # ``driver`` is the name the ranking module imported from the statement cache.
    saved_rows, saved_driver = ranking._ranked_rows, vars(ranking)["driver"]
    ranking._ranked_rows = ranked_rows_with(design.parts)
    if design.plan_mode != "force_generic_plan":

        async def driver(session: Any) -> asyncpg.Connection:
            found: asyncpg.Connection = await session_driver(session)
            return found

        vars(ranking)["driver"] = driver
    try:
        yield
    finally:
        ranking._ranked_rows = saved_rows
        vars(ranking)["driver"] = saved_driver


@dataclass
class Built:
    count: int
    size_mb: float
    seconds: float


_LAST_BUILT: dict[str, tuple[Callable[[], list[str]], Built]] = {}


async def build(connection: asyncpg.Connection, design: Design) -> Built:
    """The design's indexes instead of whatever ``match_profile`` had, then ``ANALYZE``; kept
    as they are when the design before on this database had the same ones."""
    database = await connection.fetchval("SELECT current_database()")
    last = _LAST_BUILT.get(database)
    if last is not None and last[0] is design.indexes:
        await connection.execute("ANALYZE match_profile")
        return last[1]
    await drop_profile_indexes(connection)
    started = time.perf_counter()
    statements = design.indexes()
    for statement in statements:
        await connection.execute(statement, timeout=None)
    seconds = time.perf_counter() - started
    await connection.execute("ANALYZE match_profile")
    size = await connection.fetchval(
        "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index"
        " WHERE indrelid = 'match_profile'::regclass AND NOT indisprimary"
    )
    built = Built(len(statements), size / 1024 / 1024, seconds)
    _LAST_BUILT[database] = (design.indexes, built)
    return built


# -- the measurements -------------------------------------------------------------------------

Top = list[tuple[uuid.UUID, float]]


@dataclass
class Timings:
    path_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    full: int = 0
    # CPU time of the bare SQL's PostgreSQL backend over all the calls: the work itself, which
    # the machine's load does not stretch as it stretches the wall-clock times.
    sql_cpu_ms: float = 0.0

    def add(self, other: Timings) -> None:
        self.path_ms += other.path_ms
        self.sql_ms += other.sql_ms
        self.full += other.full
        self.sql_cpu_ms += other.sql_cpu_ms


def backend_cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def timed(
    sessionmaker: SessionMaker,
    capture: Capture,
    bare: asyncpg.Connection,
    call: Callable[[Any, uuid.UUID], Any],
    ids: list[uuid.UUID],
    tops: dict[uuid.UUID, Top] | None,
) -> Timings:
    """Worker path then bare SQL, one id after the other (as ``bench.ranking.timed_calls``),
    keeping each result's ids and scores."""
    timings = Timings()
    backend = bare.get_server_pid()
    for object_id in ids:
        capture.statements.clear()
        async with sessionmaker() as session:
            await session.connection()  # held, as the worker's job holds it
            with capture.tracing():
                started = time.perf_counter()
                result = await call(session, object_id)
                timings.path_ms.append((time.perf_counter() - started) * 1000)
            await session.rollback()
        statements = list(capture.statements)
        cpu = backend_cpu_ms(backend)
        started = time.perf_counter()
        await replay(bare, statements)
        timings.sql_ms.append((time.perf_counter() - started) * 1000)
        timings.sql_cpu_ms += backend_cpu_ms(backend) - cpu
        timings.full += len(result) >= LIMIT
        if tops is not None:
            tops[object_id] = [
                (getattr(r, "candidate_id", None) or r.offer_id, r.score) for r in result
            ]
    return timings


@dataclass
class Measured:
    design: str
    size: int
    built: Built
    p1: Timings
    p2: Timings
    load: list[float]
    # One profile rebuilt by match_profile_sync (a change, or a new person's profile built at
    # once), its plan generic as the migrations set it / planned at every call.
    sync_ms: list[float] = field(default_factory=list)
    sync_custom_ms: list[float] = field(default_factory=list)


SYNC = "match_profile_sync(uuid[])"


async def sync_timings(url: str, ids: list[uuid.UUID], mode: str) -> list[float]:
    """``match_profile_sync`` of one person at a time, each in a transaction rolled back, on a
    fresh connection, with the function's ``plan_cache_mode`` set to ``mode`` meanwhile."""
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        await connection.execute(f"ALTER FUNCTION {SYNC} SET plan_cache_mode = {mode}")
        spent: list[float] = []
        warm = ids[:20]
        for k, person in enumerate([*warm, *ids]):
            transaction = connection.transaction()
            await transaction.start()
            started = time.perf_counter()
            await connection.execute("SELECT match_profile_sync(ARRAY[$1::uuid])", person)
            if k >= len(warm):  # the first ones warm the connection
                spent.append((time.perf_counter() - started) * 1000)
            await transaction.rollback()
        return spent
    finally:
        await connection.execute(f"ALTER FUNCTION {SYNC} SET plan_cache_mode = force_generic_plan")
        await connection.close()


def load_average() -> float:
    return os.getloadavg()[0]


async def measure(
    url: str,
    redis: str,
    design: Design,
    size: int,
    samples: int,
    tops: dict[str, dict[uuid.UUID, Top]],
) -> Measured:
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        built = await build(connection, design)
        offers = await sample_ids(connection, "offer", "id", "status = 'open'", 2 * samples)
        warm_offers = offers[samples:] + await one_of_each_shape(connection, offers[:samples])
        people = await sample_ids(connection, "match_profile", "candidate_id", "true", 2 * samples)
    finally:
        await connection.close()
    settings = Settings(database_url=url, redis_url=redis, log_json=True)
    matching = importlib.import_module("services.matching.ranking")
    today = now().astimezone(PARIS).date()
    engine = create_engine(settings, application_name="maillon-bench", statement_timeout=0)
    sessionmaker = create_sessionmaker(engine)
    capture = Capture()
    capture.attach(engine)
    bare = await asyncpg.connect(
        to_plain_url(url),
        server_settings={"plan_cache_mode": design.plan_mode},
        max_cacheable_statement_size=1024 * 1024,
    )

    async def for_offer(session: Any, offer_id: uuid.UUID) -> Any:
        return await matching.rank_candidates_for_offer(
            session, offer_id, settings=settings, limit=LIMIT, today=today
        )

    async def for_candidate(session: Any, candidate_id: uuid.UUID) -> Any:
        return await matching.rank_offers_for_candidate(
            session, candidate_id, settings=settings, limit=LIMIT, today=today
        )

    load = [load_average()]
    try:
        with design_statements(design):
            await timed(sessionmaker, capture, bare, for_offer, warm_offers, None)
            p1 = await timed(
                sessionmaker, capture, bare, for_offer, offers[:samples], tops.setdefault("p1", {})
            )
            await timed(sessionmaker, capture, bare, for_candidate, people[samples:], None)
            p2 = await timed(
                sessionmaker, capture, bare, for_candidate, people[:samples],
                tops.setdefault("p2", {}),
            )  # fmt: skip
    finally:
        await bare.close()
        await engine.dispose()
    load.append(load_average())
    done = Measured(design.name, size, built, p1, p2, load)
    done.sync_ms = await sync_timings(url, people[:samples], "force_generic_plan")
    done.sync_custom_ms = await sync_timings(url, people[:samples], "force_custom_plan")
    return done


def same_tops(reference: dict[uuid.UUID, Top], other: dict[uuid.UUID, Top]) -> tuple[int, int]:
    """Results with the same ids in the same order and the same scores, out of those compared."""
    same = sum(
        [i for i, _ in reference[k]] == [i for i, _ in other[k]]
        and all(abs(a - b) < 0.005 for (_, a), (_, b) in zip(reference[k], other[k], strict=True))
        for k in reference
        if k in other
    )
    return same, sum(k in other for k in reference)


async def drop_all(server: str) -> None:
    admin = await admin_connection(server)
    try:
        names = await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", PREFIX + "%"
        )
        for (name,) in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped {name}")
    finally:
        await admin.close()


def quantiles(samples: list[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99 (inclusive method, as bench.common) and max."""
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return q[49], q[94], q[98], ordered[-1]


@dataclass
class Imported:
    design: str
    rows: int
    seconds: float
    profiles: int
    profile_seconds: float

    def row(self) -> str:
        both = self.seconds + self.profile_seconds
        return (
            f"| {self.design} | {self.rows:,} | {self.seconds:.1f} | "
            f"{self.rows / self.seconds:,.0f} | {self.profiles:,} | {self.profile_seconds:.1f} | "
            f"{self.profiles / self.profile_seconds:,.0f} | {self.rows / both:,.0f} |"
        )


async def import_with(
    url: str, redis: str, design: Design, rows: int, chunk_rows: int, workers: int
) -> Imported:
    """The bulk import (``maillon import candidates``' code path, as bench.intake runs it) of
    ``rows`` generated people with the design's indexes, then their match profiles built as
    the matching worker builds them (timed apart)."""
    connection = await asyncpg.connect(to_plain_url(url))
    try:
        await build(connection, design)
    finally:
        await connection.close()
    settings = Settings(database_url=url, redis_url=redis, log_json=True)
    engine = create_engine(settings, application_name="maillon-bench", statement_timeout=0)
    try:
        sessionmaker = create_sessionmaker(engine)
        people = await population(sessionmaker)
        database = urlsplit(url).path.lstrip("/")
        done = await bulk_import(sessionmaker, people, rows, chunk_rows, workers, None, database)
    finally:
        await engine.dispose()
    assert done.profiles is not None
    return Imported(design.name, rows, done.seconds, done.profiles.profiles, done.profiles.seconds)


async def run(args: argparse.Namespace, server: str, redis: str) -> str:
    designs = [DESIGNS[name] for name in args.designs]
    reference = designs[0].name
    measured: list[Measured] = []
    imported: list[Imported] = []
    checks: list[str] = []
    started_load = load_average()
    for size in args.sizes:
        url = database_url(server, size)
        if await candidate_count(url) != size:
            raise SystemExit(f"{PREFIX}{size} is not loaded: python -m bench.indexes prepare")
        tops: dict[str, dict[str, dict[uuid.UUID, Top]]] = {d.name: {} for d in designs}
        for round_number in range(args.rounds):
            for design in designs:
                done = await measure(url, redis, design, size, args.samples, tops[design.name])
                measured.append(done)
                p95 = quantiles(done.p1.path_ms)[1]
                print(
                    f"{size:,} round {round_number + 1} {design.name}: built {done.built.count}"
                    f" in {done.built.seconds:.1f} s, P1 p95 {p95:.1f} ms, load {done.load}",
                    file=sys.stderr,
                )
        for design in designs[1:]:
            for workload in ("p1", "p2"):
                same, compared = same_tops(tops[reference][workload], tops[design.name][workload])
                checks.append(
                    f"{size:,}, {design.name}, {workload.upper()}: {same}/{compared} results"
                    f" identical to {reference}'s (ids, order, scores)"
                )
    if args.import_rows:
        size = min(args.sizes)
        url = database_url(server, size)
        chosen = [DESIGNS[name] for name in args.import_designs]
        for round_number in range(args.rounds):
            # A, B then B, A: the rows each import adds weigh on both designs alike.
            order = chosen if round_number % 2 == 0 else chosen[::-1]
            for design in order:
                done_import = await import_with(
                    url, redis, design, args.import_rows, args.chunk_rows, args.import_workers
                )
                imported.append(done_import)
                print(f"import {design.name}: {done_import.row()}", file=sys.stderr)
    return report(args, designs, measured, imported, checks, started_load)


def fmt_sync(runs: list[Measured], name: str) -> str:
    samples = [x for m in runs for x in getattr(m, name)]
    if len(samples) < 2:
        return "–"
    a, b, _, _ = quantiles(samples)
    return f"{a:.2f} / {b:.2f}"


def report(
    args: argparse.Namespace,
    designs: list[Design],
    measured: list[Measured],
    imported: list[Imported],
    checks: list[str],
    started_load: float,
) -> str:
    command = " ".join(["python -m bench.indexes", *sys.argv[1:]])
    lines = [f"## Index designs of match_profile side by side — {time.strftime('%Y-%m-%d')}", ""]
    lines += [f"Machine: {machine()}.", f"Command: `{command}`."]
    lines += [
        f"Load average (1 min) at the start {started_load:.1f}, at the end {load_average():.1f};"
        " during the measurements "
        f"{min(min(m.load) for m in measured):.1f}–{max(max(m.load) for m in measured):.1f}.",
        "",
        "| design | what |",
        "|---|---|",
        *(f"| {d.name} | {d.what} |" for d in designs),
        "",
        "| design | candidates | indexes (+ pkey) | index size MB | build s | P1 n | P1 p50 / p95 "
        "/ p99 / max ms | P1 bare SQL p50 / p95 ms | worker / SQL (p50) | P1 p95 by round | P2 "
        "n | P2 p50 / p95 / p99 ms | full top 50 | one profile's sync p50 / p95 ms, generic plan "
        "| same, planned each call | P1 bare SQL, PostgreSQL CPU ms a call | P2 same |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in args.sizes:
        for design in designs:
            runs = [m for m in measured if m.size == size and m.design == design.name]
            p1, p2 = Timings(), Timings()
            for m in runs:
                p1.add(m.p1)
                p2.add(m.p2)
            a, b, c, d = quantiles(p1.path_ms)
            s50, s95, _, _ = quantiles(p1.sql_ms)
            e, f, g, _ = quantiles(p2.path_ms)
            by_round = " / ".join(f"{quantiles(m.p1.path_ms)[1]:.1f}" for m in runs)
            built = runs[0].built
            lines.append(
                f"| {design.name} | {size:,} | {built.count} | {built.size_mb:,.0f} | "
                f"{statistics.mean(m.built.seconds for m in runs):.1f} | {len(p1.path_ms)} | "
                f"{a:.1f} / {b:.1f} / {c:.1f} / {d:.1f} | {s50:.1f} / {s95:.1f} | "
                f"{a / s50:.2f}× | {by_round} | {len(p2.path_ms)} | {e:.1f} / {f:.1f} / {g:.1f} "
                f"| {p1.full}/{len(p1.path_ms)} | {fmt_sync(runs, 'sync_ms')} | "
                f"{fmt_sync(runs, 'sync_custom_ms')} | {p1.sql_cpu_ms / len(p1.sql_ms):.2f} | "
                f"{p2.sql_cpu_ms / len(p2.sql_ms):.2f} |"
            )
    lines += ["", *(f"- {check}" for check in checks)]
    if imported:
        lines += [
            "",
            f"Bulk import at {min(args.sizes):,} existing people, {args.import_workers} checking "
            f"process(es), chunks of {args.chunk_rows:,} rows; the profiles built afterwards as "
            "the matching worker builds them:",
            "",
            "| design | rows | import s | import rows/s | profiles | profiles s | profiles/s "
            "| import + profiles, rows/s |",
            "|---|---|---|---|---|---|---|---|",
            *(i.row() for i in imported),
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare")
    prep.add_argument("--candidates", type=int, required=True)
    prep.add_argument("--offers", type=int, default=20_000)
    prep.add_argument("--data", type=Path, default=Path("../shared/data"))
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    run_parser.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    run_parser.add_argument("--rounds", type=int, default=2)
    run_parser.add_argument("--samples", type=int, default=100)
    run_parser.add_argument("--import-rows", type=int, default=0)
    run_parser.add_argument("--import-designs", nargs="+", default=["tiers64", "sector8"])
    run_parser.add_argument("--import-workers", type=int, default=1)
    run_parser.add_argument("--chunk-rows", type=int, default=1_000)
    commands.add_parser("drop")
    args = parser.parse_args()
    server, redis = server_urls()
    if args.command == "prepare":
        asyncio.run(prepare(server, redis, args.candidates, args.offers, args.data))
    elif args.command == "run":
        print(asyncio.run(run(args, server, redis)))
    elif args.command == "drop":
        asyncio.run(drop_all(server))


if __name__ == "__main__":
    main()
