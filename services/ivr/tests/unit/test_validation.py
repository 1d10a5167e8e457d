"""A flow is checked as a graph: every problem is reported with its node."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callcenter.ivr.demo import demo_flow
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.domain.validation import check_flow


def problems(document: dict, queues=("sales", "general")) -> set[tuple[str | None, str]]:
    found = check_flow(Flow.model_validate(document), set(queues))
    return {(problem.node, problem.problem.split(":")[0].split(",")[0]) for problem in found}


def test_the_demo_flow_and_the_test_flow_are_valid(menu_flow):
    assert problems(menu_flow()) == set()
    assert check_flow(demo_flow(), {"billing", "support", "complaints", "general"}) == []


def test_dangling_transitions_and_unknown_queues_are_all_listed(menu_flow):
    flow = menu_flow()
    flow["nodes"]["menu"]["choices"]["3"] = "nowhere"
    flow["nodes"]["sales"]["queue"] = "ghosts"
    found = check_flow(Flow.model_validate(flow), {"sales"})
    assert {(p.node, p.field) for p in found} == {("menu", "choices.3.next"), ("sales", "queue")}
    assert "nowhere" in found[0].problem


def test_unreachable_nodes(menu_flow):
    flow = menu_flow()
    flow["nodes"]["orphan"] = {"type": "hangup"}
    assert problems(flow) == {("orphan", "unreachable from the start node")}


def test_loops_without_exit_and_without_input():
    flow = {
        "start": "a",
        "nodes": {
            "a": {"type": "say", "next": "b"},
            "b": {"type": "set", "variables": {"x": "1"}, "next": "a"},
        },
    }
    assert problems(flow) == {
        ("a", "loop without exit"),
        ("b", "loop without exit"),
        ("a", "loop without input"),
        ("b", "loop without input"),
    }


def test_a_menu_that_can_return_to_itself_is_fine_when_it_can_also_exit(menu_flow):
    flow = menu_flow()
    flow["nodes"]["menu"]["choices"]["9"] = "welcome"
    assert problems(flow) == set()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "teleport"}, "nodes.menu"),
        ({"choices": {}}, "nodes.menu.menu.choices"),
        ({"max_attempts": 0}, "nodes.menu.menu.max_attempts"),
    ],
)
def test_shape_errors_name_the_node_and_field(menu_flow, change, field):
    flow = menu_flow()
    flow["nodes"]["menu"] |= change
    with pytest.raises(ValidationError) as error:
        Flow.model_validate(flow)
    locations = [".".join(map(str, item["loc"])) for item in error.value.errors()]
    assert any(location.startswith(field) for location in locations), locations


def test_bad_regex_time_zone_and_interval_are_refused():
    base = {"start": "h", "nodes": {"h": {"type": "hangup"}}}
    for node in (
        {"type": "collect", "variable": "v", "pattern": "[", "on_failure": "h", "next": "h"},
        {"type": "hours", "timezone": "Mars/Olympus", "open": "h", "closed": "h"},
        {
            "type": "hours",
            "timezone": "UTC",
            "weekly": {"mon": [{"start": "18:00", "end": "09:00"}]},
            "open": "h",
            "closed": "h",
        },
    ):
        with pytest.raises(ValidationError):
            Flow.model_validate({**base, "nodes": {**base["nodes"], "x": node}})
