"""The buyer's bilan (product.md §8.7, decision 0079): per contract or per buyer and period, as
HTML (charts as inline SVG) and as PDF (ReportLab, the same charts as vector graphics).

Both come from one set of key figures, tables and charts built here from the progress report:
aggregates only, no participant is named."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from services.core.clock import PARIS
from services.core.ledger.bilan_charts import charts, drawings, svg
from services.core.ledger.progress import Progress
from services.core.ledger.progress_table import LENGTH_LABELS, label
from services.core.ledger.scope import SCOPE_KIND_LABELS
from services.core.models.obligation import ANRU_FAMILY_LABELS

HTML_MEDIA_TYPE = "text/html; charset=utf-8"
PDF_MEDIA_TYPE = "application/pdf"


def number(value: Decimal | int | None, unit: str = "") -> str:
    """French writing: decimal comma, no trailing zeros, a unit after a space."""
    if value is None:
        return "—"
    text = f"{Decimal(value).normalize():f}".replace(".", ",")
    return f"{text} {unit}".rstrip()


@dataclass(frozen=True)
class TableData:
    title: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def key_figures(progress: Progress) -> list[tuple[str, str]]:
    t = progress.total
    return [
        ("Heures dues", number(t.hours_owed, "h")),
        ("Heures réalisées comptées à la fin de la période", number(t.counted_hours_to_date, "h")),
        ("Heures réalisées comptées sur la période", number(t.counted_hours, "h")),
        ("Taux de réalisation", number(t.rate_percent, "%")),
        ("Heures restant dues", number(t.remaining_hours, "h")),
        ("Heures attendues au rythme prévu", number(t.expected_hours, "h")),
        ("Heures déclarées non validées", number(t.declared_not_validated, "h")),
        ("Heures réalisées par des habitants des QPV", number(t.qpv_hours, "h")),
        ("Part des habitants des QPV", number(t.qpv_share_percent, "%")),
        ("Heures en sous-traitance", number(t.subcontracted_hours, "h")),
        ("Pénalités encourues", number(t.penalty_exposure, "€")),
        ("Participants", number(progress.participants.total)),
        ("Nouveaux entrants", number(progress.new_entrants.total)),
        ("Heures par participant", number(progress.hours_per_participant, "h")),
        (
            "Relevés reçus / attendus (en retard)",
            f"{t.statements_received} / {t.statements_due} ({t.statements_late})",
        ),
    ]


def tables(progress: Progress) -> list[TableData]:
    found = []
    rows = progress.lots or progress.contracts
    found.append(
        TableData(
            "Avancement par lot" if progress.lots else "Avancement par marché",
            ("", "Dues", "Comptées", "Taux", "Restant", "Attendues", "Pénalités"),
            tuple(
                (
                    row.name,
                    number(row.hours.hours_owed, "h"),
                    number(row.hours.counted_hours_to_date, "h"),
                    number(row.hours.rate_percent, "%"),
                    number(row.hours.remaining_hours, "h"),
                    number(row.hours.expected_hours, "h"),
                    number(row.hours.penalty_exposure, "€"),
                )
                for row in rows
            ),
        )
    )
    if progress.anru:
        found.append(
            TableData(
                "ANRU : part des heures travaillées en insertion",
                ("", "Insertion", "Travaillées", "Part", "Seuil", "Atteint"),
                tuple(
                    (
                        ANRU_FAMILY_LABELS[share.family],
                        number(share.insertion_hours, "h"),
                        number(share.hours_worked, "h"),
                        number(share.share_percent, "%"),
                        number(share.threshold_percent, "%"),
                        "—" if share.met is None else ("oui" if share.met else "non"),
                    )
                    for share in progress.anru
                ),
            )
        )
    people = progress.participants
    found.append(
        TableData(
            "Publics touchés",
            ("", "Participants", "Nouveaux entrants"),
            tuple(
                (label(key), number(count), number(getattr(progress.new_entrants, dim).get(key, 0)))
                for dim in ("by_sex", "by_age_bracket", "by_qpv", "by_criterion")
                for key, count in sorted(getattr(people, dim).items())
            ),
        )
    )
    if progress.targets:
        found.append(
            TableData(
                "Objectifs du territoire",
                ("", "Objectif", "Atteint", ""),
                tuple(
                    (
                        label(t.public),
                        number(t.target_percent, "%"),
                        number(t.share_percent, "%"),
                        "—" if t.met is None else ("oui" if t.met else "non"),
                    )
                    for t in progress.targets
                ),
            )
        )
    found.append(
        TableData(
            "Contrats de travail",
            ("", "Nombre"),
            tuple(
                (label(key), number(count))
                for key, count in sorted(progress.placements_by_contract_type.items())
            )
            + tuple(
                (LENGTH_LABELS.get(key, key), number(count))
                for key, count in sorted(progress.placements_by_length.items())
            ),
        )
    )
    return found


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("services.core.ledger", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def to_html(progress: Progress) -> bytes:
    page = (
        _environment()
        .get_template("bilan.html.j2")
        .render(
            scope_label=SCOPE_KIND_LABELS[progress.scope.kind],
            scope_name=progress.scope.name,
            period_label=progress.period.label,
            as_of=f"{progress.as_of.astimezone(PARIS):%d/%m/%Y}",
            key_figures=key_figures(progress),
            behind=progress.total.behind_schedule,
            charts=[svg(chart) for chart in charts(progress)],
            tables=tables(progress),
        )
    )
    return page.encode("utf-8")


def to_pdf(progress: Progress) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=f"Bilan de la clause sociale — {progress.scope.name}",
        author="Maillon",
    )
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#c6ccd3")),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ]
    )
    story: list[Flowable] = [
        Paragraph("Bilan de la clause sociale d'insertion", styles["Title"]),
        Paragraph(
            escape(
                f"{SCOPE_KIND_LABELS[progress.scope.kind]} : {progress.scope.name} — période "
                f"{progress.period.label}, établi le {progress.as_of.astimezone(PARIS):%d/%m/%Y}."
            ),
            styles["Normal"],
        ),
        Spacer(1, 0.4 * cm),
        Table([list(pair) for pair in key_figures(progress)], style=grid, hAlign="LEFT"),
    ]
    if progress.total.behind_schedule:
        story.append(
            Paragraph(
                "Le rythme de réalisation est en retard sur le rythme prévu.", styles["Normal"]
            )
        )
    for chart in charts(progress):
        story.append(Spacer(1, 0.5 * cm))
        story += drawings(chart)
    for table in tables(progress):
        # A title stays with its table (a short one whole) rather than ending a page alone.
        story.append(
            KeepTogether(
                [
                    Paragraph(escape(table.title), styles["Heading2"]),
                    Table(
                        [list(table.head), *map(list, table.rows)],
                        style=grid,
                        hAlign="LEFT",
                        repeatRows=1,
                    ),
                ]
            )
        )
    story.append(Spacer(1, 0.5 * cm))
    story.append(
        Paragraph(
            "Chiffres agrégés : aucun participant n'est nommé dans ce bilan.", styles["Normal"]
        )
    )
    document.build(story)
    return buffer.getvalue()
