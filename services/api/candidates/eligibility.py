"""A candidate's eligibility criteria (product.md §4.5): listed, validated and withdrawn by a
facilitator or an administrator. Sensitive criteria (RQTH, judicial situation) need the
``sensitive_data`` permission to be seen or validated; the QPV criterion follows the recorded
residence. Every change is audited and announced (``candidate.updated``)."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.schemas import EligibilityCreate
from services.api.candidates.service import CandidateAnonymised
from services.api.errors import Conflict, Forbidden
from services.core import audit
from services.core.clock import now
from services.core.events import CandidateUpdated, emit
from services.core.models.candidate import Candidate, CandidateStatus, QpvStatus
from services.core.models.eligibility import SENSITIVE_KINDS, EligibilityCriterion, EligibilityKind
from services.core.models.user import Permission
from services.core.security.principal import Principal


class QpvNotEstablished(Conflict):
    code = "qpv-not-established"
    title = "Résidence en QPV non établie"
    default_detail = (
        "Le critère « habitant d'un QPV » suit la résidence enregistrée : elle doit d'abord être "
        "établie (statut QPV « in_qpv »)."
    )


class SensitiveDataForbidden(Forbidden):
    code = "sensitive-data-forbidden"
    title = "Donnée sensible"
    default_detail = "Ce critère est une donnée sensible : la permission « sensitive_data » manque."


def criteria_query(candidate_id: uuid.UUID, principal: Principal) -> Select[EligibilityCriterion]:
    """The candidate's criteria the caller may see: sensitive ones need the permission."""
    query = select(EligibilityCriterion).where(
        col(EligibilityCriterion.candidate_id) == candidate_id
    )
    if not principal.has(Permission.SENSITIVE_DATA):
        query = query.where(col(EligibilityCriterion.sensitive).is_(False))
    return query.order_by(col(EligibilityCriterion.created_at), col(EligibilityCriterion.id))


async def add_criterion(
    session: AsyncSession,
    candidate: Candidate,
    data: EligibilityCreate,
    principal: Principal,
    *,
    request_id: str,
) -> EligibilityCriterion:
    if candidate.status is CandidateStatus.ANONYMISED:
        raise CandidateAnonymised()
    sensitive = data.sensitive or data.kind in SENSITIVE_KINDS
    if sensitive and not principal.has(Permission.SENSITIVE_DATA):
        raise SensitiveDataForbidden()
    if data.kind is EligibilityKind.QPV_RESIDENT and candidate.qpv_status is not QpvStatus.IN_QPV:
        raise QpvNotEstablished()
    criterion = EligibilityCriterion(
        candidate_id=candidate.id,
        kind=data.kind,
        sensitive=sensitive,
        validated_on=data.validated_on or now().date(),
        validated_by_user_id=principal.id if principal.kind == "user" else None,
        expires_on=data.expires_on,
        comment=data.comment,
    )
    session.add(criterion)
    candidate.last_activity_at = now()
    await session.flush()
    await session.refresh(criterion)
    audit.record(
        session,
        principal,
        "create",
        "eligibility_criterion",
        criterion.id,
        request_id=request_id,
        details={"candidate_id": str(candidate.id), "fields": sorted(data.model_fields_set)},
    )
    emit(session, CandidateUpdated(candidate_id=candidate.id), request_id=request_id)
    return criterion


async def remove_criterion(
    session: AsyncSession,
    candidate: Candidate,
    criterion: EligibilityCriterion,
    principal: Principal,
    *,
    request_id: str,
) -> None:
    await session.delete(criterion)
    audit.record(
        session,
        principal,
        "delete",
        "eligibility_criterion",
        criterion.id,
        request_id=request_id,
        details={"candidate_id": str(candidate.id)},
    )
    emit(session, CandidateUpdated(candidate_id=candidate.id), request_id=request_id)
