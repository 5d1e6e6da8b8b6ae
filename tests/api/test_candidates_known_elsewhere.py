"""A phone number or an e-mail is no way into another organisation's candidate (decision 0044).

Organisation A (the network's member) holds Aïcha: created by its prescriber, keyed in at its
front desk (raw answers, a CV), an RSA criterion validated by the facilitator. Organisation B
(``elsewhere``) then names her phone or her e-mail: through ``POST /v1/candidates``, a form or a
batch of forms. B gets its own record, with the answer it would get for somebody new, and
nothing of A's: neither in the answer, nor in any read or export afterwards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.intake import IntakeFile, IntakeFileKind
from services.core.models.organisation import Organisation
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Account, Network, account, make_network

pytestmark = pytest.mark.usefixtures("reference_data")

PHONE, E164 = "06 12 34 56 78", "+33612345678"
EMAIL = "aicha.benali@exemple.fr"
# What only A collected: none of it may reach B.
A_ONLY = ("Aïcha", "Bénali", "BÉNALI", "cariste", "Bobigny", "cv-aicha.pdf", "RSA")
CONSENT = {"consent": True, "consent_text_version": "borne-2024-01"}


@dataclass
class Known:
    """Organisation A's candidate, its intake and the CV of that intake."""

    candidate_id: str
    intake_id: str
    file_id: str


async def _known_to_a(client: httpx.AsyncClient, n: Network, session: AsyncSession) -> Known:
    created = await client.post(
        "/v1/candidates",
        json={
            "first_name": "Aïcha",
            "last_name": "Bénali",
            "phone": PHONE,
            "email": EMAIL,
            "commune_insee": "93066",
            "sectors_wanted": ["logistics"],
            "sectors_wanted_other": "cariste",
            "needs": ["training"],
        },
        headers=n.a1.headers,
    )
    assert created.status_code == 201, created.text
    candidate_id = created.json()["id"]
    # A's front desk keys her form in (linked: A holds her) and scans her CV.
    form = {"last_name": "BÉNALI", "mobile_phone": PHONE, "city": "Bobigny", **CONSENT}
    intake = await client.post("/v1/intakes", json=form, headers=n.desk.headers)
    assert intake.status_code == 201, intake.text
    assert (intake.json()["status"], intake.json()["candidate_id"]) == ("linked", candidate_id)
    cv = IntakeFile(
        intake_id=uuid.UUID(intake.json()["intake_id"]),
        kind=IntakeFileKind.CV,
        storage_key="cv/aicha",
        original_name="cv-aicha.pdf",
        content_type="application/pdf",
        size=1234,
        sha256="a" * 64,
    )
    session.add(cv)
    await session.flush()
    rsa = await client.post(
        f"/v1/candidates/{candidate_id}/eligibility",
        json={"kind": "RSA"},
        headers=n.facilitator.headers,
    )
    assert rsa.status_code == 201, rsa.text
    return Known(candidate_id, intake.json()["intake_id"], str(cv.id))


async def _shares(session: AsyncSession, candidate_id: str) -> set[str]:
    rows = await session.scalars(
        select(col(CandidateShare.organisation_id)).where(
            col(CandidateShare.candidate_id) == uuid.UUID(candidate_id)
        )
    )
    return {str(row) for row in rows}


async def _unchanged(session: AsyncSession, n: Network, known: Known) -> None:
    """A's record: neither shared with B nor completed with what B said."""
    assert await _shares(session, known.candidate_id) == {n.member_id}
    row = await session.scalar(
        select(Candidate)
        .where(col(Candidate.id) == uuid.UUID(known.candidate_id))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    assert (row.first_name, row.phone_e164, row.email) == ("Aïcha", E164, EMAIL)
    assert [s.value for s in row.sectors_wanted] == ["logistics"]


def _leaks(text: str, known: Known, *contact: str) -> list[str]:
    """What of A's shows in ``text``: its values and ids, and the contact details B did not give."""
    return [value for value in (*A_ONLY, *contact, *vars(known).values()) if value in text]


async def _reads_nothing_of_a(
    client: httpx.AsyncClient, who: Account, known: Known, own_id: str, *contact: str
) -> None:
    """After naming A's person, ``who`` reads only its own record."""
    for path in (
        f"/v1/candidates/{known.candidate_id}",
        f"/v1/candidates/{known.candidate_id}/eligibility",
        f"/v1/intakes/{known.intake_id}",
        f"/v1/intakes/{known.intake_id}/files/{known.file_id}",
    ):
        assert_problem(await client.get(path, headers=who.headers), 404, "not-found")
    for path in (
        f"/v1/candidates/{own_id}",
        f"/v1/candidates/{own_id}/eligibility",
        "/v1/intakes?limit=200",
        "/v1/candidates?limit=200",
    ):
        response = await client.get(path, headers=who.headers)
        assert response.status_code == 200, response.text
        assert _leaks(response.text, known, *contact) == [], path
    criteria = await client.get(f"/v1/candidates/{own_id}/eligibility", headers=who.headers)
    assert criteria.json() == []


def _fresh(given: dict[str, str]) -> dict[str, str]:
    """The same kind of contact, which nobody has."""
    return {k: "07 81 22 33 44" if "phone" in k else "ines.martin@exemple.fr" for k in given}


async def _organisation(session: AsyncSession, organisation_id: str) -> Organisation:
    organisation = await session.get(Organisation, uuid.UUID(organisation_id))
    assert organisation is not None
    return organisation


@pytest.mark.parametrize(
    ("given", "not_given"), [({"phone": PHONE}, EMAIL), ({"email": EMAIL.upper()}, E164)]
)
async def test_creating_with_another_organisations_contact_answers_as_for_somebody_new(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    given: dict[str, str],
    not_given: str,
) -> None:
    n = await make_network(db_session, settings)
    known = await _known_to_a(client, n, db_session)
    person = {"first_name": "Inès", "last_name": "Martin", "needs": ["job"]}

    named = await client.post("/v1/candidates", json={**person, **given}, headers=n.b1.headers)
    somebody_new = await client.post(
        "/v1/candidates",
        json={**person, **_fresh(given)},
        headers=n.b1.headers,
    )

    # The same answer as for a contact nobody has: 201, the same fields, B's values only.
    assert (named.status_code, somebody_new.status_code) == (201, 201), named.text
    body, twin = named.json(), somebody_new.json()
    assert body.keys() == twin.keys()
    assert body["matched_existing"] is twin["matched_existing"] is False
    assert body["id"] != known.candidate_id
    assert (body["first_name"], body["last_name"], body["needs"]) == ("Inès", "Martin", ["job"])
    assert _leaks(named.text, known, not_given) == []
    await _unchanged(db_session, n, known)
    await _reads_nothing_of_a(client, n.b1, known, body["id"], not_given)

    # B's export holds B's record alone: no intake, criterion or audit entry of A's.
    exported = await client.get(f"/v1/candidates/{body['id']}/export", headers=n.b1.headers)
    assert exported.status_code == 200, exported.text
    export = exported.json()
    assert (export["intakes"], export["eligibility"], export["sensitive_withheld"]) == ([], [], 0)
    assert [share["organisation_id"] for share in export["shares"]] == [n.elsewhere_id]
    # About B's record, or lists naming it (which name A's nowhere: checked below).
    assert {entry["resource_id"] for entry in export["audit"]} <= {body["id"], None}
    assert _leaks(exported.text, known, not_given) == []
    assert_problem(
        await client.get(f"/v1/candidates/{known.candidate_id}/export", headers=n.b1.headers),
        404,
        "not-found",
    )


@pytest.mark.parametrize(
    ("given", "not_given"),
    [({"mobile_phone": "+33 6 12 34 56 78"}, EMAIL), ({"email": "Aicha.Benali@Exemple.FR"}, E164)],
)
async def test_a_form_naming_another_organisations_person_opens_nothing(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    given: dict[str, str],
    not_given: str,
) -> None:
    n = await make_network(db_session, settings)
    known = await _known_to_a(client, n, db_session)
    elsewhere = await _organisation(db_session, n.elsewhere_id)
    desk_b = await account(db_session, elsewhere, Role.RECEPTION, settings)
    form = {"first_name": "Inès", "last_name": "Martin", "needs": ["job"], **CONSENT}

    single = await client.post("/v1/intakes", json={**form, **given}, headers=desk_b.headers)
    somebody_new = await client.post(
        "/v1/intakes", json={**form, **_fresh(given)}, headers=desk_b.headers
    )

    assert (single.status_code, somebody_new.status_code) == (201, 201), single.text
    body = single.json()
    assert body.keys() == somebody_new.json().keys()
    assert body["status"] == somebody_new.json()["status"] == "created"
    assert body["candidate_id"] != known.candidate_id
    assert _leaks(single.text, known, not_given) == []

    # A batch of B's naming her again links to B's own record, never to A's.
    batch = await client.post(
        "/v1/intakes/batch",
        json={"forms": [{**form, **given}]},
        headers=desk_b.headers,
    )
    assert batch.status_code == 200, batch.text
    (result,) = batch.json()["results"]
    assert (result["status"], result["candidate_id"]) == ("linked", body["candidate_id"])

    await _unchanged(db_session, n, known)
    await _reads_nothing_of_a(client, desk_b, known, body["candidate_id"], not_given)
    mine = await client.get(f"/v1/candidates/{body['candidate_id']}", headers=desk_b.headers)
    assert mine.json()["phone"] == (E164 if "mobile_phone" in given else None)

    # B's prescriber, who now holds the person B collected: B's intakes only in the export.
    exported = await client.get(
        f"/v1/candidates/{body['candidate_id']}/export", headers=n.b1.headers
    )
    assert exported.status_code == 200, exported.text
    export = exported.json()
    assert [intake["id"] for intake in export["intakes"]] == [
        body["intake_id"],
        result["intake_id"],
    ]
    assert (export["eligibility"], export["sensitive_withheld"]) == ([], 0)
    audited = {entry["resource_id"] for entry in export["audit"]}
    assert audited <= {body["candidate_id"], body["intake_id"], result["intake_id"], None}
    assert _leaks(json.dumps(export), known, not_given) == []


async def test_a_batch_of_another_organisation_creates_its_own_record(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    known = await _known_to_a(client, n, db_session)
    elsewhere = await _organisation(db_session, n.elsewhere_id)
    desk_b = await account(db_session, elsewhere, Role.RECEPTION, settings)
    forms: list[dict[str, Any]] = [
        {"last_name": "Martin", "mobile_phone": PHONE, **CONSENT},
        # The same person again, by the phone of B's first form: linked to it.
        {"last_name": "Martin", "mobile_phone": PHONE, "email": EMAIL, **CONSENT},
    ]

    batch = await client.post("/v1/intakes/batch", json={"forms": forms}, headers=desk_b.headers)

    assert batch.status_code == 200, batch.text
    body = batch.json()
    assert (body["created"], body["linked"]) == (1, 1)
    first, second = body["results"]
    assert first["status"] == "created" and first["candidate_id"] != known.candidate_id
    assert second["candidate_id"] == first["candidate_id"]
    assert _leaks(batch.text, known) == []
    await _unchanged(db_session, n, known)
