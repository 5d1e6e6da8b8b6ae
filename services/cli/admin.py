"""Administration commands: ``maillon admin create-user`` (the first admin of an empty instance,
or any account when no one can sign in to create it through the API)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.errors import MaillonError, ValidationFailed
from services.api.organisations.schemas import OrganisationCreate
from services.api.organisations.service import create_organisation
from services.api.users.schemas import UserCreate
from services.api.users.service import create_user
from services.api.validation import FieldError, french_errors
from services.cli.app import app
from services.cli.runtime import run_with_database
from services.core.contact import InvalidContact, normalise_email
from services.core.db import SessionMaker, unit_of_work
from services.core.models.geo import Commune
from services.core.models.organisation import Organisation, OrganisationKind
from services.core.models.user import ROLE_LABELS, Role
from services.core.security.password_policy import password_problem

admin_app = typer.Typer(help="Administration de l'instance.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")


class CommandError(Exception):
    """A refusal explained to the operator (French), exit status 1."""


@dataclass(frozen=True)
class Created:
    user_id: uuid.UUID
    organisation: Organisation
    organisation_created: bool


def _explain(errors: list[FieldError]) -> str:
    return "; ".join(f"{error.loc[-1]} : {error.message}" for error in errors)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Erreur : {message}", err=True)
    return typer.Exit(code)


def _password(given: str | None, generate: bool, email: str) -> str:
    if given is not None and generate:
        raise _fail("--password et --generate-password s'excluent.", 2)
    if generate:
        return secrets.token_urlsafe(18)
    if given is None:
        # Prompts on stderr: stdout carries only the result.
        given = typer.prompt("Mot de passe", hide_input=True, prompt_suffix=" : ", err=True)
        confirmed = typer.prompt(
            "Confirmez le mot de passe", hide_input=True, prompt_suffix=" : ", err=True
        )
        if confirmed != given:
            raise _fail("les deux saisies du mot de passe diffèrent.")
    # Checked before the database is opened (the service checks it again).
    problem = password_problem(given, email)
    if problem is not None:
        raise _fail(f"{problem}.")
    return given


async def _organisation(
    session: AsyncSession, reference: str, kind: OrganisationKind | None, commune: str | None
) -> tuple[Organisation, bool]:
    """The organisation named by id or exact name, created when asked to and absent."""
    try:
        organisation_id = uuid.UUID(reference)
    except ValueError:
        pass
    else:
        found = await session.get(Organisation, organisation_id)
        if found is None:
            raise CommandError("aucune organisation n'a cet identifiant.")
        return found, False
    named = list(
        await session.scalars(select(Organisation).where(col(Organisation.name) == reference))
    )
    if len(named) > 1:
        raise CommandError(
            f"{len(named)} organisations s'appellent « {reference} » : donnez son identifiant."
        )
    if named:
        return named[0], False
    if kind is None or commune is None:
        raise CommandError(
            f"aucune organisation ne s'appelle « {reference} ». Donnez son identifiant ou son nom "
            "exact, ou ajoutez --create-organisation-kind et --commune pour la créer."
        )
    try:
        data = OrganisationCreate(name=reference, kind=kind, commune_insee=commune)
    except ValidationError as error:
        raise CommandError(_explain(french_errors(error.errors()))) from None
    try:
        return await create_organisation(session, data, None), True
    except ValidationFailed as error:
        message = _explain(error.errors)
        if not await session.scalar(select(func.count()).select_from(Commune)):
            message += " (aucune commune chargée : lancez d'abord « maillon import communes »)"
        raise CommandError(message) from None


@admin_app.command("create-user")
def create_user_command(
    email: Annotated[str, typer.Option("--email", help="Adresse e-mail : l'identifiant.")],
    role: Annotated[Role, typer.Option("--role", help="Rôle du compte.")],
    organisation: Annotated[
        str, typer.Option("--organisation", help="Identifiant ou nom exact de l'organisation.")
    ],
    full_name: Annotated[
        str | None,
        typer.Option("--full-name", help="Nom affiché (par défaut : le début de l'adresse)."),
    ] = None,
    manager: Annotated[
        bool, typer.Option("--manager", help="Responsable : reçoit les alertes de l'organisation.")
    ] = False,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Déconseillé (reste dans l'historique du shell) : sans cette option, le mot de "
            "passe est demandé deux fois.",
        ),
    ] = None,
    generate_password: Annotated[
        bool,
        typer.Option("--generate-password", help="Génère le mot de passe et l'affiche une fois."),
    ] = False,
    create_organisation_kind: Annotated[
        OrganisationKind | None,
        typer.Option(
            "--create-organisation-kind",
            help="Crée l'organisation, de ce type, si aucune ne porte ce nom.",
        ),
    ] = None,
    commune: Annotated[
        str | None,
        typer.Option("--commune", help="Code INSEE de l'organisation à créer (ex. 93066)."),
    ] = None,
) -> None:
    """Crée un compte (par exemple le premier administrateur d'une instance vide)."""
    if create_organisation_kind is not None and commune is None:
        raise _fail("--create-organisation-kind demande aussi --commune.", 2)
    try:
        address = normalise_email(email)
    except InvalidContact as error:
        raise _fail(str(error), 2) from None
    secret = _password(password, generate_password, address)
    name = full_name or address.split("@", 1)[0]

    async def work(sessionmaker: SessionMaker) -> Created:
        async with unit_of_work(sessionmaker) as session:
            found, created = await _organisation(
                session, organisation, create_organisation_kind, commune
            )
            try:
                data = UserCreate(
                    email=address,
                    full_name=name,
                    password=secret,
                    organisation_id=found.id,
                    role=role,
                    is_manager=manager,
                )
            except ValidationError as error:
                raise CommandError(_explain(french_errors(error.errors()))) from None
            user = await create_user(session, data, None)
            return Created(user.id, found, created)

    try:
        result = run_with_database(work)
    except CommandError as error:
        raise _fail(str(error)) from None
    except ValidationFailed as error:
        raise _fail(_explain(error.errors)) from None
    except MaillonError as error:
        raise _fail(error.detail) from None
    if result.organisation_created:
        typer.echo(f"Organisation créée : {result.organisation.id} « {result.organisation.name} »")
    typer.echo(
        f"Compte créé : {result.user_id} ({ROLE_LABELS[role]}, "
        f"organisation « {result.organisation.name} »)"
    )
    if generate_password:
        typer.echo(f"Mot de passe (affiché cette seule fois) : {secret}")
