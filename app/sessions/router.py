from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.router import CouncilId
from app.db import DbSession
from app.errors import ValidationFailed
from app.http import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    IfMatch,
    json_body_response,
    page_response,
    preferred,
    problems,
    public_base,
    resource_response,
)
from app.idempotency.routes import ApiRoute, created_response
from app.pagination import Page, PageParams, PageRequest
from app.sessions import formats, service
from app.sessions.models import CouncilSession, SessionKind, SessionStatus
from app.sessions.schemas import (
    SessionCreate,
    SessionRead,
    SessionSummary,
    SessionUpdate,
    TimelineEntry,
)
from app.types import COUNTRY_CODES, CountryCode, EventDate, Rfc3339

router = APIRouter(tags=["sessions"], route_class=ApiRoute)

SessionSort = Literal["start_date", "-start_date", "ordinal", "-ordinal"]


def parties(between: str | None) -> tuple[str, ...]:
    """The codes of `?between=FR,RU`: two or more distinct country codes."""
    if between is None:
        return ()
    codes = tuple(code.strip() for code in between.split(","))
    problem = None
    if len(codes) < 2:
        problem = "Give two or more comma-separated country codes: FR,RU."
    elif len(set(codes)) != len(codes):
        problem = "A country is listed twice."
    elif unknown := [code for code in codes if code not in COUNTRY_CODES]:
        problem = f"Not a country code: {', '.join(unknown)}."
    if problem:
        raise ValidationFailed(
            "The between filter is invalid.", errors=[("/query/between", problem)]
        )
    return codes


# Apart, because the relations of two countries take them too.
KindParam = Annotated[
    list[SessionKind] | None,
    Query(description="The kind of meeting; repeatable (any)."),
]
DateFromParam = Annotated[
    EventDate | None,
    Query(alias="from", description="Sessions ending on or after this date (inclusive)."),
]
DateToParam = Annotated[
    EventDate | None,
    Query(alias="to", description="Sessions starting on or before this date (inclusive)."),
]


async def session_filter(
    kind: KindParam = None,
    between: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Two or more comma-separated country codes: sessions whose "
            "`countries` include all of them (`FR,RU`).",
            examples=["FR,RU"],
        ),
    ] = None,
    country: Annotated[
        list[CountryCode] | None,
        Query(
            description="One of the session's countries (for a council's session: a member "
            "or a guest), or its host; repeatable (any)."
        ),
    ] = None,
    host_country: Annotated[
        list[CountryCode] | None, Query(description="The host country; repeatable (any).")
    ] = None,
    location_country: Annotated[
        list[CountryCode] | None,
        Query(description="The country it met in; repeatable (any)."),
    ] = None,
    status: Annotated[list[SessionStatus] | None, Query(description="Repeatable (any).")] = None,
    date_from: DateFromParam = None,
    date_to: DateToParam = None,
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
        kinds=kind or (),
        between=parties(between),
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
# Apart, because /councils/{council}/sessions has a path parameter of that name.
CouncilFilterParam = Annotated[
    list[Annotated[str, StringConstraints(max_length=100)]] | None,
    Query(
        description="A council's id or slug, or `none` for meetings outside councils; "
        "repeatable (any).",
        examples=["ccqs"],
    ),
]
SortParam = Annotated[
    SessionSort,
    Query(description="`start_date` (default), `-start_date`, `ordinal` or `-ordinal`."),
]


FormatParam = Annotated[
    Literal["json", "ics", "csv"] | None,
    Query(
        description="`ics` for an iCalendar feed to subscribe to (RFC 5545), `csv` for a "
        "spreadsheet, one row a session; also chosen by `Accept: text/calendar` or "
        "`text/csv` (by q-value; JSON when `Accept` prefers neither). Both hold every "
        "matching session, not one page, streamed as they are read (so with no ETag).",
    ),
]
SESSION_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/calendar": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        }
    }
}


def chosen_format(request: Request, format: str | None) -> str:
    return format if format is not None else format_accepted(request.headers.get("accept", ""))


LIST_FORMATS = {"application/json": "json", "text/calendar": "ics", "text/csv": "csv"}


def format_accepted(accept: str) -> str:
    """The format an `Accept` header asks for a list in (JSON unless it prefers another)."""
    return LIST_FORMATS[preferred(accept, list(LIST_FORMATS))]


# A page of sessions as JSON: service.list_sessions, or another list's (a person's sessions).
JsonPage = Callable[..., Awaitable[tuple[bytes, str | None]]]


async def sessions_response(
    request: Request,
    db: AsyncSession,
    *,
    page: PageRequest,
    sort: str,
    wanted: service.SessionFilter,
    format: str | None,
    name: str,
    json_page: JsonPage = service.list_sessions,
) -> Response:
    """A list of sessions as a JSON page, a calendar or a spreadsheet."""
    chosen = chosen_format(request, format)
    if chosen == "json":
        items, next_cursor = await json_page(db, page=page, sort=sort, wanted=wanted)
        response = page_response(request, items, next_cursor)
    else:
        # Checked before the answer starts: a filter naming no record is still a 422.
        conditions = await service.session_conditions(db, wanted)
        batches = service.sessions_with_people_and_topics(
            request.app.state.read_sessionmaker, conditions, sort
        )
        if chosen == "ics":
            base_url = public_base(request) + "/api/v1"
            calendar = formats.calendar(batches, name=f"Entente: {name}", base_url=base_url)
            response = StreamingResponse(calendar, media_type="text/calendar; charset=utf-8")
        else:
            response = StreamingResponse(
                formats.spreadsheet(batches),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="sessions.csv"'},
            )
    response.headers["Vary"] = "Accept"
    return response


async def session_of(
    db: DbSession,
    session_id: Annotated[str, Path(description="The session's id or slug.")],
) -> CouncilSession:
    return await service.require_session(db, session_id)


SessionDep = Annotated[CouncilSession, Depends(session_of)]


@router.get(
    "/sessions",
    operation_id="sessions_list",
    summary="List sessions",
    response_model=Page[SessionSummary],
    responses=SESSION_FORMATS,
)
async def list_sessions(
    request: Request,
    db: DbSession,
    page: PageParams,
    wanted: SessionFilterParams,
    topic: TopicFilterParam = None,
    council: CouncilFilterParam = None,
    sort: SortParam = "start_date",
    format: FormatParam = None,
) -> Response:
    """Every meeting, of councils and outside them, oldest first by default. Filters
    combine with AND; repeated values of one filter combine with OR:
    `?council=ccqs&from=2006-01-01` gives the CCQS sessions since 2006,
    `?council=none&between=FR,RU&kind=state_visit` the state visits between France and
    Russia. Items are summaries; `GET /sessions/{id}` embeds the segments, participants
    and agenda."""
    wanted = replace(wanted, councils=council or (), topic=topic)
    return await sessions_response(
        request, db, page=page, sort=sort, wanted=wanted, format=format, name="Sessions"
    )


@router.get(
    "/councils/{council}/sessions",
    operation_id="councils_sessions_list",
    summary="List a council's sessions",
    response_model=Page[SessionSummary],
    responses=problems(404) | SESSION_FORMATS,
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
    format: FormatParam = None,
) -> Response:
    """The sessions of one council (`/councils/ccqs/sessions`: the 5th, then the 6th),
    with the same filters and sorts as `GET /sessions`."""
    wanted = replace(wanted, councils=[council_id], topic=topic)
    return await sessions_response(
        request, db, page=page, sort=sort, wanted=wanted, format=format, name="Council sessions"
    )


@router.post(
    "/sessions",
    operation_id="sessions_create",
    summary="Record a session",
    status_code=201,
    response_model=SessionRead,
    responses=WRITE_PROBLEMS,
)
async def create_session(request: Request, db: DbSession, body: SessionCreate) -> Response:
    """Record a session of a council (`council_id`), or a meeting outside councils: a state
    visit, a summit (`kind`, `title` and at least two `countries`, the host among them; no
    `ordinal`). `ordinal` is unique within the council (409), as a `slug` and an
    `identifiers` pair are among sessions; `end_date` defaults to `start_date`; `status`
    defaults to `held` for a session that has ended and `planned` otherwise. Add
    participants and agenda items through their own paths: a participant's `delegation` is
    one of the session's `countries`, or its host."""
    return created_response(request, await service.create_session(db, data=body))


@router.get(
    "/sessions/{session_id}",
    operation_id="sessions_get",
    summary="Get a session",
    response_model=SessionRead,
    responses=READ_PROBLEMS
    | {200: {"content": {"application/ld+json": {"schema": {"type": "object"}}}}},
)
async def get_session(
    request: Request,
    db: DbSession,
    session_id: Annotated[str, Path(description="The session's id or slug.")],
) -> Response:
    """One session with its council, segments, participants (with the title each held
    that day), agenda in order, sources, and the council's previous and next sessions.
    When `Accept` prefers `application/ld+json` (q-values count), the same as a
    schema.org `Event`: `superEvent` the council (an `EventSeries`), `subEvent` the
    segments, `attendee`, `about` the agenda's topics; its `@id`s are made from the
    deployment's public URL."""
    body = await service.read_session_json(db, session_id)
    accept = request.headers.get("accept")
    if preferred(accept, ("application/json", "application/ld+json")) == "application/ld+json":
        base_url = public_base(request) + "/api/v1"
        linked = formats.linked_data(orjson.loads(body), base_url=base_url)
        response = resource_response(request, linked)
        response.media_type = "application/ld+json"
        response.headers["content-type"] = "application/ld+json"
    else:
        response = json_body_response(request, body)
    response.headers["Vary"] = "Accept"
    return response


@router.patch(
    "/sessions/{session_id}",
    operation_id="sessions_update",
    summary="Change a session",
    response_model=SessionRead,
    responses=WRITE_PROBLEMS,
)
async def update_session(
    request: Request,
    db: DbSession,
    session: SessionDep,
    body: SessionUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given. `segments` replaces the list (keep a segment by giving its
    `id`). Moving a one-day session's `start_date` moves its `end_date` with it. The
    council of a session cannot change; a council session's `countries` follow its
    council's members and its `guest_countries`. A meeting's `countries` cannot leave out
    a delegation sitting at it (422: change the participants first)."""
    return resource_response(
        request,
        await service.update_session(db, session_id=session.id, data=body, if_match=if_match),
    )


@router.delete(
    "/sessions/{session_id}",
    operation_id="sessions_delete",
    summary="Delete a session",
    status_code=204,
    responses=READ_PROBLEMS,
)
async def delete_session(db: DbSession, session: SessionDep, if_match: IfMatch = None) -> Response:
    """Delete a session with its segments, participants and agenda."""
    await service.delete_session(db, session_id=session.id, if_match=if_match)
    return Response(status_code=204)


@router.get(
    "/councils/{council}/timeline",
    operation_id="councils_timeline",
    summary="A council's sessions over time",
    response_model=Page[TimelineEntry],
    responses=problems(404),
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
