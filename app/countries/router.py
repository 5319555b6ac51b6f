from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
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
    code: str = Field(description="Alpha-2, or ISO 3166-3's four letters for a former country.")
    alpha_3: str
    name: str
    official_name: str | None
    former: bool = Field(description="A country of the past (ISO 3166-3): the USSR, the GDR.")
    withdrawn_on: str | None = Field(
        description="When ISO withdrew a former country's code (a partial date), if known."
    )


def country_json(country: Country) -> dict[str, Any]:
    return {
        "code": country.code,
        "alpha_3": country.alpha_3,
        "name": country.name,
        "official_name": country.official_name,
        "former": country.former,
        "withdrawn_on": country.withdrawn_on,
    }


@router.get(
    "",
    operation_id="countries_list",
    summary="List countries",
    response_model=Page[CountryRead],
)
async def list_countries(
    request: Request,
    db: DbSession,
    page: PageParams,
    former: Annotated[
        bool | None,
        Query(description="`false`: today's countries only; `true`: former ones only."),
    ] = None,
) -> Response:
    """ISO 3166-1 countries by alpha-2 code, plus `XK` (Kosovo), and the former countries
    of ISO 3166-3 by their four letters (`SUHH` the USSR, `DDDE` the GDR, `YUCS`
    Yugoslavia), with `former: true` and the date they ceased. These are the codes that
    `member_countries`, `countries`, `host_country`, `delegation` and `nationality`
    accept."""
    countries = select(Country)
    if former is not None:
        countries = countries.where(Country.former.is_(former))
    rows = (await db.scalars(page.select(countries, COUNTRY_ORDER))).all()
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
    code: Annotated[
        str,
        Path(
            description="An alpha-2 code, or a former country's four letters, in either case.",
            examples=["SUHH"],
        ),
    ],
) -> Response:
    """One country by its code, in either case: `FR`, `fr`, `SUHH`."""
    country = await db.get(Country, code.upper())
    if country is None:
        raise NotFound(f"'{code}' is not a country code (ISO 3166-1 alpha-2, or 3166-3).")
    return resource_response(request, country_json(country))
