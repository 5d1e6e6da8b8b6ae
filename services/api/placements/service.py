"""Placements (§8.3): created by a facilitator or by a hire, started (what they count for is
frozen), accepted as an exception when no criterion was validated."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.policy import policy as candidates_policy
from services.api.errors import Conflict, ValidationFailed
from services.api.placements.schemas import PlacementCreate, PlacementUpdate
from services.api.validation import FieldError, merge_errors
from services.core.ledger.placements import freeze
from services.core.models.attribution import Attribution
from services.core.models.candidate import Candidate, CandidateStatus
from services.core.models.obligation import MODALITY_LABELS, Modality, Obligation
from services.core.models.organisation import CompanyKind, Organisation
from services.core.models.placement import Placement, PlacementStatus
from services.core.models.referentials import RomeFiche
from services.core.security.principal import Principal

_error = FieldError.of_body

# Who may employ a participant under each modality, when the employer's kind is known (§8.3).
EMPLOYER_KINDS: dict[Modality, frozenset[CompanyKind]] = {
    Modality.PROVISION: frozenset(
        {CompanyKind.AI, CompanyKind.ETTI, CompanyKind.GEIQ, CompanyKind.TEMP_AGENCY}
    ),
    Modality.SUBCONTRACTING: frozenset(
        {CompanyKind.EI, CompanyKind.ACI, CompanyKind.EA, CompanyKind.ESAT}
    ),
}
FROZEN_FIELDS = frozenset({"employer_id", "modality", "start_date", "qualification_level"})


class PlacementStarted(Conflict):
    code = "placement-started"
    title = "Mise en emploi démarrée"


class PlacementNotFlagged(Conflict):
    code = "placement-not-flagged"
    title = "Pas de dérogation à accorder"
    default_detail = (
        "Cette mise en emploi n'est pas signalée (un critère d'éligibilité était validé à son "
        "démarrage, ou elle n'a pas démarré) : aucune dérogation n'est nécessaire."
    )


async def _check(
    session: AsyncSession,
    attribution: Attribution,
    *,
    employer_id: uuid.UUID,
    modality: Modality,
    rome_code: str | None,
    start_date: date,
    end_date: date | None,
) -> list[FieldError]:
    errors: list[FieldError] = []
    if end_date is not None and end_date < start_date:
        errors.append(_error("end_date", "la date de fin précède la date de début"))
    employer = await session.get(Organisation, employer_id, populate_existing=True)
    if employer is None:
        errors.append(_error("employer_id", "organisation inconnue", "unknown"))
    elif modality is Modality.DIRECT_HIRE and employer_id != attribution.organisation_id:
        errors.append(
            _error("employer_id", "une embauche directe est faite par l'entreprise attributaire")
        )
    elif (
        modality in EMPLOYER_KINDS
        and employer.company_kind is not None
        and employer.company_kind not in EMPLOYER_KINDS[modality]
    ):
        errors.append(
            _error(
                "modality",
                f"« {MODALITY_LABELS[modality]} » : cet employeur n'est pas d'un type qui le "
                "permet",
            )
        )
    obligation = await session.scalar(
        select(Obligation).where(
            col(Obligation.contract_id) == attribution.contract_id,
            col(Obligation.lot_id).is_(None)
            if attribution.lot_id is None
            else col(Obligation.lot_id) == attribution.lot_id,
        )
    )
    if obligation is not None and modality not in obligation.allowed_modalities:
        errors.append(
            _error(
                "modality",
                f"« {MODALITY_LABELS[modality]} » n'est pas admise par l'obligation de ce lot",
            )
        )
    if rome_code is not None and (
        await session.scalar(select(col(RomeFiche.id)).where(col(RomeFiche.code) == rome_code))
        is None
    ):
        errors.append(_error("rome_code", "code ROME inconnu", "unknown"))
    return errors


async def create(
    session: AsyncSession,
    principal: Principal,
    attribution: Attribution,
    data: PlacementCreate,
    *,
    refused: Sequence[FieldError] = (),
) -> tuple[Placement, Candidate]:
    employer_id = data.employer_id or attribution.organisation_id
    errors = await _check(
        session,
        attribution,
        employer_id=employer_id,
        modality=data.modality,
        rome_code=data.rome_code,
        start_date=data.start_date,
        end_date=data.end_date,
    )
    # A person the facilitator does not follow is unknown to it (no existence leak).
    candidate = await session.scalar(
        select(Candidate).where(
            col(Candidate.id) == data.candidate_id, candidates_policy.visible(principal)
        )
    )
    if candidate is None or candidate.status is CandidateStatus.ANONYMISED:
        errors.append(_error("candidate_id", "candidat inconnu", "unknown"))
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    assert candidate is not None
    placement = Placement(
        attribution_id=attribution.id,
        employer_id=employer_id,
        status=PlacementStatus.DRAFT,
        **data.model_dump(exclude={"employer_id"}),
    )
    session.add(placement)
    await session.flush()
    return placement, candidate


async def update(
    session: AsyncSession,
    placement: Placement,
    data: PlacementUpdate,
    *,
    refused: Sequence[FieldError] = (),
) -> None:
    sent = {name: getattr(data, name) for name in data.model_fields_set}
    frozen = sorted(FROZEN_FIELDS & sent.keys())
    if placement.status is not PlacementStatus.DRAFT and frozen:
        raise PlacementStarted(
            "Cette mise en emploi a démarré : " + ", ".join(frozen) + " ne changent plus."
        )
    attribution = await session.get(Attribution, placement.attribution_id, populate_existing=True)
    assert attribution is not None
    errors = await _check(
        session,
        attribution,
        employer_id=sent.get("employer_id", placement.employer_id),
        modality=Modality(sent.get("modality", placement.modality)),
        rome_code=sent.get("rome_code"),
        start_date=sent.get("start_date", placement.start_date),
        end_date=sent.get("end_date", placement.end_date),
    )
    errors = merge_errors(refused, errors)
    if errors:
        raise ValidationFailed(errors)
    for name, value in sent.items():
        setattr(placement, name, value)
    await session.flush()


async def start(session: AsyncSession, placement: Placement, at: datetime) -> Candidate:
    if placement.status is not PlacementStatus.DRAFT:
        raise PlacementStarted("Cette mise en emploi a déjà démarré.")
    candidate = await session.get(Candidate, placement.candidate_id, populate_existing=True)
    assert candidate is not None
    await freeze(session, placement, candidate, at)
    await session.flush()
    return candidate


async def accept_exception(
    session: AsyncSession, principal: Principal, placement: Placement, reason: str, at: datetime
) -> None:
    if not placement.eligibility_flagged:
        raise PlacementNotFlagged()
    placement.exception_reason = reason
    placement.exception_by_user_id = principal.id if principal.kind == "user" else None
    placement.exception_at = at
    await session.flush()


async def candidates_of(
    session: AsyncSession, placements: Iterable[Placement]
) -> dict[uuid.UUID, Candidate]:
    ids = sorted({p.candidate_id for p in placements})
    if not ids:
        return {}
    rows = await session.scalars(select(Candidate).where(col(Candidate.id).in_(ids)))
    return {c.id: c for c in rows}


def search(
    query: Select[Placement],
    *,
    attribution_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
    candidate_id: uuid.UUID | None = None,
    status: PlacementStatus | None = None,
) -> Select[Placement]:
    if attribution_id is not None:
        query = query.where(col(Placement.attribution_id) == attribution_id)
    if contract_id is not None:
        query = query.where(
            col(Placement.attribution_id).in_(
                select(col(Attribution.id)).where(col(Attribution.contract_id) == contract_id)
            )
        )
    if candidate_id is not None:
        query = query.where(col(Placement.candidate_id) == candidate_id)
    if status is not None:
        query = query.where(col(Placement.status) == status)
    return query.order_by(col(Placement.id))
