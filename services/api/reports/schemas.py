"""The quarterly callback report as JSON."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from services.core.callbacks.report import LEVEL_LABELS, Level, Report, Row
from services.core.models.callback import CALLBACK_OUTCOME_LABELS, CallbackOutcome


class ReportRow(BaseModel):
    level: Level = Field(description="`total`, `organisation` (qui a reçu les dépôts) ou `site`.")
    level_label: str = Field(description="Le niveau en toutes lettres, en français.")
    organisation_id: uuid.UUID | None = Field(description="L'organisation ou le lieu de dépôt.")
    name: str | None = Field(description="Nom de l'organisation ou du lieu.")
    forms_deposited: int = Field(description="CV et formulaires déposés dans le trimestre.")
    cases_opened: int = Field(description="Rappels ouverts par ces dépôts.")
    people_reached: int = Field(description="Personnes jointes (appel initial et 2 relances).")
    windows_closed: int = Field(description="Rappels dont le délai de 30 jours est échu.")
    reached_within_30_days: int = Field(
        description="Parmi les délais échus, personnes jointes avant leur terme."
    )
    unreachable: int = Field(description="Injoignables après trois tentatives.")
    still_open: int = Field(description="Rappels encore ouverts à la fin du trimestre.")
    outcomes: dict[CallbackOutcome, int] = Field(description="Suites données, par nature.")
    median_days_to_first_attempt: float | None = Field(
        description="Délai médian, en jours, du dépôt à la première tentative."
    )

    @classmethod
    def of(cls, row: Row) -> ReportRow:
        f = row.figures
        return cls(
            level=row.level,
            level_label=LEVEL_LABELS[row.level],
            organisation_id=row.organisation_id,
            name=row.name,
            forms_deposited=f.forms_deposited,
            cases_opened=f.cases_opened,
            people_reached=f.people_reached,
            windows_closed=f.windows_closed,
            reached_within_30_days=f.reached_within_30_days,
            unreachable=f.unreachable,
            still_open=f.still_open,
            outcomes=f.outcomes,
            median_days_to_first_attempt=f.median_days_to_first_attempt,
        )


class CallbackReportPublic(BaseModel):
    quarter: str = Field(description="AAAA-Qn")
    label: str = Field(description="T3 2026")
    start: date = Field(description="Premier jour de la période.")
    end: date = Field(description="Dernier jour de la période.")
    as_of: datetime = Field(description="Moment du calcul (délais échus à cette date).")
    total: ReportRow = Field(description="Les chiffres de toute la période, tous lieux confondus.")
    organisations: list[ReportRow] = Field(
        description="Une ligne par organisation qui a reçu des dépôts."
    )
    sites: list[ReportRow] = Field(description="Une ligne par lieu de dépôt (borne).")
    outcome_labels: dict[CallbackOutcome, str] = Field(
        description="Les suites données en toutes lettres, par code."
    )

    @classmethod
    def of(cls, report: Report) -> CallbackReportPublic:
        return cls(
            quarter=str(report.quarter),
            label=report.quarter.label,
            start=report.quarter.start,
            end=report.quarter.end,
            as_of=report.as_of,
            total=ReportRow.of(report.total),
            organisations=[ReportRow.of(row) for row in report.organisations],
            sites=[ReportRow.of(row) for row in report.sites],
            outcome_labels=CALLBACK_OUTCOME_LABELS,
        )
