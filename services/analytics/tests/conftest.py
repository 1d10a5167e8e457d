from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from callcenter.analytics.app import create_app
from callcenter.analytics.fold import Fold
from callcenter.analytics.settings import Settings
from callcenter.events import store
from callcenter.events.catalogue import Event
from callcenter.events.codec import envelope_attributes
from callcenter.events.envelope import Envelope, new_envelope
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade

KEY = "analytics-tests-signing-key-of-32-bytes!!"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC


class Log:
    """Events as services would publish them: each in its stream, numbered, timed."""

    def __init__(self, tenant: str = "acme") -> None:
        self.tenant = tenant
        self.envelopes: list[Envelope] = []
        self._versions: dict[str, int] = {}

    def at(self, seconds: float) -> datetime:
        return START + timedelta(seconds=seconds)

    def add(self, event: Event, stream: str, seconds: float = 0.0) -> Envelope:
        version = self._versions[stream] = self._versions.get(stream, 0) + 1
        call_id = getattr(event, "call_id", None)
        envelope = new_envelope(
            event,
            source="tests",
            tenant=self.tenant,
            stream_id=stream,
            stream_version=version,
            correlation_id=call_id or stream,
            time=self.at(seconds),
        )
        self.envelopes.append(envelope)
        return envelope

    def routing(self, event: Event) -> Envelope:
        return self.add(event, f"tenant:{self.tenant}", (event.at - START).total_seconds())

    def fold(self, envelopes: list[Envelope] | None = None) -> Fold:
        fold = Fold()
        for envelope in self.envelopes if envelopes is None else envelopes:
            fold.apply(envelope_attributes(envelope), envelope.data_json())
        return fold


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def log_factory():
    """For hypothesis tests: a fresh log per example (function fixtures are shared)."""
    return Log


def _bearer(tenant: str = "acme", *roles: Role, subject: str = "sue") -> dict[str, str]:
    jwt = issue_token(KEY, subject=subject, tenant=tenant, roles=roles or (Role.SUPERVISOR,))
    return {"Authorization": f"Bearer {jwt}"}


@pytest.fixture
def analytics_settings(database_url, kafka, tmp_path):
    upgrade("callcenter.analytics", database_url)

    def make(**options) -> Settings:
        return Settings(
            database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY, **options
        )

    return make


@pytest.fixture
def analytics_client(analytics_settings):
    """The app without its consumer: tests archive events as the consumer would."""
    with TestClient(create_app(analytics_settings(run_consumers=False))) as client:
        yield client


async def _archive(client: TestClient, envelopes: list[Envelope]) -> None:
    analytics = client.app.state.analytics
    async with analytics.db.transaction() as conn:
        await store.keep(conn, envelopes)
    await analytics.catch_up()


def _keep(client: TestClient, envelopes: list[Envelope]) -> None:
    client.portal.call(_archive, client, envelopes)


@pytest.fixture
def bearer():
    """Authorization headers: ``bearer(tenant, *roles)`` (a supervisor of acme by default)."""
    return _bearer


@pytest.fixture
def archive():
    """``archive(client, envelopes)``: keep events as the consumer would, and fold them."""
    return _keep
