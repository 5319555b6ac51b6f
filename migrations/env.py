"""Alembic runs the migrations on the async engine of ENTENTE_DATABASE_URL, or on the
URL a caller put in `config.attributes["database_url"]` (the CLI and the tests do)."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from app.config import get_settings
from app.db import create_engine
from app.models import Base
from app.sessions.models import ORDINAL_INDEX

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    url: str = config.attributes.get("database_url") or get_settings().database_url
    return url


def include_name(name: str | None, type_: str, _: object) -> bool:
    # An expression index that the models cannot declare portably (see sessions/models.py).
    return not (type_ == "index" and name == ORDINAL_INDEX)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most constraints; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_engine(database_url())
    # Disposed also when a migration fails (a downgrade that refuses): the pool's
    # connection would otherwise outlive the event loop that asyncio.run closes.
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Batch mode rebuilds a table by copying it and dropping the original; with
                # foreign keys enforced, that drop would cascade to every row that refers to
                # it. The pragma only takes effect outside a transaction, hence on the raw
                # connection.
                raw = await connection.get_raw_connection()
                await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
