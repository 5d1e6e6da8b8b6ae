"""The local mail catcher of `maillon up`: what the notifications worker sends is kept and read."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from services.core.ids import uuid7
from services.core.mail_catcher import (
    list_messages,
    mail_directory,
    read_message,
    start_mail_catcher,
    text_of,
)
from services.core.settings import Settings
from services.notifications.channels.base import OutgoingMessage
from services.notifications.channels.smtp import EmailChannel
from tests.conftest import ROOT


def _maillon(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLON_")}
    env["MAILLON_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "mail", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_message_sent_over_smtp_is_kept_and_listed(
    settings: Settings, tmp_path: Path
) -> None:
    state_dir = tmp_path.resolve()  # noqa: ASYNC240  (a test's own temporary directory)
    catcher = start_mail_catcher(state_dir)
    try:
        assert catcher.host == "127.0.0.1"
        assert catcher.directory == mail_directory(state_dir)
        # The notifications worker's own channel, pointed at the catcher as `maillon up` does.
        channel = EmailChannel(
            settings.model_copy(
                update={
                    "smtp_host": catcher.host,
                    "smtp_port": catcher.port,
                    "smtp_security": "none",
                }
            )
        )
        notification_id = uuid7()
        await channel.send(
            OutgoingMessage(
                notification_id=notification_id,
                to="prescripteur.ft@demo.maillon.fr",
                subject="Maillon — 2 nouveaux candidats suggérés pour « Manœuvre bâtiment »",
                body="Bonjour,\n\nDeux personnes que vous accompagnez…",
            )
        )
    finally:
        catcher.stop()

    [caught] = list_messages(catcher.directory)
    assert caught.recipients == "prescripteur.ft@demo.maillon.fr"
    assert caught.subject.endswith("« Manœuvre bâtiment »")
    message = read_message(catcher.directory, caught.id)
    assert message is not None
    assert message["Message-ID"] == f"<{notification_id}@maillon.notifications>"
    assert "Deux personnes que vous accompagnez" in text_of(message)
    # Only ids of the directory are read.
    assert read_message(catcher.directory, f"../{caught.id}") is None
    assert read_message(catcher.directory, str(uuid.uuid4())) is None

    listed = _maillon(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert caught.id in listed.stdout and "Manœuvre bâtiment" in listed.stdout
    shown = _maillon(tmp_path, "show", caught.id)
    assert shown.returncode == 0, shown.stderr
    assert "To: prescripteur.ft@demo.maillon.fr" in shown.stdout
    assert "Deux personnes que vous accompagnez" in shown.stdout
    missing = _maillon(tmp_path, "show", "inconnu")
    assert missing.returncode == 1
    assert "Aucun courriel « inconnu »" in missing.stderr


def test_an_empty_catcher_says_so(tmp_path: Path) -> None:
    listed = _maillon(tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert "Aucun courriel retenu" in listed.stdout
