"""Events of ``callcenter.crm`` (writer: crm; a stream per customer, and per call)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from callcenter.events.catalogue.base import Event, event_type

Tier = Literal["key_important", "key_secondary", "ordinary", "small"]


@event_type()
class CustomerCreated(Event):
    customer_id: str
    tier: Tier = "ordinary"
    tags: list[str] = Field(default_factory=list)
    consent: dict[str, bool] = Field(default_factory=dict)  # calls, sms, email, marketing
    # Personal fields (first_name, last_name, company; phones, emails and attributes as JSON).
    # To travel encrypted with the customer's own key (crypto-shredding): not yet done.
    personal: dict[str, str] = Field(default_factory=dict)


@event_type()
class CustomerUpdated(Event):
    """Only what changed: absent tier/tags and personal keys are unchanged."""

    customer_id: str
    tier: Tier | None = None
    tags: list[str] | None = None
    consent: dict[str, bool] | None = None
    personal: dict[str, str] = Field(default_factory=dict)


@event_type()
class CustomersMerged(Event):
    survivor_id: str
    merged_id: str


@event_type()
class CustomerErased(Event):
    customer_id: str


@event_type()
class CustomerIdentified(Event):
    call_id: str
    customer_id: str
    tier: Tier
    preferred_agent_id: str | None = None


@event_type()
class CallerUnknown(Event):
    call_id: str


@event_type()
class InteractionRecorded(Event):
    customer_id: str
    channel: Literal["sms", "email", "chat", "fax", "web", "phone"]
    direction: Literal["inbound", "outbound"]


@event_type()
class NoteAdded(Event):
    """An agent's note on a customer; the text is personal (it may name anyone)."""

    customer_id: str
    note_id: str
    author: str
    personal: dict[str, str] = Field(default_factory=dict)  # {"text": ...}
