"""What a simulated center looks like and how it is set up through the public APIs."""

from __future__ import annotations

import asyncio
import math
import zlib
from dataclasses import dataclass, field

import httpx

SKILLS = ("billing", "support")
FLOW_ID = "simulator"
KNOWN_CALLERS = 50  # callers the CRM knows (numbers 0..49)
CALLBACK_DIGIT = "1"  # what a waiting caller presses to be called back
CALLBACK_ATTEMPTS = 3  # routing dials a callback this many times, then gives up
CALLBACK_RETRY_SECONDS = 60  # simulated: between two of those attempts
REST_PER_SHIFT = 0.5  # between two shifts, an agent rests half a shift


@dataclass(frozen=True)
class Params:
    tenants: tuple[str, ...] = ("demo",)
    agents_per_skill: int = 3
    calls_per_minute: float = 6.0
    aht_seconds: float = 60.0
    patience_seconds: float = 45.0
    speed: float = (
        1.0  # the simulator's own durations (talk, patience, arrivals) run this much faster
    )
    self_service_share: float = 0.15
    voicemail_share: float = 0.05
    ticket_share: float = 0.2
    break_share: float = 0.05
    # Agents work shifts of this length (0: always on), staggered (see ``shift_starts``).
    shift_seconds: float = 8 * 3600
    # Of queued callers: who takes the callback the IVR offers once routing's expected wait
    # is at least ``callback_min_wait`` (real seconds); of those called back, who picks up.
    callback_share: float = 0.1
    callback_min_wait: float = 30.0
    callback_reach_rate: float = 0.7
    # Of answered calls: put on hold a while, passed to the other queue (once), and
    # wrapped up with a follow-up (a work order opens from the disposition).
    hold_share: float = 0.2
    transfer_share: float = 0.1
    follow_up_share: float = 0.1
    # Of conversations: ended by the agent (the others by the caller); the IVR asks a
    # sample of those callers the post-call survey, and they answer it.
    agent_ends_share: float = 0.5
    survey_sample_rate: float = 0.5
    # An outbound campaign (0 contacts: none) for the billing agents, its callees
    # answering (a person) with this probability, and the share of conversations sold.
    campaign_contacts: int = 0
    campaign_mode: str = "predictive"
    answer_rate: float = 0.4
    sale_share: float = 0.3
    seed: int = 1
    # The simulated day starts at this hour (0: midnight, a fifth of the peak rate).
    start_hour: int = 0
    # Calls per minute follow this profile over the (simulated) day: 24 hourly factors.
    profile: tuple[float, ...] = field(
        default_factory=lambda: tuple(
            0.2 if hour < 7 or hour >= 21 else 1.0 + 0.5 * math.sin(math.pi * (hour - 7) / 14)
            for hour in range(24)
        )
    )

    def number(self, tenant: str) -> str:
        """Each tenant's simulated line (the same in every run)."""
        return f"+1555{zlib.crc32(tenant.encode()) % 10**7:07d}"


def flow(params: Params) -> dict:
    """Billing (1), support (2), hear your balance (3, self-served), leave a message (4);
    no key: billing. Waiting callers are offered a callback once routing expects a wait
    of ``callback_min_wait`` seconds."""
    callback = {"min_wait": params.callback_min_wait, "accept_digit": CALLBACK_DIGIT}
    return {
        "name": "simulator line",
        "start": "menu",
        "nodes": {
            "menu": {
                "type": "menu",
                "prompts": [
                    "For billing press 1, for support press 2, for your balance press 3, "
                    "to leave a message press 4."
                ],
                "choices": {"1": "billing", "2": "support", "3": "balance", "4": "message"},
                "max_attempts": 1,
                "on_failure": "billing",
            },
            "billing": {
                "type": "enqueue",
                "prompts": ["Please hold."],
                "queue": "sim-billing",
                "skills": {"billing": 1},
                "callback": callback,
            },
            "support": {
                "type": "enqueue",
                "prompts": ["Please hold."],
                "queue": "sim-support",
                "skills": {"support": 1},
                "callback": callback,
            },
            "message": {
                "type": "voicemail",
                "prompts": ["Leave your message after the tone."],
                "thanks_prompts": ["Thank you. Goodbye."],
            },
            "balance": {
                "type": "hangup",
                "prompts": ["Your balance is 42 dollars. Goodbye."],
                "outcome": "self_served",
            },
        },
    }


def agent_ids(params: Params, tenant: str) -> dict[str, str]:
    """Agent id -> their main skill."""
    return {
        f"sim-{skill}-{n}": skill for skill in SKILLS for n in range(1, params.agents_per_skill + 1)
    }


def shift_starts(params: Params) -> dict[str, float] | None:
    """Agent id -> when their first shift starts (simulated seconds into the run); None
    when agents are always on (no shifts asked, or a lone agent per skill).

    A skill's agents take turns: each works a shift, rests half a shift, works again.
    Their first shifts start spread evenly over a shift and a half, so consecutive
    shifts overlap and every skill always has someone on.
    """
    per_skill = params.agents_per_skill
    if not params.shift_seconds or per_skill < 2:
        return None
    cycle = (1 + REST_PER_SHIFT) * params.shift_seconds
    return {
        f"sim-{skill}-{n}": (n - 1) * cycle / per_skill
        for skill in SKILLS
        for n in range(1, per_skill + 1)
    }


def on_shift(first_start: float, at: float, shift: float) -> bool:
    """Whether an agent whose first shift starts at ``first_start`` works at ``at``."""
    return at >= first_start and (at - first_start) % ((1 + REST_PER_SHIFT) * shift) < shift


def caller_number(n: int) -> str:
    return f"+3361{n:07d}"


async def set_up(clients: dict[str, httpx.AsyncClient], params: Params, tenant: str) -> None:
    """Queues, agents, the flow on the tenant's number, known callers.

    Idempotent: a second run replaces the same configuration.
    """
    routing, ivr, crm = clients["routing"], clients["ivr"], clients["crm"]
    for skill in SKILLS:
        queue = {
            "name": f"Simulated {skill}",
            "skills": {skill: 1},
            "service_level_seconds": 20,
            "wrap_up_seconds": 3,
            "ring_timeout_seconds": 20,
            "callback": {
                "max_attempts": CALLBACK_ATTEMPTS,
                "retry_delay_seconds": CALLBACK_RETRY_SECONDS / params.speed,
            },
        }
        _ok(await routing.put(f"/v1/queues/sim-{skill}", json=queue))
    for agent_id, skill in agent_ids(params, tenant).items():
        other = next(s for s in SKILLS if s != skill)
        config = {"name": agent_id, "skills": {skill: 5, other: 1}}
        _ok(await routing.put(f"/v1/agents/{agent_id}", json=config))
    for _ in range(100):  # the IVR learns routing's queues from its events
        published = await ivr.put(f"/v1/flows/{FLOW_ID}", json=flow(params))
        if published.status_code in (200, 201):
            break
        await asyncio.sleep(0.2)
    else:
        _ok(published)
    binding = {"flow_id": FLOW_ID, "version": published.json()["version"]}
    _ok(await ivr.put(f"/v1/numbers/{params.number(tenant)}", json=binding))
    question = {"id": "overall", "prompt": "How satisfied were you? Press 1 to 5."}
    survey = {"sample_rate": params.survey_sample_rate, "channel": "ivr", "questions": [question]}
    for skill in SKILLS:
        _ok(await ivr.put(f"/v1/survey-policies/sim-{skill}", json=survey))
    for n in range(KNOWN_CALLERS):
        customer = {"first_name": "Caller", "last_name": f"{n:04d}", "phones": [caller_number(n)]}
        created = await crm.post("/v1/customers", json=customer)
        if created.status_code not in (201, 409):  # 409: known from an earlier run
            _ok(created)


CAMPAIGN_DISPOSITIONS = ["sale", "not_interested", "call_back_later"]


def campaign(params: Params, tenant: str, run_id: str) -> dict:
    """Dials all day, a second try after a short delay (20 s, scaled by the speed), the 3%
    abandon cap."""
    delay = 20 / params.speed
    retry = dict.fromkeys(("no_answer", "busy", "machine", "failed", "abandoned"), delay)
    return {
        "name": f"Simulated campaign {run_id}",
        "queue_id": "sim-billing",
        "mode": params.campaign_mode,
        "caller_id": params.number(tenant),
        "windows": [{"days": list(range(7)), "start": "00:00", "end": "23:59"}],
        "max_attempts": 2,
        "retry_delay_seconds": retry,
        "ring_timeout_seconds": 15,
        "pacing": {"max_ratio": 3, "abandon_cap": 0.03, "abandon_wait_seconds": 2},
        "dispositions": CAMPAIGN_DISPOSITIONS,
        "completed_dispositions": ["sale"],
    }


def contact_number(n: int) -> str:
    """French mobile numbers (Europe/Paris), apart from the inbound callers'."""
    return f"+3362{n:07d}"


async def start_campaign(
    clients: dict[str, httpx.AsyncClient], params: Params, tenant: str, run_id: str,
    provider_url: str, provider_secret: str,
) -> str:  # fmt: skip
    """The simulator is the tenant's telephony provider; a campaign of fresh contacts."""
    routing, ivr = clients["routing"], clients["ivr"]
    telephony = {"status_callback_url": provider_url, "status_callback_secret": provider_secret}
    _ok(await ivr.put("/v1/telephony", json=telephony))
    campaign_id = f"sim-{run_id}"
    _ok(await routing.put(f"/v1/campaigns/{campaign_id}", json=campaign(params, tenant, run_id)))
    contacts = [{"contact_id": f"c{n:05d}", "number": contact_number(n)}
                for n in range(params.campaign_contacts)]  # fmt: skip
    _ok(await routing.post(f"/v1/campaigns/{campaign_id}/contacts", json=contacts))
    _ok(await routing.post(f"/v1/campaigns/{campaign_id}/start"))
    return campaign_id


def _ok(response: httpx.Response) -> None:
    if response.is_error:
        raise SetupError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text}"
        )


class SetupError(RuntimeError):
    pass
