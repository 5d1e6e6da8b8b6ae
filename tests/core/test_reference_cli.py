"""``maillon import …`` and ``maillon qpv``, run as operators run them (a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import shapely
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.core.models import Qpv
from services.core.settings import Settings
from tests.conftest import ROOT, SHARED_DATA

pytestmark = pytest.mark.usefixtures("reference_data")


def maillon(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    assert settings.database_url is not None
    env.update(DATABASE_URL=settings.database_url, MAILLON_LOG_JSON="false")
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_qpv_command_names_the_quartier(settings: Settings) -> None:
    inside = maillon(settings, "qpv", "2.3535", "48.8865")
    assert (inside.returncode, inside.stdout) == (0, "QN07511M Goutte D'Or\n"), inside.stderr
    outside = maillon(settings, "qpv", "2.3316", "48.8719")
    assert (outside.returncode, outside.stdout) == (0, "hors QPV\n"), outside.stderr


async def test_qpv_command_warns_near_a_boundary(
    settings: Settings, db_session: AsyncSession
) -> None:
    first_in_reunion = (
        select(col(Qpv.geometry))
        .where(col(Qpv.code).startswith("QN974"))
        .order_by(col(Qpv.code))
        .limit(1)
    )
    wkb = (await db_session.execute(first_in_reunion)).scalar_one()
    lon, lat = shapely.get_coordinates(shapely.from_wkb(wkb))[0]
    # ~4 m south of a vertex of a Réunion QPV; the negative latitude must parse as an argument.
    result = maillon(settings, "qpv", str(lon), str(lat - 4 / 111_195))
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith(("QN974", "hors QPV"))
    assert second.startswith("point à moins de 15 m d'une limite de QPV")
    assert second.endswith("vérifier avec l'outil de l'ANCT")


def test_import_command_prints_a_french_summary(settings: Settings) -> None:
    result = maillon(settings, "import", "rome", str(SHARED_DATA / "rome"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Import rome terminé : 14 grands domaines, 110 domaines professionnels, "
        "1584 fiches, 13120 appellations.",
        "Édition : v460",
        result.stdout.splitlines()[2],
        "Lignes ajoutées ou modifiées : 0 ; supprimées : 0",
    ]
    assert result.stdout.splitlines()[2].startswith("Version : ")


def test_import_command_reports_a_wrong_file_in_french(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "communes.csv"
    bad.write_text("code,nom\n", encoding="utf-8")
    result = maillon(
        settings, "import", "communes", str(bad), str(SHARED_DATA / "communes" / "postal_codes.csv")
    )
    assert result.returncode == 1
    assert "Erreur : communes.csv : en-tête inattendu" in result.stderr
    assert result.stdout == ""
