from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from app.db import DbSession
from app.errors import NotFound, ValidationFailed
from app.http import json_body_response, page_response, problems
from app.idempotency.routes import ApiRoute
from app.pagination import Page, PageParams
from app.relations import service
from app.relations.schemas import Partner, RelationRead
from app.sessions.router import (
    SESSION_FORMATS,
    CouncilFilterParam,
    DateFromParam,
    DateToParam,
    FormatParam,
    KindParam,
    SessionFilterParams,
    SortParam,
    TopicFilterParam,
    sessions_response,
)
from app.sessions.schemas import SessionSummary
from app.sessions.service import SessionFilter
from app.types import COUNTRY_CODES, country_name

router = APIRouter(route_class=ApiRoute)

CODE_DESCRIPTION = (
    "A country's code in either case: alpha-2 (`FR`), or a former country's four letters (`SUHH`)."
)


def country_code(code: str) -> str:
    """The code as stored (upper case); 404 for one that names no country."""
    if code.upper() not in COUNTRY_CODES:
        raise NotFound(f"'{code}' is not a country code (ISO 3166-1 alpha-2, or 3166-3).")
    return code.upper()


async def pair_of(
    a: Annotated[str, Path(description=f"One of the two. {CODE_DESCRIPTION}", examples=["FR"])],
    b: Annotated[str, Path(description="The other, likewise (`RU`, `suhh`).", examples=["RU"])],
) -> tuple[str, str]:
    pair = country_code(a), country_code(b)
    if pair[0] == pair[1]:
        raise ValidationFailed(
            "A relation is between two countries.",
            errors=[("/path/b", f"'{b}' is the country a names; name another.")],
        )
    return pair


Pair = Annotated[tuple[str, str], Depends(pair_of)]


async def meetings_wanted(
    kind: KindParam = None, date_from: DateFromParam = None, date_to: DateToParam = None
) -> SessionFilter:
    return SessionFilter(kinds=kind or (), date_from=date_from, date_to=date_to)


MeetingFilterParams = Annotated[SessionFilter, Depends(meetings_wanted)]


@router.get(
    "/relations/{a}/{b}",
    operation_id="relations_get",
    summary="The relation of two countries",
    response_model=RelationRead,
    responses=problems(404),
    tags=["relations"],
)
async def get_relation(
    request: Request, db: DbSession, pair: Pair, wanted: MeetingFilterParams
) -> Response:
    """What the sessions between two countries add up to: those whose `countries` include
    both (a council's session, a visit, a summit), with `from`, `to` and `kind` as in
    session lists. Their number, the first and last start dates, the sessions of each year
    from the first to the last (zeros too) and of each kind, the councils of both that held
    them, the 20 people who attended most of them for either side and the 20 topics most
    often on their agendas. `/relations/FR/RU?from=2000-01-01` gives France and Russia
    since 2000: the CCQS sessions among them. The codes are taken in either order and
    case; a former country is a country of its own (`/relations/FR/SUHH` is France and the
    USSR, apart from Russia). A pair that never met answers 0 and empty lists."""
    body = await service.relation_json(db, countries=pair, wanted=wanted)
    return json_body_response(request, body)


@router.get(
    "/relations/{a}/{b}/sessions",
    operation_id="relations_sessions_list",
    summary="List the sessions between two countries",
    response_model=Page[SessionSummary],
    responses=problems(404) | SESSION_FORMATS,
    tags=["relations"],
)
async def list_relation_sessions(
    request: Request,
    db: DbSession,
    pair: Pair,
    page: PageParams,
    wanted: SessionFilterParams,
    topic: TopicFilterParam = None,
    council: CouncilFilterParam = None,
    sort: SortParam = "start_date",
    format: FormatParam = None,
) -> Response:
    """The sessions whose `countries` include both, as `GET /sessions?between=a,b` lists
    them, with the same filters, sorts and formats: `/relations/FR/RU/sessions?
    kind=state_visit&sort=-start_date` gives the state visits between France and Russia,
    latest first; `?format=ics` a calendar of every one of them. `between` adds
    countries: `?between=DE,PL` keeps those that Germany and Poland were parties to too."""
    a, b = pair
    wanted = replace(wanted, between=(*pair, *wanted.between), councils=council or (), topic=topic)
    return await sessions_response(
        request,
        db,
        page=page,
        sort=sort,
        wanted=wanted,
        format=format,
        name=f"{country_name(a)} and {country_name(b)}",
    )


@router.get(
    "/countries/{code}/partners",
    operation_id="countries_partners_list",
    summary="The countries a country met",
    response_model=Page[Partner],
    responses=problems(404),
    tags=["countries"],
)
async def list_partners(
    request: Request,
    db: DbSession,
    code: Annotated[str, Path(description=CODE_DESCRIPTION, examples=["FR"])],
    page: PageParams,
    wanted: MeetingFilterParams,
) -> Response:
    """Every country that was a party to a session with this one, with the number of
    those sessions and their first and last start dates: most sessions first, then by
    code. `from`, `to` and `kind` as in session lists: `/countries/FR/partners?
    kind=state_visit` ranks France's partners in state visits. A former country is a
    partner of its own: France's list has the USSR (`SUHH`) and Russia (`RU`) apart."""
    items, next_cursor = await service.partners(
        db, country=country_code(code), wanted=wanted, page=page
    )
    return page_response(request, items, next_cursor)
