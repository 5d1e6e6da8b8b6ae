"""``/v1/audit``: who read or changed what, for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.audit import service
from services.api.audit.policy import policy
from services.api.audit.schemas import AuditEntryPublic
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import SessionDep
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import AwareMoment

router = APIRouter(prefix="/audit", tags=["journal d'audit"])


@router.get(
    "",
    summary="Consulter le journal d'audit",
    description="Administrateurs seulement. Les entrées les plus récentes d'abord.",
)
async def list_audit_entries(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    actor_id: Annotated[uuid.UUID | None, Query(description="Auteur (compte ou clé).")] = None,
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="Organisation de l'auteur.")
    ] = None,
    resource_type: Annotated[
        str | None,
        Query(min_length=1, max_length=40, description="Type de ressource (ex. user)."),
    ] = None,
    resource_id: Annotated[uuid.UUID | None, Query(description="Ressource.")] = None,
    action: Annotated[
        str | None,
        Query(min_length=1, max_length=40, description="Action (read, list, create…)."),
    ] = None,
    since: Annotated[
        AwareMoment | None,
        Query(alias="from", description="À partir de cet instant (inclus), avec fuseau."),
    ] = None,
    until: Annotated[
        AwareMoment | None,
        Query(alias="to", description="Jusqu'à cet instant (exclu), avec fuseau."),
    ] = None,
) -> Page[AuditEntryPublic]:
    query = service.search(
        policy.query(principal),
        actor_id=actor_id,
        organisation_id=organisation_id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        since=since,
        until=until,
    )
    rows, total = await paginate(session, query, pagination)
    return Page[AuditEntryPublic].build(
        [AuditEntryPublic.model_validate(row) for row in rows], total, pagination
    )
