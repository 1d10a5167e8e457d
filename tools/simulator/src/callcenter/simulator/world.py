"""The simulation: callers and agents acting on the platform through its HTTP APIs.

Callers arrive as a Poisson process (the rate follows the time-of-day profile),
answer the IVR's menu, wait in queue and hang up when their patience runs out,
take the callback the IVR offers, or talk until the end of their handle time.
Agents work staggered shifts, watch routing's agent list, answer offers after a
ring delay, dial the callers who asked to be called back, sometimes open and
resolve a work order after a call, and sometimes take a break. Each call's
answer, abandon and callback are decided under one lock, so the simulator's own
books and the platform's agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

import httpx

from callcenter.simulator.scenario import (
    CALLBACK_ATTEMPTS,
    CALLBACK_DIGIT,
    KNOWN_CALLERS,
    REST_PER_SHIFT,
    Params,
    agent_ids,
    caller_number,
    shift_starts,
)

log = logging.getLogger("callcenter.simulator")
POLL_SECONDS = 0.2
# How a call that arrived ended, once: its last visit's outcome for a queued call.
OUTCOMES = ("self_served", "voicemail", "ended_in_ivr", "answered", "abandoned", "callback")


@dataclass
class Books:
    """The simulator's own counts, per tenant."""

    arrived: int = 0
    known_callers: int = 0  # calls from numbers the CRM knows
    self_served: int = 0
    queued: int = 0
    answered: int = 0
    answered_in_20s: int = 0
    abandoned: int = 0
    ended_in_ivr: int = 0
    voicemails: list[str] = field(default_factory=list)  # their call ids
    outcomes: dict[str, str] = field(default_factory=dict)  # call id -> how it ended
    # Callers who took the callback offered while waiting, and what became of it.
    callbacks: int = 0
    callback_dials: int = 0
    callbacks_connected: int = 0
    callbacks_given_up: int = 0
    shifts_started: int = 0
    shifts_ended: int = 0
    tickets: int = 0
    held: int = 0
    transferred: int = 0
    dispositions: int = 0
    follow_ups: list[str] = field(default_factory=list)  # calls whose disposition asks one
    ended_by_agent: int = 0
    surveys: int = 0  # answers to the post-call survey
    satisfied: int = 0  # of which 4 or 5
    breaks: int = 0
    # The campaign: legs the provider was asked to dial and what became of them.
    dialed: int = 0
    callees_answered: int = 0  # a person picked up
    machines: int = 0
    busy: int = 0
    not_answered: int = 0
    outbound_abandoned: int = 0  # picked up, no agent in time: the mandatory message
    conversations: int = 0
    sales: int = 0
    errors: int = 0
    waits: list[float] = field(default_factory=list)

    def ended(self, call_id: str, outcome: str) -> None:
        """A call that arrived ends in exactly one outcome; a second one is a simulator bug."""
        if call_id in self.outcomes:
            self.errors += 1
        self.outcomes[call_id] = outcome

    def service_level(self) -> float | None:
        handled = self.answered + self.abandoned
        return round(self.answered_in_20s / handled, 4) if handled else None

    def summary(self) -> dict[str, object]:
        return {
            "arrived": self.arrived,
            "known_callers": self.known_callers,
            "self_served": self.self_served,
            "queued": self.queued,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "ended_in_ivr": self.ended_in_ivr,
            "voicemails": self.voicemails,
            "outcomes": {
                outcome: sum(1 for ended in self.outcomes.values() if ended == outcome)
                for outcome in OUTCOMES
            },
            "callbacks": {
                "requested": self.callbacks,
                "dials": self.callback_dials,
                "connected": self.callbacks_connected,
                "given_up": self.callbacks_given_up,
            },
            "shifts": {"started": self.shifts_started, "ended": self.shifts_ended},
            "service_level_20s": self.service_level(),
            "asa_seconds": round(sum(self.waits) / len(self.waits), 2) if self.waits else None,
            "tickets": self.tickets,
            "held": self.held,
            "transferred": self.transferred,
            "dispositions": self.dispositions,
            "follow_ups": self.follow_ups,
            "ended_by_agent": self.ended_by_agent,
            "surveys": self.surveys,
            "satisfied": self.satisfied,
            "breaks": self.breaks,
            "campaign": {
                "dialed": self.dialed,
                "callees_answered": self.callees_answered,
                "machines": self.machines,
                "busy": self.busy,
                "not_answered": self.not_answered,
                "abandoned": self.outbound_abandoned,
                "conversations": self.conversations,
                "sales": self.sales,
            },
            "errors": self.errors,
        }


@dataclass(frozen=True)
class _Caller:
    call_id: str
    tenant: str
    number_index: int
    choice: str
    menu_seconds: float
    patience: float
    handle: float
    message_seconds: float
    agent_ends: bool  # the agent ends the conversation (the caller may get the survey)
    score: int  # what the caller answers to a survey
    takes_callback: bool  # when the IVR offers one, after listening to the hold a while
    hold_seconds: float


@dataclass
class _Call:
    call_id: str
    queue_id: str
    queued_at: float  # of the current visit
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: bool = True  # in a queue: before the first answer, and after a transfer
    transferred: bool = False
    ended: bool = False
    gave_up: bool = False  # hung up waiting, or to be called back


@dataclass
class _Callback:
    caller: _Caller
    dials: int = 0  # routing's attempts so far
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # reached or given up


class Simulation:
    def __init__(
        self, params: Params, clients: dict[str, dict[str, httpx.AsyncClient]], run_id: str
    ) -> None:
        self.params = params
        self.clients = clients  # tenant -> service -> client
        self.run_id = run_id
        self.rng = random.Random(params.seed)  # callers, drawn in arrival order
        # Agents act when the platform offers: their draws depend on its timing.
        self.agent_rng = random.Random(params.seed + 1)
        self.callee_rng = random.Random(params.seed + 2)  # who picks up a campaign's call
        self.campaign_rng = random.Random(params.seed + 3)  # its conversations, apart
        self.campaigns: dict[str, str] = {}  # tenant -> its running campaign
        self._conversations: set[str] = set()  # outbound calls an agent took up
        self.books = {tenant: Books() for tenant in params.tenants}
        self._calls: dict[str, _Call] = {}
        self._callbacks: dict[str, _Callback] = {}  # call id -> a callback not settled yet
        self._handled_offers: set[str] = set()
        self.on_duty = dict.fromkeys(params.tenants, 0)  # agents logged in, as last seen
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = time.monotonic()

    def scaled(self, seconds: float) -> float:
        return seconds / self.params.speed

    def simulated_hour(self) -> int:
        elapsed = (time.monotonic() - self.started) * self.params.speed
        return (self.params.start_hour + int(elapsed // 3600)) % 24

    async def run(self, duration: float | None, calls: int | None) -> None:
        deadline = None if duration is None else time.monotonic() + duration
        watchers = [asyncio.create_task(self._agents(t)) for t in self.params.tenants]
        watchers += [asyncio.create_task(self._shifts(t)) for t in self.params.tenants]
        placed = 0
        try:
            while (calls is None or placed < calls) and (
                deadline is None or time.monotonic() < deadline
            ):
                rate = self.params.calls_per_minute * self.params.profile[self.simulated_hour()]
                await asyncio.sleep(self.scaled(self.rng.expovariate(rate / 60)))
                caller = self._draw_caller(f"{self.run_id}-{placed:06d}")
                self._spawn(self._caller(caller))
                placed += 1
            while self._tasks:  # let every call end
                await asyncio.wait(set(self._tasks))
            await self._callbacks_done(deadline)
            await self._campaigns_done(deadline)
            while self._tasks:
                await asyncio.wait(set(self._tasks))
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _callbacks_done(self, deadline: float | None) -> None:
        """Wait for every callback to be reached or given up, at most until the deadline or
        ten minutes."""
        give_up = 600 if deadline is None else max(0, deadline - time.monotonic())
        settled = (callback.settled.wait() for callback in self._callbacks.values())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*settled), give_up)

    async def _campaigns_done(self, deadline: float | None) -> None:
        """Wait for each campaign to complete (or pause itself), at most until the deadline
        or ten minutes."""
        give_up = time.monotonic() + 600 if deadline is None else max(deadline, time.monotonic())
        for tenant, campaign_id in self.campaigns.items():
            routing = self.clients[tenant]["routing"]
            while time.monotonic() < give_up:
                shown = await routing.get(f"/v1/campaigns/{campaign_id}/progress")
                if shown.is_success and shown.json()["status"] in ("completed", "paused"):
                    break
                await asyncio.sleep(0.5)

    def _spawn(self, work) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # callers ------------------------------------------------------------------------

    def _draw_caller(self, call_id: str) -> _Caller:
        """Everything about a caller, drawn in arrival order: a seed gives the same callers."""
        return _Caller(
            call_id=call_id,
            tenant=self.rng.choice(self.params.tenants),
            number_index=self.rng.randrange(KNOWN_CALLERS * 2),  # half of them known
            choice=self._menu_choice(),
            menu_seconds=self.scaled(self.rng.uniform(1, 3)),
            patience=self.scaled(self.rng.expovariate(1 / self.params.patience_seconds)),
            handle=self.scaled(self.rng.expovariate(1 / self.params.aht_seconds)),
            message_seconds=round(self.rng.uniform(5, 40), 1),
            agent_ends=self.rng.random() < self.params.agent_ends_share,
            score=self.rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 4])[0],
            takes_callback=self.rng.random() < self.params.callback_share,
            hold_seconds=self.scaled(self.rng.uniform(5, 15)),
        )

    async def _caller(self, caller: _Caller) -> None:
        tenant, call_id, choice = caller.tenant, caller.call_id, caller.choice
        ivr = self.clients[tenant]["ivr"]
        books = self.books[tenant]
        number = caller_number(caller.number_index)
        try:
            dialed = {"from": number, "to": self.params.number(tenant), "call_id": call_id}
            arrived = await ivr.post("/v1/calls", json=dialed)
            arrived.raise_for_status()
            books.arrived += 1
            books.known_callers += caller.number_index < KNOWN_CALLERS
            await asyncio.sleep(caller.menu_seconds)  # listening to the menu
            answer = await ivr.post(f"/v1/calls/{call_id}/input", json={"digits": choice})
            answer.raise_for_status()
            outcome = answer.json()
            kinds = [item["type"] for item in outcome["instructions"]]
            if "record" in kinds:
                message = {"recording_url": f"https://recordings.example/{call_id}.wav",
                           "duration": caller.message_seconds}  # fmt: skip
                (await ivr.post(f"/v1/calls/{call_id}/recording", json=message)).raise_for_status()
                books.voicemails.append(call_id)
                books.ended(call_id, "voicemail")
                return
            if "enqueue" not in kinds:
                if outcome.get("outcome") == "self_served":
                    books.self_served += 1
                    books.ended(call_id, "self_served")
                else:
                    books.ended_in_ivr += 1
                    books.ended(call_id, "ended_in_ivr")
                return
            books.queued += 1
            queue_id = "sim-support" if choice == "2" else "sim-billing"
            call = self._calls[call_id] = _Call(call_id, queue_id, time.monotonic())
            waited = await self._wait_in_queue(caller, call)
            if waited != "answered":
                books.ended(call_id, waited)
                return
            await asyncio.sleep(caller.handle)  # talking to the agent
            async with call.lock:
                call.ended = True
                by_agent = caller.agent_ends and not call.waiting
                if by_agent:
                    routing = self.clients[tenant]["routing"]
                    ended = await routing.post(f"/v1/calls/{call_id}/hangup", json={"by": "agent"})
                    ended.raise_for_status()
                    books.ended_by_agent += 1
                else:
                    books.abandoned += call.waiting  # transferred, and no one answered in time
                    (await ivr.post(f"/v1/calls/{call_id}/hangup")).raise_for_status()
                books.ended(call_id, "abandoned" if call.waiting else "answered")
            if by_agent:
                await self._survey(caller)
        except httpx.HTTPError as error:
            self._failed(tenant, error)
        finally:
            self._calls.pop(call_id, None)

    async def _wait_in_queue(self, caller: _Caller, call: _Call) -> str:
        """Until an agent answers ("answered"), the caller takes the callback offered on
        hold ("callback") or their patience runs out ("abandoned")."""
        patience = caller.patience
        if caller.takes_callback and caller.hold_seconds < patience:
            if await _answered_within(call, caller.hold_seconds):
                return "answered"
            if await self._take_callback(caller, call):
                return "callback"
            patience -= caller.hold_seconds
        if await _answered_within(call, patience):
            return "answered"
        async with call.lock:
            if call.answered.is_set():
                return "answered"
            call.gave_up = True
            self.books[caller.tenant].abandoned += 1
            ivr = self.clients[caller.tenant]["ivr"]
            (await ivr.post(f"/v1/calls/{call.call_id}/hangup")).raise_for_status()
            return "abandoned"

    async def _take_callback(self, caller: _Caller, call: _Call) -> bool:
        """When the hold message offers a callback (routing expects a long enough wait), the
        caller presses its key and hangs up, keeping their place: routing calls back."""
        ivr = self.clients[caller.tenant]["ivr"]
        hold = await ivr.get(f"/v1/calls/{call.call_id}/hold")
        hold.raise_for_status()
        if not hold.json()["callback_offered"]:
            return False
        async with call.lock:
            if call.answered.is_set():
                return False
            call.gave_up = True
            # Known before routing hears of it: it may offer the callback at once.
            self._callbacks[call.call_id] = _Callback(caller)
            try:
                accepted = await ivr.post(f"/v1/calls/{call.call_id}/input",
                                          json={"digits": CALLBACK_DIGIT})  # fmt: skip
                accepted.raise_for_status()
            except httpx.HTTPError:
                self._settle(call.call_id)
                raise
            self.books[caller.tenant].callbacks += 1
            return True

    async def _survey(self, caller: _Caller) -> None:
        """After the agent hung up: the IVR's next words, a survey question or goodbye."""
        ivr, books = self.clients[caller.tenant]["ivr"], self.books[caller.tenant]
        deadline = time.monotonic() + 30
        instructions: list[dict] = []
        while not instructions and time.monotonic() < deadline:  # routing's end reaches the IVR
            await asyncio.sleep(POLL_SECONDS)
            following = await ivr.get(f"/v1/calls/{caller.call_id}/next")
            if following.status_code == 409:  # the IVR has not heard routing queue it yet
                continue
            following.raise_for_status()
            instructions = following.json()["instructions"]
        while any(item["type"] == "gather" for item in instructions):
            answered = await ivr.post(f"/v1/calls/{caller.call_id}/input",
                                      json={"digits": str(caller.score)})  # fmt: skip
            answered.raise_for_status()
            books.surveys += 1
            books.satisfied += caller.score >= 4
            instructions = answered.json()["instructions"]

    def _menu_choice(self) -> str:
        draw = self.rng.random()
        if draw < self.params.self_service_share:
            return "3"
        if draw < self.params.self_service_share + self.params.voicemail_share:
            return "4"
        return self.rng.choice("12")

    # agents -------------------------------------------------------------------------

    async def _agents(self, tenant: str) -> None:
        """Watch routing's agents: answer what is offered, take the odd break."""
        routing = self.clients[tenant]["routing"]
        mine = agent_ids(self.params, tenant)
        while True:
            try:
                listed = await routing.get("/v1/agents")
                listed.raise_for_status()
                self.on_duty[tenant] = sum(
                    1 for a in listed.json() if a["id"] in mine and a["status"] != "logged_out"
                )
                for agent in listed.json():
                    if agent["id"] not in mine or agent["id"] in self._busy:
                        continue
                    outbound = (agent["call_id"] or "").startswith("out:")
                    if agent["status"] == "on_call" and outbound:
                        if agent["call_id"] not in self._conversations:
                            self._conversations.add(agent["call_id"])
                            self._spawn(self._campaign_call(tenant, agent["id"], agent["call_id"]))
                    elif outbound:
                        continue  # reserved while the callee's phone rings
                    elif agent["status"] == "offered" and agent["call_id"]:
                        # A callback not reached is offered again later, maybe to the same agent.
                        offer = f"{agent['id']}|{agent['call_id']}|{agent['state_since']}"
                        if offer not in self._handled_offers:
                            self._handled_offers.add(offer)
                            self._spawn(self._answer(tenant, agent["id"], agent["call_id"]))
                    elif agent["status"] == "ready" and self._takes_a_break():
                        self._spawn(self._break(tenant, agent["id"]))
            except httpx.HTTPError as error:
                self._failed(tenant, error)
            await asyncio.sleep(POLL_SECONDS)

    async def _shifts(self, tenant: str) -> None:
        """Each agent logs in at the start of their shifts and out at their ends; without
        shifts, every agent logs in once, at the start."""
        starts = shift_starts(self.params)
        agents = agent_ids(self.params, tenant)
        if starts is None:
            for agent_id in agents:
                await self._start_shift(tenant, agent_id)
            return
        await asyncio.gather(*(self._work_shifts(tenant, agent_id, self.scaled(starts[agent_id]))
                               for agent_id in agents))  # fmt: skip

    async def _work_shifts(self, tenant: str, agent_id: str, first_start: float) -> None:
        shift = self.scaled(self.params.shift_seconds)
        start = self.started + first_start
        if first_start > 0:  # off at first, though an earlier run may have left them on
            try:
                await self.clients[tenant]["routing"].post(f"/v1/agents/{agent_id}/logout")
            except httpx.HTTPError as error:
                self._failed(tenant, error)
        while True:
            await asyncio.sleep(start - time.monotonic())
            await self._start_shift(tenant, agent_id)
            await asyncio.sleep(start + shift - time.monotonic())
            await self._end_shift(tenant, agent_id)
            start += (1 + REST_PER_SHIFT) * shift

    async def _start_shift(self, tenant: str, agent_id: str) -> None:
        routing, books = self.clients[tenant]["routing"], self.books[tenant]
        try:
            (await routing.post(f"/v1/agents/{agent_id}/login")).raise_for_status()
            (await routing.post(f"/v1/agents/{agent_id}/ready")).raise_for_status()
            books.shifts_started += 1
        except httpx.HTTPError as error:
            self._failed(tenant, error)

    async def _end_shift(self, tenant: str, agent_id: str) -> None:
        """Log out once the call in hand (or the break) is over: its wrap-up closed, as
        routing keeps a campaign call's disposition open until the wrap-up ends."""
        routing = self.clients[tenant]["routing"]
        try:
            while True:
                if agent_id not in self._busy:
                    shown = await routing.get(f"/v1/agents/{agent_id}")
                    shown.raise_for_status()
                    status = shown.json()["status"]
                    if status == "wrap_up":
                        await routing.post(f"/v1/agents/{agent_id}/wrap-up-done")
                    elif status not in ("offered", "on_call"):
                        left = await routing.post(f"/v1/agents/{agent_id}/logout")
                        if left.is_success:
                            self.books[tenant].shifts_ended += 1
                            return
                await asyncio.sleep(POLL_SECONDS)
        except httpx.HTTPError as error:
            self._failed(tenant, error)

    def _takes_a_break(self) -> bool:
        per_poll = self.params.break_share * POLL_SECONDS * self.params.speed / 600
        return self.agent_rng.random() < per_poll

    async def _answer(self, tenant: str, agent_id: str, call_id: str) -> None:
        routing = self.clients[tenant]["routing"]
        books = self.books[tenant]
        self._busy.add(agent_id)
        try:
            await asyncio.sleep(self.scaled(self.agent_rng.uniform(0.5, 2)))  # it rings
            if call_id in self._callbacks:
                await self._call_back(tenant, agent_id, self._callbacks[call_id])
                return
            call = self._calls.get(call_id)
            if call is None:
                return
            async with call.lock:
                if call.gave_up or call.ended or not call.waiting:
                    return
                answered = await routing.post(f"/v1/calls/{call_id}/answer",
                                              json={"agent_id": agent_id})  # fmt: skip
                if answered.status_code != 200:
                    return  # the offer expired or went to another agent
                wait = (time.monotonic() - call.queued_at) * self.params.speed
                books.answered += 1
                books.answered_in_20s += wait <= 20
                books.waits.append(wait)
                call.waiting = False
                call.answered.set()
            await self._converse(tenant, agent_id, call)
            if self.agent_rng.random() < self.params.ticket_share:
                await self._ticket(tenant, agent_id, call_id)
        except httpx.HTTPError as error:
            self._failed(tenant, error)
        finally:
            self._busy.discard(agent_id)

    async def _call_back(self, tenant: str, agent_id: str, callback: _Callback) -> None:
        """The agent dials a caller who asked to be called back: they pick up and talk, or
        do not (routing dials again after its retry delay, then gives up)."""
        routing, books = self.clients[tenant]["routing"], self.books[tenant]
        call_id = callback.caller.call_id
        try:
            # An offer made before routing had the request was the queued caller's.
            if not await _routing_calls_back(routing, call_id):
                return
            dialed = await routing.post(f"/v1/calls/{call_id}/answer", json={"agent_id": agent_id})
            if dialed.status_code != 200:
                return  # the offer expired or went to another agent
            callback.dials += 1
            books.callback_dials += 1
            await asyncio.sleep(self.scaled(self.agent_rng.uniform(3, 10)))  # the caller's phone
            reached = self.agent_rng.random() < self.params.callback_reach_rate
            if reached:
                await asyncio.sleep(callback.caller.handle)
            outcome = "connected" if reached else "no_answer"
            ended = await routing.post(f"/v1/calls/{call_id}/hangup",
                                       json={"by": "agent", "outcome": outcome})  # fmt: skip
            ended.raise_for_status()
            if reached:
                books.callbacks_connected += 1
            elif callback.dials == CALLBACK_ATTEMPTS:
                books.callbacks_given_up += 1
            else:
                return  # routing dials again later
            self._settle(call_id)
        except httpx.HTTPError:
            self._settle(call_id)
            raise

    def _failed(self, tenant: str, error: httpx.HTTPError) -> None:
        """Counted in the books, and said (which request, what went wrong)."""
        self.books[tenant].errors += 1
        try:
            where = f"{error.request.method} {error.request.url.path}"
        except RuntimeError:  # no request attached
            where = ""
        log.warning("callcenter-simulator: %s: %s %r", tenant, where, error)

    def _settle(self, call_id: str) -> None:
        if (callback := self._callbacks.pop(call_id, None)) is not None:
            callback.settled.set()

    async def _converse(self, tenant: str, agent_id: str, call: _Call) -> None:
        """The agent records how the call went, may put the caller on hold a while, and
        may pass the call to the other queue (once per call)."""
        routing, books = self.clients[tenant]["routing"], self.books[tenant]
        me = {"agent_id": agent_id}
        follow_up = self.agent_rng.random() < self.params.follow_up_share
        code = "follow_up" if follow_up else self.agent_rng.choice(["resolved", "information"])
        disposition = {**me, "disposition": code, "follow_up": follow_up,
                       "notes": "Simulated conversation."}  # fmt: skip
        recorded = await routing.post(f"/v1/calls/{call.call_id}/disposition", json=disposition)
        if recorded.is_success:
            books.dispositions += 1
            if follow_up:
                books.follow_ups.append(call.call_id)
        else:  # the books will show an answered call without one: say why
            log.warning(
                "callcenter-simulator: %s: %s's disposition of %s refused: %s %s",
                *(tenant, agent_id, call.call_id, recorded.status_code, recorded.text),
            )
        if self.agent_rng.random() < self.params.hold_share:
            if (await routing.post(f"/v1/calls/{call.call_id}/hold", json=me)).is_success:
                books.held += 1
                await asyncio.sleep(self.scaled(self.agent_rng.uniform(2, 8)))
                await routing.post(f"/v1/calls/{call.call_id}/resume", json=me)
        if call.transferred or self.agent_rng.random() >= self.params.transfer_share:
            return
        other = "sim-billing" if call.queue_id == "sim-support" else "sim-support"
        async with call.lock:
            if call.ended:
                return
            moved = await routing.post(f"/v1/calls/{call.call_id}/transfer",
                                       json={**me, "to_queue_id": other})  # fmt: skip
            if moved.is_success:  # a new visit of the other queue
                books.transferred += 1
                books.queued += 1
                call.queue_id, call.transferred, call.waiting = other, True, True
                call.queued_at = time.monotonic()

    # the campaign: the provider's callees and the agents' conversations --------------

    async def provider_callback(self, body: dict) -> None:
        """What the IVR tells the provider: dial a number, or play an abandoned callee the
        mandatory message (the IVR hangs up after it)."""
        books = self.books.get(body.get("tenant", ""))
        if books is None:
            return
        if body.get("type") == "OutboundCallRequested":
            books.dialed += 1
            self._spawn(self._callee(body["tenant"], body["call_id"]))
        elif body.get("type") == "ContactAbandoned":
            books.outbound_abandoned += 1

    async def _callee(self, tenant: str, call_id: str) -> None:
        ivr, books = self.clients[tenant]["ivr"], self.books[tenant]
        draw = self.callee_rng.random()
        await asyncio.sleep(self.scaled(self.callee_rng.uniform(1, 4)))  # it rings
        answer_rate = self.params.answer_rate
        if draw < answer_rate:
            report = {"status": "in-progress", "answered_by": "human"}
            books.callees_answered += 1
        elif draw < answer_rate + 0.1:
            report = {"status": "in-progress", "answered_by": "machine_start"}
            books.machines += 1
        elif draw < answer_rate + 0.2:
            report = {"status": "busy"}
            books.busy += 1
        else:
            report = {"status": "no-answer"}
            books.not_answered += 1
        try:
            (await ivr.post(f"/v1/calls/{call_id}/outbound-status", json=report)).raise_for_status()
        except httpx.HTTPError as error:
            self._failed(tenant, error)

    async def _campaign_call(self, tenant: str, agent_id: str, call_id: str) -> None:
        """An agent connected to a callee: talks, records the outcome, hangs up."""
        routing, books = self.clients[tenant]["routing"], self.books[tenant]
        self._busy.add(agent_id)
        try:
            await asyncio.sleep(
                self.scaled(self.campaign_rng.expovariate(1 / self.params.aht_seconds))
            )
            sold = self.campaign_rng.random() < self.params.sale_share
            code = (
                "sale" if sold else self.campaign_rng.choice(["not_interested", "call_back_later"])
            )
            disposition = {"agent_id": agent_id, "disposition": code, "notes": "Simulated."}
            if (
                await routing.post(f"/v1/calls/{call_id}/disposition", json=disposition)
            ).is_success:
                books.conversations += 1
                books.sales += sold
            await routing.post(f"/v1/calls/{call_id}/hangup", json={"by": "agent"})
        except httpx.HTTPError as error:
            self._failed(tenant, error)
        finally:
            self._busy.discard(agent_id)

    async def _ticket(self, tenant: str, agent_id: str, call_id: str) -> None:
        workorders = self.clients[tenant]["workorders"]
        body = {"type": "inquiry", "title": f"Follow-up of call {call_id}", "call_id": call_id}
        opened = await workorders.post("/v1/tickets", json=body)
        if opened.status_code != 201:
            self.books[tenant].errors += 1
            return
        self.books[tenant].tickets += 1
        ticket_id = opened.json()["ticket"]["ticket_id"]
        note = {"note": "Answered on the call."}
        await workorders.post(f"/v1/tickets/{ticket_id}/resolve", json=note)

    async def _break(self, tenant: str, agent_id: str) -> None:
        routing = self.clients[tenant]["routing"]
        self._busy.add(agent_id)
        try:
            away = await routing.post(f"/v1/agents/{agent_id}/not-ready", json={"reason": "break"})
            if away.status_code == 200:
                self.books[tenant].breaks += 1
                await asyncio.sleep(self.scaled(self.agent_rng.uniform(60, 300)))
                await routing.post(f"/v1/agents/{agent_id}/ready")
        finally:
            self._busy.discard(agent_id)


async def _answered_within(call: _Call, seconds: float) -> bool:
    try:
        await asyncio.wait_for(call.answered.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _routing_calls_back(routing: httpx.AsyncClient, call_id: str) -> bool:
    """Whether routing holds the caller's callback request (it may take a moment to hear)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = await routing.get(f"/v1/calls/{call_id}")
        if shown.status_code == 404:
            return False
        shown.raise_for_status()
        if shown.json()["callback_number"]:
            return True
        await asyncio.sleep(POLL_SECONDS)
    return False
