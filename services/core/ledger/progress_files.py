"""Clause progress as files (decision 0079): CSV for French Excel (decision 0052: UTF-8 with a
byte order mark, ``;``, decimal comma) and XLSX, the same figures as the JSON.

Both hold the flat table of ``progress_table`` (a line per figure); the XLSX puts first a
*Synthèse* sheet, a line per row of the report (total, contracts, lots, companies) and a column
per hours figure, for people who read it as it is."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.workbook.child import _WorkbookChild

from services.core.callbacks.report_files import CSV_DELIMITER, csv_cell
from services.core.ledger.figures import Hours
from services.core.ledger.progress import Progress
from services.core.ledger.progress_table import (
    COLUMNS,
    HOURS_INDICATORS,
    LEVEL_LABELS,
    hours_value,
    lines,
    value,
)


def filename(progress: Progress, extension: str) -> str:
    scope = progress.scope
    return f"avancement-{scope.kind.value}-{scope.id}-{progress.period.slug}.{extension}"


def to_csv(progress: Progress) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([title for _, title in COLUMNS])
    for line in lines(progress):
        writer.writerow([csv_cell(getattr(line, key)) for key, _ in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(progress: Progress) -> bytes:
    """Written row by row (openpyxl's write-only mode): a territory's report has some 300,000
    lines of figures; a workbook held whole took 750 MB more at its peak (measured on P8's
    territory: 990 against 240 MB for the API process) and a fifth more time."""
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("Synthèse")
    summary.freeze_panes = "D2"
    summary.append(
        _bold(summary, ["Niveau", "Identifiant", "Nom", *(t for _, t in HOURS_INDICATORS)])
    )
    rows: list[tuple[str, str | None, str, Hours]] = [
        ("total", None, progress.scope.name, progress.total)
    ]
    for level, found in (
        ("contract", progress.contracts),
        ("lot", progress.lots),
        ("company", progress.companies),
    ):
        rows.extend((level, str(row.id), row.name, row.hours) for row in found)
    for level, row_id, name, hours in rows:
        summary.append(
            [
                LEVEL_LABELS[level],
                row_id,
                name,
                *(value(hours_value(hours, key)) for key, _ in HOURS_INDICATORS),
            ]
        )
    table = workbook.create_sheet("Indicateurs")
    table.append(_bold(table, [title for _, title in COLUMNS]))
    for line in lines(progress):
        table.append([getattr(line, key) for key, _ in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _bold(sheet: _WorkbookChild, titles: list[str]) -> list[Cell]:
    """A header row, in bold."""
    cells = []
    for title in titles:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells
