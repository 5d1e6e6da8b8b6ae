"""``maillon mail list`` / ``maillon mail show ID``: the messages ``maillon up`` caught locally."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.app import app
from services.core.mail_catcher import list_messages, mail_directory, read_message, text_of
from services.core.settings import get_settings

mail_app = typer.Typer(
    help="Courriels retenus par le serveur de courrier local de `maillon up`.",
    no_args_is_help=True,
)
app.add_typer(mail_app, name="mail")


@mail_app.command("list")
def list_mail() -> None:
    """Liste les courriels retenus, du plus ancien au plus récent."""
    directory = mail_directory(get_settings().state_dir)
    messages = list_messages(directory)
    if not messages:
        typer.echo(f"Aucun courriel retenu dans {directory}.")
        return
    for message in messages:
        typer.echo(
            f"{message.id}  {message.received_at:%d/%m/%Y %H:%M}  "
            f"{message.recipients}  {message.subject}"
        )
    typer.echo(f"{len(messages)} courriel(s) ; `maillon mail show ID` pour en lire un.")


@mail_app.command("show")
def show_mail(
    message_id: Annotated[str, typer.Argument(help="Identifiant donné par `maillon mail list`.")],
) -> None:
    """Affiche un courriel retenu (en-têtes et texte)."""
    message = read_message(mail_directory(get_settings().state_dir), message_id)
    if message is None:
        typer.echo(f"Aucun courriel « {message_id} ».", err=True)
        raise typer.Exit(1)
    for header in ("Date", "From", "To", "Subject"):
        typer.echo(f"{header}: {message[header] or ''}")
    typer.echo("")
    typer.echo(text_of(message))
