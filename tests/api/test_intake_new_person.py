"""A form naming somebody new is written in one round trip (decision 0036); one naming somebody
known after all falls back to the locked read, and nobody is ever created twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.api.intake import checks
from services.api.intake.schemas import BorneForm, IntakeOutcome
from services.api.people import intakes, store
from services.api.people.persons import ValidRow
from services.api.people.plan import Writes, plan_people
from services.core.clock import now
from services.core.db import SessionMaker, unit_of_work
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, ShareReason
from services.core.models.intake import Intake, IntakeSource
from services.core.models.organisation import OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role
from services.core.security.principal import principal_of_user
from tests.factories import make_organisation, make_user

pytestmark = pytest.mark.usefixtures("reference_data")

PHONE = "06 12 34 56 78"
E164 = "+33612345678"


async def _where(sessionmaker: SessionMaker) -> checks.Collection:
    async with unit_of_work(sessionmaker) as session:
        landlord = await make_organisation(session, kind=OrganisationKind.SOCIAL_LANDLORD)
        user = await make_user(session, landlord, Role.RECEPTION)
    return checks.Collection(
        principal=principal_of_user(user, frozenset({landlord.id})),
        source=IntakeSource.KIOSK,
        place_organisation_id=landlord.id,
        collected_on=checks.today(),
        request_id="test-new-person",
        communes=frozenset({"93066"}),
    )


def _form(where: checks.Collection, **boxes: Any) -> checks.Checked:
    form = BorneForm.model_validate(
        {
            "last_name": "BENALI",
            "first_name": "Aïcha",
            "mobile_phone": PHONE,
            "commune_insee": "93066",
            "sectors_wanted": ["cleaning"],
            "consent": True,
            "consent_text_version": "borne-2024-01",
            **boxes,
        }
    )
    checked = checks.check(form, None, where)
    assert not isinstance(checked, list), checked
    return checked


class Calls:
    """What the service called of the writer, and what it got back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.new_person: list[bool] = []
        self.reads = 0
        original_new, original_find = store.insert_new_person, store.find_people

        async def new_person(*args: Any) -> bool:
            written = await original_new(*args)
            self.new_person.append(written)
            return written

        async def find(*args: Any) -> Any:
            self.reads += 1
            return await original_find(*args)

        monkeypatch.setattr(intakes, "insert_new_person", new_person)
        monkeypatch.setattr(intakes, "find_people", find)


async def _record(
    sessionmaker: SessionMaker, where: checks.Collection, checked: checks.Checked
) -> intakes.Recorded:
    async with sessionmaker() as session:
        (recorded,) = await intakes.record(session, where, [checked])
        driver = await store.SessionDriver.of(session)
        assert not driver.in_transaction()  # committed on return, nothing left open
        await session.rollback()  # the request's own transaction: nothing of the form in it
    return recorded


async def _count(sessionmaker: SessionMaker, query: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(query) or 0)


async def test_someone_new_is_written_without_reading_first(
    committing_sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = await _where(committing_sessionmaker)
    calls = Calls(monkeypatch)

    recorded = await _record(committing_sessionmaker, where, _form(where, email="a.b@exemple.fr"))

    assert recorded.outcome == IntakeOutcome.CREATED
    assert calls.new_person == [True] and calls.reads == 0
    async with committing_sessionmaker() as session:
        person = await session.get(Candidate, recorded.candidate_id)
        assert person is not None
        assert (person.phone_e164, person.email, person.sectors_wanted) == (
            E164,
            "a.b@exemple.fr",
            ["cleaning"],
        )
        intake = await session.get(Intake, recorded.intake_id)
        assert intake is not None and intake.candidate_id == person.id and intake.consent_given
        events = sorted(await session.scalars(select(col(OutboxEvent.type))))
        assert events == ["candidate.created", "intake.received"]
        audited = await session.scalar(
            select(func.count()).where(col(AuditEntry.resource_id) == recorded.intake_id)
        )
        assert audited == 1


async def test_someone_known_after_all_is_linked_by_the_locked_read(
    committing_sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = await _where(committing_sessionmaker)
    first = await _record(committing_sessionmaker, where, _form(where))
    calls = Calls(monkeypatch)

    second = await _record(
        committing_sessionmaker, where, _form(where, sectors_wanted=["logistics"])
    )

    assert calls.new_person == [False] and calls.reads == 1
    assert second.outcome == IntakeOutcome.LINKED
    assert second.candidate_id == first.candidate_id
    assert await _count(committing_sessionmaker, select(func.count()).select_from(Candidate)) == 1
    assert await _count(committing_sessionmaker, select(func.count()).select_from(Intake)) == 2
    async with committing_sessionmaker() as session:
        person = await session.get(Candidate, first.candidate_id)
        assert person is not None and person.sectors_wanted == ["cleaning", "logistics"]


async def test_someone_known_only_elsewhere_is_new_here_in_one_round_trip(
    committing_sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another organisation's person with the same phone does not count (decision 0044): the form
    is written at once, as for somebody new, without the locked read a known person costs."""
    elsewhere = await _where(committing_sessionmaker)
    theirs = await _record(committing_sessionmaker, elsewhere, _form(elsewhere))
    where = await _where(committing_sessionmaker)
    calls = Calls(monkeypatch)

    recorded = await _record(committing_sessionmaker, where, _form(where))

    assert calls.new_person == [True] and calls.reads == 0
    assert recorded.outcome == IntakeOutcome.CREATED
    assert recorded.candidate_id != theirs.candidate_id
    assert await _count(committing_sessionmaker, select(func.count()).select_from(Candidate)) == 2


async def test_a_form_waits_for_whoever_holds_the_phone_then_links_to_them(
    committing_sessionmaker: SessionMaker,
) -> None:
    where = await _where(committing_sessionmaker)
    organisation_id = where.principal.organisation_id
    row = ValidRow(line=0, data=intakes._row(0, _form(where)).data)

    async with committing_sessionmaker() as holder:
        driver = await store.SessionDriver.of(holder)
        async with driver.transaction():
            # Another request has locked the phone and is about to create the person.
            found = await store.find_people(driver, [row], organisation_id)
            assert found.resolution.people[0].is_new
            waiting = asyncio.create_task(_record(committing_sessionmaker, where, _form(where)))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            writes = plan_people(
                found,
                organisation_id=organisation_id,
                qpv=None,
                moment=now(),
                request_id=None,
                link_reason=ShareReason.INTAKE,
                audit_context=None,
                actor=("system", None),
            )
            await store.insert_writes(driver, writes)
    recorded = await asyncio.wait_for(waiting, timeout=10)

    assert recorded.outcome == IntakeOutcome.LINKED
    assert recorded.candidate_id == found.resolution.people[0].id
    assert await _count(committing_sessionmaker, select(func.count()).select_from(Candidate)) == 1


async def test_a_refused_form_leaves_nothing(
    committing_sessionmaker: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = await _where(committing_sessionmaker)
    original: Callable[..., Awaitable[bool]] = store.insert_new_person

    async def broken(driver: store.Driver, rows: Any, writes: Writes, among: Any) -> bool:
        writes.events[0]["type"] = None  # NOT NULL: the database refuses the statement
        return await original(driver, rows, writes, among)

    monkeypatch.setattr(intakes, "insert_new_person", broken)
    with pytest.raises(intakes.REFUSED):
        await _record(committing_sessionmaker, where, _form(where))
    for table in (Candidate, Intake, OutboxEvent):
        assert await _count(committing_sessionmaker, select(func.count()).select_from(table)) == 0
