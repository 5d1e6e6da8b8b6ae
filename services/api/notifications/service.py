"""Reading and replacing a user's notification preferences."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import Conflict
from services.api.notifications.schemas import (
    KindPreferencePublic,
    PreferencesPublic,
    PreferencesUpdate,
)
from services.core.alerts.kinds import ALERT_KIND_LABELS, MANDATORY_KINDS, AlertKind
from services.core.alerts.raising import DEFAULT_CHANNELS
from services.core.models.notification import (
    DeliveryMode,
    NotificationChannel,
    NotificationContact,
    NotificationPreference,
)


class MandatoryAlert(Conflict):
    code = "mandatory-alert"
    title = "Alerte obligatoire"
    default_detail = "Cette alerte est obligatoire : on ne peut pas s'en désabonner."


class NoSmsPhone(Conflict):
    code = "sms-phone-missing"
    title = "Numéro de mobile manquant"
    default_detail = "Indiquez un numéro de mobile (sms_phone) pour recevoir des SMS."


async def read(session: AsyncSession, user_id: uuid.UUID) -> PreferencesPublic:
    rows = {
        p.kind: p
        for p in await session.scalars(
            select(NotificationPreference).where(col(NotificationPreference.user_id) == user_id)
        )
    }
    contact = await session.scalar(
        select(NotificationContact).where(col(NotificationContact.user_id) == user_id)
    )
    preferences = []
    for kind in AlertKind:
        row = rows.get(kind.value)
        preferences.append(
            KindPreferencePublic(
                kind=kind,
                channels=[NotificationChannel(c) for c in row.channels]
                if row
                else list(DEFAULT_CHANNELS),
                mode=row.mode if row else DeliveryMode.IMMEDIATE,
                label=ALERT_KIND_LABELS[kind],
                mandatory=kind in MANDATORY_KINDS,
            )
        )
    return PreferencesPublic(
        sms_phone=contact.sms_phone if contact else None, preferences=preferences
    )


async def replace(session: AsyncSession, user_id: uuid.UUID, body: PreferencesUpdate) -> None:
    seen: set[AlertKind] = set()
    for item in body.preferences:
        if item.kind in seen:
            raise Conflict(f"Le type d'alerte « {item.kind.value} » est donné deux fois.")
        seen.add(item.kind)
        if item.kind in MANDATORY_KINDS and (not item.channels or item.mode is DeliveryMode.DIGEST):
            raise MandatoryAlert(
                f"« {ALERT_KIND_LABELS[item.kind]} » est obligatoire : elle part toujours, "
                "immédiatement, par au moins un canal."
            )
        if NotificationChannel.SMS in item.channels and body.sms_phone is None:
            raise NoSmsPhone()
    await session.execute(
        delete(NotificationPreference).where(col(NotificationPreference.user_id) == user_id)
    )
    await session.execute(
        delete(NotificationContact).where(col(NotificationContact.user_id) == user_id)
    )
    if body.sms_phone is not None:
        session.add(NotificationContact(user_id=user_id, sms_phone=body.sms_phone))
    for item in body.preferences:
        session.add(
            NotificationPreference(
                user_id=user_id,
                kind=item.kind.value,
                channels=[c.value for c in dict.fromkeys(item.channels)],
                mode=item.mode,
            )
        )
    await session.flush()
