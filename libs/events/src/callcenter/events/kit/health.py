"""Liveness (``/healthz``) and readiness (``/readyz``) probes."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter

from .problems import ProblemError

Check = Callable[[], Awaitable[None]]

CHECK_TIMEOUT_SECONDS = 2.0


async def _run(check: Check) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # noqa: BLE001 - whatever the failure, the service is not ready
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def health_router(checks: dict[str, Check]) -> APIRouter:
    """``checks`` is read at each request, so it may be filled later (e.g. by the lifespan).

    A check passes when it returns within 2 s without raising.
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> dict[str, str | dict[str, str]]:
        names = list(checks)
        outcomes = await asyncio.gather(*(_run(checks[name]) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        failed = [name for name, outcome in results.items() if outcome != "ok"]
        if failed:
            detail = f"Failed checks: {', '.join(failed)}"
            raise ProblemError(503, "Not ready", detail, checks=results)
        return {"status": "ready", "checks": results}

    return router
