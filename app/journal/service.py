"""The journal of writes: the change feed for services that sync, and the audit trail.

Services note each record they create, update or delete, with its representation before
and after. The notes wait in the database session and are written just before it commits:
audit entries with the fields that changed, and change-feed entries, one per top-level
record (a participant or an agenda item changes its session; an office its person).

Commit order: on PostgreSQL the feed entries are written under a transaction-level
advisory lock, held until commit, so that a transaction that takes a sequence number
commits before any other can take a later one; a consumer who has read up to N never
sees a number below N appear afterwards. SQLite runs one writer at a time already.
"""

import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from blake3 import blake3
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import DocumentPool, fetch_row, json_bytes, lock_row
from app.errors import PreconditionFailed
from app.ids import new_id
from app.journal.models import AuditEntry, Change
from app.json_sql import ts
from app.schemas import rfc3339

# Who is writing, and under which request: set by the request middleware and the auth
# dependency, read here so that services need not pass them along.
current_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("actor", default=None)
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# Records that are parts of another in the API: their changes are changes of the parent.
FEED_PARENT = {"participation": "session", "agenda_item": "session", "office": "person"}
# Audited, but not data that services sync: not in the change feed.
NOT_FED = frozenset({"api_key"})
FEED_LOCK_KEY = 7_270_462_001  # any constant; names the feed's advisory lock


@dataclass
class Note:
    action: str  # create | update | delete
    entity: str
    record_id: str
    changes: dict[str, dict[str, Any]]
    parent_id: str | None


def etag_of(content: Any) -> str:
    """The strong ETag of a representation: a hash of its JSON as served."""
    return etag_of_body(json_bytes(content))


def etag_of_body(body: bytes) -> str:
    """The strong ETag of a JSON body as sent (the same as etag_of its content): 128 bits
    of BLAKE3, a third of SHA-256's time on a page of 34 kB (bench/NOTES.md, finding 24),
    and as hard to collide on purpose, which `If-Match` relies on."""
    return '"' + blake3(body).hexdigest(16) + '"'


def check_if_match(current: dict[str, Any], if_match: str | None) -> None:
    """412 unless `If-Match` names the current representation (or is absent, or `*`).
    The comparison is strong, as RFC 9110 has it for If-Match: a weak tag never matches."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if etag_of(current) not in wanted:
        raise PreconditionFailed(
            "The record changed since that ETag was issued; fetch it again and retry."
        )


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ignored = {"updated_at", "created_at", "sources"}
    keys = (before.keys() | after.keys()) - ignored
    return {
        k: {"old": before.get(k), "new": after.get(k)}
        for k in sorted(keys)
        if before.get(k) != after.get(k)
    }


def _pending(db: AsyncSession) -> list[Note]:
    notes: list[Note] = db.sync_session.info.setdefault("journal", [])
    return notes


def _parent_of(entity: str, record: dict[str, Any]) -> str | None:
    parent = FEED_PARENT.get(entity)
    return None if parent is None else record.get(f"{parent}_id")


def created(db: AsyncSession, entity: str, record: dict[str, Any]) -> None:
    _pending(db).append(creation(entity, record))


def creation(entity: str, record: dict[str, Any]) -> Note:
    """The note of a record created, as it reads after its creation."""
    changes = _diff({}, record)
    changes.pop("id", None)
    return Note("create", entity, record["id"], changes, _parent_of(entity, record))


def updated(db: AsyncSession, entity: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = _diff(before, after)
    if changes:
        _pending(db).append(Note("update", entity, after["id"], changes, _parent_of(entity, after)))


def deleted(db: AsyncSession, entity: str, before: dict[str, Any]) -> None:
    changes = _diff(before, {})
    changes.pop("id", None)
    _pending(db).append(Note("delete", entity, before["id"], changes, _parent_of(entity, before)))


FEED_ACTIONS = {"create": "created", "update": "updated", "delete": "deleted"}


def _feed_entries(notes: list[Note]) -> list[tuple[str, str, str]]:
    """One (entity, id, action) per top-level record, in the order first touched: a record
    created and deleted in one transaction leaves nothing; created then changed, created."""
    net: dict[tuple[str, str], str] = {}
    for note in notes:
        if note.entity in NOT_FED:
            continue
        if note.entity in FEED_PARENT:
            if note.parent_id is None:
                continue
            key, action = (FEED_PARENT[note.entity], note.parent_id), "updated"
        else:
            key, action = (note.entity, note.record_id), FEED_ACTIONS[note.action]
        previous = net.get(key)
        if previous == "created" and action == "deleted":
            del net[key]
        elif previous == "created" or (previous == "deleted" and action == "updated"):
            continue
        else:
            net[key] = action
    return [(entity, record_id, action) for (entity, record_id), action in net.items()]


# On PostgreSQL the whole journal of a transaction is one statement (one round trip of a
# write's dozen, bench/NOTES.md): the audit entries in a data-modifying CTE, which runs
# whatever the main statement reads, and the feed entries after the commit-order lock.
# A row of the feed is numbered (its `seq` default) when the join gives it, so after
# the lock's one row has been read. Written with `$1`-style parameters, for the ORM's
# connection (write_journal) and asyncpg's (journal_directly) alike.
JOURNAL_SQL = """
WITH audit AS (
    INSERT INTO audit_entry (id, at, actor, request_id, action, entity, entity_id, changes)
    SELECT note.id, $1, $2, $3, note.action, note.entity, note.entity_id, note.changes::json
    FROM unnest($4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[], $8::varchar[])
         AS note (id, action, entity, entity_id, changes)
)
INSERT INTO change (entity, record_id, action, at)
SELECT feed.entity, feed.record_id, feed.action, $1
FROM (SELECT pg_advisory_xact_lock($9)) AS commit_order,
     unnest($10::varchar[], $11::varchar[], $12::varchar[]) AS feed (entity, record_id, action)
"""


def _journal_arguments(notes: list[Note], at: datetime) -> tuple[Any, ...]:
    feed = _feed_entries(notes)
    return (
        at,
        current_actor.get(),
        current_request_id.get(),
        [new_id() for _ in notes],
        [n.action for n in notes],
        [n.entity for n in notes],
        [n.record_id for n in notes],
        [orjson.dumps(n.changes).decode() for n in notes],
        FEED_LOCK_KEY,
        [entity for entity, _, _ in feed],
        [record_id for _, record_id, _ in feed],
        [action for _, _, action in feed],
    )


async def journal_directly(connection: asyncpg.Connection, notes: list[Note]) -> None:
    """write_journal for a write made on asyncpg itself (app/sessions/writes.py), in its
    transaction."""
    await connection.execute(JOURNAL_SQL, *_journal_arguments(notes, datetime.now(UTC)))


@event.listens_for(Session, "before_commit")
def write_journal(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: the real commit comes later
        return
    notes: list[Note] = session.info.pop("journal", [])
    if not notes:
        return
    at = datetime.now(UTC)
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(JOURNAL_SQL, _journal_arguments(notes, at))
        return
    actor, request_id = current_actor.get(), current_request_id.get()
    session.execute(
        insert(AuditEntry),
        [
            {
                "at": at,
                "actor": actor,
                "request_id": request_id,
                "action": n.action,
                "entity": n.entity,
                "entity_id": n.record_id,
                "changes": n.changes,
            }
            for n in notes
        ],
    )
    feed = _feed_entries(notes)
    if feed:  # SQLite runs one writer at a time: commit order needs no lock there
        session.execute(
            insert(Change),
            [{"entity": e, "record_id": r, "action": a, "at": at} for e, r, a in feed],
        )


@event.listens_for(Session, "after_rollback")
def _forget_journal(session: Session) -> None:
    session.info.pop("journal", None)


Reader = Callable[[AsyncSession, str], Awaitable[dict[str, Any]]]


async def before_write(
    db: AsyncSession, model: Any, record_id: str, read: Reader, if_match: str | None = None
) -> dict[str, Any]:
    """Lock the record, read its representation (404 if none) and check `If-Match`: the
    first step of every update and delete."""
    await lock_row(db, model, record_id)
    before = await read(db, record_id)
    check_if_match(before, if_match)
    return before


async def after_create(
    db: AsyncSession, entity: str, record_id: str, read: Reader
) -> dict[str, Any]:
    await db.flush()
    record = await read(db, record_id)
    created(db, entity, record)
    return record


async def after_update(
    db: AsyncSession, entity: str, before: dict[str, Any], read: Reader
) -> dict[str, Any]:
    await db.flush()
    after = await read(db, before["id"])
    updated(db, entity, before, after)
    return after


# A page of the change feed as PostgreSQL writes it: the entries after `$1` in `seq`
# order, at most `$2`, as one JSON array, and the last one's `seq`. Services that sync
# read pages of 200: built in Python from ORM rows, one cost 2.5 ms of CPU (bench/NOTES.md).
FEED_PAGE_SQL = f"""
SELECT coalesce(json_agg(json_build_object('seq', c.seq, 'entity', c.entity, 'id', c.record_id,
                                           'action', c.action, 'at', {ts("c.at")})
                         ORDER BY c.seq), '[]')::text AS items,
       max(c.seq) AS last
FROM (SELECT * FROM change WHERE seq > $1 ORDER BY seq LIMIT $2) AS c
"""


async def feed_page(
    db: AsyncSession | DocumentPool, after: int, limit: int
) -> tuple[bytes, int | None]:
    """The feed's entries after `after`, at most `limit`, as a JSON array, and the last
    one's `seq` (None when there is none yet): on PostgreSQL (`DocumentPool`) one query
    that writes the JSON, elsewhere the portable path."""
    if isinstance(db, DocumentPool):
        page = await fetch_row(db, FEED_PAGE_SQL, after, limit)
        return page["items"].encode(), page["last"]
    rows = (
        await db.execute(
            select(Change.seq, Change.entity, Change.record_id, Change.action, Change.at)
            .where(Change.seq > after)
            .order_by(Change.seq)
            .limit(limit)
        )
    ).all()
    items = [
        {
            "seq": c.seq,
            "entity": c.entity,
            "id": c.record_id,
            "action": c.action,
            "at": rfc3339(c.at),
        }
        for c in rows
    ]
    return orjson.dumps(items), rows[-1].seq if rows else None
