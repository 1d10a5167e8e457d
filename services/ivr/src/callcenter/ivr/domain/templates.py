"""``{variable}`` substitution in prompts and values, and paths into JSON answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(template: str, variables: Mapping[str, str]) -> str:
    """Replace ``{name}`` by the variable's value; an unknown variable renders empty."""
    return _PLACEHOLDER.sub(lambda match: variables.get(match.group(1), ""), template)


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


def extract(document: Any, path: str) -> str | None:
    """The value at a dotted path (``account.balance``, ``items.0.id``) as text, or None."""
    current = document
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    if current is None or isinstance(current, Mapping | list):
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)
