"""``callcenter-ivr migrate|serve``."""

import gc

from fastapi import FastAPI

from callcenter.events.kit.cli import service_command
from callcenter.ivr.app import create_app
from callcenter.ivr.settings import Settings


def serve_app(settings: Settings) -> FastAPI:
    """The app ``serve`` runs, with the garbage collector set for many short requests.

    What start-up built (modules, the app, the flows' models) lives as long as the
    process: frozen, no full collection walks it again. A young collection every
    10,000 allocations instead of 700: most of a request's objects are freed by
    their reference counts before one comes, instead of being walked while the
    request is in flight. Together they took the collector from about a tenth of
    the CPU of a call to under 1% (bench/ivr_calls.py, in-process).
    """
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    return app


main = service_command("callcenter.ivr", Settings, serve_app)
