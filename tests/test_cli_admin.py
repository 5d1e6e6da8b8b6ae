"""``maillon admin create-user``, run as an operator runs it (a real process, real commits)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlmodel import col
from typer.testing import CliRunner

from services.api.app import create_app
from services.cli import commands
from services.core.db import SessionMaker
from services.core.models.audit import AuditEntry
from services.core.models.organisation import Organisation
from services.core.models.user import User
from services.core.settings import Settings
from tests.conftest import ROOT

# The organisation created needs its commune in the referential.
pytestmark = [pytest.mark.usefixtures("reference_data"), pytest.mark.slow]

PASSWORD = "mot de passe de l'opérateur"


def maillon(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    assert settings.database_url is not None
    env.update(DATABASE_URL=settings.database_url, MAILLON_LOG_JSON="false")
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # No controlling terminal: hidden prompts read the password from stdin.
        start_new_session=True,
    )


@pytest.fixture
async def api(
    settings: Settings, committing_sessionmaker: SessionMaker
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on real connections: it sees what the command committed (emptied afterwards)."""
    application = create_app(settings)
    async with (
        LifespanManager(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        yield client


async def _sign_in(api: httpx.AsyncClient, email: str, password: str) -> dict[str, object]:
    tokens = await api.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert tokens.status_code == 200, tokens.text
    me = await api.get(
        "/v1/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"}
    )
    assert me.status_code == 200
    body: dict[str, object] = me.json()
    return body


async def test_the_first_admin_of_an_empty_instance(
    settings: Settings, api: httpx.AsyncClient, committing_sessionmaker: SessionMaker
) -> None:
    created = maillon(
        settings,
        "admin", "create-user",
        "--email", "Operateur@Exemple.fr",
        "--role", "admin",
        "--organisation", "Plateforme Maillon",
        "--create-organisation-kind", "other",
        "--commune", "93066",
        "--full-name", "Opérateur",
        "--generate-password",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert re.fullmatch(r"Organisation créée : [0-9a-f-]{36} « Plateforme Maillon »", lines[0])
    assert re.fullmatch(
        r"Compte créé : [0-9a-f-]{36} \(Administrateur de l'instance, "
        r"organisation « Plateforme Maillon »\)",
        lines[1],
    )
    prefix = "Mot de passe (affiché cette seule fois) : "
    assert lines[2].startswith(prefix)
    password = lines[2].removeprefix(prefix)
    assert len(password) >= 12

    me = await _sign_in(api, "operateur@exemple.fr", password)
    assert (me["role"], me["full_name"]) == ("admin", "Opérateur")

    async with committing_sessionmaker() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(col(AuditEntry.id))))
        user = await session.scalar(select(User))
        organisation = await session.scalar(select(Organisation))
    assert user is not None and organisation is not None
    created_entries = [
        (e.actor_type, e.actor_id, e.resource_type, e.resource_id)
        for e in entries
        if e.action == "create"
    ]
    assert created_entries == [
        ("system", None, "organisation", organisation.id),
        ("system", None, "user", user.id),
    ]
    assert password not in str([e.details for e in entries])


async def test_an_account_in_an_existing_organisation_with_a_prompted_password(
    settings: Settings, api: httpx.AsyncClient
) -> None:
    first = maillon(
        settings,
        "admin", "create-user", "--email", "admin@exemple.fr", "--role", "admin",
        "--organisation", "Plateforme", "--create-organisation-kind", "other", "--commune", "93066",
        "--password", PASSWORD,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    organisation_id = first.stdout.split()[3]

    prompted = maillon(
        settings,
        "admin", "create-user", "--email", "facilitatrice@exemple.fr", "--role", "facilitator",
        "--organisation", organisation_id, "--manager",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert prompted.returncode == 0, prompted.stderr
    assert "Organisation créée" not in prompted.stdout
    assert PASSWORD not in prompted.stdout + prompted.stderr
    me = await _sign_in(api, "facilitatrice@exemple.fr", PASSWORD)
    assert (me["role"], me["is_manager"], me["full_name"]) == ("facilitator", True, "facilitatrice")

    by_name = maillon(
        settings,
        "admin", "create-user", "--email", "facilitatrice@exemple.fr", "--role", "prescriber",
        "--organisation", "Plateforme", "--password", PASSWORD,
    )  # fmt: skip
    assert (by_name.returncode, by_name.stdout) == (1, "")
    assert by_name.stderr.strip() == "Erreur : Un compte existe déjà avec cette adresse e-mail."


@pytest.mark.parametrize(
    ("arguments", "stdin", "status", "message"),
    [
        (
            ["--email", "pas-une-adresse", "--password", PASSWORD],
            None,
            2,
            "Erreur : adresse e-mail invalide",
        ),
        (
            ["--email", "a@exemple.fr", "--password", "court"],
            None,
            1,
            "Erreur : le mot de passe doit compter au moins 12 caractères.",
        ),
        (
            ["--email", "operateur.principal@exemple.fr", "--password", "operateur.principal"],
            None,
            1,
            "Erreur : le mot de passe ne peut pas reprendre l'adresse e-mail du compte.",
        ),
        (
            ["--email", "a@exemple.fr", "--password", "Azertyuiop2026!"],
            None,
            1,
            "Erreur : ce mot de passe est trop courant : choisissez-en un autre.",
        ),
        (
            ["--email", "a@exemple.fr"],
            "2026202620262026\n2026202620262026\n",
            1,
            "Erreur : le mot de passe ne peut pas être fait que de chiffres.",
        ),
        (
            ["--email", "a@exemple.fr"],
            f"{PASSWORD}\nautre chose tout à fait\n",
            1,
            "Erreur : les deux saisies du mot de passe diffèrent.",
        ),
        (
            ["--email", "a@exemple.fr", "--generate-password", "--password", PASSWORD],
            None,
            2,
            "Erreur : --password et --generate-password s'excluent.",
        ),
    ],
)
def test_what_is_refused_before_any_database_work(
    arguments: list[str], stdin: str | None, status: int, message: str
) -> None:
    result = CliRunner().invoke(
        commands("admin"),
        ["admin", "create-user", "--role", "admin", "--organisation", "X", *arguments],
        input=stdin,
        # Were the command to go on, it would find no database.
        env={"DATABASE_URL": "postgresql://maillon@127.0.0.1:1/absent"},
    )
    assert result.exit_code == status, result.output
    # The test runner echoes the newline of a hidden input on stdout, not after the prompt.
    assert result.stdout.strip() == ""
    assert result.stderr.rstrip().endswith(message)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--organisation", "Inconnue"],
            "Erreur : aucune organisation ne s'appelle « Inconnue ». Donnez son identifiant ou "
            "son nom exact, ou ajoutez --create-organisation-kind et --commune pour la créer.",
        ),
        (
            ["--organisation", str(uuid.UUID(int=1))],
            "Erreur : aucune organisation n'a cet identifiant.",
        ),
        (
            [
                "--organisation", "Nouvelle", "--create-organisation-kind", "other",
                "--commune", "99999",
            ],
            "Erreur : commune_insee : commune inconnue",
        ),
    ],
)  # fmt: skip
def test_what_the_database_refuses_is_explained_in_french(
    settings: Settings, committing_sessionmaker: SessionMaker, arguments: list[str], message: str
) -> None:
    result = maillon(
        settings,
        "admin", "create-user", "--role", "admin", "--email", "a@exemple.fr",
        "--password", PASSWORD, *arguments,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (1, ""), result.stderr
    assert result.stderr.splitlines()[-1] == message
