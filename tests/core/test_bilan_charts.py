"""The bilan of a scope with many lots (a buyer's, a territory's): its progress chart holds the
lots furthest behind, and the PDF lays it out over as many pages as it needs (a drawing taller
than a page cannot be laid out: a buyer with some twenty lots got a 500)."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader
from reportlab.graphics.shapes import Rect, String

from services.core.ledger import bilan
from services.core.ledger.bilan_charts import (
    BARS_PER_DRAWING,
    CHART_ROWS,
    GREY,
    charts,
    drawings,
)
from services.core.ledger.figures import Hours, Publics, Row
from services.core.ledger.progress import Progress
from services.core.ledger.scope import Period, Scope, ScopeKind

FRAME_HEIGHT = 842 - 2 * 56.7  # A4 between the bilan's 2 cm margins, in points


def report(lots: int) -> Progress:
    """A buyer's report of ``lots`` lots, lot n having counted n hours of 100 owed."""
    rows = [
        Row(
            uuid.uuid4(),
            f"Lot {n} — travaux",
            Hours(hours_owed=Decimal(100), counted_hours_to_date=Decimal(n)),
            "Marché",
        )
        for n in range(1, lots + 1)
    ]
    return Progress(
        scope=Scope(ScopeKind.BUYER, uuid.uuid4(), "Ville", ()),
        period=Period(date(2026, 4, 1), date(2026, 6, 30)),
        as_of=datetime(2026, 7, 20, tzinfo=UTC),
        total=Hours(hours_owed=Decimal(100 * lots)),
        lots=rows[::-1],  # the most advanced first: the chart must pick the others
        contracts=[],
        companies=[],
        by_modality={},
        by_employer_kind={},
        by_company_size={},
        anru=[],
        participants=Publics(),
        new_entrants=Publics(),
        targets=[],
        placements_by_contract_type={},
        placements_by_length={},
        budget_plan_hours=Decimal(0),
        qpv_hours_to_date=Decimal(0),
    )


def test_a_long_chart_is_drawn_in_parts_that_each_fit_a_page_on_one_scale() -> None:
    chart = charts(report(45))[0]
    parts = drawings(chart)
    assert len(parts) == 3  # 18 + 18 + 9 bars
    assert all(p.height <= FRAME_HEIGHT for p in parts)
    titles = [p.contents[0].text for p in parts if isinstance(p.contents[0], String)]
    assert titles == [chart.title, f"{chart.title} (suite)", f"{chart.title} (suite)"]
    # One scale: the bars of the hours owed (100 h each, grey) are as wide in every part.
    owed = [
        shape.width
        for p in parts
        for shape in p.contents
        if isinstance(shape, Rect) and shape.fillColor == GREY
    ]
    assert len(owed) == 45 and len(set(owed)) == 1
    assert len(drawings(charts(report(BARS_PER_DRAWING))[0])) == 1


def test_a_scope_of_many_lots_charts_those_furthest_behind() -> None:
    chart = charts(report(CHART_ROWS + 15))[0]
    assert len(chart.bars) == CHART_ROWS
    assert {bar.value for bar in chart.bars} == {Decimal(n) for n in range(1, CHART_ROWS + 1)}
    assert f"les {CHART_ROWS} les plus en retard sur {CHART_ROWS + 15}" in chart.title
    assert "plus en retard" not in charts(report(CHART_ROWS))[0].title


def test_the_pdf_of_a_buyer_with_many_lots_is_laid_out() -> None:
    pdf = PdfReader(io.BytesIO(bilan.to_pdf(report(45))))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert len(pdf.pages) >= 3
    assert "(suite)" in text and "Lot 45 — travaux" in text
