"""SMS through a generic JSON HTTP provider.

``POST {sms_base_url}/messages`` with ``Authorization: Bearer {sms_api_key}`` and
``{"to", "from", "text", "reference"}``; a 2xx answer carries ``{"id": ...}``. The provider later
reports delivery on ``POST /v1/notifications/sms-status`` (see the API).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from services.core.models.notification import NotificationChannel
from services.core.settings import Settings
from services.notifications.channels.base import (
    OutgoingMessage,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from services.notifications.channels.gsm7 import segments, to_gsm7


class SmsTooLong(ValueError):
    pass


def sms_text(body: str, max_segments: int) -> str:
    """The GSM-7 text of ``body``; refused when longer than ``max_segments`` segments."""
    text = to_gsm7(" ".join(body.split()))
    if segments(text) > max_segments:
        raise SmsTooLong(f"SMS trop long ({segments(text)} segments)")
    return text


class SmsChannel:
    name = NotificationChannel.SMS

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._settings = settings
        self._client = client

    @asynccontextmanager
    async def sending(self, message: OutgoingMessage) -> AsyncIterator[SendResult]:
        # The exchange ends with the provider's answer: nothing is left to do after the mark.
        yield await self.send(message)

    async def send(self, message: OutgoingMessage) -> SendResult:
        """``reference`` is the notification's id: the same on every try, so that a provider
        that deduplicates by client reference drops a message sent again (decision 0072)."""
        s = self._settings
        if not s.sms_base_url or s.sms_api_key is None:
            raise PermanentFailure("aucun fournisseur SMS n'est configuré")
        try:
            text = sms_text(message.body, s.sms_max_segments)
        except SmsTooLong as exc:
            raise PermanentFailure(str(exc)) from exc
        payload = {
            "to": message.to,
            "from": s.sms_sender,
            "text": text,
            "reference": str(message.notification_id),
        }
        headers = {"Authorization": f"Bearer {s.sms_api_key.get_secret_value()}"}
        url = s.sms_base_url.rstrip("/") + "/messages"
        try:
            if self._client is not None:
                response = await self._client.post(url, json=payload, headers=headers)
            else:
                async with httpx.AsyncClient(timeout=s.sms_timeout_seconds) as client:
                    response = await client.post(url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"fournisseur SMS : HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"fournisseur SMS : HTTP {response.status_code}")
        try:
            provider_id = str(response.json()["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TemporaryFailure("réponse du fournisseur SMS illisible") from exc
        return SendResult(provider_message_id=provider_id)
