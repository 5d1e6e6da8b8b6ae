"""`maillon up --demo`: a territory one can sign in to and browse, loaded once."""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlmodel import col

from services.api.app import create_app
from services.api.intake.demo import PEOPLE, load_demo_people
from services.core.db import SessionMaker, unit_of_work
from services.core.demo import DEMO_LOADERS, load_demo
from services.core.demo.territory import DEMO_DOMAIN, DEMO_PASSWORD
from services.core.models.candidate import Candidate, QpvStatus
from services.core.models.contract import Contract, ContractLot
from services.core.models.intake import Intake, IntakeSource
from services.core.models.offer import Offer, OfferStatus
from services.core.models.organisation import Organisation
from services.core.models.outbox import OutboxEvent
from services.core.models.user import User
from services.core.referentials.loader import ImportSummary
from services.core.settings import Settings
from services.matching.refresh import refresh_offer_matches


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
        # The territory's 10, and the ledger's joinery, ACI and ETTI (services/core/demo/ledger).
        "Organisation": 13,
        # The territory's 8, and the ledger's three companies' referents and a buyer.
        "User": 12,
        # The NPNRU contract with its offers, and the ledger's two contracts (two lots, none).
        "Contract": 3,
        "ContractLot": 4,
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


async def _signed_in(client: httpx.AsyncClient, local: str) -> dict[str, str]:
    token = await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": f"{local}@{DEMO_DOMAIN}",
            "password": DEMO_PASSWORD,
        },
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_demo_people_from_the_bornes_are_seen_and_ranked_for_the_open_offers(
    settings: Settings,
    committing_sessionmaker: SessionMaker,
    reference_data: list[ImportSummary],
) -> None:
    loaders = [*DEMO_LOADERS, load_demo_people]
    summary = await load_demo(committing_sessionmaker, loaders)
    assert f"{len(PEOPLE)} candidats déposés aux bornes" in summary
    async with committing_sessionmaker() as session:
        # The people who came by a borne (the ledger's participants are already at work).
        candidates = list(
            await session.scalars(
                select(Candidate).where(col(Candidate.id).in_(select(col(Intake.candidate_id))))
            )
        )
        intakes = list(await session.scalars(select(Intake)))
        open_offers = list(
            await session.scalars(select(Offer).where(col(Offer.status) == OfferStatus.OPEN))
        )
    # Each person came through a borne form, keyed in by the front desk of the agency.
    assert len(candidates) == len(intakes) == len(PEOPLE)
    assert {i.source for i in intakes} == {IntakeSource.KIOSK}
    statuses = {c.last_name: c.qpv_status for c in candidates}
    assert statuses == {
        "DIALLO": QpvStatus.IN_QPV,
        "BENALI": QpvStatus.IN_QPV,
        "TRAORÉ": QpvStatus.IN_QPV,
        "CAMARA": QpvStatus.IN_QPV,
        "BAPTISTE": QpvStatus.IN_QPV,
        "LEFÈVRE": QpvStatus.OUTSIDE_QPV,
        "MARTIN": QpvStatus.OUTSIDE_QPV,
        "PETIT": QpvStatus.OUTSIDE_QPV,
    }
    # At least one open offer anybody may take, so that matches show without eligibility.
    assert any(not offer.requires_eligibility for offer in open_offers)
    # Loaded once.
    assert "déjà chargés" in await load_demo(committing_sessionmaker, loaders)

    # What the matching worker does with the demo's events, with its own code.
    async with unit_of_work(committing_sessionmaker) as session:
        for offer in open_offers:
            await refresh_offer_matches(session, offer.id, settings=settings)

    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        # The France Travail counsellor follows them all; a front desk sees its own borne's.
        counsellor = await _signed_in(client, "prescripteur.ft")
        listed = await client.get("/v1/candidates", headers=counsellor)
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == len(PEOPLE)
        desk = await _signed_in(client, "accueil.floreal")
        floreal = await client.get("/v1/candidates", headers=desk)
        assert {c["last_name"] for c in floreal.json()["items"]} == {
            "CAMARA",
            "BAPTISTE",
            "LEFÈVRE",
            "PETIT",
        }
        facilitator = await _signed_in(client, "facilitatrice")
        matched: dict[str, set[str]] = {}
        for offer in open_offers:
            response = await client.get(f"/v1/offers/{offer.id}/matches", headers=facilitator)
            assert response.status_code == 200, response.text
            matched[offer.rome_code] = {m["candidate"]["id"] for m in response.json()["items"]}
    by_id = {str(c.id): c for c in candidates}
    # Cleaning people on the cleaning offer, construction people on the labourer's offer.
    assert {by_id[i].last_name for i in matched["K2204"]} >= {"CAMARA", "BAPTISTE", "LEFÈVRE"}
    assert {by_id[i].last_name for i in matched["F1704"]} >= {"DIALLO", "BENALI", "PETIT"}
    async with committing_sessionmaker() as session:
        suggested = await session.scalar(
            select(func.count()).where(col(OutboxEvent.type) == "match.suggested")
        )
    assert suggested  # the counsellor's alerts follow from these (notifications worker)
