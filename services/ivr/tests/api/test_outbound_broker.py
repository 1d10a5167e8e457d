"""Through the real broker: routing's OutboundCallRequested reaches the IVR's consumer,
the leg is placed, and the provider's report comes out as OutboundCallStatus on
callcenter.ivr, where routing reads it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from callcenter.events.catalogue.routing import OutboundCallRequested
from callcenter.events.testing import publish_streams, read_topic
from callcenter.ivr.app import create_app

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.broker
def test_an_outbound_leg_from_routing_to_its_status_through_the_broker(
    ivr_settings, kafka, tmp_path, bearer
):
    settings = ivr_settings.model_copy(
        update={"kafka": kafka, "run_relay": True, "run_consumers": True}
    )
    with TestClient(create_app(settings)) as client:
        callbacks = {"status_callback_url": "https://pbx.example/cb"}
        assert client.put("/v1/telephony", json=callbacks, headers=bearer()).status_code == 200
        order = OutboundCallRequested(
            call_id="b1", number="+15550001111", queue_id="sales", campaign_id="k1", at=AT
        )
        publish_streams(kafka, tmp_path / "routing.db", "routing", {"routing:acme": [order]})
        report = {"status": "in-progress", "answered_by": "human"}
        deadline = time.monotonic() + 30
        while (
            answer := client.post("/v1/calls/b1/outbound-status", json=report, headers=bearer())
        ).status_code == 404:
            assert time.monotonic() < deadline, "the IVR never got routing's order"
            time.sleep(0.05)
        assert answer.json()["outcome"] == "answered"
        seen = asyncio.run(read_topic(kafka, "callcenter.ivr", until="OutboundCallStatus"))
    assert ("OutboundCallStatus", "ivr.leg:acme:b1") in seen
