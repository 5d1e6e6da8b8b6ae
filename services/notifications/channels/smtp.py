"""E-mail over SMTP (aiosmtplib): STARTTLS, implicit TLS or plain (local relays)."""

from __future__ import annotations

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
        s = self._settings
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        try:
            await aiosmtplib.send(
                self.build(message),
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                username=s.smtp_username,
                password=password,
                timeout=s.smtp_timeout_seconds,
                cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            # A setting to fix: the messages wait (24 h of retries) rather than fail at once.
            raise TemporaryFailure(f"authentification SMTP refusée ({exc.code})") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure("destinataire refusé par le serveur SMTP") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"refus SMTP {exc.code}") from exc
            raise TemporaryFailure(f"SMTP {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return SendResult(provider_message_id=message_id(message))
