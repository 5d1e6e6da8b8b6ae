"""The CSV format of the candidate import, and the check of each row with the API's rules.

Format (documented in docs/decisions/0019-bulk-import.md and ``maillon import candidates
--help``): UTF-8 (a byte-order mark is accepted), ``;`` or ``,`` between cells (the header line
decides), one header line naming columns after the fields of ``POST /v1/candidates``
(``first_name`` and ``last_name`` required, the others optional, in any order), plus an optional
``consent`` (a line saying ``false`` is refused: decision 0047). An empty cell is a field not
given. Lists (``sectors_worked``, ``sectors_wanted``, ``needs``, ``rome_wishes``)
separate their values with ``|``; booleans are ``true``/``false``, ``oui``/``non`` or ``1``/``0``;
``lon`` and ``lat`` accept a decimal comma. Line numbers count the header as line 1.

A row is checked by :class:`~services.api.candidates.schemas.CandidateCreate` itself (phone in
E.164 through :mod:`services.core.contact`, e-mail, INSEE code shape, ranges, sectors…), then
against the referentials (commune, ROME codes) and the French territory (coordinates). Messages
are French and never quote a value.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.api.candidates.schemas import CandidateCreate
from services.api.people.persons import ValidRow
from services.api.validation import CONSENT_REQUIRED, french_errors
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import (
    CoordinatesOutsideFrance,
    decide_qpv_residence,
)

LIST_SEPARATOR = "|"
LIST_FIELDS = frozenset({"sectors_worked", "sectors_wanted", "needs", "rome_wishes"})
BOOLEAN_FIELDS = frozenset({"has_driving_licence", "has_vehicle", "qpv_declared", "consent"})
DECIMAL_FIELDS = frozenset({"lon", "lat"})
# Referents are people and organisations of this instance, not of the file being imported.
# ``consent``: the person's consent to be called back, when the file carries it; a line without
# it (``false``) is refused, as an intake without it is.
COLUMNS: tuple[str, ...] = (
    *(
        name
        for name in CandidateCreate.model_fields
        if name not in {"referent_organisation_id", "referent_prescriber_id"}
    ),
    "consent",
)
REQUIRED_COLUMNS = ("first_name", "last_name")
_BOOLEANS = {
    "true": "true",
    "false": "false",
    "oui": "true",
    "non": "false",
    "1": "true",
    "0": "false",
}
_OUTSIDE_FRANCE = str(CoordinatesOutsideFrance())


class FileRefused(ValueError):
    """The file as a whole cannot be read (encoding, header); the message is French."""


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused line: its number and the French reasons (field names, never values)."""

    line: int
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"ligne {self.line} : " + " ; ".join(self.reasons)


@dataclass(frozen=True, slots=True)
class Referentials:
    """What a row is checked against: commune codes, ROME fiche codes and QPV codes."""

    communes: frozenset[str]
    rome_codes: frozenset[str]
    qpv_codes: frozenset[str] = frozenset()


def _lines(source: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    try:
        for block in source:
            pending += decoder.decode(block)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRefused("le fichier n'est pas en UTF-8") from None
    if pending:
        yield pending


def _delimiter(header: str) -> str:
    return ";" if header.count(";") >= header.count(",") and ";" in header else ","


def read_rows(source: Iterable[bytes]) -> Iterator[tuple[int, dict[str, str]] | RowError]:
    """Each data line as ``(line number, {column: text})`` (empty cells left out), or its
    :class:`RowError` when its cells do not fit the header. :class:`FileRefused` for the file."""
    lines = _lines(source)
    try:
        first = next(lines)
    except StopIteration:
        raise FileRefused("le fichier est vide") from None
    delimiter = _delimiter(first)

    def rest() -> Iterator[str]:
        yield first
        yield from lines

    reader = csv.reader(rest(), delimiter=delimiter, quotechar='"', strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
        unknown = sorted({name for name in header if name not in COLUMNS})
        if unknown:
            raise FileRefused(
                "colonnes inconnues : "
                + ", ".join(unknown)
                + " (colonnes possibles : "
                + ", ".join(COLUMNS)
                + ")"
            )
        if len(set(header)) != len(header):
            raise FileRefused("une colonne est nommée deux fois dans l'en-tête")
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise FileRefused("colonnes obligatoires absentes : " + ", ".join(missing))
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines
            if len(cells) != len(header):
                reason = (
                    f"{len(cells)} cellules au lieu de {len(header)} (séparateur « {delimiter} »)"
                )
                yield RowError(start, (reason,))
                continue
            yield (
                start,
                {
                    name: cell.strip()
                    for name, cell in zip(header, cells, strict=True)
                    if cell.strip()
                },
            )
    except csv.Error:
        raise FileRefused(
            f"ligne {reader.line_num} : guillemets mal fermés, le fichier ne peut être lu"
        ) from None


def _typed(cells: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, text in cells.items():
        if name in LIST_FIELDS:
            values[name] = [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]
        elif name in BOOLEAN_FIELDS:
            values[name] = _BOOLEANS.get(text.lower(), text)
        elif name in DECIMAL_FIELDS:
            values[name] = text.replace(",", ".")
        else:
            values[name] = text
    return values


def check_row(
    line: int, cells: dict[str, str], known: Referentials, qpv: QpvIndex | None = None
) -> ValidRow | RowError:
    """The row ready to write, or every reason it is refused; with ``qpv``, its residence."""
    values = _typed(cells)
    reasons: list[str] = []
    consent = values.pop("consent", "true")
    if consent != "true":
        reasons.append(
            "consent : "
            + (CONSENT_REQUIRED if consent == "false" else "booléen attendu (true ou false)")
        )
    try:
        data = CandidateCreate.model_validate(values)
    except ValidationError as error:
        return RowError(
            line,
            (
                *reasons,
                *(
                    f"{'.'.join(str(part) for part in e.loc) or 'ligne'} : {e.message}"
                    for e in french_errors(error.errors())
                ),
            ),
        )
    if data.commune_insee is not None and data.commune_insee not in known.communes:
        reasons.append("commune_insee : commune inconnue")
    if data.rome_wishes and not set(data.rome_wishes) <= known.rome_codes:
        reasons.append("rome_wishes : code ROME inconnu")
    if data.lon is not None and data.lat is not None and not in_france(data.lon, data.lat):
        reasons.append(f"lon : {_OUTSIDE_FRANCE}")
    if data.qpv_declared_code is not None and data.qpv_declared_code not in known.qpv_codes:
        reasons.append("qpv_declared_code : quartier prioritaire inconnu")
    if reasons:
        return RowError(line, tuple(reasons))
    if qpv is None:
        return ValidRow(line, data)
    point = (data.lon, data.lat) if data.lon is not None and data.lat is not None else None
    residence = decide_qpv_residence(
        qpv,
        coordinates=point,
        commune_insee=data.commune_insee,
        declared=data.qpv_declared is True,
    )
    return ValidRow(line, data, residence)


def check_rows(
    items: list[tuple[int, dict[str, str]] | RowError],
    known: Referentials,
    qpv: QpvIndex | None = None,
) -> list[ValidRow | RowError]:
    """:func:`check_row` over a block of :func:`read_rows`' items, in order."""
    return [item if isinstance(item, RowError) else check_row(*item, known, qpv) for item in items]


def parse_text(text: str) -> Iterator[tuple[int, dict[str, str]] | RowError]:
    """:func:`read_rows` over a string (tests, the HTTP body)."""
    return read_rows([text.encode()])


def read_file(stream: io.BufferedIOBase, block_size: int = 1 << 16) -> Iterator[bytes]:
    while block := stream.read(block_size):
        yield block
