"""Where a new callback case goes: the routing rules of the organisation that received the
intake (decision 0048).

The rule for the intake's borne site wins over the organisation's rule for every site; without
a rule (or when its target is no longer active), the case stays with the receiving organisation
(decision 0020). A round-robin rule names the target's active prescribers in turn, by id order:
its row is locked while the turn moves, so two cases opened at once never get the same turn.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models.callback_routing import CallbackRoutingRule
from services.core.models.organisation import Organisation
from services.core.models.user import Role, User


@dataclass(frozen=True)
class Route:
    organisation_id: uuid.UUID
    prescriber_id: uuid.UUID | None
    rule_id: uuid.UUID


async def rule_for(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    place_organisation_id: uuid.UUID | None,
    *,
    for_update: bool = False,
) -> CallbackRoutingRule | None:
    """The rule for this site, else the organisation's rule for every site."""
    site = col(CallbackRoutingRule.place_organisation_id)
    query = (
        select(CallbackRoutingRule)
        .where(
            col(CallbackRoutingRule.organisation_id) == organisation_id,
            site.is_(None)
            if place_organisation_id is None
            else (site == place_organisation_id) | site.is_(None),
        )
        # The site's own rule first (NULLs sort last in ascending order).
        .order_by(site.asc().nulls_last())
        .limit(1)
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def prescribers_of(session: AsyncSession, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(col(User.id))
        .where(
            col(User.organisation_id) == organisation_id,
            col(User.role) == Role.PRESCRIBER,
            col(User.is_active).is_(True),
        )
        .order_by(col(User.id))
    )
    return list(rows)


def next_in_turn(prescribers: list[uuid.UUID], last: uuid.UUID | None) -> uuid.UUID | None:
    """The first prescriber after ``last`` in id order, wrapping around; None when none."""
    if not prescribers:
        return None
    if last is not None:
        for prescriber in prescribers:
            if prescriber > last:
                return prescriber
    return prescribers[0]


async def route(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    place_organisation_id: uuid.UUID | None,
) -> Route | None:
    """The assignment of a case opened for an intake received by ``organisation_id`` at
    ``place_organisation_id``; None when no rule applies. Moves a round-robin rule's turn."""
    rule = await rule_for(session, organisation_id, place_organisation_id, for_update=True)
    if rule is None:
        return None
    target = await session.get(Organisation, rule.target_organisation_id)
    if target is None or not target.is_active:
        return None
    prescriber_id = None
    if rule.round_robin:
        prescriber_id = next_in_turn(
            await prescribers_of(session, target.id), rule.last_prescriber_id
        )
        if prescriber_id is not None:
            rule.last_prescriber_id = prescriber_id
    return Route(target.id, prescriber_id, rule.id)
