"""The tests that start the whole platform (broker and five services as processes, the
modules marked ``platform``) share one test worker when the suite runs in parallel
(`make test`: pytest-xdist, loadgroup), so at most one platform runs at a time while the
other worker takes the lighter tests (those that start one service and a broker too)."""

from __future__ import annotations

from collections.abc import Generator

import pytest

PLATFORM_GROUP = "platform"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "platform: starts the platform as processes (one worker)")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    """Mark the platform tests before xdist's own hook reads the marks, and check after it
    that it grouped them: two platforms at once starve each other, and a module's platform
    would start again on each worker its tests land on (pytest 9.2 with pytest-xdist 3.8
    silently dropped the groups)."""
    for item in items:
        if _starts_the_platform(item):
            item.add_marker(pytest.mark.xdist_group(PLATFORM_GROUP))
    yield
    if not config.getoption("loadgroup", default=False):
        return
    scattered = [
        item.nodeid
        for item in items
        if _starts_the_platform(item) and not item.nodeid.endswith(f"@{PLATFORM_GROUP}")
    ]
    if scattered:
        raise pytest.UsageError(f"xdist did not group the platform tests: {scattered[:3]}")


def _starts_the_platform(item: pytest.Item) -> bool:
    return item.get_closest_marker("platform") is not None
