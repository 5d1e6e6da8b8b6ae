"""``/v1/webhooks``: an organisation's subscriptions to public events, and their delivery log."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import col, select
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, DELETE, READ
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import SessionDep, SettingsDep
from services.api.errors import Conflict
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.api.webhooks.policy import policy
from services.api.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
)
from services.core.clock import now
from services.core.models.notification import (
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.notifications.channels.webhook import new_secret

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _internal_host(host: str) -> bool:
    """A literal loopback, private or link-local address, or a local name (names that resolve
    to such addresses are for the egress firewall to stop)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


@router.get("", summary="Lister les abonnements webhook")
async def list_webhooks(
    principal: CurrentPrincipal, session: SessionDep, pagination: PaginationDep
) -> Page[WebhookPublic]:
    query = policy.query(principal).order_by(
        col(WebhookSubscription.created_at).desc(), col(WebhookSubscription.id).desc()
    )
    rows, total = await paginate(session, query, pagination)
    return Page[WebhookPublic].build([WebhookPublic.of(r) for r in rows], total, pagination)


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="S'abonner à des événements",
    description="Les événements choisis sont envoyés en POST signés selon Standard Webhooks "
    "(en-têtes `webhook-id`, `webhook-timestamp`, `webhook-signature`). La réponse contient le "
    "secret de signature (`secret`), une seule fois. Les corps ne portent que des identifiants. "
    "`match.suggested` porte dans `data.matches` toutes les nouvelles paires d'un même calcul "
    "(`match_id`, `offer_id`, `candidate_id`), réduites aux personnes que l'organisation connaît.",
)
async def create_webhook(
    body: WebhookCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> WebhookCreated:
    policy.authorize(principal, CREATE)
    url = str(body.url)
    if settings.environment == "production":
        if body.url.scheme != "https":
            raise Conflict("En production, l'adresse d'un webhook doit être en https.")
        if _internal_host(body.url.host or ""):
            raise Conflict("L'adresse d'un webhook doit être publique (pas d'adresse interne).")
    subscription = WebhookSubscription(
        organisation_id=principal.organisation_id,
        url=url,
        description=body.description,
        event_types=sorted({e.value for e in body.event_types}),
        secret=new_secret(),
        created_by_user_id=principal.id if principal.kind == "user" else None,
    )
    session.add(subscription)
    await session.flush()
    response.headers["Location"] = location(request, "read_webhook", webhook_id=subscription.id)
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreated(**WebhookPublic.of(subscription).model_dump(), secret=subscription.secret)


@router.get("/{webhook_id}", summary="Lire un abonnement webhook (sans son secret)")
async def read_webhook(
    webhook_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> WebhookPublic:
    return WebhookPublic.of(await policy.get(session, principal, webhook_id))


@router.delete(
    "/{webhook_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Supprimer un abonnement webhook",
    description="Les envois en attente sont abandonnés ; le journal des envois est conservé.",
)
async def delete_webhook(
    webhook_id: uuid.UUID, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    subscription = await policy.get(session, principal, webhook_id, action=DELETE, for_update=True)
    at = now()
    subscription.deleted_at = at
    subscription.is_active = False
    pending = await session.scalars(
        select(WebhookDelivery).where(
            col(WebhookDelivery.subscription_id) == subscription.id,
            col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING,
        )
    )
    for delivery in pending:
        delivery.status = WebhookDeliveryStatus.FAILED
        delivery.failed_at = at
        delivery.last_error = "abonnement supprimé"
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", summary="Journal des envois d'un abonnement")
async def list_deliveries(
    webhook_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    status: Annotated[WebhookDeliveryStatus | None, Query(description="État.")] = None,
) -> Page[WebhookDeliveryPublic]:
    subscription = await policy.get(session, principal, webhook_id, action=READ)
    query = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription.id)
    if status is not None:
        query = query.where(col(WebhookDelivery.status) == status)
    query = query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
    rows, total = await paginate(session, query, pagination)
    return Page[WebhookDeliveryPublic].build(
        [WebhookDeliveryPublic.of(r) for r in rows], total, pagination
    )
