"""The event catalogue: one pydantic model per event type, registered by name.

Type names are stable (never a module path), so moving or renaming a class
does not break stored events. Each type has a schema version; data written in
an older version is upcast on read by the functions registered with
``registry.upcaster``.
"""

from callcenter.events.catalogue import crm, ivr, routing, workorders  # noqa: F401  (registers)
from callcenter.events.catalogue.base import (
    Event,
    EventRegistry,
    UnknownEventType,
    event_type,
    registry,
)

__all__ = ["Event", "EventRegistry", "UnknownEventType", "event_type", "registry"]
