"""Creating, changing and searching organisations."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict, Forbidden, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.organisations.schemas import OrganisationCreate, OrganisationUpdate
from services.api.patch import sent
from services.api.validation import FieldError
from services.core import audit
from services.core.geo.communes import normalise_name
from services.core.models.geo import Commune
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.security.principal import Principal, territory_of

SIRET_CONSTRAINT = "uq_organisation_siret"


class SiretTaken(Conflict):
    code = "siret-taken"
    title = "SIRET déjà enregistré"
    default_detail = "Une organisation avec ce SIRET existe déjà."


class ParentCycle(Conflict):
    code = "organisation-cycle"
    title = "Rattachement impossible"
    default_detail = (
        "Une organisation ne peut pas être rattachée à elle-même ni à une structure qui en dépend."
    )


class OutsideTerritory(Forbidden):
    default_detail = (
        "Une organisation ne peut être rattachée qu'à une structure de votre territoire."
    )


def unknown_commune() -> FieldError:
    return FieldError(loc=["body", "commune_insee"], message="commune inconnue", type="unknown")


async def commune_exists(session: AsyncSession, insee: str) -> bool:
    found = await session.scalar(select(col(Commune.id)).where(col(Commune.insee) == insee))
    return found is not None


async def _check_parent(
    session: AsyncSession, actor: Principal | None, parent_id: uuid.UUID | None
) -> list[FieldError]:
    """Errors for an unknown parent; 403 for a parent outside the actor's territory."""
    if parent_id is None:
        if actor is not None and not actor.everywhere:
            raise OutsideTerritory(
                "Seul un administrateur crée une organisation sans rattachement."
            )
        return []
    if await session.get(Organisation, parent_id) is None:
        return [
            FieldError(
                loc=["body", "parent_id"], message="organisation parente inconnue", type="unknown"
            )
        ]
    if actor is not None and not actor.sees(parent_id):
        raise OutsideTerritory()
    return []


async def create_organisation(
    session: AsyncSession,
    data: OrganisationCreate,
    actor: Principal | None,
    *,
    request_id: str | None = None,
) -> Organisation:
    """``actor`` None: the system (a command run by an operator), no territory to respect."""
    parent_id = data.parent_id
    if parent_id is None and actor is not None and actor.role is Role.FACILITATOR:
        parent_id = actor.organisation_id  # a facilitator's new organisations go under it
    errors = await _check_parent(session, actor, parent_id)
    if not await commune_exists(session, data.commune_insee):
        errors.append(unknown_commune())
    if errors:
        raise ValidationFailed(errors)
    organisation = Organisation(
        name=data.name,
        kind=data.kind,
        siret=data.siret,
        address=data.address,
        commune_insee=data.commune_insee,
        parent_id=parent_id,
    )
    async with unique_or_conflict(session, {SIRET_CONSTRAINT: SiretTaken()}):
        session.add(organisation)
    audit.record(
        session,
        actor,
        "create",
        "organisation",
        organisation.id,
        request_id=request_id,
        details={"fields": sorted(data.model_fields_set)},
    )
    return organisation


async def update_organisation(
    session: AsyncSession,
    organisation: Organisation,
    data: OrganisationUpdate,
    actor: Principal,
    *,
    request_id: str | None = None,
) -> list[str]:
    """Apply the fields sent; the names of those that changed."""
    changes = {
        name: value for name, value in sent(data).items() if getattr(organisation, name) != value
    }
    errors: list[FieldError] = []
    if "parent_id" in changes:
        errors += await _check_parent(session, actor, changes["parent_id"])
        below = await territory_of(session, organisation.id, Role.FACILITATOR)
        if not errors and changes["parent_id"] in below:
            raise ParentCycle()
    if "commune_insee" in changes and not await commune_exists(session, changes["commune_insee"]):
        errors.append(unknown_commune())
    if errors:
        raise ValidationFailed(errors)
    if not changes:
        return []
    async with unique_or_conflict(session, {SIRET_CONSTRAINT: SiretTaken()}):
        for name, value in changes.items():
            setattr(organisation, name, value)
    await session.refresh(organisation)
    audit.record(
        session,
        actor,
        "update",
        "organisation",
        organisation.id,
        request_id=request_id,
        details={"fields": sorted(changes)},
    )
    return sorted(changes)


# Accent-insensitive name search without a stored column: the same folding as
# ``normalise_name`` (lower case, no accents, punctuation as spaces), in SQL. Accented capitals are
# folded before ``lower()``, which leaves non-ASCII letters alone under the C collation.
_ACCENTED = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝŸýÿ"
_PLAIN = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYYyy"
_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"))


def _folded(column: SQLColumnExpression[str]) -> ColumnElement[str]:
    text: SQLColumnExpression[str] = column
    for ligature, plain in _LIGATURES:
        text = func.replace(text, ligature, plain)
    return func.regexp_replace(
        func.lower(func.translate(text, _ACCENTED, _PLAIN)), "[^0-9a-z]+", " ", "g"
    )


def search(
    query: Select[Organisation],
    *,
    kind: OrganisationKind | None = None,
    name: str | None = None,
    parent_id: uuid.UUID | None = None,
) -> Select[Organisation]:
    if kind is not None:
        query = query.where(col(Organisation.kind) == kind)
    if parent_id is not None:
        query = query.where(col(Organisation.parent_id) == parent_id)
    term = normalise_name(name or "")
    if term:
        query = query.where(_folded(col(Organisation.name)).contains(term, autoescape=True))
    return query.order_by(col(Organisation.name), col(Organisation.id))
