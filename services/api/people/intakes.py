"""Recording checked intakes (decision 0014): the person is found again by normalised phone or
e-mail — among the stored candidates and the forms of the same request — or created; the intake
keeps the answers as keyed, the consent and who entered it; ``intake.received`` and
``candidate.created|updated`` go to the outbox in the same transaction. Only the people already
shared with the caller's organisations are found again (decision 0044). A form is a row of the
people writer (:func:`_row`), found and laid over exactly as an import's line; the intake adds its
own rows (the intake, its event, its audit entry), and everything a request records is written in
one statement (decision 0028).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.candidates.policy import found_among
from services.api.candidates.schemas import CandidateCreate
from services.api.intake.checks import Checked, Collection
from services.api.intake.schemas import IntakeOutcome
from services.api.people.persons import ValidRow, resolve
from services.api.people.plan import Found, Writes, audit_row, plan_people
from services.api.people.store import (
    Driver,
    SessionDriver,
    find_people,
    insert_new_person,
    insert_writes,
)
from services.core.clock import now
from services.core.events import IntakeReceived, outbox_row
from services.core.ids import uuid7
from services.core.models.candidate import ShareReason

# What the database raises when it refuses a form (through SQLAlchemy, or asyncpg directly).
REFUSED = (DBAPIError, asyncpg.PostgresError)


@dataclass(frozen=True)
class Recorded:
    outcome: IntakeOutcome
    intake_id: uuid.UUID
    candidate_id: uuid.UUID


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
        writes.events.append(outbox_row(received, moment=moment, request_id=where.request_id))
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
