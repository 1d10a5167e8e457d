"""What the deployment files must agree with: the services, their settings and the tools."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import AliasChoices

from callcenter.events.bus import KafkaSettings
from callcenter.events.kit.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("routing", "ivr", "crm", "workorders", "analytics")
IMAGE_PROGRAMS = {f"callcenter-{name}" for name in SERVICES} | {"callcenter-simulator"}
# What every service reads under one name (the settings' CALLCENTER_* aliases).
SHARED_VARIABLES = {
    name
    for field in ServiceSettings.model_fields.values()
    if isinstance(field.validation_alias, AliasChoices)
    for name in field.validation_alias.choices
    if isinstance(name, str)
}


def settings_class(service: str) -> type[ServiceSettings]:
    return importlib.import_module(f"callcenter.{service}.settings").Settings


def port(service: str) -> int:
    return settings_class(service).model_fields["port"].default


def unknown_variables(service: str, names: set[str]) -> set[str]:
    """The ``CALLCENTER_*`` names that no field of the service's settings reads.

    The settings ignore unknown variables (12-factor), so a typo would be silently lost.
    """
    prefix = f"CALLCENTER_{service.upper()}_"
    own = {name.upper() for name in settings_class(service).model_fields}
    kafka = {f"CALLCENTER_KAFKA_{name.upper()}" for name in KafkaSettings.model_fields}
    unknown = set()
    for name in names:
        if name in SHARED_VARIABLES or name in kafka:
            continue
        if name.startswith(prefix) and name.removeprefix(prefix) in own:
            continue
        unknown.add(name)
    return unknown


def tool(name: str) -> str:
    """A command-line tool from the virtualenv or PATH; missing is a failure, never a skip."""
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} is not installed (make test installs it)")
    return on_path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def load_tool(name: str) -> ModuleType:
    """A script of tools/ as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
