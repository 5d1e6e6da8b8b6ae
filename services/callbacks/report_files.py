"""The quarterly report as files: CSV (RFC 4180, UTF-8, comma) and XLSX, the same numbers as the
JSON, one row per line of the report (total, organisations, borne sites), headers in French."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from services.callbacks.report import COLUMNS, Report, flat

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(report: Report, extension: str) -> str:
    return f"rappels-{report.quarter}.{extension}"


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in report.rows():
        values = flat(row)
        writer.writerow(["" if values[key] is None else values[key] for key, _ in COLUMNS])
    return buffer.getvalue().encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"Rappels {report.quarter.label}"
    sheet.append([label for _, label in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows():
        values = flat(row)
        sheet.append([values[key] for key, _ in COLUMNS])
    sheet.freeze_panes = "D2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
