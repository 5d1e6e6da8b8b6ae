"""Reading and checking DECP lines (decision 0064), without a database."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from services.api.contracts.decp.importer import end_date
from services.api.contracts.decp.rows import (
    REQUIRED_COLUMNS,
    ContractRow,
    FileRefused,
    Line,
    Problem,
    check,
    read_lines,
    social_clause,
)
from services.core.models.contract import ClauseKind

GOOD = {
    "uid": "219300662000182025M0142",
    "id": "2025M0142",
    "acheteur.id": "219 300 662 00018",
    "acheteur.nom": "Commune de Saint-Denis",
    "objet": "Réhabilitation du groupe scolaire",
    "dateNotification": "2025-03-01",
    "dureeMois": "18",
    "montant": "120 000,5",
    "titulaire.id": "80412345300024",
    "titulaire.typeIdentifiant": "SIRET",
    "titulaire.denominationSociale": "",
    "considerationsSociales": "Clause sociale",
}


def line(**changes: str) -> Line:
    return Line(2, {**GOOD, **changes})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Clause sociale", ClauseKind.EXECUTION),
        ("Critère social", ClauseKind.AWARD_CRITERION),
        ("Critère social, Clause sociale", ClauseKind.EXECUTION),
        ("Clause sociale,Marché réservé", ClauseKind.RESERVED_SIAE),
        ("Pas de considération sociale", None),
        ("", None),
    ],
)
def test_the_clause_a_line_means(value: str, expected: ClauseKind | None) -> None:
    assert social_clause(line(considerationsSociales=value)) == expected


def test_an_unknown_consideration_is_a_problem_of_its_column() -> None:
    assert social_clause(line(considerationsSociales="Clause verte")) == Problem(
        "considerationsSociales", "considération sociale inconnue"
    )


def test_a_good_line_gives_its_contract() -> None:
    row = check(line(), ClauseKind.EXECUTION)
    assert isinstance(row, ContractRow)
    assert (row.buyer_siret, row.amount, row.months) == (
        "21930066200018",
        Decimal("120000.50"),
        18,
    )
    assert row.holder.name == "Titulaire 80412345300024"


def test_every_problem_of_a_line_is_named_by_its_column() -> None:
    problems = check(
        line(
            **{
                "acheteur.id": "21930066200019",
                "titulaire.typeIdentifiant": "TVA",
                "dateNotification": "9999-01-01",
                "dureeMois": "0",
                "montant": "-5",
                "objet": "",
            }
        ),
        ClauseKind.EXECUTION,
    )
    assert isinstance(problems, list)
    assert [p.column for p in problems] == [
        "acheteur.id",
        "titulaire.typeIdentifiant",
        "objet",
        "dateNotification",
        "dureeMois",
        "montant",
    ]
    assert all("9999" not in p.reason and "2193" not in p.reason for p in problems)


def test_end_dates() -> None:
    assert end_date(date(2025, 3, 1), 18) == date(2026, 8, 31)
    assert end_date(date(2024, 1, 31), 1) == date(2024, 2, 28)  # 29 February is the same day
    assert end_date(date(2025, 12, 15), 12) == date(2026, 12, 14)


def test_a_file_without_the_schema_columns_is_refused() -> None:
    with pytest.raises(FileRefused, match="colonnes manquantes : uid"):
        list(read_lines(io.BytesIO(b"id;objet\n1;x\n")))
    with pytest.raises(FileRefused, match="UTF-8"):
        list(read_lines(io.BytesIO(",".join(REQUIRED_COLUMNS).encode() + b"\n\xe9\xe9\n")))
    lines = list(
        read_lines(io.BytesIO(("\ufeff" + ";".join(REQUIRED_COLUMNS) + "\n\n" + "u;1\n").encode()))
    )
    assert [(ln.number, ln.get("uid"), ln.get("id")) for ln in lines] == [(3, "u", "1")]
