"""Every operation of a service, read from its app's OpenAPI (a new route is covered at once)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI

OPEN_PATHS = {"/healthz", "/readyz"}  # health is open; /metrics is not in the schema
METHODS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    def url(self, values: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], self.path)


def operations(app: FastAPI) -> list[Operation]:
    found = []
    for path, item in app.openapi()["paths"].items():
        for method in METHODS:
            if method in item and path not in OPEN_PATHS:
                found.append(Operation(method, path))
    return found
