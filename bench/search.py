"""Candidate search at a million: ``POST /v1/candidates/search`` against the bare SQL it runs.

    python -m bench.search [--candidates 1000000] [--queries 200]

Creates, migrates and drops its own database; imports the reference data; loads the candidates
with the generator (bench/seed.py, COPY). The API runs in-process (httpx ``ASGITransport``, the
full middleware stack, authentication, scoping, audit and serialisation; no socket): what is
measured is the application's own overhead over the database, not the loopback or uvicorn's HTTP
parsing. The caller is the facilitator of one territory (a sixth of the people). Each query is
sent through the API and, just after, as the bare SQL the endpoint runs (the count, then the page
when there is one) on a plain asyncpg connection, so both sides meet the same cache.

Kinds of query: a full name with the first name's first letters ("dupont aic"), a surname alone
(most common ones: thousands of matches to count), a phone number keyed the French way
("06 12 34 56 78"), an e-mail address. ``EXPLAIN (ANALYZE, BUFFERS)`` of one query of each kind
shows the indexes used.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import Select, event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlmodel import col

from bench.common import machine, percentiles, scratch_database, server_urls
from bench.seed import CHUNK, SeedReport, existing, seeded
from services.api.app import create_app
from services.api.candidates import service
from services.api.candidates.policy import policy
from services.core.db import SessionMaker
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.user import User
from services.core.security.principal import Principal, principal_for_user
from services.core.security.tokens import create_access_token
from services.core.settings import Settings

PAGE = 20  # the instance's default page size
_DIALECT = PGDialect()  # type: ignore[no-untyped-call]


def national(e164: str) -> str:
    """``+33612345678`` → ``06 12 34 56 78``, as people key it."""
    digits = "0" + e164[3:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def compiled(statement: ClauseElement) -> str:
    return str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def bare_sql(principal: Principal, q: str) -> tuple[str, str]:
    """The two statements the endpoint runs for ``q`` (count, first page), literal values."""
    statement: Select[Candidate] = service.filtered(
        policy.query(principal).where(service.matching(q))
    )
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    return compiled(count), compiled(statement.offset(0).limit(PAGE))


async def queries(
    session: AsyncSession, principal: Principal, count: int, rng: random.Random
) -> dict[str, list[str]]:
    """Searches for people the caller can see, drawn at random."""
    visible = select(col(CandidateShare.candidate_id)).where(
        principal.in_territory(CandidateShare.organisation_id)
    )
    rows = (
        await session.execute(
            select(
                col(Candidate.first_name),
                col(Candidate.last_name),
                col(Candidate.phone_e164),
                col(Candidate.email),
            )
            .where(col(Candidate.id).in_(visible))
            .order_by(func.md5(func.cast(col(Candidate.id), postgresql.TEXT)))
            .limit(count * 3)
        )
    ).all()
    rng.shuffle(rows := list(rows))
    names = [f"{last} {first[:3]}" for first, last, _, _ in rows if first and last][:count]
    surnames = [last for _, last, _, _ in rows if last][:count]
    phones = [national(phone) for _, _, phone, _ in rows if phone][:count]
    emails = [email for _, _, _, email in rows if email][:count]
    return {
        "full name, first name by prefix (`dupont aic`)": names,
        "surname alone (`dupont`)": surnames,
        "phone keyed the French way (`06 12 34 56 78`)": phones,
        "e-mail address": emails,
    }


async def explain(connection: asyncpg.Connection, sql: str) -> tuple[list[str], float]:
    """The scan nodes of the plan and the execution time (ms)."""
    rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
    lines = [r[0] for r in rows]
    nodes = [
        re.sub(r"\s+\(cost=.*", "", line).strip().lstrip("-> ").strip()
        for line in lines
        if re.search(r"Scan|BitmapOr|Hash Join|Nested Loop|Sort|Limit|Aggregate", line)
    ]
    executed = next(
        float(line.split(":")[1].strip().split()[0])
        for line in lines
        if line.startswith("Execution Time")
    )
    return nodes, executed


class Statements:
    """What the API sends to PostgreSQL during one request: statements and their time."""

    def __init__(self) -> None:
        self.count = 0
        self.ms = 0.0
        self.requests: list[tuple[int, float]] = []
        self._started = 0.0

    def reset(self) -> None:
        self.count, self.ms = 0, 0.0

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, *args: object) -> None:
        self._started = time.perf_counter()

    def _after(self, *args: object) -> None:
        self.count += 1
        self.ms += (time.perf_counter() - self._started) * 1000


statements = Statements()


async def measure(
    client: httpx.AsyncClient,
    connection: asyncpg.Connection,
    principal: Principal,
    headers: dict[str, str],
    searches: list[str],
) -> tuple[list[float], list[float], list[int]]:
    api_ms: list[float] = []
    sql_ms: list[float] = []
    found: list[int] = []
    for q in searches:
        count_sql, page_sql = bare_sql(principal, q)
        statements.reset()
        started = time.perf_counter()
        response = await client.post("/v1/candidates/search", json={"q": q}, headers=headers)
        api_ms.append((time.perf_counter() - started) * 1000)
        statements.requests.append((statements.count, statements.ms))
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text}")
        total = response.json()["pagination"]["total_count"]
        started = time.perf_counter()
        counted = await connection.fetchval(count_sql)
        if counted:
            await connection.fetch(page_sql)
        sql_ms.append((time.perf_counter() - started) * 1000)
        if counted != total:
            raise RuntimeError(f"count differs: API {total}, SQL {counted}")
        found.append(total)
    return api_ms, sql_ms, found


async def run(candidates: int, count: int, data_dir: Path, database_url: str | None) -> str:
    server, redis_url = server_urls()
    command = f"python -m bench.search --candidates {candidates} --queries {count}"
    if database_url is not None:
        command = f"python -m bench.search --database-url URL --queries {count}"
    lines: list[str] = []
    if database_url is not None:
        settings = Settings(database_url=database_url, redis_url=redis_url, log_json=True)
        async with existing(settings) as sessionmaker:
            async with sessionmaker() as session:
                candidates = await session.scalar(select(func.count()).select_from(Candidate)) or 0
            lines += [
                "Data: a database loaded beforehand by `maillon bench seed` (its load rate is "
                "reported with the command), vacuumed and analysed.",
                "",
            ]
            lines += await searches(settings, sessionmaker, database_url, count)
    else:
        async with scratch_database(server, "maillon_bench_search") as url:
            # Production logging (JSON lines on stderr): its cost is part of the API's.
            settings = Settings(database_url=url, redis_url=redis_url, log_json=True)
            async with seeded(settings, data_dir, candidates=candidates, offers=0) as (
                sessionmaker,
                report,
            ):
                lines += load_lines(report)
                lines += await searches(settings, sessionmaker, url, count)
    head = [f"## Candidate search at {candidates:,} — {time.strftime('%Y-%m-%d')}", ""]
    head += [f"Machine: {machine()}.", f"Command: `{command}`.", ""]
    return "\n".join(head + lines)


def load_lines(report: SeedReport) -> list[str]:
    return [
        f"Load (`bench/seed.py`, COPY in chunks of {CHUNK:,}, every index of the migrations "
        f"and the `match_profile` triggers in place): {report.candidates:,} candidates, "
        f"{report.shares:,} shares and {report.criteria:,} eligibility criteria in "
        f"{report.candidate_seconds:.0f} s, "
        f"**{report.candidates_per_second:,.0f} candidates/s** (of which "
        f"{report.copy_wait_seconds:.0f} s waiting on COPY while the next chunk was drawn); "
        f"ANALYZE {report.analyze_seconds:.1f} s.",
        "",
    ]


async def searches(
    settings: Settings, sessionmaker: SessionMaker, url: str, count: int
) -> list[str]:
    rng = random.Random(18)
    async with sessionmaker() as session:
        user = await session.scalar(
            select(User).where(col(User.email) == "animation1@bench1.maillon.fr")
        )
        assert user is not None
        principal = await principal_for_user(session, user)
        kinds = await queries(session, principal, count, rng)
        visible = await session.scalar(
            select(func.count(func.distinct(col(CandidateShare.candidate_id)))).where(
                principal.in_territory(CandidateShare.organisation_id)
            )
        )
    token, _ = create_access_token(user.id, settings)
    headers = {"Authorization": f"Bearer {token}"}
    lines = [
        f"Caller: a facilitator whose territory sees {visible:,} candidates. API in-process "
        "(httpx ASGITransport: middleware, authentication, scoping, audit row, JSON), then the "
        "bare SQL of the same query (count, then first page of 20) on one asyncpg connection.",
        "",
        "| query | n | matches p50 / max | API p50 ms | API p95 ms | API max ms | SQL p50 ms "
        "| SQL p95 ms | SQL max ms | API / SQL (p50) | API statements / their ms (p50) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    plans: list[str] = []
    connection = await asyncpg.connect(url)
    app = create_app(settings)
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as client,
        ):
            statements.attach(app.state.resources.engine)
            warm = [q for qs in kinds.values() for q in qs[:5]]
            await measure(client, connection, principal, headers, warm)
            for label, searches_ in kinds.items():
                statements.requests.clear()
                api, sql, found = await measure(client, connection, principal, headers, searches_)
                a, s = percentiles(api), percentiles(sql)
                inner = percentiles([ms for _, ms in statements.requests])
                sent = sorted(n for n, _ in statements.requests)
                matches = sorted(found)
                lines.append(
                    f"| {label} | {len(searches_)} | {matches[len(matches) // 2]} / "
                    f"{matches[-1]} | {a['p50']:.1f} | {a['p95']:.1f} | {a['max']:.1f} | "
                    f"{s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} | "
                    f"{a['p50'] / s['p50']:.2f}× | {sent[len(sent) // 2]} / {inner['p50']:.1f} |"
                )
                slowest = searches_[max(range(len(sql)), key=sql.__getitem__)]
                count_sql, page_sql = bare_sql(principal, slowest)
                count_nodes, count_ms = await explain(connection, count_sql)
                page_nodes, page_ms = await explain(connection, page_sql)
                plans += [
                    f"- {label}, slowest query of the run: count {count_ms:.1f} ms "
                    f"({'; '.join(_short(count_nodes))}), page {page_ms:.1f} ms "
                    f"({'; '.join(_short(page_nodes))})."
                ]
    finally:
        await connection.close()
    return [*lines, "", "Plans (`EXPLAIN ANALYZE`, server time):", "", *plans]


def _short(nodes: list[str], keep: Callable[[str], bool] = lambda n: True) -> list[str]:
    return [node for node in nodes if keep(node)][:8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument(
        "--database-url",
        help="a database already loaded by `maillon bench seed` (used as is, not dropped)",
    )
    args = parser.parse_args()
    print(asyncio.run(run(args.candidates, args.queries, args.data, args.database_url)))


if __name__ == "__main__":
    main()
