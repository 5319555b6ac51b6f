from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import StringConstraints

from app.councils.router import CouncilId
from app.db import DbSession
from app.http import (
    LIST_PROBLEMS,
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    StrictJsonRoute,
    created_response,
    json_response,
    page_response,
    problems,
)
from app.pagination import Page, PageParams
from app.sessions import service
from app.sessions.models import CouncilSession, SessionStatus
from app.sessions.schemas import (
    SessionCreate,
    SessionRead,
    SessionSummary,
    SessionUpdate,
    TimelineEntry,
)
from app.types import CountryCode, EventDate, Rfc3339

router = APIRouter(tags=["sessions"], route_class=StrictJsonRoute)

SessionSort = Literal["start_date", "-start_date", "ordinal", "-ordinal"]


def session_filter(
    country: Annotated[
        list[CountryCode] | None,
        Query(description="A member country of the council, or the host; repeatable (any)."),
    ] = None,
    host_country: Annotated[
        list[CountryCode] | None, Query(description="The host country; repeatable (any).")
    ] = None,
    location_country: Annotated[
        list[CountryCode] | None,
        Query(description="The country it met in; repeatable (any)."),
    ] = None,
    status: Annotated[list[SessionStatus] | None, Query(description="Repeatable (any).")] = None,
    date_from: Annotated[
        EventDate | None,
        Query(alias="from", description="Sessions ending on or after this date (inclusive)."),
    ] = None,
    date_to: Annotated[
        EventDate | None,
        Query(alias="to", description="Sessions starting on or before this date (inclusive)."),
    ] = None,
    participant: Annotated[
        list[Annotated[str, StringConstraints(max_length=36)]] | None,
        Query(description="A person's id; repeated, sessions attended by *all* of them."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Words to find in the title, summary, segments, agenda item titles "
            "and topic names, in any stored language; insensitive to case, accents and script "
            "(`securite energetique`, `OTAN`, `NATO`). Every word must match (as a prefix).",
        ),
    ] = None,
    updated_since: Annotated[
        Rfc3339 | None,
        Query(description="Sessions changed at or after this RFC 3339 time."),
    ] = None,
) -> service.SessionFilter:
    return service.SessionFilter(
        countries=country or (),
        host_countries=host_country or (),
        location_countries=location_country or (),
        statuses=status or (),
        date_from=date_from,
        date_to=date_to,
        participants=participant or (),
        q=q,
        updated_since=updated_since,
    )


SessionFilterParams = Annotated[service.SessionFilter, Depends(session_filter)]
# Apart, because /topics/{topic}/sessions has a path parameter of that name.
TopicFilterParam = Annotated[
    str | None,
    Query(
        max_length=100,
        description="A topic's id or slug: sessions whose agenda has it or a narrower topic.",
        examples=["regional-issues"],
    ),
]
SortParam = Annotated[
    SessionSort,
    Query(description="`start_date` (default), `-start_date`, `ordinal` or `-ordinal`."),
]


async def session_of(
    db: DbSession,
    session_id: Annotated[str, Path(description="The session's id.", max_length=36)],
) -> CouncilSession:
    return await service.require_session(db, session_id)


SessionDep = Annotated[CouncilSession, Depends(session_of)]


@router.get(
    "/sessions",
    operation_id="sessions_list",
    summary="List sessions",
    response_model=Page[SessionSummary],
    responses=LIST_PROBLEMS,
)
async def list_sessions(
    request: Request,
    db: DbSession,
    page: PageParams,
    wanted: SessionFilterParams,
    topic: TopicFilterParam = None,
    council: Annotated[
        list[Annotated[str, StringConstraints(max_length=100)]] | None,
        Query(description="A council's id or slug; repeatable (any).", examples=["ccqs"]),
    ] = None,
    sort: SortParam = "start_date",
) -> Response:
    """Sessions of every council, oldest first by default. Filters combine with AND;
    repeated values of one filter combine with OR: `?council=ccqs&from=2006-01-01` gives
    the CCQS sessions since 2006. Items are summaries; `GET /sessions/{id}` embeds the
    segments, participants and agenda."""
    wanted = replace(wanted, councils=council or (), topic=topic)
    items, next_cursor = await service.list_sessions(db, page=page, sort=sort, wanted=wanted)
    return page_response(request, items, next_cursor)


@router.get(
    "/councils/{council}/sessions",
    operation_id="councils_sessions_list",
    summary="List a council's sessions",
    response_model=Page[SessionSummary],
    responses=problems(400, 404, 422),
    tags=["councils"],
)
async def list_council_sessions(
    request: Request,
    db: DbSession,
    council_id: CouncilId,
    page: PageParams,
    wanted: SessionFilterParams,
    topic: TopicFilterParam = None,
    sort: SortParam = "start_date",
) -> Response:
    """The sessions of one council (`/councils/ccqs/sessions`: the 5th, then the 6th),
    with the same filters and sorts as `GET /sessions`."""
    wanted = replace(wanted, councils=[council_id], topic=topic)
    items, next_cursor = await service.list_sessions(db, page=page, sort=sort, wanted=wanted)
    return page_response(request, items, next_cursor)


@router.post(
    "/sessions",
    operation_id="sessions_create",
    summary="Record a session",
    status_code=201,
    response_model=SessionRead,
    responses=WRITE_PROBLEMS,
)
async def create_session(request: Request, db: DbSession, body: SessionCreate) -> Response:
    """Record a session of a council, with its segments. `ordinal` is unique within the
    council (409); `end_date` defaults to `start_date`; `status` defaults to `held` for a
    session that has ended and `planned` otherwise. Add participants and agenda items
    through their own paths."""
    session_id = await service.create_session(db, data=body)
    return created_response(request, await service.get_session_detail(db, session_id))


@router.get(
    "/sessions/{session_id}",
    operation_id="sessions_get",
    summary="Get a session",
    response_model=SessionRead,
    responses=READ_PROBLEMS,
)
async def get_session(db: DbSession, session_id: Annotated[str, Path(max_length=36)]) -> Response:
    """One session with its council, segments, participants (with the title each held
    that day), agenda in order, sources, and the council's previous and next sessions."""
    return json_response(await service.get_session_detail(db, session_id))


@router.patch(
    "/sessions/{session_id}",
    operation_id="sessions_update",
    summary="Change a session",
    response_model=SessionRead,
    responses=WRITE_PROBLEMS,
)
async def update_session(db: DbSession, session: SessionDep, body: SessionUpdate) -> Response:
    """Change the fields given. `segments` replaces the list (keep a segment by giving its
    `id`). Moving a one-day session's `start_date` moves its `end_date` with it. The
    council of a session cannot change."""
    await service.update_session(db, session_id=session.id, data=body)
    return json_response(await service.get_session_detail(db, session.id))


@router.delete(
    "/sessions/{session_id}",
    operation_id="sessions_delete",
    summary="Delete a session",
    status_code=204,
    responses=READ_PROBLEMS,
)
async def delete_session(db: DbSession, session: SessionDep) -> Response:
    """Delete a session with its segments, participants and agenda."""
    await service.delete_session(db, session_id=session.id)
    return Response(status_code=204)


@router.get(
    "/councils/{council}/timeline",
    operation_id="councils_timeline",
    summary="A council's sessions over time",
    response_model=Page[TimelineEntry],
    responses=problems(400, 404, 422),
    tags=["councils"],
)
async def council_timeline(
    request: Request, db: DbSession, council_id: CouncilId, page: PageParams
) -> Response:
    """Every session of the council in date order, with the host, the days since the
    previous session (start to start: 498 from the 5th CCQS session to the 6th), and the
    number of participants and of agenda items."""
    items, next_cursor = await service.timeline(db, council_id=council_id, page=page)
    return page_response(request, items, next_cursor)
