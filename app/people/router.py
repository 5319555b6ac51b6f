from dataclasses import replace
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.councils.service import find_council_id
from app.db import DbSession
from app.errors import ValidationFailed
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
from app.people import service
from app.people.schemas import (
    Counterpart,
    OfficeCreate,
    OfficeRead,
    OfficeUpdate,
    ParticipationCreate,
    ParticipationUpdate,
    PersonCreate,
    PersonRead,
    PersonUpdate,
)
from app.sessions.router import (
    SESSION_FORMATS,
    FormatParam,
    SessionDep,
    SessionFilterParams,
    SortParam,
    TopicFilterParam,
    sessions_response,
)
from app.sessions.schemas import ParticipationRead, PersonSession
from app.types import CountryCode

persons_router = APIRouter(prefix="/persons", tags=["persons"], route_class=ApiRoute)
participants_router = APIRouter(
    prefix="/sessions/{session_id}/participants", tags=["participants"], route_class=ApiRoute
)

PersonId = Annotated[str, Path(description="The person's id.")]
OfficeId = Annotated[str, Path(description="The office's id.")]
ParticipationId = Annotated[str, Path(description="The participation's id.")]


@persons_router.get(
    "",
    operation_id="persons_list",
    summary="List persons",
    response_model=Page[PersonRead],
)
async def list_persons(
    request: Request,
    db: DbSession,
    page: PageParams,
    q: SearchParam = None,
    nationality: Annotated[
        list[CountryCode] | None, Query(description="Alpha-2; repeatable (any).")
    ] = None,
    council: Annotated[
        str | None,
        Query(max_length=100, description="Attended a session of this council (id or slug)."),
    ] = None,
) -> Response:
    """Every person, by name, with other names, identifiers and offices. With `q`, the
    best matches first: `Sergei Lavrov`, `sergey lavrov`, `Serguei`, `LAVROV` and `Лавров`
    all find Sergueï Lavrov; a whole word or a word of the name ranks above a prefix or
    another name."""
    council_id = None
    if council is not None:
        council_id = await find_council_id(db, council)
        if council_id is None:
            raise ValidationFailed(
                "A filter names no record.",
                errors=[("/query/council", f"No council has the id or slug '{council}'.")],
            )
    items, next_cursor = await service.list_persons(
        db, page=page, q=q, nationalities=nationality or (), council_id=council_id
    )
    return page_response(request, items, next_cursor)


@persons_router.post(
    "",
    operation_id="persons_create",
    summary="Record a person",
    status_code=201,
    response_model=PersonRead,
    responses=WRITE_PROBLEMS,
)
async def create_person(request: Request, db: DbSession, body: PersonCreate) -> Response:
    """Record a person. Give transliterations and the native script as `other_names`
    (`{"name": "Сергей Лавров", "lang": "ru"}`); identifiers such as Wikidata's are
    unique per scheme (409). Offices are added under `/persons/{id}/offices`."""
    return created_response(request, await service.create_person(db, data=body))


@persons_router.get(
    "/{person_id}",
    operation_id="persons_get",
    summary="Get a person",
    response_model=PersonRead,
    responses=READ_PROBLEMS,
)
async def get_person(request: Request, db: DbSession, person_id: PersonId) -> Response:
    """One person with other names, identifiers, offices (each with its term) and sources."""
    return resource_response(request, await service.get_person(db, person_id))


@persons_router.patch(
    "/{person_id}",
    operation_id="persons_update",
    summary="Change a person",
    response_model=PersonRead,
    responses=WRITE_PROBLEMS,
)
async def update_person(
    request: Request,
    db: DbSession,
    person_id: PersonId,
    body: PersonUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given; `other_names`, `identifiers` and `source_ids` are
    replaced whole."""
    return resource_response(
        request, await service.update_person(db, person_id=person_id, data=body, if_match=if_match)
    )


@persons_router.delete(
    "/{person_id}",
    operation_id="persons_delete",
    summary="Delete a person",
    status_code=204,
    responses=problems(404, 409),
)
async def delete_person(
    db: DbSession,
    person_id: PersonId,
    cascade: CascadeParam = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a person with their offices. One who took part in sessions is refused with
    409 unless `cascade=true`, which deletes those participations too."""
    await service.delete_person(db, person_id=person_id, cascade=cascade, if_match=if_match)
    return Response(status_code=204)


@persons_router.get(
    "/{person_id}/sessions",
    operation_id="persons_sessions_list",
    summary="Sessions a person attended",
    response_model=Page[PersonSession],
    responses=problems(404) | SESSION_FORMATS,
)
async def list_person_sessions(
    request: Request,
    db: DbSession,
    person_id: PersonId,
    page: PageParams,
    wanted: SessionFilterParams,
    topic: TopicFilterParam = None,
    sort: SortParam = "start_date",
    format: FormatParam = None,
) -> Response:
    """Every session the person attended, each with the council, the dates and
    `participation`: the delegation they sat in, their role and the title they held that
    day. Takes the filters, sorts and formats of `GET /sessions`: `?format=ics` is a
    calendar of the person's meetings to subscribe to."""
    person = await service.require_person(db, person_id)
    return await sessions_response(
        request,
        db,
        page=page,
        sort=sort,
        wanted=replace(wanted, topic=topic, participants=[person_id]),
        format=format,
        name=person.name,
        json_page=partial(service.person_sessions, person_id=person_id),
    )


@persons_router.get(
    "/{person_id}/counterparts",
    operation_id="persons_counterparts_list",
    summary="People a person met across the table",
    response_model=Page[Counterpart],
    responses=problems(404),
)
async def list_counterparts(
    request: Request, db: DbSession, person_id: PersonId, page: PageParams
) -> Response:
    """People who sat in another delegation at a session this person attended, with the
    number of sessions shared and their ids (oldest first); most shared first."""
    await service.require_person(db, person_id)
    items, next_cursor = await service.counterparts(db, person_id=person_id, page=page)
    return page_response(request, items, next_cursor)


@persons_router.get(
    "/{person_id}/offices",
    operation_id="offices_list",
    summary="List a person's offices",
    response_model=Page[OfficeRead],
    responses=READ_PROBLEMS,
    tags=["offices"],
)
async def list_offices(request: Request, db: DbSession, person_id: PersonId) -> Response:
    """The person's offices, oldest first (offices of unknown start first). A person holds
    few offices, so this list is always one page."""
    await service.require_person(db, person_id)
    return page_response(request, await service.list_offices(db, person_id), None)


@persons_router.post(
    "/{person_id}/offices",
    operation_id="offices_create",
    summary="Add an office",
    status_code=201,
    response_model=OfficeRead,
    responses=WRITE_PROBLEMS,
    tags=["offices"],
)
async def create_office(
    request: Request, db: DbSession, person_id: PersonId, body: OfficeCreate
) -> Response:
    """Add an office the person held. Leave `start_date` and `end_date` null when no
    source gives them. Participations whose office was not given are derived again."""
    await service.require_person(db, person_id)
    return created_response(
        request, await service.create_office(db, person_id=person_id, data=body)
    )


@persons_router.get(
    "/{person_id}/offices/{office_id}",
    operation_id="offices_get",
    summary="Get an office",
    response_model=OfficeRead,
    responses=READ_PROBLEMS,
    tags=["offices"],
)
async def get_office(
    request: Request, db: DbSession, person_id: PersonId, office_id: OfficeId
) -> Response:
    """One office of the person: title, role, country and term (partial dates)."""
    return resource_response(request, await service.get_office(db, person_id, office_id))


@persons_router.patch(
    "/{person_id}/offices/{office_id}",
    operation_id="offices_update",
    summary="Change an office",
    response_model=OfficeRead,
    responses=WRITE_PROBLEMS,
    tags=["offices"],
)
async def update_office(
    request: Request,
    db: DbSession,
    person_id: PersonId,
    office_id: OfficeId,
    body: OfficeUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given. Participations whose office was derived are derived again."""
    return resource_response(
        request,
        await service.update_office(
            db, person_id=person_id, office_id=office_id, data=body, if_match=if_match
        ),
    )


@persons_router.delete(
    "/{person_id}/offices/{office_id}",
    operation_id="offices_delete",
    summary="Delete an office",
    status_code=204,
    responses=READ_PROBLEMS,
    tags=["offices"],
)
async def delete_office(
    db: DbSession,
    person_id: PersonId,
    office_id: OfficeId,
    if_match: IfMatch = None,
) -> Response:
    """Delete the office; participations that were derived from it are derived again."""
    await service.delete_office(db, person_id=person_id, office_id=office_id, if_match=if_match)
    return Response(status_code=204)


@participants_router.get(
    "",
    operation_id="participants_list",
    summary="List a session's participants",
    response_model=Page[ParticipationRead],
    responses=READ_PROBLEMS,
)
async def list_participants(request: Request, db: DbSession, session: SessionDep) -> Response:
    """Who took part, in the order recorded, each with the title held that day. A session
    has few participants, so this list is always one page."""
    return page_response(request, await service.list_participations(db, session.id), None)


@participants_router.post(
    "",
    operation_id="participants_create",
    summary="Add a participant",
    status_code=201,
    response_model=ParticipationRead,
    responses=WRITE_PROBLEMS,
)
async def create_participant(
    request: Request, db: DbSession, session: SessionDep, body: ParticipationCreate
) -> Response:
    """Seat a person at the session on one side of the table. `delegation` must be a
    member or the host of the council, or a guest country of the session. Without
    `office_id`, the office the person held on the session's date is derived."""
    return created_response(
        request, await service.create_participation(db, session=session, data=body)
    )


@participants_router.get(
    "/{participation_id}",
    operation_id="participants_get",
    summary="Get a participant",
    response_model=ParticipationRead,
    responses=READ_PROBLEMS,
)
async def get_participant(
    request: Request, db: DbSession, session: SessionDep, participation_id: ParticipationId
) -> Response:
    """One participant of the session, with the title held that day."""
    return resource_response(
        request, await service.get_participation(db, session.id, participation_id)
    )


@participants_router.patch(
    "/{participation_id}",
    operation_id="participants_update",
    summary="Change a participant",
    response_model=ParticipationRead,
    responses=WRITE_PROBLEMS,
)
async def update_participant(
    request: Request,
    db: DbSession,
    session: SessionDep,
    participation_id: ParticipationId,
    body: ParticipationUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given. Setting `office_id` to null derives it from the date again."""
    return resource_response(
        request,
        await service.update_participation(
            db, session=session, participation_id=participation_id, data=body, if_match=if_match
        ),
    )


@participants_router.delete(
    "/{participation_id}",
    operation_id="participants_delete",
    summary="Remove a participant",
    status_code=204,
    responses=READ_PROBLEMS,
)
async def delete_participant(
    db: DbSession,
    session: SessionDep,
    participation_id: ParticipationId,
    if_match: IfMatch = None,
) -> Response:
    """Remove the person from the session (and from its segments)."""
    await service.delete_participation(
        db, session_id=session.id, participation_id=participation_id, if_match=if_match
    )
    return Response(status_code=204)
