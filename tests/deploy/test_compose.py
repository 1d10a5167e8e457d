"""The compose sandbox is valid Compose and agrees with the image and the services' settings."""

from __future__ import annotations

import json
import re
import tomllib
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import REGISTRY

from .deployment import (
    IMAGE_PROGRAMS,
    ROOT,
    SERVICES,
    port,
    run,
    settings_class,
    tool,
    unknown_variables,
)

COMPOSE_DIR = ROOT / "deploy" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
IMAGE = "callcenter:sandbox"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_the_file_follows_the_compose_specification() -> None:
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_is_lint_clean_and_runs_as_non_root() -> None:
    dockerfile = ROOT / "Dockerfile"
    result = run(tool("hadolint"), str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr
    users = re.findall(r"^USER (\S+)", dockerfile.read_text(), re.MULTILINE)
    assert users and not users[-1].startswith(("0", "root")), users


def _scripts(package_dir: str) -> set[str]:
    project = tomllib.loads((ROOT / package_dir / "pyproject.toml").read_text())["project"]
    return set(project.get("scripts", {}))


def test_every_program_the_sandbox_runs_is_in_the_image(compose: dict) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    installed = _scripts("libs/events")
    for name in SERVICES:
        assert f"./services/{name}" in dockerfile, f"the Dockerfile does not install {name}"
        installed |= _scripts(f"services/{name}")
    assert "./tools/simulator" in dockerfile, "the Dockerfile does not install the simulator"
    installed |= _scripts("tools/simulator")
    assert installed >= IMAGE_PROGRAMS
    for name, service in compose["services"].items():
        command = service.get("command")
        if service.get("image") == IMAGE:
            assert command and command[0] in installed, f"{name} runs {command}"


def test_every_image_is_ours_built_from_the_repository_or_pinned(compose: dict) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if image == IMAGE:
            build = service["build"]
            context = (COMPOSE_DIR / build["context"]).resolve()
            assert context == ROOT and (context / build["dockerfile"]).is_file(), name
        else:
            assert "build" not in service, f"{name} builds an image other than {IMAGE}"
            tag = image.rpartition(":")[2]
            assert ":" in image and tag not in ("", "latest"), f"{name}: pin {image}"


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_serves_on_its_port_and_is_checked_for_readiness(
    compose: dict, name: str
) -> None:
    service = compose["services"][name]
    expected = port(name)
    assert service["command"] == [
        f"callcenter-{name}",
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(expected),
    ]
    assert service["ports"] == [f"{expected}:{expected}"]
    probe = " ".join(service["healthcheck"]["test"])
    assert f"http://127.0.0.1:{expected}/readyz" in probe


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_waits_for_its_migration_and_the_broker(compose: dict, name: str) -> None:
    services = compose["services"]
    assert services[name]["depends_on"] == {
        f"{name}-migrate": {"condition": "service_completed_successfully"},
        "kafka": {"condition": "service_healthy"},
    }
    migrate = services[f"{name}-migrate"]
    assert migrate["command"] == [f"callcenter-{name}", "migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["postgres"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_variable_is_read_by_the_service_settings(
    compose: dict, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for container in (name, f"{name}-migrate"):
        environment = {
            key: str(value) for key, value in compose["services"][container]["environment"].items()
        }
        assert not unknown_variables(name, set(environment)), container
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        settings = settings_class(name)()
        database = urlsplit(settings.database_url)
        assert (database.scheme, database.hostname, database.path) == (
            "postgresql",
            "postgres",
            f"/{name}",
        )
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.signing_key is not None


def test_postgres_creates_every_service_database(compose: dict) -> None:
    script = (COMPOSE_DIR / "postgres" / "init-databases.sh").read_text()
    mounted = compose["services"]["postgres"]["volumes"][0].split(":")
    assert (COMPOSE_DIR / mounted[0]).resolve() == COMPOSE_DIR / "postgres" / "init-databases.sh"
    assert mounted[1].startswith("/docker-entrypoint-initdb.d/")
    assert f"for service in {' '.join(SERVICES)}; do" in script


def test_the_simulator_starts_once_every_service_is_ready(compose: dict) -> None:
    simulator = compose["services"]["simulator"]
    assert simulator["command"][0] == "callcenter-simulator"
    usage = run(tool("callcenter-simulator"), "--help").stdout
    for flag in (word for word in simulator["command"] if word.startswith("--")):
        assert flag in usage, f"callcenter-simulator has no {flag}"
    assert simulator["depends_on"] == {name: {"condition": "service_healthy"} for name in SERVICES}
    for name in SERVICES:
        url = simulator["environment"][f"CALLCENTER_{name.upper()}_URL"]
        assert url == f"http://{name}:{port(name)}"


def test_prometheus_scrapes_every_service(compose: dict) -> None:
    assert compose["services"]["prometheus"]["profiles"] == ["observability"]
    config = yaml.safe_load((COMPOSE_DIR / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert targets == {f"{name}:{port(name)}" for name in SERVICES}


def _platform_metrics() -> set[str]:
    # Importing the modules registers their metrics (analytics' gauges register a collector).
    import callcenter.analytics.gauges
    import callcenter.events.kit.http_metrics
    import callcenter.events.kit.shedding
    import callcenter.events.metrics  # noqa: F401

    return {metric.name for metric in REGISTRY.collect() if metric.name.startswith("callcenter_")}


def test_the_dashboard_shows_every_platform_metric_and_only_real_ones() -> None:
    dashboard = json.loads((COMPOSE_DIR / "grafana" / "dashboards" / "callcenter.json").read_text())
    expressions = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
    )
    used = set(re.findall(r"\bcallcenter_[a-z_]+", expressions))
    metrics = _platform_metrics()
    # Counters are queried by their sample name (_total), histograms by their buckets.
    samples = (
        {f"{name}_total" for name in metrics} | {f"{name}_bucket" for name in metrics} | metrics
    )
    assert used <= samples, used - samples
    assert {
        name for name in metrics if not any(sample.startswith(name) for sample in used)
    } == set()


def test_alerts_use_real_metrics_and_point_at_existing_runbooks(compose: dict) -> None:
    prometheus = compose["services"]["prometheus"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in prometheus["volumes"]}
    config = yaml.safe_load((COMPOSE_DIR / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    (rule_file,) = config["rule_files"]
    rules = yaml.safe_load((COMPOSE_DIR / mounts[rule_file]).read_text())
    metrics = _platform_metrics()
    samples = {f"{name}_total" for name in metrics} | metrics | {"up"}
    headings = re.findall(r"^## (.+)$", (ROOT / "docs" / "operations.md").read_text(), re.MULTILINE)
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-") for heading in headings
    }
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert alerts
    for alert in alerts:
        used = set(re.findall(r"\b(callcenter_[a-z_]+|up)(?=[{\[\s])", alert["expr"]))
        assert used and used <= samples, alert["alert"]
        page, _, anchor = alert["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md" and anchor in anchors, alert["alert"]
