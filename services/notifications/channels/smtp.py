"""E-mail over SMTP (aiosmtplib): STARTTLS, implicit TLS or plain (local relays)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.core.models.notification import NotificationChannel
from services.core.settings import Settings
from services.notifications.channels.base import (
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)


def message_id(message: OutgoingMessage) -> str:
    """Stable per notification: a message sent again after a crash carries the same id, so a
    receiving system can recognise the duplicate (decision 0022)."""
    return f"<{message.notification_id}@maillon.notifications>"


class EmailChannel:
    name = NotificationChannel.EMAIL

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def build(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._settings.smtp_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(message)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def send(self, message: OutgoingMessage) -> SendResult:
        async with self.sending(message) as result:
            return result

    @asynccontextmanager
    async def sending(self, message: OutgoingMessage) -> AsyncIterator[SendResult]:
        """The message accepted (``250`` to ``DATA``), the block runs before ``QUIT``: a mark
        made there does not wait for the end of the session (decision 0072). Whatever the block
        raises goes through untouched; only the sending's own errors become failures."""
        s = self._settings
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            username=s.smtp_username,
            password=password,
            timeout=s.smtp_timeout_seconds,
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
        )
        accepted = False
        try:
            async with client:  # connects (TLS, login); QUIT at the end, its errors ignored
                await client.send_message(self.build(message))
                accepted = True
                yield SendResult(provider_message_id=message_id(message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            if accepted:
                raise
            raise _failure(exc) from exc


def _failure(exc: aiosmtplib.SMTPException | OSError | TimeoutError) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        # A setting to fix: the messages wait (24 h of retries) rather than fail at once.
        return TemporaryFailure(f"authentification SMTP refusée ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return PermanentFailure("destinataire refusé par le serveur SMTP")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return PermanentFailure(f"refus SMTP {exc.code}")
        return TemporaryFailure(f"SMTP {exc.code}")
    return TemporaryFailure(type(exc).__name__)
