"""The quarterly callback report: a constructed quarter gives the expected numbers, the same in
JSON, CSV and XLSX, within the caller's scope; and the same from ``maillon report callbacks``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.callbacks.report import COLUMNS, Quarter, median
from services.core.callbacks.report_files import csv_cell
from services.core.callbacks.schedule import due_at
from services.core.clock import PARIS, FrozenClock, use_clock
from services.core.db import SessionMaker
from services.core.models.callback import (
    AttemptResult,
    CallbackCase,
    CallbackOutcome,
    CallbackStatus,
)
from services.core.models.intake import Intake, IntakeSource
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import Role
from services.core.settings import Settings
from tests.api.conftest import assert_problem
from tests.api.identity import Account, account
from tests.conftest import ROOT
from tests.factories import make_candidate, make_organisation

# The report is read in mid-April 2026: every window of the first quarter has closed but for
# the deposits after 15 March.
AS_OF = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)


def paris(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    frozen = FrozenClock(AS_OF)
    with use_clock(frozen):
        yield frozen


@dataclass
class Quarterly:
    facilitation: Organisation
    agency_a: Organisation
    agency_b: Organisation
    landlord: Organisation
    outsider: Organisation
    facilitator: Account
    prescriber_a: Account
    admin: Account
    reception: Account


async def form(
    session: AsyncSession,
    received_by: Organisation,
    place: Organisation,
    deposit: date,
    *,
    first_attempt: date | None = None,
    reached: date | None = None,
    outcome: CallbackOutcome | None = None,
    opens_case: bool = True,
) -> None:
    """One deposited form and, when it opened one, its callback case as it ended up."""
    candidate = await make_candidate(session, received_by)
    intake = Intake(
        candidate_id=candidate.id,
        organisation_id=received_by.id,
        place_organisation_id=place.id,
        source=IntakeSource.KIOSK,
        deposit_date=deposit,
    )
    session.add(intake)
    await session.flush()
    if not opens_case:
        return
    closed = outcome is not None
    attempts = 0 if first_attempt is None else 3 if outcome is CallbackOutcome.UNREACHABLE else 1
    session.add(
        CallbackCase(
            candidate_id=candidate.id,
            intake_id=intake.id,
            received_by_organisation_id=received_by.id,
            place_organisation_id=place.id,
            deposit_date=deposit,
            due_at=due_at(deposit, 30),
            organisation_id=received_by.id,
            status=CallbackStatus.CLOSED if closed else CallbackStatus.OPEN,
            attempt_count=attempts,
            first_attempt_at=paris(*_ymd(first_attempt)) if first_attempt else None,
            reached_at=paris(*_ymd(reached)) if reached else None,
            last_attempt_result=AttemptResult.REACHED if reached else None,
            outcome=outcome,
            closed_at=AS_OF if closed else None,
        )
    )
    await session.flush()


def _ymd(day: date) -> tuple[int, int, int]:
    return day.year, day.month, day.day


async def build_quarter(session: AsyncSession, settings: Settings) -> Quarterly:
    facilitation = await make_organisation(
        session, kind=OrganisationKind.FACILITATION, name="Maison de l'emploi Plaine"
    )
    agency_a = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, name="Agence A", parent=facilitation
    )
    agency_b = await make_organisation(
        session, kind=OrganisationKind.MISSION_LOCALE, name="Agence B", parent=facilitation
    )
    landlord = await make_organisation(
        session,
        kind=OrganisationKind.SOCIAL_LANDLORD,
        name="Agence HLM Pleyel",
        parent=facilitation,
    )
    outsider = await make_organisation(
        session, kind=OrganisationKind.FRANCE_TRAVAIL, name="Ailleurs"
    )
    operator = await make_organisation(session, kind=OrganisationKind.OTHER)
    q = Quarterly(
        facilitation,
        agency_a,
        agency_b,
        landlord,
        outsider,
        await account(session, facilitation, Role.FACILITATOR, settings),
        await account(session, agency_a, Role.PRESCRIBER, settings),
        await account(session, operator, Role.ADMIN, settings),
        await account(session, landlord, Role.RECEPTION, settings),
    )
    # Agency A: four cases and a form of a person who came back.
    await form(
        session,
        agency_a,
        landlord,
        date(2026, 1, 10),
        first_attempt=date(2026, 1, 12),
        reached=date(2026, 1, 12),
        outcome=CallbackOutcome.JOB_OFFER,
    )
    await form(
        session,
        agency_a,
        landlord,
        date(2026, 1, 20),
        first_attempt=date(2026, 1, 26),
        outcome=CallbackOutcome.UNREACHABLE,
    )
    await form(  # reached, but after its 30 days
        session,
        agency_a,
        agency_a,
        date(2026, 2, 1),
        first_attempt=date(2026, 3, 10),
        reached=date(2026, 3, 10),
        outcome=CallbackOutcome.TRAINING,
    )
    await form(session, agency_a, landlord, date(2026, 3, 25))  # open, window not closed
    await form(session, agency_a, landlord, date(2026, 3, 28), opens_case=False)
    await form(session, agency_a, landlord, date(2025, 12, 30))  # the quarter before
    # Agency B: one case, reached the day after.
    await form(
        session,
        agency_b,
        landlord,
        date(2026, 2, 15),
        first_attempt=date(2026, 2, 16),
        reached=date(2026, 2, 16),
        outcome=CallbackOutcome.ADVICE,
    )
    # Outside the facilitator's territory.
    await form(session, outsider, outsider, date(2026, 2, 10))
    return q


@pytest.fixture
async def quarter(db_session: AsyncSession, settings: Settings, clock: FrozenClock) -> Quarterly:
    return await build_quarter(db_session, settings)


def outcomes(**counts: int) -> dict[str, int]:
    return {outcome.value: counts.get(outcome.value, 0) for outcome in CallbackOutcome}


def figures(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "forms_deposited",
        "cases_opened",
        "people_reached",
        "windows_closed",
        "reached_within_30_days",
        "unreachable",
        "still_open",
        "outcomes",
        "median_days_to_first_attempt",
    )
    return {key: row[key] for key in keys}


EXPECTED_TOTAL = {
    "forms_deposited": 6,
    "cases_opened": 5,
    "people_reached": 3,
    "windows_closed": 4,
    "reached_within_30_days": 2,
    "unreachable": 1,
    "still_open": 1,
    "outcomes": outcomes(job_offer=1, training=1, advice=1, unreachable=1),
    "median_days_to_first_attempt": 4.0,  # of 1, 2, 6 and 37 days
}


async def test_a_constructed_quarter_gives_the_expected_numbers(
    client: httpx.AsyncClient, quarter: Quarterly
) -> None:
    response = await client.get(
        "/v1/reports/callbacks?quarter=2026-Q1", headers=quarter.facilitator.headers
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["quarter"], report["label"]) == ("2026-Q1", "T1 2026")
    assert (report["start"], report["end"]) == ("2026-01-01", "2026-03-31")
    assert figures(report["total"]) == EXPECTED_TOTAL
    by_name = {row["name"]: figures(row) for row in report["organisations"]}
    assert by_name == {
        "Agence A": {
            "forms_deposited": 5,
            "cases_opened": 4,
            "people_reached": 2,
            "windows_closed": 3,
            "reached_within_30_days": 1,
            "unreachable": 1,
            "still_open": 1,
            "outcomes": outcomes(job_offer=1, training=1, unreachable=1),
            "median_days_to_first_attempt": 6.0,
        },
        "Agence B": {
            "forms_deposited": 1,
            "cases_opened": 1,
            "people_reached": 1,
            "windows_closed": 1,
            "reached_within_30_days": 1,
            "unreachable": 0,
            "still_open": 0,
            "outcomes": outcomes(advice=1),
            "median_days_to_first_attempt": 1.0,
        },
    }
    sites = {row["name"]: figures(row) for row in report["sites"]}
    assert sites["Agence HLM Pleyel"] == {
        "forms_deposited": 5,
        "cases_opened": 4,
        "people_reached": 2,
        "windows_closed": 3,
        "reached_within_30_days": 2,
        "unreachable": 1,
        "still_open": 1,
        "outcomes": outcomes(job_offer=1, advice=1, unreachable=1),
        "median_days_to_first_attempt": 2.0,
    }
    assert sites["Agence A"]["reached_within_30_days"] == 0
    assert set(sites) == {"Agence HLM Pleyel", "Agence A"}
    assert report["outcome_labels"]["not_interested"] == "Pas intéressé"


def _number(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return float(value.replace(",", ".")) if "," in value else int(value)
    return value


def _as_table(report: dict[str, Any]) -> list[list[Any]]:
    """The JSON report laid out as the files' rows (every column after the name)."""
    rows = []
    for row in [report["total"], *report["organisations"], *report["sites"]]:
        values = {**row, **{f"outcome_{k}": v for k, v in row["outcomes"].items()}}
        rows.append([_number(values[key]) for key, _ in COLUMNS[3:]])
    return rows


async def test_json_csv_and_xlsx_give_the_same_numbers(
    client: httpx.AsyncClient, quarter: Quarterly
) -> None:
    url = "/v1/reports/callbacks?quarter=2026-Q1"
    headers = quarter.facilitator.headers
    report = (await client.get(url, headers=headers)).json()
    expected = _as_table(report)
    names = [row["name"] for row in [report["total"], *report["organisations"], *report["sites"]]]

    as_csv = await client.get(url + "&format=csv", headers=headers)
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="rappels-2026-Q1.csv"' in as_csv.headers["content-disposition"]
    # What French Excel opens as it is: a UTF-8 byte order mark, `;` and decimal commas.
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    text = as_csv.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ";".join(label for _, label in COLUMNS)
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == [label for _, label in COLUMNS]
    medians = [line[-1] for line in lines[1:] if line[-1]]
    assert medians and all("," in median and "." not in median for median in medians)
    assert [line[3:] and [_number(v) for v in line[3:]] for line in lines[1:]] == expected
    assert [line[2] or None for line in lines[1:]] == names

    as_xlsx = await client.get(url + "&format=xlsx", headers=headers)
    assert as_xlsx.status_code == 200, as_xlsx.text
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None and sheet.title == "Rappels T1 2026"
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == [label for _, label in COLUMNS]
    assert [[_number(v) for v in row[3:]] for row in cells[1:]] == expected
    assert [row[2] for row in cells[1:]] == names


async def test_each_caller_counts_only_its_own_scope(
    client: httpx.AsyncClient, quarter: Quarterly
) -> None:
    url = "/v1/reports/callbacks?quarter=2026-Q1"
    mine = (await client.get(url, headers=quarter.prescriber_a.headers)).json()
    assert [row["name"] for row in mine["organisations"]] == ["Agence A"]
    assert mine["total"]["forms_deposited"] == 5
    everything = (await client.get(url, headers=quarter.admin.headers)).json()
    assert everything["total"]["forms_deposited"] == 7
    one = await client.get(
        f"{url}&organisation_id={quarter.agency_b.id}", headers=quarter.facilitator.headers
    )
    assert one.json()["total"]["forms_deposited"] == 1
    outside = await client.get(
        f"{url}&organisation_id={quarter.outsider.id}", headers=quarter.facilitator.headers
    )
    assert_problem(outside, 404, "not-found")
    assert_problem(await client.get(url, headers=quarter.reception.headers), 403, "forbidden")
    bad = await client.get("/v1/reports/callbacks?quarter=2026-T5", headers=quarter.admin.headers)
    assert_problem(bad, 422, "validation-failed")
    wrong_format = await client.get(url + "&format=pdf", headers=quarter.admin.headers)
    assert_problem(wrong_format, 422, "validation-failed")


async def test_a_quarter_of_year_zero_is_a_422_not_a_500(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    operator = await make_organisation(db_session, kind=OrganisationKind.OTHER)
    admin = await account(db_session, operator, Role.ADMIN, settings)
    response = await client.get("/v1/reports/callbacks?quarter=0000-Q1", headers=admin.headers)
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {
            "loc": ["query", "quarter"],
            "message": "format invalide",
            "type": "string_pattern_mismatch",
        }
    ]


def test_quarters() -> None:
    assert (Quarter.parse("2026-q4").start, Quarter.parse("2026-Q4").end) == (
        date(2026, 10, 1),
        date(2026, 12, 31),
    )
    assert Quarter.parse("2024-Q1").end == date(2024, 3, 31)
    for wrong in ("2026-Q5", "0000-Q1", "2026-T3"):
        with pytest.raises(ValueError, match="AAAA-Qn"):
            Quarter.parse(wrong)


@pytest.mark.slow
async def test_the_command_writes_the_same_report(
    committing_sessionmaker: SessionMaker, settings: Settings, tmp_path: Any
) -> None:
    async with committing_sessionmaker() as session:
        q = await build_quarter(session, settings)
        await session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    assert settings.database_url is not None
    env.update(DATABASE_URL=settings.database_url, MAILLON_LOG_JSON="false")

    def maillon(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "report", "callbacks", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    as_json = maillon("--quarter", "2026-Q1", "--organisation", "Agence A")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert [row["organisation_id"] for row in report["organisations"]] == [str(q.agency_a.id)]
    assert report["total"]["forms_deposited"] == 5
    target = tmp_path / "rapport.xlsx"
    as_xlsx = maillon("--quarter", "2026-Q1", "--format", "xlsx", "--output", str(target))
    assert as_xlsx.returncode == 0, as_xlsx.stderr
    sheet = load_workbook(target).active
    assert sheet is not None
    total = next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))
    assert total[0] == "Total" and total[3] == 7  # every organisation: the operator's view
    as_csv = tmp_path / "rapport.csv"
    written = maillon("--quarter", "2026-Q1", "--format", "csv", "--output", str(as_csv))
    assert written.returncode == 0, written.stderr
    content = as_csv.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")  # French Excel reads it as UTF-8
    assert content.decode("utf-8-sig").splitlines()[1].startswith("Total;")
    unknown = maillon("--quarter", "2026-Q1", "--organisation", str(uuid.uuid4()))
    assert unknown.returncode == 2
    assert "aucune organisation" in unknown.stderr


@pytest.mark.parametrize(
    ("histogram", "expected"),
    [
        ({}, None),
        ({3: 5}, 3.0),
        ({1: 2, 10: 1}, 1.0),
        ({1: 1, 2: 1, 6: 1, 37: 1}, 4.0),
        ({0: 1, 4: 3}, 4.0),
    ],
)
def test_the_median_of_a_histogram_is_percentile_cont(
    histogram: dict[int, int], expected: float | None
) -> None:
    assert median(histogram) == expected


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (7, "7"),
        (2.5, "2,5"),
        ("Agence A", "Agence A"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 1 23", "'+33 1 23"),
        ("@SOMME(A1)", "'@SOMME(A1)"),
    ],
)
def test_a_csv_cell_is_what_french_excel_reads_never_a_formula(
    value: str | int | float | None, cell: str
) -> None:
    assert csv_cell(value) == cell
