"""The ``maillon`` command: one entry point for operators, the README, CI and containers."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="maillon",
    help="Maillon : offres des clauses sociales, candidats, rappel sous 30 jours.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _commands() -> None:
    # A group even when a run registers a single command (``maillon up`` loads only its own
    # module): Typer would otherwise make that command the application itself.
    pass
