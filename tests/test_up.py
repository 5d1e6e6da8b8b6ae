"""`maillon up` on a machine with nothing configured: embedded servers, ready, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

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
