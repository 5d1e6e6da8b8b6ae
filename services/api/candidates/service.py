"""Creating, finding again, changing and searching candidates.

A person is found again by normalised phone or e-mail among the candidates already shared with the
caller's organisations (decision 0044): creating someone the caller's side already holds links the
existing candidate to the caller's organisation (a share) and creates nothing; a phone or an e-mail
held only by another organisation finds nothing, and the answer is the one for somebody new.
Contact keys are locked for the transaction, with the same keys as intakes, so that two requests
never both create the same person. Changes are audited by field name, never by value.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    Text,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.candidates.policy import found_among
from services.api.candidates.references import check
from services.api.candidates.schemas import (
    CandidateCreate,
    CandidateUpdate,
    _CandidateFields,
)
from services.api.errors import Conflict, ValidationFailed
from services.api.patch import sent
from services.api.validation import FieldError
from services.core import audit
from services.core.clock import now
from services.core.contact import InvalidContact, normalise_email, normalise_phone
from services.core.events import CandidateCreated, CandidateUpdated, emit
from services.core.geo.communes import normalise_name
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import CoordinatesOutsideFrance, decide_qpv_residence
from services.core.geocoding.queue import queue_geocoding, store_residence
from services.core.models.candidate import (
    Candidate,
    CandidateShare,
    CandidateStatus,
    QpvMethod,
    QpvStatus,
    ShareReason,
)
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.referentials.sectors import SectorCode
from services.core.security.principal import Principal

# Where the person lives: a change decides the QPV residence again.
_RESIDENCE = frozenset(
    {"commune_insee", "address", "lon", "lat", "qpv_declared", "qpv_declared_code"}
)


class CandidateAnonymised(Conflict):
    code = "candidate-anonymised"
    title = "Candidat anonymisé"
    default_detail = "Ce candidat a été anonymisé : il ne peut plus être modifié."


def search_name(first_name: str | None, last_name: str | None) -> str | None:
    """``"last first"`` in lower case without accents, as searched and compared for duplicates."""
    name = " ".join(part for part in (last_name, first_name) if part)
    return normalise_name(name) or None


# -- finding ---------------------------------------------------------------------------------


def filtered(
    query: Select[Candidate],
    *,
    status: CandidateStatus | None = None,
    commune_insee: str | None = None,
    sector: SectorCode | None = None,
    qpv_status: QpvStatus | None = None,
) -> Select[Candidate]:
    if status is not None:
        query = query.where(col(Candidate.status) == status)
    else:
        # An erased person is a row of statistics, not somebody to work with: asked for only.
        query = query.where(col(Candidate.status) != CandidateStatus.ANONYMISED)
    if commune_insee is not None:
        query = query.where(col(Candidate.commune_insee) == commune_insee)
    if sector is not None:
        query = query.where(
            or_(
                col(Candidate.sectors_wanted).contains([sector]),
                col(Candidate.sectors_worked).contains([sector]),
            )
        )
    if qpv_status is not None:
        query = query.where(col(Candidate.qpv_status) == qpv_status)
    return query.order_by(col(Candidate.created_at).desc(), col(Candidate.id).desc())


def matching(q: str) -> ColumnElement[bool]:
    """A phone number or an e-mail address, normalised, exactly (its own index, nothing
    else); otherwise names by word prefix (accents and case ignored)."""
    if "@" in q:
        with contextlib.suppress(InvalidContact):
            return col(Candidate.email) == normalise_email(q)
    elif any(c.isdigit() for c in q) and not any(c.isalpha() for c in q):
        # Letters make it a name ("matrice3"), never a vanity number read on a keypad.
        with contextlib.suppress(InvalidContact):
            return col(Candidate.phone_e164) == normalise_phone(q)
    # Letters, digits and single spaces: nothing for the query parser to read but words. Every
    # word must start a word of the name, in any order ("jean dup" finds "Dupont Jean").
    words = normalise_name(q).split()
    if not words:
        return col(Candidate.id).is_(None)
    query = " & ".join(f"{word}:*" for word in words)
    return col(Candidate.search_vector).bool_op("@@")(
        func.to_tsquery(literal_column("'simple'::regconfig"), query)
    )


async def lock_contacts(session: AsyncSession, keys: Iterable[str]) -> None:
    """Transaction-scoped advisory locks on contact keys (``phone:+336…``, ``email:…``), in a
    fixed order; the same keys as the intakes take."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    statement = text(
        "SELECT count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0))) "
        "FROM (SELECT k FROM unnest(:keys) AS k ORDER BY k) AS ordered"
    ).bindparams(bindparam("keys", type_=ARRAY(Text())))
    await session.execute(statement, {"keys": ordered})


async def find_person(
    session: AsyncSession,
    phone: str | None,
    email: str | None,
    organisations: Iterable[uuid.UUID],
) -> Candidate | None:
    """The live candidate shared with one of ``organisations`` with this phone number or else
    this e-mail address (the oldest when several share one, until a human merges them) — as
    intakes find people (decisions 0014, 0044). Somebody held only elsewhere is not found: a
    phone or an e-mail must not open another organisation's record."""
    keys = [f"phone:{phone}"] if phone else []
    keys += [f"email:{email}"] if email else []
    await lock_contacts(session, keys)
    ours = select(col(CandidateShare.candidate_id)).where(
        col(CandidateShare.organisation_id).in_(sorted(set(organisations)))
    )
    for column, value in ((Candidate.phone_e164, phone), (Candidate.email, email)):
        if value is None:
            continue
        found = await session.scalar(
            select(Candidate)
            .where(
                col(column) == value,
                col(Candidate.anonymised_at).is_(None),
                col(Candidate.merged_into_id).is_(None),
                col(Candidate.id).in_(ours),
            )
            .order_by(col(Candidate.created_at), col(Candidate.id))
            .limit(1)
        )
        if found is not None:
            return found
    return None


async def share(
    session: AsyncSession, candidate_id: uuid.UUID, organisation_id: uuid.UUID, reason: ShareReason
) -> bool:
    """Make the candidate visible to the organisation; whether a share was added."""
    exists = await session.get(CandidateShare, (candidate_id, organisation_id))
    if exists is not None:
        return False
    session.add(
        CandidateShare(candidate_id=candidate_id, organisation_id=organisation_id, reason=reason)
    )
    return True


def _columns(data: _CandidateFields, names: Iterable[str]) -> dict[str, Any]:
    """Schema fields → columns (``phone`` is stored as ``phone_e164``)."""
    columns: dict[str, Any] = {}
    for name in names:
        value = getattr(data, name)
        columns["phone_e164" if name == "phone" else name] = value
    return columns


def place(candidate: Candidate, qpv: QpvIndex | None) -> None:
    """Decide the QPV residence from the coordinates or the commune (decision 0013): stored, not
    recomputed silently. Without QPV polygons loaded it is ``unknown``. This endpoint geocodes no
    address: an address alone leaves the decision to the commune."""
    if qpv is None:
        candidate.qpv_status, candidate.qpv_method = QpvStatus.UNKNOWN, None
        candidate.qpv_code = candidate.qpv_polygon_version = candidate.qpv_checked_at = None
        candidate.geocoding_score, candidate.qpv_near_boundary = None, False
        return
    coordinates = None
    if candidate.lon is not None and candidate.lat is not None:
        coordinates = (candidate.lon, candidate.lat)
    try:
        residence = decide_qpv_residence(
            qpv,
            coordinates=coordinates,
            commune_insee=candidate.commune_insee,
            declared=candidate.qpv_declared is True,
        )
    except CoordinatesOutsideFrance as error:
        raise ValidationFailed(
            [FieldError(loc=["body", "lon"], message=str(error), type=error.code)]
        ) from None
    store_residence(candidate, residence)


# -- writing ---------------------------------------------------------------------------------


async def create_candidate(
    session: AsyncSession,
    data: CandidateCreate,
    principal: Principal,
    qpv: QpvIndex | None,
    *,
    request_id: str,
    refused: Sequence[FieldError] = (),
) -> tuple[Candidate, bool]:
    """The candidate, and whether it already existed (found again by phone or e-mail).

    ``refused``: the errors of the request's fields ``data`` goes without, reported with those
    of the references (nothing is written then)."""
    values = _columns(data, data.model_fields_set | {"first_name", "last_name"})
    await check(session, values, refused)
    existing = await find_person(session, data.phone, data.email, found_among(principal))
    if existing is not None:
        await _link(session, existing, values, principal, qpv, request_id=request_id)
        return existing, True
    candidate = Candidate(**values, last_activity_at=now())
    candidate.search_name = search_name(candidate.first_name, candidate.last_name)
    place(candidate, qpv)
    queue_geocoding(candidate)
    session.add(candidate)
    await session.flush()
    await share(session, candidate.id, principal.organisation_id, ShareReason.CREATED)
    audit.record(
        session,
        principal,
        "create",
        "candidate",
        candidate.id,
        request_id=request_id,
        details={"fields": sorted(values)},
    )
    emit(session, CandidateCreated(candidate_id=candidate.id), request_id=request_id)
    await session.flush()
    await session.refresh(candidate)
    return candidate, False


async def _link(
    session: AsyncSession,
    candidate: Candidate,
    values: dict[str, Any],
    principal: Principal,
    qpv: QpvIndex | None,
    *,
    request_id: str,
) -> None:
    """A known person created again: shared with the caller; blanks filled, lists completed,
    nothing the candidate already has overwritten."""
    if await share(session, candidate.id, principal.organisation_id, ShareReason.CREATED):
        audit.record(
            session,
            principal,
            "share",
            "candidate",
            candidate.id,
            request_id=request_id,
            details={"organisation_id": str(principal.organisation_id)},
        )
    changed: list[str] = []
    for name, value in values.items():
        stored = getattr(candidate, name)
        if isinstance(stored, list):
            merged = [*stored, *(item for item in value or [] if item not in stored)]
            if merged != stored:
                setattr(candidate, name, merged)
                changed.append(name)
        elif stored is None and value is not None:
            setattr(candidate, name, value)
            changed.append(name)
    candidate.last_activity_at = now()
    if changed:
        await _changed(session, candidate, changed, principal, qpv, request_id=request_id)
    await session.flush()
    await session.refresh(candidate)


async def _changed(
    session: AsyncSession,
    candidate: Candidate,
    changed: list[str],
    principal: Principal,
    qpv: QpvIndex | None,
    *,
    request_id: str,
) -> None:
    if {"first_name", "last_name"} & set(changed):
        candidate.search_name = search_name(candidate.first_name, candidate.last_name)
    details: dict[str, Any] = {"fields": sorted(changed)}
    if _RESIDENCE & set(changed):
        if candidate.qpv_method is QpvMethod.GEOCODED_ADDRESS and not {"lon", "lat"} & set(changed):
            # The point came from the former address: not the person's any more.
            candidate.lon = candidate.lat = None
        place(candidate, qpv)
        queue_geocoding(candidate)
        if candidate.qpv_status is not QpvStatus.IN_QPV:
            # The QPV criterion follows the stored residence (product.md §4.5).
            withdrawn = await session.scalars(
                delete(EligibilityCriterion)
                .where(
                    col(EligibilityCriterion.candidate_id) == candidate.id,
                    col(EligibilityCriterion.kind) == EligibilityKind.QPV_RESIDENT,
                )
                .returning(col(EligibilityCriterion.id))
            )
            if ids := [str(criterion_id) for criterion_id in withdrawn]:
                details["withdrawn_criteria"] = ids
    audit.record(
        session,
        principal,
        "update",
        "candidate",
        candidate.id,
        request_id=request_id,
        details=details,
    )
    emit(session, CandidateUpdated(candidate_id=candidate.id), request_id=request_id)


async def update_candidate(
    session: AsyncSession,
    candidate: Candidate,
    data: CandidateUpdate,
    principal: Principal,
    qpv: QpvIndex | None,
    *,
    request_id: str,
    refused: Sequence[FieldError] = (),
) -> list[str]:
    """Apply the fields sent; the names of those that changed (``refused``: as for
    :func:`create_candidate`)."""
    if candidate.status is CandidateStatus.ANONYMISED:
        raise CandidateAnonymised()
    values = _columns(data, sent(data))
    await check(session, values, refused)
    changes = {name: value for name, value in values.items() if getattr(candidate, name) != value}
    if not changes:
        return []
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.last_activity_at = now()
    await _changed(session, candidate, sorted(changes), principal, qpv, request_id=request_id)
    await session.flush()
    await session.refresh(candidate)
    return sorted(changes)
