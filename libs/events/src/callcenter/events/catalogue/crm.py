"""Events of ``callcenter.crm`` (writer: crm; a stream per customer, and per call)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from callcenter.events.catalogue.base import Event, event_type

Tier = Literal["key_important", "key_secondary", "ordinary", "small"]


@event_type()
class CustomerCreated(Event):
    customer_id: str
    tier: Tier = "ordinary"
    tags: list[str] = Field(default_factory=list)
    consent: dict[str, bool] = Field(default_factory=dict)  # calls, sms, email, marketing
    # Personal fields (first_name, last_name, company; phones, emails and attributes as JSON).
    # Written in ``sealed`` (AES-GCM with the customer's own key, crypto-shredding);
    # ``personal`` holds them in plain text in events written before sealing.
    personal: dict[str, str] = Field(default_factory=dict)
    sealed: str | None = None


@event_type()
class CustomerUpdated(Event):
    """Only what changed: absent tier/tags and personal keys are unchanged."""

    customer_id: str
    tier: Tier | None = None
    tags: list[str] | None = None
    consent: dict[str, bool] | None = None
    personal: dict[str, str] = Field(default_factory=dict)
    sealed: str | None = None  # as in CustomerCreated


@event_type()
class CustomersMerged(Event):
    survivor_id: str
    merged_id: str


@event_type()
class CustomerErased(Event):
    """The customer's key is deleted: their sealed personal fields can never be read again."""

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
    """A contact posted by an integrator (an SMS, an email...); its content is sealed."""

    customer_id: str
    channel: Literal["sms", "email", "chat", "fax", "web", "phone"]
    direction: Literal["inbound", "outbound"]
    interaction_id: str = ""
    at: AwareDatetime | None = None
    sealed: str | None = None  # {"subject": ..., "summary": ...}


@event_type()
class NoteAdded(Event):
    """An agent's note on a customer; the text is personal (it may name anyone)."""

    customer_id: str
    note_id: str
    author: str
    personal: dict[str, str] = Field(default_factory=dict)  # {"text": ...} (before sealing)
    sealed: str | None = None  # {"text": ...}


# -- knowledge base: a stream per article (``kb-article:<id>``), and per category ------


@event_type()
class KbArticleCreated(Event):
    """A new article, as a draft; its stream is its version history."""

    article_id: str
    category_id: str
    title: str
    body: str
    tags: list[str] = Field(default_factory=list)
    related_ids: list[str] = Field(default_factory=list)


@event_type()
class KbArticleUpdated(Event):
    """Only what changed: absent (None) fields are unchanged; the state stays as it was."""

    article_id: str
    category_id: str | None = None
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    related_ids: list[str] | None = None


@event_type()
class KbArticlePublished(Event):
    article_id: str


@event_type()
class KbArticleArchived(Event):
    article_id: str


@event_type()
class KbCategoryCreated(Event):
    category_id: str
    name: str
    parent_id: str | None = None


@event_type()
class KbCategoryChanged(Event):
    """Renamed or moved: the category's whole new state."""

    category_id: str
    name: str
    parent_id: str | None = None


@event_type()
class KbCategoryDeleted(Event):
    category_id: str


@event_type()
class CampaignContactsScreened(Event):
    """The CRM's answer to CampaignContactsAdded: each contact's customer (if the number
    matches one) and that customer's consent flags. The dialer calls a contact only once
    screened, and never one whose ``calls`` (or, for marketing, ``marketing``) consent is
    false. Each result is {contact_id, customer_id: str | None, consent: {flag: bool}}."""

    campaign_id: str
    results: list[dict[str, Any]]
