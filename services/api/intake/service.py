"""Recording intakes: one form, or a week's box of them (decision 0014).

Each form is checked on its own (syntax, dates, commune, phone and e-mail), then recorded: the
person is found again by normalised phone or e-mail — among the stored candidates and the forms
of the same batch — or created; the intake keeps the answers as keyed, the consent and who
entered it; ``intake.received`` and ``candidate.created|updated`` go to the outbox in the same
transaction. A batch checks every form first (an invalid one is reported and never written), then
writes the valid ones in one SAVEPOINT and one flush; should the database refuse anything, that
savepoint is rolled back and the forms are written again one by one, each in its own SAVEPOINT, so
a form that fails leaves nothing behind while the others are stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text
from sqlmodel import col

from services.api.errors import ValidationFailed
from services.api.intake.schemas import (
    BatchForm,
    BatchItemResult,
    BorneForm,
    IntakeOutcome,
)
from services.api.validation import FieldError, french_errors
from services.core import audit
from services.core.clock import PARIS, now
from services.core.contact import InvalidContact, normalise_email, normalise_phone
from services.core.events import CandidateCreated, CandidateUpdated, IntakeReceived, emit
from services.core.geo.communes import normalise_name
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import decide_qpv_residence
from services.core.geocoding.queue import store_residence
from services.core.ids import uuid7
from services.core.models.candidate import (
    Candidate,
    CandidateShare,
    QpvMethod,
    ShareReason,
)
from services.core.models.geo import Commune
from services.core.models.intake import Intake, IntakeSource
from services.core.models.organisation import Organisation
from services.core.security.principal import Principal

EMPTY_FORM = (
    "le formulaire doit indiquer au moins le nom, le prénom, le téléphone portable ou l'e-mail"
)
STORAGE_FAILED = "le formulaire n'a pas pu être enregistré ; renvoyez-le seul"


def today() -> date:
    return now().astimezone(PARIS).date()


@dataclass(frozen=True)
class Collection:
    """What the forms of one request share: who keys them in, where and when they were found."""

    principal: Principal
    source: IntakeSource
    place_organisation_id: uuid.UUID
    collected_on: date
    request_id: str | None
    batch_id: uuid.UUID | None = None
    # The QPV polygons, when imported: a commune keyed on the form may settle QPV residence.
    qpv: QpvIndex | None = None


@dataclass(frozen=True)
class Checked:
    """A form that passed every check, with its normalised contact details."""

    form: BorneForm
    deposit_date: date
    phone: str | None
    email: str | None

    def contact_keys(self) -> list[str]:
        """How the person is found again: ``phone:+336…``, ``email:…``."""
        keys = []
        if self.phone:
            keys.append(f"phone:{self.phone}")
        if self.email:
            keys.append(f"email:{self.email}")
        return keys


@dataclass
class Recorded:
    outcome: IntakeOutcome
    intake: Intake
    candidate: Candidate


@dataclass
class _People:
    """Candidates found by contact key, and the organisations they are already shared with."""

    by_key: dict[str, Candidate] = field(default_factory=dict)
    shares: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)

    def find(self, checked: Checked) -> Candidate | None:
        for key in checked.contact_keys():  # the phone first
            candidate = self.by_key.get(key)
            if candidate is not None:
                return candidate
        return None

    def remember(self, checked: Checked, candidate: Candidate) -> None:
        for key in checked.contact_keys():
            self.by_key.setdefault(key, candidate)


def _error(loc: Sequence[str | int], message: str, kind: str = "invalid") -> FieldError:
    return FieldError(loc=list(loc), message=message, type=kind)


# -- the collection -------------------------------------------------------------------------


async def collection(
    session: AsyncSession,
    principal: Principal,
    *,
    source: IntakeSource,
    place_organisation_id: uuid.UUID | None,
    collected_on: date | None,
    request_id: str | None,
    qpv: QpvIndex | None = None,
    batch: bool = False,
    loc: Sequence[str | int] = ("body",),
) -> Collection:
    """Check the place (an active organisation of the caller's territory) and collection date."""
    errors: list[FieldError] = []
    place_id = place_organisation_id or principal.organisation_id
    active = await session.scalar(
        select(col(Organisation.is_active)).where(col(Organisation.id) == place_id)
    )
    if not active or not principal.sees(place_id):
        errors.append(
            _error(
                [*loc, "place_organisation_id"],
                "lieu de dépôt inconnu, désactivé ou hors de votre périmètre",
                "unknown",
            )
        )
    day = collected_on or today()
    if day > today():
        errors.append(_error([*loc, "collected_on"], "la date du relevé ne peut pas être future"))
    if errors:
        raise ValidationFailed(errors)
    return Collection(
        principal=principal,
        source=source,
        place_organisation_id=place_id,
        collected_on=day,
        request_id=request_id,
        batch_id=uuid7() if batch else None,
        qpv=qpv,
    )


# -- checking forms -------------------------------------------------------------------------


async def known_communes(session: AsyncSession, forms: Iterable[BorneForm]) -> set[str]:
    codes = {form.commune_insee for form in forms if form.commune_insee}
    if not codes:
        return set()
    rows = await session.scalars(select(col(Commune.insee)).where(col(Commune.insee).in_(codes)))
    return set(rows)


def check(
    form: BorneForm,
    deposit_date: date | None,
    where: Collection,
    communes: set[str],
    *,
    loc: Sequence[str | int] = (),
    has_files: bool = False,
) -> Checked | list[FieldError]:
    """The form ready to record, or every problem found in it (messages without values).

    A form that names nobody is accepted only with a file (a CV left alone).
    """
    errors = form.form_errors(list(loc))
    if not form.identifies() and not has_files:
        errors.append(_error(list(loc), EMPTY_FORM, "empty_form"))
    deposit = deposit_date or where.collected_on
    if deposit > where.collected_on:
        errors.append(
            _error([*loc, "deposit_date"], "la date de dépôt ne peut pas suivre la date du relevé")
        )
    if form.commune_insee is not None and form.commune_insee not in communes:
        errors.append(_error([*loc, "commune_insee"], "commune inconnue", "unknown"))
    phone = email = None
    if form.mobile_phone is not None:
        try:
            phone = normalise_phone(form.mobile_phone)
        except InvalidContact as exc:
            errors.append(_error([*loc, "mobile_phone"], str(exc)))
    if form.email is not None:
        try:
            email = normalise_email(form.email)
        except InvalidContact as exc:
            errors.append(_error([*loc, "email"], str(exc)))
    if errors:
        return errors
    return Checked(form=form, deposit_date=deposit, phone=phone, email=email)


def parse_batch_form(raw: Any) -> BatchForm | list[FieldError]:
    try:
        return BatchForm.model_validate(raw)
    except ValidationError as exc:
        return french_errors(exc.errors())


# -- finding people again -------------------------------------------------------------------


async def _lock(session: AsyncSession, keys: Iterable[str]) -> None:
    """Serialise the intakes of one person: two requests never both create them.

    Transaction-scoped advisory locks on each contact key, taken in a fixed order (no deadlock).
    """
    ordered = sorted(set(keys))
    if not ordered:
        return
    statement = text(
        "SELECT count(pg_advisory_xact_lock(hashtextextended('maillon:contact:' || k, 0))) "
        "FROM (SELECT k FROM unnest(:keys) AS k ORDER BY k) AS ordered"
    ).bindparams(bindparam("keys", type_=ARRAY(Text())))
    await session.execute(statement, {"keys": ordered})


def _match(phones: set[str], emails: set[str]) -> Select[Candidate]:
    conditions = []
    if phones:
        conditions.append(col(Candidate.phone_e164).in_(phones))
    if emails:
        conditions.append(col(Candidate.email).in_(emails))
    return (
        select(Candidate)
        .where(
            or_(*conditions),
            col(Candidate.anonymised_at).is_(None),
            col(Candidate.merged_into_id).is_(None),
        )
        # The oldest record wins when two share a number (until a human merges them).
        .order_by(col(Candidate.created_at), col(Candidate.id))
    )


async def _people(
    session: AsyncSession, checked: Sequence[Checked], *, reload: bool = False
) -> _People:
    """The stored candidates the forms name, by contact key (locked against concurrent intakes).

    ``reload``: after a rolled-back savepoint, read the rows again over the expired objects.
    """
    phones = {c.phone for c in checked if c.phone}
    emails = {c.email for c in checked if c.email}
    people = _People()
    if not phones and not emails:
        return people
    await _lock(session, (key for c in checked for key in c.contact_keys()))
    query = _match(phones, emails)
    if reload:
        query = query.execution_options(populate_existing=True)
    for candidate in (await session.scalars(query)).all():
        if candidate.phone_e164:
            people.by_key.setdefault(f"phone:{candidate.phone_e164}", candidate)
        if candidate.email:
            people.by_key.setdefault(f"email:{candidate.email}", candidate)
    ids = {candidate.id for candidate in people.by_key.values()}
    if ids:
        rows = await session.execute(
            select(col(CandidateShare.candidate_id), col(CandidateShare.organisation_id)).where(
                col(CandidateShare.candidate_id).in_(ids)
            )
        )
        people.shares = {(row[0], row[1]) for row in rows}
    return people


# -- recording ------------------------------------------------------------------------------


def _search_name(candidate: Candidate) -> str | None:
    name = " ".join(part for part in (candidate.last_name, candidate.first_name) if part)
    return normalise_name(name) or None


def _new_candidate(checked: Checked) -> Candidate:
    form = checked.form
    moment = now()
    # Every defaulted column given explicitly: pydantic inspects a default factory's signature on
    # each call, which is most of the cost of building a row in a 500-form batch.
    candidate = Candidate(
        id=uuid7(),
        created_at=moment,
        updated_at=moment,
        last_activity_at=moment,
        rome_wishes=[],
        first_name=form.first_name,
        last_name=form.last_name,
        phone_e164=checked.phone,
        email=checked.email,
        commune_insee=form.commune_insee,
        sectors_worked=list(form.sectors_worked),
        sectors_worked_other=form.sectors_worked_other,
        sectors_wanted=list(form.sectors_wanted),
        sectors_wanted_other=form.sectors_wanted_other,
        needs=list(form.needs),
    )
    candidate.search_name = _search_name(candidate)
    return candidate


def _union(stored: list[Any], given: list[Any]) -> list[Any]:
    return [*stored, *(value for value in given if value not in stored)]


def _complete(candidate: Candidate, checked: Checked) -> set[str]:
    """Lay a new form over a known person: blanks filled, boxes added, nothing overwritten.

    Returns the columns that changed. What the person wrote differently stays in the intake's
    answers, for a human to compare.
    """
    form = checked.form
    changed: set[str] = set()
    blanks = {
        "first_name": form.first_name,
        "last_name": form.last_name,
        "phone_e164": checked.phone,
        "email": checked.email,
        "commune_insee": form.commune_insee,
        "sectors_worked_other": form.sectors_worked_other,
        "sectors_wanted_other": form.sectors_wanted_other,
    }
    for name, value in blanks.items():
        if value is not None and getattr(candidate, name) is None:
            setattr(candidate, name, value)
            changed.add(name)
    for name in ("sectors_worked", "sectors_wanted", "needs"):
        stored = list(getattr(candidate, name))
        merged = _union(stored, list(getattr(form, name)))
        if merged != stored:
            setattr(candidate, name, merged)  # a new list: ARRAY changes are seen on assignment
            changed.add(name)
    if changed & {"first_name", "last_name"}:
        candidate.search_name = _search_name(candidate)
    candidate.last_activity_at = now()
    return changed


def _settle_residence(candidate: Candidate, qpv: QpvIndex | None) -> None:
    """QPV residence from the commune alone (product.md §4.4): ``outside_qpv`` in a commune
    without any QPV, ``unknown`` in one that hosts some. A status found from a point
    (coordinates, geocoded address) is never replaced by a commune."""
    if qpv is None or len(qpv) == 0 or candidate.commune_insee is None:
        return
    if candidate.qpv_method in (QpvMethod.COORDINATES, QpvMethod.GEOCODED_ADDRESS):
        return
    residence = decide_qpv_residence(qpv, commune_insee=candidate.commune_insee)
    store_residence(candidate, residence)


def _write(session: AsyncSession, where: Collection, checked: Checked, people: _People) -> Recorded:
    """Add the rows and events of one form to the session (the caller flushes)."""
    principal = where.principal
    organisation_id = principal.organisation_id
    candidate = people.find(checked)
    if candidate is None:
        candidate = _new_candidate(checked)
        _settle_residence(candidate, where.qpv)
        session.add(candidate)
        session.add(
            CandidateShare(
                candidate_id=candidate.id,
                organisation_id=organisation_id,
                reason=ShareReason.CREATED,
                created_at=candidate.created_at,
            )
        )
        outcome = IntakeOutcome.CREATED
        emit(session, CandidateCreated(candidate_id=candidate.id), request_id=where.request_id)
    else:
        if (candidate.id, organisation_id) not in people.shares:
            # Visible to the organisation that received the new intake from now on.
            session.add(
                CandidateShare(
                    candidate_id=candidate.id,
                    organisation_id=organisation_id,
                    reason=ShareReason.INTAKE,
                    created_at=now(),
                )
            )
        outcome = IntakeOutcome.LINKED
        changed = _complete(candidate, checked)
        if "commune_insee" in changed:
            _settle_residence(candidate, where.qpv)
        if changed:
            emit(session, CandidateUpdated(candidate_id=candidate.id), request_id=where.request_id)
    form = checked.form
    moment = now()
    intake = Intake(
        id=uuid7(),
        created_at=moment,
        updated_at=moment,
        candidate_id=candidate.id,
        organisation_id=organisation_id,
        source=where.source,
        place_organisation_id=where.place_organisation_id,
        deposit_date=checked.deposit_date,
        collected_on=where.collected_on,
        batch_id=where.batch_id,
        answers=form.raw_answers(),
        consent_given=form.consent,
        consent_text_version=form.consent_text_version,
        consent_at=moment if form.consent else None,
        entered_by_user_id=principal.id if principal.kind == "user" else None,
        entered_by_api_key_id=principal.id if principal.kind == "api_key" else None,
    )
    session.add(intake)
    emit(
        session,
        IntakeReceived(intake_id=intake.id, candidate_id=candidate.id),
        request_id=where.request_id,
    )
    audit.record(
        session,
        principal,
        "create",
        "intake",
        intake.id,
        request_id=where.request_id,
        details={"candidate_id": str(candidate.id), "outcome": outcome.value},
    )
    return Recorded(outcome=outcome, intake=intake, candidate=candidate)


def _write_and_remember(
    session: AsyncSession, where: Collection, checked: Checked, people: _People
) -> Recorded:
    recorded = _write(session, where, checked, people)
    people.remember(checked, recorded.candidate)
    people.shares.add((recorded.candidate.id, where.principal.organisation_id))
    return recorded


async def _write_alone(
    session: AsyncSession, where: Collection, checked: Checked, people: _People
) -> Recorded | None:
    """One form in its own savepoint: ``None`` if the database refused it (nothing remains)."""
    try:
        async with session.begin_nested():
            recorded = _write(session, where, checked, people)
    except DBAPIError:
        return None
    people.remember(checked, recorded.candidate)
    people.shares.add((recorded.candidate.id, where.principal.organisation_id))
    return recorded


async def record_one(session: AsyncSession, where: Collection, checked: Checked) -> Recorded:
    people = await _people(session, [checked])
    recorded = _write(session, where, checked, people)
    await session.flush()
    return recorded


async def record_batch(
    session: AsyncSession, where: Collection, raw_forms: Sequence[Any]
) -> list[BatchItemResult]:
    """Every form of the box, each with its result; invalid forms leave nothing behind."""
    results: dict[int, BatchItemResult] = {}
    parsed: list[tuple[int, BatchForm]] = []
    for index, raw in enumerate(raw_forms):
        form = parse_batch_form(raw)
        if isinstance(form, list):
            results[index] = BatchItemResult(index=index, status=IntakeOutcome.INVALID, errors=form)
        else:
            parsed.append((index, form))

    communes = await known_communes(session, (form for _, form in parsed))
    ready: list[tuple[int, Checked]] = []
    for index, form in parsed:
        checked = check(form.form(), form.deposit_date, where, communes)
        if isinstance(checked, list):
            results[index] = BatchItemResult(
                index=index, status=IntakeOutcome.INVALID, errors=checked
            )
        else:
            ready.append((index, checked))

    checked_forms = [checked for _, checked in ready]
    people = await _people(session, checked_forms)
    try:
        # The fast path: every valid form in one savepoint, written in one flush.
        async with session.begin_nested():
            recorded = [_write_and_remember(session, where, c, people) for c in checked_forms]
    except DBAPIError:
        # The database refused something: start again form by form, each in its own savepoint,
        # so that only the failing forms are left out.
        people = await _people(session, checked_forms, reload=True)
        recorded = None
    for position, (index, checked) in enumerate(ready):
        if recorded is not None:
            one: Recorded | None = recorded[position]
        else:
            one = await _write_alone(session, where, checked, people)
        if one is None:
            results[index] = BatchItemResult(
                index=index,
                status=IntakeOutcome.INVALID,
                errors=[_error([], STORAGE_FAILED, "storage_failed")],
            )
        else:
            results[index] = BatchItemResult(
                index=index,
                status=one.outcome,
                intake_id=one.intake.id,
                candidate_id=one.candidate.id,
            )
    return [results[index] for index in range(len(raw_forms))]
