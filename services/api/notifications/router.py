"""``/v1/me/notification-preferences``, ``/v1/me/notifications`` and the SMS provider's
delivery reports (``/v1/notifications/sms-status``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import ValidationError
from sqlmodel import col, select
from starlette.status import HTTP_204_NO_CONTENT

from services.api.auth.dependencies import CurrentPrincipal
from services.api.body import body_schema
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import SessionDep, SettingsDep
from services.api.errors import NotFound, Unauthorized, ValidationFailed
from services.api.notifications import service
from services.api.notifications.schemas import (
    NotificationPublic,
    PreferencesPublic,
    PreferencesUpdate,
    SmsStatusReport,
)
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import french_errors
from services.core.alerts.sms_status import SIGNATURE_HEADER, apply_status, signature_valid
from services.core.models.notification import Notification, NotificationStatus
from services.core.security.principal import Principal

router = APIRouter(tags=["notifications"])


def _user_id(principal: Principal) -> uuid.UUID:
    if principal.kind != "user":
        raise NotFound("Une clé d'API n'a pas de compte utilisateur.")
    return principal.id


@router.get(
    "/me/notification-preferences",
    summary="Mes préférences de notification",
    description=(
        "Pour chaque sorte d'alerte, les canaux (`email`, `sms`) et le rythme choisis par"
        " l'appelant, et le numéro qui reçoit ses SMS. Avec `If-None-Match`, 304 si rien "
        "n'a changé."
    ),
)
async def read_preferences(
    principal: CurrentPrincipal,
    session: SessionDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> PreferencesPublic:
    user_id = _user_id(principal)
    return if_none_match.answer(response, await service.read(session, user_id))


@router.put(
    "/me/notification-preferences",
    summary="Remplacer mes préférences de notification",
    description="Canal (courriel, SMS) et mode (immédiat ou récapitulatif quotidien) par type "
    "d'alerte. Une alerte obligatoire ne peut être ni désactivée ni mise en récapitulatif (409). "
    "`If-Match` obligatoire.",
)
async def replace_preferences(
    body: PreferencesUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatchDep,
    response: Response,
) -> PreferencesPublic:
    user_id = _user_id(principal)
    if_match.check(etag_of(await service.read(session, user_id)))
    await service.replace(session, user_id, body)
    current = await service.read(session, user_id)
    response.headers["ETag"] = etag_of(current)
    return current


@router.get(
    "/me/notifications",
    summary="Mes notifications",
    description=(
        "Les alertes envoyées à l'appelant, les plus récentes d'abord, avec l'état de leur envoi."
    ),
)
async def list_my_notifications(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    status: Annotated[NotificationStatus | None, Query(description="État.")] = None,
) -> Page[NotificationPublic]:
    user_id = _user_id(principal)
    query = select(Notification).where(col(Notification.recipient_user_id) == user_id)
    if status is not None:
        query = query.where(col(Notification.status) == status)
    query = query.order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    rows, total = await paginate(session, query, pagination)
    return Page[NotificationPublic].build(
        [NotificationPublic.of(r) for r in rows], total, pagination
    )


class BadSignature(Unauthorized):
    code = "bad-signature"
    title = "Signature invalide"
    default_detail = f"L'en-tête {SIGNATURE_HEADER} est absent ou ne correspond pas au corps."


@router.post(
    "/notifications/sms-status",
    status_code=HTTP_204_NO_CONTENT,
    summary="Rapport de distribution d'un SMS (fournisseur)",
    description=f"Appelé par le fournisseur SMS. Authentifié par `{SIGNATURE_HEADER}: "
    "sha256=<HMAC-SHA256 hexadécimal du corps avec le secret partagé>`. Un rapport plus ancien "
    "que le dernier appliqué est ignoré ; un SMS distribué le reste.",
    openapi_extra=body_schema(SmsStatusReport),
)
async def sms_status(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER)] = None,
) -> Response:
    secret = settings.sms_callback_secret
    body = await request.body()
    if secret is None or not signature_valid(secret.get_secret_value(), body, signature):
        raise BadSignature()
    try:
        report = SmsStatusReport.model_validate_json(body)
    except ValidationError as exc:
        raise ValidationFailed(french_errors(exc.errors())) from None
    await apply_status(session, report.id, report.status, report.timestamp)
    return Response(status_code=HTTP_204_NO_CONTENT)
