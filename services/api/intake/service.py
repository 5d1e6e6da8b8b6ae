"""Recording intakes: one form, or a week's box of them (decision 0014).

Each form is checked on its own (syntax, dates, commune, phone and e-mail), then recorded: the
person is found again by normalised phone or e-mail — among the stored candidates and the forms
of the same batch — or created; the intake keeps the answers as keyed, the consent and who
entered it; ``intake.received`` and ``candidate.created|updated`` go to the outbox in the same
transaction. Only the people already shared with the caller's organisations are found again
(decision 0044): a form naming somebody another organisation holds creates the caller's own
record, with the answer given for somebody new. People are found and laid over exactly as the
bulk import does (one code: :mod:`services.api.candidates.bulk.writer`), and everything a request
records is written in one statement (decision 0028). A batch checks every form first (an invalid
one is reported and never written), then writes the valid ones in one SAVEPOINT; should the
database refuse anything, that savepoint is rolled back and the forms are written again one by
one, each in its own SAVEPOINT, so a form that fails leaves nothing behind while the others are
stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.cache import organisations_active
from services.api.candidates.bulk.people import resolve
from services.api.candidates.bulk.rows import ValidRow
from services.api.candidates.bulk.writer import (
    Driver,
    Found,
    SessionDriver,
    Writes,
    audit_row,
    event_row,
    find_people,
    insert_new_person,
    insert_writes,
    plan_people,
)
from services.api.candidates.policy import found_among
from services.api.candidates.schemas import CandidateCreate
from services.api.errors import ValidationFailed
from services.api.intake.schemas import (
    BatchForm,
    BatchItemResult,
    BorneForm,
    IntakeOutcome,
)
from services.api.validation import FieldError, merge_errors, validate_partly
from services.core.clock import PARIS, now
from services.core.contact import InvalidContact, normalise_email, normalise_mobile
from services.core.events import IntakeReceived
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import CoordinatesOutsideFrance
from services.core.ids import uuid7
from services.core.models.candidate import ShareReason
from services.core.models.intake import IntakeSource
from services.core.models.organisation import Organisation
from services.core.security.principal import Principal

EMPTY_FORM = (
    "le formulaire doit indiquer au moins le nom, le prénom, le téléphone portable ou l'e-mail"
)
UNKNOWN_QPV = "quartier prioritaire inconnu (code QPV 2024 attendu, ex. QN07511M)"
STORAGE_FAILED = "le formulaire n'a pas pu être enregistré ; renvoyez-le seul"
# What the database raises when it refuses a form (through SQLAlchemy, or asyncpg directly).
REFUSED = (DBAPIError, asyncpg.PostgresError)


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
    # The INSEE codes of the imported communes.
    communes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Checked:
    """A form that passed every check, with its normalised contact details."""

    form: BorneForm
    deposit_date: date
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class Recorded:
    outcome: IntakeOutcome
    intake_id: uuid.UUID
    candidate_id: uuid.UUID


class CollectionRefused(ValidationFailed):
    """The place or the collection date refused; ``collection`` is what the forms would be
    checked against all the same (their own errors go in the same answer)."""

    def __init__(self, errors: Sequence[FieldError], collection: Collection) -> None:
        super().__init__(errors)
        self.collection = collection


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
    communes: frozenset[str] = frozenset(),
    cache_seconds: float = 0.0,
    batch: bool = False,
    loc: Sequence[str | int] = ("body",),
) -> Collection:
    """Check the place (an active organisation of the caller's territory) and collection date.

    ``communes``: the INSEE codes a form may name; ``cache_seconds``: how long whether the place
    is active may be remembered (decision 0029).
    """
    errors: list[FieldError] = []
    place_id = place_organisation_id or principal.organisation_id
    active = organisations_active.get(place_id, cache_seconds)
    if active is None:
        active = bool(
            await session.scalar(
                select(col(Organisation.is_active)).where(col(Organisation.id) == place_id)
            )
        )
        organisations_active.put(place_id, active, cache_seconds)
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
    where = Collection(
        principal=principal,
        source=source,
        place_organisation_id=place_id,
        collected_on=day,
        request_id=request_id,
        batch_id=uuid7() if batch else None,
        qpv=qpv,
        communes=communes,
    )
    if errors:
        raise CollectionRefused(errors, where)
    return where


# -- checking forms -------------------------------------------------------------------------


def check(
    form: BorneForm,
    deposit_date: date | None,
    where: Collection,
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
    if form.commune_insee is not None and form.commune_insee not in where.communes:
        errors.append(_error([*loc, "commune_insee"], "commune inconnue", "unknown"))
    if form.lon is not None and form.lat is not None and not in_france(form.lon, form.lat):
        outside = CoordinatesOutsideFrance()
        errors.append(_error([*loc, "lon"], str(outside), outside.code))
    if form.qpv_declared_code is not None and (
        where.qpv is None or not where.qpv.has_code(form.qpv_declared_code)
    ):
        errors.append(_error([*loc, "qpv_declared_code"], UNKNOWN_QPV, "unknown"))
    phone = email = None
    if form.mobile_phone is not None:
        try:
            phone = normalise_mobile(form.mobile_phone)
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


def check_batch_form(raw: Any, where: Collection) -> Checked | list[FieldError]:
    """One form of a batch ready to record, or every problem found in it: its fields, and the
    rules :func:`check` applies to those that could be read, in one list."""
    form, errors = validate_partly(BatchForm, raw)
    if form is None:
        return errors
    checked = check(form.form(), form.deposit_date, where)
    if isinstance(checked, list):
        return merge_errors(errors, checked)
    return errors or checked


# -- recording ------------------------------------------------------------------------------


def _row(line: int, checked: Checked) -> ValidRow:
    """The form as the people writer reads a row (values already checked)."""
    form = checked.form
    values: dict[str, Any] = {
        "first_name": form.first_name,  # may be blank on a borne form
        "last_name": form.last_name,
        "phone": checked.phone,
        "email": checked.email,
        "commune_insee": form.commune_insee,
        "address": form.address,
        "lon": form.lon,
        "lat": form.lat,
        # A declared quartier is a declaration (CandidateCreate sets it the same way).
        "qpv_declared": True if form.qpv_declared_code is not None else form.qpv_declared,
        "qpv_declared_code": form.qpv_declared_code,
        "sectors_worked": list(form.sectors_worked),
        "sectors_worked_other": form.sectors_worked_other,
        "sectors_wanted": list(form.sectors_wanted),
        "sectors_wanted_other": form.sectors_wanted_other,
        "needs": list(form.needs),
    }
    data = CandidateCreate.model_construct(**values)
    return ValidRow(line=line, data=data)


async def record(
    session: AsyncSession, where: Collection, forms: Sequence[Checked]
) -> list[Recorded]:
    """Record ``forms`` (in order: a later form naming the person of an earlier one is linked to
    them) on the session's connection (see :class:`SessionDriver`); one result per form.

    A single form, with no transaction open on the connection, is first written as naming
    somebody new, in one round trip (decision 0036); if a living person has its phone or e-mail
    after all, nothing was written and it is recorded as any form is.
    """
    moment = now()
    driver = await SessionDriver.of(session)
    if len(forms) == 1 and not driver.in_transaction():
        async with driver.alone():
            recorded = await _record_new_person(driver, where, forms[0], moment)
        if recorded is not None:
            return [recorded]
    async with driver.transaction():
        return await _record_on(driver, where, forms, moment)


async def _record_new_person(
    driver: Driver, where: Collection, checked: Checked, moment: datetime
) -> Recorded | None:
    """The form written as naming nobody known, or ``None`` (nothing written) if it does."""
    rows = [_row(0, checked)]
    found = Found(resolution=resolve(rows, []), already_shared=set())
    writes, recorded = _plan(where, [checked], found, moment)
    written = await insert_new_person(driver, rows, writes, found_among(where.principal))
    return recorded[0] if written else None


async def _record_on(
    driver: Driver, where: Collection, forms: Sequence[Checked], moment: datetime
) -> list[Recorded]:
    rows = [_row(line, checked) for line, checked in enumerate(forms)]
    principal = where.principal
    found = await find_people(driver, rows, principal.organisation_id, found_among(principal))
    writes, recorded = _plan(where, forms, found, moment)
    await insert_writes(driver, writes)
    return recorded


def _plan(
    where: Collection, forms: Sequence[Checked], found: Found, moment: datetime
) -> tuple[Writes, list[Recorded]]:
    """What recording ``forms`` over ``found``'s people writes, and each form's result."""
    principal = where.principal
    organisation_id = principal.organisation_id
    actor = (principal.kind, principal.id)
    writes = plan_people(
        found,
        organisation_id=organisation_id,
        qpv=where.qpv,
        moment=moment,
        request_id=where.request_id,
        link_reason=ShareReason.INTAKE,
        audit_context=None,  # the intake is audited, below
        actor=actor,
    )
    recorded: list[Recorded] = []
    for line, checked in enumerate(forms):
        person = found.resolution.rows[line]
        created = person.is_new and person.lines[0] == line
        outcome = IntakeOutcome.CREATED if created else IntakeOutcome.LINKED
        form = checked.form
        intake_id = uuid7()
        writes.intakes.append(
            {
                "id": intake_id,
                "created_at": moment,
                "updated_at": moment,
                "candidate_id": person.id,
                "organisation_id": organisation_id,
                "source": where.source.value,
                "place_organisation_id": where.place_organisation_id,
                "deposit_date": checked.deposit_date,
                "collected_on": where.collected_on,
                "batch_id": where.batch_id,
                "answers": form.raw_answers(),
                "consent_given": form.consent,
                "consent_text_version": form.consent_text_version,
                "consent_at": moment if form.consent else None,
                "entered_by_user_id": principal.id if principal.kind == "user" else None,
                "entered_by_api_key_id": principal.id if principal.kind == "api_key" else None,
            }
        )
        received = IntakeReceived(intake_id=intake_id, candidate_id=person.id)
        writes.events.append(
            event_row(received.type, received.model_dump(mode="json"), moment, where.request_id)
        )
        writes.audits.append(
            audit_row(
                moment,
                actor,
                organisation_id,
                "create",
                ("intake", intake_id),
                where.request_id,
                {"candidate_id": str(person.id), "outcome": outcome.value},
            )
        )
        recorded.append(Recorded(outcome=outcome, intake_id=intake_id, candidate_id=person.id))
    return writes, recorded


async def _record_alone(
    session: AsyncSession, where: Collection, checked: Checked
) -> Recorded | None:
    """One form in its own savepoint: ``None`` if the database refused it (nothing remains)."""
    try:
        async with session.begin_nested():
            return (await record(session, where, [checked]))[0]
    except REFUSED:
        return None


async def record_batch(
    session: AsyncSession, where: Collection, raw_forms: Sequence[Any]
) -> list[BatchItemResult]:
    """Every form of the box, each with its result; invalid forms leave nothing behind."""
    results: dict[int, BatchItemResult] = {}
    ready: list[tuple[int, Checked]] = []
    for index, raw in enumerate(raw_forms):
        checked = check_batch_form(raw, where)
        if isinstance(checked, list):
            results[index] = BatchItemResult(
                index=index, status=IntakeOutcome.INVALID, errors=checked
            )
        else:
            ready.append((index, checked))

    checked_forms = [checked for _, checked in ready]
    recorded: list[Recorded] | None = None
    if checked_forms:
        try:
            # The fast path: every valid form in one savepoint, written in one statement.
            async with session.begin_nested():
                recorded = await record(session, where, checked_forms)
        except REFUSED:
            # The database refused something: start again form by form, each in its own
            # savepoint, so that only the failing forms are left out.
            recorded = None
    for position, (index, checked) in enumerate(ready):
        if recorded is not None:
            one: Recorded | None = recorded[position]
        else:
            one = await _record_alone(session, where, checked)
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
                intake_id=one.intake_id,
                candidate_id=one.candidate_id,
            )
    return [results[index] for index in range(len(raw_forms))]
