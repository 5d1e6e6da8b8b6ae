"""Each worker receives exactly the event types it handles: a type delivered to a consumer
without a handler would be a wasted job on its queue (in front of the alerts), a type handled
but never delivered a dead handler."""

from __future__ import annotations

from services.core.events import EVENT_TYPES, Consumer
from services.matching.worker import consumer as matching
from services.notifications.worker import consumer as notifications


def test_every_consumer_receives_exactly_what_it_handles() -> None:
    for consumer in (matching, notifications):
        delivered = {
            name
            for name, event in EVENT_TYPES.items()
            # The application's events (tests declare their own, for their own consumers).
            if event.__module__.startswith("services.") and consumer.consumer in event.consumers
        }
        assert delivered == set(consumer.handled_types), consumer.consumer
    assert notifications.consumer is Consumer.NOTIFICATIONS
    assert "candidate.created" not in notifications.handled_types
    assert "match.suggested" in notifications.handled_types
