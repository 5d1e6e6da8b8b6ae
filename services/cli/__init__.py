"""Command-line interface: ``maillon <command>``.

Each module registers its commands on :data:`services.cli.app.app`. A run imports only the
modules of the command it runs (every module for the help, or for a command it does not know),
so ``maillon worker …`` and ``maillon relay`` start without importing FastAPI or the API
(decision 0066).
"""

from __future__ import annotations

import importlib
import sys

import typer

from services.cli.app import app

# The modules of this package that register commands, in the order the help lists them.
MODULES = ("admin", "bench", "candidates", "decp", "mail", "reference", "report", "run", "up")

# Each top-level command, and the modules that register it and its subcommands.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "up": ("up",),
    "migrate": ("run",),
    "api": ("run",),
    "worker": ("run",),
    "relay": ("run",),
    "health": ("run",),
    "import": ("reference", "candidates", "decp"),
    "qpv": ("reference",),
    "report": ("report",),
    "admin": ("admin",),
    "mail": ("mail",),
    "bench": ("bench",),
}


def commands(*names: str) -> typer.Typer:
    """The application with the commands ``names`` registered; every command when no name is
    given or one is unknown (the help lists them all, and refuses an unknown one)."""
    if names and all(name in COMMAND_MODULES for name in names):
        wanted = {module for name in names for module in COMMAND_MODULES[name]}
    else:
        wanted = set(MODULES)
    for module in MODULES:
        if module in wanted:
            importlib.import_module(f"{__name__}.{module}")
    return app


def main() -> None:
    command = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    commands(*([command] if command else []))()
