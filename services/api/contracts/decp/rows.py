"""Reading a DECP file (decp-table-schema 2.x, one line per contract and holder) and checking
each line. A line's problems name its column and say in French what is wrong, never the value."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO

from stdnum.fr import siret as stdnum_siret

from services.core.clock import now
from services.core.models.contract import ClauseKind

REQUIRED_COLUMNS = (
    "uid",
    "id",
    "acheteur.id",
    "objet",
    "dateNotification",
    "dureeMois",
    "considerationsSociales",
    "lieuExecution.code",
    "lieuExecution.typeCode",
    "titulaire.id",
    "titulaire.typeIdentifiant",
    "donneesActuelles",
)
OPTIONAL_COLUMNS = (
    "acheteur.nom",
    "nature",
    "codeCPV",
    "procedure",
    "lieuExecution.nom",
    "montant",
    "titulaire.denominationSociale",
)

# The social considerations of the schema and the clause each one means; several on one line:
# the first of this order wins (a reserved contract is reserved whatever else it says).
SOCIAL_CLAUSES: dict[str, ClauseKind] = {
    "marché réservé": ClauseKind.RESERVED_SIAE,
    "clause sociale": ClauseKind.EXECUTION,
    "critère social": ClauseKind.AWARD_CRITERION,
}
NO_SOCIAL_CONSIDERATION = "pas de considération sociale"

# A contract longer than 50 years or notified before the DECP existed is a typing error.
MAX_MONTHS = 600
FIRST_YEAR = 2000
MAX_AMOUNT = Decimal("999999999999.99")  # the column's scale (14, 2)
REFERENCE_LENGTH = 100
TITLE_LENGTH = 300
NAME_LENGTH = 200


class FileRefused(ValueError):
    """The whole file is unusable (not UTF-8, columns missing): nothing is imported."""


@dataclass(frozen=True)
class Problem:
    column: str
    reason: str


@dataclass(frozen=True)
class Line:
    """A line as read: cells by column name, with its number in the file (header = 1)."""

    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()


@dataclass(frozen=True)
class Holder:
    siret: str
    name: str


@dataclass(frozen=True)
class ContractRow:
    """A checked line: the contract it describes and its one holder."""

    line: int
    uid: str
    reference: str
    buyer_siret: str
    buyer_name: str
    title: str
    clause_kind: ClauseKind
    start_date: date
    months: int
    amount: Decimal | None
    holder: Holder


def read_lines(stream: IO[bytes]) -> Iterator[Line]:
    """The file's lines; ``;`` or ``,`` as the header line says."""
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        header_line = text.readline()
    except UnicodeDecodeError:
        raise FileRefused("le fichier n'est pas en UTF-8") from None
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter), [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise FileRefused("colonnes manquantes : " + ", ".join(missing))
    reader = csv.reader(text, delimiter=delimiter)
    number = 1
    try:
        for cells in reader:
            number = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            yield Line(number, dict(zip(header, cells, strict=False)))
    except UnicodeDecodeError:
        raise FileRefused(f"le fichier n'est pas en UTF-8 (après la ligne {number})") from None


def social_clause(line: Line) -> ClauseKind | Problem | None:
    """The clause the line's social considerations mean; None: none."""
    values = [v.strip().casefold() for v in line.get("considerationsSociales").split(",")]
    kinds: set[ClauseKind] = set()
    for value in values:
        if not value or value == NO_SOCIAL_CONSIDERATION:
            continue
        kind = SOCIAL_CLAUSES.get(value)
        if kind is None:
            return Problem("considerationsSociales", "considération sociale inconnue")
        kinds.add(kind)
    return next((kind for kind in SOCIAL_CLAUSES.values() if kind in kinds), None)


def is_current(line: Line) -> bool:
    return line.get("donneesActuelles").casefold() in {"true", "1", "oui", "vrai"}


def valid_siret(value: str) -> str | None:
    compact = stdnum_siret.compact(value)
    return compact if compact.isdigit() and stdnum_siret.is_valid(compact) else None


def _date(value: str) -> date | None:
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= now().year + 1 else None


def _amount(value: str) -> Decimal | Problem | None:
    if not value:
        return None
    try:
        amount = Decimal(value.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return Problem("montant", "montant invalide")
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_AMOUNT:
        return Problem("montant", "montant invalide (négatif ou trop grand)")
    return amount.quantize(Decimal("0.01"))


def _months(value: str) -> int | None:
    try:
        months = int(Decimal(value.replace(",", ".")))
    except (InvalidOperation, ValueError):
        return None
    return months if 1 <= months <= MAX_MONTHS else None


def check(line: Line, clause_kind: ClauseKind) -> ContractRow | list[Problem]:
    """The contract row of a line, or every problem it has."""
    problems: list[Problem] = []
    uid, reference = line.get("uid"), line.get("id")
    if not uid or len(uid) > REFERENCE_LENGTH:
        problems.append(Problem("uid", "identifiant du marché manquant ou trop long"))
    if not reference or len(reference) > REFERENCE_LENGTH:
        problems.append(Problem("id", "identifiant de l'acheteur manquant ou trop long"))
    buyer = valid_siret(line.get("acheteur.id"))
    if buyer is None:
        problems.append(
            Problem("acheteur.id", "SIRET de l'acheteur invalide (14 chiffres, clé de Luhn)")
        )
    holder: str | None = None
    holder_kind = line.get("titulaire.typeIdentifiant")
    if holder_kind and holder_kind.upper() != "SIRET":
        problems.append(
            Problem(
                "titulaire.typeIdentifiant",
                "titulaire sans SIRET : seule une entreprise identifiée par son SIRET peut "
                "être rattachée",
            )
        )
    else:
        holder = valid_siret(line.get("titulaire.id"))
        if holder is None:
            problems.append(
                Problem("titulaire.id", "SIRET du titulaire invalide (14 chiffres, clé de Luhn)")
            )
    title = line.get("objet")
    if not title:
        problems.append(Problem("objet", "objet du marché manquant"))
    start = _date(line.get("dateNotification"))
    if start is None:
        problems.append(
            Problem(
                "dateNotification",
                f"date de notification manquante ou invalide (AAAA-MM-JJ, de {FIRST_YEAR} à "
                "l'an prochain)",
            )
        )
    months = _months(line.get("dureeMois"))
    if months is None:
        problems.append(
            Problem("dureeMois", f"durée en mois manquante ou invalide (1 à {MAX_MONTHS})")
        )
    amount = _amount(line.get("montant"))
    if isinstance(amount, Problem):
        problems.append(amount)
    if problems:
        return problems
    assert buyer is not None and holder is not None and start is not None and months is not None
    assert not isinstance(amount, Problem)
    return ContractRow(
        line=line.number,
        uid=uid,
        reference=reference,
        buyer_siret=buyer,
        buyer_name=line.get("acheteur.nom")[:NAME_LENGTH] or f"Acheteur {buyer}",
        title=title[:TITLE_LENGTH],
        clause_kind=clause_kind,
        start_date=start,
        months=months,
        amount=amount,
        holder=Holder(
            holder, line.get("titulaire.denominationSociale")[:NAME_LENGTH] or f"Titulaire {holder}"
        ),
    )
