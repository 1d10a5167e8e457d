"""The call-control routes' request handling, written out for their few kinds of
parameters instead of going through FastAPI's general dependency machinery.

A telephony provider's webhooks (a call's start, each input, the hang-up) are the
IVR's hot path, and FastAPI's per-request work for them (solving the dependency
tree level by level, validating again the answer it was handed) cost more CPU than
the rest of the request's handling in the process (docs/benchmarks.md). FastAPI
documents the routes from their endpoints' signatures and keeps them in its router;
``CallRoute`` decodes the requests the way FastAPI does, with the same errors in
the same order:

- the body is read first: not JSON (by its content type) it is kept as bytes,
  which no model accepts; JSON that does not parse is a 422 naming ``body``, a
  body that cannot be decoded at all a 400, both before authentication;
- then the bearer token and the role (401, 403), by the route's own dependency;
- then every field error at once, the path's before the body's (422).

An endpoint's answer is a model of its ``response_model``: it is sent as it is.

``CallShortcut`` then takes the call routes' POSTs to them directly: FastAPI's way
to a route (matching the path against every route of every router, its exception
and exit-stack middleware, the wrappers around each request) cost about 50 us a
request, as much again as the route's own decoding.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any, get_type_hints

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from callcenter.events.kit.auth import bearer_scheme
from callcenter.ivr.api.deps import CallController, call_controller

# What a call route's endpoint may take, by parameter name.
PARAMETERS = frozenset({"call_id", "body", "principal", "ivr", "key"})
_MISSING = object()
PATH, BODY = ("path", "call_id"), ("body",)


class CallRoute(APIRoute):
    """A route whose endpoint takes some of ``call_id`` (path), ``body`` (a pydantic
    model, JSON), ``principal`` (``CallController``), ``ivr`` and ``key`` (the
    ``Idempotency-Key`` header), and answers a pydantic model."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        takes = set(inspect.signature(endpoint).parameters)
        hints = get_type_hints(endpoint, include_extras=True)
        if not takes <= PARAMETERS or hints.get("principal") != CallController:
            raise TypeError(f"{endpoint.__name__}: not a call route's parameters")
        body_model: type[BaseModel] | None = hints.get("body")
        call_id_type = TypeAdapter(hints["call_id"]) if "call_id" in takes else None
        status = self.status_code or 200

        async def handle(request: Request) -> Response:
            body = await _body(request) if body_model is not None else _MISSING
            values: dict[str, Any] = {
                "principal": await call_controller(request, await bearer_scheme(request)),
                "ivr": request.app.state.ivr,
                "key": request.headers.get("idempotency-key"),
            }
            errors: list[dict[str, Any]] = []
            if call_id_type is not None:
                call_id = request.path_params["call_id"]
                values["call_id"] = _valid(call_id_type.validate_python, call_id, PATH, errors)
            if body_model is not None and body is _MISSING:
                errors.append({"type": "missing", "loc": BODY, "msg": "Field required"})
            elif body_model is not None:
                values["body"] = _valid(body_model.model_validate, body, BODY, errors)
            if errors:
                raise RequestValidationError(errors)
            answer = await endpoint(**{name: values[name] for name in takes})
            return Response(answer.model_dump_json(), status, media_type="application/json")

        return handle


class CallShortcut:
    """ASGI middleware, the app's innermost (the kit's middleware applies as to any
    route: correlation id, metrics, body limit, load shedding, rate limit): a POST to
    a call route goes straight to the route's handler, with what FastAPI's router
    would have put in the scope (the path's parameters, the route for the metrics'
    label) and the app's exception handlers around it, as FastAPI's exception
    middleware does. Anything else goes on to FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[tuple[RouteContext, ASGIApp]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for context, handle in self._routes or self._find(scope["app"]):
                match, found = context.matches(scope)
                if match is Match.FULL:
                    scope.update(found, route=context.original_route)
                    await handle(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _find(self, app: FastAPI) -> list[tuple[RouteContext, ASGIApp]]:
        """The app's call routes (with their prefixes), each with its handler."""
        handlers = {
            key: handler
            for key, handler in app.exception_handlers.items()
            if key not in (500, Exception)  # the server error middleware's, outermost
        }
        self._routes = [
            (context, ExceptionMiddleware(_served(context.original_route), handlers=handlers))
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, CallRoute)
        ]
        return self._routes


def _served(route: CallRoute) -> ASGIApp:
    handler = route.get_route_handler()

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return serve


async def _body(request: Request) -> Any:
    """The body as FastAPI hands it to a model: parsed when its content type is JSON,
    else its bytes; ``_MISSING`` when empty."""
    try:
        raw = await request.body()
        if not raw:
            return _MISSING
        if not _is_json(request.headers.get("content-type")):
            return raw
        return json.loads(raw)
    except json.JSONDecodeError as error:
        problem = {"type": "json_invalid", "loc": (*BODY, error.pos), "msg": "JSON decode error"}
        raise RequestValidationError([{**problem, "ctx": {"error": error.msg}}]) from None
    except HTTPException:
        raise  # the body limit's 413
    except Exception as error:
        raise HTTPException(400, "There was an error parsing the body") from error


def _is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters and case aside (as
    ``email.message`` reads it for FastAPI)."""
    if not content_type:
        return False
    kind = content_type.partition(";")[0].strip().lower()
    if kind.count("/") != 1:
        return False
    main, subtype = kind.split("/")
    return main == "application" and (subtype == "json" or subtype.endswith("+json"))


def _valid(validate: Callable[..., Any], value: Any, loc: tuple[str, ...], errors: list) -> Any:
    """``value`` validated as FastAPI does it (``from_attributes``), or ``None`` and its
    errors added to ``errors``, placed under ``loc``."""
    try:
        return validate(value, from_attributes=True)
    except ValidationError as error:
        found = error.errors(include_url=False)
        errors += [{**item, "loc": (*loc, *item["loc"])} for item in found]
        return None
