from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.db import DbSession
from app.http import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    CascadeParam,
    IfMatch,
    SearchParam,
    page_response,
    problems,
    resource_response,
)
from app.idempotency.routes import ApiRoute, created_response
from app.pagination import Page, PageParams
from app.sessions.router import (
    SESSION_FORMATS,
    FormatParam,
    SessionDep,
    SessionFilterParams,
    SortParam,
    sessions_response,
)
from app.sessions.schemas import AgendaItemRead, SessionSummary
from app.topics import service
from app.topics.schemas import (
    AgendaItemCreate,
    AgendaItemUpdate,
    TopicCreate,
    TopicRead,
    TopicUpdate,
)

topics_router = APIRouter(prefix="/topics", tags=["topics"], route_class=ApiRoute)
agenda_router = APIRouter(
    prefix="/sessions/{session_id}/agenda", tags=["agenda"], route_class=ApiRoute
)


async def topic_id_of(
    db: DbSession,
    topic: Annotated[str, Path(description="The topic's id or slug.", examples=["kosovo"])],
) -> str:
    return await service.resolve_topic_id(db, topic)


TopicId = Annotated[str, Depends(topic_id_of)]
ItemId = Annotated[str, Path(description="The agenda item's id.")]


@topics_router.get(
    "",
    operation_id="topics_list",
    summary="List topics",
    response_model=Page[TopicRead],
)
async def list_topics(
    request: Request,
    db: DbSession,
    page: PageParams,
    q: SearchParam = None,
    parent: Annotated[
        str | None,
        Query(
            max_length=100,
            description="`root` for the top level, or a topic's id or slug for its children.",
            examples=["regional-issues"],
        ),
    ] = None,
) -> Response:
    """The thesaurus of agenda topics, by slug; `parent_id` and `children` make the tree.
    With `q` (over names in every language), best matches first."""
    items, next_cursor = await service.list_topics(db, page=page, q=q, parent=parent)
    return page_response(request, items, next_cursor)


@topics_router.post(
    "",
    operation_id="topics_create",
    summary="Create a topic",
    status_code=201,
    response_model=TopicRead,
    responses=WRITE_PROBLEMS,
)
async def create_topic(request: Request, db: DbSession, body: TopicCreate) -> Response:
    """Add a topic, under `parent_id` (an id or slug) or at the root. `slug` is unique (409)."""
    return created_response(request, await service.create_topic(db, data=body))


@topics_router.get(
    "/{topic}",
    operation_id="topics_get",
    summary="Get a topic",
    response_model=TopicRead,
    responses=READ_PROBLEMS,
)
async def get_topic(request: Request, db: DbSession, topic_id: TopicId) -> Response:
    """One topic by id or slug, e.g. `/topics/kosovo`, with its narrower topics' ids."""
    return resource_response(request, await service.get_topic(db, topic_id))


@topics_router.get(
    "/{topic}/sessions",
    operation_id="topics_sessions_list",
    summary="Sessions that discussed a topic",
    response_model=Page[SessionSummary],
    responses=problems(404) | SESSION_FORMATS,
)
async def list_topic_sessions(
    request: Request,
    db: DbSession,
    topic_id: TopicId,
    page: PageParams,
    wanted: SessionFilterParams,
    sort: SortParam = "start_date",
    format: FormatParam = None,
) -> Response:
    """Sessions whose agenda has the topic or a narrower one: `/topics/regional-issues/
    sessions` includes the sessions that discussed Kosovo. Takes the filters, sorts and
    formats of `GET /sessions`."""
    return await sessions_response(
        request,
        db,
        page=page,
        sort=sort,
        wanted=replace(wanted, topic=topic_id),
        format=format,
        name=(await service.get_topic(db, topic_id))["name"],
    )


@topics_router.patch(
    "/{topic}",
    operation_id="topics_update",
    summary="Change a topic",
    response_model=TopicRead,
    responses=WRITE_PROBLEMS,
)
async def update_topic(
    request: Request, db: DbSession, topic_id: TopicId, body: TopicUpdate, if_match: IfMatch = None
) -> Response:
    """Change the fields given. Moving a topic under one of its own descendants is refused (422)."""
    return resource_response(
        request, await service.update_topic(db, topic_id=topic_id, data=body, if_match=if_match)
    )


@topics_router.delete(
    "/{topic}",
    operation_id="topics_delete",
    summary="Delete a topic",
    status_code=204,
    responses=problems(404, 409),
)
async def delete_topic(
    db: DbSession,
    topic_id: TopicId,
    cascade: CascadeParam = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a topic. One with narrower topics or on an agenda is refused with 409 unless
    `cascade=true`, which deletes the narrower topics and those agenda items too."""
    await service.delete_topic(db, topic_id=topic_id, cascade=cascade, if_match=if_match)
    return Response(status_code=204)


@agenda_router.get(
    "",
    operation_id="agenda_list",
    summary="List a session's agenda",
    response_model=Page[AgendaItemRead],
    responses=READ_PROBLEMS,
)
async def list_agenda(request: Request, db: DbSession, session: SessionDep) -> Response:
    """The agenda in order (`position` 1, 2, …). Always one page."""
    return page_response(request, await service.list_agenda(db, session.id), None)


@agenda_router.post(
    "",
    operation_id="agenda_create",
    summary="Add an agenda item",
    status_code=201,
    response_model=AgendaItemRead,
    responses=WRITE_PROBLEMS,
)
async def create_agenda_item(
    request: Request, db: DbSession, session: SessionDep, body: AgendaItemCreate
) -> Response:
    """Put a topic on the agenda: at the end, or at `position`, moving later items down."""
    return created_response(
        request, await service.create_agenda_item(db, session_id=session.id, data=body)
    )


@agenda_router.get(
    "/{item_id}",
    operation_id="agenda_get",
    summary="Get an agenda item",
    response_model=AgendaItemRead,
    responses=READ_PROBLEMS,
)
async def get_agenda_item(
    request: Request, db: DbSession, session: SessionDep, item_id: ItemId
) -> Response:
    """One item of the session's agenda, with its topic."""
    return resource_response(request, await service.get_agenda_item(db, session.id, item_id))


@agenda_router.patch(
    "/{item_id}",
    operation_id="agenda_update",
    summary="Change an agenda item",
    response_model=AgendaItemRead,
    responses=WRITE_PROBLEMS,
)
async def update_agenda_item(
    request: Request,
    db: DbSession,
    session: SessionDep,
    item_id: ItemId,
    body: AgendaItemUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given; a new `position` moves the item and renumbers the rest."""
    return resource_response(
        request,
        await service.update_agenda_item(
            db, session_id=session.id, item_id=item_id, data=body, if_match=if_match
        ),
    )


@agenda_router.delete(
    "/{item_id}",
    operation_id="agenda_delete",
    summary="Remove an agenda item",
    status_code=204,
    responses=READ_PROBLEMS,
)
async def delete_agenda_item(
    db: DbSession, session: SessionDep, item_id: ItemId, if_match: IfMatch = None
) -> Response:
    """Remove the item; later items move up."""
    await service.delete_agenda_item(db, session_id=session.id, item_id=item_id, if_match=if_match)
    return Response(status_code=204)
