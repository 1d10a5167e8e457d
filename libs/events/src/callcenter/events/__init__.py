"""The shared event backbone of the contact center platform.

Envelope and catalogue (what an event is), codec (how it travels on Kafka),
store and relay (how it is written and published: transactional outbox),
consumer (how it is applied exactly once in effect), broker (the embedded
Kafka-protocol broker for one machine), and the service kit (``kit``).
"""

from callcenter.events.catalogue import Event, event_type, registry
from callcenter.events.envelope import Envelope, new_envelope

__all__ = ["Envelope", "Event", "event_type", "new_envelope", "registry"]
