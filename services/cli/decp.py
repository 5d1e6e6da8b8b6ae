"""``maillon import decp FILE.csv [--territory …]``: contracts with a social consideration from
the public buyers' open data (données essentielles de la commande publique). Decision 0064."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.api.contracts.decp.importer import READING, DecpReport, import_decp
from services.api.contracts.decp.rows import REQUIRED_COLUMNS, FileRefused
from services.api.contracts.decp.territory import UnknownTerritory
from services.cli.progress import progress_bars
from services.cli.reference import import_app
from services.cli.runtime import run_with_database
from services.core.db import SessionMaker

# Exit status when the file was imported but some lines were refused (listed on stdout), as for
# ``maillon import candidates``.
SOME_LINES_REFUSED = 3


@import_app.command(
    "decp",
    epilog="Colonnes exigées (decp-table-schema 2.x) : " + ", ".join(REQUIRED_COLUMNS) + ".",
)
def import_decp_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Fichier CSV des données essentielles (UTF-8, « , » ou « ; »).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    territory: Annotated[
        list[str] | None,
        typer.Option(
            "--territory",
            help="Structure d'animation (identifiant ou nom exact) dont le territoire est "
            "retenu ; plusieurs possibles. Par défaut : toutes celles de l'instance.",
        ),
    ] = None,
) -> None:
    """Importe les marchés à considération sociale (clause sociale, critère social, marché
    réservé) exécutés ou achetés sur le territoire, comme marchés « découverts » qu'un
    facilitateur confirme ensuite. Un même fichier importé deux fois ne change rien. Les lignes
    refusées sont listées avec leur numéro, la colonne et la raison (statut de sortie 3)."""
    with progress_bars() as bars:

        async def work(sessionmaker: SessionMaker) -> DecpReport:
            with path.open("rb") as stream:
                return await import_decp(sessionmaker, stream, territory or [], progress=bars)

        try:
            report = run_with_database(work)
        except (FileRefused, UnknownTerritory) as error:
            typer.echo(f"Erreur : {error}", err=True)
            raise typer.Exit(1) from None
        bars.remove(READING)
    typer.echo(
        f"Import terminé : {report.lines} lignes, {report.contracts} marchés, "
        f"{report.created} marchés découverts créés, {report.updated} mis à jour, "
        f"{report.unchanged} inchangés, {report.followed} déjà suivis, "
        f"{report.without_social} sans considération sociale, {report.outside} hors du "
        f"territoire, {len(report.refused)} refus."
    )
    for refused in report.refused:
        typer.echo(f"Ligne {refused.line} refusée : {refused.column} : {refused.reason}")
    if report.refused:
        raise typer.Exit(SOME_LINES_REFUSED)
