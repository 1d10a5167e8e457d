"""The what-if simulator's predictive campaign: the abandoned-outbound rate stays under
its cap while the agents stay busy."""

from __future__ import annotations

import json

from callcenter.routing import simulate


def test_a_predictive_campaign_keeps_abandons_under_the_cap_and_agents_busy(capsys):
    simulate.main(["--predictive", "--agents", "12", "--contacts", "1500", "--hours", "1.5",
                   "--answer-rate", "0.35", "--cap", "0.03", "--seed", "7"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)

    assert summary["mode"] == "predictive"
    assert summary["answered"] > 200  # enough conversations to mean something
    assert summary["abandoned"] > 0  # it did bet on agents freeing up ...
    assert summary["abandon_rate"] < summary["abandon_cap"] == 0.03  # ... within the cap
    assert summary["utilization"] > 0.7
    assert summary["attempted"] > summary["answered"] * 2  # more dials than agents could take


def test_the_simulation_is_reproducible():
    scenario = simulate.CampaignScenario(agents=4, contacts=200, hours=0.5, seed=3)
    first, second = simulate.PredictiveSimulation(scenario), simulate.PredictiveSimulation(scenario)
    first.run()
    second.run()
    assert first.summary() == second.summary()
