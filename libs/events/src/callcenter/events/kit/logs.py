"""Structured JSON logs with the request's correlation id; phone numbers and emails masked."""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.events.correlation import correlation_id
from callcenter.events.envelope import new_event_id

CORRELATION_HEADER = "X-Correlation-Id"


_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# 7+ digits, optionally led by "+" and split by single spaces or dashes. The lookarounds
# leave digits inside identifiers (UUIDs, hashes) and ISO timestamps alone; a bare
# date (2024-05-12) has 8 digits and is masked.
_PHONE = re.compile(r"(?<![\w-])\+?\d(?:[ -]?\d){6,}(?![\w-])")
# Accepted as is from clients; anything else is replaced, so a header cannot forge log content.
_VALID_CORRELATION_ID = re.compile(r"[\w.:-]{1,128}")
# Libraries whose records carry the data itself (SQL parameters, message payloads: names,
# notes, numbers in any format) below these levels: kept there even when the service
# logs DEBUG (SQLAlchemy's engine logs every statement with its parameters at INFO).
DATA_LOGGERS = {
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.WARNING,
    "aiosqlite": logging.INFO,
    "aiokafka": logging.INFO,
    "asyncpg": logging.INFO,
    "httpx": logging.INFO,
    "httpcore": logging.INFO,
}
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_pii(text: str) -> str:
    """``+33 6 28 12 34 56`` -> ``*********56``; ``alice@example.com`` -> ``a***@example.com``."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(r"\1***@\2", text))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_pii(record.getMessage()),
            "service": self.service,
        }
        if (cid := correlation_id.get()) is not None:
            entry["correlation_id"] = cid
        if record.exc_info:
            entry["exception"] = mask_pii(self.formatException(record.exc_info))
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:  # an ``extra`` field; the fields above win
                entry.setdefault(key, mask_pii(value) if isinstance(value, str) else value)
        return json.dumps(entry, default=str, ensure_ascii=False)


class DropQueryStrings(logging.Filter):
    """uvicorn's access records carry ``(client, method, path?query, http version, status)``;
    query strings (``?name=Martin&phone=...``) may hold customers' data: drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Log JSON lines to stdout from the root logger; calling it again replaces the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in DATA_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())


class CorrelationIdMiddleware:
    """Bind the request's ``X-Correlation-Id`` (or a new uuid4) to the logs and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(CORRELATION_HEADER, "")
        cid = incoming if _VALID_CORRELATION_ID.fullmatch(incoming) else new_event_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
            await send(message)

        token = correlation_id.set(cid)
        await self.app(scope, receive, send_with_id)
        # Not reset when the app raises: Starlette runs the catch-all 500 handler
        # outside every middleware, and that handler logs and echoes the id.
        correlation_id.reset(token)
