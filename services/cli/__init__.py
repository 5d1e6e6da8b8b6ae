"""Command-line interface. Each module registers its commands on :data:`app`."""

from services.cli import (  # noqa: F401  (registers commands)
    admin,
    bench,
    candidates,
    decp,
    mail,
    reference,
    report,
    report_progress,
    run,
    up,
)
from services.cli.app import app


def main() -> None:
    app()
