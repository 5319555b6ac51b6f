import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeAlias, cast

import asyncpg
import orjson
from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Enum, MetaData, String, event, select, update
from sqlalchemy.engine import Connection, make_url
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
from sqlalchemy.util import greenlet_spawn

from app.errors import Conflict, NotFound
from app.ids import new_id

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


def create_engine(url: str, *, echo: bool = False, reads_only: bool = False) -> AsyncEngine:
    """An engine. On PostgreSQL, `reads_only` gives one whose own pool of connections runs
    each statement without BEGIN and COMMIT, two round trips saved: at READ COMMITTED, the
    level writes use, every statement of a transaction takes its own snapshot anyway, so
    reads lose nothing. SQLite reads keep their transaction (it costs no round trip and
    gives the statements of one read one snapshot): there, use one engine for both."""
    kwargs: dict[str, Any] = {"echo": echo}
    postgresql = url.startswith("postgresql")
    if postgresql:
        kwargs |= {
            # Sized for the requests one worker has in flight; no overflow, because an
            # overflow connection is closed when returned and reopened at the next burst.
            "pool_size": 20 if reads_only else 10,
            "max_overflow": 0,
            # Fail fast while the database is down (503), rather than hang the request.
            "pool_timeout": 5,
            "connect_args": {"timeout": 5, "command_timeout": 30},
        }
        if reads_only:
            kwargs["isolation_level"] = "AUTOCOMMIT"
    engine = create_async_engine(url, **kwargs)
    if postgresql:
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


# How long a request waits for a connection (a full pool, or one opening) before it is
# answered 503: the database is down or overwhelmed. The engines' pool_timeout.
CONNECTION_WAIT_SECONDS = 5
# As few as keep the two cores busy. With 16 or 32, a worker served 10 to 15% fewer
# session details; with 10 (the baseline's pool) as many as with 5 or 6, but queries
# waited for a core inside PostgreSQL, unseen and in no order: statements of 40 to 100 ms
# in PostgreSQL's log, a detail's p99 5 to 12 times its p50 under wrk. With 5 they wait
# their turn here, first come first served: p99 1.5 times p50 (bench/NOTES.md, finding 18).
# 6 since a list page costs the worker less (finding 24): with 5, PostgreSQL waited for
# it, first page 0.75 of the baseline against 0.81 to 0.84, p99 still within 2 times p50;
# with 7 a detail's p99 reached 12 times its p50 in one run of two.
DOCUMENT_CONNECTIONS = 6
# For searches, whose plans must be made for their words (`DocumentPool`'s custom_plans):
# as many as keep PostgreSQL's cores busy with searches while the documents' go on.
SEARCH_CONNECTIONS = 5


class DocumentPool:
    """PostgreSQL connections of asyncpg, without a pool library, for the reads whose rows
    PostgreSQL writes as JSON (a session detail, the direct routes' pages). SQLAlchemy's
    checkout and return, through its greenlet bridge, cost a session detail about 40 µs
    of CPU (bench/NOTES.md, finding 16); asyncpg's own pool, which passes connections
    through a queue and releases each in a task of its own, cost it about 90 µs more
    than this list of idle connections (finding 17). Statements run without BEGIN and
    COMMIT, as on the read engine, so a connection needs no reset between requests.
    Connections open as requests need them: the app starts while the database is down,
    and answers 503 until it is back."""

    def __init__(
        self,
        database_url: str,
        *,
        connections: int = DOCUMENT_CONNECTIONS,
        custom_plans: bool = False,
    ) -> None:
        """With `custom_plans`, PostgreSQL plans each statement for its parameters, always.
        Left to choose, after five executions it may keep one generic plan for every
        value; for a search that plan walks the sessions in date order, which is right for
        a common word and reads all 100,000 for a word that none has: 1.1 s instead of
        1.2 ms, after 30 searches of common words and of words that 2% of sessions have
        (bench/NOTES.md, finding 17)."""
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._settings = {"plan_cache_mode": "force_custom_plan"} if custom_plans else {}
        self._idle: list[asyncpg.Connection] = []
        # Connections opened before the last close() are closed when returned.
        self._opened_since_close: set[asyncpg.Connection] = set()
        # Requests take their turns in the order they came, one connection a turn. On a
        # pool's queue, a request woken for a returned connection can lose it to one just
        # arrived and wait again at the back: under load, the detail's p99 reached 5 to
        # 10 times its p50, against 2 to 3 times in turns (bench/NOTES.md, finding 16).
        self._turns = asyncio.Semaphore(connections)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        if self._turns.locked():
            async with asyncio.timeout(CONNECTION_WAIT_SECONDS):
                await self._turns.acquire()
        else:  # a turn is free: no wait to bound (and no timer to arm)
            await self._turns.acquire()
        try:
            connection = self._idle.pop() if self._idle else await self._connect()
            usable = True
            try:
                yield connection
            except BaseException as error:
                # A query cut short (connection lost, task cancelled) may leave the
                # connection in an unknown state: it is not given to the next request.
                usable = isinstance(error, asyncpg.PostgresError)
                raise
            finally:
                if usable:
                    self._give_back(connection)
                else:
                    self._discard(connection)
        finally:
            self._turns.release()

    async def _connect(self) -> asyncpg.Connection:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=CONNECTION_WAIT_SECONDS,
            command_timeout=30,
            server_settings=self._settings,
        )
        self._opened_since_close.add(connection)
        return connection

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if connection in self._opened_since_close and not connection.is_closed():
            self._idle.append(connection)
        else:
            self._discard(connection)

    def _discard(self, connection: asyncpg.Connection) -> None:
        self._opened_since_close.discard(connection)
        connection.terminate()

    async def close(self) -> None:
        """Close every connection (those in use when they are returned); as an engine's
        dispose, a later read opens new ones."""
        idle, self._idle = self._idle, []
        self._opened_since_close = set()
        for connection in idle:
            await connection.close(timeout=CONNECTION_WAIT_SECONDS)


# Where a PostgreSQL statement runs: a request's session, the pool of documents, or a
# connection of asyncpg's own in the write lane's transaction (app/sessions/writes.py).
Runner: TypeAlias = AsyncSession | DocumentPool | asyncpg.Connection


async def _fetch_value(db: Runner, sql: str, *args: Any) -> Any:
    """The first value of a PostgreSQL statement written with `$1`-style parameters.

    In a session's transaction, it runs on the session's connection, seeing what the
    transaction wrote. Otherwise (a read request's session, which never begins one) any
    connection of the session's pool does (see `driver_of`), or of the DocumentPool given."""
    if isinstance(db, asyncpg.Connection):
        return await db.fetchval(sql, *args)
    if isinstance(db, DocumentPool):
        async with db.connection() as connection:
            return await connection.fetchval(sql, *args)
    if db.in_transaction():
        connection = await db.connection()
        return (await connection.exec_driver_sql(sql, args)).scalar()
    engine = db.bind
    assert isinstance(engine, AsyncEngine)
    async with driver_of(engine) as driver:
        return await driver.fetchval(sql, *args)


async def fetch_row(documents: DocumentPool, sql: str, *args: Any) -> asyncpg.Record:
    """The one row of a PostgreSQL statement written with `$1`-style parameters (a page
    that json_sql.page_of_documents ends)."""
    async with documents.connection() as connection:
        row: asyncpg.Record = await connection.fetchrow(sql, *args)
        return row


@asynccontextmanager
async def driver_of(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the engine's pool as asyncpg's own, for a read request's session
    whose rows PostgreSQL writes as JSON, or a write of the write lane
    (app/sessions/writes.py): SQLAlchemy's connection and result objects would cost more
    than the query (bench/NOTES.md). Driver errors are answered as database errors are
    (app/errors.py)."""
    pooled = await engine.raw_connection()
    driver = pooled.driver_connection
    assert driver is not None
    try:
        yield driver
    except BaseException as error:
        # A query cut short (connection lost, task cancelled) may leave the connection in
        # an unknown state: close it rather than give it to the next request.
        if not isinstance(error, asyncpg.PostgresError) or driver.is_closed():
            await greenlet_spawn(pooled.invalidate, error)
        raise
    finally:
        await greenlet_spawn(pooled.close)


class Document(dict[str, Any]):
    """A record's JSON document as PostgreSQL wrote it: its values, and `json`, the text
    itself, which is what is served and what its ETag hashes (`json_bytes`). PostgreSQL
    writes `" : "` where orjson writes `:`, so the text cannot be made again from the
    values; keeping it spares a session detail the parse and second serialization, an
    eighth of its CPU (bench/NOTES.md, finding 17). Read-only: a changed copy
    (`document | {...}`) is a plain dict, serialized anew."""

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        super().__init__(orjson.loads(json))
        self.json = json


def json_bytes(content: Any) -> bytes:
    """`content` as served: a Document as PostgreSQL wrote it, anything else by orjson."""
    return content.json if isinstance(content, Document) else orjson.dumps(content)


async def fetch_json(db: Runner, sql: str, record_id: str, *more: str, missing: str) -> bytes:
    """The JSON document a PostgreSQL statement builds for one record (`$1` its id, then
    `more` parameters), as PostgreSQL wrote it; 404 with the detail `missing` when there is
    no such record."""
    document = await _fetch_value(db, sql, record_id, *more)
    if document is None:
        raise NotFound(missing)
    return cast(str, document).encode()


async def fetch_document(
    db: Runner, sql: str, record_id: str, *more: str, missing: str
) -> Document:
    """fetch_json's document, with its values."""
    return Document(await fetch_json(db, sql, record_id, *more, missing=missing))


# scope="function" commits before the response is sent, so a client never sees a 201
# for a write whose commit then failed.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


def as_db_time(db: AsyncSession, moment: datetime) -> datetime:
    """A time as the database compares it: SQLite keeps UTC timestamps without offset."""
    moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if db.get_bind().dialect.name == "sqlite" else moment


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


async def lock_row(db: AsyncSession, model: Any, record_id: str) -> None:
    """Lock a record until the transaction ends (PostgreSQL; SQLite has one writer at a
    time), so that a read-check-write such as If-Match cannot interleave with another."""
    await db.execute(select(model.id).where(model.id == record_id).with_for_update())


async def touch(db: AsyncSession, model: Any, record_id: str) -> None:
    """Mark a record as changed when a part of it (a participant, an office) changed."""
    await db.execute(update(model).where(model.id == record_id).values(updated_at=utcnow()))
