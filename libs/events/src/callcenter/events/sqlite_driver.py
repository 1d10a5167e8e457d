"""SQLite for SQLAlchemy's async engine, run on the event loop's thread.

aiosqlite gives each connection a thread and hands every call (cursor, execute,
fetch, close, commit) to it and the answer back through the event loop: four
hand-offs per statement, the larger part of the CPU an IVR call cost. A SQLite
statement takes microseconds (WAL, ``synchronous=NORMAL``: a commit does not
wait for the disk), so this driver runs it where it is awaited.

The one wait SQLite may do is for the write lock (``BEGIN IMMEDIATE``, up to
the busy timeout), and on the loop's thread that wait would stop the coroutine
holding the lock too. So ``Database`` lets one write transaction per database
file and event loop in at a time (``write_lock``): the busy timeout is left to
wait for other processes only.

``sqlite+callcenter:///path`` (``callcenter.events.db.async_url`` picks it).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

_write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def write_lock(database: str) -> asyncio.Lock:
    """The lock of ``database``'s write transactions on the running event loop."""
    loop = asyncio.get_running_loop()
    locks = _write_locks.setdefault(loop, {})
    return locks.setdefault(database, asyncio.Lock())


class _Cursor:
    """The awaitable cursor SQLAlchemy's asyncio adapter expects (aiosqlite's shape)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, size: int) -> None:
        self._cursor.arraysize = size

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Connection:
    __slots__ = ("_connection",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        return _Cursor(self._conn.execute(sql, parameters))

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def isolation_level(self) -> str | None:
        return self._connection._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._conn.isolation_level = value


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, database: str, **options: Any) -> _AdaptedConnection:
        return _AdaptedConnection(self, _Connection(sqlite3.connect(database, **options)))


class SQLiteDialect(SQLiteDialect_aiosqlite):
    driver = "callcenter"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _Dbapi:
        return _Dbapi(sqlite3, sqlite3)

    def retrieve_dbapi_version(self, dbapi: Any) -> Any:
        return None


registry.register("sqlite.callcenter", __name__, "SQLiteDialect")
