"""Alembic, driven from code: each service keeps its migrations in its own package.

``callcenter.<service>/migrations/env.py`` calls ``run_env(metadata)``; the
service's first revision calls ``create_backbone_tables()`` to create the
event store and the relay's and consumers' bookkeeping tables.
"""

from __future__ import annotations

import asyncio

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.events import store
from callcenter.events.db import async_url


def alembic_config(package: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", async_url(database_url))
    return config


def upgrade(package: str, database_url: str, revision: str = "head") -> None:
    """Migrate a service's database (``make migrate``, a Kubernetes Job, a test)."""
    command.upgrade(alembic_config(package, database_url), revision)


def downgrade(package: str, database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(package, database_url), revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's ``env.py`` (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        if engine.dialect.name == "sqlite":
            # The file is in WAL mode before the service or anything else opens it: the
            # switch wants the database to itself and fails at once ("database is
            # locked") when made by a connection opened beside a running service.
            async with engine.connect() as connection:
                await connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def create_backbone_tables() -> None:
    """Revision 0001 of every service: the event store and its bookkeeping tables.

    Changing ``store.metadata`` later needs a new revision in every service.
    """
    store.metadata.create_all(op.get_bind())


def drop_backbone_tables() -> None:
    store.metadata.drop_all(op.get_bind())
