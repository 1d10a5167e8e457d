"""The simulator's own logic: seeded callers, the flow it installs, its command line."""

import pytest

from callcenter.simulator.main import parse
from callcenter.simulator.scenario import Params, flow
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
    nodes = flow()["nodes"]
    assert set(nodes["menu"]["choices"].values()) == {"billing", "support", "balance", "message"}
    assert nodes["balance"]["outcome"] == "self_served"


@pytest.mark.parametrize(
    "argv",
    [[], ["--calls", "10", "--rate", "0"], ["--duration", "5", "--speed", "-1"]],
)
def test_the_command_line_refuses_what_cannot_run(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        parse(argv)
    assert stopped.value.code == 2
    assert "callcenter-simulator" in capsys.readouterr().err
