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
