"""One service's database: an async SQLAlchemy engine on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

_READONLY = "callcenter_readonly"


def async_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs; pick the async driver."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(
        parsed.drivername, parsed.drivername
    )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def json_text(value: Any) -> str:
    """JSON columns' text: orjson, several times faster than the standard library's
    (every event, snapshot and stored answer goes through it). Non-string keys become
    strings, as the standard library makes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_JSON_CODEC = {"json_serializer": json_text, "json_deserializer": orjson.loads}


def driver_sql(conn: Connection | AsyncConnection, statement: str) -> str:
    """``statement``, written with ``?`` placeholders, in the parameter style of the
    connection's driver (sqlite3: ``?``, asyncpg: ``$1, $2``), for ``exec_driver_sql``.

    For the rows written in bulk on a hot path (a batch's events, the IVR's calls):
    SQLAlchemy Core's per-row parameter processing took about as long as the database's
    own insert. The values are passed as the driver takes them (JSON as text)."""
    match conn.dialect.paramstyle:
        case "qmark":
            return statement
        case "numeric_dollar":
            return _numbered(statement)
        case style:
            raise ValueError(f"no driver statements for the {style} parameter style")


@functools.cache
def _numbered(statement: str) -> str:
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(numbers)}", statement)


class Database:
    """Write transactions are serialized; read transactions are not.

    On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that two
    writers never deadlock upgrading their locks; WAL lets readers go on. On
    PostgreSQL, appends to the event store take a transaction advisory lock
    (see ``store.append``) so that commit order equals position order.
    """

    def __init__(self, url: str, *, echo: bool = False, **engine_options: Any) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url, echo=echo, **_JSON_CODEC, **engine_options
        )
        self.dialect = self.engine.dialect.name
        self._writer: _SqliteWriter | None = None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine.sync_engine)
            if make_url(self.url).database not in (None, "", ":memory:"):
                self._writer = _SqliteWriter(url, echo=echo)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: commits on success, rolls back on any error."""
        async with self.engine.begin() as conn:
            yield conn

    async def run_transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` (plain blocking code on a synchronous connection) in a write
        transaction: commits if it returns, rolls back if it raises.

        For many statements at once (a batch). On a SQLite file it runs on a thread
        of its own with the standard driver, crossing threads once for the whole
        transaction, where aiosqlite crosses several times per statement: each
        crossing is a wake-up of the other thread and of the event loop. ``work``
        must therefore not touch the event loop's objects. On PostgreSQL it runs on
        the event loop through SQLAlchemy's greenlet adapter (``run_sync``).
        """
        if self._writer is not None:
            return await self._writer.run(work)
        async with self.engine.begin() as conn:
            return await conn.run_sync(work)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (never takes SQLite's write lock)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_READONLY: True})
            async with conn.begin():
                yield conn

    async def forget_old_versions(self) -> None:
        """SQLite: copy the write-ahead log into the database file and empty it, so that
        no older version of a changed row is left in it (after an erasure). Deleted
        content in the file itself is zeroed (``secure_delete``). PostgreSQL keeps dead
        row versions until VACUUM: operations run it (docs/operations.md)."""
        if self.dialect != "sqlite":
            return
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer is not None:
            self._writer.close()


class _SqliteWriter:
    """A synchronous engine on the same SQLite file, used from one thread only."""

    def __init__(self, url: str, *, echo: bool) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        self.engine = create_engine(sync_url, echo=echo, pool_size=1, max_overflow=0, **_JSON_CODEC)
        _configure_sqlite(self.engine)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return work(conn)

    def close(self) -> None:
        # On its own thread: a sqlite3 connection may only be closed where it was made.
        self._thread.submit(self.engine.dispose).result()
        self._thread.shutdown(wait=True)


def _configure_sqlite(engine: Engine) -> None:
    # The pysqlite/aiosqlite driver's own transaction handling is switched off
    # so that we can emit BEGIN IMMEDIATE ourselves (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First: the journal-mode switch below waits for other connections' locks too.
        cursor.execute("PRAGMA busy_timeout=10000")
        # WAL is kept in the file: switch only once (migrations switch it first). The
        # switch wants the database to itself and may fail at once ("database is
        # locked") while others write.
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted content is overwritten, not left in free pages (the CRM's erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
