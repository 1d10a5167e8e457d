from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from callcenter.crm import history
from callcenter.crm.app import create_app
from callcenter.crm.consumers import ivr_handler, routing_handler
from callcenter.crm.settings import Settings
from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue.base import Event
from callcenter.events.db import Database
from callcenter.events.envelope import Envelope
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import read_topic as read_topic_until

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"


@pytest.fixture
def crm_settings(database_url, kafka, tmp_path):
    upgrade("callcenter.crm", database_url)

    def make(**options) -> Settings:
        return Settings(
            database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY,
            demo_tenant="", **options,
        )  # fmt: skip

    return make


@pytest.fixture
def crm_offline(database_url, tmp_path):
    """A CRM app with no broker at all: neither relay nor consumers (for tests of the API
    and of the consumers' handlers, which the ``feed`` fixture calls directly)."""
    upgrade("callcenter.crm", database_url)
    nowhere = KafkaSettings(bootstrap_servers="127.0.0.1:9")

    def start(**options) -> TestClient:
        settings = Settings(
            database_url=database_url,
            kafka=nowhere,
            data_dir=tmp_path,
            signing_key=KEY,
            run_relay=False,
            run_consumers=False,
            demo_tenant="",
            **options,
        )
        return TestClient(create_app(settings))

    return start


@pytest.fixture
def crm(crm_settings):
    """A CRM app without its consumers (customer API tests do not need the IVR)."""

    def start(**options) -> TestClient:
        return TestClient(create_app(crm_settings(run_consumers=False, **options)))

    return start


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Feed:
    """Events as each service's consumer hands them to the CRM's handlers."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.versions: dict[str, int] = {}
        self.handlers = {
            "ivr": ivr_handler(Settings()),
            "routing": routing_handler(Settings()),
            "workorders": history.on_workorders,
        }

    def __call__(self, source: str, stream: str, *events: Event, time: datetime = T0) -> None:
        async def go() -> None:
            db = Database(self.database_url)
            try:
                for data in events:
                    self.versions[stream] = self.versions.get(stream, 0) + 1
                    envelope = Envelope(
                        source=source,
                        type=data.event_type,
                        tenant="acme",
                        correlation_id=stream,
                        stream_id=stream,
                        time=time,
                        stream_version=self.versions[stream],
                        data=data,
                    )
                    async with db.transaction() as conn:
                        await self.handlers[source](conn, envelope)
            finally:
                await db.dispose()

        asyncio.run(go())


@pytest.fixture
def feed(crm_offline, database_url) -> Feed:
    """Hand other services' events to the CRM's consumer handlers, as the consumers do."""
    return Feed(database_url)


@pytest.fixture
def read_topic():
    """``await read_topic(kafka, topic, until)``: (type, stream id) of the topic's events
    up to the first of type ``until`` (read with a consumer of no group)."""
    return read_topic_until
