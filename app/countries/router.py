from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from app.countries.models import Country
from app.db import DbSession
from app.errors import NotFound
from app.http import (
    READ_PROBLEMS,
    page_response,
    resource_response,
)
from app.idempotency.routes import ApiRoute
from app.pagination import Keyset, Page, PageParams, SortKey

router = APIRouter(prefix="/countries", tags=["countries"], route_class=ApiRoute)

COUNTRY_ORDER = Keyset([SortKey(Country.code)])


class CountryRead(BaseModel):
    code: str
    alpha_3: str
    name: str
    official_name: str | None


def country_json(country: Country) -> dict[str, Any]:
    return {
        "code": country.code,
        "alpha_3": country.alpha_3,
        "name": country.name,
        "official_name": country.official_name,
    }


@router.get(
    "",
    operation_id="countries_list",
    summary="List countries",
    response_model=Page[CountryRead],
)
async def list_countries(request: Request, db: DbSession, page: PageParams) -> Response:
    """ISO 3166-1 countries by alpha-2 code, plus `XK` (Kosovo). These are the codes that
    `member_countries`, `host_country`, `delegation` and `nationality` accept."""
    rows = (await db.scalars(page.select(select(Country), COUNTRY_ORDER))).all()
    rows, next_cursor = page.cut(rows, COUNTRY_ORDER, lambda country: (country.code,))
    return page_response(request, [country_json(c) for c in rows], next_cursor)


@router.get(
    "/{code}",
    operation_id="countries_get",
    summary="Get a country",
    response_model=CountryRead,
    responses=READ_PROBLEMS,
)
async def get_country(
    request: Request,
    db: DbSession,
    code: Annotated[str, Path(description="An alpha-2 code, in either case.", examples=["RU"])],
) -> Response:
    """One country by its alpha-2 code, in either case: `FR`, `fr`."""
    country = await db.get(Country, code.upper())
    if country is None:
        raise NotFound(f"'{code}' is not an ISO 3166-1 alpha-2 country code.")
    return resource_response(request, country_json(country))
