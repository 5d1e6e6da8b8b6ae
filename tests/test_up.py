"""`maillon up` on a machine with nothing configured: embedded servers, ready, clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil
import pytest
import redis

from services.api.intake.demo import PEOPLE
from services.core.demo.territory import DEMO_DOMAIN, DEMO_PASSWORD
from services.core.mail_catcher import list_messages
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _processes_under(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(proc)
    return found


def test_up_reaches_ready_on_embedded_servers_and_stops_everything(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "MAILLON_DATABASE_URL", "MAILLON_REDIS_URL"}
    }
    env.update(
        MAILLON_STATE_DIR=str(tmp_path / "state"),
        MAILLON_HEARTBEAT_DIR=str(tmp_path / "heartbeats"),
        MAILLON_LOG_JSON="false",
    )
    up = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "up", "--port", str(port)],
        cwd=tmp_path,  # no ../shared/data here: up must say how to load reference data
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and up.poll() is None:
            try:
                ready = httpx.get(f"{base}/health/ready", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert ready is not None
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"postgresql": "ok", "redis": "ok"}
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        parts = psutil.Process(up.pid).children(recursive=True)
        assert len(parts) >= 4  # api, matching, notifications, relay
        servers = _processes_under(tmp_path / "state")
        assert any("postgres" in " ".join(p.cmdline()) for p in servers)
        assert any("redis-server" in " ".join(p.cmdline()) for p in servers)
        # The workers and the relay report themselves alive.
        for component in ("worker-matching", "worker-notifications", "relay"):
            for _ in range(50):
                if (tmp_path / "heartbeats" / f"maillon-{component}.heartbeat").exists():
                    break
                time.sleep(0.2)
            assert (tmp_path / "heartbeats" / f"maillon-{component}.heartbeat").exists()

        up.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = up.communicate(timeout=60)
    finally:
        if up.poll() is None:
            for part in psutil.Process(up.pid).children(recursive=True):  # own sessions
                with contextlib.suppress(psutil.Error):
                    part.kill()
            up.kill()
            up.communicate()

    text = output.decode()
    assert up.returncode == 0, text
    assert "maillon import qpv" in text
    assert f"{base}/docs" in text
    assert "Maillon est arrêté." in text
    time.sleep(0.5)
    assert [p for p in parts if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert _processes_under(tmp_path / "state") == []


def _new_database(server_url: str) -> str:
    """A database of its own on the test server: `up` migrates it and loads everything."""
    name = f"maillon_up_{os.getpid()}_{secrets.token_hex(3)}"
    _on_server(server_url)(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _on_server(server_url: str) -> Callable[[str], None]:
    """Runs one statement on the server (outside the test's own event loop)."""

    def run(statement: str) -> None:
        async def go() -> None:
            connection = await asyncpg.connect(server_url)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(go())

    return run


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _token(base: str, local: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/v1/auth/token",
        data={
            "grant_type": "password",
            "username": f"{local}@{DEMO_DOMAIN}",
            "password": DEMO_PASSWORD,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_up_demo_shows_people_matches_and_an_alert_in_the_mail_catcher(
    tmp_path: Path, server_database_url: str, redis_url: str
) -> None:
    """The newcomer's path: `up --demo`, then the printed accounts see candidates, their
    matches, and the alert e-mailed to the counsellor, kept by the local mail catcher."""
    database_url = _new_database(server_database_url)
    redis.Redis.from_url(redis_url).flushdb()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MAILLON_STATE_DIR=str(tmp_path / "state"),
        MAILLON_HEARTBEAT_DIR=str(tmp_path / "heartbeats"),
        MAILLON_LOG_JSON="false",
    )
    env.pop("MAILLON_SMTP_HOST", None)  # no SMTP server configured: the catcher takes the mail
    # Into a file: the workers' logs would fill a pipe nobody reads while the test waits.
    log = (tmp_path / "up.log").open("wb")
    up = subprocess.Popen(
        [
            sys.executable, "-m", "services.cli", "up", "--demo", "--port", str(port),
            "--data", str(SHARED_DATA),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    mail = tmp_path / "state" / "mail"
    base = f"http://127.0.0.1:{port}"
    try:
        # Waits (no speed asserted): the first alert caught and the API ready — the workers
        # start sending before the API listens, on a slow machine by seconds.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and up.poll() is None:
            if mail.is_dir() and any(mail.glob("*.eml")) and _ready(base):
                break
            time.sleep(0.5)
        assert up.poll() is None, (tmp_path / "up.log").read_text()
        assert _ready(base), "the API never answered ready"
        caught = list_messages(mail)
        assert caught, "no alert reached the mail catcher"
        assert {m.recipients for m in caught} == {f"prescripteur.ft@{DEMO_DOMAIN}"}
        # One alert per offer; it counts the suggestions the matching had made when it was
        # raised, so a slower machine may send "nouveau candidat suggéré" for a first one.
        suggested = re.compile(r"(nouveaux candidats suggérés|nouveau candidat suggéré)")
        assert all(suggested.search(m.subject) for m in caught), [m.subject for m in caught]

        counsellor = _token(base, "prescripteur.ft")
        people = httpx.get(f"{base}/v1/candidates", headers=counsellor, timeout=10)
        assert people.status_code == 200, people.text
        assert len(people.json()["items"]) == len(PEOPLE)
        assert {"in_qpv", "outside_qpv"} <= {p["qpv_status"] for p in people.json()["items"]}
        facilitator = _token(base, "facilitatrice")
        offers = httpx.get(
            f"{base}/v1/offers", params={"status": "open"}, headers=facilitator, timeout=10
        ).json()["items"]
        matched = 0
        for offer in offers:
            listed = httpx.get(
                f"{base}/v1/offers/{offer['id']}/matches", headers=facilitator, timeout=10
            )
            assert listed.status_code == 200, listed.text
            matched += len(listed.json()["items"])
        assert matched >= 5

        shown = subprocess.run(
            [sys.executable, "-m", "services.cli", "mail", "list"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert caught[0].id in shown.stdout

        up.send_signal(signal.SIGINT)
        up.wait(timeout=60)
    finally:
        _stop(up)
        log.close()
        _on_server(server_database_url)(
            f'DROP DATABASE IF EXISTS "{urlsplit(database_url).path[1:]}" WITH (FORCE)'
        )
    text = (tmp_path / "up.log").read_text()
    assert up.returncode == 0, text
    assert f"{len(PEOPLE)} candidats déposés aux bornes" in text
    assert "maillon mail list" in text


def _stop(up: subprocess.Popen[bytes]) -> None:
    """``up`` and every part it started stopped, also when the test failed half-way: its parts
    run in sessions of their own, and ``up`` killed outright would leave them running (and
    working against a database the test drops, beside the next tests)."""
    if up.poll() is not None:
        return
    parts = psutil.Process(up.pid).children(recursive=True)
    up.send_signal(signal.SIGINT)
    try:
        up.wait(timeout=60)
    except subprocess.TimeoutExpired:
        up.kill()
        up.wait()
    for part in parts:
        with contextlib.suppress(psutil.Error):
            part.kill()


def _part(up: subprocess.Popen[bytes], *words: str) -> psutil.Process | None:
    """The child of ``up`` whose command line holds ``words`` (e.g. ``worker matching``)."""
    for proc in psutil.Process(up.pid).children():
        try:
            cmdline = proc.cmdline()
        except psutil.Error:  # exited (a zombie until ``up`` reaps it)
            continue
        if all(word in cmdline for word in words):
            return proc
    return None


def _next_part(up: subprocess.Popen[bytes], before: int, *words: str) -> psutil.Process | None:
    """The part started after the one of pid ``before`` (None if ``up`` ended first)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and up.poll() is None:
        proc = _part(up, *words)
        if proc is not None and proc.pid != before:
            return proc
        time.sleep(0.1)
    return None


def test_up_restarts_a_killed_part_then_stops_after_too_many_restarts(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MAILLON_DATABASE_URL", "MAILLON_REDIS_URL"}
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MAILLON_HEARTBEAT_DIR=str(tmp_path / "heartbeats"),
        MAILLON_LOG_JSON="false",
    )
    log = tmp_path / "up.log"  # a file, not a pipe: the parts' logs must never block on it
    with log.open("wb") as sink:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        ready = False
        while time.monotonic() < deadline and up.poll() is None and not ready:
            try:
                ready = httpx.get(f"{base}/health/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ready

        worker = _part(up, "worker", "matching")
        assert worker is not None
        worker.send_signal(signal.SIGKILL)
        restarted = _next_part(up, worker.pid, "worker", "matching")
        assert restarted is not None  # started again, the rest left running
        assert up.poll() is None
        assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200

        # A part that keeps dying: started again up to the limit, then everything stops.
        kills = 0
        relay = _part(up, "relay")
        while relay is not None:
            relay.send_signal(signal.SIGKILL)
            kills += 1
            relay = _next_part(up, relay.pid, "relay")
        up.wait(timeout=60)
    finally:
        if up.poll() is None:
            for part in psutil.Process(up.pid).children():  # own sessions: not killed with up
                part.kill()
            up.kill()
            up.wait()

    text = log.read_text()
    assert kills == 6, text  # 5 restarts, then the 6th exit stops Maillon
    assert up.returncode == 1, text
    assert "matching s'est arrêté (code -9) : redémarrage (1/5 en 5 minutes)." in text
    assert (
        "relay s'est arrêté (code -9) après 5 redémarrages en 5 minutes : arrêt de Maillon." in text
    )
    assert "Maillon est arrêté." in text
    time.sleep(0.5)
    assert [
        p for p in psutil.Process().children(recursive=True) if "services.cli" in p.cmdline()
    ] == []
