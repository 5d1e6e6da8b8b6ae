"""The French sentence beside each criterion's points, so a person can read why (product.md §5).

Labels are built from the same values the SQL scored; they never mention sex, age, nationality,
health or family status (the score never reads them either).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.core.models.contract import QpvPriority
from services.core.models.match_profile import DEFAULT_RADIUS_KM
from services.core.referentials.sectors import SectorCode, get_sector


def sector_label(*, strong: bool, sector: SectorCode | str | None, rome_code: str) -> str:
    if sector is None:
        return f"Métier souhaité : {rome_code}"
    name = get_sector(sector).label
    return f"Secteur souhaité : {name}" if strong else f"Expérience dans le secteur : {name}"


def qpv_label(*, in_qpv: bool, is_npnru: bool, qpv_priority: QpvPriority | str | None) -> str:
    if not in_qpv:
        return "Résidence en QPV non établie"
    if is_npnru:
        return "Réside en QPV (contrat NPNRU)"
    if qpv_priority in (QpvPriority.PREFERRED, QpvPriority.REQUIRED):
        return "Réside en QPV (priorité QPV du contrat)"
    return "Réside en QPV"


def _hours(value: float | Decimal) -> str:
    number = float(value)
    return f"{number:g}".replace(".", ",")


def availability_label(
    *,
    available_from: date | None,
    reference: date,
    has_start_date: bool,
    decay_days: int,
    candidate_hours: int | None,
    offer_hours: float | Decimal | None,
) -> str:
    late = 0 if available_from is None else (available_from - reference).days
    if available_from is None:
        text = "Disponibilité non renseignée"
    elif late <= 0:
        text = (
            "Disponible avant le début du poste" if has_start_date else "Disponible dès maintenant"
        )
    elif late >= decay_days:
        text = f"Disponible plus de {decay_days} jours après le début du poste"
    elif has_start_date:
        text = f"Disponible {late} jour{'s' if late > 1 else ''} après le début du poste"
    else:
        text = f"Disponible dans {late} jour{'s' if late > 1 else ''}"
    if candidate_hours is not None and offer_hours is not None:
        if candidate_hours >= float(offer_hours):
            text += f" ; horaires compatibles ({_hours(offer_hours)} h par semaine)"
        else:
            text += f" ; {_hours(offer_hours)} h par semaine pour {candidate_hours} h souhaitées"
    elif offer_hours is not None:
        text += f" ; horaires souhaités non renseignés ({_hours(offer_hours)} h par semaine)"
    return text


def distance_label(*, km: float, radius_km: int | None) -> str:
    where = "À moins de 1 km" if km < 1 else f"À {round(km)} km"
    if radius_km is None:
        return f"{where} (rayon non renseigné, {DEFAULT_RADIUS_KM} km retenus)"
    return f"{where} (rayon {radius_km} km)"


def eligibility_label(*, applies: bool, eligible_until: date | None, today: date) -> str:
    valid = eligible_until is not None and eligible_until >= today
    if not valid:
        return "Pas d'éligibilité validée en cours"
    if not applies:
        return "Éligibilité validée (non demandée par l'offre)"
    if eligible_until is None or eligible_until == date.max:
        return "Éligibilité validée"
    until = eligible_until
    return f"Éligibilité validée jusqu'au {until.day:02d}/{until.month:02d}/{until.year:04d}"
