from dataclasses import replace
from typing import Any, cast

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.countries.models import Country
from app.db import dialect_of
from app.pagination import AnySelect, Keyset, PageRequest, SortKey
from app.relations.documents import MET, relation_document
from app.schemas import iso_date
from app.sessions.models import CouncilSession, SessionCountry
from app.sessions.service import SessionFilter, session_conditions

S = CouncilSession


async def relation_statement(
    db: AsyncSession, *, countries: tuple[str, str], wanted: SessionFilter
) -> AnySelect:
    """The relation of two countries (documents.relation) over the sessions between them
    that `wanted` keeps, in one statement: the sessions are found once, as a list of
    sessions `?between=` them finds them, and every figure is counted from them."""
    conditions = await session_conditions(db, replace(wanted, between=countries))
    met = select(S.id, S.start_date, S.kind, S.council_id).where(*conditions).cte(MET)
    a, b = countries
    document = relation_document(dialect_of(db)).bindparams(relation_a=a, relation_b=b)
    return select(document).add_cte(met)


async def relation_json(
    db: AsyncSession, *, countries: tuple[str, str], wanted: SessionFilter
) -> bytes:
    """The relation of two countries as JSON, as the database wrote it."""
    stmt = await relation_statement(db, countries=countries, wanted=wanted)
    return cast(str, await db.scalar(stmt)).encode()


async def partners_statement(
    db: AsyncSession, *, country: str, wanted: SessionFilter
) -> tuple[AnySelect, Keyset]:
    """The countries that were parties to a session with `country`, among the sessions
    `wanted` keeps: each with the number of those sessions and the first and last start
    dates; and their order, most sessions first, then by code."""
    conditions = await session_conditions(db, wanted)
    ours, theirs = aliased(SessionCountry), aliased(SessionCountry)
    met = (
        select(
            theirs.country,
            func.count().label("sessions"),
            func.min(S.start_date).label("first_date"),
            func.max(S.start_date).label("last_date"),
        )
        .select_from(ours)
        .join(theirs, and_(theirs.session_id == ours.session_id, theirs.country != ours.country))
        .join(S, S.id == ours.session_id)
        .where(ours.country == country, *conditions)
        .group_by(theirs.country)
        .subquery("partner")
    )
    rank = (-met.c.sessions).label("rank")
    stmt = select(met, rank, Country.name).join(Country, Country.code == met.c.country)
    return stmt, Keyset([SortKey(rank), SortKey(met.c.country)])


async def partners(
    db: AsyncSession, *, country: str, wanted: SessionFilter, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the countries `country` met (partners_statement)."""
    stmt, keyset = await partners_statement(db, country=country, wanted=wanted)
    rows = (await db.execute(page.select(stmt, keyset))).all()
    rows, next_cursor = page.cut(rows, keyset, lambda r: (r.rank, r.country))
    items = [
        {
            "country": {"code": r.country, "name": r.name},
            "sessions": r.sessions,
            "first_date": iso_date(r.first_date),
            "last_date": iso_date(r.last_date),
        }
        for r in rows
    ]
    return items, next_cursor
