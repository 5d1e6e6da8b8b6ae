"""Fixtures of the notifications tests: an organisation with users, committed for real (the
delivery code opens its own transactions)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.core.db import SessionMaker
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import User
from tests.api.conftest import client_for  # noqa: F401  (the fixture, for the SMS reports)
from tests.factories import make_organisation, make_user


@dataclass
class Team:
    organisation: Organisation
    prescribers: list[User]
    manager: User


@pytest.fixture
async def team(committing_sessionmaker: SessionMaker) -> Team:
    async with committing_sessionmaker() as session:
        organisation = await make_organisation(session, kind=OrganisationKind.MISSION_LOCALE)
        prescribers = [await make_user(session, organisation) for _ in range(3)]
        manager = await make_user(session, organisation, is_manager=True)
        await session.commit()
    return Team(organisation, prescribers, manager)
