"""pytest fixtures shared by every package's tests (registered as a pytest plugin).

Databases: ``database_url`` runs a test once per backend: a fresh SQLite file,
and a fresh PostgreSQL database created for the test and dropped after it.
PostgreSQL is found at ``CALLCENTER_TEST_POSTGRES_URL`` (default: the local
server's ``test`` database). If it cannot be reached the PostgreSQL runs are
skipped, except with ``CI=true``, where they fail. ``CALLCENTER_TEST_BACKENDS``
(comma separated: sqlite, postgresql) narrows the set.

Broker: ``kafka`` gives settings for a Kafka-protocol broker: by default an
embedded tansu broker started for the test (it starts in milliseconds);
``CALLCENTER_TEST_KAFKA_BOOTSTRAP`` points at an external cluster instead, with
a topic prefix per test. ``CALLCENTER_TEST_DOCKER=1`` uses testcontainers'
Kafka and PostgreSQL containers (needs a Docker engine).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from callcenter.events import store
from callcenter.events.broker import EmbeddedBroker
from callcenter.events.bus import KafkaSettings, service_topic
from callcenter.events.catalogue import Event
from callcenter.events.db import Database
from callcenter.events.kit.migrations import downgrade, upgrade
from callcenter.events.relay import Relay

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def use_docker() -> bool:
    return os.environ.get("CALLCENTER_TEST_DOCKER", "") in ("1", "true", "yes")


def selected_backends() -> list[str]:
    wanted = os.environ.get("CALLCENTER_TEST_BACKENDS")
    if not wanted:
        return list(BACKENDS)
    chosen = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"CALLCENTER_TEST_BACKENDS: unknown backend(s) {sorted(unknown)}")
    if in_ci() and "postgresql" not in chosen:
        raise pytest.UsageError("with CI=true the tests must run on PostgreSQL too")
    return chosen


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "broker: needs a Kafka-protocol broker")
    config.addinivalue_line("markers", "embedded_broker: kills or restarts the embedded broker")


# -- PostgreSQL -------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server database we may create databases from."""
    if use_docker():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    yield os.environ.get("CALLCENTER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


async def _admin_execute(server_url: str, statement: str) -> None:
    import asyncpg

    url = make_url(server_url)
    connection = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _admin(server_url: str, statement: str) -> None:
    # In a thread of its own: fixtures may run while the test's event loop runs.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin_execute(server_url, statement)).result()


def create_postgres_database(server_url: str, prefix: str = "cc_test") -> str:
    """A fresh, empty database on the server, by URL: skipped if the server is not
    usable, a failure with ``CI=true``."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    try:
        _admin(server_url, f'CREATE DATABASE "{name}"')
    except (OSError, Exception) as error:  # noqa: BLE001 - any failure means "not reachable"
        message = f"PostgreSQL is not usable at {server_url}: {error}"
        if in_ci():
            pytest.fail(message + " (CI=true requires it)")
        pytest.skip(message)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = create_postgres_database(postgres_server_url)
    yield url
    drop_postgres_database(postgres_server_url, url)


@pytest.fixture(params=selected_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database for one test, once per backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A ``Database`` with the event-store tables created."""
    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(store.metadata.create_all)
    yield db
    await db.dispose()


# -- broker -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def _docker_kafka() -> Iterator[str | None]:
    if not use_docker():
        yield None
        return
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer() as container:
        yield container.get_bootstrap_server()


@pytest.fixture
def embedded_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """An embedded broker of this test's own, to kill or restart at will."""
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield broker
    broker.stop()


@pytest.fixture
def kafka(request: pytest.FixtureRequest, _docker_kafka: str | None) -> KafkaSettings:
    """Settings for a broker this test may use freely (its topics are its own)."""
    external = _docker_kafka or os.environ.get("CALLCENTER_TEST_KAFKA_BOOTSTRAP")
    if external:
        return KafkaSettings(
            bootstrap_servers=external,
            topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
            session_timeout_ms=6000,
        )
    broker: EmbeddedBroker = request.getfixturevalue("embedded_broker")
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers,
        session_timeout_ms=1000,
        heartbeat_interval_ms=300,
    )


# -- migrations -------------------------------------------------------------------


def table_names(database_url: str) -> set[str]:
    async def names() -> set[str]:
        db = Database(database_url)
        async with db.engine.connect() as conn:
            found = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        await db.dispose()
        return found

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, names()).result()


def assert_migrations_round_trip(package: str, database_url: str) -> set[str]:
    """Upgrade to head, down to base, and up again; returns the tables at head."""
    upgrade(package, database_url)
    at_head = table_names(database_url)
    assert set(store.metadata.tables) <= at_head
    downgrade(package, database_url)
    assert table_names(database_url) <= {"alembic_version"}
    upgrade(package, database_url)
    assert table_names(database_url) == at_head
    return at_head


# -- another service's events on the broker ------------------------------------------


def publish_streams(
    kafka: KafkaSettings,
    database_path: Path,
    service: str,
    streams: dict[str, list[Event]],
    tenant: str = "acme",
) -> None:
    """As ``service`` would: append each stream's events to a store of its own
    (a SQLite file at ``database_path``; appending again continues the streams),
    then publish them on its topic with its relay. For tests of consumers."""

    async def publish() -> None:
        db = Database(f"sqlite:///{database_path}")
        async with db.engine.begin() as conn:
            await conn.run_sync(store.metadata.create_all)
        for stream_id, events in streams.items():
            async with db.transaction() as conn:
                version = await store.stream_version(conn, stream_id)
                await store.append_to_stream(
                    conn, stream_id, version, events,
                    source=service, tenant=tenant, correlation_id=stream_id,
                )  # fmt: skip
        relay = Relay(db, kafka, kafka.topic(service_topic(service)))
        try:
            await relay.publish_pending()
        finally:
            await relay.stop()
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, publish()).result()


async def read_topic(
    kafka: KafkaSettings, topic: str, until: str, within: float = 20.0
) -> list[tuple[str, str]]:
    """(type, stream id) of a topic's events up to the first of type ``until``, read with a
    consumer of no group (what a service published, as a subscriber sees it)."""
    reader = kafka.consumer(None)
    await reader.start()
    reader.subscribe([kafka.topic(topic)])
    seen: list[tuple[str, str]] = []
    deadline = asyncio.get_running_loop().time() + within
    try:
        while asyncio.get_running_loop().time() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                for record in records:
                    attributes = {name: value.decode() for name, value in record.headers}
                    seen.append((attributes["ce_type"], attributes["ce_streamid"]))
            if any(kind == until for kind, _ in seen):
                return seen
    finally:
        await reader.stop()
    raise AssertionError(f"no {until} on {topic} within {within} s: {seen}")
