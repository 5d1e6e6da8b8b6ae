"""The notifications worker's event consumer.

Handlers anywhere register with ``from services.notifications.consumer import consumer`` and
``@consumer.on(EventType)``; :mod:`services.notifications.worker` imports the modules that do.
"""

from __future__ import annotations

from services.core.events import Consumer
from services.core.jobs import EventConsumer

consumer = EventConsumer(Consumer.NOTIFICATIONS)
