"""``maillon report callbacks``: the quarterly callback report (decision 0021), as the API gives
it: JSON, CSV or XLSX, for every organisation or one, on stdout or into a file."""

from __future__ import annotations

import sys
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.reports.schemas import CallbackReportPublic
from services.cli.app import app
from services.cli.runtime import run_with_database
from services.core.callbacks.report import Quarter, callback_report
from services.core.callbacks.report_files import to_csv, to_xlsx
from services.core.clock import now
from services.core.db import SessionMaker
from services.core.models.organisation import Organisation

report_app = typer.Typer(help="Rapports (rappels sous 30 jours).", no_args_is_help=True)
app.add_typer(report_app, name="report")


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class ReportError(Exception):
    """A refusal explained to the operator (exit status 2)."""


async def build(
    sessionmaker: SessionMaker, quarter: Quarter, output: Format, organisation: str | None
) -> bytes:
    async with sessionmaker() as session:
        scope: set[uuid.UUID] | None = None
        if organisation is not None:
            scope = {await _organisation_id(session, organisation)}
        report = await callback_report(session, quarter, now(), organisation_ids=scope)
    if output is Format.CSV:
        return to_csv(report)
    if output is Format.XLSX:
        return to_xlsx(report)
    return CallbackReportPublic.of(report).model_dump_json(indent=2).encode() + b"\n"


async def _organisation_id(session: AsyncSession, reference: str) -> uuid.UUID:
    try:
        organisation_id = uuid.UUID(reference)
    except ValueError:
        named = list(
            await session.scalars(
                select(col(Organisation.id)).where(col(Organisation.name) == reference)
            )
        )
        if len(named) != 1:
            raise ReportError(
                f"{len(named)} organisations s'appellent « {reference} » : donnez son identifiant."
                if named
                else f"aucune organisation ne s'appelle « {reference} »."
            ) from None
        return named[0]
    if await session.get(Organisation, organisation_id) is None:
        raise ReportError("aucune organisation n'a cet identifiant.")
    return organisation_id


@report_app.command("callbacks")
def callbacks_command(
    quarter: Annotated[str, typer.Option("--quarter", help="Trimestre, par exemple 2026-Q3.")],
    output_format: Annotated[
        Format, typer.Option("--format", help="json, csv ou xlsx.")
    ] = Format.JSON,
    organisation: Annotated[
        str | None,
        typer.Option("--organisation", help="Identifiant ou nom exact d'une organisation."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Fichier à écrire (défaut : sortie standard).")
    ] = None,
) -> None:
    """Le rapport trimestriel des rappels : dépôts, personnes jointes, délais, suites données."""
    try:
        period = Quarter.parse(quarter)
    except ValueError as error:
        typer.echo(f"Erreur : {error}.", err=True)
        raise typer.Exit(2) from None
    if output_format is Format.XLSX and output is None and sys.stdout.isatty():
        typer.echo("Erreur : un classeur XLSX s'écrit dans un fichier (--output).", err=True)
        raise typer.Exit(2)

    async def work(sessionmaker: SessionMaker) -> bytes:
        return await build(sessionmaker, period, output_format, organisation)

    try:
        content = run_with_database(work)
    except ReportError as error:
        typer.echo(f"Erreur : {error}", err=True)
        raise typer.Exit(2) from None
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        output.write_bytes(content)
        typer.echo(f"Rapport {period.label} écrit dans {output}.", err=True)
