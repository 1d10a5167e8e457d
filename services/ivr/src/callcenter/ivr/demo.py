"""The demo flow for `make run`: installed once for the demo tenant and number."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from importlib import resources

import yaml
from sqlalchemy.exc import DBAPIError

from callcenter.events.db import Database
from callcenter.events.envelope import format_time
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.domain.validation import check_flow
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding, StoredFlow

log = logging.getLogger(__name__)
DEMO_FLOW_ID = "main"


def demo_flow() -> Flow:
    text = resources.files("callcenter.ivr").joinpath("flows/demo.yaml").read_text()
    return Flow.model_validate(yaml.safe_load(text))


async def install_demo(db: Database, tenant: str, number: str) -> bool:
    """Publish the demo flow and bind the number, unless the tenant has the flow already."""
    flow = demo_flow()
    # Routing may not have told us its queues yet: the queue check is left out here.
    assert not check_flow(flow, None), "the demo flow must be valid"
    async with db.transaction() as conn:
        if await queries.latest_flow(conn, tenant, DEMO_FLOW_ID) is not None:
            return False
        stored = StoredFlow(
            DEMO_FLOW_ID,
            1,
            flow.model_dump(mode="json", exclude_defaults=True),
            format_time(datetime.now(UTC)),
            "demo",
        )
        await queries.add_flow_version(conn, tenant, stored)
        if await queries.binding(conn, number) is None:
            bound = Binding(number, tenant, DEMO_FLOW_ID, 1)
            await queries.bind_number(conn, bound, stored.created_at)
    log.info("installed the demo flow for tenant %s on %s", tenant, number)
    return True


def demo_installer(db: Database, tenant: str, number: str):  # type: ignore[no-untyped-def]
    async def run(stop: asyncio.Event) -> None:
        try:
            await install_demo(db, tenant, number)
        except DBAPIError as error:  # not migrated yet: `make migrate` first
            log.warning("demo flow not installed: %s", error)

    return run
