"""Obligations and attributions through the API (product.md §8.1–8.2, decisions 0074, 0076)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.models.attribution import AttributionRole
from services.core.models.obligation import Obligation
from services.core.settings import Settings
from tests.api.clause import count, errors_of
from tests.api.conftest import assert_problem
from tests.api.ledger import Ledger, make_ledger

pytestmark = pytest.mark.usefixtures("reference_data", "clock")


@pytest.fixture
async def ledger(db_session: AsyncSession, settings: Settings) -> Ledger:
    return await make_ledger(db_session, settings)


def labour_share(lot: str, **changes: Any) -> dict[str, Any]:
    return {
        "lot_id": lot,
        "method": "labour_share",
        "amount": "1000000",
        "labour_share_percent": "50",
        "insertion_rate_percent": "5",
        "hourly_cost": "30",
        "eligible_publics": ["RSA", "DELD"],
        "allowed_modalities": ["direct_hire", "provision"],
        "training_counts": True,
        "cdi_cap_years": 4,
        "penalty_per_missing_hour": "200",
        "anru_family": "investment",
        "budget_plan_line": "Maquette ANRU — ligne 12",
        **changes,
    }


async def test_labour_share_owes_833_hours(client: httpx.AsyncClient, ledger: Ledger) -> None:
    path = f"/v1/contracts/{ledger.contract_id}/obligations"
    response = await client.post(path, json=labour_share(ledger.lot1), headers=ledger.facilitator)
    assert response.status_code == 201, response.text
    obligation = response.json()
    assert obligation["hours_owed"] == "833.00"
    assert obligation["method_label"] == "Part de main-d'œuvre du montant du marché"
    assert obligation["statement_schedule"] == "quarterly"
    assert obligation["statement_due_day"] == 15
    assert obligation["eligible_publics"] == ["DELD", "RSA"]
    assert response.headers["location"] == f"/v1/obligations/{obligation['id']}"

    read = await client.get(response.headers["location"], headers=ledger.buyer_user)
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == response.headers["etag"]

    # A parameter changed: the hours owed follow (1,200,000 € → 1,000 h).
    patched = await client.patch(
        response.headers["location"],
        json={"amount": "1200000"},
        headers={**ledger.facilitator, "If-Match": response.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["hours_owed"] == "1000.00"
    stale = await client.patch(
        response.headers["location"],
        json={"amount": "1"},
        headers={**ledger.facilitator, "If-Match": response.headers["etag"]},
    )
    assert_problem(stale, 412, "precondition-failed")

    # Hours owed are never typed.
    typed = await client.patch(
        response.headers["location"],
        json={"hours_owed": "5"},
        headers={**ledger.facilitator, "If-Match": patched.headers["etag"]},
    )
    assert_problem(typed, 422, "validation-failed")

    again = await client.post(path, json=labour_share(ledger.lot1), headers=ledger.facilitator)
    assert_problem(again, 409, "obligation-exists")


async def test_the_methods_parameters_are_checked_together(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    path = f"/v1/contracts/{ledger.contract_id}/obligations"
    body = labour_share(ledger.lot1, hourly_cost=None, fixed_hours="700")
    del body["lot_id"]
    response = await client.post(path, json=body, headers=ledger.facilitator)
    problem = assert_problem(response, 422, "validation-failed")
    by_field = {e["loc"][-1]: e["message"] for e in errors_of(problem)}
    assert by_field == {
        "lot_id": "ce marché a des lots : indiquez le lot",
        "fixed_hours": "sans objet pour la méthode « Part de main-d'œuvre du montant du marché »",
        "hourly_cost": "obligatoire pour la méthode « Part de main-d'œuvre du montant du marché »",
    }
    assert await count(db_session, Obligation) == 0


async def test_per_invoiced_tranche_follows_the_declared_amounts(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    created = await client.post(
        f"/v1/contracts/{ledger.contract_id}/obligations",
        json={
            "lot_id": ledger.lot2,
            "method": "per_invoiced_tranche",
            "tranche_amount": "2000",
            "tranche_threshold": "2700000",
        },
        headers=ledger.facilitator,
    )
    assert created.status_code == 201, created.text
    obligation = created.json()
    assert obligation["hours_owed"] == "0.00"
    declarations = f"/v1/obligations/{obligation['id']}/declarations"
    for start, end, amount in (
        ("2026-01-01", "2026-06-30", "1500000"),
        ("2026-07-01", "2026-12-31", "1210000"),
    ):
        response = await client.post(
            declarations,
            json={"period_start": start, "period_end": end, "amount_invoiced": amount},
            headers=ledger.facilitator,
        )
        assert response.status_code == 200, response.text
    read = await client.get(f"/v1/obligations/{obligation['id']}", headers=ledger.facilitator)
    assert read.json()["hours_owed"] == "5.00"  # 2,710,000 € invoiced
    # The same period again replaces it.
    replaced = await client.post(
        declarations,
        json={"period_start": "2026-07-01", "period_end": "2026-12-31", "amount_invoiced": "0"},
        headers=ledger.facilitator,
    )
    assert replaced.status_code == 200, replaced.text
    listed = await client.get(declarations, headers=ledger.buyer_user)
    assert [d["amount_invoiced"] for d in listed.json()["items"]] == ["1500000.00", "0.00"]
    read = await client.get(f"/v1/obligations/{obligation['id']}", headers=ledger.facilitator)
    assert read.json()["hours_owed"] == "0.00"
    # Companies read, never write.
    refused = await client.post(
        declarations,
        json={"period_start": "2026-01-01", "period_end": "2026-06-30", "hours_worked": "1"},
        headers=ledger.holder_staff,
    )
    assert_problem(refused, 403, "forbidden")


async def test_hours_per_year_follow_the_contracts_dates(
    client: httpx.AsyncClient, ledger: Ledger
) -> None:
    created = await client.post(
        f"/v1/contracts/{ledger.contract_id}/obligations",
        json={"lot_id": ledger.lot1, "method": "hours_per_year", "hours_per_year": "110"},
        headers=ledger.facilitator,
    )
    # 5 January 2026 – 30 June 2027: 542 days → 110 × 542 / 365 = 163.3 → 163 h
    assert created.json()["hours_owed"] == "163.00"
    contract = await client.get(f"/v1/contracts/{ledger.contract_id}", headers=ledger.facilitator)
    moved = await client.patch(
        f"/v1/contracts/{ledger.contract_id}",
        json={"end_date": "2027-01-04"},
        headers={**ledger.facilitator, "If-Match": contract.headers["etag"]},
    )
    assert moved.status_code == 200, moved.text
    read = await client.get(created.headers["location"], headers=ledger.facilitator)
    assert read.json()["hours_owed"] == "110.00"  # 365 days


async def test_attributions(client: httpx.AsyncClient, ledger: Ledger) -> None:
    path = f"/v1/contracts/{ledger.contract_id}/attributions"
    holder = await client.post(
        path,
        json={"lot_id": ledger.lot1, "organisation_id": ledger.holder_id, "role": "holder"},
        headers=ledger.facilitator,
    )
    assert holder.status_code == 201, holder.text
    sub = await client.post(
        path,
        json={
            "lot_id": ledger.lot1,
            "organisation_id": ledger.aci_id,
            "role": "subcontractor",
            "allocated_share_percent": "25",
            "parent_attribution_id": holder.json()["id"],
        },
        headers=ledger.facilitator,
    )
    assert sub.status_code == 201, sub.text
    assert sub.json()["role_label"] == "Sous-traitant"
    twice = await client.post(
        path,
        json={"lot_id": ledger.lot1, "organisation_id": ledger.holder_id, "role": "holder"},
        headers=ledger.facilitator,
    )
    assert_problem(twice, 409, "attribution-exists")
    wrong = await client.post(
        path,
        json={
            "lot_id": ledger.lot2,
            "organisation_id": ledger.rival_id,
            "role": "subcontractor",
            "parent_attribution_id": holder.json()["id"],
        },
        headers=ledger.facilitator,
    )
    problem = assert_problem(wrong, 422, "validation-failed")
    assert [e["loc"] for e in errors_of(problem)] == [["body", "parent_attribution_id"]]

    # Each company sees its own; the buyer and the facilitator all of the contract's.
    async def listed(headers: dict[str, str]) -> set[str]:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return {item["organisation_id"] for item in response.json()["items"]}

    assert await listed(ledger.facilitator) == {ledger.holder_id, ledger.aci_id}
    assert await listed(ledger.buyer_user) == {ledger.holder_id, ledger.aci_id}
    assert await listed(ledger.aci_staff) == {ledger.aci_id}
    other = await client.get(f"/v1/attributions/{holder.json()['id']}", headers=ledger.aci_staff)
    assert_problem(other, 404, "not-found")
    assert_problem(await client.get(path, headers=ledger.other_facilitator), 404, "not-found")
    assert_problem(await client.get(path, headers=ledger.prescriber), 403, "forbidden")
    # Deleting the holder's attribution is refused while its subcontractor hangs on it.
    read = await client.get(f"/v1/attributions/{holder.json()['id']}", headers=ledger.facilitator)
    refused = await client.delete(
        f"/v1/attributions/{holder.json()['id']}",
        headers={**ledger.facilitator, "If-Match": read.headers["etag"]},
    )
    assert_problem(refused, 409, "attribution-in-use")
    assert AttributionRole.SUBCONTRACTOR.value == "subcontractor"
