"""``/v1/callbacks/routing-rules``: which counselling organisation calls back the people whose
forms an organisation receives, per borne site (decision 0048).

A rule routes intakes received by ``organisation_id`` (at ``place_organisation_id``, or at any
site) to ``target_organisation_id``, optionally naming its prescribers in turn. Routing shares
the people with the target: it is an act of the organisation that collected them or of a
facilitator over both, never of the target. Hence:

- seen by the admin (all), a facilitator (rules of its territory's organisations), and the
  managers of the rule's organisation or of its target; other callers: 403 for the list, 404 for
  one rule;
- made and removed by the admin, a facilitator (organisation and target in its territory), and
  the managers of the rule's organisation (to any active counselling organisation). A rule for
  an organisation the caller may not route for: 403 (organisations are public facts).

Rules hold no personal data; every change is audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, literal, or_, true
from sqlmodel import col
from starlette.status import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from services.api.access import CREATE, DELETE, READ, Policy
from services.api.auth.dependencies import CurrentPrincipal
from services.api.deps import RequestIdDep, SessionDep
from services.api.errors import Conflict, Forbidden, ValidationFailed
from services.api.integrity import unique_or_conflict
from services.api.pagination import Page, PaginationDep, paginate
from services.api.validation import FieldError
from services.core import audit
from services.core.models.callback_routing import CallbackRoutingRule
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.security.principal import Principal

router = APIRouter(prefix="/callbacks/routing-rules", tags=["rappels"])

# Who may receive people to call back: not employers, buyers nor the landlords' front desks.
NOT_COUNSELLING = frozenset(
    {OrganisationKind.EMPLOYER, OrganisationKind.BUYER, OrganisationKind.SOCIAL_LANDLORD}
)

_error = FieldError.of_body


class RoutingPolicy(Policy[CallbackRoutingRule]):
    model = CallbackRoutingRule
    resource = "callbacks"
    audit_type = "callback_routing_rule"

    def visible(self, principal: Principal) -> ColumnElement[bool]:
        if principal.everywhere:
            return true()
        if principal.role is Role.FACILITATOR:
            return principal.in_territory(CallbackRoutingRule.organisation_id)
        if principal.is_manager:
            return or_(
                col(CallbackRoutingRule.organisation_id) == principal.organisation_id,
                col(CallbackRoutingRule.target_organisation_id) == principal.organisation_id,
            )
        return literal(False)

    def permits(self, principal: Principal, action: str, obj: CallbackRoutingRule | None) -> bool:
        if principal.everywhere or principal.role is Role.FACILITATOR:
            return True
        if not principal.is_manager:
            return False
        return action == READ or obj is None or obj.organisation_id == principal.organisation_id


policy = RoutingPolicy()


class RoutingRuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b01",
                    "place_organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b02",
                    "target_organisation_id": "0190a4c2-6f1e-7b3a-9c55-2d4e8f1a0b03",
                    "round_robin": True,
                }
            ]
        },
    )

    organisation_id: uuid.UUID = Field(description="Organisation qui reçoit les dépôts.")
    place_organisation_id: uuid.UUID | None = Field(
        default=None, description="Lieu du dépôt (borne) ; absent : tous ses lieux."
    )
    target_organisation_id: uuid.UUID = Field(
        description="Organisation qui rappelle les personnes (elle les voit dès l'ouverture)."
    )
    round_robin: bool = Field(
        default=False,
        description="Attribuer chaque rappel à un prescripteur actif de l'organisation, à tour "
        "de rôle.",
    )


class RoutingRulePublic(BaseModel):
    id: uuid.UUID = Field(description="Identifiant.")
    organisation_id: uuid.UUID = Field(description="Organisation qui a posé la règle.")
    place_organisation_id: uuid.UUID | None = Field(
        description=("Lieu de dépôt (borne) concerné ; `null` : tous les lieux de l'organisation.")
    )
    target_organisation_id: uuid.UUID = Field(
        description="Organisation qui rappelle les personnes déposées à ce lieu."
    )
    round_robin: bool = Field(
        description=(
            "Les rappels sont répartis tour à tour entre les conseillers de l'organisation cible."
        )
    )

    @classmethod
    def of(cls, rule: CallbackRoutingRule) -> RoutingRulePublic:
        return cls(
            id=rule.id,
            organisation_id=rule.organisation_id,
            place_organisation_id=rule.place_organisation_id,
            target_organisation_id=rule.target_organisation_id,
            round_robin=rule.round_robin,
        )


class RuleExists(Conflict):
    code = "routing-rule-exists"
    title = "Règle déjà définie"
    default_detail = (
        "Cette organisation a déjà une règle pour ce lieu : supprimez-la avant d'en créer "
        "une autre."
    )


def _may_route_for(principal: Principal, organisation_id: uuid.UUID) -> bool:
    if principal.everywhere:
        return True
    if principal.role is Role.FACILITATOR:
        return principal.sees(organisation_id)
    return principal.is_manager and principal.organisation_id == organisation_id


async def _check(session: SessionDep, principal: Principal, body: RoutingRuleCreate) -> None:
    errors: list[FieldError] = []
    organisation = await session.get(Organisation, body.organisation_id)
    if organisation is None:
        errors.append(_error("organisation_id", "organisation inconnue"))
    elif not _may_route_for(principal, organisation.id):
        raise Forbidden("Vous ne pouvez pas définir les règles de rappel de cette organisation.")
    if body.place_organisation_id is not None:
        place = await session.get(Organisation, body.place_organisation_id)
        if place is None or not place.is_active:
            errors.append(_error("place_organisation_id", "lieu inconnu ou inactif"))
    target = await session.get(Organisation, body.target_organisation_id)
    if (
        target is None
        or not target.is_active
        or target.kind in NOT_COUNSELLING
        # A facilitator routes within its territory; a manager gives its own people.
        or (principal.role is Role.FACILITATOR and not principal.sees(target.id))
    ):
        errors.append(
            _error(
                "target_organisation_id",
                "l'organisation qui rappelle doit être une structure d'accompagnement active "
                "de votre champ",
            )
        )
    if errors:
        raise ValidationFailed(errors)


@router.get(
    "",
    summary="Les règles d'attribution des rappels",
    description="Quelle organisation rappelle les personnes des dépôts reçus par une "
    "organisation, par lieu de dépôt.",
)
async def list_routing_rules(
    principal: CurrentPrincipal,
    session: SessionDep,
    pagination: PaginationDep,
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="Organisation qui reçoit les dépôts.")
    ] = None,
) -> Page[RoutingRulePublic]:
    query = policy.query(principal)
    if organisation_id is not None:
        query = query.where(col(CallbackRoutingRule.organisation_id) == organisation_id)
    query = query.order_by(col(CallbackRoutingRule.id))
    rows, total = await paginate(session, query, pagination)
    return Page[RoutingRulePublic].build(
        [RoutingRulePublic.of(row) for row in rows], total, pagination
    )


@router.post(
    "",
    status_code=HTTP_201_CREATED,
    summary="Définir une règle d'attribution des rappels",
    description="Les rappels ouverts ensuite pour les dépôts de ce lieu (de tous ses lieux sans "
    "`place_organisation_id`) vont à l'organisation choisie, qui voit les personnes ; la règle "
    "d'un lieu l'emporte sur celle de tous les lieux. 409 si le lieu a déjà sa règle.",
)
async def create_routing_rule(
    body: RoutingRuleCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> RoutingRulePublic:
    policy.authorize(principal, CREATE)
    await _check(session, principal, body)
    rule = CallbackRoutingRule(**body.model_dump())
    async with unique_or_conflict(session, {"uq_callback_routing_rule_site": RuleExists()}):
        session.add(rule)
    audit.record(
        session,
        principal,
        "create",
        "callback_routing_rule",
        rule.id,
        request_id=request_id,
        details=RoutingRulePublic.of(rule).model_dump(mode="json", exclude={"id"}),
    )
    await session.flush()
    return RoutingRulePublic.of(rule)


@router.delete(
    "/{rule_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Supprimer une règle d'attribution",
    description="Les rappels déjà ouverts restent où ils sont ; les suivants suivent les autres "
    "règles, ou vont à l'organisation qui a reçu le dépôt.",
)
async def delete_routing_rule(
    rule_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    request_id: RequestIdDep,
) -> None:
    rule = await policy.get(session, principal, rule_id, action=DELETE, for_update=True)
    audit.record(
        session, principal, "delete", "callback_routing_rule", rule.id, request_id=request_id
    )
    await session.delete(rule)
    await session.flush()
