"""Placements and hours statements through the API (product.md §8.3–8.4, decisions 0076, 0077):
lines one by one, in a batch, in the generated template filled by openpyxl; whole refusals; the
company's and the buyer's access; audited reads; a hire's draft placement."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.clock import FrozenClock
from services.core.models.attribution import AttributionRole
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate
from services.core.models.contract import Contract, ContractLot
from services.core.models.eligibility import EligibilityKind
from services.core.models.match import MatchStatus
from services.core.models.offer import ContractType, OfferStatus
from services.core.models.organisation import Organisation
from services.core.models.placement import Placement, PlacementStatus, StatementLine
from services.core.settings import Settings
from tests.api.clause import count, errors_of
from tests.api.conftest import assert_problem
from tests.api.ledger import Ledger, make_ledger
from tests.factories import make_match, make_offer

pytestmark = pytest.mark.usefixtures("reference_data")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def ledger(db_session: AsyncSession, settings: Settings, clock: FrozenClock) -> Ledger:
    clock.set(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))
    return await make_ledger(db_session, settings)


async def _audited(session: AsyncSession, response: httpx.Response) -> list[AuditEntry]:
    return list(
        await session.scalars(
            select(AuditEntry).where(col(AuditEntry.request_id) == response.headers["x-request-id"])
        )
    )


async def test_a_placement_is_started_flagged_and_accepted_as_an_exception(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    eligible = await ledger.participant(birth_year=1972)
    nobody = await ledger.participant(criteria=(), birth_year=2003)
    path = f"/v1/attributions/{attribution}/placements"
    body = {
        "candidate_id": eligible,
        "contract_type": "CDD",
        "rome_code": "F1703",
        "start_date": "2026-04-01",
        "end_date": "2026-09-30",
        "weekly_hours": "35",
        "qualification_level": "level_3",
    }
    created = await client.post(path, json=body, headers=ledger.facilitator)
    assert created.status_code == 201, created.text
    placement = created.json()
    assert placement["status"] == "draft"
    assert placement["participant"]["id"] == eligible
    started = await client.post(
        f"/v1/placements/{placement['id']}/start", headers=ledger.facilitator
    )
    assert started.status_code == 200, started.text
    frozen = started.json()
    assert frozen["status"] == "active"
    assert frozen["eligibility_criteria"] == ["RSA"]
    assert (frozen["age_bracket"], frozen["qpv_resident"], frozen["sex"]) == ("50+", True, "female")
    assert frozen["eligibility_flagged"] is False
    refused = await client.post(
        f"/v1/placements/{placement['id']}/exception",
        json={"reason": "Parcours validé en commission"},
        headers=ledger.facilitator,
    )
    assert_problem(refused, 409, "placement-not-flagged")

    other = await client.post(
        path, json={**body, "candidate_id": nobody}, headers=ledger.facilitator
    )
    other_id = other.json()["id"]
    flagged = await client.post(f"/v1/placements/{other_id}/start", headers=ledger.facilitator)
    assert flagged.json()["eligibility_flagged"] is True
    assert flagged.json()["age_bracket"] == "<26"
    accepted = await client.post(
        f"/v1/placements/{other_id}/exception",
        json={"reason": "Parcours validé en commission"},
        headers=ledger.facilitator,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["exception_reason"] == "Parcours validé en commission"

    # Checked whole: an unknown person, a provision by the holder itself, dates out of order.
    bad = await client.post(
        path,
        json={
            **body,
            "candidate_id": str(uuid.uuid4()),
            "modality": "provision",
            "end_date": "2026-01-01",
            "rome_code": "Z9999",
        },
        headers=ledger.facilitator,
    )
    problem = assert_problem(bad, 422, "validation-failed")
    assert {e["loc"][-1] for e in errors_of(problem)} == {
        "candidate_id",
        "end_date",
        "modality",  # the holder is no temporary-work company
        "rome_code",
    }
    # Who may not: the company itself creates nothing, the buyer reads nothing.
    assert_problem(
        await client.post(path, json=body, headers=ledger.holder_staff), 403, "forbidden"
    )
    read = await client.get(f"/v1/placements/{other_id}", headers=ledger.buyer_user)
    assert_problem(read, 404, "not-found")
    assert_problem(await client.get("/v1/placements", headers=ledger.buyer_user), 403, "forbidden")
    # Every read of a participant is audited.
    mine = await client.get(f"/v1/placements/{other_id}", headers=ledger.holder_staff)
    assert mine.status_code == 200, mine.text
    entries = await _audited(db_session, mine)
    assert [(e.action, e.resource_type, str(e.resource_id)) for e in entries] == [
        ("read", "placement", other_id)
    ]


async def test_a_company_sees_only_its_own_placements(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    holder = await ledger.attribution(ledger.holder_id, ledger.lot1)
    rival = await ledger.attribution(ledger.rival_id, ledger.lot2)
    subcontracted = await ledger.attribution(
        ledger.aci_id, ledger.lot1, AttributionRole.SUBCONTRACTOR, parent=holder
    )
    own = await ledger.placement(holder)
    theirs = await ledger.placement(rival)
    by_aci = await ledger.placement(subcontracted)

    async def listed(headers: dict[str, str]) -> set[str]:
        response = await client.get("/v1/placements?limit=100", headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await listed(ledger.holder_staff) == {own}
    assert await listed(ledger.rival_staff) == {theirs}
    assert await listed(ledger.aci_staff) == {by_aci}
    assert await listed(ledger.facilitator) == {own, theirs, by_aci}
    for path in (f"/v1/placements/{theirs}", f"/v1/hours-statements?placement_id={theirs}"):
        response = await client.get(path, headers=ledger.holder_staff)
        if path.startswith("/v1/placements"):
            assert_problem(response, 404, "not-found")
        else:
            assert response.json()["items"] == []
    template = await client.get(
        f"/v1/attributions/{rival}/statement-template?period=2026-05", headers=ledger.holder_staff
    )
    assert_problem(template, 404, "not-found")
    # Declaring for another company's placement: unknown, nothing stored.
    refused = await client.post(
        "/v1/hours-statements",
        json={"placement_id": theirs, "month": "2026-05", "hours_worked": "100"},
        headers=ledger.holder_staff,
    )
    problem = assert_problem(refused, 422, "validation-failed")
    assert errors_of(problem) == [
        {"loc": ["body", "placement_id"], "message": "mise en emploi inconnue", "type": "unknown"}
    ]
    assert await count(db_session, StatementLine) == 0


async def test_lines_declared_validated_and_rejected(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    a = await ledger.placement(attribution)  # 9 March – 18 December 2026
    b = await ledger.placement(attribution, start=date(2026, 6, 1), end=None)
    one = await client.post(
        "/v1/hours-statements",
        json={"placement_id": a, "month": "2026-04", "hours_worked": "151.67"},
        headers=ledger.holder_staff,
    )
    assert one.status_code == 201, one.text
    (line,) = one.json()["lines"]
    assert (line["month"], line["hours_worked"], line["status"], line["source"]) == (
        "2026-04",
        "151.67",
        "declared",
        "api",
    )
    # A batch with impossible lines: every one named, nothing stored.
    refused = await client.post(
        "/v1/hours-statements",
        json={
            "lines": [
                {"placement_id": a, "month": "2026-05", "hours_worked": "140"},
                {"placement_id": a, "month": "2026-06", "hours_worked": "300"},
                {"placement_id": b, "month": "2026-05", "hours_worked": "20"},
                {
                    "placement_id": a,
                    "month": "2026-07",
                    "hours_worked": "20",
                    "training_hours": "21",
                },
                {"placement_id": a, "month": "2027-01", "hours_worked": "20"},
            ]
        },
        headers=ledger.holder_staff,
    )
    problem = assert_problem(refused, 422, "validation-failed")
    assert problem["detail"] == "4 ligne(s) refusée(s) : rien n'a été enregistré."
    found = {(e["loc"][2], e["loc"][3]): e["message"] for e in errors_of(problem)}
    assert found == {
        (1, "hours_worked"): "300 h dans un mois : c'est plus que les 220 h possibles",
        (2, "month"): "05/2026 est hors de la mise en emploi (du 01/06/2026)",
        (3, "training_hours"): "les heures de formation dépassent les heures travaillées",
        # January 2027 is both outside the placement and not begun yet (16 November 2026).
        (4, "month"): "01/2027 n'a pas encore commencé",
    }
    assert await count(db_session, StatementLine) == 1

    batch = await client.post(
        "/v1/hours-statements",
        json={
            "lines": [
                {
                    "placement_id": a,
                    "month": "2026-05",
                    "hours_worked": "140",
                    "training_hours": "14",
                },
                {"placement_id": b, "month": "2026-06", "hours_worked": "80"},
            ]
        },
        headers=ledger.facilitator,
    )
    assert batch.status_code == 201, batch.text
    assert {line["source"] for line in batch.json()["lines"]} == {"facilitator"}
    may, june = (line["id"] for line in batch.json()["lines"])

    assert_problem(
        await client.post(f"/v1/hours-statements/{may}/validate", headers=ledger.holder_staff),
        403,
        "forbidden",
    )
    validated = await client.post(
        f"/v1/hours-statements/{may}/validate", headers=ledger.facilitator
    )
    assert validated.status_code == 200, validated.text
    assert validated.json()["status"] == "validated"
    no_reason = await client.post(
        f"/v1/hours-statements/{june}/reject", json={}, headers=ledger.facilitator
    )
    assert_problem(no_reason, 422, "validation-failed")
    rejected = await client.post(
        f"/v1/hours-statements/{june}/reject",
        json={"reason": "Heures non justifiées par les fiches de paie"},
        headers=ledger.facilitator,
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Heures non justifiées par les fiches de paie"
    again = await client.post(f"/v1/hours-statements/{may}/validate", headers=ledger.facilitator)
    assert_problem(again, 409, "statement-already-decided")
    # A validated month no longer changes; a rejected one is declared again.
    redeclared = await client.post(
        "/v1/hours-statements",
        json={"lines": [{"placement_id": b, "month": "2026-06", "hours_worked": "70"}]},
        headers=ledger.holder_staff,
    )
    assert redeclared.status_code == 201, redeclared.text
    assert redeclared.json()["lines"][0]["status"] == "declared"
    frozen = await client.post(
        "/v1/hours-statements",
        json={"placement_id": a, "month": "2026-05", "hours_worked": "1"},
        headers=ledger.holder_staff,
    )
    problem = assert_problem(frozen, 422, "validation-failed")
    assert errors_of(problem)[0]["message"] == (
        "les heures de 05/2026 sont déjà validées : elles ne changent plus"
    )
    listed = await client.get(
        f"/v1/hours-statements?attribution_id={attribution}&status=validated",
        headers=ledger.holder_staff,
    )
    assert [line["id"] for line in listed.json()["items"]] == [may]
    entries = await _audited(db_session, listed)
    assert [(e.action, e.resource_type) for e in entries] == [("list", "statement_line")]
    assert_problem(
        await client.get("/v1/hours-statements", headers=ledger.buyer_user), 403, "forbidden"
    )


async def test_the_template_filled_by_openpyxl_round_trips(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    first = await ledger.placement(attribution, await ledger.participant(last_name="Zola"))
    second = await ledger.placement(attribution, await ledger.participant(last_name="Abdi"))
    await ledger.placement(attribution, start=date(2026, 7, 1))  # not there in May
    await ledger.placement(attribution, started=False)  # a draft
    response = await client.get(
        f"/v1/attributions/{attribution}/statement-template?period=2026-05",
        headers=ledger.holder_staff,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert "releve-heures-2026-05.xlsx" in response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == (
        "Identifiant de la mise en emploi",
        "Participant",
        "Début",
        "Fin",
        "Mois (AAAA-MM)",
        "Heures travaillées",
        "Dont heures de formation",
    )
    assert [row[0] for row in rows[1:]] == [second, first]  # by name
    assert [row[4] for row in rows[1:]] == ["2026-05", "2026-05"]
    entries = await _audited(db_session, response)
    assert [(e.action, e.resource_type) for e in entries] == [("list", "placement")]

    sheet["F2"], sheet["G2"] = 151.67, 10
    sheet["F3"] = "120,5"
    filled = io.BytesIO()
    workbook.save(filled)
    imported = await client.post(
        "/v1/hours-statements/import",
        content=filled.getvalue(),
        headers={**ledger.holder_staff, "Content-Type": XLSX},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"stored": 2, "skipped": 0}
    stored = {
        str(line.placement_id): (line.hours_worked, line.training_hours, line.source.value)
        for line in await db_session.scalars(select(StatementLine))
    }
    assert stored == {
        second: (Decimal("151.67"), Decimal("10.00"), "import"),
        first: (Decimal("120.50"), Decimal("0.00"), "import"),
    }

    csv = await client.get(
        f"/v1/attributions/{attribution}/statement-template?period=2026-05&format=csv",
        headers=ledger.facilitator,
    )
    assert csv.status_code == 200, csv.text
    assert csv.content.startswith(b"\xef\xbb\xbf")
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].split(";")[0] == "Identifiant de la mise en emploi"
    assert text.count("\r\n") == 3


async def test_a_file_with_a_bad_line_stores_nothing_and_names_each_one(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    good = await ledger.placement(attribution)  # 9 March – 18 December 2026
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Identifiant de la mise en emploi", "Mois (AAAA-MM)", "Heures travaillées"])
    sheet.append([good, "2026-04", 140])  # line 2: fine
    sheet.append([str(uuid.uuid4()), "2026-04", 140])  # 3: unknown placement
    sheet.append([good, "2026-05", 300])  # 4: 300 h in a month
    sheet.append([good, "2026-01", 20])  # 5: a month outside the placement
    sheet.append([good, "2026-06", "beaucoup"])  # 6: text in a number cell
    sheet.append([good, "2026-07", None])  # 7: nothing filled in: skipped
    content = io.BytesIO()
    workbook.save(content)
    response = await client.post(
        "/v1/hours-statements/import",
        content=content.getvalue(),
        headers={**ledger.facilitator, "Content-Type": XLSX},
    )
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["detail"] == "4 ligne(s) refusée(s) : rien n'a été enregistré."
    assert [(e["loc"], e["message"]) for e in errors_of(problem)] == [
        (["file", 3, "Identifiant de la mise en emploi"], "mise en emploi inconnue"),
        (
            ["file", 4, "Heures travaillées"],
            "300 h dans un mois : c'est plus que les 220 h possibles",
        ),
        (
            ["file", 5, "Mois (AAAA-MM)"],
            "01/2026 est hors de la mise en emploi (du 09/03/2026 au 18/12/2026)",
        ),
        (["file", 6, "Heures travaillées"], "nombre attendu"),
    ]
    assert await count(db_session, StatementLine) == 0

    # The same as CSV (French Excel: BOM, ";", decimal comma).
    csv = (
        "\ufeffIdentifiant de la mise en emploi;Mois (AAAA-MM);Heures travaillées\r\n"
        f"{good};2026-04;140,5\r\n"
        f"{good};2026-05;300\r\n"
    ).encode()
    refused = await client.post(
        "/v1/hours-statements/import",
        content=csv,
        headers={**ledger.facilitator, "Content-Type": "text/csv"},
    )
    problem = assert_problem(refused, 422, "validation-failed")
    assert [e["loc"] for e in errors_of(problem)] == [["file", 3, "Heures travaillées"]]
    fixed = await client.post(
        "/v1/hours-statements/import",
        content=csv.replace(b";300\r\n", b";30\r\n"),
        headers={**ledger.facilitator, "Content-Type": "text/csv"},
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json() == {"stored": 2, "skipped": 0}
    not_a_template = await client.post(
        "/v1/hours-statements/import",
        content=b"nom;heures\r\nDupont;12\r\n",
        headers={**ledger.facilitator, "Content-Type": "text/csv"},
    )
    assert_problem(not_a_template, 400, "bad-request")
    # The file as a form field, as a browser form would send it: told to send the file itself.
    as_form = await client.post(
        "/v1/hours-statements/import",
        files={"file": ("releve.csv", csv, "text/csv")},
        headers=ledger.facilitator,
    )
    assert "pas un formulaire multipart" in str(
        assert_problem(as_form, 400, "bad-request")["detail"]
    )


async def test_a_hire_on_a_clause_offer_drafts_its_placement(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    holder = await db_session.get(Organisation, uuid.UUID(ledger.holder_id))
    contract = await db_session.get(Contract, uuid.UUID(ledger.contract_id))
    lot = await db_session.get(ContractLot, uuid.UUID(ledger.lot1))
    candidate = await db_session.get(
        Candidate, uuid.UUID(await ledger.participant(criteria=(EligibilityKind.DELD,)))
    )
    assert holder is not None and contract is not None and lot is not None
    assert candidate is not None
    candidate_id = str(candidate.id)
    offer = await make_offer(
        db_session, holder, status=OfferStatus.OPEN, contract=contract, lot=lot
    )
    match = await make_match(db_session, offer, candidate, status=MatchStatus.PROPOSED_TO_EMPLOYER)
    match_id = str(match.id)
    hired = await client.post(
        f"/v1/matches/{match_id}/transitions", json={"to": "hired"}, headers=ledger.holder_staff
    )
    assert hired.status_code == 200, hired.text
    placement = await db_session.scalar(
        select(Placement).where(col(Placement.match_id) == uuid.UUID(match_id))
    )
    assert placement is not None
    assert str(placement.attribution_id) == attribution
    assert placement.status is PlacementStatus.DRAFT
    assert str(placement.candidate_id) == candidate_id
    assert placement.contract_type is ContractType.CDD
    assert placement.rome_code == "F1703"
    assert placement.start_date == date(2026, 11, 16)  # the offer's start had passed
    entries = await _audited(db_session, hired)
    assert ("create", "placement", placement.id) in [
        (e.action, e.resource_type, e.resource_id) for e in entries
    ]
