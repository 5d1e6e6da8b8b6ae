"""The ``/v1`` router: each domain package includes its own router here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from services.api.api_keys.router import router as api_keys_router
from services.api.attributions.router import router as attributions_router
from services.api.audit.router import router as audit_router
from services.api.auth.router import router as auth_router
from services.api.callbacks.router import router as callbacks_router
from services.api.callbacks.routing import router as callback_routing_router
from services.api.callbacks.settings import router as callback_settings_router
from services.api.candidates.router import router as candidates_router
from services.api.contracts.router import router as contracts_router
from services.api.docs import DOCS_PATH
from services.api.intake.router import router as intake_router
from services.api.matches.contact import router as match_contact_router
from services.api.matches.router import router as matches_router
from services.api.matches.standing import router as standings_router
from services.api.notifications.router import router as notifications_router
from services.api.obligations.router import router as obligations_router
from services.api.offers.router import router as offers_router
from services.api.organisations.router import router as organisations_router
from services.api.outcomes.router import router as outcomes_router
from services.api.placements.router import router as placements_router
from services.api.public.router import router as public_router
from services.api.referentials.router import router as referentials_router
from services.api.reports.progress import router as progress_router
from services.api.reports.router import router as reports_router
from services.api.statements.router import router as statements_router
from services.api.users.router import router as users_router
from services.api.webhooks.router import router as webhooks_router

router = APIRouter(prefix="/v1")


class ApiIndex(BaseModel):
    name: str = Field(description="Nom de l'API.")
    version: str = Field(description="Version déployée de Maillon.")
    links: dict[str, str] = Field(
        description=(
            "Adresses utiles : cette page (`self`), le document OpenAPI et la "
            "documentation, s'ils sont servis."
        )
    )


@router.get(
    "",
    summary="Point d'entrée de l'API",
    description=(
        "Le nom et la version de l'API, et les adresses de sa documentation. Sans authentification."
    ),
)
async def index(request: Request) -> ApiIndex:
    links = {"self": request.url.path}
    if request.app.openapi_url:
        links["openapi"] = request.app.openapi_url
        links["docs"] = DOCS_PATH
    return ApiIndex(name=request.app.title, version=request.app.version, links=links)


# Routes are tried in order: the borne intakes, the busiest by far (P4), come first.
router.include_router(intake_router)
router.include_router(auth_router)
router.include_router(referentials_router)
router.include_router(organisations_router)
router.include_router(users_router)
router.include_router(api_keys_router)
router.include_router(audit_router)
router.include_router(contracts_router)
router.include_router(offers_router)
router.include_router(public_router)
router.include_router(candidates_router)
router.include_router(matches_router)
router.include_router(standings_router)
router.include_router(match_contact_router)
# Before the cases: ``/callbacks/routing-rules`` is no case id.
router.include_router(callback_routing_router)
router.include_router(callbacks_router)
router.include_router(callback_settings_router)
router.include_router(reports_router)
router.include_router(progress_router)
router.include_router(notifications_router)
router.include_router(webhooks_router)
# The insertion-hours ledger (product.md §8).
router.include_router(obligations_router)
router.include_router(attributions_router)
router.include_router(placements_router)
router.include_router(statements_router)
router.include_router(outcomes_router)
