"""The journal read back: the change feed, the audit trail and each record's history."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from app.auth.dependencies import admin_access
from app.councils.service import find_council_id
from app.db import DbSession, as_db_time
from app.errors import NotFound
from app.http import page_body, page_response, problems
from app.idempotency.routes import ApiRoute
from app.journal import service as journal
from app.journal.models import AuditEntry, Change
from app.pagination import (
    Keyset,
    LimitParam,
    Page,
    PageParams,
    PageRequest,
    SortKey,
    datetime_key,
)
from app.schemas import Timestamp, rfc3339
from app.sessions.service import find_session_id
from app.types import Rfc3339

router = APIRouter(route_class=ApiRoute)

FEED_ORDER = Keyset([SortKey(Change.seq)])
AUDIT_ORDER = Keyset([datetime_key(AuditEntry.at), SortKey(AuditEntry.id)])
Entity = Literal[
    "council",
    "session",
    "person",
    "office",
    "participation",
    "agenda_item",
    "topic",
    "source",
    "api_key",
]


class ChangeRead(BaseModel):
    seq: int
    entity: Literal["council", "session", "person", "topic", "source"]
    id: str
    action: Literal["created", "updated", "deleted"]
    at: Timestamp


class ChangePage(BaseModel):
    items: list[ChangeRead]
    next_cursor: str


class AuditRead(BaseModel):
    id: str
    at: Timestamp
    actor: str | None
    request_id: str | None
    action: Literal["create", "update", "delete"]
    entity: Entity
    entity_id: str
    changes: dict[str, dict[str, Any]]


@router.get(
    "/changes",
    operation_id="changes_list",
    summary="The change feed",
    response_model=ChangePage,
    tags=["changes"],
)
async def list_changes(
    request: Request,
    db: DbSession,
    limit: LimitParam = 50,
    since: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The `next_cursor` of the previous call; from the beginning without it.",
        ),
    ] = None,
) -> Response:
    """Every creation, change and deletion of a council, session, person, topic or source,
    in commit order. A change to a participant or an agenda item is a change of its
    session; to an office, of its person. Deletions stay as tombstones.

    `next_cursor` is never null: store it and poll with `?since=<it>`; a consumer that does
    so misses nothing and sees nothing twice, even while writers commit concurrently."""
    feed = PageRequest(
        limit=limit,
        cursor=since,
        scope="changes",
        secret=request.app.state.settings.cursor_secret.encode(),
    )
    after = feed.decode(FEED_ORDER)
    since_seq = after[0] if after else 0
    items, last = await journal.feed_page(db, since_seq, limit)
    cursor = feed.encode([since_seq if last is None else last])
    return Response(page_body(items, cursor), media_type="application/json")


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": rfc3339(entry.at),
        "actor": entry.actor,
        "request_id": entry.request_id,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "changes": entry.changes,
    }


@router.get(
    "/audit",
    dependencies=[Depends(admin_access)],
    operation_id="audit_list",
    summary="Who changed what",
    response_model=Page[AuditRead],
    tags=["audit"],
)
async def list_audit(
    request: Request,
    db: DbSession,
    page: PageParams,
    entity: Annotated[Entity | None, Query(description="Only this kind of record.")] = None,
    entity_id: Annotated[str | None, Query(max_length=36, description="Only this record.")] = None,
    actor: Annotated[
        str | None, Query(max_length=100, description="Only this key's writes.")
    ] = None,
    since: Annotated[Rfc3339 | None, Query(description="At or after this time.")] = None,
    until: Annotated[Rfc3339 | None, Query(description="Before this time.")] = None,
) -> Response:
    """Every write, oldest first: the time, the API key's name (`actor`), the request id,
    the action, the record, and each changed field's old and new value. One entry per
    record touched: an import or a cascading delete makes several."""
    stmt = select(AuditEntry)
    if entity is not None:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= as_db_time(db, since))
    if until is not None:
        stmt = stmt.where(AuditEntry.at < as_db_time(db, until))
    rows = (await db.scalars(page.select(stmt, AUDIT_ORDER))).all()
    rows, next_cursor = page.cut(rows, AUDIT_ORDER, lambda e: (e.at, e.id))
    return page_response(request, [audit_json(e) for e in rows], next_cursor)


HistoryEntity = Literal["sessions", "councils", "persons"]
ENTITY_OF = {"sessions": "session", "councils": "council", "persons": "person"}


@router.get(
    "/{resource}/{record_id}/history",
    dependencies=[Depends(admin_access)],
    operation_id="history_list",
    summary="A record's history",
    response_model=Page[AuditRead],
    responses=problems(404),
    tags=["audit"],
)
async def list_history(
    request: Request,
    db: DbSession,
    page: PageParams,
    resource: Annotated[HistoryEntity, Path(description="The kind of record.")],
    record_id: Annotated[
        str,
        Path(description="The record's id (a council's or session's slug too, while it exists)."),
    ],
) -> Response:
    """The audit entries of one session, council or person, oldest first, also after it
    was deleted. A council or a session may be named by its slug while it exists. Needs
    `admin`, as `GET /audit` does: entries name keys and requests, and keep deleted
    records' data."""
    entity = ENTITY_OF[resource]
    if entity == "council":
        record_id = await find_council_id(db, record_id) or record_id
    elif entity == "session":
        record_id = await find_session_id(db, record_id) or record_id
    stmt = select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id == record_id)
    rows = (await db.scalars(page.select(stmt, AUDIT_ORDER))).all()
    if not rows and page.cursor is None:
        raise NotFound(f"No {entity} has the id '{record_id}', now or before.")
    rows, next_cursor = page.cut(rows, AUDIT_ORDER, lambda e: (e.at, e.id))
    return page_response(request, [audit_json(e) for e in rows], next_cursor)
