"""Queue and agent configuration: what supervisors set (the bodies of PUT /v1/queues|agents)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callcenter.events.kit.types import TimeZoneName

Level = Annotated[int, Field(ge=1, le=10)]
SkillName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["08:00"])]
Identifier = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]

Strategy = Literal[
    "longest_idle",
    "round_robin",
    "fewest_calls",
    "least_talk_time",
    "ring_all",
    "linear",
    "random",
    "best_skill",
]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BusinessHours(_Config):
    """Opening hours in the tenant's time zone: 7x24, 7x8 (every day) or 5x8 (Mon-Fri)."""

    pattern: Literal["7x24", "7x8", "5x8"] = "7x24"
    # Local wall-clock times, "HH:MM" (a JSON Schema "time" would demand an offset).
    opens: ClockTime = "08:00"
    closes: ClockTime = "16:00"
    timezone: TimeZoneName = "UTC"
    holidays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHours:
        if self.pattern != "7x24" and self.opens >= self.closes:  # "HH:MM" sorts as time
            raise ValueError("opens must be before closes")
        return self


class OverflowStep(_Config):
    """A step widening the pool of agents eligible for a waiting call.

    It applies once any of its conditions holds (the call's wait, the queue's
    length, or no eligible agent ready); steps apply in order and never undo.
    """

    after_seconds: float | None = Field(default=None, ge=0)
    when_queue_length_at_least: int | None = Field(default=None, ge=1)
    when_no_agent_ready: bool = False
    lower_levels_by: int = Field(default=0, ge=0, le=9)
    add_groups: list[Identifier] = Field(default_factory=list)
    add_queues: list[Identifier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_condition(self) -> OverflowStep:
        if (
            self.after_seconds is None
            and self.when_queue_length_at_least is None
            and not self.when_no_agent_ready
        ):
            raise ValueError(
                "an overflow step needs a condition: after_seconds, "
                "when_queue_length_at_least or when_no_agent_ready"
            )
        return self


class CallbackPolicy(_Config):
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_delay_seconds: float = Field(default=300, ge=0)


class QueueConfig(_Config):
    name: str = Field(default="", max_length=200)
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    agent_groups: list[Identifier] = Field(default_factory=list)
    priority: int = Field(default=0, ge=-100, le=100)
    strategy: Strategy = "longest_idle"
    service_level_seconds: float = Field(default=20, gt=0)
    max_length: int | None = Field(default=None, ge=1)
    max_wait_seconds: float | None = Field(default=None, gt=0)
    join_when_empty: Literal["always", "if_logged_in", "if_ready"] = "always"
    hours: BusinessHours = Field(default_factory=BusinessHours)
    ring_timeout_seconds: float = Field(default=15, gt=0, le=600)
    max_consecutive_misses: int = Field(default=3, ge=0)
    wrap_up_seconds: float = Field(default=10, ge=0, le=3600)
    # Caller priority with aging: score = wait seconds + priority * this.
    priority_step_seconds: float = Field(default=60, ge=0)
    preferred_agent_seconds: float = Field(default=0, ge=0)
    overflow: list[OverflowStep] = Field(default_factory=list, max_length=20)
    callback: CallbackPolicy = Field(default_factory=CallbackPolicy)
    # Seed of the random strategy: replay draws the same agents.
    random_seed: int = 0
    # Speak the agent's work number to the caller when the call connects.
    announce_agent_number: bool = False
    # Wrap-up codes agents choose from; none listed: any code is accepted.
    dispositions: list[Identifier] = Field(default_factory=list, max_length=200)


class AgentConfig(_Config):
    name: str = Field(default="", max_length=200)
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    groups: list[Identifier] = Field(default_factory=list)
    # Rank for the linear strategy (lower first).
    rank: int = Field(default=0, ge=0)
    # The number a caller may quote (announced when the queue says so).
    work_number: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,20}$")


DEFAULT_NOT_READY_REASONS = ("break", "lunch", "training", "after_call", "outbound", "meeting")


class TenantSettings(_Config):
    """A tenant's routing settings (the body of PUT /v1/settings)."""

    not_ready_reasons: list[Identifier] = Field(
        default_factory=lambda: list(DEFAULT_NOT_READY_REASONS), min_length=1, max_length=50
    )
