import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar, cast
from uuid import uuid4

import orjson
from fastapi import Depends, Request
from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    MetaData,
    String,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.base import Executable

from app.config import get_settings
from app.errors import Conflict, NotFound
from app.ids import new_id
from app.json_sql import listed
from app.pagination import json_array

# One naming convention, so that migrations name constraints the same on every database
# and `alembic check` can compare them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, str]: JSON, list[str]: JSON}  # noqa: RUF012 (SQLAlchemy API)


def enum_column(enum: type[StrEnum], name: str) -> Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint, the same on every database."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Identified:
    """The `id`, `created_at` and `updated_at` that every public resource carries."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


# True while a request or command that writes runs: its SQLite transactions then take the
# write lock at BEGIN, so that two writers queue instead of failing to upgrade a read lock.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def _configure_sqlite(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling would commit at each SAVEPOINT release; turn it
    # off and let SQLAlchemy say BEGIN (see _begin_sqlite), as SQLAlchemy's docs advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


# A connection idle this long is pinged before use: after a database restart it is dead,
# and the ping finds that out before a request does. Busy connections are not pinged: a
# ping on every checkout (SQLAlchemy's pool_pre_ping) costs each request a round trip,
# three on asyncpg outside autocommit. A connection that dies while busy fails its request
# with a 503 and the pool then replaces every connection older than the failure.
PING_AFTER_IDLE_SECONDS = 5.0


def _note_checkin(_: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
    idle_since = record.info.pop("idle_since", None)
    if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError(str(error)) from error  # the pool retries with a new one


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, transaction_pooling: bool | None = None
) -> AsyncEngine:
    """The worker's one engine and its one pool of `pool_size` connections.

    With `transaction_pooling` (PgBouncer in transaction mode in front of PostgreSQL; by
    default as ENTENTE_DB_TRANSACTION_POOLING says), a server connection is ours only for
    one transaction: no prepared statement is kept from one to the next, and each is named
    anew so that two clients' never collide."""
    if transaction_pooling is None:
        transaction_pooling = get_settings().db_transaction_pooling
    kwargs: dict[str, Any] = {"echo": echo}
    postgresql = url.startswith("postgresql")
    if postgresql:
        connect_args: dict[str, Any] = {"timeout": CONNECTION_WAIT_SECONDS, "command_timeout": 30}
        if transaction_pooling:
            connect_args |= {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                # Not new_id(): a seed's ids are a sequence of its own (ids.reproducible_ids).
                "prepared_statement_name_func": lambda: f"__entente_{uuid4().hex}__",
            }
        kwargs |= {
            # No overflow: an overflow connection is closed when returned and reopened at
            # the next burst; a request waits its turn instead.
            "pool_size": pool_size,
            "max_overflow": 0,
            # Fail fast while the database is down (503), rather than hang the request.
            "pool_timeout": CONNECTION_WAIT_SECONDS,
            "connect_args": connect_args,
        }
    engine = create_async_engine(url, **kwargs)
    if postgresql:
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
    return engine


def reads_of(engine: AsyncEngine, *, transaction_pooling: bool) -> AsyncEngine:
    """The same engine and pool, for requests that only read. On PostgreSQL their
    statements run without BEGIN and COMMIT, two round trips saved: at READ COMMITTED
    every statement takes its own snapshot anyway. Not behind a transaction pooler, which
    may hand each statement outside a transaction to another server; nor on SQLite, where
    a transaction costs no round trip and gives a read's statements one snapshot."""
    if engine.dialect.name != "postgresql" or transaction_pooling:
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How long a request waits for a connection (a full pool, or one opening) before it is
# answered 503: the database is down or overwhelmed.
CONNECTION_WAIT_SECONDS = 5


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler succeeds, rolled back
    otherwise. Services flush; only this dependency commits."""
    if request.method in READ_METHODS:
        # Nothing to commit: the session begins on first use and closing it ends that.
        async with request.app.state.read_sessionmaker() as db:
            yield db
        return
    async with request.app.state.sessionmaker() as db, db.begin():
        yield db


class Document(dict[str, Any]):
    """A record's JSON document as the database wrote it: its values, and `json`, the
    text itself, which is what is served and what its ETag hashes (`json_bytes`). The
    databases space their JSON otherwise than orjson, so the text cannot be made again
    from the values. Read-only: a changed copy (`document | {...}`) is a plain dict,
    serialized anew."""

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        super().__init__(orjson.loads(json))
        self.json = json


def json_bytes(content: Any) -> bytes:
    """`content` as served: a Document as the database wrote it, anything else by orjson."""
    return content.json if isinstance(content, Document) else orjson.dumps(content)


# A statement written once for every database (json_sql.statement_for), made for one by
# its dialect's name.
StatementFor = Callable[[str], Executable]


async def fetch_json(
    db: AsyncSession, statement: StatementFor, params: dict[str, Any], *, missing: str
) -> bytes:
    """The JSON document a statement builds for one record, as the database wrote it; 404
    with the detail `missing` when there is no such record."""
    document = await db.scalar(statement(dialect_of(db)), params)
    if document is None:
        raise NotFound(missing)
    return cast(str, document).encode()


async def fetch_document(
    db: AsyncSession, statement: StatementFor, params: dict[str, Any], *, missing: str
) -> Document:
    """fetch_json's document, with its values."""
    return Document(await fetch_json(db, statement, params, missing=missing))


async def fetch_documents_of(
    db: AsyncSession, statement: StatementFor, ids: Sequence[str]
) -> dict[str, Document]:
    """The documents of the records `ids`, by id, from a statement whose rows are (id,
    document) and whose parameter `ids` is a list (`JsonSql.among`); a record that does
    not exist is absent."""
    rows = await db.execute(statement(dialect_of(db)), {"ids": listed(dialect_of(db), ids)})
    return {record_id: Document(document.encode()) for record_id, document in rows}


async def fetch_documents(
    db: AsyncSession, statement: StatementFor, params: dict[str, Any]
) -> bytes:
    """The documents a statement builds, one a row, as one JSON array."""
    return json_array(await db.scalars(statement(dialect_of(db)), params))


# scope="function" commits before the response is sent, so a client never sees a 201
# for a write whose commit then failed.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def dialect_of(db: AsyncSession) -> str:
    """The name of the database's dialect: `postgresql` or `sqlite`."""
    return db.get_bind().dialect.name


def as_db_time(db: AsyncSession, moment: datetime) -> datetime:
    """A time as the database compares it: SQLite keeps UTC timestamps without offset."""
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if dialect_of(db) == "sqlite" else moment


async def ensure_free(
    db: AsyncSession, column: Any, value: Any, message: str, *, other_than: str | None = None
) -> None:
    """409 when a record other than `other_than` already holds `value` in a unique column:
    named here, before the unique index would refuse it without saying which."""
    model = column.class_
    stmt = select(model.id).where(column == value)
    if other_than is not None:
        stmt = stmt.where(model.id != other_than)
    if await db.scalar(stmt) is not None:
        raise Conflict(message)


async def insert_rows(db: AsyncSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows of a model's table, all with the same keys, as one executemany. Not
    through the ORM's bulk insert, which starts a new statement wherever a row's None
    values differ from the previous row's: with optional fields, a statement a row."""
    if rows:
        await db.execute(insert(model.__table__), rows)


async def plan_for_bulk_work(db: AsyncSession) -> None:
    """Ready the transaction of `db` for writing and reading back thousands of records: on
    PostgreSQL, no JIT compilation for the rest of it. Records written in the transaction
    have no statistics yet, and the documents of a thousand of them read back at once
    are estimated costly enough to be compiled: 0.9 s a statement, more than running it
    (bench/NOTES.md, "Bulk import")."""
    if dialect_of(db) == "postgresql":
        await db.execute(text("SET LOCAL jit = off"))


# Values a statement lists in one `IN (...)` at most: each is a parameter, and drivers
# take at most 32,767 parameters a statement.
IN_LIST = 1000


def in_chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """`values`, without repeats, in lists of at most IN_LIST, for `IN (...)` lists."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_LIST):
        yield unique[start : start + IN_LIST]


V = TypeVar("V")


async def taken_in_batch(
    db: AsyncSession, column: Any, values: Sequence[tuple[int, Any]]
) -> list[tuple[int, Any]]:
    """For a batch of new records, each value (with its record's place) that a stored
    record holds already in the unique `column`, or that an earlier record of the batch
    holds: what ensure_free refuses, for many records at once."""
    stored: set[Any] = set()
    for chunk in in_chunks(value for _, value in values):
        stored.update(await db.scalars(select(column).where(column.in_(chunk))))
    return taken_before(stored, values)


def taken_before(stored: set[V], values: Sequence[tuple[int, V]]) -> list[tuple[int, V]]:
    """Each value of a batch (with its record's place) that `stored` holds or that an
    earlier record of the batch holds. Adds the batch's values to `stored`."""
    taken = []
    for place, value in values:
        if value in stored:
            taken.append((place, value))
        stored.add(value)
    return taken


async def lock_row(db: AsyncSession, model: Any, record_id: str) -> None:
    """Lock a record until the transaction ends (PostgreSQL; SQLite has one writer at a
    time), so that a read-check-write such as If-Match cannot interleave with another."""
    await db.execute(select(model.id).where(model.id == record_id).with_for_update())


async def touch(db: AsyncSession, model: Any, record_id: str) -> None:
    """Mark a record as changed when a part of it (a participant, an office) changed."""
    await touch_all(db, model, [record_id])


async def touch_all(db: AsyncSession, model: Any, record_ids: Iterable[str]) -> None:
    """`touch` for many records at once."""
    for chunk in in_chunks(record_ids):
        await db.execute(update(model).where(model.id.in_(chunk)).values(updated_at=utcnow()))
