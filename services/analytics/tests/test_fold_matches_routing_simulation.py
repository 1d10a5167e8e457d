"""The fold agrees with the routing simulator on the same run (two independent counts)."""

import json
import random

from callcenter.analytics import offline
from callcenter.analytics.fold import Fold
from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.routing.simulate import Arrival, Simulation, write_events


def simulated_run(tmp_path, calls=600, agents=6):
    rng = random.Random(11)
    config = {
        "queues": [{"id": "q1", "skills": {"general": 1}, "service_level_seconds": 20}],
        "agents": [{"id": f"a{n}", "skills": {"general": 5}} for n in range(agents)],
    }
    arrivals, at = [], 0.0
    for n in range(calls):
        at += rng.expovariate(1 / 25)
        arrivals.append(
            Arrival(f"c{n}", at, "q1", 0, rng.uniform(5, 120), rng.uniform(60, 200), 10)
        )
    simulation = Simulation(config, arrivals)
    simulation.log = []
    simulation.run()
    path = tmp_path / "events.jsonl"
    write_events(path, "acme", simulation.log)
    return simulation, path


def test_offered_answered_abandoned_sl_and_asa_equal_the_simulators(tmp_path):
    simulation, path = simulated_run(tmp_path)
    summary = simulation.summary()
    fold = Fold()
    with path.open() as lines:
        assert offline.fold_lines(lines, fold) == []
    # The simulator counts every abandon against the service level.
    settings = KpiSettings(abandon_mode="against", exclude_short_abandons=False)
    [row] = compute(fold.tenants["acme"], settings, Window(0, fold.latest + 1, fold.latest))
    assert row["offered"] == summary["offered"] == 600
    assert row["answered"] == summary["answered"]
    assert row["abandoned"] + row["exited"] == summary["abandoned"] > 0
    assert row["service_level"] == summary["service_level"]
    assert row["asa_seconds"] == summary["asa_s"]
    assert row["waiting"] == 0
    assert row["handled"] == row["answered"]


def test_the_command_prints_the_same_kpis(tmp_path, capsys):
    simulation, path = simulated_run(tmp_path, calls=200)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"abandon_mode": "against", "exclude_short_abandons": False}))
    offline.main(["--events", str(path), "--settings", str(settings)])
    printed = json.loads(capsys.readouterr().out)
    [row] = printed["tenants"]["acme"]["kpis"]
    assert row["service_level"] == simulation.summary()["service_level"]
    assert printed["events_applied"] == simulation.events
    assert printed["lines_rejected"] == 0
