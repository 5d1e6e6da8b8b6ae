"""Clause progress as files (decision 0079): CSV for French Excel (decision 0052: UTF-8 with a
byte order mark, ``;``, decimal comma) and XLSX, the same figures as the JSON.

Both hold the flat table of ``progress_table`` (a line per figure); the XLSX puts first a
*Synthèse* sheet, a line per row of the report (total, contracts, lots, companies) and a column
per hours figure, for people who read it as it is."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from services.callbacks.report_files import CSV_DELIMITER, csv_cell
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
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Synthèse"
    summary.append(["Niveau", "Identifiant", "Nom", *(title for _, title in HOURS_INDICATORS)])
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
    summary.freeze_panes = "D2"
    table = workbook.create_sheet("Indicateurs")
    table.append([title for _, title in COLUMNS])
    for line in lines(progress):
        table.append([getattr(line, key) for key, _ in COLUMNS])
    for sheet in (summary, table):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
