"""Every kustomize overlay renders, every object is valid, and the manifests agree with the code.

Built-in kinds are validated against the Kubernetes OpenAPI schemas shipped by
``kubernetes-validate`` (strict: unknown fields are errors). No registry ships the
Strimzi or CloudNativePG CRDs, so their custom resources are checked against the
fields the operators' API references list as required, and against each other.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from callcenter.events.bus import DLQ_TOPIC, service_topic

from .deployment import ROOT, SERVICES, port, run, tool, unknown_variables

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.30.0"
STRIMZI = "kafka.strimzi.io/v1beta2"
CNPG = "postgresql.cnpg.io/v1"
# Analytics publishes nothing (one writer per topic).
PUBLISHERS = ("routing", "ivr", "crm", "workorders")


@functools.cache
def render(overlay: str) -> list[dict]:
    """The overlay's objects (shared by the tests: none of them changes what it reads)."""
    result = run(tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request: pytest.FixtureRequest) -> list[dict]:
    return render(request.param)


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def test_every_builtin_object_follows_the_kubernetes_schema(objects: list[dict]) -> None:
    builtin = [item for item in objects if item["apiVersion"] not in (STRIMZI, CNPG)]
    assert len(builtin) > 30
    for item in builtin:
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{item['kind']}/{item['metadata']['name']}: {error.message}")


def _require(item: dict, *paths: str) -> None:
    for path in paths:
        value: object = item
        for part in path.split("."):
            assert isinstance(value, dict) and part in value, (
                f"{item['kind']}/{item['metadata']['name']} lacks {path}"
            )
            value = value[part]


def test_strimzi_resources_have_the_fields_strimzi_requires(objects: list[dict]) -> None:
    kafkas = of_kind(objects, "Kafka")
    for kafka in kafkas.values():
        _require(kafka, "spec.kafka.listeners")
        # KRaft with node pools: no ZooKeeper section at all.
        assert "zookeeper" not in kafka["spec"]
        annotations = kafka["metadata"]["annotations"]
        assert annotations["strimzi.io/kraft"] == annotations["strimzi.io/node-pools"] == "enabled"
        for listener in kafka["spec"]["kafka"]["listeners"]:
            _require(
                listener | {"kind": "listener", "metadata": kafka["metadata"]},
                "name",
                "port",
                "type",
                "tls",
            )
            assert re.fullmatch(r"[a-z0-9]{1,11}", listener["name"])
            assert listener["port"] >= 9092 and listener["port"] not in (9404, 9999)
            assert listener["type"] in (
                "internal",
                "route",
                "loadbalancer",
                "nodeport",
                "ingress",
                "cluster-ip",
            )
    for pool in of_kind(objects, "KafkaNodePool").values():
        _require(pool, "spec.replicas", "spec.roles", "spec.storage.type")
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] in kafkas
        assert set(pool["spec"]["roles"]) <= {"controller", "broker"}
        assert pool["spec"]["storage"]["type"] in ("ephemeral", "persistent-claim", "jbod")
    for topic in of_kind(objects, "KafkaTopic").values():
        _require(topic, "spec.partitions", "spec.replicas", "spec.topicName")
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] in kafkas


def test_prod_runs_the_platform_topics_replicated_and_retained() -> None:
    objects = render("prod")
    topics = of_kind(objects, "KafkaTopic")
    expected = {service_topic(name) for name in PUBLISHERS} | {DLQ_TOPIC}
    assert {topic["spec"]["topicName"] for topic in topics.values()} == expected
    platform = of_kind(objects, "ConfigMap")["callcenter-platform"]["data"]
    for topic in topics.values():
        spec = topic["spec"]
        assert spec["partitions"] == int(platform["CALLCENTER_KAFKA_PARTITIONS"])
        assert spec["replicas"] == int(platform["CALLCENTER_KAFKA_REPLICATION_FACTOR"]) == 3
        assert spec["config"]["min.insync.replicas"] == 2
        assert spec["config"]["retention.ms"] >= 7 * 24 * 3600 * 1000
    (kafka,) = of_kind(objects, "Kafka").values()
    plain = next(item for item in kafka["spec"]["kafka"]["listeners"] if not item["tls"])
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{plain['port']}"
    assert platform["CALLCENTER_KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    brokers = sum(pool["spec"]["replicas"] for pool in of_kind(objects, "KafkaNodePool").values())
    assert brokers >= 3


def test_cloudnativepg_resources_have_the_fields_cloudnativepg_requires(
    objects: list[dict],
) -> None:
    clusters = of_kind(objects, "Cluster")
    assert clusters
    for cluster in clusters.values():
        _require(cluster, "spec.instances", "spec.storage.size")
        assert cluster["spec"]["instances"] >= 1
        for role in cluster["spec"]["managed"]["roles"]:
            assert role["name"] and role["passwordSecret"]["name"]
    for database in of_kind(objects, "Database").values():
        _require(database, "spec.name", "spec.owner", "spec.cluster.name")
        assert database["spec"]["cluster"]["name"] in clusters
    for backup in of_kind(objects, "ScheduledBackup").values():
        _require(backup, "spec.schedule", "spec.cluster.name")
        assert len(backup["spec"]["schedule"].split()) == 6  # seconds first
        assert "backup" in clusters[backup["spec"]["cluster"]["name"]]["spec"]


def _pod(item: dict) -> dict:
    return item["spec"]["template"]["spec"]


def _workloads(objects: list[dict]) -> list[dict]:
    return [item for item in objects if item["kind"] in ("Deployment", "Job")]


def _service_of(item: dict) -> str:
    return item["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]


def _environment(objects: list[dict], container: dict) -> dict[str, str]:
    maps = of_kind(objects, "ConfigMap")
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values |= maps[source["configMapRef"]["name"]]["data"]
    for variable in container.get("env", []):
        values[variable["name"]] = variable.get("value", "<from a secret>")
    return values


def test_every_pod_is_hardened_and_bounded(objects: list[dict]) -> None:
    for item in _workloads(objects):
        pod = _pod(item)
        name = f"{item['kind']}/{item['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["serviceAccountName"] in of_kind(objects, "ServiceAccount"), name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name


def test_every_workload_runs_the_one_image_and_a_program_of_its_service(
    objects: list[dict],
) -> None:
    images = set()
    for item in _workloads(objects):
        service = _service_of(item)
        for container in _pod(item)["containers"]:
            images.add(container["image"])
            assert container["command"][0] == f"callcenter-{service}"
            assert container["command"][1] == (
                "serve" if item["kind"] == "Deployment" else "migrate"
            )
    assert len(images) == 1 and ":" in images.pop()


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_probed_served_and_reachable_on_its_port(
    objects: list[dict], service: str
) -> None:
    deployments = [
        item for item in of_kind(objects, "Deployment").values() if _service_of(item) == service
    ]
    assert deployments
    expected = port(service)
    for deployment in deployments:
        (container,) = _pod(deployment)["containers"]
        assert container["command"][-2:] == ["--port", str(expected)]
        assert container["ports"] == [{"name": "http", "containerPort": expected}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    kubernetes_service = of_kind(objects, "Service")[service]
    assert kubernetes_service["spec"]["ports"][0]["port"] == expected
    assert kubernetes_service["spec"]["selector"].items() <= labels.items()
    policy = of_kind(objects, "NetworkPolicy")[service]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert [rule["ports"] for rule in policy["spec"]["ingress"]] == [
        [{"port": expected, "protocol": "TCP"}]
    ]
    jobs = [item for item in of_kind(objects, "Job").values() if _service_of(item) == service]
    assert [job["metadata"]["name"] for job in jobs] == [f"{service}-migrate"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_reads_every_variable_and_its_own_database(
    objects: list[dict], service: str
) -> None:
    clusters = of_kind(objects, "Cluster")
    databases = {
        item["spec"]["name"]: item["spec"] for item in of_kind(objects, "Database").values()
    }
    for item in _workloads(objects):
        if _service_of(item) != service:
            continue
        (container,) = _pod(item)["containers"]
        environment = _environment(objects, container)
        internal = {"DATABASE_PASSWORD"}  # only interpolated into the URL below
        assert not unknown_variables(service, set(environment) - internal), item["metadata"]["name"]
        url = urlsplit(environment[f"CALLCENTER_{service.upper()}_DATABASE_URL"])
        assert url.scheme == "postgresql" and url.password == "$(DATABASE_PASSWORD)"
        cluster = url.hostname.removesuffix("-rw")
        assert cluster in clusters and url.path == f"/{service}"
        assert databases[service]["owner"] == url.username == service
        (secret,) = [
            variable["valueFrom"]["secretKeyRef"]["name"]
            for variable in container["env"]
            if variable["name"] == "DATABASE_PASSWORD"
        ]
        roles = {role["name"]: role for role in clusters[cluster]["spec"]["managed"]["roles"]}
        assert roles[service]["passwordSecret"]["name"] == secret


def _relays(deployment: dict, objects: list[dict]) -> bool:
    (container,) = _pod(deployment)["containers"]
    service = _service_of(deployment)
    value = _environment(objects, container).get(f"CALLCENTER_{service.upper()}_RUN_RELAY", "true")
    return value.lower() == "true"


@pytest.mark.parametrize("service", PUBLISHERS)
def test_exactly_one_pod_relays_each_topic_and_is_replaced_not_overlapped(
    objects: list[dict], service: str
) -> None:
    relaying = [
        item
        for item in of_kind(objects, "Deployment").values()
        if _service_of(item) == service and _relays(item, objects)
    ]
    assert [item["spec"]["replicas"] for item in relaying] == [1]
    assert relaying[0]["spec"]["strategy"]["type"] == "Recreate"
    assert relaying[0]["metadata"]["name"] not in {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in of_kind(objects, "HorizontalPodAutoscaler").values()
    }


def test_replicated_deployments_have_a_disruption_budget_and_autoscaled_ones_exist(
    objects: list[dict],
) -> None:
    deployments = of_kind(objects, "Deployment")
    budgets = of_kind(objects, "PodDisruptionBudget").values()
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            budget
            for budget in budgets
            if budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        if deployment["spec"]["replicas"] > 1:
            (budget,) = covering
            assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"], name
        else:
            assert not covering, f"{name} has one replica: a budget would block node drains"
    for hpa in of_kind(objects, "HorizontalPodAutoscaler").values():
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert hpa["spec"]["minReplicas"] == target["spec"]["replicas"] > 1


def test_dev_generates_every_secret_its_pods_and_database_need() -> None:
    objects = render("dev")
    secrets = set(of_kind(objects, "Secret"))
    needed = Counter()
    for item in _workloads(objects):
        for volume in _pod(item).get("volumes", []):
            if "secret" in volume:
                needed[volume["secret"]["secretName"]] += 1
        for container in _pod(item)["containers"]:
            for variable in container.get("env", []):
                if "valueFrom" in variable:
                    needed[variable["valueFrom"]["secretKeyRef"]["name"]] += 1
    for cluster in of_kind(objects, "Cluster").values():
        for role in cluster["spec"]["managed"]["roles"]:
            needed[role["passwordSecret"]["name"]] += 1
    assert set(needed) <= secrets, set(needed) - secrets
    namespaces = {item["metadata"].get("namespace") for item in objects}
    assert namespaces == {"callcenter-dev"}
    # The external Kafka option: no Strimzi resources, the bootstrap address points outside.
    assert not [item for item in objects if item["apiVersion"] == STRIMZI]
    platform = of_kind(objects, "ConfigMap")["callcenter-platform"]["data"]
    assert not platform["CALLCENTER_KAFKA_BOOTSTRAP_SERVERS"].startswith("callcenter-kafka")
