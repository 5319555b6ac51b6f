"""The filters and sorts of GET /sessions against a plain Python model (API.md, "Lists").

Hypothesis draws a small dataset (councils with member countries; sessions with dates,
ordinals, host and location countries, statuses, participants and agenda topics) and a few
filter combinations. The dataset is loaded through the API, every page of each list is
walked, and the ids served, in order, must be those the model selects and sorts.

How it runs: `@given` decorates the `async def` test itself. pytest-asyncio recognises a
Hypothesis test and runs each example's coroutine on the session's event loop, so the
`client` fixture works inside the examples. Fixtures are set up once per test, not per
example, hence the suppressed `function_scoped_fixture` health check: the persons and the
topic tree are created once and only read by the examples, and each example deletes the
councils it created (with their sessions, participants and agenda) before the next one.
`derandomize=True` makes the examples the same on every run; a failing example is
reported as drawn, without shrinking (see the settings).
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

COUNTRIES = ("FR", "RU", "DE", "PL", "NO")
STATUSES = ("planned", "held", "postponed", "cancelled")
SORTS = ("start_date", "-start_date", "ordinal", "-ordinal")
BASE = date(2001, 1, 1)
UNNUMBERED = 2**31 - 1
PERSONS = 3
# The topic tree, as the index of each topic's parent: 0 and 4 are roots; 1 and 2 are under
# 0, 3 under 1, 5 under 4.
TOPIC_PARENTS = (None, 0, 0, 1, None, 4)
COUNCIL_SLUGS = ("pa", "pb", "pc")


def subtree(topic: int) -> set[int]:
    found = {topic}
    for child, parent in enumerate(TOPIC_PARENTS):
        if parent == topic:
            found |= subtree(child)
    return found


@dataclass
class SessionSpec:
    council: int
    start: date
    days: int
    ordinal: int | None
    host: str | None
    location: str | None
    status: str
    persons: list[int]
    topics: list[int]
    id: str = ""

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)


@dataclass
class Dataset:
    councils: list[list[str]]  # member countries
    sessions: list[SessionSpec] = field(default_factory=list)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    councils = draw(
        st.lists(
            st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=3, unique=True),
            min_size=1,
            max_size=len(COUNCIL_SLUGS),
        )
    )
    data = Dataset(councils)
    countries = st.sampled_from((None, *COUNTRIES))
    specs = st.builds(
        SessionSpec,
        council=st.integers(0, len(councils) - 1),
        # Few distinct dates, so that ties on the date are common.
        start=st.integers(0, 12).map(lambda week: BASE + timedelta(weeks=week)),
        days=st.sampled_from([0, 1, 3, 10]),
        ordinal=st.none() | st.integers(1, 4),
        host=countries,
        location=countries,
        status=st.sampled_from(STATUSES),
        persons=st.lists(st.integers(0, PERSONS - 1), unique=True, max_size=2),
        topics=st.lists(st.integers(0, len(TOPIC_PARENTS) - 1), unique=True, max_size=2),
    )
    taken = set()
    for spec in draw(st.lists(specs, min_size=3, max_size=8)):
        if (spec.council, spec.ordinal) in taken:
            spec.ordinal = None  # an ordinal is unique within a council
        elif spec.ordinal is not None:
            taken.add((spec.council, spec.ordinal))
        data.sessions.append(spec)
    return data


@dataclass(frozen=True)
class Query:
    councils: tuple[int, ...] = ()
    council_by_id: bool = False
    countries: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: tuple[int, int] | None = None
    date_to: tuple[int, int] | None = None
    persons: tuple[int, ...] = ()
    topic: int | None = None
    topic_by_id: bool = False
    sort: str = "start_date"
    limit: int = 3


def _some(values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(values, min_size=1, max_size=2, unique=True).map(tuple)


# A date as (a session, days after its start): the day before it, within it, just after.
_day = st.tuples(st.integers(0, 7), st.integers(-1, 11))
FILTERS: dict[str, st.SearchStrategy[Any]] = {
    "councils": _some(st.integers(0, len(COUNCIL_SLUGS) - 1)),
    "countries": _some(st.sampled_from(COUNTRIES)),
    "hosts": _some(st.sampled_from(COUNTRIES)),
    "locations": _some(st.sampled_from(COUNTRIES)),
    "statuses": _some(st.sampled_from(STATUSES)),
    "date_from": _day,
    "date_to": _day,
    "persons": _some(st.integers(0, PERSONS - 1)),
    "topic": st.integers(0, len(TOPIC_PARENTS) - 1),
}


@st.composite
def queries(draw: st.DrawFn) -> Query:
    """A sort and up to three filters: more would leave almost every list empty."""
    names = draw(st.lists(st.sampled_from(sorted(FILTERS)), max_size=3, unique=True))
    return Query(
        **{name: draw(FILTERS[name]) for name in names},
        council_by_id=draw(st.booleans()),
        topic_by_id=draw(st.booleans()),
        sort=draw(st.sampled_from(SORTS)),
        limit=draw(st.integers(1, 4)),
    )


def on(data: Dataset, day: tuple[int, int]) -> date:
    session, days = day
    return data.sessions[session % len(data.sessions)].start + timedelta(days=days)


def model(data: Dataset, query: Query) -> list[str]:
    """The ids the contract asks for, in its order."""
    date_from = None if query.date_from is None else on(data, query.date_from)
    date_to = None if query.date_to is None else on(data, query.date_to)

    def wanted(s: SessionSpec) -> bool:
        members = data.councils[s.council]
        return (
            (not query.councils or s.council in query.councils)
            and (
                not query.countries
                or s.host in query.countries
                or any(c in query.countries for c in members)
            )
            and (not query.hosts or s.host in query.hosts)
            and (not query.locations or s.location in query.locations)
            and (not query.statuses or s.status in query.statuses)
            and (date_from is None or s.end >= date_from)
            and (date_to is None or s.start <= date_to)
            and all(p in s.persons for p in query.persons)
            and (query.topic is None or bool(subtree(query.topic) & set(s.topics)))
        )

    def key(s: SessionSpec) -> tuple[Any, ...]:
        if query.sort.lstrip("-") == "start_date":
            return (s.start, s.id)
        return (s.ordinal if s.ordinal is not None else UNNUMBERED, s.start, s.id)

    found = sorted(filter(wanted, data.sessions), key=key, reverse=query.sort.startswith("-"))
    return [s.id for s in found]


@dataclass(frozen=True)
class Fixed:
    person_ids: list[str]
    topic_ids: list[str]
    topic_slugs: list[str]


@pytest.fixture
async def fixed(client: httpx.AsyncClient) -> Fixed:
    """Persons and a topic tree, shared by the examples of a test, which only read them."""
    person_ids = []
    for i in range(PERSONS):
        response = await client.post("/persons", json={"name": f"Person {i}"})
        assert response.status_code == 201, response.text
        person_ids.append(response.json()["id"])
    topic_ids: list[str] = []
    slugs = [f"topic-{i}" for i in range(len(TOPIC_PARENTS))]
    for slug, parent in zip(slugs, TOPIC_PARENTS, strict=True):
        body = {"slug": slug, "name": slug.title()}
        if parent is not None:
            body["parent_id"] = topic_ids[parent]
        response = await client.post("/topics", json=body)
        assert response.status_code == 201, response.text
        topic_ids.append(response.json()["id"])
    return Fixed(person_ids, topic_ids, slugs)


async def load(client: httpx.AsyncClient, fixed: Fixed, data: Dataset) -> list[str]:
    """Create the dataset through the API; the council ids."""
    council_ids = []
    for slug, members in zip(COUNCIL_SLUGS, data.councils, strict=False):
        response = await client.post(
            "/councils",
            json={
                "slug": slug,
                "name": f"Council {slug}",
                "kind": "bilateral" if len(members) == 2 else "multilateral",
                "member_countries": members,
            },
        )
        assert response.status_code == 201, response.text
        council_ids.append(response.json()["id"])
    for s in data.sessions:
        body = {
            "council_id": council_ids[s.council],
            "ordinal": s.ordinal,
            "start_date": s.start.isoformat(),
            "end_date": s.end.isoformat(),
            "host_country": s.host,
            "location": {"country": s.location},
            "status": s.status,
        }
        response = await client.post("/sessions", json=body)
        assert response.status_code == 201, response.text
        s.id = response.json()["id"]
        for p in s.persons:
            response = await client.post(
                f"/sessions/{s.id}/participants",
                json={"person_id": fixed.person_ids[p], "delegation": data.councils[s.council][0]},
            )
            assert response.status_code == 201, response.text
        for t in s.topics:
            response = await client.post(
                f"/sessions/{s.id}/agenda", json={"topic_id": fixed.topic_ids[t]}
            )
            assert response.status_code == 201, response.text
    return council_ids


def params(data: Dataset, query: Query, council_ids: list[str], fixed: Fixed) -> dict[str, Any]:
    councils = [council_ids[c] if query.council_by_id else COUNCIL_SLUGS[c] for c in query.councils]
    found: dict[str, Any] = {
        "council": councils,
        "country": list(query.countries),
        "host_country": list(query.hosts),
        "location_country": list(query.locations),
        "status": list(query.statuses),
        "participant": [fixed.person_ids[p] for p in query.persons],
        "sort": query.sort,
        "limit": query.limit,
    }
    for name, day in (("from", query.date_from), ("to", query.date_to)):
        if day is not None:
            found[name] = on(data, day).isoformat()
    if query.topic is not None:
        topics = fixed.topic_ids if query.topic_by_id else fixed.topic_slugs
        found["topic"] = topics[query.topic]
    return {k: v for k, v in found.items() if v != []}


async def walk(client: httpx.AsyncClient, query_params: dict[str, Any], most: int) -> list[str]:
    """The ids of every page, first to last; failing after `most` pages."""
    ids: list[str] = []
    cursor = None
    for _ in range(most):
        response = await client.get(
            "/sessions", params=query_params | ({"cursor": cursor} if cursor else {})
        )
        assert response.status_code == 200, response.text
        page = response.json()
        cursor = page["next_cursor"]
        # Full pages, but for the last.
        assert len(page["items"]) == query_params["limit"] or cursor is None
        assert len(page["items"]) <= query_params["limit"]
        ids += [s["id"] for s in page["items"]]
        if cursor is None:
            return ids
    raise AssertionError(f"more than {most} pages: {ids}")


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: each step reloads a dataset, and minutes of it would hold up CI. The
    # failing example is reported as drawn, with the parameters of the query that failed.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=datasets(), asked=st.lists(queries(), min_size=4, max_size=8))
async def test_session_filters_match_the_model(
    client: httpx.AsyncClient, fixed: Fixed, data: Dataset, asked: list[Query]
) -> None:
    assert (await client.get("/sessions")).json()["items"] == [], "a previous example remains"
    try:
        council_ids = await load(client, fixed, data)
        for drawn in asked:
            # Only councils of this dataset (another would be a 422, tested elsewhere).
            councils = tuple(sorted({c % len(council_ids) for c in drawn.councils}))
            query = replace(drawn, councils=councils)
            query_params = params(data, query, council_ids, fixed)
            served = await walk(client, query_params, most=len(data.sessions) + 1)
            assert served == model(data, query), f"{query_params}\n{data}"
    finally:
        for slug in COUNCIL_SLUGS[: len(data.councils)]:
            response = await client.delete(f"/councils/{slug}", params={"cascade": "true"})
            assert response.status_code in (204, 404)


# ---------------------------------------------------------------- meetings outside councils

KINDS = (
    "state_visit",
    "official_visit",
    "working_visit",
    "private_visit",
    "visit",
    "summit",
    "ministerial_meeting",
    "other",
)


@dataclass
class MeetingSpec:
    """A council's session (`council` set: its parties are the council's members, then
    its guests) or a meeting outside councils (`kind` and its `countries`)."""

    council: int | None
    kind: str
    countries: list[str]
    guests: list[str]
    host: str | None
    start: date
    id: str = ""


@dataclass
class Meetings:
    councils: list[list[str]]
    sessions: list[MeetingSpec] = field(default_factory=list)

    def parties(self, s: MeetingSpec) -> list[str]:
        if s.council is None:
            return s.countries
        return list(dict.fromkeys([*self.councils[s.council], *s.guests]))


@st.composite
def meetings(draw: st.DrawFn) -> Meetings:
    councils = draw(
        st.lists(
            st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=3, unique=True),
            min_size=1,
            max_size=2,
        )
    )
    data = Meetings(councils)
    start = st.integers(0, 12).map(lambda week: BASE + timedelta(weeks=week))
    for _ in range(draw(st.integers(3, 9))):
        if draw(st.booleans()):
            countries = draw(
                st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=3, unique=True)
            )
            spec = MeetingSpec(
                council=None,
                kind=draw(st.sampled_from(KINDS)),
                countries=countries,
                guests=[],
                host=draw(st.sampled_from([None, *countries])),
                start=draw(start),
            )
        else:
            spec = MeetingSpec(
                council=draw(st.integers(0, len(councils) - 1)),
                kind="council_session",
                countries=[],
                guests=draw(st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True)),
                # A council session's host need not be a party: `country` matches it too.
                host=draw(st.sampled_from((None, *COUNTRIES))),
                start=draw(start),
            )
        data.sessions.append(spec)
    return data


@dataclass(frozen=True)
class MeetingQuery:
    kinds: tuple[str, ...] = ()
    between: tuple[str, ...] = ()
    no_council: bool = False
    councils: tuple[int, ...] = ()
    countries: tuple[str, ...] = ()
    sort: str = "start_date"
    limit: int = 3


@st.composite
def meeting_queries(draw: st.DrawFn) -> MeetingQuery:
    kinds = st.sampled_from(("council_session", *KINDS))
    return MeetingQuery(
        kinds=draw(st.lists(kinds, max_size=3, unique=True).map(tuple)),
        between=draw(
            st.just(()) | st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=3, unique=True)
        ),
        no_council=draw(st.booleans()),
        councils=draw(st.lists(st.integers(0, 1), max_size=1).map(tuple)),
        countries=draw(st.lists(st.sampled_from(COUNTRIES), max_size=2, unique=True).map(tuple)),
        sort=draw(st.sampled_from(("start_date", "-start_date"))),
        limit=draw(st.integers(1, 4)),
    )


def meetings_model(data: Meetings, query: MeetingQuery) -> list[str]:
    """The ids the contract asks for, in its order."""

    def wanted(s: MeetingSpec) -> bool:
        parties = data.parties(s)
        in_councils = (query.no_council and s.council is None) or (
            s.council is not None and s.council in query.councils
        )
        return (
            (not query.kinds or s.kind in query.kinds)
            and set(query.between) <= set(parties)
            and (not (query.no_council or query.councils) or in_councils)
            and (
                not query.countries
                or s.host in query.countries
                or any(c in query.countries for c in parties)
            )
        )

    found = sorted(
        filter(wanted, data.sessions),
        key=lambda s: (s.start, s.id),
        reverse=query.sort.startswith("-"),
    )
    return [s.id for s in found]


async def load_meetings(client: httpx.AsyncClient, data: Meetings) -> None:
    for slug, members in zip(COUNCIL_SLUGS, data.councils, strict=False):
        response = await client.post(
            "/councils",
            json={
                "slug": slug,
                "name": f"Council {slug}",
                "kind": "bilateral" if len(members) == 2 else "multilateral",
                "member_countries": members,
            },
        )
        assert response.status_code == 201, response.text
    for i, s in enumerate(data.sessions):
        body: dict[str, Any] = {"start_date": s.start.isoformat(), "host_country": s.host}
        if s.council is None:
            body |= {"kind": s.kind, "title": f"Meeting {i}", "countries": s.countries}
        else:
            body |= {"council_id": COUNCIL_SLUGS[s.council], "guest_countries": s.guests}
        response = await client.post("/sessions", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["countries"] == data.parties(s)
        s.id = response.json()["id"]


def meeting_params(query: MeetingQuery) -> dict[str, Any]:
    found: dict[str, Any] = {
        "kind": list(query.kinds),
        "council": (["none"] if query.no_council else [])
        + [COUNCIL_SLUGS[c] for c in query.councils],
        "country": list(query.countries),
        "sort": query.sort,
        "limit": query.limit,
    }
    if query.between:
        found["between"] = ",".join(query.between)
    return {k: v for k, v in found.items() if v != []}


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=meetings(), asked=st.lists(meeting_queries(), min_size=4, max_size=8))
async def test_meeting_filters_match_the_model(
    client: httpx.AsyncClient, data: Meetings, asked: list[MeetingQuery]
) -> None:
    """`kind`, `between`, `council=none` and `country`, alone and combined, on councils'
    sessions and meetings outside councils."""
    assert (await client.get("/sessions")).json()["items"] == [], "a previous example remains"
    try:
        await load_meetings(client, data)
        for drawn in asked:
            # Only councils of this dataset (another would be a 422, tested elsewhere).
            councils = tuple(sorted({c % len(data.councils) for c in drawn.councils}))
            query = replace(drawn, councils=councils)
            query_params = meeting_params(query)
            served = await walk(client, query_params, most=len(data.sessions) + 1)
            assert served == meetings_model(data, query), f"{query_params}\n{data}"
    finally:
        for s in data.sessions:
            if s.council is None and s.id:
                response = await client.delete(f"/sessions/{s.id}")
                assert response.status_code == 204
        for slug in COUNCIL_SLUGS[: len(data.councils)]:
            response = await client.delete(f"/councils/{slug}", params={"cascade": "true"})
            assert response.status_code in (204, 404)
