"""Who may take which call: skills and levels, groups, and what overflow adds.

Pure functions of configuration (and a call's own needs), shared by ``evolve``
(which keeps indexes of them) and ``decide``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from callcenter.routing.domain.config import AgentConfig, QueueConfig

if TYPE_CHECKING:
    from callcenter.routing.domain.state import Call


def base_pool_holds(queue: QueueConfig, agent: AgentConfig, lower_by: int = 0) -> bool:
    if queue.agent_groups and not set(queue.agent_groups) & set(agent.groups):
        return False
    return all(
        agent.skills.get(skill, 0) >= max(1, level - lower_by)
        for skill, level in queue.skills.items()
    )


def lowered_by(config: QueueConfig, step: int) -> int:
    return sum(s.lower_levels_by for s in config.overflow[: step + 1])


def added_groups(config: QueueConfig, step: int) -> set[str]:
    return {group for s in config.overflow[: step + 1] for group in s.add_groups}


def added_queues(config: QueueConfig, step: int) -> list[str]:
    return [queue for s in config.overflow[: step + 1] for queue in s.add_queues]


def requirements(config: QueueConfig, call: Call) -> dict[str, int]:
    """The queue's skills and the call's own (the higher level wins), lowered by overflow."""
    lower = lowered_by(config, call.step)
    merged = dict(config.skills)
    for skill, level in call.skills.items():
        merged[skill] = max(level, merged.get(skill, 0))
    return {skill: max(1, level - lower) for skill, level in merged.items()}


def eligible_by_skills(config: QueueConfig, call: Call, agent: AgentConfig) -> bool:
    if config.agent_groups:
        groups = set(config.agent_groups) | added_groups(config, call.step)
        if not groups & set(agent.groups):
            return False
    skills = agent.skills
    return all(skills.get(skill, 0) >= level for skill, level in requirements(config, call).items())


def could_serve(config: QueueConfig, agent: AgentConfig, queues: Mapping[str, QueueConfig]) -> bool:
    """A bound: can this agent take any call of this queue, at any overflow step?

    (A call's own skills only ever ask more, so they cannot widen it.) ``queues``
    maps queue ids to objects with a ``config``, for the queues overflow adds.
    """
    deepest = len(config.overflow) - 1
    lower = lowered_by(config, deepest)
    skills = agent.skills
    if all(skills.get(skill, 0) >= max(1, level - lower) for skill, level in config.skills.items()):
        groups = set(config.agent_groups) | added_groups(config, deepest)
        if not config.agent_groups or groups & set(agent.groups):
            return True
    return any(
        extra in queues and base_pool_holds(queues[extra].config, agent)
        for extra in added_queues(config, deepest)
    )
