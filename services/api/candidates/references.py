"""What the referentials and the map say of a candidate's fields (decision 0047): commune,
declared quartier, ROME codes, referent organisation and prescriber, a point in France. Checked
on the fields a request could read, and reported with the errors of the others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import ValidationFailed
from services.api.validation import FieldError, merge_errors
from services.core.geo.france import in_france
from services.core.geo.residence import CoordinatesOutsideFrance
from services.core.models.geo import Commune, Qpv
from services.core.models.organisation import Organisation
from services.core.models.referentials import RomeFiche
from services.core.models.user import Role, User

_error = FieldError.of_body


async def reference_errors(session: AsyncSession, values: dict[str, Any]) -> list[FieldError]:
    """What the referentials and the map say of ``values`` (columns): unknown commune, quartier,
    ROME code, organisation or prescriber, a point outside France. Checked on the fields a
    request could read, so that they are reported with the errors of the others (decision
    0047)."""
    errors: list[FieldError] = []
    commune = values.get("commune_insee")
    if (
        commune is not None
        and await session.scalar(select(col(Commune.id)).where(col(Commune.insee) == commune))
        is None
    ):
        errors.append(_error("commune_insee", "commune inconnue", "unknown"))
    declared = values.get("qpv_declared_code")
    if (
        declared is not None
        and await session.scalar(select(col(Qpv.id)).where(col(Qpv.code) == declared)) is None
    ):
        errors.append(_error("qpv_declared_code", "quartier prioritaire inconnu", "unknown"))
    wishes = values.get("rome_wishes") or []
    if wishes:
        known = set(
            await session.scalars(
                select(col(RomeFiche.code)).where(col(RomeFiche.code).in_(wishes))
            )
        )
        if set(wishes) - known:
            errors.append(_error("rome_wishes", "code ROME inconnu", "unknown"))
    organisation_id = values.get("referent_organisation_id")
    if organisation_id is not None and await session.get(Organisation, organisation_id) is None:
        errors.append(_error("referent_organisation_id", "organisation inconnue", "unknown"))
    prescriber_id = values.get("referent_prescriber_id")
    if prescriber_id is not None:
        prescriber = await session.get(User, prescriber_id)
        if prescriber is None or prescriber.role not in (Role.PRESCRIBER, Role.FACILITATOR):
            errors.append(_error("referent_prescriber_id", "prescripteur inconnu", "unknown"))
    lon, lat = values.get("lon"), values.get("lat")
    if lon is not None and lat is not None and not in_france(lon, lat):
        # Sent together (the schema pairs them): refused here rather than when the residence
        # is decided, after the person was looked for.
        outside = CoordinatesOutsideFrance()
        errors.append(FieldError(loc=["body", "lon"], message=str(outside), type=outside.code))
    return errors


async def check(
    session: AsyncSession, values: dict[str, Any], refused: Sequence[FieldError]
) -> None:
    """422 with the fields' errors (``refused``) and the references', if there is any."""
    errors = merge_errors(refused, await reference_errors(session, values))
    if errors:
        raise ValidationFailed(errors)
