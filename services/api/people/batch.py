"""Recording a week's box of forms (``POST /v1/intakes/batch``, decision 0014).

Every form is checked first (an invalid one is reported and never written), then the valid ones
are written in one SAVEPOINT; should the database refuse anything, that savepoint is rolled back
and the forms are written again one by one, each in its own SAVEPOINT, so a form that fails
leaves nothing behind while the others are stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.api.intake.checks import Checked, Collection, check_batch_form
from services.api.intake.schemas import BatchItemResult, IntakeOutcome
from services.api.people.intakes import REFUSED, Recorded, record
from services.api.validation import FieldError

STORAGE_FAILED = "le formulaire n'a pas pu être enregistré ; renvoyez-le seul"


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
                errors=[FieldError(loc=[], message=STORAGE_FAILED, type="storage_failed")],
            )
        else:
            results[index] = BatchItemResult(
                index=index,
                status=one.outcome,
                intake_id=one.intake_id,
                candidate_id=one.candidate_id,
            )
    return [results[index] for index in range(len(raw_forms))]
