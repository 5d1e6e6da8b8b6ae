"""A small clause territory shared by the contract and offer tests.

``facilitation`` ─┬─ ``buyer``    (social landlord: ``buyer_staff`` employer, ``desk`` reception)
                  ├─ ``employer`` (company holding contracts: ``employer_staff``)
                  └─ ``agency``   (France Travail: ``prescriber``)
``other_facilitation`` (``other_facilitator``)   ``competitor`` (``competitor_staff``)
``operator`` (``admin``)

Ids and headers are read once, as strings: rows expire when a request rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.outbox import OutboxEvent
from services.core.models.user import Role
from services.core.settings import Settings
from tests.factories import bearer, make_api_key, make_organisation, make_user

Headers = dict[str, str]


@dataclass(frozen=True)
class Territory:
    facilitation: Organisation
    buyer: Organisation
    employer: Organisation
    agency: Organisation
    other_facilitation: Organisation
    competitor: Organisation
    buyer_id: str
    employer_id: str
    competitor_id: str
    admin: Headers
    facilitator: Headers
    other_facilitator: Headers
    buyer_staff: Headers
    desk: Headers
    employer_staff: Headers
    prescriber: Headers
    competitor_staff: Headers


async def make_territory(session: AsyncSession, settings: Settings) -> Territory:
    async def headers(organisation: Organisation, role: Role) -> Headers:
        return bearer(await make_user(session, organisation, role), settings)

    facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    buyer = await make_organisation(
        session, kind=OrganisationKind.SOCIAL_LANDLORD, parent=facilitation
    )
    employer = await make_organisation(session, kind=OrganisationKind.EMPLOYER, parent=facilitation)
    agency = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, parent=facilitation
    )
    other_facilitation = await make_organisation(session, kind=OrganisationKind.FACILITATION)
    competitor = await make_organisation(session, kind=OrganisationKind.EMPLOYER)
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    return Territory(
        facilitation=facilitation,
        buyer=buyer,
        employer=employer,
        agency=agency,
        other_facilitation=other_facilitation,
        competitor=competitor,
        buyer_id=str(buyer.id),
        employer_id=str(employer.id),
        competitor_id=str(competitor.id),
        admin=await headers(operator, Role.ADMIN),
        facilitator=await headers(facilitation, Role.FACILITATOR),
        other_facilitator=await headers(other_facilitation, Role.FACILITATOR),
        buyer_staff=await headers(buyer, Role.EMPLOYER),
        desk=await headers(buyer, Role.RECEPTION),
        employer_staff=await headers(employer, Role.EMPLOYER),
        prescriber=await headers(agency, Role.PRESCRIBER),
        competitor_staff=await headers(competitor, Role.EMPLOYER),
    )


async def api_key(
    session: AsyncSession, organisation: Organisation, role: Role, scopes: Iterable[str]
) -> Headers:
    return await make_api_key(session, organisation, role=role, scopes=scopes)


async def count(session: AsyncSession, model: type[SQLModel]) -> int:
    total: int = (await session.execute(select(func.count()).select_from(model))).scalar_one()
    return total


async def events(session: AsyncSession, event_type: str) -> list[OutboxEvent]:
    rows = await session.scalars(
        select(OutboxEvent)
        .where(col(OutboxEvent.type) == event_type)
        .order_by(col(OutboxEvent.occurred_at), col(OutboxEvent.id))
    )
    return list(rows)


def errors_of(problem: dict[str, object]) -> list[dict[str, Any]]:
    """The ``errors`` member of a problem document."""
    errors = problem["errors"]
    assert isinstance(errors, list)
    return errors
