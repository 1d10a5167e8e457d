"""Outbound campaigns: configuration, contacts, and the pure rules of the dialer.

A campaign dials a list of contacts for a queue's agents, in one of three modes:
preview (an agent is reserved and shown the contact's card, then dials),
progressive (one call per ready agent, the agent reserved before dialing) and
predictive (more calls than ready agents, paced from the measured answer rate
and handle time, throttled as the day's abandoned-outbound rate nears its cap).

A contact is dialed only when all of these hold: the CRM screened it and its
consent allows it (``calls`` false: never; ``marketing`` false: never for a
marketing campaign), its number is not on the tenant's do-not-call list, it is
inside one of the campaign's calling windows in the callee's own time zone
(derived from the number; every zone of an ambiguous number must agree), it has
attempts left and its retry time has come, and the same number is not being
dialed already (by any campaign of the tenant).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from callcenter.routing.domain.config import ClockTime, Identifier

Mode = Literal["preview", "progressive", "predictive"]
CampaignStatus = Literal["draft", "running", "paused", "completed"]
ContactStatus = Literal["pending", "dialing", "talking", "done"]
NotReachedOutcome = Literal["no_answer", "busy", "machine", "failed"]

UNKNOWN_ZONE = "Etc/Unknown"
ANSWER_SMOOTHING = 0.1  # weight of the newest attempt in the measured answer rate
INITIAL_ANSWER_RATE = 0.5
RING_SECONDS = 15.0  # a typical time to answer: agents freeing within it count for pacing


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallingWindow(_Config):
    """Local wall-clock hours in the callee's time zone, on the given weekdays
    (0 = Monday). The end is exclusive."""

    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], min_length=1)
    start: ClockTime = "09:00"
    end: ClockTime = "20:00"

    @model_validator(mode="after")
    def _start_before_end(self) -> CallingWindow:
        if any(day < 0 or day > 6 for day in self.days):
            raise ValueError("days are 0 (Monday) to 6 (Sunday)")
        if self.start >= self.end:  # "HH:MM" sorts as time
            raise ValueError("start must be before end")
        return self


class RetryDelays(_Config):
    """Seconds before the next attempt, per outcome of the last one."""

    no_answer: float = Field(default=3600, ge=0)
    busy: float = Field(default=600, ge=0)
    machine: float = Field(default=7200, ge=0)
    failed: float = Field(default=1800, ge=0)
    abandoned: float = Field(default=3600, ge=0)


class Pacing(_Config):
    """Predictive pacing: at most ``max_ratio`` calls per available agent, fewer as the
    day's abandoned-outbound rate (abandoned / answered) nears ``abandon_cap``."""

    max_ratio: float = Field(default=3.0, ge=1, le=10)
    abandon_cap: float = Field(default=0.03, gt=0, le=0.5)
    abandon_wait_seconds: float = Field(default=2.0, gt=0, le=30)


class CampaignConfig(_Config):
    name: str = Field(default="", max_length=200)
    queue_id: Identifier
    mode: Mode = "progressive"
    marketing: bool = Field(default=False, description="needs the customer's marketing consent")
    caller_id: str = Field(default="", max_length=32, description="the number the callee sees")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    windows: list[CallingWindow] = Field(default_factory=lambda: [CallingWindow()], min_length=1)
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_delay_seconds: RetryDelays = Field(default_factory=RetryDelays)
    priority: int = Field(default=0, ge=0, le=10, description="between campaigns; higher first")
    ring_timeout_seconds: float = Field(default=25, gt=0, le=120)
    preview_seconds: float = Field(
        default=30, gt=0, le=600, description="preview: the card's time before it dials itself"
    )
    pacing: Pacing = Field(default_factory=Pacing)
    dispositions: list[Identifier] = Field(default_factory=list)
    completed_dispositions: list[Identifier] = Field(
        default_factory=lambda: ["sale", "completed"],
        description="dispositions that count toward the completion rate",
    )

    @model_validator(mode="after")
    def _coherent(self) -> CampaignConfig:
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValueError("starts_at must be before ends_at")
        return self


@dataclass
class Contact:
    id: str
    number: str
    time_zones: tuple[str, ...]
    customer_id: str | None = None
    screened: bool = False
    consent: dict[str, bool] = field(default_factory=dict)
    status: ContactStatus = "pending"
    attempts: int = 0
    next_at: datetime | None = None
    call_id: str | None = None
    last_outcome: str | None = None
    completed: bool = False


@dataclass
class Leg:
    """An outbound call routing asked for and has not handed to an agent yet."""

    call_id: str
    campaign_id: str
    contact_id: str
    number: str
    status: Literal["preview", "dialing", "connecting"]
    since: datetime
    agent_id: str | None = None  # reserved (preview, progressive)


@dataclass
class Campaign:
    id: str
    config: CampaignConfig
    status: CampaignStatus = "draft"
    contacts: dict[str, Contact] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # upload order
    attempted: int = 0
    reached: int = 0
    completed: int = 0
    abandoned: int = 0
    dispositioned: int = 0
    answer_rate: float = INITIAL_ANSWER_RATE
    # The abandoned-outbound rate is per day (UTC): answered and abandoned today.
    day: str | None = None
    answered_today: int = 0
    abandoned_today: int = 0
    # Derived (maintained by evolve, rebuilt by ``reindex``, never snapshotted), so the
    # dialer need not scan the whole list: each contact's place in the upload order,
    # the place before which no contact was never tried, and the retries by due time.
    position: dict[str, int] = field(default_factory=dict)
    scan_from: int = 0
    retry_order: list[tuple[datetime, int, str]] = field(default_factory=list)

    def add(self, contact: Contact) -> None:
        if contact.id not in self.contacts:
            self.position[contact.id] = len(self.order)
            self.order.append(contact.id)
        self.contacts[contact.id] = contact

    def retry(self, contact: Contact, when: datetime) -> None:
        """The contact waits for ``when`` (a retry or a callback)."""
        self._forget_retry(contact)
        contact.next_at = when
        contact.status = "pending"
        bisect.insort(self.retry_order, (when, self.position[contact.id], contact.id))

    def mark_attempted(self, contact: Contact) -> None:
        self._forget_retry(contact)
        contact.next_at = None
        order, contacts = self.order, self.contacts
        while self.scan_from < len(order) and not _fresh(contacts[order[self.scan_from]]):
            self.scan_from += 1

    def _forget_retry(self, contact: Contact) -> None:
        if contact.next_at is None:
            return
        entry = (contact.next_at, self.position[contact.id], contact.id)
        index = bisect.bisect_left(self.retry_order, entry)
        if index < len(self.retry_order) and self.retry_order[index] == entry:
            del self.retry_order[index]

    def reindex(self) -> None:
        self.position = {contact_id: n for n, contact_id in enumerate(self.order)}
        self.retry_order = sorted(
            (c.next_at, self.position[c.id], c.id)
            for c in self.contacts.values()
            if c.next_at is not None and c.status == "pending"
        )
        self.scan_from = next(
            (n for n, cid in enumerate(self.order) if _fresh(self.contacts[cid])), len(self.order)
        )

    def candidates(self, now: datetime) -> Iterator[Contact]:
        """Contacts that may be dialable now, retries due first (in due order), then
        those never tried (in upload order)."""
        for when, _, contact_id in self.retry_order:
            if when > now:
                break
            yield self.contacts[contact_id]
        for contact_id in self.order[self.scan_from :]:
            contact = self.contacts[contact_id]
            if _fresh(contact):
                yield contact

    def abandon_rate_today(self, now: datetime) -> float:
        if self.day != now.date().isoformat() or not self.answered_today:
            return 0.0
        return self.abandoned_today / self.answered_today

    def progress(self, now: datetime) -> dict[str, Any]:
        remaining = sum(1 for c in self.contacts.values() if c.status != "done")
        answered = self.reached + self.abandoned
        total = len(self.contacts)
        return {
            "status": self.status,
            "contacts": total,
            "attempted": self.attempted,
            "reached": self.reached,
            "completed": self.completed,
            "abandoned": self.abandoned,
            "remaining": remaining,
            # Of the callees who answered: those no agent took in time (Ofcom, FTC).
            "abandon_rate": round(self.abandoned / answered, 4) if answered else 0.0,
            "abandon_rate_today": round(self.abandon_rate_today(now), 4),
            "completion_rate": round(self.completed / total, 4) if total else 0.0,
            "answer_rate": round(self.answer_rate, 4),
        }


def _fresh(contact: Contact) -> bool:
    """Pending and never tried (a contact tried again has a retry time)."""
    return contact.status == "pending" and contact.next_at is None


# -- pure rules ------------------------------------------------------------------------


def _parse_number(number: str) -> phonenumbers.PhoneNumber:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not an E.164 phone number (+ and country code)") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return parsed


def number_and_zones(number: str) -> tuple[str, tuple[str, ...]]:
    """The number in E.164 and the callee's time zone(s); ValueError when unknown."""
    parsed = _parse_number(number)
    zones = tuple(z for z in number_zones.time_zones_for_number(parsed) if z != UNKNOWN_ZONE)
    if not zones:
        raise ValueError("no time zone is known for this number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), tuple(
        sorted(zones)
    )


def number_time_zones(number: str) -> tuple[str, ...]:
    """The callee's time zone(s) from an E.164 number; raises ValueError when unknown."""
    return number_and_zones(number)[1]


def e164(number: str) -> str:
    """The number in E.164; raises ValueError when it is not a valid number."""
    return phonenumbers.format_number(_parse_number(number), phonenumbers.PhoneNumberFormat.E164)


def in_window(windows: list[CallingWindow], zones: tuple[str, ...], at: datetime) -> bool:
    """Whether ``at`` is inside a calling window in every one of the callee's zones
    (local wall-clock time through zoneinfo, so DST changes are honoured)."""
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone))
        clock = local.time().replace(tzinfo=None)
        if not any(
            local.weekday() in window.days and _clock(window.start) <= clock < _clock(window.end)
            for window in windows
        ):
            return False
    return True


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def consent_allows(contact: Contact, marketing: bool) -> bool:
    if not contact.screened:
        return False
    if contact.consent.get("calls") is False:
        return False
    return not (marketing and contact.consent.get("marketing") is False)


# The throttle: full pace below THROTTLE_FROM x the cap, down to one call per ready
# agent (no abandon possible) at SAFE_LIMIT x the cap, a margin under the cap itself.
THROTTLE_FROM = 0.4
SAFE_LIMIT = 0.8


def pacing_ratio(campaign: Campaign, now: datetime) -> float:
    """Calls per available agent: 1 / answer rate, up to the maximum, brought down
    linearly to 1 as the day's abandoned rate goes from 40% to 80% of the cap."""
    pacing = campaign.config.pacing
    base = min(pacing.max_ratio, 1.0 / max(campaign.answer_rate, 1.0 / pacing.max_ratio))
    rate = campaign.abandon_rate_today(now)
    low, high = THROTTLE_FROM * pacing.abandon_cap, SAFE_LIMIT * pacing.abandon_cap
    headroom = (high - rate) / (high - low)
    return 1.0 + (base - 1.0) * min(1.0, max(0.0, headroom))


def abandon_budget(campaign: Campaign, now: datetime) -> float:
    """Abandons the day can still afford: were the next callee answered and abandoned,
    the day's rate would stay within the cap while this is at least 1."""
    today = campaign.day == now.date().isoformat()
    answered = campaign.answered_today if today else 0
    abandoned = campaign.abandoned_today if today else 0
    return campaign.config.pacing.abandon_cap * (answered + 1) - abandoned


def may_overdial(campaign: Campaign, now: datetime) -> bool:
    """Predictive dialing bets on agents not yet free, so a callee may be abandoned: only
    while the day can afford an abandon and is not near the cap. Otherwise the dialer
    reserves an agent per call, as in progressive mode, and nobody is abandoned."""
    return abandon_budget(campaign, now) >= 1 and not near_cap(campaign, now)


def near_cap(campaign: Campaign, now: datetime) -> bool:
    """At 80% of the cap the dialer stops betting on agents not yet free."""
    return campaign.abandon_rate_today(now) >= SAFE_LIMIT * campaign.config.pacing.abandon_cap


def retry_at(config: CampaignConfig, outcome: str, attempts: int, now: datetime) -> datetime | None:
    if attempts >= config.max_attempts:
        return None
    delay = getattr(config.retry_delay_seconds, outcome)
    return now + timedelta(seconds=delay)


# -- contact lists ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    error: str


def parse_contacts(
    rows: list[dict[str, Any]], known: set[str]
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Good rows as CampaignContactsAdded's contacts, and the bad rows: row number
    (1 = the first data row), field and why. ``known``: contact ids already in the
    campaign."""
    good: list[dict[str, Any]] = []
    bad: list[RowError] = []
    seen = set(known)
    for row_number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            bad.append(RowError(row_number, "row", "a row must be an object"))
            continue
        number = str(row.get("number") or "").strip()
        contact_id = str(row.get("contact_id") or "").strip() or f"row-{len(seen) + 1}"
        customer_id = str(row.get("customer_id") or "").strip() or None
        if not number:
            bad.append(RowError(row_number, "number", "missing"))
            continue
        try:
            normalized, zones = number_and_zones(number)
        except ValueError as error:
            bad.append(RowError(row_number, "number", str(error)))
            continue
        if len(contact_id) > 100 or not all(ch.isalnum() or ch in "_.:@-" for ch in contact_id):
            bad.append(RowError(row_number, "contact_id", "1-100 letters, digits or _.:@-"))
            continue
        if contact_id in seen:
            bad.append(RowError(row_number, "contact_id", f"{contact_id!r} is already listed"))
            continue
        if customer_id is not None and len(customer_id) > 100:
            bad.append(RowError(row_number, "customer_id", "at most 100 characters"))
            continue
        seen.add(contact_id)
        contact: dict[str, Any] = {
            "contact_id": contact_id,
            "number": normalized,
            "time_zone": zones[0],
            "time_zones": list(zones),
        }
        if customer_id:
            contact["customer_id"] = customer_id
        good.append(contact)
    return good, bad


def contact_from_event(data: dict[str, Any]) -> Contact:
    zones = tuple(data.get("time_zones") or [data["time_zone"]])
    return Contact(
        id=data["contact_id"],
        number=data["number"],
        time_zones=zones,
        customer_id=data.get("customer_id"),
    )


# -- snapshots -------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def campaign_to_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "config": campaign.config.model_dump(mode="json"),
        "status": campaign.status,
        "order": list(campaign.order),
        "contacts": {
            c.id: {
                "number": c.number,
                "time_zones": list(c.time_zones),
                "customer_id": c.customer_id,
                "screened": c.screened,
                "consent": dict(sorted(c.consent.items())),
                "status": c.status,
                "attempts": c.attempts,
                "next_at": _time(c.next_at),
                "call_id": c.call_id,
                "last_outcome": c.last_outcome,
                "completed": c.completed,
            }
            for c in sorted(campaign.contacts.values(), key=lambda c: c.id)
        },
        "counters": [
            campaign.attempted,
            campaign.reached,
            campaign.completed,
            campaign.abandoned,
            campaign.dispositioned,
        ],
        "answer_rate": campaign.answer_rate,
        "day": [campaign.day, campaign.answered_today, campaign.abandoned_today],
    }


def campaign_from_json(campaign_id: str, data: dict[str, Any]) -> Campaign:
    campaign = Campaign(campaign_id, CampaignConfig.model_validate(data["config"]))
    campaign.status = data["status"]
    campaign.order = list(data["order"])
    for contact_id, c in data["contacts"].items():
        campaign.contacts[contact_id] = Contact(
            id=contact_id,
            number=c["number"],
            time_zones=tuple(c["time_zones"]),
            customer_id=c["customer_id"],
            screened=c["screened"],
            consent=dict(c["consent"]),
            status=c["status"],
            attempts=c["attempts"],
            next_at=_parse(c["next_at"]),
            call_id=c["call_id"],
            last_outcome=c["last_outcome"],
            completed=c["completed"],
        )
    (
        campaign.attempted,
        campaign.reached,
        campaign.completed,
        campaign.abandoned,
        campaign.dispositioned,
    ) = data["counters"]
    campaign.answer_rate = data["answer_rate"]
    campaign.day, campaign.answered_today, campaign.abandoned_today = data["day"]
    campaign.reindex()
    return campaign


def leg_to_json(leg: Leg) -> list[Any]:
    return [
        leg.campaign_id,
        leg.contact_id,
        leg.number,
        leg.status,
        _time(leg.since),
        leg.agent_id,
    ]


def leg_from_json(call_id: str, data: list[Any]) -> Leg:
    campaign_id, contact_id, number, status, since, agent_id = data
    return Leg(call_id, campaign_id, contact_id, number, status, _parse(since), agent_id)
