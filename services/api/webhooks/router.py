"""``/v1/webhooks``: an organisation's subscriptions to public events, and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AnyHttpUrl
from sqlmodel import col, select
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, DELETE, READ, UPDATE
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import RequestIdDep, SessionDep, SettingsDep
from services.api.errors import ValidationFailed
from services.api.locations import location
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import FieldError
from services.api.webhooks.policy import policy
from services.api.webhooks.schemas import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookPublic,
)
from services.core.clock import now
from services.core.egress import RefusedAddress, check_host
from services.core.logging import get_logger
from services.core.models.notification import (
    WebhookDelivery,
    WebhookDeliveryError,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from services.core.settings import Settings
from services.core.webhooks import new_secret

log = get_logger(__name__)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


URL_REFUSED = (
    "l'adresse d'un webhook doit être publique : ni adresse interne (boucle locale, réseau "
    "privé, lien local, multidiffusion, réservée), ni localhost, ni nom local ou sans domaine"
)
HTTPS_REQUIRED = "en production, l'adresse d'un webhook doit être en https"


def _check_url(url: AnyHttpUrl, settings: Settings) -> None:
    """What the URL itself tells (decision 0042); its name is resolved and its addresses
    checked again at each delivery, since a name's answers change."""
    problems: list[str] = []
    if settings.environment == "production" and url.scheme != "https":
        problems.append(HTTPS_REQUIRED)
    try:
        check_host(url.host or "", settings.webhook_networks)
    except RefusedAddress:
        problems.append(URL_REFUSED)
    if problems:
        raise ValidationFailed(
            [FieldError(loc=["body", "url"], message=m, type="url_refused") for m in problems]
        )


@router.get(
    "",
    summary="Lister les abonnements webhook",
    description=(
        "Les abonnements de l'organisation de l'appelant (tous pour l'administrateur). "
        "Les agents d'accueil n'en gèrent pas (403) ; une clé d'API a besoin de la portée"
        " `webhooks:read`."
    ),
)
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
    "(`match_id`, `offer_id`, `candidate_id`). Un abonnement reçoit ce que le rôle de la personne "
    "ou de la clé qui l'a créé peut lire dans l'organisation (un facilitateur : son territoire ; "
    "un prescripteur : les personnes partagées avec son organisation ; un employeur : ses offres "
    "pourvues, jamais une suggestion). L'adresse doit être publique : une adresse interne est "
    "refusée ici et à chaque envoi.",
)
async def create_webhook(
    body: WebhookCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    request_id: RequestIdDep,
    response: Response,
) -> WebhookCreated:
    policy.authorize(principal, CREATE)
    url = str(body.url)
    _check_url(body.url, settings)
    subscription = WebhookSubscription(
        organisation_id=principal.organisation_id,
        url=url,
        description=body.description,
        event_types=sorted({e.value for e in body.event_types}),
        secret=new_secret(),
        created_by_user_id=principal.id if principal.kind == "user" else None,
        # It receives what its creator's role reads in the organisation (decision 0041).
        role=principal.role,
    )
    session.add(subscription)
    await session.flush()
    policy.audit(
        session,
        principal,
        "create",
        subscription,
        request_id=request_id,
        details={"event_types": subscription.event_types},
    )
    response.headers["Location"] = location(request, "read_webhook", webhook_id=subscription.id)
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreated(**WebhookPublic.of(subscription).model_dump(), secret=subscription.secret)


@router.get(
    "/{webhook_id}",
    summary="Lire un abonnement webhook (sans son secret)",
    description=(
        "Un abonnement par son identifiant, sans son secret (montré une seule fois, à la création)."
    ),
)
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
    webhook_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
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
        delivery.last_error = WebhookDeliveryError.SUBSCRIPTION_DELETED.value
    policy.audit(session, principal, DELETE, subscription, request_id=request_id)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/enable",
    summary="Réactiver un abonnement webhook désactivé",
    description="Un abonnement désactivé après des échecs répétés reprend : les événements "
    "suivants lui sont de nouveau envoyés (ceux de la période désactivée ne le sont pas) et son "
    "compte d'échecs repart de zéro. Sans effet sur un abonnement actif.",
)
async def enable_webhook(
    webhook_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> WebhookPublic:
    subscription = await policy.get(session, principal, webhook_id, action=UPDATE, for_update=True)
    if not subscription.is_active:
        subscription.is_active = True
        subscription.disabled_at = None
        subscription.failing_since = None
        subscription.updated_at = now()
        policy.audit(session, principal, "enable", subscription, request_id=request_id)
        log.info("webhook_enabled", subscription_id=str(subscription.id))
    return WebhookPublic.of(subscription)


@router.get(
    "/{webhook_id}/deliveries",
    summary="Journal des envois d'un abonnement",
    description=(
        "Les envois de l'abonnement, les plus récents d'abord : état, nombre d'essais, "
        "dernier statut HTTP reçu. Pour comprendre pourquoi un destinataire ne reçoit "
        "rien."
    ),
)
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
