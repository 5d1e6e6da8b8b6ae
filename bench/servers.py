"""Servers of a run's own, on loopback, for fault injection: a Redis that keeps nothing on disk
(so a restart loses every queue, as a Redis without persistence or after a fail-over does)."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from services.core.embedded import redis_server_binary


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
        self.stop()
        self.start()
