"""``/v1/organisations/{id}/callback-settings``: an organisation's own callback alert schedule
(decision 0020's ``callback_settings``, API in decision 0048).

An empty field takes the instance setting (``MAILLON_CALLBACK_*``); the answer shows both the
organisation's own values and the ones in force. Read and changed by the admin, a facilitator
whose territory holds the organisation, and the organisation's managers; other callers 403 (an
organisation is a public fact), an unknown organisation 404. A change takes ``If-Match`` (428
without it, 412 if stale), is audited, and moves the next alert of the organisation's open cases
at once; an alert that the change made due goes out at the next sweep.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.dependencies import CurrentPrincipal
from services.api.conditional import IfMatchDep, IfNoneMatchDep, etag_of
from services.api.deps import RequestIdDep, SessionDep, SettingsDep
from services.api.errors import Forbidden, NotFound, ValidationFailed
from services.api.validation import FieldError
from services.core import audit
from services.core.callbacks.cases import state_of
from services.core.callbacks.schedule import AlertPolicy, next_alert
from services.core.clock import now
from services.core.models.callback import CallbackCase, CallbackSettings, CallbackStatus
from services.core.models.organisation import Organisation
from services.core.models.user import Role
from services.core.security.principal import Access, Principal
from services.core.settings import Settings

router = APIRouter(prefix="/organisations/{organisation_id}/callback-settings", tags=["rappels"])

FIELDS = (
    "reminder_day",
    "urgent_day",
    "follow_up_working_days",
    "office_start_hour",
    "office_end_hour",
)

_error = FieldError.of_body

Day = Annotated[int | None, Field(ge=1, le=365)]


class CallbackSettingsUpdate(BaseModel):
    """The organisation's own values; a field left out or null takes the instance setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "Les valeurs propres à l'organisation ; un champ absent ou `null` "
            "prend le réglage de l'instance.",
            "examples": [
                {
                    "reminder_day": 10,
                    "urgent_day": 20,
                    "follow_up_working_days": 2,
                    "office_start_hour": 9,
                    "office_end_hour": 17,
                }
            ],
        },
    )

    reminder_day: Day = Field(
        default=None, description="Jour de la relance si aucune tentative (défaut 14)."
    )
    urgent_day: Day = Field(default=None, description="Jour de l'alerte urgente (défaut 25).")
    follow_up_working_days: Annotated[int | None, Field(ge=1, le=30)] = Field(
        default=None, description="Jours ouvrés entre une tentative sans succès et sa relance."
    )
    office_start_hour: Annotated[int | None, Field(ge=0, le=23)] = Field(
        default=None, description="Heure d'ouverture des bureaux (heure de Paris)."
    )
    office_end_hour: Annotated[int | None, Field(ge=1, le=24)] = Field(
        default=None, description="Heure de fermeture des bureaux (heure de Paris)."
    )


class EffectiveSchedule(BaseModel):
    window_days: int = Field(description="Délai de rappel, en jours (réglage de l'instance).")
    reminder_day: int = Field(description="Jour de la relance si aucune tentative.")
    urgent_day: int = Field(description="Jour de l'alerte urgente.")
    follow_up_working_days: int = Field(
        description="Jours ouvrés entre une tentative sans succès et sa relance."
    )
    office_start_hour: int = Field(description="Heure d'ouverture des bureaux (heure de Paris).")
    office_end_hour: int = Field(description="Heure de fermeture des bureaux (heure de Paris).")


class CallbackSettingsPublic(CallbackSettingsUpdate):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "description": "Les réglages de rappel d'une organisation : ses valeurs propres "
            "(`null` : le réglage de l'instance) et celles en vigueur (`effective`)."
        },
    )

    organisation_id: uuid.UUID = Field(description="Organisation dont ce sont les réglages.")
    effective: EffectiveSchedule = Field(description="Les valeurs en vigueur.")

    @classmethod
    def of(
        cls, organisation_id: uuid.UUID, row: CallbackSettings | None, settings: Settings
    ) -> CallbackSettingsPublic:
        policy = AlertPolicy.of(settings, row)
        return cls(
            organisation_id=organisation_id,
            **{name: getattr(row, name, None) for name in FIELDS},
            effective=EffectiveSchedule(
                window_days=policy.window_days,
                **{name: getattr(policy, name) for name in FIELDS},
            ),
        )


async def _organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, access: Access
) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound()
    if not principal.may_use("callbacks", access):
        raise Forbidden(f"Cette clé d'API n'a pas le droit « callbacks:{access.value} ».")
    allowed = (
        principal.everywhere
        or (principal.role is Role.FACILITATOR and principal.sees(organisation_id))
        or (principal.is_manager and principal.organisation_id == organisation_id)
    )
    if not allowed:
        raise Forbidden("Seuls les responsables de l'organisation règlent ses alertes de rappel.")
    return organisation


def _check(policy: AlertPolicy) -> None:
    """What each field allows alone is in the schema; these are the rules between them, on the
    values in force (an organisation's day against the instance's other one included)."""
    errors: list[FieldError] = []
    if policy.reminder_day >= policy.urgent_day:
        errors.append(_error("reminder_day", "la relance doit précéder l'alerte urgente"))
    if policy.urgent_day >= policy.window_days:
        errors.append(
            _error("urgent_day", f"l'alerte urgente doit précéder le {policy.window_days}e jour")
        )
    if policy.office_start_hour >= policy.office_end_hour:
        errors.append(
            _error("office_start_hour", "l'ouverture des bureaux doit précéder leur fermeture")
        )
    if errors:
        raise ValidationFailed(errors)


async def _reschedule(
    session: AsyncSession, organisation_id: uuid.UUID, policy: AlertPolicy, at: datetime
) -> int:
    """The next alert of each open case of the organisation, under the new schedule."""
    cases = await session.scalars(
        select(CallbackCase)
        .where(
            col(CallbackCase.organisation_id) == organisation_id,
            col(CallbackCase.status) == CallbackStatus.OPEN,
        )
        .order_by(col(CallbackCase.id))
        .with_for_update()
    )
    moved = 0
    for case in cases:
        upcoming = next_alert(state_of(case), policy, at)
        case.next_alert_kind = upcoming.kind if upcoming else None
        case.next_alert_at = upcoming.at if upcoming else None
        moved += 1
    return moved


@router.get(
    "",
    summary="Les réglages des alertes de rappel d'une organisation",
    description="Ses propres valeurs (vides : réglage de l'instance) et celles en vigueur.",
)
async def read_callback_settings(
    organisation_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    if_none_match: IfNoneMatchDep,
    response: Response,
) -> CallbackSettingsPublic:
    await _organisation(session, principal, organisation_id, Access.READ)
    row = await session.get(CallbackSettings, organisation_id)
    return if_none_match.answer(response, CallbackSettingsPublic.of(organisation_id, row, settings))


@router.put(
    "",
    summary="Régler les alertes de rappel d'une organisation",
    description="Remplace ses valeurs (un champ absent ou vide reprend le réglage de "
    "l'instance). `If-Match` obligatoire. Les alertes à venir de ses rappels ouverts suivent "
    "aussitôt.",
)
async def update_callback_settings(
    organisation_id: uuid.UUID,
    body: CallbackSettingsUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request_id: RequestIdDep,
    if_match: IfMatchDep,
    response: Response,
) -> CallbackSettingsPublic:
    await _organisation(session, principal, organisation_id, Access.WRITE)
    # Two first changes at once find no row to lock: the organisation's row serialises them
    # (NO KEY: intakes naming the organisation are not held up).
    await session.execute(
        select(col(Organisation.id))
        .where(col(Organisation.id) == organisation_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )
    row = await session.get(CallbackSettings, organisation_id, with_for_update=True)
    if_match.check(etag_of(CallbackSettingsPublic.of(organisation_id, row, settings)))
    values = body.model_dump()
    policy = AlertPolicy.of(settings, CallbackSettings(organisation_id=organisation_id, **values))
    _check(policy)
    changed = [name for name in FIELDS if getattr(row, name, None) != values[name]]
    at = now()
    await session.execute(
        insert(CallbackSettings)
        .values(organisation_id=organisation_id, updated_at=at, **values)
        .on_conflict_do_update(
            index_elements=[col(CallbackSettings.organisation_id)],
            set_={**values, "updated_at": at},
        )
    )
    if row is not None:
        await session.refresh(row)
    moved = await _reschedule(session, organisation_id, policy, at)
    audit.record(
        session,
        principal,
        "update",
        "callback_settings",
        organisation_id,
        request_id=request_id,
        details={"fields": changed, "cases_rescheduled": moved},
    )
    await session.flush()
    public = CallbackSettingsPublic.of(
        organisation_id, await session.get(CallbackSettings, organisation_id), settings
    )
    response.headers["ETag"] = etag_of(public)
    return public
