"""Reference data commands: ``maillon import rome|communes|qpv`` and ``maillon qpv LON LAT``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer

from services.cli.app import app
from services.cli.progress import ProgressBars, progress_bars
from services.cli.runtime import run_with_database
from services.core.db import SessionMaker, unit_of_work
from services.core.referentials.communes_import import import_communes
from services.core.referentials.files import ReferenceDataError
from services.core.referentials.rome_import import import_rome
from services.core.referentials.store import ImportSummary

import_app = typer.Typer(
    help="Importe les données de référence (ROME, communes, QPV) depuis les fichiers officiels.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

LabelOption = Annotated[
    str | None,
    typer.Option("--label", help="Nom de l'édition enregistré avec la version (ex. « 2024 »)."),
]


def _import(run: Callable[[SessionMaker, ProgressBars], Awaitable[ImportSummary]]) -> None:
    """Run one import with progress bars (on stderr), then print its summary."""

    async def work(sessionmaker: SessionMaker) -> ImportSummary:
        with progress_bars() as bars:
            return await run(sessionmaker, bars)

    try:
        summary = run_with_database(work)
    except ReferenceDataError as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(1) from None
    _print_summary(summary)


def _print_summary(summary: ImportSummary) -> None:
    counts = ", ".join(f"{count} {label}" for label, count in summary.counts.items())
    typer.echo(f"Import {summary.kind.value} terminé : {counts}.")
    if summary.label:
        typer.echo(f"Édition : {summary.label}")
    typer.echo(f"Version : {summary.version}")
    typer.echo(f"Lignes ajoutées ou modifiées : {summary.changed} ; supprimées : {summary.removed}")


@import_app.command("rome")
def import_rome_command(
    directory: Annotated[
        Path, typer.Argument(help="Dossier des fichiers unix_*_utf8.csv de France Travail.")
    ],
    label: LabelOption = None,
) -> None:
    """Importe le ROME v4 : grands domaines, domaines professionnels, fiches, appellations."""

    async def run(sessionmaker: SessionMaker, progress: ProgressBars) -> ImportSummary:
        async with unit_of_work(sessionmaker) as session:
            return await import_rome(session, directory, progress=progress, label=label)

    _import(run)


@import_app.command("communes")
def import_communes_command(
    communes_csv: Annotated[Path, typer.Argument(help="Fichier insee,dept,lon,lat,name.")],
    postal_codes_csv: Annotated[Path, typer.Argument(help="Fichier insee,cp,cps_alt.")],
    label: LabelOption = None,
) -> None:
    """Importe les communes (centres) et leurs codes postaux."""

    async def run(sessionmaker: SessionMaker, progress: ProgressBars) -> ImportSummary:
        async with unit_of_work(sessionmaker) as session:
            return await import_communes(
                session, communes_csv, postal_codes_csv, progress=progress, label=label
            )

    _import(run)


@import_app.command("qpv")
def import_qpv_command(
    geojson: Annotated[Path, typer.Argument(help="GeoJSON des QPV de l'ANCT (WGS84).")],
    label: LabelOption = None,
) -> None:
    """Importe les polygones des quartiers prioritaires (QPV)."""
    from services.core.referentials.qpv_import import import_qpv  # shapely: only when needed

    async def run(sessionmaker: SessionMaker, progress: ProgressBars) -> ImportSummary:
        async with unit_of_work(sessionmaker) as session:
            return await import_qpv(session, geojson, progress=progress, label=label)

    _import(run)


@app.command(
    "qpv",
    # Lets overseas longitudes such as -61.53 through as arguments, not options.
    context_settings={"ignore_unknown_options": True},
)
def qpv_command(
    lon: Annotated[float, typer.Argument(help="Longitude WGS84 (ex. 2.3535).")],
    lat: Annotated[float, typer.Argument(help="Latitude WGS84 (ex. 48.8865).")],
) -> None:
    """Dit dans quel QPV se trouve un point (longitude, latitude)."""
    from services.core.geo.qpv import BOUNDARY_MARGIN_M, QpvHit, QpvIndex, load_qpv_index  # shapely

    async def work(sessionmaker: SessionMaker) -> QpvIndex:
        async with sessionmaker() as session:
            return await load_qpv_index(session)

    index = run_with_database(work)
    if len(index) == 0:
        typer.echo("Aucun QPV chargé : lancez « maillon import qpv FICHIER.geojson ».", err=True)
        raise typer.Exit(1)
    try:
        result = index.lookup(lon, lat)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{result.code} {result.name}" if isinstance(result, QpvHit) else "hors QPV")
    if result.near_boundary:
        distance = result.distance_to_boundary_m or 0.0
        typer.echo(
            f"point à moins de {BOUNDARY_MARGIN_M:.0f} m d'une limite de QPV ({distance:.0f} m) : "
            "vérifier avec l'outil de l'ANCT"
        )
