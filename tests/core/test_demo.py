"""`maillon up --demo`: a territory one can sign in to and browse, loaded once."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlmodel import col

from services.api.app import create_app
from services.core.db import SessionMaker
from services.core.demo import load_demo
from services.core.demo.territory import DEMO_DOMAIN, DEMO_PASSWORD
from services.core.models.contract import Contract, ContractLot
from services.core.models.offer import Offer
from services.core.models.organisation import Organisation
from services.core.models.outbox import OutboxEvent
from services.core.models.user import User
from services.core.referentials.loader import ImportSummary
from services.core.settings import Settings


async def _counts(sessionmaker: SessionMaker) -> dict[str, int]:
    async with sessionmaker() as session:
        return {
            model.__name__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Organisation, User, Contract, ContractLot, Offer, OutboxEvent)
        }


async def test_demo_loads_once_and_its_accounts_sign_in_and_list_offers(
    settings: Settings,
    committing_sessionmaker: SessionMaker,
    reference_data: list[ImportSummary],
) -> None:
    summary = await load_demo(committing_sessionmaker)
    assert DEMO_PASSWORD in summary
    assert f"facilitatrice@{DEMO_DOMAIN}" in summary
    counts = await _counts(committing_sessionmaker)
    assert counts == {
        "Organisation": 10,
        "User": 8,
        "Contract": 1,
        "ContractLot": 2,
        "Offer": 4,
        "OutboxEvent": 3,  # one offer.published per open offer
    }
    again = await load_demo(committing_sessionmaker)
    assert "déjà chargé" in again
    assert f"accueil.floreal@{DEMO_DOMAIN}" in again
    assert await _counts(committing_sessionmaker) == counts

    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        # Someone from a prescriber organisation signs in with a printed account…
        token = await client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": f"prescripteur.ft@{DEMO_DOMAIN}",
                "password": DEMO_PASSWORD,
            },
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        # …and lists the open offers of the NPNRU contract (not the draft).
        offers = await client.get("/v1/offers", headers=headers, params={"status": "open"})
        assert offers.status_code == 200, offers.text
        titles = {item["title"] for item in offers.json()["items"]}
        assert titles == {
            "Agent / Agente de nettoyage de chantier",
            "Maçon / Maçonne — réhabilitation",
            "Manœuvre bâtiment",
        }
        sectors = {item["rome_code"]: item["sector"] for item in offers.json()["items"]}
        assert sectors == {"F1703": "construction", "F1704": "construction", "K2204": "cleaning"}
        # The employer sees its own draft too.
        employer = await client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": f"employeur.proprete@{DEMO_DOMAIN}",
                "password": DEMO_PASSWORD,
            },
        )
        own = await client.get(
            "/v1/offers",
            headers={"Authorization": f"Bearer {employer.json()['access_token']}"},
            params={"status": "draft"},
        )
        assert [item["title"] for item in own.json()["items"]] == [
            "Agent / Agente de propreté des halls (GUP)"
        ]
    async with committing_sessionmaker() as session:
        published = await session.scalar(
            select(func.count()).where(col(OutboxEvent.type) == "offer.published")
        )
    assert published == 3
