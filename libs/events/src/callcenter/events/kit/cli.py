"""Each service's command line: ``callcenter-<service> migrate|serve``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Mapping
from types import FrameType

import uvicorn
from fastapi import FastAPI

from callcenter.events.kit.migrations import upgrade
from callcenter.events.kit.settings import ServiceSettings


def service_command(
    package: str,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: Callable[[ServiceSettings], FastAPI],
    tools: Mapping[str, Callable[[list[str]], None]] | None = None,
) -> Callable[[list[str] | None], None]:
    """``migrate`` and ``serve``, plus the service's own ``tools`` (each parses its arguments)."""
    tools = dict(tools or {})

    def main(argv: list[str] | None = None) -> None:
        argv = sys.argv[1:] if argv is None else argv
        if argv and argv[0] in tools:
            tools[argv[0]](argv[1:])
            return
        settings = settings_factory()
        parser = argparse.ArgumentParser(
            prog=f"callcenter-{settings.service}",
            epilog=f"also: {', '.join(sorted(tools))} (--help for each)" if tools else None,
        )
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser("migrate", help="bring the database schema to the latest revision")
        serve = commands.add_parser("serve", help="run the HTTP API, relay and consumers")
        serve.add_argument("--host", default=settings.host)
        serve.add_argument("--port", type=int, default=settings.port)
        args = parser.parse_args(argv)
        if args.command == "migrate":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            upgrade(package, settings.resolved_database_url())
            return
        app = app_factory(settings)
        config = uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_config=None,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 5,
        )
        _Server(config, app.state.runtime.closing).run()

    return main


class _Server(uvicorn.Server):
    """Tells the app the moment the server begins to stop, so that long-lived
    responses (event streams) end at once instead of holding the shutdown for
    its whole grace period."""

    def __init__(self, config: uvicorn.Config, closing: asyncio.Event) -> None:
        super().__init__(config)
        self._closing = closing

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        try:  # a signal handler, on the event loop's thread
            asyncio.get_running_loop().call_soon_threadsafe(self._closing.set)
        except RuntimeError:
            self._closing.set()
