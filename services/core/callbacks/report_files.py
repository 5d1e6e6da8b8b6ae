"""The quarterly report as files: CSV and XLSX, the same numbers as the JSON, one row per line of
the report (total, organisations, borne sites), headers in French.

The CSV is the one French Excel opens as it is, by a double click: UTF-8 with a byte order mark
(else accents come out garbled), ``;`` between cells and a decimal comma (the French list and
decimal separators), RFC 4180 quoting otherwise."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from services.core.callbacks.report import COLUMNS, Report, flat

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filename(report: Report, extension: str) -> str:
    return f"rappels-{report.quarter}.{extension}"


CSV_DELIMITER = ";"
# A cell starting with one of these is a formula to a spreadsheet: a name typed by someone
# (an organisation's) must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str | int | float | None) -> str:
    """A value as French Excel reads it: decimal comma, text never taken for a formula."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, int):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    writer.writerow([label for _, label in COLUMNS])
    for row in report.rows():
        values = flat(row)
        writer.writerow([csv_cell(values[key]) for key, _ in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


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
