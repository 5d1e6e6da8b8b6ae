"""Two transactions naming the same person at once make one candidate (decision 0028)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.api.candidates.schemas import CandidateCreate
from services.api.people import store
from services.api.people.persons import ValidRow
from services.api.people.plan import Found, plan_people
from services.api.people.store import SessionDriver, find_people, insert_writes
from services.core.db import SessionMaker, unit_of_work
from services.core.models.candidate import ShareReason
from services.core.models.organisation import OrganisationKind
from tests.factories import make_organisation

pytestmark = pytest.mark.usefixtures("reference_data")


def _row(line: int, phone: str | None, email: str | None) -> ValidRow:
    data = CandidateCreate.model_construct(
        first_name="Aïcha", last_name="Benali", phone=phone, email=email
    )
    return ValidRow(line=line, data=data)


async def _write(driver: SessionDriver, found: Found, organisation_id: object) -> None:
    writes = plan_people(
        found,
        organisation_id=organisation_id,  # type: ignore[arg-type]
        qpv=None,
        moment=datetime.now(UTC),
        request_id=None,
        link_reason=ShareReason.INTAKE,
        audit_context=None,
        actor=("system", None),
    )
    await insert_writes(driver, writes)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("+33612345678", None), ("+33612345678", None)),  # the same phone
        (("+33612345678", "a.benali@exemple.fr"), (None, "a.benali@exemple.fr")),  # e-mail
    ],
)
async def test_the_second_waits_for_the_first_then_finds_the_person(
    committing_sessionmaker: SessionMaker,
    first: tuple[str | None, str | None],
    second: tuple[str | None, str | None],
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        organisation = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
    async with committing_sessionmaker() as one, committing_sessionmaker() as other:
        driver_one = await SessionDriver.of(one)
        driver_other = await SessionDriver.of(other)

        async def the_other() -> Found:
            async with driver_other.transaction():
                found = await find_people(driver_other, [_row(0, *second)], organisation.id)
                await _write(driver_other, found, organisation.id)
            return found

        async with driver_one.transaction():
            found_one = await find_people(driver_one, [_row(0, *first)], organisation.id)
            assert found_one.resolution.people[0].is_new
            # The other transaction asks for the same person: it waits on the contact key's
            # lock…
            waiting = asyncio.create_task(the_other())
            await asyncio.sleep(0.3)
            assert not waiting.done()
            await _write(driver_one, found_one, organisation.id)
        # …then, once the first has committed, reads with a fresh snapshot and finds the
        # person just created.
        found_other = await asyncio.wait_for(waiting, timeout=10)
        (person,) = found_other.resolution.people
        assert not person.is_new
        assert person.id == found_one.resolution.people[0].id


async def test_a_connection_lost_in_a_write_is_never_handed_out_again(
    committing_sessionmaker: SessionMaker,
) -> None:
    async with committing_sessionmaker() as session:
        driver = await SessionDriver.of(session)
        connection = await session.connection()
        pid = await driver.fetch("SELECT pg_backend_pid() AS pid")
        async with committing_sessionmaker() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid[0]["pid"]})
        with pytest.raises(store._CONNECTION_LOST):
            async with driver.transaction():
                await driver.execute("SELECT 1")
        assert connection.invalidated
