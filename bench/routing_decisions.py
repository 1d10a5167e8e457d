"""Measure the ACD core: decision latency at scale, replay throughput, simulation speed.

    .venv/bin/python bench/routing_decisions.py [--quick]

Decision latency: a contact center of N agents (500, then 5,000) holding 5 of
200 skills each at random levels, 200 queues asking one skill each, every
agent on a call and 2,000 callers waiting. Then, over and over: a call ends
(wrap-up starts), the agent finishes wrap-up (the ACD picks the best waiting
caller it may take, across its queues), the agent answers, a new caller
arrives. Each ``decide`` is timed. Replay: the events of that run applied to
a fresh state. Simulation: 100,000 calls through ``callcenter-routing simulate``.
Rewrites the "Routing" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.state import RoutingState, evolve
from callcenter.routing.simulate import Arrival, Simulation

sys.path.insert(0, str(Path(__file__).parent))
from event_backbone import machine, replace_section

SKILLS = [f"s{n}" for n in range(200)]
WAITING = 2_000


class Center:
    def __init__(self, agents: int, seed: int = 1) -> None:
        self.random = random.Random(seed)
        self.state = RoutingState()
        self.now = datetime(2026, 1, 5, 9, tzinfo=UTC)
        self.log: list = []
        self.calls = 0
        for skill in SKILLS:
            level = self.random.randint(1, 3)
            self.do(cmd.ConfigureQueue(f"q-{skill}", QueueConfig(skills={skill: level})))
        for n in range(agents):
            skills = {s: self.random.randint(3, 10) for s in self.random.sample(SKILLS, 5)}
            self.do(cmd.ConfigureAgent(f"a{n}", AgentConfig(skills=skills)))
            self.do(cmd.LogIn(f"a{n}"))
            self.do(cmd.MakeReady(f"a{n}"))
        self.agent_skills = {a.id: list(a.config.skills) for a in self.state.agents.values()}
        # Every agent gets a call, then 2,000 more callers wait.
        for skills in self.agent_skills.values():
            self.new_call(skills[0])
        for call in list(self.state.calls.values()):
            for agent_id in list(call.offers):
                self.do(cmd.AnswerCall(call.id, agent_id))
        while len(self.waiting()) < WAITING:
            self.new_call(self.random.choice(SKILLS))

    def waiting(self) -> list:
        return [c for c in self.state.calls.values() if c.status == "waiting"]

    def do(self, command: cmd.Command) -> float:
        started = time.perf_counter()
        events = decide(command, self.state, self.now)
        elapsed = time.perf_counter() - started
        self.log += events
        return elapsed

    def new_call(self, skill: str) -> float:
        self.calls += 1
        return self.do(
            cmd.EnqueueCall(f"c{self.calls}", f"q-{skill}", priority=self.random.randint(0, 2))
        )

    def cycle(self) -> list[float]:
        """An agent's call ends, wrap-up is done (a waiting caller is offered), the agent
        answers; a new caller arrives."""
        self.now += timedelta(milliseconds=100)
        connected = [c for c in self.state.calls.values() if c.status == "connected"]
        call = self.random.choice(connected)
        agent_id = call.agent_id
        timings = [self.do(cmd.HangUp(call.id, by="agent")), self.do(cmd.FinishWrapUp(agent_id))]
        agent = self.state.agents[agent_id]
        if agent.status == "offered":
            timings.append(self.do(cmd.AnswerCall(agent.call_id, agent_id)))
        timings.append(self.new_call(self.random.choice(SKILLS)))
        return timings


def decision_latency(agents: int, cycles: int) -> tuple[float, float, int, Center]:
    center = Center(agents)
    center.setup_events = len(center.log)
    timings: list[float] = []
    for _ in range(cycles):
        timings += center.cycle()
    timings.sort()
    micro = [t * 1e6 for t in timings]
    return statistics.median(micro), micro[int(len(micro) * 0.99) - 1], len(micro), center


def replay_rate(log: list, untimed: int = 0, runs: int = 5) -> float:
    """Events per second applied to a fresh state, after ``untimed`` first ones
    (the median of ``runs`` replays)."""
    rates = []
    for _ in range(runs):
        state = RoutingState()
        for event in log[:untimed]:
            evolve(state, event)
        started = time.perf_counter()
        for event in log[untimed:]:
            evolve(state, event)
        rates.append((len(log) - untimed) / (time.perf_counter() - started))
    return statistics.median(rates)


def simulation_time(calls: int) -> tuple[float, Simulation]:
    rng = random.Random(3)
    config = {
        "queues": [{"id": "q1", "skills": {"general": 1}, "service_level_seconds": 20}],
        "agents": [{"id": f"a{n}", "skills": {"general": 5}} for n in range(60)],
    }
    arrivals, at = [], 0.0
    for n in range(calls):
        at += rng.expovariate(1 / 3.2)
        arrivals.append(Arrival(f"c{n}", at, "q1", rng.randint(0, 2), rng.uniform(30, 300),
                                rng.uniform(60, 240), 10))  # fmt: skip
    simulation = Simulation(config, arrivals)
    started = time.perf_counter()
    simulation.run()
    return time.perf_counter() - started, simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cycles = 300 if args.quick else 2_000
    rows = []
    for agents in (500, 5_000):
        p50, p99, count, center = decision_latency(agents, cycles)
        rows.append((f"decide, {agents:,} agents, 200 skills, {WAITING:,} waiting",
                     f"p50 {p50:.0f} us, p99 {p99:.0f} us ({count:,} decisions)"))  # fmt: skip
    rate = replay_rate(center.log)
    rows.append((f"replay (evolve), all {len(center.log):,} events", f"{rate:,.0f} events/s"))
    traffic = replay_rate(center.log, center.setup_events)
    calls_only = len(center.log) - center.setup_events
    rows.append((f"replay (evolve), the {calls_only:,} call-traffic events after setup",
                 f"{traffic:,.0f} events/s"))  # fmt: skip
    calls = 10_000 if args.quick else 100_000
    seconds, simulation = simulation_time(calls)
    rows.append((f"simulate {calls:,} calls, 60 agents",
                 f"{seconds:.1f} s ({simulation.events:,} events)"))  # fmt: skip
    summary = simulation.summary()
    rows.append(("EWT told on joining vs. actual wait, answered calls of that run",
                 f"mean abs. error {summary['ewt_mean_abs_error_s']} s; mean EWT "
                 f"{summary['ewt_mean_s']} s vs. ASA {summary['asa_s']} s"))  # fmt: skip
    table = "\n".join(f"| {what} | {result} |" for what, result in rows)
    section = f"""## Routing

What: the ACD core (`callcenter.routing.domain`), without I/O. How:
`bench/routing_decisions.py{" --quick" if args.quick else ""}` (see its docstring for the scenario).
Machine: {machine()}. {time.strftime("%Y-%m-%d")}.

| what | result |
|---|---|
{table}
"""
    replace_section("## Routing", section)
    print(section)


if __name__ == "__main__":
    main()
