"""Benchmark data: ``maillon bench seed`` loads synthetic organisations, candidates and offers.

The generator lives in the repository's ``bench/`` directory (not in the installed package): the
command runs it as ``python -m bench.seed`` from the root of a checkout, against the database it
resolved (the configured one, else the embedded one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.runtime import resolve
from services.core.logging import configure_logging
from services.core.migrate import upgrade
from services.core.settings import get_settings

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
    root = Path.cwd()
    if not (root / "bench" / "seed.py").is_file():
        typer.echo(
            "Erreur : le générateur (bench/seed.py) n'existe que dans le dépôt : lancez la "
            "commande depuis sa racine.",
            err=True,
        )
        raise typer.Exit(2)
    runtime = None
    if database_url is None:
        settings = get_settings()
        configure_logging(settings.log_level, json=settings.log_json)  # logs to stderr
        runtime = resolve(settings, redis=False)
        if settings.database_url is None:  # a fresh embedded database: make its schema first
            upgrade(runtime.database_url)
        database_url = runtime.database_url
    command = [sys.executable, "-m", "bench.seed", "--candidates", str(candidates)]
    command += ["--offers", str(offers), "--seed", str(seed)]
    try:
        # The URL goes by the environment, never on a command line other users can read.
        done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
            command, cwd=root, env={**os.environ, "DATABASE_URL": database_url}, check=False
        )
    finally:
        if runtime is not None:
            runtime.stop()
    if done.returncode:
        raise typer.Exit(done.returncode)
