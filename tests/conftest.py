"""The whole-platform tests (broker and services as processes, browsers; elsewhere
marked ``platform``) share one
test worker when the suite runs in parallel (`make test`: pytest-xdist, loadgroup), so
at most one platform runs at a time and the other worker keeps to the lighter tests."""

from __future__ import annotations

from pathlib import Path

import pytest

PLATFORM_FOLDERS = {"e2e", "chaos", "browser"}
HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "platform: starts the platform as processes (one worker)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.fspath)
        in_folder = (
            path.is_relative_to(HERE) and path.relative_to(HERE).parts[0] in PLATFORM_FOLDERS
        )
        if in_folder or item.get_closest_marker("platform"):
            item.add_marker(pytest.mark.xdist_group("platform"))
