"""The published contracts are generated from the code, current, and well formed."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml
from pydantic_asyncapi.v3 import AsyncAPI

from callcenter.events.bus import DLQ_TOPIC, service_topic
from callcenter.events.catalogue import registry
from callcenter.events.codec import ATTRIBUTES

from .deployment import ROOT, SERVICES, load_tool, port

API_DOCS = ROOT / "docs" / "api"


@pytest.fixture(scope="module")
def asyncapi_tool():
    return load_tool("asyncapi")


@pytest.fixture(scope="module")
def asyncapi(asyncapi_tool) -> dict[str, Any]:
    return yaml.safe_load(asyncapi_tool.render())


def test_the_committed_asyncapi_document_is_the_generated_one(asyncapi_tool) -> None:
    committed = (API_DOCS / "asyncapi.yaml").read_text()
    assert committed == asyncapi_tool.render(), "stale: run python tools/asyncapi.py"


def test_the_document_is_asyncapi_3(asyncapi: dict[str, Any]) -> None:
    # pydantic-asyncapi 0.3.2 does not model Kafka message bindings (it requires them to be
    # null), so they are checked here against the Kafka bindings 0.5.0 fields instead.
    without_bindings = copy.deepcopy(asyncapi)
    for message in without_bindings["components"]["messages"].values():
        binding = message.pop("bindings", {}).get("kafka")
        if binding is not None:
            assert set(binding) <= {
                "key",
                "schemaIdLocation",
                "schemaIdPayloadEncoding",
                "schemaLookupStrategy",
                "bindingVersion",
            }
            assert binding["key"]["type"] == "string" and binding["bindingVersion"] == "0.5.0"
    document = AsyncAPI.model_validate(without_bindings)
    assert document.asyncapi == "3.0.0"


def _resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), reference
    node: Any = document
    for part in reference[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{reference} does not resolve"
        node = node[part]
    return node


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_every_reference_resolves(asyncapi: dict[str, Any]) -> None:
    references = _references(asyncapi)
    assert len(references) > 3 * len(registry.names())
    for reference in references:
        _resolve(asyncapi, reference)


def test_every_event_type_is_a_message_on_its_writers_topic_only(asyncapi: dict[str, Any]) -> None:
    where: dict[str, list[str]] = {}
    for channel in asyncapi["channels"].values():
        for name in channel["messages"]:
            where.setdefault(name, []).append(channel["address"])
    for name in registry.names():
        writer = registry.model(name).__module__.rsplit(".", 1)[-1]
        assert where.pop(name) == [service_topic(writer)], name
    assert where == {"DeadLetter": [DLQ_TOPIC]}


def test_each_message_carries_its_type_version_and_payload_schema(asyncapi: dict[str, Any]) -> None:
    messages = asyncapi["components"]["messages"]
    headers = asyncapi["components"]["schemas"]["CloudEventsKafkaHeaders"]["properties"]
    assert set(headers) == {"content-type"} | {f"ce_{name}" for name in ATTRIBUTES.values()}
    for name in registry.names():
        model = registry.model(name)
        message = messages[name]
        fixed = message["headers"]["allOf"][1]["properties"]
        assert fixed["ce_type"]["const"] == name
        assert fixed["ce_schemaversion"]["const"] == str(model.schema_version)
        payload = _resolve(asyncapi, message["payload"]["$ref"])
        assert set(payload["properties"]) == set(model.model_fields)
        required = {field for field, info in model.model_fields.items() if info.is_required()}
        assert set(payload.get("required", [])) >= required


def test_every_channel_message_is_published_by_an_operation(asyncapi: dict[str, Any]) -> None:
    published = {
        ref
        for operation in asyncapi["operations"].values()
        for ref in _references(operation["messages"])
    }
    for key, channel in asyncapi["channels"].items():
        for name in channel["messages"]:
            assert f"#/channels/{key}/messages/{name}" in published


@pytest.fixture(scope="module")
def openapi_documents():
    return load_tool("openapi_export").documents()


@pytest.mark.parametrize("service", SERVICES)
def test_each_committed_openapi_document_is_the_generated_one(
    openapi_documents, service: str
) -> None:
    path = API_DOCS / f"{service}.openapi.json"
    generated = openapi_documents[path]
    assert path.read_text() == generated, "stale: run python tools/openapi_export.py"
    document = json.loads(generated)
    assert document["openapi"].startswith("3.")
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    assert any(path.startswith("/v1/") for path in document["paths"])


def _route(document: dict[str, Any], method: str, path: str) -> bool:
    for template, operations in document["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path) and method.lower() in operations:
            return True
    return False


def test_every_request_of_the_integrator_guide_is_in_the_apis() -> None:
    guide = (ROOT / "docs" / "integrators.md").read_text()
    requests = re.findall(r'curl -sS (?:-X (\w+) )?"?localhost:(\d+)(/[^\s"?]*)', guide)
    assert len(requests) >= 15
    services = {port(name): name for name in SERVICES}
    for method, number, path in requests:
        document = json.loads((API_DOCS / f"{services[int(number)]}.openapi.json").read_text())
        assert _route(document, method or "GET", path), f"{method or 'GET'} :{number}{path}"
