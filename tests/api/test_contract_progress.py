"""``GET /v1/contracts/{id}/progress``: aggregates for the facilitator and the buyer, never a
participant (product.md §8.6–8.7, decisions 0074, 0076)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.clock import now
from services.core.models.obligation import Obligation, ObligationMethod
from services.core.models.placement import StatementLine, StatementSource, StatementStatus
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.ledger import Ledger, make_ledger

pytestmark = pytest.mark.usefixtures("reference_data", "clock")


@pytest.fixture
async def ledger(db_session: AsyncSession, settings: Settings) -> Ledger:
    return await make_ledger(db_session, settings)


async def test_progress_per_lot_and_company(
    client: httpx.AsyncClient, ledger: Ledger, db_session: AsyncSession
) -> None:
    db_session.add(
        Obligation(
            contract_id=uuid.UUID(ledger.contract_id),
            lot_id=uuid.UUID(ledger.lot1),
            method=ObligationMethod.FIXED_HOURS,
            fixed_hours=Decimal("700.00"),
            hours_owed=Decimal("700.00"),
        )
    )
    attribution = await ledger.attribution(ledger.holder_id, ledger.lot1)
    participant = await ledger.participant(last_name="Secretnom")
    placement = await ledger.placement(attribution, participant, start=date(2026, 1, 12))
    for month, hours, status in ((1, "120", "validated"), (2, "100", "declared")):
        db_session.add(
            StatementLine(
                placement_id=uuid.UUID(placement),
                month=date(2026, month, 1),
                hours_worked=Decimal(hours),
                source=StatementSource.API,
                status=StatementStatus(status),
                declared_by_type="user",
                declared_at=now(),
            )
        )
    await db_session.flush()
    path = f"/v1/contracts/{ledger.contract_id}/progress?on=2026-03-01"
    response = await client.get(path, headers=ledger.buyer_user)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Secretnom" not in response.text and participant not in response.text
    lot1, lot2 = body["lots"]
    assert lot1["lot_id"] == ledger.lot1
    assert lot1["figures"] == {
        "owed": "700.00",
        "counted": "120.00",
        "declared_not_validated": "100.00",
        "rate_percent": "17.14",
        "remaining": "580.00",
    }
    # 5 January 2026 – 30 June 2027 (542 days), 56 days passed: 700 × 56 / 542 = 72.32
    assert lot1["expected_by_now"] == "72.32"
    assert lot1["behind_schedule"] is False
    assert [c["attribution_id"] for c in lot1["companies"]] == [attribution]
    assert lot2["figures"]["owed"] is None and lot2["behind_schedule"] is False
    assert body["behind_schedule"] is False

    facilitator = await client.get(path, headers=ledger.facilitator)
    assert facilitator.json() == body
    assert_problem(await client.get(path, headers=ledger.holder_staff), 403, "forbidden")
    assert_problem(await client.get(path, headers=ledger.prescriber), 403, "forbidden")
    assert_problem(await client.get(path, headers=ledger.other_facilitator), 404, "not-found")
