"""A local mail catcher for ``maillon up``: alerts can be read without any SMTP server.

When no SMTP host is configured, ``maillon up`` runs an SMTP server on loopback (aiosmtpd, from
the ``embedded`` extra) and points the notifications worker at it. Each message it receives is
kept as it came, one ``.eml`` file under ``<state dir>/mail/``; ``maillon mail list`` and
``maillon mail show ID`` read them. Development only: it accepts any message from the machine
and never relays anything.
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from services.core.ids import uuid7

MAIL_SUBDIRECTORY = "mail"
SUFFIX = ".eml"


def mail_directory(state_dir: Path) -> Path:
    return state_dir / MAIL_SUBDIRECTORY


class MailCatcherUnavailable(RuntimeError):
    """aiosmtpd is not installed (the ``embedded`` extra)."""


def store(directory: Path, content: bytes, received_at: datetime | None = None) -> str:
    """Keep one message as ``<id>.eml``; its id sorts in arrival order. Written under a temporary
    name first, so that a listing never reads half a message."""
    directory.mkdir(parents=True, exist_ok=True)
    at = (received_at or datetime.now(UTC)).astimezone(UTC)
    message_id = f"{at:%Y%m%dT%H%M%S}-{uuid7().hex[-8:]}"
    partial = directory / f".{message_id}.part"
    partial.write_bytes(content)
    os.replace(partial, directory / f"{message_id}{SUFFIX}")
    return message_id


@dataclass(frozen=True)
class CaughtMessage:
    id: str
    received_at: datetime
    sender: str
    recipients: str
    subject: str

    @classmethod
    def read(cls, path: Path) -> CaughtMessage:
        message = parse(path.read_bytes())
        date = message["Date"]
        try:
            received = parsedate_to_datetime(str(date)) if date else None
        except (TypeError, ValueError):
            received = None
        return cls(
            id=path.stem,
            received_at=received or datetime.fromtimestamp(path.stat().st_mtime, UTC),
            sender=str(message["From"] or ""),
            recipients=str(message["To"] or ""),
            subject=str(message["Subject"] or ""),
        )


def parse(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def list_messages(directory: Path) -> list[CaughtMessage]:
    """The caught messages, oldest first."""
    if not directory.is_dir():
        return []
    return [CaughtMessage.read(path) for path in sorted(directory.glob(f"*{SUFFIX}"))]


def read_message(directory: Path, message_id: str) -> EmailMessage | None:
    """One caught message by id, or ``None``; an id is a file name in the directory, nothing
    else (no path walks out of it)."""
    path = directory / f"{message_id}{SUFFIX}"
    if Path(message_id).name != message_id or not path.is_file():
        return None
    return parse(path.read_bytes())


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if isinstance(body, EmailMessage) else ""


class _Keeper:
    """aiosmtpd handler: every message accepted is stored, none is relayed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        store(self.directory, content)
        return "250 Message conservé"


@dataclass
class MailCatcher:
    directory: Path
    host: str
    port: int
    _controller: Any

    def stop(self) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_mail_catcher(state_dir: Path, *, host: str = "127.0.0.1") -> MailCatcher:
    """Start the catcher on a free loopback port, in a thread of its own."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # the `embedded` extra is optional
        raise MailCatcherUnavailable(
            "le serveur de courrier local n'est pas installé (paquet aiosmtpd absent) : "
            "pip install 'maillon[embedded]', ou définissez MAILLON_SMTP_HOST"
        ) from None
    directory = mail_directory(state_dir.resolve())
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keeper(directory), hostname=host, port=_free_port(host))
    controller.start()
    return MailCatcher(directory=directory, host=host, port=controller.port, _controller=controller)
