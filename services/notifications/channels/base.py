"""What every channel implements, and how it reports failures."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from services.core.models.notification import NotificationChannel


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: uuid.UUID
    to: str  # an e-mail address or an E.164 phone number
    subject: str
    body: str


@dataclass(frozen=True)
class SendResult:
    """The provider accepted the message; its id when it gives one."""

    provider_message_id: str | None = None


class TemporaryFailure(Exception):
    """Try again later (server down, timeout, 5xx, 429)."""


class PermanentFailure(Exception):
    """Never try again (address refused, message refused, channel not configured)."""


class Channel(Protocol):
    name: NotificationChannel

    def sending(self, message: OutgoingMessage) -> AbstractAsyncContextManager[SendResult]:
        """Hand ``message`` to the provider on entering; raise Temporary/PermanentFailure
        otherwise. The block runs as soon as the provider accepted, before the exchange with it
        ends (an SMTP session's ``QUIT``): the row's mark goes there (decision 0072)."""
        ...
