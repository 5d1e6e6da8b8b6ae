"""``maillon up``: the whole system in one command, for a laptop or a demo.

Migrates, loads reference data when missing, then runs the API, both workers and the outbox relay
as child processes, starts again one that dies (a limited number of times), and stops them all
(then the embedded servers) on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Annotated

import httpx
import typer

from services.cli.app import app
from services.cli.runtime import resolve
from services.core.demo import DEMO_LOADERS, load_demo
from services.core.logging import configure_logging
from services.core.mail_catcher import MailCatcher, MailCatcherUnavailable, start_mail_catcher
from services.core.migrate import upgrade
from services.core.settings import Settings, get_settings

DEFAULT_SHARED_DATA = Path("../shared/data")
STOP_TIMEOUT = 15.0


# A part that dies is started again after a second, at most this many times in this window; one
# more exit and Maillon stops (decision 0058): a part that cannot stay up needs a person.
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 300.0
RESTART_DELAY_SECONDS = 1.0


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)
    restart_at: float | None = None

    @classmethod
    def start(cls, name: str, args: list[str], env: dict[str, str]) -> Child:
        return cls(name, args, env, _spawn(args, env))

    def restart(self) -> None:
        self.process = _spawn(self.args, self.env)
        self.restart_at = None


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Own session: Ctrl-C reaches this supervisor only, which stops the parts in order.
    return subprocess.Popen(args, env=env, start_new_session=True)  # noqa: S603


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute de l'API.")] = None,
    port: Annotated[int | None, typer.Option(help="Port de l'API.")] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Dossier des données de référence (sinon MAILLON_DATA_DIR)."),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Charge aussi un jeu de démonstration.")] = False,
) -> None:
    """Démarre tout : API, worker matching, worker notifications et relais de l'outbox."""
    settings = get_settings()
    configure_logging(settings.log_level, json=False)
    host = host or settings.api_host
    port = port or settings.api_port
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    runtime = resolve(settings)
    children: list[Child] = []
    catcher: MailCatcher | None = None
    try:
        typer.echo("Migrations…")
        upgrade(runtime.database_url)
        asyncio.run(_prepare(runtime.settings, _reference_data_dir(data, settings), demo=demo))
        if stop.is_set():
            return
        catcher = _mail_catcher(settings)
        children = _start_children(runtime.settings, host, port, catcher)
        base = f"http://{host}:{port}"
        if _wait_ready(f"{base}/health/ready", children, stop):
            typer.echo(
                f"\nMaillon est prêt.\n  API           {base}/v1\n  Documentation {base}/docs"
            )
            if catcher is not None:
                typer.echo(
                    f"  Courriels     retenus dans {catcher.directory} "
                    "(maillon mail list, maillon mail show ID)"
                )
            typer.echo("Ctrl-C pour tout arrêter.")
        code = _supervise(children, stop)
        if code:
            raise typer.Exit(code)
    finally:
        _stop_children(children)
        if catcher is not None:
            catcher.stop()
        runtime.stop()
        typer.echo("Maillon est arrêté.")


def _reference_data_dir(option: Path | None, settings: Settings) -> Path | None:
    """``--data``, else ``MAILLON_DATA_DIR``, else ``../shared/data`` when it exists."""
    directory = option or settings.data_dir
    if directory is None and DEFAULT_SHARED_DATA.is_dir():
        directory = DEFAULT_SHARED_DATA
    return directory


async def _prepare(settings: Settings, directory: Path | None, *, demo: bool) -> None:
    from services.core.db import create_engine, create_sessionmaker
    from services.core.referentials.loader import load_reference_data, missing_reference_data

    engine = create_engine(settings, application_name="maillon-up", statement_timeout=0)
    try:
        sessionmaker = create_sessionmaker(engine)
        missing = await missing_reference_data(sessionmaker)
        if missing:
            if directory is None:
                typer.echo(
                    "Données de référence absentes ("
                    + ", ".join(missing)
                    + "). Chargez-les avec :\n"
                    "  maillon import rome DOSSIER_ROME\n"
                    "  maillon import communes communes.csv postal_codes.csv\n"
                    "  maillon import qpv qpv2024.geojson\n"
                    "ou relancez avec --data DOSSIER (ou MAILLON_DATA_DIR).",
                    err=True,
                )
            else:
                typer.echo(f"Chargement des données de référence depuis {directory}…")
                await load_reference_data(sessionmaker, directory, kinds=missing)
        if demo:
            from services.api.intake.demo import load_demo_people

            typer.echo(await load_demo(sessionmaker, [*DEMO_LOADERS, load_demo_people]))
    finally:
        await engine.dispose()


def _mail_catcher(settings: Settings) -> MailCatcher | None:
    """The local mail catcher, when no SMTP server is configured (MAILLON_SMTP_HOST unset)."""
    if "smtp_host" in settings.model_fields_set:
        return None
    try:
        return start_mail_catcher(settings.state_dir)
    except MailCatcherUnavailable as exc:
        typer.echo(f"Courriels non envoyés : {exc}.", err=True)
        return None


def _start_children(
    settings: Settings, host: str, port: int, catcher: MailCatcher | None = None
) -> list[Child]:
    env = dict(os.environ)
    if catcher is not None:  # the notifications worker sends its e-mail to the catcher
        env.update(
            MAILLON_SMTP_HOST=catcher.host,
            MAILLON_SMTP_PORT=str(catcher.port),
            MAILLON_SMTP_SECURITY="none",
        )
    env["DATABASE_URL"] = settings.async_database_url
    env["REDIS_URL"] = settings.redis_url or ""
    env.setdefault("MAILLON_LOG_JSON", "false")  # a person reads these logs, not a collector
    env.pop("MAILLON_DATABASE_URL", None)
    env.pop("MAILLON_REDIS_URL", None)
    command = [sys.executable, "-m", "services.cli"]
    parts = {
        "api": [*command, "api", "--host", host, "--port", str(port)],
        "matching": [*command, "worker", "matching"],
        "notifications": [*command, "worker", "notifications"],
        "relay": [*command, "relay"],
    }
    return [Child.start(name, args, env) for name, args in parts.items()]


def _wait_ready(url: str, children: list[Child], stop: threading.Event) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.process.poll() is not None for child in children):
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        stop.wait(0.25)
    return False


def _supervise(children: list[Child], stop: threading.Event) -> int:
    """Start again a part that exits, a second later; past :data:`MAX_RESTARTS` in
    :data:`RESTART_WINDOW_SECONDS` for one part, stop everything (return 1)."""
    while not stop.wait(0.25):
        moment = time.monotonic()
        for child in children:
            code = child.process.poll()
            if code is None:
                continue
            if child.restart_at is None:
                child.restarts = [t for t in child.restarts if moment - t < RESTART_WINDOW_SECONDS]
                minutes = round(RESTART_WINDOW_SECONDS / 60)
                if len(child.restarts) >= MAX_RESTARTS:
                    typer.echo(
                        f"{child.name} s'est arrêté (code {code}) après {MAX_RESTARTS} redémarrages"
                        f" en {minutes} minutes : arrêt de Maillon.",
                        err=True,
                    )
                    return 1
                child.restarts.append(moment)
                child.restart_at = moment + RESTART_DELAY_SECONDS
                typer.echo(
                    f"{child.name} s'est arrêté (code {code}) : redémarrage"
                    f" ({len(child.restarts)}/{MAX_RESTARTS} en {minutes} minutes).",
                    err=True,
                )
            elif moment >= child.restart_at:
                child.restart()
    return 0


def _stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(remaining)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
