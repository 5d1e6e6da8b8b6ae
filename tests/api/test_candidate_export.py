"""The export holds everything held on the person (decision 0050): callback cases with attempts
and notes, matches with their moves and comments, the notifications sent about them — within
what the exporting caller may read; erased people stay out of the default list, and erasure
wipes what counsellors wrote about them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.callbacks.cases import open_for_intake
from services.core.clock import now
from services.core.models.callback import CallbackAttempt
from services.core.models.candidate import Candidate
from services.core.models.match import MatchTransition
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.settings import Settings
from tests.api.identity import Network, make_network
from tests.factories import make_match, make_offer, make_organisation

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

NOTE = "Préfère être rappelée après 17 h"
COMMENT = "Motivée par le gros œuvre"


@pytest.fixture
async def network(db_session: AsyncSession, settings: Settings) -> Network:
    return await make_network(db_session, settings)


async def _deposit(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> tuple[str, str]:
    form = {
        "last_name": "Benali",
        "first_name": "Samia",
        "mobile_phone": "06 12 34 56 79",
        "needs": ["job"],
        "consent": True,
        "consent_text_version": "2026-01",
    }
    response = await client.post("/v1/intakes", json=form, headers=network.desk.headers)
    assert response.status_code == 201, response.text
    intake = response.json()
    opened = await open_for_intake(db_session, uuid.UUID(intake["intake_id"]), settings, now())
    assert opened is not None
    case_id = str(opened.case.id)
    await db_session.commit()
    return intake["candidate_id"], case_id


async def _export(client: httpx.AsyncClient, candidate_id: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"/v1/candidates/{candidate_id}/export", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_export_holds_the_callbacks_matches_and_notifications_about_the_person(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    candidate_id, case_id = await _deposit(client, db_session, settings, network)
    tried = await client.post(
        f"/v1/callbacks/{case_id}/attempts",
        json={"channel": "phone", "result": "no_answer", "comment": NOTE},
        headers=network.a1.headers,
    )
    assert tried.status_code == 201, tried.text
    facilitation = await db_session.get(Organisation, uuid.UUID(network.facilitation_id))
    candidate = await db_session.get(Candidate, uuid.UUID(candidate_id))
    assert facilitation is not None and candidate is not None
    employer = await make_organisation(
        db_session, kind=OrganisationKind.EMPLOYER, parent=facilitation
    )
    offer = await make_offer(db_session, employer, status=OfferStatus.OPEN)
    match_id = str((await make_match(db_session, offer, candidate)).id)
    await db_session.commit()
    moved = await client.post(
        f"/v1/matches/{match_id}/transitions",
        json={"to": "contacted", "comment": COMMENT},
        headers=network.a1.headers,
    )
    assert moved.status_code == 200, moved.text

    body = await _export(client, candidate_id, network.a1.headers)
    [case] = body["callbacks"]
    assert case["id"] == case_id
    assert [(a["result"], a["comment"]) for a in case["attempts"]] == [("no_answer", NOTE)]
    [match] = body["matches"]
    assert match["id"] == match_id and match["status"] == "contacted"
    assert [(t["to_status"], t["comment"]) for t in match["transitions"]] == [
        ("contacted", COMMENT)
    ]
    # The assignment alert went out about the case.
    kinds = {(n["kind"], n["subject_id"]) for n in body["notifications"]}
    assert ("callback.assigned", case_id) in kinds
    # The audit entries about the case and the match are the person's too.
    audited = {(e["action"], e["resource_id"]) for e in body["audit"]}
    assert ("attempt", case_id) in audited
    assert ("transition", match_id) in audited

    # Within what the caller may read: a case moved to the facilitation structure leaves the
    # member's export, and is in the facilitator's.
    reassigned = await client.post(
        f"/v1/callbacks/{case_id}/assign",
        json={"organisation_id": network.facilitation_id},
        headers=network.facilitator.headers,
    )
    assert reassigned.status_code == 200, reassigned.text
    member_view = await _export(client, candidate_id, network.a1.headers)
    assert member_view["callbacks"] == []
    assert all(n["subject_id"] != case_id for n in member_view["notifications"])
    facilitator_view = await _export(client, candidate_id, network.facilitator.headers)
    assert [c["id"] for c in facilitator_view["callbacks"]] == [case_id]


async def test_erased_people_are_not_blank_rows_of_the_default_list(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    erased_id, _ = await _deposit(client, db_session, settings, network)
    kept = await client.post(
        "/v1/candidates",
        json={"first_name": "Karim", "last_name": "Haddad", "phone": "06 98 76 54 31"},
        headers=network.facilitator.headers,
    )
    assert kept.status_code == 201, kept.text
    erased = await client.delete(
        f"/v1/candidates/{erased_id}", headers={**network.facilitator.headers, "If-Match": "*"}
    )
    assert erased.status_code == 204, erased.text
    listed = await client.get("/v1/candidates?limit=100", headers=network.facilitator.headers)
    ids = [item["id"] for item in listed.json()["items"]]
    assert kept.json()["id"] in ids
    assert erased_id not in ids
    assert listed.json()["pagination"]["total_count"] == len(ids)
    # Asked for by status, they are there (statistics rows, nothing personal).
    asked = await client.get(
        "/v1/candidates?status=anonymised", headers=network.facilitator.headers
    )
    [row] = asked.json()["items"]
    assert row["id"] == erased_id and row["last_name"] is None


async def test_erasure_wipes_the_counsellors_notes_and_keeps_the_counts(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, network: Network
) -> None:
    candidate_id, case_id = await _deposit(client, db_session, settings, network)
    tried = await client.post(
        f"/v1/callbacks/{case_id}/attempts",
        json={"channel": "phone", "result": "no_answer", "comment": NOTE},
        headers=network.a1.headers,
    )
    assert tried.status_code == 201, tried.text
    facilitation = await db_session.get(Organisation, uuid.UUID(network.facilitation_id))
    candidate = await db_session.get(Candidate, uuid.UUID(candidate_id))
    assert facilitation is not None and candidate is not None
    employer = await make_organisation(
        db_session, kind=OrganisationKind.EMPLOYER, parent=facilitation
    )
    offer = await make_offer(db_session, employer, status=OfferStatus.OPEN)
    match_id = (await make_match(db_session, offer, candidate)).id
    await db_session.commit()
    moved = await client.post(
        f"/v1/matches/{match_id}/transitions",
        json={"to": "contacted", "comment": COMMENT},
        headers=network.a1.headers,
    )
    assert moved.status_code == 200, moved.text
    erased = await client.delete(
        f"/v1/candidates/{candidate_id}", headers={**network.facilitator.headers, "If-Match": "*"}
    )
    assert erased.status_code == 204, erased.text
    attempts = list(
        await db_session.scalars(
            select(CallbackAttempt).where(col(CallbackAttempt.case_id) == uuid.UUID(case_id))
        )
    )
    moves = list(
        await db_session.scalars(
            select(MatchTransition).where(col(MatchTransition.match_id) == match_id)
        )
    )
    # The attempt and the move are still counted; what was written about the person is gone.
    assert [(a.result.value, a.comment) for a in attempts] == [("no_answer", None)]
    assert [(m.to_status.value, m.comment) for m in moves] == [("contacted", None)]
