"""The app factory every service uses: one place for the cross-cutting parts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from callcenter.events.bus import KafkaSettings
from callcenter.events.kit.auth import signing_key
from callcenter.events.kit.body_limit import BodyLimitMiddleware
from callcenter.events.kit.event_log import event_log_router
from callcenter.events.kit.health import health_router
from callcenter.events.kit.http_metrics import MetricsMiddleware, metrics_endpoint
from callcenter.events.kit.logs import CorrelationIdMiddleware, configure_logging
from callcenter.events.kit.problems import install_problem_handlers, problem_responses
from callcenter.events.kit.rate_limit import add_tenant_rate_limit
from callcenter.events.kit.revocations import revocations_from
from callcenter.events.kit.runtime import Runtime
from callcenter.events.kit.shedding import LoadSheddingMiddleware


def broker_check(kafka: KafkaSettings):
    """Readiness: a bootstrap server accepts a connection."""

    async def check() -> None:
        errors = []
        for server in kafka.bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
            except OSError as error:
                errors.append(f"{server}: {error}")
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise ConnectionError("; ".join(errors) or "no bootstrap server configured")

    return check


def create_service_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
) -> FastAPI:
    settings = runtime.settings
    configure_logging(settings.service, settings.log_level)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    secret = settings.signing_key.get_secret_value() if settings.signing_key else None
    app.state.signing_key = signing_key(secret, settings.resolved_signing_key_file())
    app.state.jwt_audience = settings.jwt_audience
    app.state.revocations = revocations_from(settings.jwt_revocations_file)
    install_problem_handlers(app)
    checks = {"database": runtime.db.ping, "broker": broker_check(settings.kafka)}
    app.include_router(health_router(checks), tags=["operations"], responses=problem_responses(503))
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    api_errors = problem_responses(400, 401, 403, 404, 409, 422, 429)
    if runtime.relay is not None:
        app.include_router(
            event_log_router(runtime), prefix="/v1", tags=["events"], responses=api_errors
        )
    for router in routers:
        app.include_router(router, prefix="/v1", responses=api_errors)
    app.add_middleware(
        LoadSheddingMiddleware, service=settings.service, limit=settings.max_in_flight_requests
    )
    add_tenant_rate_limit(app, settings.tenant_rate_limit, settings.tenant_rate_limit_burst)
    app.add_middleware(
        BodyLimitMiddleware, limit=settings.max_body_bytes, overrides=settings.upload_body_limits
    )
    app.add_middleware(MetricsMiddleware, service=settings.service)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-Id"],
            max_age=600,
        )
    return app
