"""``/v1/reports``: the quarterly callback report (decision 0021), as JSON, CSV or XLSX.

The format is a query parameter (``format=json|csv|xlsx``, JSON by default): a link a person can
open or share gives the same file every time, whatever the client's ``Accept``; the CLI takes the
same three names. Aggregates only, no personal data: nothing is audited.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.api.auth.dependencies import CurrentPrincipal
from services.api.callbacks.policy import COUNSELLORS
from services.api.deps import SessionDep
from services.api.errors import Forbidden, NotFound
from services.api.reports.schemas import CallbackReportPublic
from services.api.validation import QuarterText
from services.core.callbacks.report import Quarter, callback_report
from services.core.callbacks.report_files import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    filename,
    to_csv,
    to_xlsx,
)
from services.core.clock import now
from services.core.security.principal import Access, Principal

router = APIRouter(prefix="/reports", tags=["rapports"])


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def scope_of(principal: Principal, organisation_id: uuid.UUID | None) -> set[uuid.UUID] | None:
    """The organisations whose intakes the caller may count (None: all): the admin every one, a
    facilitator its territory, a prescriber its organisation; nobody else."""
    if not principal.may_use("callbacks", Access.READ):
        raise Forbidden("Cette clé d'API n'a pas le droit « callbacks:read ».")
    if principal.role not in COUNSELLORS:
        raise Forbidden()
    if organisation_id is not None:
        if not principal.sees(organisation_id):
            raise NotFound()
        return {organisation_id}
    return None if principal.everywhere else set(principal.territory)


_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Le rapport, en JSON, CSV ou XLSX selon `format`.",
        "content": {
            CSV_MEDIA_TYPE.split(";")[0]: {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get(
    "/callbacks",
    summary="Rapport trimestriel des rappels",
    description="Pour les dépôts d'un trimestre, par organisation qui les a reçus, par lieu de "
    "dépôt (borne) et au total : CV et formulaires déposés, personnes jointes (appel initial et "
    "deux relances au plus), jointes sous 30 jours — compté seulement sur les rappels dont le "
    "délai est échu —, injoignables, suites données par nature, délai médian avant la première "
    "tentative. `format=csv` ou `format=xlsx` donne les mêmes chiffres en fichier.",
    response_model=CallbackReportPublic,
    responses=_FILES,
)
async def read_callback_report(
    principal: CurrentPrincipal,
    session: SessionDep,
    quarter: Annotated[
        QuarterText,
        # Year 1 to 9999: a calendar date has no year 0.
        Query(pattern=r"^[1-9]\d{3}-Q[1-4]$", description="Trimestre, par exemple `2026-Q3`."),
    ],
    format: Annotated[ReportFormat, Query(description="`json` (défaut), `csv` ou `xlsx`.")] = (
        ReportFormat.JSON
    ),
    organisation_id: Annotated[
        uuid.UUID | None, Query(description="Une seule organisation (de votre champ).")
    ] = None,
) -> Any:
    scope = scope_of(principal, organisation_id)
    report = await callback_report(session, Quarter.parse(quarter), now(), organisation_ids=scope)
    if format is ReportFormat.JSON:
        return CallbackReportPublic.of(report)
    content, media_type = (
        (to_csv(report), CSV_MEDIA_TYPE)
        if format is ReportFormat.CSV
        else (to_xlsx(report), XLSX_MEDIA_TYPE)
    )
    disposition = f'attachment; filename="{filename(report, format.value)}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})
