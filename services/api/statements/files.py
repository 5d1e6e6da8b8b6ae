"""The *relevé d'heures* as a file: the template Maillon generates per attribution and month,
prefilled with its placements, and the reading of that template once filled (XLSX or CSV).

CSV as everywhere in Maillon (decision 0052): UTF-8 with a byte order mark, ``;``, CRLF, decimal
comma, text never taken for a formula. Read back: ``;`` or ``,`` (the header line decides), a
decimal comma or point. Columns are found by their header, in any order.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from services.api.statements.schemas import parse_month
from services.api.statements.service import Declared, Refusal
from services.api.validation import InvalidValue
from services.core.models.candidate import Candidate
from services.core.models.placement import Placement

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# field → header, in the template's order.
COLUMNS: dict[str, str] = {
    "placement_id": "Identifiant de la mise en emploi",
    "participant": "Participant",
    "start_date": "Début",
    "end_date": "Fin",
    "month": "Mois (AAAA-MM)",
    "hours_worked": "Heures travaillées",
    "training_hours": "Dont heures de formation",
}
REQUIRED = ("placement_id", "month", "hours_worked")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | Decimal | date | datetime | None


NOT_A_FORM = (
    "Envoyez le fichier lui-même comme corps de la requête (Content-Type text/csv ou XLSX), "
    "pas un formulaire multipart."
)


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _name(candidate: Candidate) -> str:
    return " ".join(p for p in (candidate.last_name, candidate.first_name) if p) or "—"


def _rows(placements: Sequence[tuple[Placement, Candidate]], month: date) -> Iterator[list[str]]:
    for placement, candidate in placements:
        yield [
            str(placement.id),
            _name(candidate),
            placement.start_date.strftime("%d/%m/%Y"),
            placement.end_date.strftime("%d/%m/%Y") if placement.end_date else "",
            month.strftime("%Y-%m"),
            "",
            "",
        ]


def template_csv(placements: Sequence[tuple[Placement, Candidate]], month: date) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS.values())
    for row in _rows(placements, month):
        row[1] = _text(row[1])
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


def template_xlsx(placements: Sequence[tuple[Placement, Candidate]], month: date) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = f"Relevé {month:%Y-%m}"
    sheet.append(list(COLUMNS.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in _rows(placements, month):
        sheet.append(row)
    for letter, width in zip("ABCDEFG", (38, 30, 12, 12, 16, 18, 24), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -- reading a filled template ---------------------------------------------------------------


class UnreadableFile(Exception):
    """The file as a whole cannot be read (not a template): the French reason."""


@dataclass(frozen=True)
class ReadFile:
    lines: list[Declared]
    refusals: list[Refusal]
    skipped: int


def _is_xlsx(content: bytes) -> bool:
    return content.startswith(b"PK\x03\x04")


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Cell]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError as error:
            raise UnreadableFile("fichier illisible : CSV en UTF-8 ou XLSX attendu") from error
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        yield number, list(row)


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[Cell]]]:
    # Whatever a damaged or hostile file makes openpyxl raise (zip, XML, styles…) means one
    # thing to the person who sent it: the workbook cannot be read.
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        rows: list[list[Cell]] = [
            list(row)  # type: ignore[arg-type]
            for row in workbook.worksheets[0].iter_rows(values_only=True)
        ]
        workbook.close()
    except Exception as error:
        raise UnreadableFile("classeur XLSX illisible") from error
    yield from enumerate(rows, start=1)


def _blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Cell) -> Decimal:
    if isinstance(value, bool):
        raise InvalidValue("nombre attendu")
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if isinstance(value, str):
        return _number_text(value)
    raise InvalidValue("nombre attendu")


# A file repeats its months and, often, its hours: each distinct text is read once.
@lru_cache(maxsize=4096)
def _number_text(value: str) -> Decimal:
    try:
        number = Decimal(value.strip().replace("\u00a0", "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise InvalidValue("nombre attendu") from None
    if not number.is_finite():
        raise InvalidValue("nombre attendu")
    return number.quantize(Decimal("0.01"))


_month_text = lru_cache(maxsize=1024)(parse_month)


def _month(value: Cell) -> date:
    if isinstance(value, datetime):
        return parse_month(value.date())
    return _month_text(value) if isinstance(value, str) else parse_month(value)


def _columns(header: list[Cell]) -> dict[str, int]:
    by_label = {label.casefold(): field for field, label in COLUMNS.items()}
    by_label.update({field.casefold(): field for field in COLUMNS})
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        if isinstance(cell, str):
            field = by_label.get(cell.strip().lstrip("\ufeff").casefold())
            if field is not None and field not in found:
                found[field] = position
    missing = [COLUMNS[f] for f in REQUIRED if f not in found]
    if missing:
        raise UnreadableFile(
            "colonne(s) manquante(s) : "
            + ", ".join(f"« {m} »" for m in missing)
            + " (utilisez le modèle de relevé d'heures)"
        )
    return found


def read(content: bytes) -> ReadFile:
    """The lines of a filled template; lines without hours are skipped, every other line is
    either read or refused with its column and reason."""
    rows = _xlsx_rows(content) if _is_xlsx(content) else _csv_rows(content)
    header: dict[str, int] | None = None
    lines: list[Declared] = []
    refusals: list[Refusal] = []
    skipped = 0
    for number, row in rows:
        if header is None:
            if all(_blank(cell) for cell in row):
                continue
            header = _columns(row)
            continue

        raw_id, raw_month, raw_hours, raw_training = (
            row[position] if position is not None and position < len(row) else None
            for position in (
                header.get("placement_id"),
                header.get("month"),
                header.get("hours_worked"),
                header.get("training_hours"),
            )
        )
        no_training = _blank(raw_training)
        if _blank(raw_hours) and no_training:
            if not _blank(raw_id):
                skipped += 1  # a placement nobody filled in this month: nothing declared
            continue
        refused_before = len(refusals)
        placement_id: uuid.UUID | None = None
        month: date | None = None
        hours = training = Decimal(0)
        try:
            placement_id = uuid.UUID(str(raw_id).strip())
        except ValueError:
            refusals.append(
                Refusal(number, "placement_id", "identifiant de mise en emploi invalide", "unknown")
            )
        try:
            month = _month(raw_month)
        except InvalidValue as error:
            refusals.append(Refusal(number, "month", str(error)))
        try:
            hours = _number(raw_hours)
        except InvalidValue as error:
            refusals.append(Refusal(number, "hours_worked", str(error)))
        if not no_training:
            try:
                training = _number(raw_training)
            except InvalidValue as error:
                refusals.append(Refusal(number, "training_hours", str(error)))
        if len(refusals) == refused_before and placement_id is not None and month is not None:
            lines.append(Declared(number, placement_id, month, hours, training))
    if header is None:
        raise UnreadableFile("fichier vide : utilisez le modèle de relevé d'heures")
    return ReadFile(lines, refusals, skipped)
