"""Graph checks of a flow, beyond its shape: every problem, each with its node."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from callcenter.ivr.domain.flow import (
    AUTOMATIC_TYPES,
    EXIT_TYPES,
    CallbackNode,
    EnqueueNode,
    Flow,
    transitions,
)


@dataclass(frozen=True)
class FlowProblem:
    node: str | None
    field: str
    problem: str


def check_flow(flow: Flow, known_queues: Collection[str] | None) -> list[FlowProblem]:
    """Every problem of the graph; ``known_queues=None`` skips the queue check."""
    problems: list[FlowProblem] = []
    if flow.start not in flow.nodes:
        problems.append(FlowProblem(None, "start", f"start node {flow.start!r} does not exist"))
    for node_id, node in flow.nodes.items():
        for label, target in transitions(node):
            if target not in flow.nodes:
                problem = f"transition to {target!r}, which does not exist"
                problems.append(FlowProblem(node_id, label, problem))
        if known_queues is not None and isinstance(node, EnqueueNode | CallbackNode):
            if node.queue not in known_queues:
                problem = f"unknown queue {node.queue!r} (routing has no such queue)"
                problems.append(FlowProblem(node_id, "queue", problem))
    if problems:
        return problems  # the graph is not whole: the checks below would mislead

    reachable = _reachable(flow, flow.start)
    for node_id in flow.nodes:
        if node_id not in reachable:
            problems.append(FlowProblem(node_id, "", "unreachable from the start node"))
    can_exit = _can_reach_exit(flow)
    for node_id in sorted(reachable - can_exit):
        problems.append(
            FlowProblem(node_id, "", "loop without exit: no path from here ends the call")
        )
    for node_id in _automatic_cycles(flow, reachable):
        problems.append(
            FlowProblem(
                node_id,
                "",
                "loop without input: these nodes would repeat forever without the caller",
            )
        )
    return problems


def _successors(flow: Flow, node_id: str) -> list[str]:
    return [target for _, target in transitions(flow.nodes[node_id])]


def _reachable(flow: Flow, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in _successors(flow, todo.pop()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _can_reach_exit(flow: Flow) -> set[str]:
    """Nodes with a path to a node that ends the call (backwards search from the exits)."""
    predecessors: dict[str, set[str]] = {node_id: set() for node_id in flow.nodes}
    for node_id in flow.nodes:
        for target in _successors(flow, node_id):
            predecessors[target].add(node_id)
    exits = {node_id for node_id, node in flow.nodes.items() if node.type in EXIT_TYPES}
    seen, todo = set(exits), list(exits)
    while todo:
        for source in predecessors[todo.pop()]:
            if source not in seen:
                seen.add(source)
                todo.append(source)
    return seen


def _automatic_cycles(flow: Flow, reachable: set[str]) -> list[str]:
    """Nodes on a cycle made only of nodes that never wait for the caller."""
    automatic = {
        node_id
        for node_id in reachable
        # a data dip waits on the network, not the caller: it cannot break a loop
        if flow.nodes[node_id].type in AUTOMATIC_TYPES | {"http"}
    }
    on_cycle: set[str] = set()
    for node_id in automatic:
        todo = [t for t in _successors(flow, node_id) if t in automatic]
        seen: set[str] = set()
        while todo:
            current = todo.pop()
            if current == node_id:
                on_cycle.add(node_id)
                break
            if current not in seen:
                seen.add(current)
                todo.extend(t for t in _successors(flow, current) if t in automatic)
    return sorted(on_cycle)
