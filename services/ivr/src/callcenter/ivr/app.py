import time

from fastapi import FastAPI
from starlette.middleware import Middleware

from callcenter.events.kit.app import create_service_app
from callcenter.events.kit.runtime import Runtime
from callcenter.ivr import recordings as recording_store
from callcenter.ivr.api import (
    calls,
    flows,
    numbers,
    outbound_legs,
    recordings,
    survey_policies,
    telephony,
    twilio,
)
from callcenter.ivr.api.call_route import CallShortcut
from callcenter.ivr.api.deps import Ivr
from callcenter.ivr.bindings import Bindings
from callcenter.ivr.calls import CallControl
from callcenter.ivr.consumers.routing_status import make_handler
from callcenter.ivr.demo import demo_installer
from callcenter.ivr.desk import CallDesk, FlowCache
from callcenter.ivr.dips import perform_dip
from callcenter.ivr.outbound import Outbound
from callcenter.ivr.reaper import Reaper
from callcenter.ivr.settings import Settings
from callcenter.ivr.store import telephony_secrets
from callcenter.ivr.surveys import Surveys
from callcenter.ivr.webhooks.sender import WebhookSender

DESCRIPTION = "The call-control edge and the IVR flow engine: every call enters here."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, publishes=True)
    telephony_secrets.bind_key(runtime.db, telephony_secrets.secrets_key(settings))
    import httpx

    http = httpx.AsyncClient(follow_redirects=False)
    flow_cache = FlowCache()
    desk = CallDesk(
        runtime.db,
        flow_cache,
        source="callcenter.ivr",
        committed=runtime.committed,
        max_age=settings.call_max_age_seconds,
    )

    async def dip(node, variables):  # type: ignore[no-untyped-def]
        return await perform_dip(http, node, variables)

    async def sensitive(tenant: str, call_id: str, moves) -> None:  # type: ignore[no-untyped-def]
        if await recording_store.sensitive(runtime.db, tenant, call_id, moves, time.time()):
            runtime.committed()

    control = CallControl(desk, dip, sensitive)
    reaper = Reaper(
        runtime.db,
        control,
        interval=settings.reaper_interval_seconds,
        key_ttl=settings.idempotency_key_seconds,
    )
    runtime.background("reaper", reaper.run)
    sender = WebhookSender(runtime.db, http, timeout=settings.webhook_timeout_seconds)
    runtime.consume("routing-status", ["callcenter.routing"], make_handler(sender.clock))
    outbound = Outbound(
        runtime.db,
        http,
        committed=runtime.committed,
        twilio_api_url=settings.twilio_api_url,
        public_url=settings.public_url or f"http://127.0.0.1:{settings.port}",
        report_grace=settings.outbound_report_grace_seconds,
    )
    surveys = Surveys(runtime.db, committed=runtime.committed)
    if settings.deliver_webhooks:
        runtime.background("outbound", outbound.run)
        runtime.background("surveys", surveys.run)
    if settings.deliver_webhooks:
        runtime.background("webhooks", sender.run)
    if settings.demo_tenant:
        runtime.background(
            "demo-flow", demo_installer(runtime.db, settings.demo_tenant, settings.demo_number)
        )
    app = create_service_app(
        runtime,
        title="IVR",
        description=DESCRIPTION,
        routers=[
            calls.control,
            calls.router,
            outbound_legs.router,
            survey_policies.router,
            recordings.router,
            flows.router,
            numbers.router,
            telephony.router,
            twilio.router,
        ],
    )
    # Innermost (add_middleware would put it outermost): inside the kit's middleware.
    app.user_middleware.append(Middleware(CallShortcut))
    app.state.ivr = Ivr(
        settings=settings,
        db=runtime.db,
        flows=flow_cache,
        control=control,
        bindings=Bindings(runtime.db, ttl=settings.binding_cache_seconds),
        reaper=reaper,
        outbound=outbound,
        surveys=surveys,
        committed=runtime.committed,
    )
    return app
