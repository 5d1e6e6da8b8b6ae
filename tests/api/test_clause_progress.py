"""Clause progress (§8.6–8.7): the constructed contract of ``progress_world`` gives the figures
worked out by hand there, the same in JSON, CSV, XLSX and in the bilan's HTML; the bilan's PDF
opens and holds them; no participant's name leaves the facilitator; who sees what."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.deps import get_settings
from services.api.reports.progress_schemas import ProgressPublic, progress_json
from services.core.clock import FrozenClock, use_clock
from services.core.db import SessionMaker
from services.core.ledger.counted import CountingRules, counted_hours
from services.core.ledger.progress import progress
from services.core.ledger.scope import ScopeKind, resolve
from services.core.ledger.scope import quarter as parse_quarter
from services.core.models.attribution import Attribution
from services.core.models.obligation import Obligation
from services.core.models.placement import Placement, StatementLine
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import account
from tests.api.progress_world import (
    AS_OF,
    EXPECTED_BREAKDOWNS,
    EXPECTED_NEW_ENTRANTS,
    EXPECTED_PARTICIPANTS,
    EXPECTED_PLACEMENTS,
    EXPECTED_TOTAL,
    LOTS,
    SURNAME,
    TARGETS,
    World,
    build,
)
from tests.conftest import ROOT

Q2 = {"quarter": "2026-Q2"}


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(AS_OF)) as frozen:
        assert isinstance(frozen, FrozenClock)
        yield frozen


@pytest.fixture
def app(app: FastAPI, settings: Settings) -> FastAPI:
    targets = settings.model_copy(update={"progress_targets": TARGETS})
    app.dependency_overrides[get_settings] = lambda: targets
    return app


@pytest.fixture
async def world(db_session: AsyncSession) -> World:
    return await build(db_session)


@pytest.fixture
def headers(db_session: AsyncSession, world: World, settings: Settings) -> Headers:
    async def of(role: Role, organisation: str) -> dict[str, str]:
        found = getattr(world, organisation)
        return (await account(db_session, found, role, settings)).headers

    return of


Headers = Callable[[Role, str], Awaitable[dict[str, str]]]


# -- the figures -------------------------------------------------------------------------------


def check_json(body: dict[str, Any]) -> None:
    assert body["period_start"] == "2026-04-01" and body["period_end"] == "2026-06-30"
    assert body["total"] == pytest.approx(EXPECTED_TOTAL)
    lots = {row["name"].split(" — ")[0]: row["hours"] for row in body["lots"]}
    for number, (owed, counted, to_date, expected, behind, penalty) in LOTS.items():
        lot = lots[f"Lot {number}"]
        assert (
            lot["hours_owed"],
            lot["counted_hours"],
            lot["counted_hours_to_date"],
            lot["expected_hours"],
            lot["behind_schedule"],
            lot["penalty_exposure"],
        ) == (owed, counted, to_date, expected, behind, penalty), number
    assert [row["hours"]["hours_owed"] for row in body["contracts"]] == [1748]
    companies = {row["name"]: row["hours"] for row in body["companies"]}
    # The holder's total includes the ACI's subcontracted hours.
    assert companies["Bâtisseurs SA"]["hours_owed"] == 1748
    assert companies["Bâtisseurs SA"]["counted_hours"] == 390
    assert companies["Bâtisseurs SA"]["subcontracted_hours"] == 105
    assert companies["Chantier d'insertion"]["hours_owed"] == 0
    assert companies["Chantier d'insertion"]["counted_hours_to_date"] == 165
    for key, expected_hours in EXPECTED_BREAKDOWNS.items():
        assert body[key] == expected_hours, key
    assert body["under_50_hours"] == 105 and body["under_50_share_percent"] == 26.9
    assert body["anru"] == [
        {
            "family": "investment",
            "insertion_hours": 105,
            "hours_worked": 2000,
            "threshold_percent": 5,
            "share_percent": 5.25,
            "met": True,
        }
    ]
    assert body["participants"] == EXPECTED_PARTICIPANTS
    assert body["new_entrants"] == EXPECTED_NEW_ENTRANTS
    # 3 women of 7 = 42.9 %, 2 under 26 = 28.6 % (target 30: not met), 2 of 50+ = 28.6 %.
    assert body["targets"] == [
        {"public": "50+", "target_percent": 5, "people": 2, "share_percent": 28.6, "met": True},
        {"public": "<26", "target_percent": 30, "people": 2, "share_percent": 28.6, "met": False},
        {"public": "female", "target_percent": 15, "people": 3, "share_percent": 42.9, "met": True},
    ]
    assert body["placements_by_contract_type"] == EXPECTED_PLACEMENTS["by_contract_type"]
    assert body["placements_by_length"] == EXPECTED_PLACEMENTS["by_length"]
    assert body["hours_per_participant"] == 55.7  # 390 ÷ 7
    assert body["outcomes"] is None
    # Nantes: lot 4 is in the ANRU budget plan; QPV residents' hours to date: P1 190, P3 260,
    # P6 105.
    assert body["quarterly_note"] == {
        "budget_plan_hours": 100,
        "contract_hours": 1748,
        "qpv_hours_to_date": 555,
    }


def flat_figures(rows: list[list[Any]]) -> dict[tuple[str, str | None, str | None], Any]:
    """{(row name, indicator code, category code): value} of the flat table."""
    head = rows[0]
    assert head == [
        "Niveau",
        "Identifiant",
        "Nom",
        "Indicateur",
        "Code de l'indicateur",
        "Catégorie",
        "Code de la catégorie",
        "Valeur",
    ]
    figures: dict[tuple[str, str | None, str | None], Any] = {}
    for level, _, name, _, indicator, _, category, value in rows[1:]:
        key = (name if level != "Total" else "total", indicator, category or None)
        assert key not in figures, key
        figures[key] = value
    return figures


def number(cell: Any) -> Any:
    """A CSV cell as the JSON gives it (decimal comma; oui / non)."""
    if isinstance(cell, str):
        if cell in ("oui", "non"):
            return cell == "oui"
        if cell == "":
            return None
        return float(cell.replace(",", "."))
    return cell


def check_flat(figures: dict[tuple[str, str | None, str | None], Any]) -> None:
    for indicator, expected in EXPECTED_TOTAL.items():
        assert number(figures[("total", indicator, None)]) == pytest.approx(expected), indicator
    for key, breakdown in EXPECTED_BREAKDOWNS.items():
        for category, hours in breakdown.items():
            assert number(figures[("total", key, category)]) == hours, (key, category)
    for dimension, counts in EXPECTED_PARTICIPANTS.items():
        if dimension == "total":
            assert number(figures[("total", "participants", "all")]) == counts
            continue
        assert isinstance(counts, dict)
        for category, people in counts.items():
            assert number(figures[("total", f"participants_{dimension}", category)]) == people
    assert number(figures[("total", "new_entrants", "all")]) == 2
    assert number(figures[("total", "anru_share_percent", "investment")]) == 5.25
    assert number(figures[("total", "anru_met", "investment")]) is True
    assert number(figures[("total", "target_met", "<26")]) is False
    assert number(figures[("total", "hours_per_participant", None)]) == 55.7
    assert number(figures[("total", "budget_plan_hours", None)]) == 100
    assert number(figures[("total", "qpv_hours_to_date", None)]) == 555
    for length, count in EXPECTED_PLACEMENTS["by_length"].items():
        assert number(figures[("total", "placements_by_length", length)]) == count
    lot_names = {name for name, _, _ in figures if name.startswith("Lot ")}
    assert len(lot_names) == 5
    for number_, (owed, counted, to_date, expected, behind, penalty) in LOTS.items():
        (name,) = [n for n in lot_names if n.startswith(f"Lot {number_} ")]
        got = tuple(
            number(figures[(name, indicator, None)])
            for indicator in (
                "hours_owed",
                "counted_hours",
                "counted_hours_to_date",
                "expected_hours",
                "behind_schedule",
                "penalty_exposure",
            )
        )
        assert got == (owed, counted, to_date, expected, behind, penalty), name


async def test_the_constructed_contract_gives_the_hand_worked_figures_in_every_format(
    db_session: AsyncSession,
    client: httpx.AsyncClient,
    world: World,
    headers: Headers,
    clock: FrozenClock,
) -> None:
    facilitator = await headers(Role.FACILITATOR, "facilitation")
    path = f"/v1/contracts/{world.contract.id}/progress"

    response = await client.get(path, params=Q2, headers=facilitator)
    assert response.status_code == 200, response.text
    check_json(response.json())
    # The same through the report, scope contract.
    report = await client.get(
        "/v1/reports/clause-progress",
        params={**Q2, "scope": "contract", "scope_id": str(world.contract.id)},
        headers=facilitator,
    )
    assert report.status_code == 200, report.text
    check_json(report.json())

    as_csv = await client.get(path, params={**Q2, "format": "csv"}, headers=facilitator)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in as_csv.headers["content-disposition"]
    text = as_csv.content.decode("utf-8-sig")
    assert SURNAME not in text
    check_flat(flat_figures(list(csv.reader(io.StringIO(text), delimiter=";"))))

    as_xlsx = await client.get(path, params={**Q2, "format": "xlsx"}, headers=facilitator)
    assert as_xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert workbook.sheetnames == ["Synthèse", "Indicateurs"]
    sheet_rows = [list(row) for row in workbook["Indicateurs"].iter_rows(values_only=True)]
    check_flat(flat_figures(sheet_rows))
    summary = [list(row) for row in workbook["Synthèse"].iter_rows(values_only=True)]
    assert summary[1][:5] == [
        "Total",
        None,
        world.contract.reference + " — " + world.contract.title,
        1748,
        390,
    ]
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            assert not any(isinstance(cell, str) and SURNAME in cell for cell in row)

    html = await client.get(path, params={**Q2, "format": "html"}, headers=facilitator)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    page = html.text
    assert SURNAME not in page
    for chart in ("progress_per_lot", "hours_by_modality", "publics"):
        assert page.count(f'data-chart="{chart}"') == 1, chart
    assert page.count("<svg") == 3
    for figure in (
        ">1748 h<",  # owed
        ">870 h<",  # counted to date
        ">390 h<",  # in the quarter
        ">49,8 %<",
        ">878 h<",  # remaining
        ">867 h<",  # expected
        ">80 h<",  # declared, not validated
        ">135 h<",  # QPV
        ">34,6 %<",
        ">105 h<",  # subcontracted
        ">80000 €<",  # penalties
        ">55,7 h<",  # per participant
        ">5 / 6 (2)<",  # statements
    ):
        assert figure in page, figure
    # The charts: every lot's bar, the modalities, the publics against their targets.
    for text_in_chart in (
        "Lot 1 — Gros œuvre : 355 h sur 700 h dues (50,7 %)",
        "Lot 2 — Second œuvre : 410 h sur 833 h dues (49,2 %)",
        "Lot 5 — Entretien : 0 h sur 110 h dues (0 %)",
        "Embauche directe : 255 h",
        "Mise à disposition : 30 h",
        "Sous-traitance : 105 h",
        "Femmes : 3 sur 7 (42,9 %), objectif 15 %",
        "Moins de 26 ans : 2 sur 7 (28,6 %), objectif 30 %",
        "Habitants d'un QPV : 3 sur 7 (42,9 %)",
    ):
        assert text_in_chart.replace("'", "&#39;") in page or text_in_chart in page, text_in_chart

    pdf = await client.get(path, params={**Q2, "format": "pdf"}, headers=facilitator)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf.content))
    pdf_text = "\n".join(page.extract_text() for page in reader.pages)
    for figure in ("1748 h", "870 h", "49,8 %", "80000 €", "Lot 1 — Gros œuvre : 355 h sur 700 h"):
        assert figure in pdf_text, figure
    assert SURNAME not in pdf_text
    if shutil.which("pdftoppm"):  # renders where poppler is installed (not a Python package)
        assert render_pages(pdf.content) == len(reader.pages)


def render_pages(content: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bilan.pdf"
        source.write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "50", str(source), str(Path(folder) / "page")],
            check=True,
            timeout=60,
        )
        return len(list(Path(folder).glob("page*.png")))


async def test_counted_hours_in_sql_are_the_rule_of_counted_py(
    db_session: AsyncSession,
    client: httpx.AsyncClient,
    world: World,
    headers: Headers,
    clock: FrozenClock,
) -> None:
    """Each lot's hours counted to date, line by line with ``counted.py``, equal the query's."""
    by_lot: dict[Any, Decimal] = {}
    rows = await db_session.execute(
        select(Obligation, Placement, StatementLine)
        .join(Attribution, col(Attribution.lot_id) == col(Obligation.lot_id))
        .join(Placement, col(Placement.attribution_id) == col(Attribution.id))
        .join(StatementLine, col(StatementLine.placement_id) == col(Placement.id))
        .where(col(Obligation.contract_id) == world.contract.id)
    )
    for obligation, placement, line in rows:
        hours = counted_hours(CountingRules.of(obligation), placement, line)
        by_lot[obligation.lot_id] = by_lot.get(obligation.lot_id, Decimal(0)) + hours
    facilitator = await headers(Role.FACILITATOR, "facilitation")
    body = (
        await client.get(
            f"/v1/contracts/{world.contract.id}/progress",
            params={"start": "2026-01-01", "end": "2026-12-31"},
            headers=facilitator,
        )
    ).json()
    from_sql = {row["id"]: row["hours"]["counted_hours_to_date"] for row in body["lots"]}
    # Lot 3 has no line at all; every other lot's hours, zeros included, agree.
    assert {str(lot): float(hours) for lot, hours in by_lot.items()} == {
        lot: hours for lot, hours in from_sql.items() if lot != str(world.lots[2])
    }
    assert sum(by_lot.values()) == 870


async def test_the_json_written_straight_is_the_models(
    db_session: AsyncSession, world: World, clock: FrozenClock
) -> None:
    """The report's JSON is written from plain values, not validated by the model: for a
    contract, a lot and a company (rows, sums, subcontracting, QPV), it is what the model
    would give, key for key and in the same order."""
    period = parse_quarter("2026-Q2")
    scopes = [
        await resolve(db_session, ScopeKind.CONTRACT, world.contract.id),
        await resolve(db_session, ScopeKind.LOT, world.lots[0]),
        await resolve(db_session, ScopeKind.COMPANY, world.holder.id),
    ]
    for scope in scopes:
        assert scope is not None
        report = await progress(
            db_session, scope, period, as_of=AS_OF, today=AS_OF.date(), targets=None
        )
        written = progress_json(report)
        assert written == ProgressPublic.of(report).model_dump_json().encode()
        assert json.loads(written)["total"]["counted_hours"] > 0


# -- who sees what -----------------------------------------------------------------------------


async def test_a_buyer_reads_its_contracts_and_its_report_and_a_company_its_own_hours(
    db_session: AsyncSession,
    client: httpx.AsyncClient,
    world: World,
    headers: Headers,
    clock: FrozenClock,
) -> None:
    buyer = await headers(Role.BUYER, "buyer")
    aci = await headers(Role.EMPLOYER, "aci")
    outsider = await headers(Role.EMPLOYER, "outsider")
    path = f"/v1/contracts/{world.contract.id}/progress"
    holder_id = str(world.holder.id)  # rows expire when a refused request rolls back

    mine = await client.get(path, params=Q2, headers=buyer)
    assert mine.status_code == 200 and mine.json()["total"]["hours_owed"] == 1748
    bilan = await client.get(
        "/v1/reports/clause-progress",
        params={**Q2, "scope": "buyer", "format": "html"},
        headers=buyer,
    )
    assert bilan.status_code == 200 and ">1748 h<" in bilan.text
    assert SURNAME not in bilan.text
    territory = await client.get(
        "/v1/reports/clause-progress", params={**Q2, "scope": "territory"}, headers=buyer
    )
    assert_problem(territory, 403, "forbidden")

    # The subcontracting ACI: its own attribution only (lot 1, P2's hours), no owed share.
    own = (await client.get(path, params=Q2, headers=aci)).json()
    assert own["scope"]["name"].endswith("— Chantier d'insertion")
    assert own["total"]["counted_hours"] == 105 and own["total"]["hours_owed"] == 0
    assert own["total"]["counted_hours_to_date"] == 165
    assert own["companies"] == [] and own["participants"]["total"] == 1
    assert_problem(await client.get(path, params=Q2, headers=outsider), 404, "not-found")
    other_company = await client.get(
        "/v1/reports/clause-progress",
        params={**Q2, "scope": "company", "scope_id": holder_id},
        headers=aci,
    )
    assert_problem(other_company, 404, "not-found")


async def test_the_facilitators_territory_report_and_bad_periods(
    db_session: AsyncSession,
    client: httpx.AsyncClient,
    world: World,
    headers: Headers,
    clock: FrozenClock,
) -> None:
    facilitator = await headers(Role.FACILITATOR, "facilitation")
    report = await client.get(
        "/v1/reports/clause-progress", params={**Q2, "scope": "territory"}, headers=facilitator
    )
    assert report.status_code == 200
    body = report.json()
    assert body["scope"]["kind"] == "territory"
    assert body["total"]["hours_owed"] == 1748 and body["total"]["counted_hours"] == 390
    assert len(body["contracts"]) == 1 and len(body["lots"]) == 5
    lot = await client.get(
        "/v1/reports/clause-progress",
        params={**Q2, "scope": "lot", "scope_id": str(world.lots[0])},
        headers=facilitator,
    )
    assert lot.json()["total"]["counted_hours_to_date"] == 355
    for params in (
        {"scope": "territory"},
        {"scope": "territory", "quarter": "2026-Q2", "start": "2026-04-01"},
        {"scope": "territory", "start": "2026-06-30", "end": "2026-04-01"},
    ):
        bad = await client.get("/v1/reports/clause-progress", params=params, headers=facilitator)
        assert_problem(bad, 400, "bad-request")


@pytest.mark.slow
async def test_the_command_writes_the_same_report(
    committing_sessionmaker: SessionMaker, settings: Settings, tmp_path: Path
) -> None:
    async with committing_sessionmaker() as session:
        world = await build(session)
        buyer_name, contract_id = world.buyer.name, str(world.contract.id)
        await session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    assert settings.database_url is not None
    env.update(DATABASE_URL=settings.database_url, MAILLON_LOG_JSON="false")

    def maillon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "report", "clause-progress", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    as_json = maillon("--scope", "buyer", "--id", buyer_name, "--quarter", "2026-Q2")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    # What does not depend on the day the command runs.
    assert report["scope"]["kind"] == "buyer"
    assert report["total"]["hours_owed"] == 1748
    assert report["total"]["counted_hours"] == 390
    assert report["total"]["counted_hours_to_date"] == 870
    assert report["participants"] == EXPECTED_PARTICIPANTS
    target = tmp_path / "bilan.pdf"
    as_pdf = maillon(
        "--scope", "contract", "--id", contract_id, "--start", "2026-04-01", "--end",
        "2026-06-30", "--format", "pdf", "--output", str(target),
    )  # fmt: skip
    assert as_pdf.returncode == 0, as_pdf.stderr
    assert "870 h" in "\n".join(p.extract_text() for p in PdfReader(target).pages)
    as_csv = tmp_path / "avancement.csv"
    written = maillon(
        "--scope", "contract", "--id", contract_id, "--quarter", "2026-Q2", "--format", "csv",
        "--output", str(as_csv),
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    rows = list(csv.reader(io.StringIO(as_csv.read_text("utf-8-sig")), delimiter=";"))
    assert number(flat_figures(rows)[("total", "counted_hours_to_date", None)]) == 870
    for wrong in (
        ("--scope", "buyer", "--id", buyer_name, "--quarter", "2026-Q5"),
        ("--scope", "buyer", "--id", "Personne", "--quarter", "2026-Q2"),
        ("--scope", "contract", "--id", "MAR-1", "--quarter", "2026-Q2"),
    ):
        refused = maillon(*wrong)
        assert refused.returncode == 2 and refused.stderr.startswith("Erreur"), refused.stderr
