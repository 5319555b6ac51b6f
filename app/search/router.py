from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.models import Council
from app.db import DbSession
from app.http import page_response
from app.idempotency.routes import ApiRoute
from app.pagination import Keyset, Page, PageParams, SortKey
from app.people.models import Person
from app.sessions import service as sessions_service
from app.terms.service import matches
from app.topics.models import Topic
from app.topics.service import topic_summary

router = APIRouter(tags=["search"], route_class=ApiRoute)

HitType = Literal["council", "session", "person", "topic"]
HIT_TYPES: tuple[HitType, ...] = ("council", "session", "person", "topic")


class SearchHit(BaseModel):
    type: HitType
    id: str
    label: str
    item: dict[str, Any]


async def _summaries(db: AsyncSession, ids: dict[str, list[str]]) -> dict[str, tuple[str, Any]]:
    """(label, summary) of each hit, one query per type."""
    found: dict[str, tuple[str, Any]] = {}
    if ids["council"]:
        for c in await db.scalars(select(Council).where(Council.id.in_(ids["council"]))):
            found[c.id] = (
                c.name,
                {"id": c.id, "slug": c.slug, "acronym": c.acronym, "name": c.name},
            )
    if ids["person"]:
        for p in await db.scalars(select(Person).where(Person.id.in_(ids["person"]))):
            found[p.id] = (p.name, {"id": p.id, "name": p.name, "nationality": p.nationality})
    if ids["topic"]:
        for t in await db.scalars(select(Topic).where(Topic.id.in_(ids["topic"]))):
            found[t.id] = (t.name, topic_summary(t))
    for session in await sessions_service.session_summaries(db, ids["session"]):
        found[session["id"]] = (session["title"], session)
    return found


@router.get(
    "/search",
    operation_id="search",
    summary="Search everything",
    response_model=Page[SearchHit],
)
async def search(
    request: Request,
    db: DbSession,
    page: PageParams,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="Words to look for, insensitive to case, accents, script and the "
            "usual transliterations. Every word must match the beginning of a word.",
            examples=["Lavrov Kosovo"],
        ),
    ],
    type: Annotated[
        list[HitType] | None, Query(description="Only hits of these types; repeatable.")
    ] = None,
) -> Response:
    """Councils, sessions, persons and topics in one ranked list, best first: a whole word
    scores above a prefix, a word of a name or title above other text. Each hit has its
    `type`, `id`, a `label` to show and `item`, the record's summary."""
    found = matches(q, type or HIT_TYPES)
    rank = (-found.c.score).label("rank")
    keyset = Keyset([SortKey(rank), SortKey(found.c.entity), SortKey(found.c.record_id)])
    stmt = select(found.c.entity, found.c.record_id, rank)
    rows = (await db.execute(page.select(stmt, keyset))).all()
    rows, next_cursor = page.cut(rows, keyset, lambda r: (r.rank, r.entity, r.record_id))
    ids: dict[str, list[str]] = {kind: [] for kind in HIT_TYPES}
    for row in rows:
        ids[row.entity].append(row.record_id)
    summaries = await _summaries(db, ids)
    hits = [
        {
            "type": r.entity,
            "id": r.record_id,
            "label": summaries[r.record_id][0],
            "item": summaries[r.record_id][1],
        }
        for r in rows
        if r.record_id in summaries
    ]
    return page_response(request, hits, next_cursor)
