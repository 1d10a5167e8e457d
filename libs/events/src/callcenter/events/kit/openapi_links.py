"""OpenAPI links: how a client (or a stateful fuzzer) goes from one answer to the
next operations on the same resource."""

from __future__ import annotations

from typing import Any


def links_passing(parameter: str, value: str, **operations: str) -> dict[str, dict[str, Any]]:
    """Links named as the keywords, each to its operation id, passing ``value`` (a
    runtime expression such as ``$response.body#/id``) as the path ``parameter``."""
    return {
        name: {"operationId": operation, "parameters": {parameter: value}}
        for name, operation in operations.items()
    }
