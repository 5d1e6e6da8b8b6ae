"""Borne intakes through the HTTP API (P4, P7), and the bulk import of candidates (P4).

    python -m bench.intake [--requests 6000] [--concurrency 32] [--batches 40] [--batch-size 100]
                           [--import-rows 100000] [--time-limit 60] [--api-processes 1 2]
                           [--data ../shared/data] [--profile DIR]

Runs against DATABASE_URL / REDIS_URL (default: the local servers), in a scratch database
loaded with the real reference data and ``--existing`` people (20,000; the benchmark generator,
bench/seed.py) already stored, as on a live instance, then analysed (the plans PostgreSQL keeps
for a table of a few rows are not those of a table of many). The API runs as production runs it:
``maillon api``
(uvicorn, one process; two processes on two ports, the load alternating between them, when asked
for). A bounded asynchronous load generator (bench/http_client.py: keep-alive connections, bodies
encoded before the clock starts; a fixed count and a time limit) posts
realistic borne forms as JSON — ~10 % of phones repeated, e-mails, both sector lists — to
``POST /v1/intakes`` one by one and to ``POST /v1/intakes/batch`` side by side, and samples the
API's resident memory (psutil) at rest and during the load. Then 100,000 generated candidates go
through the bulk import (``maillon import candidates``' code path), and its rate is printed beside
the batch endpoint's. After each load and each import, the match profiles of the people
created are built as the matching worker builds them before ranking (``match_profile_flush``,
decision 0037), and timed apart. ``--profile DIR`` runs the API under cProfile and writes its
statistics there. Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import itertools
import json
import math
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import shapely
from sqlalchemy import func, select, text
from sqlmodel import col

from bench.common import machine, scratch_database, server_urls
from bench.http_client import Connection, ProtocolError
from bench.seed import seed
from services.api.candidates.bulk.importer import ImportReport, import_candidates
from services.api.candidates.bulk.rows import read_file
from services.core.clock import now
from services.core.db import SessionMaker, create_engine, create_sessionmaker, unit_of_work
from services.core.geo.france import in_france
from services.core.models.candidate import Candidate
from services.core.models.geo import Commune, Qpv
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role, User
from services.core.referentials.loader import load_reference_data
from services.core.security.passwords import hash_password
from services.core.security.tokens import create_access_token
from services.core.settings import Settings
from services.matching.profiles import build_queued_profiles

ROOT = Path(__file__).resolve().parents[1]
FIRST_NAMES = ["Aïcha", "Jean", "Léa", "Mamadou", "Sofia", "Karim", "Inès", "Lucas", "Fatou"]
LAST_NAMES = ["Benali", "Dupont", "Martin", "Diallo", "Nguyen", "Haddad", "Petit", "Traoré"]
SECTORS = [
    "construction",
    "logistics",
    "green_spaces",
    "hospitality",
    "industry",
    "cleaning",
    "transport",
    "administrative",
]
NEEDS = ["job", "training", "support", "advice"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Gabriel Péri", "boulevard Anatole"]


# -- synthetic people -----------------------------------------------------------------------


@dataclass
class Population:
    """Communes weighted like population (those hosting a QPV are the dense, urban ones) and
    points inside real QPV polygons; phone numbers, ~10 % of them seen before."""

    communes: list[tuple[str, str, float, float]]  # insee, name, lon, lat
    weights: list[float]
    qpv_points: list[tuple[float, float, str]]  # lon, lat, commune
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    phones: list[str] = field(default_factory=list)
    counter: int = 0
    cumulative: list[float] | None = None

    def commune(self) -> tuple[str, str, float, float]:
        if self.cumulative is None:  # once: choices() would sum 35,000 weights at every call
            self.cumulative = list(itertools.accumulate(self.weights))
        return self.rng.choices(self.communes, cum_weights=self.cumulative)[0]

    def phone(self) -> str:
        if self.phones and self.rng.random() < 0.10:
            return self.rng.choice(self.phones)
        self.counter += 1
        # French mobiles (06 then a digit other than 3 and 9: those ranges are partly overseas).
        serial = (self.counter * 7_919 + 12_345_678) % 10_000_000
        digits = f"6{'01245678'[self.counter % 8]}{serial:07d}"
        number = self.rng.choice(
            [
                "0" + " ".join([digits[0], *(digits[i : i + 2] for i in range(1, 9, 2))]),
                "0" + digits,
                "+33 " + digits[0] + " " + " ".join(digits[i : i + 2] for i in range(1, 9, 2)),
            ]
        )
        self.phones.append(number)
        return number

    def sectors(self, low: int, high: int) -> list[str]:
        return self.rng.sample(SECTORS, self.rng.randint(low, high))

    def borne_form(self) -> dict[str, Any]:
        insee, name, _, _ = self.commune()
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        form: dict[str, Any] = {
            "last_name": last.upper(),
            "first_name": first,
            "mobile_phone": self.phone(),
            "city": name,
            "sectors_worked": self.sectors(0, 2),
            "sectors_wanted": self.sectors(1, 3),
            "needs": self.rng.sample(NEEDS, self.rng.randint(1, 2)),
            "consent": True,
            "consent_text_version": "borne-2024-01",
        }
        if self.rng.random() < 0.6:
            form["email"] = f"{first.lower()}.{last.lower()}{self.counter}@exemple.fr"
        if self.rng.random() < 0.8:
            form["commune_insee"] = insee
        if self.rng.random() < 0.1:
            form["sectors_wanted_other"] = "aide à domicile"
        return form

    def csv_row(self) -> list[str]:
        insee, _, lon, lat = self.commune()
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        where = self.rng.random()
        address = point = ""
        if where < 0.3:  # ~30 % QPV residents, placed inside real polygons
            qlon, qlat, insee = self.rng.choice(self.qpv_points)
            point = f"{qlon:.6f};{qlat:.6f}"
        elif where < 0.6 and in_france(lon, lat):  # near the commune's centre
            point = f"{lon + self.rng.uniform(-2e-3, 2e-3):.6f};{lat:.6f}"
        elif where < 0.8:
            address = f"{self.rng.randint(1, 120)} {self.rng.choice(STREETS)}"
        if not point:
            point = ";"
        available = now().date() + timedelta(days=self.rng.randint(-90, 90))
        email = f"{first.lower()}.{last.lower()}.{self.counter}@exemple.fr"
        return [
            first,
            last,
            self.phone(),
            email if self.rng.random() < 0.7 else "",
            insee,
            address,
            point,
            "|".join(self.sectors(0, 2)),
            "|".join(self.sectors(1, 3)),
            "|".join(self.rng.sample(NEEDS, self.rng.randint(1, 2))),
            available.isoformat(),
            str(self.rng.choice([20, 24, 35, 35, 35])),
            str(self.rng.choice([5, 10, 20, 30])),
        ]


CSV_HEADER = (
    "first_name;last_name;phone;email;commune_insee;address;lon;lat;sectors_worked;"
    "sectors_wanted;needs;available_from;hours_per_week;mobility_radius_km"
)


async def population(sessionmaker: SessionMaker) -> Population:
    async with sessionmaker() as session:
        communes = [
            (r[0], r[1], r[2], r[3])
            for r in await session.execute(
                select(col(Commune.insee), col(Commune.name), col(Commune.lon), col(Commune.lat))
            )
        ]
        qpvs = (await session.execute(select(col(Qpv.geometry), col(Qpv.insee_codes)))).all()
    points = shapely.point_on_surface(shapely.from_wkb([row[0] for row in qpvs]))
    qpv_points = [(float(p.x), float(p.y), row[1][0]) for p, row in zip(points, qpvs, strict=True)]
    hosting = {row[1][0] for row in qpvs}
    weights = [30.0 if insee in hosting else 1.0 for insee, *_ in communes]
    return Population(communes=communes, weights=weights, qpv_points=qpv_points)


# -- the API processes -------------------------------------------------------------------------


@dataclass
class Api:
    processes: list[subprocess.Popen[bytes]]
    urls: list[str]
    database: str = ""  # the scratch database the API writes to

    def rss_mb(self) -> list[float]:
        return [psutil.Process(p.pid).memory_info().rss / 1024 / 1024 for p in self.processes]

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time used so far by the API processes, and by the PostgreSQL backends serving
        the scratch database (where the time of one request goes, side by side)."""
        api = 0.0
        for process in self.processes:
            times = psutil.Process(process.pid).cpu_times()
            api += times.user + times.system
        return api, database_cpu_seconds(self.database)


def database_cpu_seconds(database: str) -> float:
    """CPU time used so far by the PostgreSQL backends connected to ``database``, read from
    /proc (a backend rewrites its title at every statement, which psutil's cached process list
    does not follow), plus the time of backends already gone, which the postmaster collects as
    its children's (a connection opened and closed by the pool still costs its start)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0
    parents: set[str] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
            text = title.decode("utf-8", "replace")
            if not text.startswith("postgres: ") or f" {database} " not in f"{text} ":
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
            used += int(fields[11]) + int(fields[12])  # utime, stime
            parents.add(fields[1])  # the postmaster
        except (OSError, IndexError, ValueError):
            continue  # a backend gone meanwhile
    for parent in parents:
        try:
            fields = Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()
            used += int(fields[13]) + int(fields[14])  # cutime, cstime: backends gone
        except (OSError, IndexError, ValueError):
            continue
    return used / ticks


@dataclass
class ProfileBuild:
    profiles: int
    seconds: float
    database_cpu_ms: float  # per profile


async def build_profiles(sessionmaker: SessionMaker, database: str) -> ProfileBuild:
    """Build the match profiles the intakes queued, as the matching worker does, and time it."""
    database_before, started = database_cpu_seconds(database), time.perf_counter()
    async with unit_of_work(sessionmaker) as session:
        built = await build_queued_profiles(session)
    seconds = time.perf_counter() - started
    used = database_cpu_seconds(database) - database_before
    return ProfileBuild(built, seconds, used * 1000 / built if built else 0.0)


def _built(build: ProfileBuild | None) -> str:
    if build is None:
        return "– | – | –"
    return f"{build.profiles:,} | {build.seconds:.2f} | {build.database_cpu_ms:.3f}"


def python_cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the checking processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


# uvicorn re-raises SIGTERM once stopped: a handler turns it into SystemExit, so that the
# profile is written.
PROFILED_API = """
import cProfile, signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
profile = cProfile.Profile()
profile.enable()
try:
    from services.cli import main
    sys.argv = ["maillon", "api", "--port", "{port}"]
    main()
finally:
    profile.disable()
    profile.dump_stats({target!r})
"""


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603  (our own interpreter)


@contextlib.asynccontextmanager
async def running_api(url: str, redis_url: str, count: int, profile_dir: Path | None) -> Any:
    # The API's own settings, except the database pool's, which a run may vary.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MAILLON_") or k.startswith("MAILLON_DATABASE_")
    }
    env.update(
        DATABASE_URL=url, REDIS_URL=redis_url, MAILLON_LOG_JSON="false", MAILLON_LOG_LEVEL="WARNING"
    )
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    for index in range(count):
        port = 18_700 + index
        command = [sys.executable, "-m", "services.cli", "api", "--port", str(port)]
        if profile_dir is not None:
            target = profile_dir / f"api-{count}-{index}.prof"
            command = [sys.executable, "-c", PROFILED_API.format(port=port, target=str(target))]
        processes.append(_start(command, env))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient() as client:
            for base in urls:
                for _ in range(300):
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"{base}/health/ready")).status_code == 200:
                            break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError("the API did not start")
        yield Api(processes, urls, database=urlsplit(url).path.lstrip("/"))
    finally:
        for process in processes:
            process.terminate()  # SIGTERM: uvicorn stops gracefully (cProfile writes its file)
        for process in processes:
            process.wait(timeout=30)


# -- the load ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    label: str
    requests: int
    forms: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    first_error: str | None
    rss_peak_mb: float
    rss_end_mb: float
    api_cpu_ms: float = 0.0  # per form, all API processes
    database_cpu_ms: float = 0.0  # per form, the backends of the scratch database

    @property
    def forms_per_second(self) -> float:
        return self.forms / self.seconds


async def load(
    api: Api,
    *,
    label: str,
    path: str,
    body: Callable[[], dict[str, Any]],
    forms_per_request: int,
    requests: int,
    concurrency: int,
    time_limit: float,
    headers: dict[str, str],
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    sent = 0
    peak = 0.0
    done = asyncio.Event()

    async def sample_memory() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, max(api.rss_mb()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)

    # Bodies are made and encoded before the clock starts: the generator's own work stays out of
    # the measurement and off the cores the API shares.
    bodies = [json.dumps(body()).encode() for _ in range(requests)]
    connections = [
        Connection(api.urls[number % len(api.urls)], headers) for number in range(concurrency)
    ]
    started = time.perf_counter()
    deadline = started + time_limit

    async def user(connection: Connection) -> None:
        nonlocal sent, errors, first_error
        while sent < requests and time.perf_counter() < deadline:
            payload = bodies[sent]
            sent += 1
            began = time.perf_counter()
            try:
                answer = await connection.post_json(path, payload)
            except (OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
                errors += 1
                first_error = first_error or type(exc).__name__
                continue
            latencies.append((time.perf_counter() - began) * 1000)
            if answer.status not in (200, 201):
                errors += 1
                first_error = first_error or f"{answer.status} {answer.body[:200]!r}"

    sampler = asyncio.create_task(sample_memory())
    api_before, database_before = api.cpu_seconds()
    try:
        await asyncio.gather(*(user(connection) for connection in connections))
    finally:
        elapsed = time.perf_counter() - started
        api_after, database_after = api.cpu_seconds()
        done.set()
        await sampler
        for connection in connections:
            await connection.close()
    return LoadResult(
        label=label,
        requests=len(latencies),
        forms=len(latencies) * forms_per_request,
        seconds=elapsed,
        latencies_ms=latencies,
        errors=errors,
        first_error=first_error,
        rss_peak_mb=peak,
        rss_end_mb=max(api.rss_mb()),
        api_cpu_ms=(api_after - api_before) * 1000 / max(1, len(latencies) * forms_per_request),
        database_cpu_ms=(database_after - database_before)
        * 1000
        / max(1, len(latencies) * forms_per_request),
    )


async def analyse(sessionmaker: SessionMaker) -> None:
    """What autovacuum does between phases (it may be off on a benchmark server): statistics
    that describe the tables as they are."""
    async with sessionmaker() as session:
        await session.execute(text("ANALYZE"))
        await session.commit()


async def reception_headers(sessionmaker: SessionMaker, settings: Settings) -> dict[str, str]:
    """A front-desk agent of a social landlord, as at the borne."""
    async with unit_of_work(sessionmaker) as session:
        organisation = Organisation(
            name=f"Bailleur {uuid.uuid4().hex[:6]}",
            kind=OrganisationKind.SOCIAL_LANDLORD,
            commune_insee="93066",
        )
        session.add(organisation)
        await session.flush()
        user = User(
            email=f"accueil-{uuid.uuid4().hex[:8]}@exemple.fr",
            full_name="Accueil",
            password_hash=hash_password("un mot de passe de banc d'essai"),
            organisation_id=organisation.id,
            role=Role.RECEPTION,
        )
        session.add(user)
        await session.flush()
    token, _ = create_access_token(user.id, settings)
    return {"Authorization": f"Bearer {token}"}


def batch_body(people: Population, size: int) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        return {"forms": [people.borne_form() for _ in range(size)]}

    return make


# -- the bulk import -----------------------------------------------------------------------------


def write_csv(people: Population, rows: int, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(CSV_HEADER + "\n")
        for _ in range(rows):
            out.write(";".join(people.csv_row()) + "\n")


@dataclass
class ImportRun:
    workers: int
    chunk_rows: int
    rows: int
    seconds: float
    report: ImportReport
    python_cpu_ms: float = 0.0  # per row: the importing and checking processes
    database_cpu_ms: float = 0.0  # per row: the PostgreSQL backends of the scratch database
    # The match profiles of the people created, built afterwards as the matching worker does.
    profiles: ProfileBuild | None = None


async def bulk_import(
    sessionmaker: SessionMaker,
    people: Population,
    rows: int,
    chunk_rows: int,
    workers: int,
    profile: Path | None,
    database: str = "",
) -> ImportRun:
    async with unit_of_work(sessionmaker) as session:
        organisation = Organisation(
            name=f"France Travail {uuid.uuid4().hex[:6]}",
            kind=OrganisationKind.FRANCE_TRAVAIL,
            commune_insee="93066",
        )
        session.add(organisation)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "candidats.csv"
        write_csv(people, rows, path)
        profiler = cProfile.Profile() if profile is not None else None
        python_before, database_before = python_cpu_seconds(), database_cpu_seconds(database)
        started = time.perf_counter()
        with path.open("rb") as stream:
            if profiler is not None:
                profiler.enable()
            report = await import_candidates(
                sessionmaker,
                read_file(stream),
                organisation.id,
                chunk_rows=chunk_rows,
                workers=workers,
            )
            if profiler is not None:
                profiler.disable()
        elapsed = time.perf_counter() - started
        python_used = python_cpu_seconds() - python_before
        database_used = database_cpu_seconds(database) - database_before
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile / f"import-{workers}-{chunk_rows}.prof")
    built = await build_profiles(sessionmaker, database)
    return ImportRun(
        workers=workers,
        chunk_rows=chunk_rows,
        rows=rows,
        seconds=elapsed,
        report=report,
        python_cpu_ms=python_used * 1000 / rows,
        database_cpu_ms=database_used * 1000 / rows,
        profiles=built,
    )


# -- the run ---------------------------------------------------------------------------------


def _quantile(ordered: list[float], q: float) -> float:
    """The nearest-rank quantile: the smallest sample with at least ``q`` of them at or below."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _latency_row(result: LoadResult, processes: int, concurrency: int) -> str:
    ordered = sorted(result.latencies_ms)
    p50, p95, p99 = (_quantile(ordered, q) for q in (0.50, 0.95, 0.99))
    return (
        f"| {result.label} | {processes} | {concurrency} | {result.requests} | "
        f"{result.forms_per_second:,.0f} | {p50:.0f} | {p95:.0f} | {p99:.0f} | "
        f"{ordered[-1]:.0f} | {result.errors} | {result.rss_peak_mb:.0f} | "
        f"{result.api_cpu_ms:.2f} | {result.database_cpu_ms:.2f} |"
    )


async def run(args: argparse.Namespace) -> str:
    server, redis_url = server_urls()
    command = " ".join(["python -m bench.intake", *sys.argv[1:]])
    lines = [f"## Borne intakes and bulk import (P4, P7) — {time.strftime('%Y-%m-%d')}", ""]
    lines += [f"Machine: {machine()}.", f"Command: `{command}`."]
    lines += [f"Load average at the start: {_load_average()}.", ""]
    profile_dir: Path | None = args.profile
    async with scratch_database(server, "maillon_bench_intake") as url:
        settings = Settings(database_url=url, redis_url=redis_url, log_json=False)
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            await load_reference_data(sessionmaker, args.data)
            people = await population(sessionmaker)
            if args.existing > 0:
                # People already stored, as on a live instance: the plans PostgreSQL makes for
                # a table of a few rows (scans) are not those of a table of many (index probes).
                async with unit_of_work(sessionmaker) as session:
                    await seed(session, candidates=args.existing, offers=0, seed=7)
            await analyse(sessionmaker)
            table = [
                "| endpoint | API processes | concurrency | requests | forms/s | p50 ms | "
                "p95 ms | p99 ms | max ms | errors | API RSS peak MB | API CPU ms/form | "
                "PostgreSQL CPU ms/form |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            memory: list[str] = []
            profiles: list[tuple[LoadResult, int, ProfileBuild]] = []
            database = urlsplit(url).path.lstrip("/")
            for processes in args.api_processes:
                if processes <= 0:  # the import alone
                    continue
                await analyse(sessionmaker)
                async with running_api(url, redis_url, processes, profile_dir) as api:
                    headers = await reception_headers(sessionmaker, settings)
                    started_rss = api.rss_mb()
                    # Warm-up: first requests build the QPV index and fill the pools.
                    await load(
                        api,
                        label="warm-up",
                        path="/v1/intakes",
                        body=people.borne_form,
                        forms_per_request=1,
                        requests=100,
                        concurrency=4,
                        time_limit=60,
                        headers=headers,
                    )
                    await asyncio.sleep(1)
                    rest_rss = api.rss_mb()
                    await build_profiles(sessionmaker, database)  # the warm-up's
                    single = await load(
                        api,
                        label="`POST /v1/intakes` (one form)",
                        path="/v1/intakes",
                        body=people.borne_form,
                        forms_per_request=1,
                        requests=args.requests,
                        concurrency=args.concurrency,
                        time_limit=args.time_limit,
                        headers=headers,
                    )
                    profiles.append(
                        (single, processes, await build_profiles(sessionmaker, database))
                    )
                    results = [single]
                    if args.batches:
                        batch = await load(
                            api,
                            label=f"`POST /v1/intakes/batch` ({args.batch_size} forms)",
                            path="/v1/intakes/batch",
                            body=batch_body(people, args.batch_size),
                            forms_per_request=args.batch_size,
                            requests=args.batches,
                            concurrency=max(2, processes * 2),
                            time_limit=args.time_limit,
                            headers=headers,
                        )
                        results.append(batch)
                        profiles.append(
                            (batch, processes, await build_profiles(sessionmaker, database))
                        )
                    await asyncio.sleep(1)
                    end_rss = api.rss_mb()
                table.append(_latency_row(single, processes, args.concurrency))
                if args.batches:
                    table.append(_latency_row(batch, processes, max(2, processes * 2)))
                for result in results:
                    if result.first_error:
                        memory.append(f"First error ({result.label}): `{result.first_error}`.")
                memory.append(
                    f"API resident memory, {processes} process(es), each: after start "
                    f"{', '.join(f'{m:.0f}' for m in started_rss)} MB; at rest after warm-up "
                    f"{', '.join(f'{m:.0f}' for m in rest_rss)} MB; peak under load "
                    f"{max(result.rss_peak_mb for result in results):.0f} MB; after the load "
                    f"{', '.join(f'{m:.0f}' for m in end_rss)} MB."
                )
            lines += [*table, "", *memory, ""]
            if profiles:
                lines += [
                    "Match profiles of the people these forms created, built after each load as "
                    "the matching worker builds them before ranking (`match_profile_flush`, "
                    "decision 0037; not part of the API's answer):",
                    "",
                    "| endpoint | API processes | profiles | seconds | PostgreSQL CPU ms/profile |",
                    "|---|---|---|---|---|",
                    *(
                        f"| {result.label} | {processes} | {build.profiles:,} | "
                        f"{build.seconds:.2f} | {build.database_cpu_ms:.3f} |"
                        for result, processes, build in profiles
                    ),
                    "",
                ]
            if args.import_rows:
                async with sessionmaker() as session:
                    before = int(
                        await session.scalar(select(func.count()).select_from(Candidate)) or 0
                    )
                # Each import grows the table the next one meets: the variants run in order
                # then in reverse order (0, 1, 2, 2, 1, 0), so that the growth weighs on each
                # alike, and are summed per variant.
                variants = [(w, c) for w in args.import_workers for c in args.chunk_rows]
                order = variants + variants[::-1] if args.alternate else variants
                imports = [
                    await bulk_import(
                        sessionmaker,
                        people,
                        args.import_rows,
                        chunk,
                        workers,
                        profile_dir,
                        urlsplit(url).path.lstrip("/"),
                    )
                    for workers, chunk in order
                ]
                lines += [
                    f"Bulk import ({before:,} candidates stored before; every file ~10 % "
                    "repeated phones, 30 % points inside QPV polygons, 30 % other points, 20 % "
                    "addresses to geocode):",
                    "",
                    "| path | checking processes | rows | rows per transaction | seconds | "
                    "rows/s | created | found again | duplicates in file | refused | "
                    "Python CPU ms/row | PostgreSQL CPU ms/row | profiles built after | "
                    "their seconds | PostgreSQL CPU ms/profile |",
                    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
                ]
                for one in imports:
                    r = one.report
                    lines.append(
                        "| bulk import (`maillon import candidates`) | "
                        f"{one.workers or 'the importing one'} | {one.rows:,} | "
                        f"{one.chunk_rows:,} | {one.seconds:.1f} | {one.rows / one.seconds:,.0f} | "
                        f"{r.created:,} | {r.linked:,} | {r.duplicates:,} | {len(r.refused):,} | "
                        f"{one.python_cpu_ms:.3f} | {one.database_cpu_ms:.3f} | "
                        f"{_built(one.profiles)} |"
                    )
                if args.alternate:
                    lines += ["", "Per variant, both passes summed:", ""]
                    for workers, chunk in variants:
                        runs = [
                            one
                            for one in imports
                            if (one.workers, one.chunk_rows) == (workers, chunk)
                        ]
                        rows = sum(one.rows for one in runs)
                        seconds = sum(one.seconds for one in runs)
                        lines.append(
                            f"- {workers or 'no'} checking process(es), {chunk:,} rows per "
                            f"transaction: {rows:,} rows in {seconds:.1f} s, "
                            f"{rows / seconds:,.0f} rows/s."
                        )
                reasons = collections.Counter(
                    reason
                    for one in imports
                    for error in one.report.refused
                    for reason in error.reasons
                )
                lines += [
                    "",
                    "Refusals (all runs): "
                    + "; ".join(
                        f"{count} × « {reason} »" for reason, count in reasons.most_common(3)
                    )
                    + ".",
                ]
                batch_rows = [row for row in table[2:] if "batch" in row]
                if batch_rows:
                    best_batch = max(
                        batch_rows, key=lambda row: float(row.split("|")[5].replace(",", ""))
                    )
                    lines += [
                        "",
                        "Batch endpoint, best of the runs above: "
                        f"{best_batch.split('|')[5].strip()} forms/s.",
                    ]
        finally:
            await engine.dispose()
    lines += ["", f"Load average at the end: {_load_average()}."]
    return "\n".join(lines)


def _load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1 / 5 / 15 min)"


def print_profiles(directory: Path) -> None:
    for prof in sorted(directory.glob("*.prof")):
        stats = pstats.Stats(str(prof), stream=sys.stderr)
        stats.sort_stats("cumulative")
        print(f"== {prof.name}", file=sys.stderr)
        stats.print_stats(50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=6_000)
    parser.add_argument(
        "--existing",
        type=int,
        default=20_000,
        help="candidates stored before the first run (the benchmark generator, bench/seed.py)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--api-processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, nargs="+", default=[1_000])
    parser.add_argument("--import-workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--alternate",
        action="store_true",
        help="run the import variants in order then in reverse order (fair on a growing table)",
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(asyncio.run(run(args)))
    if args.profile is not None:
        print_profiles(args.profile)


if __name__ == "__main__":
    main()
