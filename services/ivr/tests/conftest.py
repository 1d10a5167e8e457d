"""Fixtures of the IVR tests: flows, an app on a migrated database, tokens."""

from __future__ import annotations

import asyncio
import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue.routing import QueueConfigured
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.ivr.app import create_app
from callcenter.ivr.consumers.routing_status import make_handler
from callcenter.ivr.settings import Settings
from callcenter.ivr.store import telephony_secrets


def menu_flow(**overrides: Any) -> dict[str, Any]:
    """welcome, menu (1 sales queue, 2 account then balance dip, 3 goodbye), else voicemail."""
    flow: dict[str, Any] = {
        "name": "test line",
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "say", "prompts": ["Hello {ani}."], "next": "menu"},
            "menu": {
                "type": "menu",
                "prompts": ["Sales 1, account 2, goodbye 3."],
                "choices": {
                    "1": {"next": "sales", "set": {"topic": "sales"}},
                    "2": "account",
                    "3": "bye",
                },
                "invalid_prompts": ["Invalid."],
                "no_input_prompts": ["Nothing heard."],
                "max_attempts": 2,
                "on_failure": "voicemail",
            },
            "account": {
                "type": "collect",
                "prompts": ["Account number?"],
                "variable": "account",
                "min_digits": 4,
                "max_digits": 6,
                "invalid_prompts": ["Four to six digits."],
                "no_input_prompts": ["Nothing heard."],
                "on_failure": "sales",
                "next": "lookup",
            },
            "lookup": {
                "type": "http",
                "url": "http://127.0.0.1:9/balances/{account}",
                "results": {"balance": "balance"},
                "next": "balance",
                "on_error": "sales",
            },
            "balance": {"type": "say", "prompts": ["Balance {balance}."], "next": "bye"},
            "sales": {
                "type": "enqueue",
                "queue": "sales",
                "skills": {"sales": 2},
                "priority": 3,
            },
            "voicemail": {"type": "voicemail", "prompts": ["Leave a message."]},
            "bye": {"type": "hangup", "prompts": ["Goodbye."]},
        },
    }
    flow.update(overrides)
    return flow


@pytest.fixture(name="menu_flow")
def _menu_flow():
    return menu_flow


@pytest.fixture(name="bearer")
def _bearer():
    return bearer


AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
KEY = "a-test-signing-key-of-32-bytes-or-more"


def bearer(tenant: str = "acme", *roles: Role) -> dict[str, str]:
    token = issue_token(KEY, subject="ann", tenant=tenant, roles=roles or (Role.ADMIN,))
    return {"Authorization": f"Bearer {token}"}


def deliver(
    database_url: str, tenant: str, *events, clock=lambda: 0.0, secrets_key: bytes | None = None
) -> None:
    """Apply routing events as the routing-status consumer does, in one transaction
    (with the service's ``secrets_key`` when the events read telephony secrets)."""

    async def apply() -> None:
        db = Database(database_url)
        if secrets_key is not None:
            telephony_secrets.bind_key(db, secrets_key)
        handle = make_handler(clock)
        async with db.transaction() as conn:
            for number, event in enumerate(events, start=1):
                envelope = new_envelope(
                    event,
                    source="callcenter.routing",
                    tenant=tenant,
                    stream_id=f"routing:{tenant}",
                    stream_version=number,
                    correlation_id=getattr(event, "call_id", "config"),
                )
                await handle(conn, envelope)
        await db.dispose()

    asyncio.run(apply())


@pytest.fixture
def ivr_settings(database_url: str, tmp_path: Path) -> Settings:
    upgrade("callcenter.ivr", database_url)
    return Settings(
        database_url=database_url,
        # no broker: the relay and consumers are not what these tests are about
        kafka=KafkaSettings(bootstrap_servers="127.0.0.1:9"),
        run_relay=False,
        run_consumers=False,
        data_dir=tmp_path,
        signing_key=KEY,
        demo_tenant="",
        deliver_webhooks=False,
    )


@pytest.fixture
def client(ivr_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(ivr_settings)) as client:
        yield client


@pytest.fixture
def queues(database_url: str, ivr_settings: Settings) -> None:
    """Routing has configured the queues the test flows use, for tenant acme."""
    deliver(
        database_url,
        "acme",
        QueueConfigured(queue_id="sales", name="Sales", at=AT),
        QueueConfigured(queue_id="general", name="General", at=AT),
    )


@pytest.fixture
def ivr_database(database_url: str, ivr_settings: Settings) -> Callable[[], Database]:
    """Opens the IVR's database as the service does: with its secrets key."""
    key = telephony_secrets.secrets_key(ivr_settings)

    def open_database() -> Database:
        db = Database(database_url)
        telephony_secrets.bind_key(db, key)
        return db

    return open_database


@pytest.fixture(name="deliver")
def _deliver(ivr_settings: Settings):
    return functools.partial(deliver, secrets_key=telephony_secrets.secrets_key(ivr_settings))


# Twilio's documented verbs and their attributes (twilio.com/docs/voice/twiml).
VERBS = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Gather": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "numDigits",
        "input",
        "actionOnEmptyResult",
        "speechTimeout",
        "hints",
        "language",
        "partialResultCallback",
    },
    "Enqueue": {"action", "method", "waitUrl", "waitUrlMethod", "workflowSid"},
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "transcribe",
    },
    "Dial": {"action", "method", "timeout", "callerId", "record"},
    "Hangup": set(),
    "Pause": {"length"},
    "Redirect": {"method"},
}
NESTED_IN_GATHER = {"Say", "Play", "Pause"}


def valid_twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    for verb in root:
        assert verb.tag in VERBS, verb.tag
        assert set(verb.attrib) <= VERBS[verb.tag], (verb.tag, verb.attrib)
        if verb.tag == "Gather":
            assert verb.attrib["numDigits"].isdigit() if "numDigits" in verb.attrib else True
            assert int(verb.attrib["timeout"]) >= 1
            for child in verb:
                assert child.tag in NESTED_IN_GATHER
                assert set(child.attrib) <= VERBS[child.tag]
    return root


@pytest.fixture(name="assert_valid_twiml")
def _assert_valid_twiml():
    """Checks TwiML against Twilio's documented verbs and attributes; returns the root."""
    return valid_twiml
