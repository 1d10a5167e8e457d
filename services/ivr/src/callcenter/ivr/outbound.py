"""Outbound legs: placed through the tenant's provider, their outcome reported once.

A leg is asked for by routing (``OutboundCallRequested``) or by the IVR itself
(an outbound survey). The tenant's provider places it:

- Twilio (account sid and auth token set): a "create call" request to Twilio's
  REST API (``CALLCENTER_IVR_TWILIO_API_URL``), kept as an outbox row in
  ``ivr_outbound_legs`` and retried with backoff; its answer and status
  callbacks come back to ``/v1/twilio/outbound/*``;
- otherwise the signed status callback (``ivr_webhooks``) with an instruction
  ``{"dial": {...}}``; the provider reports to ``/v1/calls/{id}/outbound-status``.

Each report goes through the pure ``domain.outbound.report``: the leg's
``OutboundCallStatus`` is appended once (stream ``ivr.leg:<tenant>:<call>``,
its unique versions refuse a second one from a concurrent retry).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.events import store
from callcenter.events.aio import sleep_or_stop
from callcenter.events.catalogue import Event
from callcenter.events.db import Database
from callcenter.events.envelope import format_time
from callcenter.ivr.domain import outbound as core
from callcenter.ivr.domain.connection import Connection
from callcenter.ivr.domain.instructions import Hangup, Instruction, Say
from callcenter.ivr.store import queries
from callcenter.ivr.store.tables import outbound_legs, webhooks

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
DEFAULT_ABANDON_MESSAGE = (
    "Sorry, we called you but none of our agents is free right now. "
    "We will call you again. Goodbye."
)


class LegNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LegRequest:
    call_id: str
    number: str
    caller_id: str = ""
    queue_id: str = ""
    campaign_id: str | None = None
    contact_id: str | None = None
    agent_id: str | None = None
    detect_machine: bool = True
    timeout: float = 25.0
    purpose: str = "routing"  # or "survey"


@dataclass(frozen=True)
class Reported:
    leg: core.Leg
    purpose: str
    events: list[Event]
    instructions: list[Instruction]  # what an answered leg does now ([] otherwise)


def leg_stream(tenant: str, call_id: str) -> str:
    return f"ivr.leg:{tenant}:{call_id}"


def _leg(row: Any) -> core.Leg:
    return core.Leg(
        call_id=row.call_id,
        number=row.number,
        queue_id=row.queue_id,
        campaign_id=row.campaign_id,
        contact_id=row.contact_id,
        agent_id=row.agent_id,
        placed_at=datetime.fromtimestamp(row.placed_at, UTC),
        outcome=row.outcome,
        ended=bool(row.ended),
        abandoned=bool(row.abandoned),
    )


async def load_leg(conn: AsyncConnection, tenant: str, call_id: str) -> Any:
    query = select(outbound_legs).where(
        outbound_legs.c.tenant == tenant, outbound_legs.c.call_id == call_id
    )
    return (await conn.execute(query)).first()


def abandon_message(telephony: queries.Telephony) -> str:
    return telephony.abandon_message or DEFAULT_ABANDON_MESSAGE


async def request(conn: AsyncConnection, tenant: str, leg: LegRequest, now: float) -> None:
    """Keep the leg and start placing it (once: a second request of a leg is ignored)."""
    if await load_leg(conn, tenant, leg.call_id) is not None:
        return
    telephony = await queries.load_telephony(conn, tenant)
    caller_id = leg.caller_id or telephony.outbound_caller_id or ""
    provider = "twilio" if telephony.twilio else "json"
    values = {
        "tenant": tenant,
        "call_id": leg.call_id,
        "number": leg.number,
        "caller_id": caller_id,
        "queue_id": leg.queue_id,
        "campaign_id": leg.campaign_id,
        "contact_id": leg.contact_id,
        "agent_id": leg.agent_id,
        "detect_machine": int(leg.detect_machine),
        "timeout": leg.timeout,
        "purpose": leg.purpose,
        "provider": provider,
        "status": "dialing" if provider == "twilio" else "placed",
        "ended": 0,
        "abandoned": 0,
        "placed_at": now,
        "attempts": 0,
        "next_attempt_at": now,
    }
    await conn.execute(outbound_legs.insert().values(**values))
    why = None
    if provider == "twilio" and not caller_id:
        why = "no caller id: set the leg's caller_id or the tenant's outbound_caller_id"
    elif provider == "json" and not telephony.status_callback_url:
        why = "the tenant has no provider for outbound legs (Twilio account or status callback)"
    if why is not None:
        log.warning("outbound leg %s failed: %s", leg.call_id, why)
        await report_in(conn, tenant, leg.call_id, "failed", None, now, error=why)
        return
    if provider == "json":
        await _dial_callback(conn, tenant, leg, caller_id, telephony, now)


async def _dial_callback(
    conn: AsyncConnection,
    tenant: str,
    leg: LegRequest,
    caller_id: str,
    telephony: queries.Telephony,
    now: float,
) -> None:
    """The JSON provider's order: a signed status callback with ``{"dial": ...}``."""
    body = {
        "id": f"dial:{leg.call_id}",
        "type": "OutboundCallRequested",
        "time": format_time(datetime.fromtimestamp(now, UTC)),
        "tenant": tenant,
        "call_id": leg.call_id,
        "instruction": {
            "dial": {
                "number": leg.number,
                "caller_id": caller_id,
                "timeout": leg.timeout,
                "detect_machine": leg.detect_machine,
                "report_to": f"/v1/calls/{leg.call_id}/outbound-status",
            }
        },
    }
    await conn.execute(
        webhooks.insert().values(
            event_id="dial:" + hashlib.sha256(f"{tenant}:{leg.call_id}".encode()).hexdigest()[:40],
            tenant=tenant,
            call_id=leg.call_id,
            url=telephony.status_callback_url,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
    )


async def abandoned(conn: AsyncConnection, tenant: str, call_id: str, now: float) -> bool:
    """Routing found no agent in time for the answered callee: the mandatory message."""
    row = await load_leg(conn, tenant, call_id)
    if row is None:
        return False
    await conn.execute(
        update(outbound_legs)
        .where(outbound_legs.c.tenant == tenant, outbound_legs.c.call_id == call_id)
        .values(abandoned=1)
    )
    telephony = await queries.load_telephony(conn, tenant)
    said = (Say(text=abandon_message(telephony), language="en-US"), Hangup())
    before = await queries.load_connection(conn, tenant, call_id)
    connection = Connection(
        call_id=call_id,
        state="ended",
        queue_id=row.queue_id,
        last_agent_id=before.last_agent_id if before else None,
        ended_by="system",
        instructions=said,
    )
    await queries.save_connection(conn, tenant, connection, now)
    return True


async def report_in(
    conn: AsyncConnection,
    tenant: str,
    call_id: str,
    status: str,
    answered_by: str | None,
    at: float,
    *,
    error: str | None = None,
) -> Reported:
    row = await load_leg(conn, tenant, call_id)
    if row is None:
        raise LegNotFound(f"no outbound leg {call_id!r}")
    now = datetime.fromtimestamp(at, UTC)
    leg = _leg(row)
    events = core.report(leg, status, answered_by, now)
    for event in events:
        leg = core.evolve(leg, event)
    if row.purpose == "survey":
        # The IVR's own leg: routing asked for none, so it is told nothing (the survey's
        # events are SurveyOffered/SurveyAnswered); the outcome is kept on the row.
        changed = bool(events)
        events = []
        if changed:
            await conn.execute(
                update(outbound_legs)
                .where(outbound_legs.c.tenant == tenant, outbound_legs.c.call_id == call_id)
                .values(
                    status="done",
                    outcome=leg.outcome,
                    ended=int(leg.ended),
                    last_error=error[:500] if error else None,
                )
            )
        from callcenter.ivr import surveys  # here: surveys places its legs through this module

        said = await surveys.on_leg(conn, tenant, call_id, leg, changed=changed)
        return Reported(leg, row.purpose, [], said)
    if events:
        stream = leg_stream(tenant, call_id)
        version = await store.stream_version(conn, stream)
        await store.append_to_stream(conn, stream, version, events, source="callcenter.ivr",
                                     tenant=tenant, correlation_id=call_id, subject=call_id,
                                     time=now)  # fmt: skip
        values: dict[str, Any] = {"outcome": leg.outcome, "ended": int(leg.ended)}
        if leg.outcome is not None:
            values["status"] = "done"
        if error is not None:
            values["last_error"] = error[:500]
        await conn.execute(
            update(outbound_legs)
            .where(outbound_legs.c.tenant == tenant, outbound_legs.c.call_id == call_id)
            .values(**values)
        )
    said: list[Instruction] = []
    if leg.outcome in ("answered", "machine") and not leg.ended:
        telephony = await queries.load_telephony(conn, tenant)
        said = core.connect(leg, abandon_message(telephony))
    return Reported(leg, row.purpose, events, said)


class Outbound:
    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        committed: Callable[[], None],
        twilio_api_url: str,
        public_url: str,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        batch: int = 20,
        report_grace: float = 300.0,
    ) -> None:
        self.db = db
        self.http = http
        self.committed = committed
        self.twilio_api_url = twilio_api_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.timeout = timeout
        self.batch = batch
        self.report_grace = report_grace

    # -- reports --------------------------------------------------------------------

    async def report(
        self, tenant: str, call_id: str, status: str, answered_by: str | None
    ) -> Reported:
        """A provider's report on a leg (retries add nothing); raises LegNotFound."""
        for attempt in (1, 2):
            try:
                async with self.db.transaction() as conn:
                    reported = await report_in(
                        conn, tenant, call_id, status, answered_by, self.clock()
                    )
                break
            except (store.ConcurrencyError, IntegrityError):
                if attempt == 2:
                    raise
                # a retry of the same report committed first: decide again on its result
        if reported.events:
            self.committed()
        return reported

    # -- Twilio's create-call outbox ----------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                tried = await self.place_due()
                await self.expire_due()
            except Exception as error:  # noqa: BLE001 - keep placing after a database hiccup
                log.warning("placing outbound legs failed: %s", error)
                tried = 0
            if tried == 0:
                await sleep_or_stop(stop, 0.5)

    async def place_due(self) -> int:
        """Send every due create-call request once; returns how many were tried."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(outbound_legs)
                    .where(
                        outbound_legs.c.status == "dialing",
                        outbound_legs.c.next_attempt_at <= self.clock(),
                    )
                    .order_by(outbound_legs.c.next_attempt_at)
                    .limit(self.batch)
                )
            ).all()
            settings = {
                tenant: await queries.load_telephony(conn, tenant)
                for tenant in {row.tenant for row in rows}
            }
        results = await asyncio.gather(
            *(self._create_call(row, settings[row.tenant]) for row in rows)
        )
        failed = False
        async with self.db.transaction() as conn:
            for row, (sid, error, permanent) in zip(rows, results, strict=True):
                attempts = row.attempts + 1
                where = (
                    outbound_legs.c.tenant == row.tenant,
                    outbound_legs.c.call_id == row.call_id,
                )
                if sid is not None:
                    values: dict[str, Any] = {
                        "status": "placed",
                        "provider_sid": sid,
                        "attempts": attempts,
                    }
                elif permanent or attempts >= MAX_ATTEMPTS:
                    log.warning("outbound leg %s not placed: %s", row.call_id, error)
                    await report_in(
                        conn, row.tenant, row.call_id, "failed", None, self.clock(), error=error
                    )
                    failed = True
                    values = {"attempts": attempts}
                else:
                    values = {
                        "attempts": attempts,
                        "last_error": (error or "")[:500],
                        "next_attempt_at": self.clock() + 2.0 ** (attempts - 1),
                    }
                await conn.execute(update(outbound_legs).where(*where).values(**values))
        if failed:
            self.committed()
        return len(rows)

    async def expire_due(self) -> int:
        """Legs the provider never reported (a lost callback) fail after their ringing time
        and ``report_grace``: routing's dialer is not left waiting. Returns how many."""
        now = self.clock()
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    select(outbound_legs.c.tenant, outbound_legs.c.call_id)
                    .where(
                        outbound_legs.c.status == "placed",
                        outbound_legs.c.outcome.is_(None),
                        outbound_legs.c.placed_at + outbound_legs.c.timeout
                        < now - self.report_grace,
                    )
                    .limit(self.batch)
                )
            ).all()
        if not rows:
            return 0
        async with self.db.transaction() as conn:
            for row in rows:
                await report_in(
                    conn, row.tenant, row.call_id, "failed", None, now,
                    error="no report from the provider",
                )  # fmt: skip
        self.committed()
        return len(rows)

    def leg_urls(self, tenant: str, call_id: str) -> tuple[str, str]:
        """The answer and status callback URLs Twilio is given for a leg."""
        query = f"?tenant={tenant}&call_id={call_id}"
        base = f"{self.public_url}/v1/twilio/outbound"
        return f"{base}/answer{query}", f"{base}/status{query}"

    async def _create_call(
        self, row: Any, telephony: queries.Telephony
    ) -> tuple[str | None, str | None, bool]:
        """(sid, error, permanent): Twilio's call sid, or why not and whether to give up."""
        if not telephony.twilio:
            return None, "the tenant's Twilio account is no longer configured", True
        answer_url, status_url = self.leg_urls(row.tenant, row.call_id)
        form = core.twilio_create_call(
            to=row.number,
            caller_id=row.caller_id,
            answer_url=answer_url,
            status_url=status_url,
            timeout=row.timeout,
            detect_machine=bool(row.detect_machine),
        )
        url = f"{self.twilio_api_url}/2010-04-01/Accounts/{telephony.twilio_account_sid}/Calls.json"
        auth = (telephony.twilio_account_sid or "", telephony.twilio_auth_token or "")
        try:
            response = await self.http.post(
                url,
                content=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=auth,
                timeout=self.timeout,
            )
        except httpx.HTTPError as error:
            return None, (str(error) or type(error).__name__), False
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code != 429
            return None, f"HTTP {response.status_code}: {response.text[:300]}", permanent
        try:
            return str(response.json()["sid"]), None, False
        except (ValueError, KeyError, TypeError):
            return None, "Twilio's answer has no call sid", False
