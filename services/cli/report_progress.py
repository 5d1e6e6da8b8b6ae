"""``maillon report clause-progress``: the clause-progress report of a scope (decisions 0078 and
0079), as the API gives it: JSON, CSV, XLSX, or the bilan as HTML or PDF, on stdout or into a
file. The operator's command: every scope of the instance."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.reports.progress_schemas import ProgressPublic
from services.cli.report import ReportError, _organisation_id, report_app
from services.cli.runtime import run_with_database
from services.core.clock import PARIS, now
from services.core.db import SessionMaker
from services.core.ledger import bilan, progress_files
from services.core.ledger.progress import progress, targets_of
from services.core.ledger.scope import Period, ScopeKind, quarter, resolve
from services.core.settings import get_settings


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"
    PDF = "pdf"


BINARY = (Format.XLSX, Format.PDF)
ORGANISATIONS = (ScopeKind.TERRITORY, ScopeKind.BUYER, ScopeKind.COMPANY)


async def _scope_id(session: AsyncSession, kind: ScopeKind, reference: str) -> uuid.UUID:
    if kind in ORGANISATIONS:
        return await _organisation_id(session, reference)
    try:
        return uuid.UUID(reference)
    except ValueError:
        raise ReportError("un marché ou un lot se donne par son identifiant.") from None


async def build(
    sessionmaker: SessionMaker, kind: ScopeKind, reference: str, period: Period, output: Format
) -> bytes:
    targets = targets_of(get_settings())
    async with sessionmaker() as session:
        scope = await resolve(session, kind, await _scope_id(session, kind, reference))
        if scope is None:
            raise ReportError("rien ne porte cet identifiant.")
        at = now()
        report = await progress(
            session, scope, period, as_of=at, today=at.astimezone(PARIS).date(), targets=targets
        )
    writers = {
        Format.CSV: progress_files.to_csv,
        Format.XLSX: progress_files.to_xlsx,
        Format.HTML: bilan.to_html,
        Format.PDF: bilan.to_pdf,
    }
    if output in writers:
        return writers[output](report)
    return ProgressPublic.of(report).model_dump_json(indent=2).encode() + b"\n"


def period_of(quarter_text: str | None, start: str | None, end: str | None) -> Period:
    if quarter_text is not None and start is None and end is None:
        return quarter(quarter_text)
    if quarter_text is None and start is not None and end is not None:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
        if last < first:
            raise ValueError("la fin de la période précède son début")
        return Period(first, last)
    raise ValueError("donnez --quarter, ou --start et --end")


@report_app.command("clause-progress")
def clause_progress_command(
    scope: Annotated[
        ScopeKind, typer.Option("--scope", help="territory, buyer, contract, lot ou company.")
    ],
    reference: Annotated[
        str,
        typer.Option(
            "--id",
            help="Identifiant (ou nom exact d'une organisation) du territoire, de "
            "l'acheteur, de l'entreprise ; identifiant du marché ou du lot.",
        ),
    ],
    quarter_text: Annotated[
        str | None, typer.Option("--quarter", help="Trimestre, par exemple 2026-Q3.")
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="Début, AAAA-MM-JJ.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Fin, AAAA-MM-JJ.")] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="json, csv, xlsx, ou le bilan : html, pdf.")
    ] = Format.JSON,
    output: Annotated[
        Path | None, typer.Option("--output", help="Fichier à écrire (défaut : sortie standard).")
    ] = None,
) -> None:
    """L'avancement des clauses d'un périmètre sur une période, ou le bilan de l'acheteur."""
    try:
        period = period_of(quarter_text, start, end)
    except ValueError as error:
        typer.echo(f"Erreur : {error}.", err=True)
        raise typer.Exit(2) from None
    if output_format in BINARY and output is None and sys.stdout.isatty():
        typer.echo(
            "Erreur : un classeur XLSX ou un PDF s'écrit dans un fichier (--output).", err=True
        )
        raise typer.Exit(2)

    async def work(sessionmaker: SessionMaker) -> bytes:
        return await build(sessionmaker, scope, reference, period, output_format)

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
