"""Delivery channels behind one interface: e-mail (SMTP) and SMS (HTTP provider).

Webhooks are not per-person messages; their signed POST lives in :mod:`.webhook`.
"""

from services.notifications.channels.base import (
    Channel,
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)

__all__ = ["Channel", "OutgoingMessage", "PermanentFailure", "SendResult", "TemporaryFailure"]
