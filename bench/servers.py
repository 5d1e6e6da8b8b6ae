"""Servers and processes of a run's own, on loopback, for fault injection: a Redis that keeps
nothing on disk (so a restart loses every queue, as a Redis without persistence or after a
fail-over does), an SMTP server that counts what it receives, Maillon's processes to kill."""

from __future__ import annotations

import email
import email.policy
import hashlib
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.core.embedded import redis_server_binary
from services.core.heartbeat import Activity, Heartbeat

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class VolatileRedis:
    """``redis-server --port N --save "" --appendonly no`` on 127.0.0.1: stop and start it again
    on the same port, empty."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # (killed, answering again) of every restart, ``time.monotonic``.
    restarts: list[tuple[float, float]] = field(default_factory=list)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> VolatileRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            str(redis_server_binary()),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--loglevel", "warning",
        ]  # fmt: skip
        # Our own binary and arguments, no shell.
        self.process = subprocess.Popen(  # noqa: S603
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 15
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                try:
                    if client.ping():
                        return self
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise RuntimeError(f"redis-server does not answer on port {self.port}")

    def stop(self) -> None:
        """Stop it for good: SIGKILL, so nothing is saved (nothing would be anyway)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart_empty(self) -> None:
        killed = time.monotonic()
        self.stop()
        self.start()
        self.restarts.append((killed, time.monotonic()))


class Mailbox:
    """aiosmtpd handler: every message accepted, counted by ``Message-ID`` with the moments it
    arrived (``time.monotonic``, the clock of the run's faults), and the ids under which each
    distinct message (recipient, subject, body) arrived."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = {}  # Message-ID → when each copy was accepted
        self.ids_of: dict[str, set[str]] = {}  # a message's fingerprint → its Message-IDs

    def total(self) -> int:
        return sum(self.received.values())

    def accept(self, content: bytes, at: float | None = None) -> None:
        message = email.message_from_bytes(content, policy=email.policy.default)
        message_id = str(message.get("Message-ID", "")).strip()
        self.received[message_id] += 1
        self.arrivals.setdefault(message_id, []).append(time.monotonic() if at is None else at)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if isinstance(body, EmailMessage) else ""
        fingerprint = hashlib.sha256(
            "\n".join([str(message.get("To", "")), str(message.get("Subject", "")), text]).encode()
        ).hexdigest()
        self.ids_of.setdefault(fingerprint, set()).add(message_id)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.accept(envelope.original_content or b"")
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """aiosmtpd on a fixed loopback port, stopped and started again (a new controller each time:
    one does not start twice)."""

    mailbox: Mailbox
    port: int = field(default_factory=free_port)
    controller: Controller | None = None
    # (stop asked, stopped) of every stop, ``time.monotonic``: sessions under way are cut then.
    stops: list[tuple[float, float]] = field(default_factory=list)

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            asked = time.monotonic()
            self.controller.stop()
            self.controller = None
            self.stops.append((asked, time.monotonic()))


@dataclass
class Parts:
    """The system's processes, each started again when the run kills it."""

    env: dict[str, str]
    api_port: int
    heartbeats: Path  # the parts' MAILLON_HEARTBEAT_DIR
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    killed_at: dict[str, list[float]] = field(default_factory=dict)  # ``time.monotonic``

    def commands(self) -> dict[str, list[str]]:
        base = [sys.executable, "-m", "services.cli"]
        return {
            "api": [*base, "api", "--port", str(self.api_port)],
            "relay": [*base, "relay"],
            "matching": [*base, "worker", "matching"],
            "notifications": [*base, "worker", "notifications"],
        }

    def up(self, name: str) -> bool:
        """Whether worker ``name`` is serving: its heartbeat beat since it was (re)started, and
        says it serves (it beats while starting and while waiting for Redis too)."""
        heartbeat = Heartbeat(self.heartbeats, f"worker-{name}")
        try:
            beat = heartbeat.path.stat().st_mtime >= self.started[name]
        except FileNotFoundError:
            return False
        return beat and heartbeat.activity() is Activity.SERVING

    def start(self, name: str) -> None:
        self.started[name] = time.time()
        # Our own interpreter and arguments, no shell.
        self.processes[name] = subprocess.Popen(  # noqa: S603
            self.commands()[name], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL
        )

    def kill(self, name: str) -> None:
        process = self.processes[name]
        self.killed_at.setdefault(name, []).append(time.monotonic())
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills[name] += 1
        self.start(name)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
