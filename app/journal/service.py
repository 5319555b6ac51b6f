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

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.context import current_actor, current_request_id
from app.db import dialect_of, lock_row
from app.errors import PreconditionFailed
from app.http import etag_of
from app.journal.models import AuditEntry, Change
from app.json_sql import JsonSql, statement_for

# Records that are parts of another in the API: their changes are changes of the parent.
FEED_PARENT = {"participation": "session", "agenda_item": "session", "office": "person"}
# Audited, but not data that services sync: not in the change feed.
NOT_FED = frozenset({"api_key"})
FEED_LOCK_KEY = 7_270_462_001  # any constant; names the feed's advisory lock
AUDIT_BATCH = 1000  # audit entries a statement, their changes made just before


@dataclass(frozen=True)
class Written:
    """A write to a record that records of a higher layer depend on: an update (with the
    fields it changed), or a deletion about to happen (with or without `cascade`)."""

    entity: str
    record_id: str
    changed: frozenset[str] = frozenset()
    deleting: bool = False
    cascade: bool = False


Follower = Callable[[AsyncSession, Written], Awaitable[None]]
_followers: dict[str, list[Follower]] = defaultdict(list)


def follow(entity: str) -> Callable[[Follower], Follower]:
    """Register, from a higher layer, what must follow a write to a record of `entity`:
    sessions are indexed again when their council is renamed, and deleted with it; the
    offices of participants are derived again when their session moves. A domain so
    names no domain above it (README, Layout)."""

    def register(follower: Follower) -> Follower:
        _followers[entity].append(follower)
        return follower

    return register


async def written(db: AsyncSession, write: Written) -> None:
    """Let what depends on the record follow the write (see `follow`)."""
    for follower in _followers[write.entity]:
        await follower(db, write)


@dataclass
class Note:
    action: str  # create | update | delete
    entity: str
    record_id: str
    changes: dict[str, dict[str, Any]] | None  # None: made from `record` when written
    parent_id: str | None
    # The record as created, or before its deletion. Its changes (every field, from or to
    # null) are made when the entry is written, a few at a time: made when noted, the
    # old-and-new pairs of an import of thousands of records were a third of its memory.
    record: dict[str, Any] | None = None

    def changed_fields(self) -> dict[str, dict[str, Any]]:
        if self.changes is not None:
            return self.changes
        assert self.record is not None
        changes = _diff({}, self.record) if self.action == "create" else _diff(self.record, {})
        changes.pop("id", None)
        return changes


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
    # A plain copy of the fields: a Document would keep its JSON text too.
    return Note("create", entity, record["id"], None, _parent_of(entity, record), dict(record))


def updated(db: AsyncSession, entity: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    changes = _diff(before, after)
    if changes:
        _pending(db).append(Note("update", entity, after["id"], changes, _parent_of(entity, after)))


def deleted(db: AsyncSession, entity: str, before: dict[str, Any]) -> None:
    parent_id = _parent_of(entity, before)
    _pending(db).append(Note("delete", entity, before["id"], None, parent_id, dict(before)))


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


@event.listens_for(Session, "before_commit")
def write_journal(session: Session) -> None:
    """The audit entries and feed entries of the transaction's notes, written just before
    it commits. On PostgreSQL the feed entries are written under the commit-order lock."""
    if session.in_nested_transaction():  # a SAVEPOINT released: the real commit comes later
        return
    notes: list[Note] = session.info.pop("journal", [])
    if not notes:
        return
    at = datetime.now(UTC)
    actor, request_id = current_actor.get(), current_request_id.get()
    for start in range(0, len(notes), AUDIT_BATCH):
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
                    "changes": n.changed_fields(),
                }
                for n in notes[start : start + AUDIT_BATCH]
            ],
        )
    feed = _feed_entries(notes)
    if not feed:
        return
    entities, record_ids, actions = (list(column) for column in zip(*feed, strict=True))
    if session.get_bind().dialect.name == "postgresql":
        arrays = {"entities": entities, "record_ids": record_ids, "actions": actions}
        session.execute(FEED_UNDER_LOCK, {**arrays, "at": at, "lock": FEED_LOCK_KEY})
    else:  # one writer at a time: no lock
        session.execute(
            insert(Change),
            [{"entity": e, "record_id": r, "action": a, "at": at} for e, r, a in feed],
        )


# The feed's entries in one statement, numbered (their `seq` default) once the
# commit-order lock is taken.
FEED_UNDER_LOCK = text("""
INSERT INTO change (entity, record_id, action, at)
SELECT feed.entity, feed.record_id, feed.action, :at
FROM (SELECT pg_advisory_xact_lock(:lock)) AS commit_order,
     unnest(CAST(:entities AS varchar[]), CAST(:record_ids AS varchar[]),
            CAST(:actions AS varchar[])) AS feed (entity, record_id, action)
""")


@event.listens_for(Session, "after_rollback")
def _forget_journal(session: Session) -> None:
    session.info.pop("journal", None)


Reader = Callable[[AsyncSession, str], Awaitable[dict[str, Any]]]
# Reads many records at once: their representations by id.
ManyReader = Callable[[AsyncSession, Sequence[str]], Awaitable[dict[str, Any]]]


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


async def after_create_many(
    db: AsyncSession, entity: str, record_ids: Sequence[str], read: ManyReader
) -> dict[str, Any]:
    """`after_create` for records created at once: each is noted as created, in order."""
    await db.flush()
    records = await read(db, record_ids)
    for record_id in record_ids:
        created(db, entity, records[record_id])
    return records


async def after_update(
    db: AsyncSession, entity: str, before: dict[str, Any], read: Reader
) -> dict[str, Any]:
    await db.flush()
    after = await read(db, before["id"])
    updated(db, entity, before, after)
    return after


def _feed_entry(j: JsonSql) -> str:
    return j.object(
        {
            "seq": "c.seq",
            "entity": "c.entity",
            "id": "c.record_id",
            "action": "c.action",
            "at": j.time("c.at"),
        }
    )


# The feed's entries after `:after` in `seq` order, at most `:limit`, as one JSON array,
# and the last one's `seq`.
FEED_PAGE = statement_for(
    lambda j: (
        f"""WITH shown AS (SELECT * FROM change WHERE seq > :after ORDER BY seq LIMIT :limit)
SELECT {j.as_text(j.array(_feed_entry(j), "shown c", "c.seq", of_json=True))},
       (SELECT max(seq) FROM shown)"""
    )
)


async def feed_page(db: AsyncSession, after: int, limit: int) -> tuple[bytes, int | None]:
    """The feed's entries after `after`, at most `limit`, as a JSON array, and the last
    one's `seq` (None when there is none yet)."""
    page = await db.execute(FEED_PAGE(dialect_of(db)), {"after": after, "limit": limit})
    items, last = page.one()
    return items.encode(), last
