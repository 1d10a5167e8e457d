"""A bound on request bodies: past it, ``413 Content Too Large`` (problem+json).

A declared ``Content-Length`` over the limit is refused before the app sees the request;
a body sent without one (chunked) is counted as it arrives and refused once it passes the
limit, so no handler ever holds more than the limit in memory. The limit is per service
(``max_body_bytes``, 1 MiB by default), with larger ones for the routes that take uploads
(``upload_body_limits``: a path pattern -> bytes, e.g. contact lists).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.events.kit.problems import send_problem

MIB = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while the app reads the body: FastAPI passes HTTP
    exceptions through its body parsing, and the kit renders them as problems."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, limit: int, overrides: Mapping[str, int] | None = None
    ) -> None:
        if limit < 1:
            raise ValueError("the body limit must be at least 1 byte")
        self.app = app
        self.limit = limit
        self.overrides = [
            (re.compile(pattern), size) for pattern, size in (overrides or {}).items()
        ]

    def limit_for(self, path: str) -> int:
        for pattern, size in self.overrides:
            if pattern.fullmatch(path):
                return size
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    detail = f"The request body is larger than {limit} bytes"
    await send_problem(scope, send, 413, detail, {"connection": "close"})
