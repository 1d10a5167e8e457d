"""The simulator's own logic: seeded callers, the flow it installs, its command line."""

import pytest

from callcenter.simulator.main import parse
from callcenter.simulator.scenario import SKILLS, Params, flow, on_shift, shift_starts
from callcenter.simulator.world import Simulation


def callers(seed: int, count: int = 200):
    simulation = Simulation(Params(tenants=("a", "b"), seed=seed), clients={}, run_id="r")
    return [simulation._draw_caller(f"c{n}") for n in range(count)]


def test_a_seed_gives_the_same_callers():
    assert callers(5) == callers(5)
    assert callers(5) != callers(6)


def test_the_menu_mix_follows_the_shares():
    choices = [caller.choice for caller in callers(1, 4000)]
    assert abs(choices.count("3") / 4000 - Params().self_service_share) < 0.03
    assert abs(choices.count("4") / 4000 - Params().voicemail_share) < 0.02
    assert {caller.tenant for caller in callers(1)} == {"a", "b"}


def test_each_tenant_has_its_own_line_in_every_run():
    params = Params(tenants=("demo", "acme"))
    assert params.number("demo") == Params(tenants=("acme", "demo")).number("demo")
    assert params.number("demo") != params.number("acme")


def test_the_flow_offers_every_path():
    nodes = flow(Params(callback_min_wait=40))["nodes"]
    assert set(nodes["menu"]["choices"].values()) == {"billing", "support", "balance", "message"}
    assert nodes["balance"]["outcome"] == "self_served"
    assert (
        nodes["billing"]["callback"]["min_wait"] == nodes["support"]["callback"]["min_wait"] == 40
    )


def test_callers_take_the_callback_offered_in_the_share_asked():
    simulation = Simulation(Params(callback_share=0.25, seed=3), clients={}, run_id="r")
    takers = sum(simulation._draw_caller(f"c{n}").takes_callback for n in range(4000))
    assert abs(takers / 4000 - 0.25) < 0.03


@pytest.mark.parametrize("per_skill", [2, 3, 5])
def test_shifts_are_staggered_and_every_skill_always_has_someone_on(per_skill):
    shift = 600
    params = Params(agents_per_skill=per_skill, shift_seconds=shift)
    starts = shift_starts(params)
    for skill in SKILLS:
        agents = [f"sim-{skill}-{n}" for n in range(1, per_skill + 1)]
        assert len({starts[agent] for agent in agents}) == per_skill
        for at in range(0, 10 * shift, 7):
            on = [agent for agent in agents if on_shift(starts[agent], at, shift)]
            assert on, (skill, at)
    [first] = [a for a in starts if a.startswith("sim-billing") and starts[a] == 0]
    # Works a shift, rests half a shift, works again.
    assert [on_shift(starts[first], at, shift) for at in (0, 599, 600, 899, 900)] == [
        True, True, False, False, True,
    ]  # fmt: skip


def test_agents_are_always_on_without_shifts_or_alone_on_their_skill():
    assert shift_starts(Params(shift_seconds=0)) is None
    assert shift_starts(Params(agents_per_skill=1)) is None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--calls", "10", "--rate", "0"],
        ["--duration", "5", "--speed", "-1"],
        ["--calls", "10", "--shift", "-1"],
        ["--calls", "10", "--callback-share", "1.5"],
        ["--calls", "10", "--start-hour", "24"],
    ],
)
def test_the_command_line_refuses_what_cannot_run(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse(argv)
    assert stopped.value.code == 2
    assert "callcenter-simulator" in capsys.readouterr().err


def test_the_simulated_day_starts_at_the_hour_asked():
    night, morning = (
        Simulation(Params(start_hour=hour), clients={}, run_id="r") for hour in (0, 10)
    )
    assert (night.simulated_hour(), morning.simulated_hour()) == (0, 10)
    profile = Params().profile
    assert profile[10] > 5 * profile[0]  # a demo starting at 10:00 is busy at once
