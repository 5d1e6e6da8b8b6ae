"""Placement outcomes at exit, +6 and +12 months (§8.5, decision 0080): who records and reads
them, when they may be recorded, the audit of every read."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.audit import AuditEntry
from services.core.models.obligation import Modality
from services.core.models.organisation import CompanyKind, OrganisationKind
from services.core.models.outcome import PlacementOutcome
from services.core.models.placement import PlacementStatus
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.factories import bearer, make_organisation, make_user
from tests.ledger_world import LedgerWorld, make_ledger_world, make_placement

pytestmark = pytest.mark.usefixtures("clock")  # 2 March 2026: the exit (27 February) is due


@pytest.fixture
async def world(db_session: AsyncSession, settings: Settings) -> LedgerWorld:
    return await make_ledger_world(db_session, settings)


def _url(world: LedgerWorld, checkpoint: str = "") -> str:
    base = f"/v1/placements/{world.placement_id}/outcomes"
    return f"{base}/{checkpoint}" if checkpoint else base


async def test_the_referent_records_the_exit_and_everyone_concerned_reads_it(
    client: httpx.AsyncClient, world: LedgerWorld, db_session: AsyncSession
) -> None:
    response = await client.put(
        _url(world, "exit"),
        json={"situation": "durable_employment"},
        headers=world.headers["referent"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checkpoint"] == "exit"
    assert body["due_on"] == "2026-02-27"
    assert body["situation"] == "durable_employment"
    assert body["situation_label"].startswith("Emploi durable")

    for who in ("referent", "company_staff", "facilitator", "prescriber"):
        listed = await client.get(_url(world), headers=world.headers[who])
        assert listed.status_code == 200, (who, listed.text)
        items = {item["checkpoint"]: item for item in listed.json()["items"]}
        assert list(items) == ["exit", "6m", "12m"]
        assert items["exit"]["situation"] == "durable_employment"
        assert items["6m"] == {
            "placement_id": world.placement_id,
            "checkpoint": "6m",
            "checkpoint_label": "À 6 mois",
            "due_on": "2026-08-27",
            "situation": None,
            "situation_label": None,
            "recorded_at": None,
        }
        assert items["12m"]["due_on"] == "2027-02-27"
    reads = (
        await db_session.scalars(
            select(AuditEntry).where(
                col(AuditEntry.resource_type) == "placement_outcome",
                col(AuditEntry.resource_id) == uuid.UUID(world.placement_id),
                col(AuditEntry.action) == "read",
            )
        )
    ).all()
    assert len(reads) == 4


async def test_outside_the_placement_it_does_not_exist(
    client: httpx.AsyncClient, world: LedgerWorld
) -> None:
    for who in ("competitor_staff", "other_facilitator", "buyer_staff", "admin"):
        response = await client.get(_url(world), headers=world.headers[who])
        assert_problem(response, 404, "not-found")
        response = await client.put(
            _url(world, "exit"), json={"situation": "other"}, headers=world.headers[who]
        )
        assert_problem(response, 404, "not-found")


async def test_a_prescriber_and_the_employing_etti_read_but_do_not_record(
    client: httpx.AsyncClient, world: LedgerWorld, db_session: AsyncSession, settings: Settings
) -> None:
    etti = await make_organisation(
        db_session, kind=OrganisationKind.SIAE_ETTI, parent=world.facilitation
    )
    etti.company_kind = CompanyKind.ETTI
    world.placement.employer_id = etti.id
    world.placement.modality = Modality.PROVISION
    etti_staff = bearer(await make_user(db_session, etti, Role.EMPLOYER), settings)
    await db_session.flush()
    for headers in (world.headers["prescriber"], etti_staff):
        assert (await client.get(_url(world), headers=headers)).status_code == 200
        response = await client.put(
            _url(world, "exit"), json={"situation": "other"}, headers=headers
        )
        assert_problem(response, 403, "forbidden")


async def test_recorded_again_it_is_replaced(
    client: httpx.AsyncClient, world: LedgerWorld, db_session: AsyncSession
) -> None:
    for who, situation in (("referent", "unknown"), ("facilitator", "positive_exit")):
        response = await client.put(
            _url(world, "exit"), json={"situation": situation}, headers=world.headers[who]
        )
        assert response.status_code == 200, response.text
    read = await client.get(_url(world, "exit"), headers=world.headers["company_staff"])
    assert read.json()["situation"] == "positive_exit"
    rows = (
        await db_session.scalars(
            select(PlacementOutcome).where(
                col(PlacementOutcome.placement_id) == uuid.UUID(world.placement_id)
            )
        )
    ).all()
    assert len(rows) == 1


async def test_a_checkpoint_is_recorded_from_its_day_on(
    client: httpx.AsyncClient, world: LedgerWorld, db_session: AsyncSession
) -> None:
    headers = world.headers["referent"]
    # Today is 2 March 2026: +6 months of an end on 2 September 2025 is due, of the 3rd not yet.
    due = await make_placement(
        db_session, world.attribution, world.candidate, start=date(2025, 6, 2), end=date(2025, 9, 2)
    )
    not_yet = await make_placement(
        db_session, world.attribution, world.candidate, start=date(2025, 6, 2), end=date(2025, 9, 3)
    )
    due_id, not_yet_id = due.id, not_yet.id
    early = await client.put(_url(world, "6m"), json={"situation": "other"}, headers=headers)
    body = assert_problem(early, 409, "conflict")
    assert "27/08/2026" in str(body["detail"])
    missing = await client.get(_url(world, "6m"), headers=headers)
    assert_problem(missing, 404, "not-found")
    later = await client.put(
        f"/v1/placements/{not_yet_id}/outcomes/6m", json={"situation": "other"}, headers=headers
    )
    assert "03/03/2026" in str(assert_problem(later, 409, "conflict")["detail"])
    on_time = await client.put(
        f"/v1/placements/{due_id}/outcomes/6m",
        json={"situation": "transitional_employment"},
        headers=headers,
    )
    assert on_time.status_code == 200, on_time.text
    assert on_time.json()["due_on"] == "2026-03-02"


async def test_bad_input_and_unstarted_placements_are_refused(
    client: httpx.AsyncClient, world: LedgerWorld, db_session: AsyncSession
) -> None:
    headers = world.headers["referent"]
    draft = await make_placement(
        db_session, world.attribution, world.candidate, status=PlacementStatus.DRAFT
    )
    open_ended = await make_placement(db_session, world.attribution, world.candidate, end=None)
    draft_id, open_ended_id = draft.id, open_ended.id
    bad = await client.put(_url(world, "exit"), json={"situation": "cdi"}, headers=headers)
    assert_problem(bad, 422, "validation-failed")
    unknown = await client.put(_url(world, "3m"), json={"situation": "other"}, headers=headers)
    assert unknown.status_code == 422
    for placement_id, detail in ((draft_id, "pas démarré"), (open_ended_id, "pas de date")):
        response = await client.put(
            f"/v1/placements/{placement_id}/outcomes/exit",
            json={"situation": "other"},
            headers=headers,
        )
        body = assert_problem(response, 409, "conflict")
        assert detail in str(body["detail"])
    stored = await db_session.scalar(
        select(PlacementOutcome).where(col(PlacementOutcome.placement_id) == draft_id)
    )
    assert stored is None
