"""French text built from a public offer's facts: its description, its place, its weekly hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.api.public.clause import HOW_TO_APPLY, clause_context
from services.api.public.feed import PublicRow
from services.core.models.offer import CONTRACT_TYPE_LABELS

FULL_TIME_HOURS = Decimal(35)  # durée légale du travail, Code du travail art. L3121-27


def hours_label(hours: Decimal) -> str:
    """``35 h`` or ``17,5 h``: French decimal comma, no trailing zero."""
    text = f"{hours.normalize():f}".replace(".", ",")
    return f"{text} h"


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def place(row: PublicRow) -> str | None:
    """``Saint-Denis (93200)``, or the commune's code when the referential lacks it."""
    if row.commune_name is None:
        return row.commune_insee
    return f"{row.commune_name} ({row.postal_code})" if row.postal_code else row.commune_name


def description(row: PublicRow) -> str:
    """The offer told in a few sentences, for people reading a job board."""
    job = row.appellation_label or row.rome_label
    sentences = [f"{row.title}."]
    if job:
        sentences.append(f"Métier : {job} (code ROME {row.rome_code}).")
    terms = []
    if row.contract_type is not None:
        terms.append(CONTRACT_TYPE_LABELS[row.contract_type])
    if row.hours_per_week is not None:
        terms.append(f"{hours_label(row.hours_per_week)} par semaine")
    if row.start_date is not None:
        terms.append(f"à partir du {day(row.start_date)}")
    if row.end_date is not None:
        terms.append(f"jusqu'au {day(row.end_date)}")
    if terms:
        sentences.append(", ".join(terms) + ".")
    where = place(row)
    if where:
        sentences.append(f"Lieu de travail : {where}.")
    positions = row.open_positions
    sentences.append(
        f"{positions} poste{'s' if positions > 1 else ''} à pourvoir chez {row.employer_name}."
    )
    sentences.append(clause_context(row.clause))
    sentences.append(HOW_TO_APPLY)
    return " ".join(sentences)
