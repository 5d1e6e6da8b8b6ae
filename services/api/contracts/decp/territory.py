"""The instance's territory as the DECP import sees it (decision 0064).

A facilitation organisation's territory (decision 0008) is itself and its network below it; its
geographic extent is the departments where those organisations are. A contract lies in it when
its place of execution is in one of these departments or when its buyer is an organisation of
the network.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.geo import Commune, PostalCode
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.security.principal import territory_of


class UnknownTerritory(ValueError):
    """A ``--territory`` names no facilitation organisation."""


@dataclass(frozen=True)
class Territory:
    organisation_id: uuid.UUID
    name: str
    departments: frozenset[str]
    sirets: frozenset[str]


@dataclass(frozen=True)
class Places:
    """Communes and postal codes to departments, read once for the whole file."""

    commune_departments: dict[str, str]
    postal_departments: dict[str, frozenset[str]]

    def departments(self, type_code: str, code: str) -> frozenset[str]:
        """The departments a place of execution names; empty when it names none precisely
        enough (a region, a country, an unknown code)."""
        kind = type_code.casefold()
        code = code.strip().upper()
        if "commune" in kind:
            department = self.commune_departments.get(code)
            return frozenset({department}) if department else frozenset()
        if "postal" in kind:
            return self.postal_departments.get(code, frozenset())
        if "département" in kind or "departement" in kind:
            return frozenset({code.zfill(2)}) if code else frozenset()
        return frozenset()


async def load_places(session: AsyncSession) -> Places:
    communes: dict[str, str] = dict(
        (await session.execute(select(col(Commune.insee), col(Commune.dept)))).tuples().all()
    )
    postal: dict[str, set[str]] = {}
    for code, insee in await session.execute(select(col(PostalCode.code), col(PostalCode.insee))):
        if insee in communes:
            postal.setdefault(code, set()).add(communes[insee])
    return Places(communes, {code: frozenset(depts) for code, depts in postal.items()})


async def _facilitation(session: AsyncSession, names: list[str]) -> list[Organisation]:
    query = select(Organisation).where(
        col(Organisation.kind) == OrganisationKind.FACILITATION, col(Organisation.is_active)
    )
    if not names:
        # The instance's territory: every facilitation organisation at the head of a network
        # (one below another is already in its territory).
        parent = Organisation.__table__.alias("parent")  # type: ignore[attr-defined]
        query = query.where(
            ~select(parent.c.id)
            .where(
                parent.c.id == col(Organisation.parent_id),
                parent.c.kind == OrganisationKind.FACILITATION.value,
            )
            .exists()
        )
        return list(await session.scalars(query.order_by(col(Organisation.name))))
    found: list[Organisation] = []
    for name in names:
        try:
            condition = col(Organisation.id) == uuid.UUID(name)
        except ValueError:
            condition = col(Organisation.name) == name
        matches = list(await session.scalars(query.where(condition)))
        if len(matches) != 1:
            raise UnknownTerritory(
                f"« {name} » ne désigne pas une et une seule structure d'animation active"
            )
        found.append(matches[0])
    return found


async def load_territories(session: AsyncSession, names: list[str]) -> list[Territory]:
    territories = []
    for organisation in await _facilitation(session, names):
        ids = await territory_of(session, organisation.id, Role.FACILITATOR)
        rows = (
            await session.execute(
                select(col(Organisation.siret), col(Commune.dept))
                .outerjoin(Commune, col(Commune.insee) == col(Organisation.commune_insee))
                .where(col(Organisation.id).in_(sorted(ids)))
            )
        ).all()
        territories.append(
            Territory(
                organisation_id=organisation.id,
                name=organisation.name,
                departments=frozenset(dept for _, dept in rows if dept),
                sirets=frozenset(siret for siret, _ in rows if siret),
            )
        )
    return territories


def territory_of_contract(
    territories: list[Territory], departments: frozenset[str], buyer_siret: str | None
) -> Territory | None:
    """The first territory (in the order given) the place or the buyer lies in."""
    for territory in territories:
        if departments & territory.departments or (
            buyer_siret is not None and buyer_siret in territory.sirets
        ):
            return territory
    return None
