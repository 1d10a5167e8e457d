import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from callcenter.events.kit.logs import (
    CorrelationIdMiddleware,
    JsonFormatter,
    configure_logging,
    correlation_id,
    mask_pii,
)

log = logging.getLogger("callcenter.test.calls")


@pytest.fixture
def json_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[dict]]]:
    """Reads the JSON log lines written to stdout so far; removes the JSON handler afterwards."""
    yield lambda: [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(CorrelationIdMiddleware)

    @app.get("/v1/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, str | None]:
        log.info("call %s from +33 6 28 12 34 56", call_id, extra={"caller": "bob@example.com"})
        return {"correlation_id": correlation_id.get()}

    return app


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ani +33628123456", "ani *********56"),
        ("call 06 28 12 34 56 now", "call ********56 now"),
        ("dial 555-123-4567.", "dial ********67."),
        ("mail alice.smith@example.co.uk", "mail a***@example.co.uk"),
        ("port 8080, 123456 retries", "port 8080, 123456 retries"),
        ("call 3f2b9c1e-5d4a-4c7b-9e2f-123456789012", "call 3f2b9c1e-5d4a-4c7b-9e2f-123456789012"),
        ("at 2024-05-12T10:00:00Z", "at 2024-05-12T10:00:00Z"),
    ],
)
def test_mask_pii(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_log_line_is_json_with_masked_pii_and_extras(json_lines: Callable[[], list[dict]]) -> None:
    configure_logging("routing", "DEBUG")
    token = correlation_id.set("corr-1")
    try:
        log.warning("agent a.b@example.com rang %s", "+33628123456", extra={"ani": "+33628123456"})
    finally:
        correlation_id.reset(token)
    log.error("without correlation", extra={"attempt": 2})

    try:
        raise ValueError("bad number 0628123456")
    except ValueError:
        log.exception("failed")

    first, second, third = json_lines()
    assert first["message"] == "agent a***@example.com rang *********56"
    assert first["ani"] == "*********56"
    assert first["correlation_id"] == "corr-1"
    assert first["level"] == "WARNING"
    assert first["logger"] == "callcenter.test.calls"
    assert first["service"] == "routing"
    assert first["time"].endswith("+00:00")
    assert "correlation_id" not in second
    assert second["attempt"] == 2
    assert "ValueError: bad number ********56" in third["exception"]


def test_configure_logging_twice_keeps_one_json_handler() -> None:
    configure_logging("a")
    configure_logging("b", "WARNING")
    root = logging.getLogger()
    try:
        handlers = [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]
        assert len(handlers) == 1
        assert root.level == logging.WARNING
    finally:
        for handler in handlers:
            root.removeHandler(handler)


@pytest.mark.asyncio
async def test_request_correlation_id_is_echoed_and_logged(
    json_lines: Callable[[], list[dict]],
) -> None:
    configure_logging("routing")
    async with client() as http:
        response = await http.get("/v1/calls/c1", headers={"X-Correlation-Id": "abc-123"})

    assert response.headers["X-Correlation-Id"] == "abc-123"
    assert response.json() == {"correlation_id": "abc-123"}
    assert correlation_id.get() is None
    [line] = [line for line in json_lines() if line["logger"] == "callcenter.test.calls"]
    assert line["correlation_id"] == "abc-123"
    assert line["message"] == "call c1 from *********56"
    assert line["caller"] == "b***@example.com"


@pytest.mark.asyncio
@pytest.mark.parametrize("sent", [None, "bad id\twith spaces", "x" * 200])
async def test_missing_or_unsafe_correlation_id_is_replaced(sent: str | None) -> None:
    headers = {"X-Correlation-Id": sent} if sent else {}
    async with client() as http:
        response = await http.get("/v1/calls/c1", headers=headers)

    echoed = response.headers["X-Correlation-Id"]
    assert echoed != sent and len(echoed) == 36
    assert response.json() == {"correlation_id": echoed}
