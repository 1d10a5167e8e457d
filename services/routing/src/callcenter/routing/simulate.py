"""``callcenter-routing simulate``: replay a day of calls against a configuration.

The same decider as the live service runs at virtual time: callers arrive
(ARRIVALS.csv), wait, abandon when their patience runs out, are answered the
moment an agent is offered them, talk for their handle time and leave the
agent in wrap-up for their wrap time (or the queue's, whichever ends first).
Agents are logged in and ready at time 0, unless their entry has a
``schedule``: a list of ``[start_s, end_s]`` shifts.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from pydantic import ValidationError

from callcenter.events.catalogue import routing as ev
from callcenter.events.codec import to_json_line
from callcenter.events.envelope import new_envelope
from callcenter.routing.acd import SOURCE, stream_of
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.errors import RoutingError
from callcenter.routing.domain.state import RoutingState

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday at midnight: second 0 of the run
RESULT_FIELDS = ["call_id", "queue_id", "arrival_s", "answered_s", "abandoned_s", "agent_id",
                 "wait_s"]  # fmt: skip


class SimulationInputError(ValueError):
    """The configuration or the arrivals cannot be simulated; the message says where."""


@dataclass(frozen=True)
class Arrival:
    call_id: str
    arrival_s: float
    queue_id: str
    priority: int
    patience_s: float
    handle_s: float
    wrap_s: float


@dataclass
class Outcome:
    call_id: str
    queue_id: str
    arrival_s: float
    answered_s: float | None = None
    abandoned_s: float | None = None
    agent_id: str | None = None
    ewt_s: float | None = None  # what the caller was told on joining the queue

    @property
    def wait_s(self) -> float | None:
        end = self.answered_s if self.answered_s is not None else self.abandoned_s
        return None if end is None else end - self.arrival_s


@dataclass
class AgentClock:
    """What the simulation measures of an agent: time logged in, time working."""

    logged_in_s: float = 0.0
    busy_s: float = 0.0
    since: float | None = None
    busy_since: float | None = None


class _Action(NamedTuple):
    at: float
    seq: int  # unique: kind and subject are never compared
    kind: str
    subject: str


def load_config(document: Any) -> tuple[list[cmd.Command], dict[str, list[list[float]]]]:
    if not isinstance(document, dict):
        raise SimulationInputError("the configuration must be a JSON object")
    unknown = sorted(set(document) - {"queues", "agents"})
    if unknown:
        raise SimulationInputError(f"unknown configuration keys: {', '.join(unknown)}")
    commands: list[cmd.Command] = []
    schedules: dict[str, list[list[float]]] = {}
    for kind, model in (("queues", QueueConfig), ("agents", AgentConfig)):
        for index, entry in enumerate(document.get(kind, [])):
            where = f"{kind}[{index}]"
            if not isinstance(entry, dict) or not entry.get("id"):
                raise SimulationInputError(f"{where}: needs an 'id'")
            body = {k: v for k, v in entry.items() if k not in ("id", "schedule")}
            try:
                config = model.model_validate(body)
            except ValidationError as error:
                first = error.errors()[0]
                field_path = ".".join(str(part) for part in first["loc"])
                raise SimulationInputError(f"{where}.{field_path}: {first['msg']}") from None
            if kind == "queues":
                commands.append(cmd.ConfigureQueue(entry["id"], config))
            else:
                commands.append(cmd.ConfigureAgent(entry["id"], config))
                schedules[entry["id"]] = _schedule(where, entry.get("schedule"))
    if not any(isinstance(c, cmd.ConfigureQueue) for c in commands):
        raise SimulationInputError("the configuration has no queue")
    return commands, schedules


def _schedule(where: str, raw: Any) -> list[list[float]]:
    if raw is None:
        return [[0.0, float("inf")]]
    try:
        shifts = [[float(start), float(end)] for start, end in raw]
    except (TypeError, ValueError):
        raise SimulationInputError(f"{where}.schedule: a list of [start_s, end_s] pairs") from None
    if any(start >= end or start < 0 for start, end in shifts):
        raise SimulationInputError(
            f"{where}.schedule: each shift must start at >= 0 and before it ends"
        )
    return sorted(shifts)


def read_arrivals(lines: TextIO) -> list[Arrival]:
    reader = csv.DictReader(lines)
    needed = ["call_id", "arrival_s", "queue_id", "priority", "patience_s", "handle_s", "wrap_s"]
    missing = [name for name in needed if name not in (reader.fieldnames or [])]
    if missing:
        raise SimulationInputError(f"ARRIVALS lacks column(s): {', '.join(missing)}")
    arrivals = []
    for line, row in enumerate(reader, start=2):
        try:
            arrivals.append(
                Arrival(
                    call_id=row["call_id"],
                    arrival_s=float(row["arrival_s"]),
                    queue_id=row["queue_id"],
                    priority=int(row["priority"] or 0),
                    patience_s=float(row["patience_s"]),
                    handle_s=float(row["handle_s"]),
                    wrap_s=float(row["wrap_s"] or 0),
                )
            )
        except (TypeError, ValueError) as error:
            raise SimulationInputError(f"ARRIVALS line {line}: {error}") from None
    return sorted(arrivals, key=lambda a: (a.arrival_s, a.call_id))


class Simulation:
    def __init__(self, config: Any, arrivals: list[Arrival]) -> None:
        self.commands, self.schedules = load_config(config)
        self.arrivals = arrivals
        self.state = RoutingState()
        self.outcomes: dict[str, Outcome] = {}
        self.agents: dict[str, AgentClock] = {agent: AgentClock() for agent in self.schedules}
        self.by_call = {arrival.call_id: arrival for arrival in arrivals}
        self._actions: list[_Action] = []
        self._seq = 0
        self.now_s = 0.0
        self.events = 0
        self.log: list[ev.RoutingEvent] | None = None  # every event, when exporting them

    def at(self, seconds: float) -> datetime:
        return EPOCH + timedelta(seconds=seconds)

    def _later(self, at: float, kind: str, subject: str) -> None:
        self._seq += 1
        heapq.heappush(self._actions, _Action(at, self._seq, kind, subject))

    def _do(self, command: cmd.Command) -> list[ev.RoutingEvent]:
        try:
            events = decide(command, self.state, self.at(self.now_s))
        except RoutingError:
            return []  # e.g. a caller hanging up just as an agent answered
        self.events += len(events)
        if self.log is not None:
            self.log.extend(events)
        for event in events:
            self._observe(event)
        return events

    def _observe(self, event: ev.RoutingEvent) -> None:
        if isinstance(event, ev.CallQueued):
            self.outcomes[event.call_id].ewt_s = event.ewt
        elif isinstance(event, ev.CallOffered):
            self._later(self.now_s, "answer", f"{event.call_id}|{event.agent_id}")
        elif isinstance(event, ev.CallAnswered):
            outcome = self.outcomes[event.call_id]
            outcome.answered_s, outcome.agent_id = self.now_s, event.agent_id
            self._later(self.now_s + self.by_call[event.call_id].handle_s, "hangup", event.call_id)
            clock = self.agents[event.agent_id]
            clock.busy_since = self.now_s
        elif isinstance(event, ev.CallAbandoned | ev.CallExitedQueue):
            if event.call_id in self.outcomes:
                self.outcomes[event.call_id].abandoned_s = self.now_s
        elif isinstance(event, ev.AgentWrapUpStarted):
            wrap = self.by_call[event.call_id].wrap_s if event.call_id in self.by_call else 0.0
            self._later(self.now_s + wrap, "wrap_done", event.agent_id)
        elif isinstance(event, ev.AgentWrapUpEnded | ev.AgentLoggedOut):
            clock = self.agents[event.agent_id]
            if clock.busy_since is not None:
                clock.busy_s += self.now_s - clock.busy_since
                clock.busy_since = None

    def run(self) -> None:
        for command in self.commands:
            self._do(command)
        for agent_id, shifts in self.schedules.items():
            for start, end in shifts:
                self._later(start, "login", agent_id)
                if end != float("inf"):
                    self._later(end, "logout", agent_id)
        for arrival in self.arrivals:
            self._later(arrival.arrival_s, "arrive", arrival.call_id)
        while self._actions or self.state.deadlines:
            next_action = self._actions[0].at if self._actions else float("inf")
            deadline = self.state.next_deadline()
            next_deadline = (deadline - EPOCH).total_seconds() if deadline else float("inf")
            if next_deadline < next_action:
                self.now_s = max(self.now_s, next_deadline)
                self._do(cmd.Tick())
                continue
            action = heapq.heappop(self._actions)
            self.now_s = max(self.now_s, action.at)
            self._act(action)
        self._close_clocks()

    def _act(self, action: _Action) -> None:
        kind, subject = action.kind, action.subject
        if kind == "arrive":
            arrival = self.by_call[subject]
            self.outcomes[subject] = Outcome(subject, arrival.queue_id, arrival.arrival_s)
            self._do(cmd.EnqueueCall(subject, arrival.queue_id, priority=arrival.priority))
            self._later(arrival.arrival_s + arrival.patience_s, "patience", subject)
        elif kind == "patience":
            call = self.state.calls.get(subject)
            if call is not None and call.status != "connected":
                self._do(cmd.HangUp(subject, by="caller"))
        elif kind == "answer":
            call_id, agent_id = subject.split("|")
            self._do(cmd.AnswerCall(call_id, agent_id))
        elif kind == "hangup":
            self._do(cmd.HangUp(subject, by="agent"))
        elif kind == "wrap_done":
            if self.state.agents[subject].status == "wrap_up":
                self._do(cmd.FinishWrapUp(subject))
        elif kind == "login":
            self._do(cmd.LogIn(subject))
            self._do(cmd.MakeReady(subject))
            self.agents[subject].since = self.now_s
        elif kind == "logout":
            if self.state.agents[subject].status in ("on_call", "offered"):
                self._later(self.now_s + 1, "logout", subject)  # after the call in hand
                return
            self._do(cmd.LogOut(subject))
            self._stop_login_clock(subject)

    def _stop_login_clock(self, agent_id: str) -> None:
        clock = self.agents[agent_id]
        if clock.since is not None:
            clock.logged_in_s += self.now_s - clock.since
            clock.since = None

    def _close_clocks(self) -> None:
        for agent_id in self.agents:
            self._stop_login_clock(agent_id)

    def results(self) -> Iterator[dict[str, Any]]:
        for outcome in sorted(self.outcomes.values(), key=lambda o: (o.arrival_s, o.call_id)):
            yield {
                "call_id": outcome.call_id,
                "queue_id": outcome.queue_id,
                "arrival_s": _number(outcome.arrival_s),
                "answered_s": _number(outcome.answered_s),
                "abandoned_s": _number(outcome.abandoned_s),
                "agent_id": outcome.agent_id or "",
                "wait_s": _number(outcome.wait_s),
            }

    def summary(self) -> dict[str, Any]:
        outcomes = list(self.outcomes.values())
        answered = [o for o in outcomes if o.answered_s is not None]
        abandoned = [o for o in outcomes if o.abandoned_s is not None]
        thresholds = {q.id: q.config.service_level_seconds for q in self.state.queues.values()}
        in_time = sum(1 for o in answered if o.wait_s <= thresholds.get(o.queue_id, 20))
        handled = len(answered) + len(abandoned)
        told = [o for o in answered if o.ewt_s is not None]
        return {
            "offered": len(outcomes),
            "answered": len(answered),
            "abandoned": len(abandoned),
            "service_level": round(in_time / handled, 4) if handled else None,
            "asa_s": round(sum(o.wait_s for o in answered) / len(answered), 2)
            if answered
            else None,
            # Estimated wait told on joining vs. the wait that followed (answered calls).
            "ewt_mean_abs_error_s": (
                round(sum(abs(o.ewt_s - o.wait_s) for o in told) / len(told), 2) if told else None
            ),
            "ewt_mean_s": round(sum(o.ewt_s for o in told) / len(told), 2) if told else None,
            "occupancy": {
                agent_id: round(clock.busy_s / clock.logged_in_s, 4) if clock.logged_in_s else None
                for agent_id, clock in sorted(self.agents.items())
            },
            "events": self.events,
        }


def write_events(path: Path, tenant: str, events: list[ev.RoutingEvent]) -> None:
    """The run's events as the live ACD would have stored them, one JSON line each."""
    with path.open("w") as out:
        for version, event in enumerate(events, start=1):
            call_id = getattr(event, "call_id", None)
            envelope = new_envelope(
                event,
                source=SOURCE,
                tenant=tenant,
                stream_id=stream_of(tenant),
                stream_version=version,
                correlation_id=call_id or f"simulation:{tenant}",
                subject=call_id or getattr(event, "agent_id", None),
                time=event.at,
            )
            out.write(to_json_line(envelope) + "\n")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="callcenter-routing simulate",
        description="Replay arrivals against a routing configuration at virtual time.",
    )
    parser.add_argument("--config", type=Path, help="CONFIG.json")
    parser.add_argument("--arrivals", type=Path, help="ARRIVALS.csv")
    parser.add_argument("--out", type=Path, help="RESULTS.csv to write")
    parser.add_argument(
        "--events", type=Path, help="also write every event as CloudEvents JSON lines"
    )
    parser.add_argument("--tenant", default="simulated", help="the tenant of exported events")
    predictive = parser.add_argument_group(
        "predictive campaign what-if (instead of --config, --arrivals, --out)"
    )
    predictive.add_argument("--predictive", action="store_true",
                            help="simulate a predictive campaign; print abandon rate and "
                                 "utilization")  # fmt: skip
    defaults = CampaignScenario()
    for name, kind, text in (
        ("agents", int, "agents working the campaign"),
        ("contacts", int, "contacts in the list"),
        ("answer_rate", float, "share of dials a person answers"),
        ("busy_rate", float, "share of dials that are busy"),
        ("talk", float, "mean conversation, seconds"),
        ("wrap", float, "wrap-up, seconds"),
        ("hours", float, "hours of dialing"),
        ("seed", int, "random seed"),
        ("cap", float, "abandoned-outbound cap (e.g. 0.03)"),
        ("max_ratio", float, "most calls per available agent"),
    ):
        field_name = {"talk": "talk_s", "wrap": "wrap_s", "cap": "abandon_cap"}.get(name, name)
        predictive.add_argument(f"--{name.replace('_', '-')}", dest=field_name, type=kind,
                                default=getattr(defaults, field_name), help=text)  # fmt: skip
    args = parser.parse_args(argv)
    if args.predictive:
        scenario = CampaignScenario(
            **{name: getattr(args, name) for name in CampaignScenario.__dataclass_fields__}
        )
        simulation_of_campaign = PredictiveSimulation(scenario)
        simulation_of_campaign.run()
        print(json.dumps(simulation_of_campaign.summary(), indent=2))
        return
    missing = [f"--{name}" for name in ("config", "arrivals", "out") if not getattr(args, name)]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    try:
        config = json.loads(args.config.read_text())
        with args.arrivals.open(newline="") as lines:
            arrivals = read_arrivals(lines)
        simulation = Simulation(config, arrivals)
        simulation.log = [] if args.events else None
        unknown = sorted({a.queue_id for a in arrivals} - set(simulation.state.queues) - {
            c.queue_id for c in simulation.commands if isinstance(c, cmd.ConfigureQueue)
        })  # fmt: skip
        if unknown:
            raise SimulationInputError(f"ARRIVALS names unknown queue(s): {', '.join(unknown)}")
        simulation.run()
    except (OSError, json.JSONDecodeError, SimulationInputError) as error:
        print(f"callcenter-routing simulate: {error}", file=sys.stderr)
        sys.exit(2)
    with args.out.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=RESULT_FIELDS)
        writer.writeheader()
        writer.writerows(simulation.results())
    if args.events:
        write_events(args.events, args.tenant, simulation.log or [])
    print(json.dumps(simulation.summary(), indent=2))


# -- a predictive campaign, what-if ------------------------------------------------------


@dataclass(frozen=True)
class CampaignScenario:
    """Agents working a predictive campaign against simulated callees."""

    agents: int = 20
    contacts: int = 4000
    answer_rate: float = 0.35  # share of dials a person answers
    busy_rate: float = 0.1  # share of dials that are busy
    talk_s: float = 120.0  # mean conversation (exponential, at least 15 s)
    wrap_s: float = 10.0
    hours: float = 4.0
    seed: int = 1
    abandon_cap: float = 0.03
    max_ratio: float = 3.0


class PredictiveSimulation:
    """The same decider at virtual time: the dialer paces, simulated callees answer
    (or not) after 5-25 s of ringing, agents talk and wrap up. Measures the
    abandoned-outbound rate against its cap and the agents' utilization."""

    START_S = 9 * 3600.0  # Monday 09:00 UTC

    def __init__(self, scenario: CampaignScenario) -> None:
        import random

        self.scenario = scenario
        self.random = random.Random(scenario.seed)
        self.state = RoutingState()
        self._actions: list[_Action] = []
        self._seq = 0
        self.now_s = self.START_S
        self.events = 0

    def at(self, seconds: float) -> datetime:
        return EPOCH + timedelta(seconds=seconds)

    def _later(self, at: float, kind: str, subject: str) -> None:
        self._seq += 1
        heapq.heappush(self._actions, _Action(at, self._seq, kind, subject))

    def _do(self, command: cmd.Command) -> None:
        try:
            events = decide(command, self.state, self.at(self.now_s))
        except RoutingError:
            return  # e.g. a hang-up racing the end of the run
        self.events += len(events)
        for event in events:
            self._observe(event)

    def _observe(self, event: ev.RoutingEvent) -> None:
        s = self.scenario
        if isinstance(event, ev.OutboundCallRequested):
            draw = self.random.random()
            if draw < s.answer_rate:
                self._later(self.now_s + self.random.uniform(5, 25), "answered", event.call_id)
            elif draw < s.answer_rate + s.busy_rate:
                self._later(self.now_s + self.random.uniform(2, 6), "busy", event.call_id)
            else:
                self._later(self.now_s + event.timeout, "no_answer", event.call_id)
        elif isinstance(event, ev.ContactAnswered):
            talk = max(15.0, self.random.expovariate(1.0 / s.talk_s))
            self._later(self.now_s + talk, "hangup", event.call_id)

    def run(self) -> None:
        from callcenter.routing.domain.campaigns import CampaignConfig, parse_contacts

        s = self.scenario
        self._do(cmd.ConfigureQueue("outbound", QueueConfig(wrap_up_seconds=s.wrap_s)))
        for n in range(s.agents):
            agent_id = f"a{n:03d}"
            self._do(cmd.ConfigureAgent(agent_id, AgentConfig()))
            self._do(cmd.LogIn(agent_id))
            self._do(cmd.MakeReady(agent_id))
        config = CampaignConfig(
            queue_id="outbound",
            mode="predictive",
            windows=[{"start": "08:00", "end": "21:00"}],
            max_attempts=3,
            retry_delay_seconds={"no_answer": 3600, "busy": 900, "machine": 7200,
                                 "failed": 1800, "abandoned": 3600},
            pacing={"max_ratio": s.max_ratio, "abandon_cap": s.abandon_cap},
        )  # fmt: skip
        self._do(cmd.ConfigureCampaign("what-if", config))
        rows = [{"contact_id": f"k{n}", "number": f"+336{10000000 + n}"} for n in range(s.contacts)]
        contacts, _ = parse_contacts(rows, set())
        self._do(cmd.AddContacts("what-if", contacts))
        consent = {"calls": True, "marketing": True}
        screened = [{"contact_id": c["contact_id"], "consent": consent} for c in contacts]
        self._do(cmd.ApplyScreening("what-if", screened))
        self._do(cmd.StartCampaign("what-if"))
        end_s = self.START_S + s.hours * 3600
        next_tick = self.now_s + 5
        while self.now_s < end_s:
            next_action = self._actions[0].at if self._actions else float("inf")
            deadline = self.state.next_deadline()
            next_deadline = (deadline - EPOCH).total_seconds() if deadline else float("inf")
            step = min(next_action, next_deadline, next_tick)
            if step >= end_s:
                break
            self.now_s = max(self.now_s, step)
            if step == next_tick:
                next_tick += 5  # the live timer loop's campaign tick
                self._do(cmd.Tick())
            elif next_deadline <= next_action:
                self._do(cmd.Tick())
            else:
                action = heapq.heappop(self._actions)
                if action.kind == "hangup":
                    self._do(cmd.HangUp(action.subject, by="caller"))
                else:
                    self._do(cmd.ReportOutbound(action.subject, action.kind))
        self.now_s = end_s

    def summary(self) -> dict[str, Any]:
        campaign = self.state.campaigns["what-if"]
        now = self.at(self.now_s)
        busy = total = 0.0
        for agent in self.state.agents.values():
            seconds = agent.seconds_today(now)
            busy += seconds.get("on_call", 0.0) + seconds.get("wrap_up", 0.0)
            total += sum(seconds.values())
        answered = campaign.reached + campaign.abandoned
        return {
            "mode": "predictive",
            "agents": self.scenario.agents,
            "hours": self.scenario.hours,
            "attempted": campaign.attempted,
            "answered": answered,
            "reached": campaign.reached,
            "abandoned": campaign.abandoned,
            "abandon_rate": round(campaign.abandoned / answered, 4) if answered else 0.0,
            "abandon_cap": self.scenario.abandon_cap,
            "utilization": round(busy / total, 4) if total else None,
            "answer_rate_measured": round(campaign.answer_rate, 4),
            "remaining": campaign.progress(now)["remaining"],
            "events": self.events,
        }
