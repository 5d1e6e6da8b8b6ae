"""/v1/candidates: personal data scoped by shares (decision 0011), found again by phone or
e-mail among those the caller holds (decision 0044), every read audited, export and erasure."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.deps import get_storage
from services.api.referentials.indexes import ReferentialIndexes
from services.core.clock import FrozenClock
from services.core.geo.qpv import QpvIndex
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, CandidateShare, CandidateStatus, QpvMethod
from services.core.models.eligibility import EligibilityCriterion, EligibilityKind
from services.core.models.intake import Intake, IntakeFile, IntakeFileKind, IntakeSource
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Permission, Role
from services.core.settings import Settings
from services.core.storage import LocalStorage, new_key
from tests.api.conftest import assert_problem
from tests.api.identity import Account, account, audit_entries, count, make_network
from tests.factories import make_candidate, make_organisation

pytestmark = pytest.mark.usefixtures("reference_data", "loaded_qpv")


@pytest.fixture
def loaded_qpv(client: httpx.AsyncClient, app: FastAPI, qpv_index: QpvIndex) -> None:
    """The QPV polygons built once per run, instead of once per app (after its lifespan)."""
    indexes: ReferentialIndexes = app.state.referential_indexes
    indexes._qpv = qpv_index


def _person(**changes: object) -> dict[str, object]:
    return {
        "first_name": "Aïcha",
        "last_name": "Bénali",
        "phone": "06 12 34 56 78",
        "email": "Aicha.Benali@Exemple.FR",
        "commune_insee": "93066",
        "sectors_worked": ["cleaning"],
        "sectors_wanted": ["construction", "logistics"],
        "sectors_wanted_other": "cariste",
        "needs": ["job", "training"],
        **changes,
    }


async def _create(
    client: httpx.AsyncClient, who: Account, status: int = 201, **changes: object
) -> dict[str, Any]:
    response = await client.post("/v1/candidates", json=_person(**changes), headers=who.headers)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ids(client: httpx.AsyncClient, who: Account, **params: str) -> set[str]:
    response = await client.get("/v1/candidates", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _organisation(session: AsyncSession, organisation_id: str) -> Organisation:
    organisation = await session.get(Organisation, uuid.UUID(organisation_id))
    assert organisation is not None
    return organisation


async def _intake(
    session: AsyncSession, candidate_id: uuid.UUID, entered_by: Account, **answers: object
) -> Intake:
    intake = Intake(
        candidate_id=candidate_id,
        organisation_id=uuid.UUID(entered_by.organisation_id),
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 11, 16),
        collected_on=date(2026, 11, 20),
        answers={"nom": "BÉNALI", "prenom": "Aïcha", "telephone": "0612345678", **answers},
        consent_given=True,
        consent_text_version="borne-2026-01",
        entered_by_user_id=uuid.UUID(entered_by.id),
    )
    session.add(intake)
    await session.flush()
    return intake


async def _fresh(session: AsyncSession, candidate_id: str | uuid.UUID) -> Candidate:
    row = await session.scalar(
        select(Candidate)
        .where(col(Candidate.id) == uuid.UUID(str(candidate_id)))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def test_phone_numbers_are_stored_in_e164_overseas_included(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    cases = {
        "06 12 34 56 78": "+33612345678",
        "+33 6 12 34 56 79": "+33612345679",
        "0033612345680": "+33612345680",
        "0692 12 34 56": "+262692123456",  # La Réunion
        "+590 690 12 34 56": "+590690123456",  # Guadeloupe
        "0696 12 34 56": "+596696123456",  # Martinique
        "0694 12 34 56": "+594694123456",  # Guyane
        "0639 01 23 45": "+262639012345",  # Mayotte
    }
    for number, expected in cases.items():
        body = await _create(client, n.a1, phone=number, email=None)
        assert body["phone"] == expected
        assert body["matched_existing"] is False
    body = await _create(client, n.a1, phone=None, email="  Jean.Dupont@Exemple.FR ")
    assert body["email"] == "jean.dupont@exemple.fr"
    assert body["status"] == "new" and body["status_label"] == "Nouveau"
    assert body["need_labels"] == ["UN EMPLOI", "UNE FORMATION"]
    assert body["qpv_status"] == "unknown"


async def test_a_bad_phone_or_email_is_a_french_422_and_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    for field, value, message in (
        ("phone", "0699", "numéro de téléphone invalide"),
        ("phone", "pas un numéro", "numéro de téléphone invalide"),
        ("email", "aicha@@exemple", "adresse e-mail invalide"),
        ("commune_insee", "123", "code INSEE de commune invalide"),
        ("rome_wishes", ["Z9999"], "code ROME invalide"),
    ):
        response = await client.post(
            "/v1/candidates", json=_person(**{field: value}), headers=n.a1.headers
        )
        body = assert_problem(response, 422, "validation-failed")
        errors: Any = body["errors"]
        assert errors[0]["loc"][:2] == ["body", field]
        assert errors[0]["message"].startswith(message)
        assert str(value) not in response.text
    unknown = await client.post(
        "/v1/candidates", json=_person(commune_insee="99999"), headers=n.a1.headers
    )
    assert assert_problem(unknown, 422, "validation-failed")["errors"] == [
        {"loc": ["body", "commune_insee"], "message": "commune inconnue", "type": "unknown"}
    ]
    assert await count(db_session, Candidate) == 0
    assert await count(db_session, CandidateShare) == 0


async def test_a_person_is_found_again_by_phone_or_email_among_those_the_caller_holds(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    first = await _create(client, n.a1, email=None, sectors_wanted_other=None)
    # A colleague of the same organisation: found again, not created.
    again = await _create(
        client, n.a2, 200, phone="+33612345678", email="aicha@exemple.fr", needs=["advice"]
    )
    assert again["id"] == first["id"] and again["matched_existing"] is True
    # Blanks filled and lists completed; nothing overwritten.
    assert again["email"] == "aicha@exemple.fr"
    assert again["needs"] == ["job", "training", "advice"]
    assert again["first_name"] == "Aïcha"
    assert await count(db_session, Candidate) == 1
    # By e-mail, with another phone number, by the facilitator of the member's territory (who
    # sees the person already): the same person again, now shared with the facilitation too.
    third = await _create(client, n.facilitator, 200, phone="0611111111", email="AICHA@exemple.fr")
    assert third["id"] == first["id"]
    assert third["phone"] == "+33612345678"  # not overwritten
    assert await count(db_session, Candidate) == 1
    shares = set(
        await db_session.scalars(
            select(col(CandidateShare.organisation_id)).where(
                col(CandidateShare.candidate_id) == uuid.UUID(first["id"])
            )
        )
    )
    assert {str(s) for s in shares} == {n.member_id, n.facilitation_id}
    types = list(await db_session.scalars(select(col(OutboxEvent.type))))
    assert types.count("candidate.created") == 1
    assert types.count("candidate.updated") == 1  # e-mail and needs given by the second one
    shared = await audit_entries(db_session, action="share")
    assert [str(e.organisation_id) for e in shared] == [n.facilitation_id]
    assert all(set(e.details) == {"organisation_id"} for e in shared)


async def test_outside_ones_scope_a_candidate_does_not_exist(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    member = await _organisation(db_session, n.member_id)
    elsewhere = await _organisation(db_session, n.elsewhere_id)
    employer_org = await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)
    employer = await account(db_session, employer_org, Role.EMPLOYER, settings)
    ours = (await make_candidate(db_session, member)).id
    theirs = (await make_candidate(db_session, elsewhere)).id
    keyed = (await make_candidate(db_session, member)).id
    await _intake(db_session, keyed, n.desk)

    assert await _ids(client, n.a1) == {str(ours), str(keyed)}
    assert await _ids(client, n.b1) == {str(theirs)}
    # A facilitator: candidates shared with any organisation of its territory.
    assert await _ids(client, n.facilitator) == {str(ours), str(keyed)}
    # Front desk: the people of the intakes it keyed in, read only.
    assert await _ids(client, n.desk) == {str(keyed)}
    # The admin runs the instance: no candidate outside its own organisation.
    assert await _ids(client, n.admin) == set()
    # Employers never read candidates: listing them is refused outright.
    for listing in (
        client.get("/v1/candidates", headers=employer.headers),
        client.post("/v1/candidates/search", json={"q": "benali"}, headers=employer.headers),
        client.get("/v1/candidates/duplicates", headers=employer.headers),
    ):
        assert_problem(await listing, 403, "forbidden")

    for caller, target in (
        (n.b1, ours),
        (n.a1, theirs),
        (n.facilitator, theirs),
        (n.desk, ours),
        (n.admin, ours),
        (employer, ours),
    ):
        path = f"/v1/candidates/{target}"
        assert_problem(await client.get(path, headers=caller.headers), 404, "not-found")
        patched = await client.patch(
            path, json={"first_name": "X"}, headers={**caller.headers, "If-Match": "*"}
        )
        assert_problem(patched, 404, "not-found")
        erased = await client.delete(path, headers={**caller.headers, "If-Match": "*"})
        assert_problem(erased, 404, "not-found")
        exported = await client.get(f"{path}/export", headers=caller.headers)
        assert_problem(exported, 404, "not-found")
        listed = await client.get(f"{path}/eligibility", headers=caller.headers)
        assert_problem(listed, 404, "not-found")
    # Visible but not theirs to change: 403.
    path = f"/v1/candidates/{keyed}"
    patched = await client.patch(
        path, json={"first_name": "X"}, headers={**n.desk.headers, "If-Match": "*"}
    )
    assert_problem(patched, 403, "forbidden")
    erased = await client.delete(path, headers={**n.a1.headers, "If-Match": "*"})
    assert_problem(erased, 403, "forbidden")
    created = await client.post("/v1/candidates", json=_person(), headers=n.desk.headers)
    assert_problem(created, 403, "forbidden")
    assert_problem(await client.get("/v1/candidates"), 401, "unauthorized")


async def test_reads_lists_and_searches_are_audited_without_personal_data(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    member = await _organisation(db_session, n.member_id)
    person_id = (await make_candidate(db_session, member, phone_e164="+33612345678")).id
    read = await client.get(f"/v1/candidates/{person_id}", headers=n.a1.headers)
    assert read.status_code == 200 and read.headers["etag"]
    [entry] = await audit_entries(db_session, action="read")
    assert (entry.resource_type, entry.resource_id) == ("candidate", person_id)
    assert str(entry.actor_id) == n.a1.id
    await _ids(client, n.a2)
    [listed] = await audit_entries(db_session, action="list")
    assert listed.details == {"ids": [str(person_id)]}
    found = await client.post(
        "/v1/candidates/search", json={"q": "06 12 34 56 78"}, headers=n.a1.headers
    )
    assert [item["id"] for item in found.json()["items"]] == [str(person_id)]
    assert len(await audit_entries(db_session, action="list")) == 2
    for entry in await audit_entries(db_session):
        assert "612345678" not in str(entry.details)
    not_modified = await client.get(
        f"/v1/candidates/{person_id}",
        headers={**n.a1.headers, "If-None-Match": read.headers["etag"]},
    )
    assert not_modified.status_code == 304


async def test_search_ignores_accents_and_case_and_normalises_contacts(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await _create(client, n.a1, first_name="Aïcha", last_name="Bénali-Dupré")
    other = await _create(
        client,
        n.a1,
        first_name="Jean",
        last_name="Martin",
        phone=None,
        email=None,
        sectors_wanted=["cleaning"],
    )

    async def search(q: str) -> list[str]:
        response = await client.post("/v1/candidates/search", json={"q": q}, headers=n.a1.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await search("benali") == [created["id"]]
    assert await search("DUPRÉ") == [created["id"]]
    assert await search("aicha") == [created["id"]]
    assert await search("+33 6 12 34 56 78") == [created["id"]]
    assert await search("AICHA.BENALI@exemple.fr") == [created["id"]]
    assert await search("mar") == [other["id"]]
    # Every word starts a word of the name, in any order; inside a word is not a match.
    assert await search("jean mart") == [other["id"]]
    assert await search("MARTIN  j") == [other["id"]]
    assert await search("martin aicha") == []
    assert await search("artin") == []
    assert await search("zz") == []
    assert await search("%%") == []
    # Nobody else's people.
    response = await client.post(
        "/v1/candidates/search", json={"q": "benali"}, headers=n.b1.headers
    )
    assert response.json()["items"] == []
    filtered = await client.get(
        "/v1/candidates",
        params={"sector": "logistics", "commune_insee": "93066"},
        headers=n.a1.headers,
    )
    assert [item["id"] for item in filtered.json()["items"]] == [created["id"]]


async def test_patch_needs_the_current_etag_and_audits_field_names(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await _create(client, n.a1)
    path = f"/v1/candidates/{created['id']}"
    read = await client.get(path, headers=n.a1.headers)
    assert_problem(
        await client.patch(path, json={"hours_per_week": 35}, headers=n.a1.headers),
        428,
        "precondition-required",
    )
    stale = await client.patch(
        path, json={"hours_per_week": 35}, headers={**n.a1.headers, "If-Match": '"old"'}
    )
    assert_problem(stale, 412, "precondition-failed")
    changed = await client.patch(
        path,
        json={"hours_per_week": 35, "phone": "0612345699", "address": None, "status": "active"},
        headers={**n.a1.headers, "If-Match": read.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["phone"] == "+33612345699"
    assert changed.json()["status"] == "active"
    [entry] = await audit_entries(db_session, action="update")
    assert entry.details == {"fields": ["hours_per_week", "phone_e164", "status"]}
    refused = await client.patch(
        path,
        json={"status": "anonymised"},
        headers={**n.a1.headers, "If-Match": changed.headers["etag"]},
    )
    assert_problem(refused, 422, "validation-failed")
    null_name = await client.patch(
        path, json={"last_name": None}, headers={**n.a1.headers, "If-Match": "*"}
    )
    assert_problem(null_name, 422, "validation-failed")
    types = list(await db_session.scalars(select(col(OutboxEvent.type))))
    assert types == ["candidate.created", "candidate.updated"]


async def test_erasure_needs_the_current_etag_like_a_patch(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await _create(client, n.facilitator)
    path = f"/v1/candidates/{created['id']}"
    read = await client.get(path, headers=n.facilitator.headers)
    missing = await client.delete(path, headers=n.facilitator.headers)
    assert_problem(missing, 428, "precondition-required")
    # Someone changed the person since this copy was read: the erasure is refused.
    changed = await client.patch(
        path,
        json={"hours_per_week": 35},
        headers={**n.facilitator.headers, "If-Match": read.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    stale = await client.delete(
        path, headers={**n.facilitator.headers, "If-Match": read.headers["etag"]}
    )
    assert_problem(stale, 412, "precondition-failed")
    assert stale.headers["etag"] == changed.headers["etag"]
    kept = await client.get(path, headers=n.facilitator.headers)
    assert kept.json()["status"] != "anonymised"
    erased = await client.delete(
        path, headers={**n.facilitator.headers, "If-Match": changed.headers["etag"]}
    )
    assert erased.status_code == 204, erased.text
    types = list(await db_session.scalars(select(col(OutboxEvent.type))))
    assert types.count("candidate.anonymised") == 1


async def test_sensitive_criteria_need_the_permission_to_be_created_or_seen(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    facilitation = await _organisation(db_session, n.facilitation_id)
    member = await _organisation(db_session, n.member_id)
    trusted = await account(
        db_session,
        facilitation,
        Role.FACILITATOR,
        settings,
        permissions=[Permission.SENSITIVE_DATA],
    )
    person_id = (await make_candidate(db_session, member)).id
    path = f"/v1/candidates/{person_id}/eligibility"

    rsa = await client.post(path, json={"kind": "RSA"}, headers=n.facilitator.headers)
    assert rsa.status_code == 201, rsa.text
    assert rsa.json()["kind_label"] == "Bénéficiaire du RSA"
    assert rsa.json()["validated_by_user_id"] == n.facilitator.id
    refused = await client.post(path, json={"kind": "TH"}, headers=n.facilitator.headers)
    assert_problem(refused, 403, "sensitive-data-forbidden")
    judicial = await client.post(
        path, json={"kind": "exception", "sensitive": True}, headers=n.facilitator.headers
    )
    assert_problem(judicial, 403, "sensitive-data-forbidden")
    th = await client.post(path, json={"kind": "TH"}, headers=trusted.headers)
    assert th.status_code == 201 and th.json()["sensitive"] is True
    # A prescriber sees the candidate but validates nothing.
    assert_problem(
        await client.post(path, json={"kind": "RSA"}, headers=n.a1.headers), 403, "forbidden"
    )
    qpv = await client.post(path, json={"kind": "QPV_resident"}, headers=n.facilitator.headers)
    assert_problem(qpv, 409, "qpv-not-established")

    async def kinds(who: Account) -> list[str]:
        response = await client.get(path, headers=who.headers)
        assert response.status_code == 200, response.text
        return [item["kind"] for item in response.json()]

    assert await kinds(n.a1) == ["RSA"]
    assert await kinds(n.facilitator) == ["RSA"]
    assert await kinds(trusted) == ["RSA", "TH"]
    hidden = await client.delete(f"{path}/{th.json()['id']}", headers=n.facilitator.headers)
    assert_problem(hidden, 404, "not-found")
    exported = await client.get(f"/v1/candidates/{person_id}/export", headers=n.facilitator.headers)
    assert [c["kind"] for c in exported.json()["eligibility"]] == ["RSA"]
    assert exported.json()["sensitive_withheld"] == 1
    removed = await client.delete(f"{path}/{rsa.json()['id']}", headers=n.facilitator.headers)
    assert removed.status_code == 204
    assert await kinds(trusted) == ["TH"]


async def test_export_holds_everything_about_the_person(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    created = await _create(client, n.a1)
    candidate_id = uuid.UUID(created["id"])
    intake = await _intake(db_session, candidate_id, n.desk, secteurs_voulus=["BTP"])
    db_session.add(
        IntakeFile(
            intake_id=intake.id,
            kind=IntakeFileKind.CV,
            storage_key="cv/0001",
            original_name="cv.pdf",
            content_type="application/pdf",
            size=1234,
            sha256="a" * 64,
        )
    )
    db_session.add(EligibilityCriterion(candidate_id=candidate_id, kind=EligibilityKind.RSA))
    await db_session.flush()
    assert (await client.get(f"/v1/candidates/{candidate_id}", headers=n.a2.headers)).is_success

    response = await client.get(f"/v1/candidates/{candidate_id}/export", headers=n.a1.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidate"]["email"] == "aicha.benali@exemple.fr"
    [exported_intake] = body["intakes"]
    assert exported_intake["answers"]["nom"] == "BÉNALI"
    assert exported_intake["consent_text_version"] == "borne-2026-01"
    [file] = exported_intake["files"]
    assert (file["original_name"], file["size"]) == ("cv.pdf", 1234)
    assert "storage_key" not in file
    assert [c["kind"] for c in body["eligibility"]] == ["RSA"]
    assert [s["organisation_id"] for s in body["shares"]] == [n.member_id]
    actions = [(e["action"], e["actor_id"]) for e in body["audit"]]
    assert ("create", n.a1.id) in actions
    assert ("read", n.a2.id) in actions
    # The export itself is recorded.
    [entry] = await audit_entries(db_session, action="export")
    assert entry.resource_id == candidate_id


async def test_erasure_leaves_no_personal_data_and_keeps_the_statistics(
    client: httpx.AsyncClient,
    app: FastAPI,
    db_session: AsyncSession,
    settings: Settings,
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    app.dependency_overrides[get_storage] = lambda: storage
    key = new_key()
    await storage.put(key, b"%PDF-1.4 formulaire")
    n = await make_network(db_session, settings)
    created = await _create(client, n.facilitator, sex="female", birth_year=1990, address="1 rue X")
    other = await _create(client, n.facilitator, phone="0622222222", email=None, first_name="Léa")
    candidate_id = uuid.UUID(created["id"])
    intake = await _intake(db_session, candidate_id, n.desk)
    intake_id = intake.id
    db_session.add(
        IntakeFile(
            intake_id=intake.id,
            kind=IntakeFileKind.FORM,
            storage_key=key,
            original_name="formulaire.png",
            content_type="image/png",
            size=10,
            sha256="b" * 64,
        )
    )
    db_session.add(
        EligibilityCriterion(candidate_id=candidate_id, kind=EligibilityKind.RSA, comment="x")
    )
    await db_session.flush()

    path = f"/v1/candidates/{candidate_id}"
    etag = (await client.get(path, headers=n.facilitator.headers)).headers["etag"]
    erased = await client.delete(path, headers={**n.facilitator.headers, "If-Match": etag})
    assert erased.status_code == 204, erased.text
    row = await _fresh(db_session, candidate_id)
    for name in (
        "first_name",
        "last_name",
        "search_name",
        "phone_e164",
        "email",
        "address",
        "lon",
        "lat",
        "sectors_wanted_other",
        "sectors_worked_other",
    ):
        assert getattr(row, name) is None, name
    assert row.status is CandidateStatus.ANONYMISED and row.anonymised_at is not None
    assert (row.sex, row.birth_year, row.commune_insee) == ("female", 1990, "93066")
    assert row.sectors_wanted == ["construction", "logistics"]
    answers = await db_session.scalar(
        select(col(Intake.answers))
        .where(col(Intake.id) == intake_id)
        .execution_options(populate_existing=True)
    )
    assert answers == {}
    assert await count(db_session, IntakeFile) == 0
    assert not await storage.exists(key)
    assert await count(db_session, EligibilityCriterion) == 0
    # Counts still add up: two candidates in the commune, one of them anonymised.
    by_status = dict(
        (
            await db_session.execute(
                select(col(Candidate.status), func.count())
                .where(col(Candidate.commune_insee) == "93066")
                .group_by(col(Candidate.status))
            )
        ).all()
    )
    assert by_status == {CandidateStatus.ANONYMISED: 1, CandidateStatus.NEW: 1}
    assert await count(db_session, Intake) == 1
    types = list(await db_session.scalars(select(col(OutboxEvent.type))))
    assert "candidate.anonymised" in types
    # No personal data anywhere in the candidate's row or what the API shows.
    shown = await client.get(f"/v1/candidates/{candidate_id}", headers=n.facilitator.headers)
    assert "nali" not in shown.text and "612345678" not in shown.text
    again = await client.delete(path, headers={**n.facilitator.headers, "If-Match": "*"})
    assert_problem(again, 409, "candidate-anonymised")
    # The person is new again if they come back.
    back = await _create(client, n.facilitator)
    assert back["matched_existing"] is False and back["id"] != created["id"]
    assert other["id"] != back["id"]
    entries = await db_session.scalars(
        select(AuditEntry).where(col(AuditEntry.action) == "anonymise")
    )
    assert [e.resource_id for e in entries] == [candidate_id]


async def test_likely_duplicates_are_listed_and_merged(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    kept = await _create(client, n.a1, email=None, needs=["job"])
    duplicate = await _create(
        client,
        n.facilitator,
        first_name="AICHA",
        last_name="benali",
        phone="0699999999",
        email="a.benali@exemple.fr",
        needs=["advice"],
        birth_year=1990,
    )
    await _create(
        client,
        n.a1,
        first_name="Aïcha",
        last_name="Bénali",
        phone="0688888888",
        email=None,
        commune_insee="75056",
    )  # another commune: not a duplicate
    intake_id = (await _intake(db_session, uuid.UUID(duplicate["id"]), n.desk)).id

    response = await client.get("/v1/candidates/duplicates", headers=n.facilitator.headers)
    assert response.status_code == 200, response.text
    [group] = response.json()["items"]
    assert group["commune_insee"] == "93066"
    assert [c["id"] for c in group["candidates"]] == [kept["id"], duplicate["id"]]
    # A prescriber of the member organisation sees one of them only: no group.
    mine = await client.get("/v1/candidates/duplicates", headers=n.a1.headers)
    assert mine.json()["items"] == []

    forbidden = await client.post(
        f"/v1/candidates/{kept['id']}/merge",
        json={"duplicate_id": duplicate["id"]},
        headers=n.a1.headers,
    )
    assert_problem(forbidden, 403, "forbidden")  # prescribers do not merge
    merged = await client.post(
        f"/v1/candidates/{kept['id']}/merge",
        json={"duplicate_id": duplicate["id"]},
        headers=n.facilitator.headers,
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["email"] == "a.benali@exemple.fr"  # completed from the duplicate
    assert body["phone"] == "+33612345678"  # kept
    assert body["needs"] == ["job", "advice"] and body["birth_year"] == 1990
    moved = await db_session.scalar(
        select(col(Intake.candidate_id))
        .where(col(Intake.id) == intake_id)
        .execution_options(populate_existing=True)
    )
    assert moved == uuid.UUID(kept["id"])
    gone = await _fresh(db_session, duplicate["id"])
    assert gone.status is CandidateStatus.ANONYMISED
    assert gone.merged_into_id == uuid.UUID(kept["id"]) and gone.email is None
    shares = await db_session.scalars(
        select(col(CandidateShare.organisation_id)).where(
            col(CandidateShare.candidate_id) == uuid.UUID(kept["id"])
        )
    )
    assert {str(s) for s in shares} == {n.member_id, n.facilitation_id}
    self_merge = await client.post(
        f"/v1/candidates/{kept['id']}/merge",
        json={"duplicate_id": kept["id"]},
        headers=n.facilitator.headers,
    )
    assert_problem(self_merge, 409, "merge-same-candidate")
    export = await client.get(f"/v1/candidates/{kept['id']}/export", headers=n.facilitator.headers)
    assert export.json()["merged_ids"] == [duplicate["id"]]
    assert len(export.json()["intakes"]) == 1
    after = await client.get("/v1/candidates/duplicates", headers=n.facilitator.headers)
    assert after.json()["items"] == []


async def test_a_page_of_duplicates_far_past_the_end_is_empty(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    member = await db_session.get(Organisation, uuid.UUID(n.member_id))
    assert member is not None
    for _ in range(2):
        await make_candidate(db_session, member, last_name="Benali")
    huge = 10**23  # an offset beyond PostgreSQL's bigint

    response = await client.get(
        f"/v1/candidates/duplicates?page={huge}", headers=n.facilitator.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["pagination"]["total_count"] == 1


async def test_qpv_residence_is_decided_from_the_point_or_the_commune(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    # A point in the Goutte d'Or.
    placed = await _create(client, n.a1, commune_insee="75118", lon=2.3535, lat=48.8865)
    assert (placed["qpv_status"], placed["qpv_code"], placed["qpv_method"]) == (
        "in_qpv",
        "QN07511M",
        "coordinates",
    )
    assert placed["qpv_polygon_version"] and placed["qpv_checked_at"]
    criteria = f"/v1/candidates/{placed['id']}/eligibility"
    qpv = await client.post(criteria, json={"kind": "QPV_resident"}, headers=n.facilitator.headers)
    assert qpv.status_code == 201, qpv.text
    # Moving out of the quartier withdraws the criterion that followed the residence.
    away = await client.patch(
        f"/v1/candidates/{placed['id']}",
        json={"lon": 2.2945, "lat": 48.8584},
        headers={**n.a1.headers, "If-Match": "*"},
    )
    assert (away.json()["qpv_status"], away.json()["qpv_code"]) == ("outside_qpv", None)
    assert (await client.get(criteria, headers=n.facilitator.headers)).json() == []
    # A point changes or clears as a pair: one coordinate alone, even null, is refused.
    for half in ({"lon": None}, {"lat": None}, {"lat": 48.86}):
        one = await client.patch(
            f"/v1/candidates/{placed['id']}", json=half, headers={**n.a1.headers, "If-Match": "*"}
        )
        assert_problem(one, 422, "validation-failed")
    cleared = await client.patch(
        f"/v1/candidates/{placed['id']}",
        json={"lon": None, "lat": None},
        headers={**n.a1.headers, "If-Match": "*"},
    )
    assert (cleared.json()["lon"], cleared.json()["lat"]) == (None, None)
    # Saint-Denis hosts QPVs: without a point, unknown.
    city = await _create(client, n.a1, phone="07 81 22 33 44", email=None, commune_insee="93066")
    assert (city["qpv_status"], city["qpv_method"]) == ("unknown", "commune_only")
    # Moving to a village without any QPV decides it from the commune alone.
    moved = await client.patch(
        f"/v1/candidates/{city['id']}",
        json={"commune_insee": "01001"},
        headers={**n.a1.headers, "If-Match": "*"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["qpv_status"], moved.json()["qpv_method"]) == (
        "outside_qpv",
        "commune_only",
    )
    lonely = await client.post(
        "/v1/candidates", json=_person(lon=2.35, phone=None, email=None), headers=n.a1.headers
    )
    assert_problem(lonely, 422, "validation-failed")
    abroad = await client.post(
        "/v1/candidates",
        json=_person(lon=13.4, lat=52.5, phone=None, email=None),
        headers=n.a1.headers,
    )
    assert assert_problem(abroad, 422, "validation-failed")["errors"] == [
        {
            "loc": ["body", "lon"],
            "message": "coordonnées hors de France : vérifiez la longitude et la latitude",
            "type": "coordinates-outside-france",
        }
    ]


async def test_an_address_goes_to_the_geocoding_queue_not_to_the_request(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    n = await make_network(db_session, settings)

    async def stored(candidate_id: str) -> Candidate:
        candidate = await db_session.get(Candidate, uuid.UUID(candidate_id))
        assert candidate is not None
        await db_session.refresh(candidate)
        return candidate

    # An address without a point: decided from the commune now, geocoded by the job later.
    written = await _create(client, n.a1, commune_insee="75118", address="12 rue des Gardes")
    assert (written["qpv_status"], written["qpv_method"]) == ("unknown", "commune_only")
    queued = await stored(written["id"])
    assert (queued.geocoding_due_at, queued.geocoding_attempts) == (clock.now(), 0)
    # Say the job placed it from the address; then the person moves: the old point is dropped
    # and the new address queued again.
    queued.lon, queued.lat, queued.qpv_method = 2.3535, 48.8865, QpvMethod.GEOCODED_ADDRESS
    queued.geocoding_due_at = None
    await db_session.flush()
    clock.advance(timedelta(minutes=5))
    moved = await client.patch(
        f"/v1/candidates/{written['id']}",
        json={"address": "3 rue Riquet"},
        headers={**n.a1.headers, "If-Match": "*"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["lon"], moved.json()["qpv_method"]) == (None, "commune_only")
    assert (await stored(written["id"])).geocoding_due_at == clock.now()
    # A point sent by the client decides: nothing to geocode.
    pointed = await _create(
        client,
        n.a1,
        phone="07 81 22 33 45",
        email=None,
        commune_insee="75118",
        address="12 rue des Gardes",
        lon=2.3535,
        lat=48.8865,
    )
    assert (await stored(pointed["id"])).geocoding_due_at is None


async def test_a_nul_character_anywhere_is_a_french_422_and_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    n = await make_network(db_session, settings)
    before = await count(db_session, Candidate)
    # In a JSON body (PostgreSQL refuses the text; no field escapes the rule).
    written = await client.post(
        "/v1/candidates", json=_person(first_name="Aï\u0000cha"), headers=n.a1.headers
    )
    problem = assert_problem(written, 422, "invalid-character")
    assert "\u0000" not in written.text and "Aï" not in written.text
    assert "caractère nul" in str(problem["detail"])
    assert await count(db_session, Candidate) == before
    # In a free text of a change: refused, the stored person unchanged.
    created = await _create(client, n.a1)
    changed = await client.patch(
        f"/v1/candidates/{created['id']}",
        json={"sectors_wanted_other": "cariste\u0000"},
        headers={**n.a1.headers, "If-Match": "*"},
    )
    assert_problem(changed, 422, "invalid-character")
    read = await client.get(f"/v1/candidates/{created['id']}", headers=n.a1.headers)
    assert read.json()["sectors_wanted_other"] == "cariste"


async def test_search_pages_are_in_order_and_whole(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, clock: FrozenClock
) -> None:
    n = await make_network(db_session, settings)
    made = []
    for number in range(5):
        clock.advance(timedelta(minutes=1))
        made.append(
            await _create(
                client,
                n.a1,
                first_name=f"Prénom{number}",
                last_name="Martin",
                phone=f"06 12 34 56 {number:02d}",
                email=None,
            )
        )
    newest_first = [person["id"] for person in reversed(made)]
    pages = []
    for page in (1, 2, 3):
        response = await client.post(
            f"/v1/candidates/search?page={page}&limit=2",
            json={"q": "martin"},
            headers=n.a1.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["pagination"]["total_count"] == 5
        pages.append([item["id"] for item in response.json()["items"]])
    assert pages == [newest_first[:2], newest_first[2:4], newest_first[4:]]
    # A phone finds its person only, not the namesakes.
    by_phone = await client.post(
        "/v1/candidates/search", json={"q": "0612345603"}, headers=n.a1.headers
    )
    assert [item["id"] for item in by_phone.json()["items"]] == [made[3]["id"]]


async def test_a_name_with_digits_is_a_name_not_a_keypad_phone_number(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    # "matrice77034b6c" reads as a valid number on a phone keypad (letters → digits).
    n = await make_network(db_session, settings)
    made = await _create(
        client, n.a1, first_name="Test", last_name="Matrice77034b6c", phone=None, email=None
    )
    found = await client.post(
        "/v1/candidates/search", json={"q": "matrice77034b6c"}, headers=n.a1.headers
    )
    assert [item["id"] for item in found.json()["items"]] == [made["id"]]
