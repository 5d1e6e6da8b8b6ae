"""What the employer reads of a person proposed to it (decision 0049): name, phone, e-mail and
CV once the match is ``proposed_to_employer`` (or ``hired``), audited; nothing before, nothing
after a decline or a withdrawal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.candidate import Candidate
from services.core.models.intake import Intake, IntakeFile, IntakeFileKind, IntakeSource
from services.core.models.match import MatchStatus
from services.core.models.offer import OfferStatus
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from services.core.storage import create_storage
from services.core.storage.base import new_key
from tests.api.conftest import assert_problem
from tests.api.identity import Account, account, audit_entries
from tests.factories import make_candidate, make_match, make_offer, make_organisation

pytestmark = pytest.mark.usefixtures("reference_data", "clock")

CV = b"%PDF-1.4\n% CV de test\n%%EOF\n"


@dataclass(frozen=True)
class Shortlist:
    agency: Organisation
    employer: Organisation
    prescriber: Account
    boss: Account
    rival: Account
    desk: Account


@pytest.fixture
async def shortlist(db_session: AsyncSession, settings: Settings) -> Shortlist:
    agency = await make_organisation(db_session, kind=OrganisationKind.FRANCE_TRAVAIL)
    employer = await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)
    rival = await make_organisation(db_session, kind=OrganisationKind.EMPLOYER)
    return Shortlist(
        agency=agency,
        employer=employer,
        prescriber=await account(db_session, agency, Role.PRESCRIBER, settings),
        boss=await account(db_session, employer, Role.EMPLOYER, settings),
        rival=await account(db_session, rival, Role.EMPLOYER, settings),
        desk=await account(db_session, agency, Role.RECEPTION, settings),
    )


async def _person(
    db_session: AsyncSession, settings: Settings, world: Shortlist, n: int
) -> tuple[Candidate, str, str]:
    """A candidate with a CV and a scanned form; the ids of both files."""
    candidate = await make_candidate(
        db_session,
        world.agency,
        phone_e164=f"+3361234{n:04d}",
        email=f"personne{n}@exemple.fr",
    )
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=world.agency.id,
        source=IntakeSource.KIOSK,
        deposit_date=date(2026, 2, 23),
    )
    db_session.add(intake)
    await db_session.flush()
    ids = []
    for kind, content in ((IntakeFileKind.CV, CV), (IntakeFileKind.FORM, b"%PDF-1.4\n%%EOF\n")):
        stored = await create_storage(settings).put(new_key(), content)
        row = IntakeFile(
            intake_id=intake.id,
            kind=kind,
            storage_key=stored.key,
            original_name=f"{kind.value}.pdf",
            content_type="application/pdf",
            size=stored.size,
            sha256=stored.sha256,
        )
        db_session.add(row)
        await db_session.flush()
        ids.append(str(row.id))
    return candidate, ids[0], ids[1]


async def test_the_employer_reads_a_proposed_persons_contact_and_cv_audited(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, shortlist: Shortlist
) -> None:
    offer = await make_offer(db_session, shortlist.employer, status=OfferStatus.OPEN)
    candidate, cv_id, form_id = await _person(db_session, settings, shortlist, 1)
    match = await make_match(db_session, offer, candidate, status=MatchStatus.PROPOSED_TO_EMPLOYER)
    match_id, candidate_id = str(match.id), str(candidate.id)
    await db_session.commit()

    response = await client.get(f"/v1/matches/{match_id}/contact", headers=shortlist.boss.headers)
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["candidate_id"] == candidate_id
    assert (card["phone"], card["email"]) == ("+33612340001", "personne1@exemple.fr")
    assert card["last_name"] and card["first_name"] == "Aïcha"
    # The CV, never the scanned form (which says more than the employer needs).
    assert [item["id"] for item in card["cv_files"]] == [cv_id]
    download = await client.get(
        card["cv_files"][0]["download_path"], headers=shortlist.boss.headers
    )
    assert download.status_code == 200, download.text
    assert download.content == CV
    form = await client.get(f"/v1/matches/{match_id}/cv/{form_id}", headers=shortlist.boss.headers)
    assert_problem(form, 404, "not-found")
    reads = await audit_entries(
        db_session, resource_type="candidate", actor_id=uuid.UUID(shortlist.boss.id)
    )
    assert [(e.action, str(e.resource_id), e.details["match_id"]) for e in reads] == [
        ("read", candidate_id, match_id),
        ("download", candidate_id, match_id),
    ]
    assert reads[0].details["fields"] == ["first_name", "last_name", "phone_e164", "email"]
    # Another employer, a front desk: nothing.
    assert_problem(
        await client.get(f"/v1/matches/{match_id}/contact", headers=shortlist.rival.headers),
        404,
        "not-found",
    )
    assert_problem(
        await client.get(f"/v1/matches/{match_id}/contact", headers=shortlist.desk.headers),
        403,
        "forbidden",
    )


async def test_nothing_before_the_proposal_nor_after_a_decline_or_withdrawal(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, shortlist: Shortlist
) -> None:
    offer = await make_offer(db_session, shortlist.employer, status=OfferStatus.OPEN)
    matches: dict[str, str] = {}
    for n, (name, path) in enumerate(
        {
            "suggested": (MatchStatus.SUGGESTED,),
            "contacted": (MatchStatus.CONTACTED,),
            "declined": (
                MatchStatus.CONTACTED,
                MatchStatus.PROPOSED_TO_EMPLOYER,
                MatchStatus.DECLINED,
            ),
            "withdrawn": (
                MatchStatus.CONTACTED,
                MatchStatus.PROPOSED_TO_EMPLOYER,
                MatchStatus.WITHDRAWN,
            ),
            "hired": (
                MatchStatus.CONTACTED,
                MatchStatus.PROPOSED_TO_EMPLOYER,
                MatchStatus.HIRED,
            ),
        }.items(),
        start=2,
    ):
        candidate, _, _ = await _person(db_session, settings, shortlist, n)
        matches[name] = str((await make_match(db_session, offer, candidate, path=path)).id)
    offer_id = str(offer.id)
    await db_session.commit()

    def contact(name: str) -> str:
        return f"/v1/matches/{matches[name]}/contact"

    for name in ("suggested", "contacted"):
        response = await client.get(contact(name), headers=shortlist.boss.headers)
        assert_problem(response, 404, "not-found")  # no such shortlist entry for the employer
    for name in ("declined", "withdrawn"):
        response = await client.get(contact(name), headers=shortlist.boss.headers)
        problem = assert_problem(response, 409, "match-not-proposed")
        assert "+336" not in response.text and "@" not in str(problem["detail"])
    hired = await client.get(contact("hired"), headers=shortlist.boss.headers)
    assert hired.status_code == 200, hired.text
    # The shortlist itself carries no contact detail.
    listed = await client.get(f"/v1/offers/{offer_id}/matches", headers=shortlist.boss.headers)
    assert "+336" not in listed.text and "exemple.fr" not in listed.text
    # The counsellor who sees the person reads the same card at any status.
    early = await client.get(contact("suggested"), headers=shortlist.prescriber.headers)
    assert early.status_code == 200, early.text
