"""Command-line interface. Each module registers its commands on :data:`app`."""

from services.cli import admin, candidates, reference, run, up  # noqa: F401  (registers commands)
from services.cli.app import app


def main() -> None:
    app()
