"""Every filter and sort of the lists has an index to serve it (PostgreSQL only).

A few thousand synthetic sessions are loaded with bulk inserts, the tables analysed, and the
SQL of each filter, built exactly as the app builds it, explained with sequential scans
disabled. A disabled Seq Scan is still chosen when no index can produce the rows, so a Seq
Scan on a large table in such a plan means a missing index. And a page of a whole list is
read from an index in the list's order: a Sort there means every page sorts the table.
"""

import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.models import NO_COUNCIL, Council, CouncilKind, CouncilMember
from app.ids import new_id
from app.pagination import Keyset, PageRequest, SortKey
from app.people.models import Participation, Person
from app.relations.service import partners_statement, relation_statement
from app.sessions.models import (
    CouncilSession,
    Segment,
    SegmentKind,
    SessionCountry,
    SessionKind,
    SessionStatus,
)
from app.sessions.service import SORTS, SessionFilter, session_conditions, summaries
from app.terms.models import SearchTerm
from app.terms.normalize import search_words
from app.terms.service import matches
from app.topics.models import AgendaItem, Topic

SESSIONS, COUNCILS, PERSONS = 3000, 50, 400
# Meetings outside councils, among the sessions: visits, summits.
MEETINGS = 600
MEETING_KINDS = [kind for kind in SessionKind if kind != SessionKind.council_session]
COUNTRIES = ["FR", "RU", "DE", "PL", "NO", "SE", "FI", "IT", "ES", "PT", "GB", "US"]
WORDS = ["energy", "security", "arctic", "trade", "migration", "nuclear", "climate", "fisheries"]
FIRST = ["Anna", "Boris", "Claire", "Dmitri", "Elena", "Fritz", "Greta", "Hans", "Ivan", "Jean"]
LAST = ["Lavrov", "Martin", "Novak", "Olsen", "Petrov", "Quist", "Roux", "Schmidt", "Tamm"]
LARGE_TABLES = (
    "council_session",
    "participation",
    "agenda_item",
    "search_term",
    "person",
    "segment",
    "session_country",
)
SECRET = b"explain"


@dataclass(frozen=True)
class Synthetic:
    council_ids: list[str]
    person_ids: list[str]
    root_topic_id: str
    leaf_topic_id: str
    session_id: str


def _terms(entity: str, record_id: str, texts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    weights: dict[str, int] = {}
    for text, weight in texts:
        for word in search_words(text):
            weights[word] = max(weight, weights.get(word, 0))
    return [
        {"entity": entity, "record_id": record_id, "term": term, "weight": weight}
        for term, weight in weights.items()
    ]


async def _load(app: FastAPI) -> Synthetic:
    rng = random.Random(20261127)
    now = datetime.now(UTC)
    councils, members = [], []
    for c in range(COUNCILS):
        council_id = new_id()
        countries = rng.sample(COUNTRIES, 2 if c % 3 else 4)
        councils.append(
            {
                "id": council_id,
                "slug": f"synthetic-{c}",
                "acronym": f"SC{c}",
                "name": f"Synthetic council {c}",
                "kind": CouncilKind.bilateral if len(countries) == 2 else CouncilKind.multilateral,
            }
        )
        members += [
            {"council_id": council_id, "country": country, "position": i}
            for i, country in enumerate(countries)
        ]
    persons = [
        {
            "id": new_id(),
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}-{p}",
            "nationality": rng.choice(COUNTRIES),
        }
        for p in range(PERSONS)
    ]
    topics: list[dict[str, Any]] = []
    for r in range(5):  # 5 roots, 15 children, 30 grandchildren
        root = {"id": new_id(), "slug": f"t{r}", "name": f"Theme {r}", "parent_id": None}
        topics.append(root)
        for c in range(3):
            child = {"id": new_id(), "slug": f"t{r}-{c}", "name": f"Topic {r}.{c}"}
            topics.append(child | {"parent_id": root["id"]})
            for g in range(2):
                leaf = {"id": new_id(), "slug": f"t{r}-{c}-{g}", "name": f"Issue {r}.{c}.{g}"}
                topics.append(leaf | {"parent_id": child["id"]})
    sessions, parties, segments, participations, agenda, terms = [], [], [], [], [], []
    member_countries: dict[str, list[str]] = {}
    for m in members:
        member_countries.setdefault(m["council_id"], []).append(m["country"])
    for s in range(SESSIONS):
        council = councils[s % COUNCILS]
        countries = sorted(set(member_countries[council["id"]]))
        start = date(1990, 1, 1) + timedelta(days=rng.randrange(36 * 365))
        host = rng.choice(countries)
        session_id = new_id()
        title = f"Session {s // COUNCILS + 1} of {council['acronym']} on " + " and ".join(
            rng.sample(WORDS, 2)
        )
        sessions.append(
            {
                "id": session_id,
                "council_id": council["id"],
                "kind": SessionKind.council_session,
                "ordinal": s // COUNCILS + 1,
                "title": title,
                "start_date": start,
                "end_date": start + timedelta(days=rng.randrange(3)),
                "location_country": host,
                "host_country": host,
                "status": rng.choices(list(SessionStatus), weights=[5, 90, 3, 2])[0],
                "updated_at": now - timedelta(days=rng.randrange(5 * 365)),
            }
        )
        parties += [
            {"session_id": session_id, "country": country, "position": i}
            for i, country in enumerate(member_countries[council["id"]])
        ]
        segments.append(
            {
                "id": new_id(),
                "session_id": session_id,
                "position": 0,
                "kind": SegmentKind.plenary,
                "date": start,
            }
        )
        for person in rng.sample(persons, 2):
            participations.append(
                {
                    "id": new_id(),
                    "session_id": session_id,
                    "person_id": person["id"],
                    "delegation": host,
                }
            )
        texts = [(title, 1)]
        for position, topic in enumerate(rng.sample(topics, 2), start=1):
            agenda.append(
                {
                    "id": new_id(),
                    "session_id": session_id,
                    "topic_id": topic["id"],
                    "position": position,
                }
            )
            texts.append((topic["name"], 0))
        terms += _terms("session", session_id, texts)
    for m in range(MEETINGS):
        countries = rng.sample(COUNTRIES, 2 if m % 4 else 3)
        start = date(1990, 1, 1) + timedelta(days=rng.randrange(36 * 365))
        session_id = new_id()
        kind = MEETING_KINDS[m % len(MEETING_KINDS)]
        title = f"{kind.replace('_', ' ').capitalize()} {m} on " + " and ".join(
            rng.sample(WORDS, 2)
        )
        sessions.append(
            {
                "id": session_id,
                "council_id": None,
                "kind": kind,
                "ordinal": None,
                "title": title,
                "start_date": start,
                "end_date": start + timedelta(days=rng.randrange(3)),
                "location_country": countries[0],
                "host_country": countries[0],
                "status": SessionStatus.held,
                "updated_at": now - timedelta(days=rng.randrange(5 * 365)),
            }
        )
        parties += [
            {"session_id": session_id, "country": country, "position": i}
            for i, country in enumerate(countries)
        ]
        terms += _terms("session", session_id, [(title, 1)])
    for person in persons:
        terms += _terms("person", person["id"], [(person["name"], 1)])
    async with app.state.engine.begin() as conn:
        for model, rows in (
            (Council, councils),
            (CouncilMember, members),
            (Person, persons),
            (Topic, topics),
            (CouncilSession, sessions),
            (SessionCountry, parties),
            (Segment, segments),
            (Participation, participations),
            (AgendaItem, agenda),
            (SearchTerm, terms),
        ):
            await conn.execute(insert(model), rows)
    async with app.state.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.exec_driver_sql("ANALYZE")
    return Synthetic(
        council_ids=[c["id"] for c in councils],
        person_ids=[p["id"] for p in persons],
        root_topic_id=topics[0]["id"],
        leaf_topic_id=topics[-1]["id"],
        session_id=sessions[SESSIONS // 2]["id"],
    )


async def _unload(app: FastAPI) -> None:
    async with app.state.engine.begin() as conn:
        # Meetings outside councils go with no council: deleted on their own.
        for model in (SearchTerm, CouncilSession, Council, Person, Topic):
            await conn.execute(delete(model))


@pytest.fixture(scope="module")
async def synthetic(app: FastAPI) -> AsyncIterator[Synthetic]:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("Query plans are checked on PostgreSQL only.")
    await _unload(app)
    try:
        yield await _load(app)
    finally:
        await _unload(app)


Build = Callable[[AsyncSession, Synthetic], Awaitable[Select[Any]]]


def _session_list(sort: str = "start_date", page: int = 1, **wanted: Any) -> Build:
    """GET /sessions as the app builds it: page 1, or a later page (after a cursor)."""

    async def build(db: AsyncSession, data: Synthetic) -> Select[Any]:
        fields = {name: value(data) if callable(value) else value for name, value in wanted.items()}
        conditions = await session_conditions(db, SessionFilter(**fields))
        keyset, key_of = SORTS[sort]
        stmt = summaries(db).where(*conditions)
        cursor = None
        if page > 1:
            middle = (
                await db.execute(summaries(db).where(CouncilSession.id == data.session_id))
            ).one()
            request = PageRequest(limit=50, cursor=None, scope="explain", secret=SECRET)
            values = [k.to_json(v) for k, v in zip(keyset.keys, key_of(middle), strict=True)]
            cursor = request.encode(values)
        request = PageRequest(limit=50, cursor=cursor, scope="explain", secret=SECRET)
        return request.select(stmt, keyset)

    return build


def _records(
    stmt: Callable[[Synthetic], Select[Any]],
    entity: str,
    order: tuple[Any, ...],
    q: str | None,
) -> Build:
    """The list_records query of GET /persons, /topics and /councils, as the app builds it."""

    async def build(db: AsyncSession, data: Synthetic) -> Select[Any]:
        request = PageRequest(limit=50, cursor=None, scope="explain", secret=SECRET)
        if q is None:
            return request.select(stmt(data), Keyset([SortKey(column) for column in order]))
        found = matches(q, [entity])
        rank = (-found.c.score).label("rank")
        keyset = Keyset([SortKey(rank), *(SortKey(column) for column in order)])
        model = order[-1].class_
        joined = stmt(data).add_columns(rank).join(found, found.c.record_id == model.id)
        return request.select(joined, keyset)

    return build


def _persons_of_council(data: Synthetic) -> Select[Any]:
    attended = (
        select(Participation.person_id)
        .join(CouncilSession, CouncilSession.id == Participation.session_id)
        .where(CouncilSession.council_id == data.council_ids[7])
    )
    return select(Person).where(Person.id.in_(attended))


def _topics_under(parent: Callable[[Synthetic], str | None]) -> Callable[[Synthetic], Select[Any]]:
    def stmt(data: Synthetic) -> Select[Any]:
        parent_id = parent(data)
        condition: ColumnElement[bool] = (
            Topic.parent_id.is_(None) if parent_id is None else Topic.parent_id == parent_id
        )
        return select(Topic).where(condition)

    return stmt


def _councils_of(data: Synthetic) -> Select[Any]:
    members = select(CouncilMember.council_id).where(CouncilMember.country.in_(["NO"]))
    return select(Council).where(Council.id.in_(members))


def _relation(**wanted: Any) -> Build:
    """GET /relations/NO/DE as the app builds it: one statement."""

    async def build(db: AsyncSession, data: Synthetic) -> Select[Any]:
        return await relation_statement(db, countries=("NO", "DE"), wanted=SessionFilter(**wanted))

    return build


def _partners(**wanted: Any) -> Build:
    """GET /countries/NO/partners as the app builds it: the first page."""

    async def build(db: AsyncSession, data: Synthetic) -> Select[Any]:
        stmt, keyset = await partners_statement(db, country="NO", wanted=SessionFilter(**wanted))
        request = PageRequest(limit=50, cursor=None, scope="explain", secret=SECRET)
        return request.select(stmt, keyset)

    return build


PERSON_ORDER = (Person.name, Person.id)
CASES: dict[str, Build] = {
    "sessions": _session_list(),
    "sessions-page-2": _session_list(page=2),
    "sessions--start_date": _session_list("-start_date"),
    "sessions--start_date-page-2": _session_list("-start_date", page=2),
    "sessions-ordinal": _session_list("ordinal"),
    "sessions-ordinal-page-2": _session_list("ordinal", page=2),
    "sessions--ordinal": _session_list("-ordinal"),
    "sessions-council": _session_list(councils=lambda d: [d.council_ids[3]]),
    "sessions-council-page-2": _session_list(page=2, councils=lambda d: [d.council_ids[3]]),
    "sessions-two-councils": _session_list(councils=lambda d: d.council_ids[3:5]),
    "sessions-council--ordinal": _session_list(
        "-ordinal", page=2, councils=lambda d: [d.council_ids[3]]
    ),
    "sessions-country": _session_list(countries=["NO"]),
    "sessions-two-countries": _session_list(countries=["NO", "PT"]),
    "sessions-kind": _session_list(kinds=[SessionKind.state_visit]),
    "sessions-two-kinds": _session_list(kinds=[SessionKind.summit, SessionKind.working_visit]),
    "sessions-kind-page-2": _session_list(page=2, kinds=[SessionKind.state_visit]),
    "sessions-no-council": _session_list(councils=[NO_COUNCIL]),
    "sessions-no-council-page-2": _session_list(page=2, councils=[NO_COUNCIL]),
    "sessions-no-council-or-a-council": _session_list(
        councils=lambda d: [NO_COUNCIL, d.council_ids[3]]
    ),
    "sessions-between": _session_list(between=["FR", "RU"]),
    "sessions-between-three": _session_list(between=["FR", "RU", "DE"]),
    "sessions-between-page-2": _session_list(page=2, between=["FR", "RU"]),
    "sessions-between-kind": _session_list(
        between=["FR", "RU"], kinds=[SessionKind.state_visit], councils=[NO_COUNCIL]
    ),
    "sessions-host_country": _session_list(host_countries=["NO"]),
    "sessions-location_country": _session_list(location_countries=["NO", "PT"]),
    "sessions-status": _session_list(statuses=[SessionStatus.cancelled]),
    "sessions-from-to": _session_list(date_from=date(2001, 1, 1), date_to=date(2001, 6, 30)),
    "sessions-from-to-page-2": _session_list(
        page=2, date_from=date(1990, 1, 1), date_to=date(2030, 1, 1)
    ),
    "sessions-to": _session_list("-start_date", date_to=date(1991, 1, 1)),
    "sessions-participant": _session_list(participants=lambda d: d.person_ids[:1]),
    "sessions-two-participants": _session_list(participants=lambda d: d.person_ids[:2]),
    "sessions-topic-leaf": _session_list(topic=lambda d: d.leaf_topic_id),
    "sessions-topic-root": _session_list(topic=lambda d: d.root_topic_id),
    "sessions-q": _session_list(q="arctic"),
    "sessions-q-two-words": _session_list(q="nuclear fish"),
    "sessions-q-page-2": _session_list(page=2, q="arctic"),
    "sessions-updated_since": _session_list(updated_since=datetime.now(UTC) - timedelta(days=10)),
    "sessions-between-no-de": _session_list(between=["NO", "DE"]),
    "sessions-between-no-de-page-2": _session_list("-start_date", page=2, between=["NO", "DE"]),
    "relation": _relation(),
    "relation-from-to-kind": _relation(
        date_from=date(2001, 1, 1), date_to=date(2010, 6, 30), kinds=[SessionKind.council_session]
    ),
    "partners": _partners(),
    "partners-from-to": _partners(date_from=date(2001, 1, 1), date_to=date(2010, 6, 30)),
    "persons": _records(lambda d: select(Person), "person", PERSON_ORDER, None),
    "persons-q": _records(lambda d: select(Person), "person", PERSON_ORDER, "lavrov"),
    "persons-q-prefix": _records(lambda d: select(Person), "person", PERSON_ORDER, "ol"),
    "persons-nationality": _records(
        lambda d: select(Person).where(Person.nationality.in_(["NO"])), "person", PERSON_ORDER, None
    ),
    "persons-council": _records(_persons_of_council, "person", PERSON_ORDER, None),
    "topics-parent": _records(
        _topics_under(lambda d: d.root_topic_id), "topic", (Topic.slug, Topic.id), None
    ),
    "topics-root": _records(_topics_under(lambda d: None), "topic", (Topic.slug, Topic.id), None),
    "topics": _records(lambda d: select(Topic), "topic", (Topic.slug, Topic.id), None),
    "councils": _records(lambda d: select(Council), "council", (Council.slug, Council.id), None),
    "councils-country": _records(_councils_of, "council", (Council.slug, Council.id), None),
}
UNFILTERED = (
    "sessions",
    "sessions--start_date",
    "sessions-ordinal",
    "sessions--ordinal",
    "persons",
)
SORT_NODE = re.compile(r"^\s*(->\s+)?Sort\s")


async def _plan(app: FastAPI, data: Synthetic, build: Build) -> list[str]:
    async with app.state.sessionmaker() as db, db.begin():
        stmt = await build(db, data)
        sql = str(
            stmt.compile(dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True})
        )
        conn = await db.connection()
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return list((await conn.exec_driver_sql("EXPLAIN " + sql)).scalars())


@pytest.mark.parametrize("case", list(CASES))
async def test_filter_is_served_by_an_index(app: FastAPI, synthetic: Synthetic, case: str) -> None:
    async with app.state.sessionmaker() as db:
        stored = await db.scalar(select(func.count()).select_from(CouncilSession))
        assert stored == SESSIONS + MEETINGS
    plan = await _plan(app, synthetic, CASES[case])
    scanned = [line.strip() for line in plan if "Seq Scan on " in line]
    large = [line for line in scanned if line.split("Seq Scan on ")[1].split()[0] in LARGE_TABLES]
    assert large == [], f"{case}: a large table is read whole:\n" + "\n".join(plan)


@pytest.mark.parametrize("case", UNFILTERED)
async def test_unfiltered_list_is_read_in_index_order(
    app: FastAPI, synthetic: Synthetic, case: str
) -> None:
    """A page of a whole list of a large table is read from an index in the list's order and
    stops after the page: no Sort of the whole table (an Incremental Sort is fine)."""
    plan = await _plan(app, synthetic, CASES[case])
    assert not [line for line in plan if SORT_NODE.match(line)], (
        f"{case}: the whole table is sorted for every page:\n" + "\n".join(plan)
    )
