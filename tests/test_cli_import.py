"""``maillon import candidates``, run as an operator runs it (a real process, real commits)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from services.core.db import SessionMaker, unit_of_work
from services.core.models.audit import AuditEntry
from services.core.models.candidate import Candidate, CandidateShare
from services.core.models.organisation import OrganisationKind
from services.core.settings import Settings
from tests.conftest import ROOT
from tests.factories import make_organisation

pytestmark = [pytest.mark.usefixtures("reference_data"), pytest.mark.slow]


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


async def test_import_candidates_from_a_file(
    settings: Settings, committing_sessionmaker: SessionMaker, tmp_path: Path
) -> None:
    async with unit_of_work(committing_sessionmaker) as session:
        organisation = await make_organisation(session, kind=OrganisationKind.FRANCE_TRAVAIL)
    file = tmp_path / "candidats.csv"
    file.write_text(
        "\ufefffirst_name;last_name;phone;commune_insee;lon;lat;sectors_wanted\r\n"
        "Aïcha;Benali;06 12 34 56 78;75118;2,3535;48,8865;construction|cleaning\r\n"
        "Jean;Dupont;06 12 34 56 79;93066;;;logistics\r\n"
        "Léa;Martin;pas un numéro;93066;;;\r\n"
        "Aïcha;Benali;+33612345678;;;;hospitality\r\n",
        encoding="utf-8",
    )
    done = maillon(
        settings, "import", "candidates", str(file), "--organisation", str(organisation.id)
    )
    assert done.returncode == 3, done.stderr  # imported, one line refused
    summary, refused = done.stdout.splitlines()
    assert re.fullmatch(
        r"Import [0-9a-f-]{36} terminé : 4 lignes, 2 candidats créés, 0 lignes rattachées à une "
        r"personne déjà connue \(0 partagées avec l'organisation, 0 fiches complétées\), "
        r"1 doublons dans le fichier, 1 lignes refusées\.",
        summary,
    )
    assert refused == (
        "Ligne 4 refusée : phone : numéro de téléphone invalide (10 chiffres, ou indicatif "
        "international précédé de +)"
    )
    assert "pas un numéro" not in done.stdout + done.stderr

    async with committing_sessionmaker() as session:
        candidates = list(
            await session.scalars(select(Candidate).order_by(col(Candidate.search_name)))
        )
        shares = list(await session.scalars(select(CandidateShare)))
        imports = list(
            await session.scalars(select(AuditEntry).where(col(AuditEntry.action) == "import"))
        )
    aicha, jean = candidates
    assert (aicha.qpv_code, [s.value for s in aicha.sectors_wanted]) == (
        "QN07511M",
        ["construction", "cleaning", "hospitality"],
    )
    assert jean.phone_e164 == "+33612345679"
    assert {s.organisation_id for s in shares} == {organisation.id} and len(shares) == 2
    (entry,) = imports
    assert entry.organisation_id == organisation.id and entry.details["created"] == 2

    # Exit 0 when every line went in; exit 1 for a file that cannot be read.
    clean = tmp_path / "propre.csv"
    clean.write_text("first_name,last_name,email\nNora,Haddad,nora@exemple.fr\n", encoding="utf-8")
    again = maillon(
        settings, "import", "candidates", str(clean), "--organisation", str(organisation.id)
    )
    assert again.returncode == 0, again.stderr
    assert "1 candidats créés" in again.stdout
    broken = tmp_path / "colonnes.csv"
    broken.write_text("prenom;nom\nNora;Haddad\n", encoding="utf-8")
    refused_file = maillon(
        settings, "import", "candidates", str(broken), "--organisation", str(organisation.id)
    )
    assert refused_file.returncode == 1
    assert refused_file.stderr.startswith("Erreur : colonnes inconnues : nom, prenom")
