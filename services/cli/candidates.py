"""``maillon import candidates FILE.csv --organisation <id>``: the bulk import of candidates
(an HR system's export, the migration of an existing file). See decision 0019."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from services.api.candidates.bulk.importer import ImportReport, import_candidates
from services.api.candidates.bulk.rows import COLUMNS, FileRefused, read_file
from services.cli.reference import import_app
from services.cli.runtime import run_with_database
from services.core.db import SessionMaker

# Checking processes by default: one per core beside this one, at least one.
DEFAULT_WORKERS = max(1, (os.cpu_count() or 2) - 1)
# Exit status when the file was imported but some lines were refused (listed on stdout).
SOME_LINES_REFUSED = 3


@import_app.command(
    "candidates",
    epilog="Colonnes possibles : "
    + ", ".join(COLUMNS)
    + ". UTF-8, séparateur « ; » ou « , », listes séparées par « | ».",
)
def import_candidates_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Fichier CSV (UTF-8, « ; » ou « , », une ligne d'en-tête).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    organisation: Annotated[
        uuid.UUID,
        typer.Option("--organisation", help="Identifiant de l'organisation qui importe."),
    ],
    chunk_rows: Annotated[
        int,
        typer.Option("--chunk-rows", min=1, max=5_000, help="Lignes écrites par transaction."),
    ] = 1_000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            max=32,
            help="Processus qui vérifient les lignes pendant l'écriture (0 : aucun).",
        ),
    ] = DEFAULT_WORKERS,
) -> None:
    """Importe des candidats depuis un fichier CSV : chaque ligne est vérifiée comme par l'API,
    les personnes déjà connues (téléphone ou e-mail) sont retrouvées et partagées avec
    l'organisation au lieu d'être créées deux fois. Les lignes refusées sont listées avec leur
    numéro et la raison (statut de sortie 3) ; rien n'est écrit pour elles."""

    async def work(sessionmaker: SessionMaker) -> ImportReport:
        with path.open("rb") as stream:
            return await import_candidates(
                sessionmaker,
                read_file(stream),
                organisation,
                chunk_rows=chunk_rows,
                workers=workers,
            )

    try:
        report = run_with_database(work)
    except FileRefused as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"Import {report.import_id} terminé : {report.rows} lignes, {report.created} candidats "
        f"créés, {report.linked} lignes rattachées à une personne déjà connue "
        f"({report.shared} partagées avec l'organisation, {report.updated} fiches complétées), "
        f"{report.duplicates} doublons dans le fichier, {len(report.refused)} lignes refusées."
    )
    for refused in report.refused:
        typer.echo(f"Ligne {refused.line} refusée : " + " ; ".join(refused.reasons))
    if report.refused:
        raise typer.Exit(SOME_LINES_REFUSED)
