"""The bilan's three charts (decision 0079): progress per lot, hours by modality, publics reached.

Each chart is drawn once, as a ReportLab drawing, which the HTML takes as inline SVG and the PDF
as vector graphics: the same chart in both. Horizontal bars, a label and a figure per bar, so
that a chart reads without colours too. A scope of many lots (a buyer's, a territory's) charts
the ``CHART_ROWS`` furthest behind, all of them being in the tables; in the PDF a chart longer
than a page is drawn as several drawings of ``BARS_PER_DRAWING`` bars, each fitting a page."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib.colors import Color, HexColor

from services.core.ledger.figures import Row, percent
from services.core.ledger.progress import Progress
from services.core.ledger.progress_table import PUBLIC_LABELS, label

WIDTH = 480
BAR_HEIGHT = 14
ROW_HEIGHT = 34
LABEL_SIZE = 8
BLUE = HexColor("#2f5d8a")
GREY = HexColor("#d9dee4")
RED = HexColor("#b3261e")
# Lots (or contracts) charted at most: beyond, those furthest behind (lowest rate to date).
CHART_ROWS = 60
# Bars of one drawing in the PDF: its title and 18 rows (636 pt) fit an A4 page between the
# bilan's 2 cm margins (770 pt); a drawing taller than a page cannot be laid out at all.
BARS_PER_DRAWING = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    # What the bar is measured against (hours owed, a target): drawn behind it / as a mark.
    reference: Decimal | None
    text: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    bars: tuple[Bar, ...]
    # The bars are percentages (0–100 scale, a reference is a target mark).
    percentages: bool = False


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",") + " h"


def _percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f}".replace(".", ",") + " %"


def _count(n: int) -> str:
    """A count as French writes it: 10\u202f000."""
    return f"{n:,}".replace(",", "\u202f")


def _behind_first(row: Row) -> tuple[bool, Decimal, str]:
    rate = row.hours.rate_percent
    return (rate is None, rate if rate is not None else Decimal(0), row.name)


def charts(progress: Progress) -> list[Chart]:
    every = progress.lots or progress.contracts
    rows = every if len(every) <= CHART_ROWS else sorted(every, key=_behind_first)[:CHART_ROWS]
    per_lot = tuple(
        Bar(
            row.name,
            row.hours.counted_hours_to_date,
            row.hours.hours_owed,
            f"{_hours(row.hours.counted_hours_to_date)} sur {_hours(row.hours.hours_owed)} dues"
            f" ({_percent(row.hours.rate_percent)})",
        )
        for row in rows
    )
    by_modality = tuple(
        Bar(label(key), hours, None, _hours(hours))
        for key, hours in sorted(progress.by_modality.items())
    )
    people = progress.participants
    targets = {t.public: t.target_percent for t in progress.targets}
    publics = []
    for public, count in (
        ("female", people.by_sex.get("female", 0)),
        ("<26", people.by_age_bracket.get("<26", 0)),
        ("50+", people.by_age_bracket.get("50+", 0)),
        ("qpv", people.by_qpv.get("true", 0)),
    ):
        share = percent(count, people.total) or Decimal(0)
        target = targets.get(public)
        text = f"{count} sur {people.total} ({_percent(share)})"
        if target is not None:
            text += f", objectif {_percent(target)}"
        name = "Habitants d'un QPV" if public == "qpv" else PUBLIC_LABELS[public]
        publics.append(Bar(name, share, target, text))
    return [
        Chart(
            "progress_per_lot",
            ("Avancement par lot" if progress.lots else "Avancement par marché")
            + " (heures comptées / heures dues)"
            + (
                f" : les {len(rows)} les plus en retard sur {_count(len(every))}, tous dans "
                "les tableaux"
                if len(rows) < len(every)
                else ""
            ),
            per_lot,
        ),
        Chart("hours_by_modality", "Heures comptées par modalité", by_modality),
        Chart("publics", "Publics touchés (part des participants)", tuple(publics), True),
    ]


def _bar(x: float, y: float, width: float, colour: Color) -> Rect:
    bar = Rect(x, y, width, BAR_HEIGHT)
    bar.fillColor = colour
    bar.strokeColor = None
    return bar


def _scale(chart: Chart) -> Decimal:
    return (
        Decimal(100)
        if chart.percentages
        else max((max(b.value, b.reference or Decimal(0)) for b in chart.bars), default=Decimal(0))
    ) or Decimal(1)


def drawings(chart: Chart) -> list[Drawing]:
    """The chart for the PDF: one drawing, or several of ``BARS_PER_DRAWING`` bars on one scale
    (the next ones titled « (suite) »), each fitting a page."""
    if len(chart.bars) <= BARS_PER_DRAWING:
        return [drawing(chart)]
    scale = _scale(chart)
    return [
        drawing(
            replace(
                chart,
                title=chart.title if start == 0 else f"{chart.title} (suite)",
                bars=chart.bars[start : start + BARS_PER_DRAWING],
            ),
            scale,
        )
        for start in range(0, len(chart.bars), BARS_PER_DRAWING)
    ]


def drawing(chart: Chart, scale: Decimal | None = None) -> Drawing:
    """The whole chart as one drawing (``scale``: the value of a full bar, the chart's own
    largest by default)."""
    height = 24 + ROW_HEIGHT * max(len(chart.bars), 1)
    d = Drawing(WIDTH, height)
    d.add(String(0, height - 12, chart.title, fontName="Helvetica-Bold", fontSize=10))
    if not chart.bars:
        d.add(String(0, height - 34, "Aucune heure sur la période.", fontSize=LABEL_SIZE))
        return d
    scale = scale if scale is not None else _scale(chart)
    width = WIDTH - 10
    for index, bar in enumerate(chart.bars):
        top = height - 24 - ROW_HEIGHT * index
        d.add(String(0, top - 9, f"{bar.label} : {bar.text}", fontSize=LABEL_SIZE))
        y = top - 12 - BAR_HEIGHT
        if bar.reference is not None and not chart.percentages:
            d.add(_bar(0, y, float(bar.reference / scale) * width, GREY))
        d.add(_bar(0, y, float(min(bar.value / scale, Decimal(1))) * width, BLUE))
        if bar.reference is not None and chart.percentages:
            x = float(bar.reference / scale) * width
            d.add(Line(x, y - 3, x, y + BAR_HEIGHT + 3, strokeColor=RED, strokeWidth=2))
    return d


_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element, titled for screen readers."""
    text = _PROLOGUE.sub("", renderSVG.drawToString(drawing(chart)), count=1)
    opening = text.index(">") + 1
    title = chart.title.replace("&", "&amp;").replace("<", "&lt;")
    return (
        text[: opening - 1]
        + f' role="img" aria-label="{title}" data-chart="{chart.key}">'
        + f"<title>{title}</title>"
        + text[opening:]
    )
