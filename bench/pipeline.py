"""P3: an offer published through the API → its matches stored → the prescribers' alert written.

    python -m bench.pipeline [--candidates 100000] [--offers 2000] [--publishes 40]
                             [--load-concurrency 16] [--data ../shared/data]

Everything runs as in production, as separate processes on this machine: the API (uvicorn), the
outbox relay, the matching worker and the notifications worker, on a scratch database seeded by
``maillon bench seed``'s generator. An employer publishes draft offers one after the other
(``POST /v1/offers/{id}/publish``); from the moment the API answers, the database is polled every
5 ms for (1) the offer's first stored match and (2) the first ``match.suggested`` notification
row about the offer (the prescribers' alert, written before any sending). Measured twice
in the same run: idle, then while a load generator sends borne intakes to the same API (P4 load:
``POST /v1/intakes``, one form per request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlmodel import col

from bench.common import machine, percentiles, scratch_database, server_urls
from bench.intake import Api, LoadResult, load, population, reception_headers, running_api
from bench.seed import seeded, to_plain_url
from services.core.clock import PARIS, now
from services.core.db import SessionMaker, unit_of_work
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.referentials import RomeFiche
from services.core.models.user import Role, User
from services.core.security.passwords import hash_password
from services.core.security.tokens import create_access_token
from services.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# One ROME domain per borne sector (BTP, logistique, espaces verts, restauration, nettoyage,
# transport, administratif) and big towns: offers that find people, as real ones do.
ROME_PREFIXES = ("F17", "N11", "A12", "G16", "K22", "N41", "M16")
TOWNS = ("93066", "75118", "69383", "13203", "59350", "31555", "33063", "44109")
POLL_SECONDS = 0.005
WAIT_LIMIT_SECONDS = 30.0
LOAD_RATE_BOUND = 1_000  # intakes/s: more than the load generator reaches here (~70/s)


@dataclass
class Timing:
    matches_s: float | None
    alert_s: float | None
    matches: int


PROCESS_NAMES = ("API", "relay", "matching worker", "notifications worker")


def _rss_mb(processes: list[subprocess.Popen[bytes]]) -> list[float]:
    return [psutil.Process(p.pid).memory_info().rss / 1024 / 1024 for p in processes]


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603  (our own interpreter)


@contextlib.asynccontextmanager
async def running_pipeline(
    url: str, redis_url: str
) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """The relay and both workers, as ``maillon relay`` / ``maillon worker …`` run them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        MAILLON_LOG_JSON="false",
        MAILLON_LOG_LEVEL="WARNING",
        MAILLON_GEOCODER_ENABLED="false",  # nothing leaves the machine
    )
    base = [sys.executable, "-m", "services.cli"]
    processes = [
        _start([*base, "relay"], env),
        _start([*base, "worker", "matching"], env),
        _start([*base, "worker", "notifications"], env),
    ]
    try:
        await asyncio.sleep(3)  # workers connected, first poll of the relay done
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError("a worker or the relay stopped at start")
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def employer(sessionmaker: SessionMaker, settings: Settings) -> dict[str, str]:
    """A recruiter of one of the seeded employers, signed in."""
    async with unit_of_work(sessionmaker) as session:
        organisation = await session.scalar(
            select(Organisation)
            .where(col(Organisation.kind) == OrganisationKind.EMPLOYER)
            .order_by(col(Organisation.name))
            .limit(1)
        )
        assert organisation is not None, "the seed made no employer"
        user = User(
            email=f"recrutement-{uuid.uuid4().hex[:8]}@exemple.fr",
            full_name="Recrutement",
            password_hash=hash_password("un mot de passe de banc d'essai"),
            organisation_id=organisation.id,
            role=Role.EMPLOYER,
        )
        session.add(user)
        await session.flush()
    token, _ = create_access_token(user.id, settings)
    return {"Authorization": f"Bearer {token}"}


async def rome_codes(sessionmaker: SessionMaker) -> list[str]:
    async with sessionmaker() as session:
        codes = []
        for prefix in ROME_PREFIXES:
            code = await session.scalar(
                select(col(RomeFiche.code))
                .where(col(RomeFiche.code).startswith(prefix))
                .order_by(col(RomeFiche.code))
                .limit(1)
            )
            if code is not None:
                codes.append(code)
        return codes


async def draft_offers(
    client: httpx.AsyncClient, api: Api, headers: dict[str, str], codes: list[str], count: int
) -> list[str]:
    """Drafts made through the API (not timed): complete, so publishing them succeeds."""
    ids = []
    for number in range(count):
        response = await client.post(
            f"{api.urls[0]}/v1/offers",
            headers=headers,
            json={
                "title": f"Poste de banc d'essai {number + 1}",
                "rome_code": codes[number % len(codes)],
                "contract_type": "CDD",
                "hours_per_week": 35,
                "positions": 2,
                "start_date": (now().astimezone(PARIS).date() + timedelta(days=14)).isoformat(),
                "commune_insee": TOWNS[number % len(TOWNS)],
            },
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


async def publish_and_wait(
    client: httpx.AsyncClient,
    api: Api,
    headers: dict[str, str],
    connection: asyncpg.Connection,
    offer_id: str,
) -> Timing:
    response = await client.post(f"{api.urls[0]}/v1/offers/{offer_id}/publish", headers=headers)
    answered = time.perf_counter()
    response.raise_for_status()
    matches_s: float | None = None
    alert_s: float | None = None
    matches = 0
    offer = uuid.UUID(offer_id)
    while time.perf_counter() - answered < WAIT_LIMIT_SECONDS:
        if matches_s is None:
            matches = int(
                await connection.fetchval("SELECT count(*) FROM match WHERE offer_id = $1", offer)
            )
            if matches:
                matches_s = time.perf_counter() - answered
        if matches_s is not None:
            found = await connection.fetchval(
                "SELECT 1 FROM notification WHERE key LIKE $1 LIMIT 1",
                f"offer:{offer}:suggested:%",
            )
            if found:
                alert_s = time.perf_counter() - answered
                break
        await asyncio.sleep(POLL_SECONDS)
    return Timing(matches_s=matches_s, alert_s=alert_s, matches=matches)


def _row(label: str, timings: list[Timing]) -> list[str]:
    rows = []
    for what, values in (
        ("matches stored", [t.matches_s for t in timings]),
        ("prescriber alert row written", [t.alert_s for t in timings]),
    ):
        done = [v * 1000 for v in values if v is not None]
        missing = len(values) - len(done)
        if not done:
            rows.append(f"| {label} | {what} | {len(values)} | – | – | – | {missing} |")
            continue
        p = percentiles(done)
        rows.append(
            f"| {label} | {what} | {len(values)} | {p['p50']:.0f} | {p['p95']:.0f} | "
            f"{p['max']:.0f} | {missing} |"
        )
    return rows


async def run(args: argparse.Namespace) -> str:
    server, redis_url = server_urls()
    command = " ".join(["python -m bench.pipeline", *sys.argv[1:]])
    lines = [f"## Offer published → matches → alert (P3) — {time.strftime('%Y-%m-%d')}", ""]
    lines += [f"Machine: {machine()}.", f"Command: `{command}`.", ""]
    queue = aioredis.Redis.from_url(redis_url)
    await queue.flushdb()  # no job left by an earlier run
    await queue.aclose()
    async with scratch_database(server, "maillon_bench_pipeline") as url:
        settings = Settings(database_url=url, redis_url=redis_url, log_json=False)
        async with seeded(settings, args.data, candidates=args.candidates, offers=args.offers) as (
            sessionmaker,
            report,
        ):
            lines.append(
                f"Data: {args.candidates:,} candidates, {args.offers:,} open offers "
                f"(seeded in {report.candidate_seconds:.0f} s); processes: API (1 uvicorn "
                "worker), relay, matching worker, notifications worker."
            )
            employer_headers = await employer(sessionmaker, settings)
            desk_headers = await reception_headers(sessionmaker, settings)
            people = await population(sessionmaker)
            codes = await rome_codes(sessionmaker)
            connection = await asyncpg.connect(to_plain_url(url))
            try:
                async with (
                    running_api(url, redis_url, 1, None) as api,
                    running_pipeline(url, redis_url) as workers,
                    httpx.AsyncClient(timeout=60) as client,
                ):
                    drafts = await draft_offers(
                        client, api, employer_headers, codes, 2 * args.publishes + 2
                    )
                    # Warm-up: the first publish loads the worker's code paths and caches.
                    for offer_id in drafts[:2]:
                        await publish_and_wait(client, api, employer_headers, connection, offer_id)
                    idle = [
                        await publish_and_wait(client, api, employer_headers, connection, o)
                        for o in drafts[2 : 2 + args.publishes]
                    ]
                    rest_rss = [*api.rss_mb(), *_rss_mb(workers)]
                    load_task = asyncio.create_task(
                        load(
                            api,
                            label="`POST /v1/intakes` (one form)",
                            path="/v1/intakes",
                            body=people.borne_form,
                            forms_per_request=1,
                            # Bodies are made beforehand (bench.intake.load): a bound above
                            # what this machine sends in the time, not an endless count.
                            requests=int(args.load_seconds * LOAD_RATE_BOUND),
                            concurrency=args.load_concurrency,
                            time_limit=args.load_seconds,
                            headers=desk_headers,
                        )
                    )
                    await asyncio.sleep(3)  # the load is running at full speed
                    loaded: list[Timing] = []
                    loaded_rss = [0.0] * 4
                    for offer_id in drafts[2 + args.publishes :]:
                        if load_task.done():
                            break
                        loaded.append(
                            await publish_and_wait(
                                client, api, employer_headers, connection, offer_id
                            )
                        )
                        await asyncio.sleep(0.5)
                        loaded_rss = [
                            max(a, b)
                            for a, b in zip(
                                loaded_rss, [*api.rss_mb(), *_rss_mb(workers)], strict=True
                            )
                        ]
                    intake: LoadResult = await load_task
            finally:
                await connection.close()
    median_matches = sorted(t.matches for t in idle)[len(idle) // 2]
    ordered = sorted(intake.latencies_ms)
    intake_p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0
    lines += [
        "",
        "| condition | step (from the API's answer) | offers | p50 ms | p95 ms | max ms | "
        "not seen in 30 s |",
        "|---|---|---|---|---|---|---|",
        *_row("idle", idle),
        *_row("under P4 load", loaded),
        "",
        f"Matches stored per offer (top N): median {median_matches}. Load during the second "
        f"phase: {intake.forms_per_second:,.0f} intakes/s over {intake.seconds:.0f} s "
        f"({intake.errors} errors), p99 {intake_p99:.0f} ms.",
        "",
        "Targets (quality.md P3): p95 ≤ 1 s idle, ≤ 3 s under P4 load.",
        "",
        "Resident memory (P7, target ≤ 250 MB each), MB — "
        + ", ".join(
            f"{name}: {rest:.0f} at rest, {peak:.0f} peak under load"
            for name, rest, peak in zip(PROCESS_NAMES, rest_rss, loaded_rss, strict=True)
        )
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--offers", type=int, default=2_000)
    parser.add_argument("--publishes", type=int, default=40)
    parser.add_argument("--load-concurrency", type=int, default=16)
    parser.add_argument("--load-seconds", type=float, default=45.0)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
