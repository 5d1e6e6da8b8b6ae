"""Checking intakes (decision 0014): the collection (where and when the forms were found, by
whom) and each form — syntax, dates, commune, residence, phone and e-mail — with every problem
found reported at once (decision 0047). Nothing here writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.cache import organisations_active
from services.api.errors import ValidationFailed
from services.api.intake.schemas import BatchForm, BorneForm
from services.api.validation import FieldError, merge_errors, validate_partly
from services.core.clock import PARIS, now
from services.core.contact import InvalidContact, normalise_email, normalise_mobile
from services.core.geo.france import in_france
from services.core.geo.qpv import QpvIndex
from services.core.geo.residence import CoordinatesOutsideFrance
from services.core.ids import uuid7
from services.core.models.intake import IntakeSource
from services.core.models.organisation import Organisation
from services.core.security.principal import Principal

EMPTY_FORM = (
    "le formulaire doit indiquer au moins le nom, le prénom, le téléphone portable ou l'e-mail"
)
UNKNOWN_QPV = "quartier prioritaire inconnu (code QPV 2024 attendu, ex. QN07511M)"


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
