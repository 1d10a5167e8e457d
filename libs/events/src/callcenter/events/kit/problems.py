"""RFC 9457 problem details (``application/problem+json``) for every error a service returns."""

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from .logs import CORRELATION_HEADER, correlation_id

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """The problem document, as OpenAPI shows it; extensions vary by error."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None


async def send_problem(
    scope: dict[str, Any],
    send: Any,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answers a raw ASGI request with a problem document (for middleware that refuses
    a request before the app sees it)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
        }
    ).encode()
    raw_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.encode(), value.encode()) for name, value in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring problem+json answers for these statuses."""
    content = {PROBLEM_MEDIA_TYPE: {"schema": Problem.model_json_schema()}}
    return {
        status: {"description": HTTPStatus(status).phrase, "content": content}
        for status in statuses
    }


logger = logging.getLogger(__name__)


class ProblemError(Exception):
    """An error the client should see as a problem document.

    ``extensions`` become extra members of the document (e.g. ``errors=[...]``);
    ``headers`` are sent with the response (e.g. ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    type: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = {
        **extensions,
        "type": type,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        exc.title,
        exc.detail,
        type=exc.type,
        headers=exc.headers,
        **exc.extensions,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = str(exc.detail)
    if detail == title:  # Starlette's default detail says nothing the title does not
        detail = f"{title}: {request.method} {request.url.path}"
    return problem_response(request, exc.status_code, title, detail, headers=exc.headers)


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    loc = error["loc"]
    if error["type"] == "json_invalid":  # loc is ("body", <character offset>)
        return {
            "field": "body",
            "reason": f"Invalid JSON at position {loc[-1]}: {error['ctx']['error']}",
        }
    return {"field": ".".join(str(part) for part in loc), "reason": error["msg"]}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    detail = f"{errors[0]['field']}: {errors[0]['reason']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(request, 422, "Invalid request", detail, errors=errors)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # Starlette runs this handler outside every middleware, so the correlation
    # middleware cannot add its header to this response: do it here.
    headers = {CORRELATION_HEADER: cid} if (cid := correlation_id.get()) else None
    return problem_response(
        request,
        500,
        "Internal Server Error",
        "The server failed to handle the request; it has been logged.",
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unhandled_error)
