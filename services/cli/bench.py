"""Benchmark data: ``maillon bench seed`` loads synthetic organisations, candidates and offers.

The generator lives in the repository's ``bench/`` directory (not in the installed package): the
command imports it only when run, from the root of a checkout.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from services.cli.app import app
from services.cli.runtime import run_with_database
from services.core.db import SessionMaker, create_engine, create_sessionmaker, unit_of_work
from services.core.settings import Settings

_T = TypeVar("_T")

bench_app = typer.Typer(help="Données synthétiques pour les bancs d'essai.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("seed")
def seed_command(
    candidates: Annotated[int, typer.Option("--candidates", min=0, help="Candidats à créer.")],
    offers: Annotated[int, typer.Option("--offers", min=0, help="Offres ouvertes à créer.")] = 0,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Base cible (défaut : DATABASE_URL)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Graine : mêmes données, mêmes ids.")] = 1,
) -> None:
    """Charge des candidats et des offres synthétiques (référentiels importés au préalable)."""
    if not (Path.cwd() / "bench" / "seed.py").is_file():
        typer.echo(
            "Erreur : le générateur (bench/seed.py) n'existe que dans le dépôt : lancez la "
            "commande depuis sa racine.",
            err=True,
        )
        raise typer.Exit(2)
    sys.path.insert(0, str(Path.cwd()))
    from bench.seed import BENCH_PASSWORD, SeedReport
    from bench.seed import seed as load

    def progress(done: int, total: int) -> None:
        typer.echo(f"{done}/{total} candidats", err=True)

    async def work(sessionmaker: SessionMaker) -> SeedReport:
        async with unit_of_work(sessionmaker) as session:
            return await load(
                session, candidates=candidates, offers=offers, seed=seed, progress=progress
            )

    started = time.perf_counter()
    try:
        report = (
            asyncio.run(_with_url(database_url, work)) if database_url else run_with_database(work)
        )
    except RuntimeError as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(1) from None
    elapsed = time.perf_counter() - started
    typer.echo(
        f"{report.candidates} candidats ({report.shares} partages), {report.offers} offres "
        f"ouvertes, {report.contracts} marchés, {report.organisations} structures en "
        f"{elapsed:.1f} s ; candidats : {report.candidates_per_second:,.0f}/s."
    )
    typer.echo(f"Comptes (mot de passe « {BENCH_PASSWORD} ») :")
    for email, role, _ in report.accounts:
        typer.echo(f"  {role.value:<12} {email}")


async def _with_url(url: str, work: Callable[[SessionMaker], Awaitable[_T]]) -> _T:
    engine = create_engine(
        Settings(database_url=url), application_name="maillon-bench", statement_timeout=0
    )
    try:
        return await work(create_sessionmaker(engine))
    finally:
        await engine.dispose()
