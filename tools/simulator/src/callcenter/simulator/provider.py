"""The telephony provider's side of outbound calls: an HTTP endpoint the IVR's signed
status callbacks reach (the JSON provider), where a dial order becomes a simulated callee
who answers, is busy, lets it ring, or is an answering machine, reported back to the IVR
as a provider would (``POST /v1/calls/{id}/outbound-status``)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[dict[str, Any]], Awaitable[None]]
SIGNATURE_HEADER = "X-Callcenter-Signature"


def verified(secret: str, header: str, body: bytes) -> bool:
    """The IVR's ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return bool(timestamp) and hmac.compare_digest(expected.hexdigest(), given)


class Provider:
    """Receives the IVR's callbacks on ``url``; each verified one goes to ``handle``."""

    def __init__(self, handle: Handler, port: int) -> None:
        self.secret = secrets.token_hex(16)
        self.port = port
        self.url = f"http://127.0.0.1:{port}/callbacks"
        self._handle = handle
        self.rejected = 0
        app = Starlette(routes=[Route("/callbacks", self._callback, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, lifespan="off")  # fmt: skip
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def _callback(self, request: Request) -> Response:
        body = await request.body()
        if not verified(self.secret, request.headers.get(SIGNATURE_HEADER, ""), body):
            self.rejected += 1
            return Response(status_code=401)
        await self._handle(json.loads(body))
        return Response(status_code=204)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                await self._task  # raises why it could not start
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
