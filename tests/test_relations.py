"""The relations of two countries (API v1.1, "Relations"): what the sessions between them
add up to, the sessions themselves in every format, and the countries one country met; on
both databases, through HTTP."""

import csv
import io
from typing import Any

import httpx
import icalendar
import pytest

from app.pagination import Page
from app.relations.schemas import Partner, RelationRead
from app.sessions.schemas import SessionSummary
from tests.factories import create_council, create_session

Record = dict[str, Any]


async def meeting(
    client: httpx.AsyncClient,
    countries: list[str],
    start: str,
    *,
    kind: str = "state_visit",
    end: str | None = None,
    title: str | None = None,
) -> Record:
    """A meeting outside councils, hosted by the last of `countries`."""
    body = {
        "kind": kind,
        "title": title or f"{kind} of {' and '.join(countries)} on {start}",
        "countries": countries,
        "host_country": countries[-1],
        "start_date": start,
        "end_date": end or start,
    }
    response = await client.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def create_person(client: httpx.AsyncClient, name: str, nationality: str) -> Record:
    response = await client.post("/persons", json={"name": name, "nationality": nationality})
    assert response.status_code == 201, response.text
    return response.json()


async def attend(client: httpx.AsyncClient, session: Record, person: Record, side: str) -> None:
    response = await client.post(
        f"/sessions/{session['id']}/participants",
        json={"person_id": person["id"], "delegation": side},
    )
    assert response.status_code == 201, response.text


async def create_topic(client: httpx.AsyncClient, slug: str) -> Record:
    name = slug.replace("-", " ").capitalize()
    response = await client.post(
        "/topics", json={"slug": slug, "name": name, "names": {"fr": f"{name} (fr)"}}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def on_agenda(client: httpx.AsyncClient, session: Record, topic: Record) -> None:
    response = await client.post(
        f"/sessions/{session['id']}/agenda", json={"topic_id": topic["id"]}
    )
    assert response.status_code == 201, response.text


async def relation(client: httpx.AsyncClient, a: str, b: str, **params: Any) -> Record:
    response = await client.get(f"/relations/{a}/{b}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    RelationRead.model_validate(response.json())
    return response.json()


async def partners(client: httpx.AsyncClient, code: str, **params: Any) -> list[Record]:
    response = await client.get(f"/countries/{code}/partners", params={"limit": 200} | params)
    assert response.status_code == 200, response.text
    page = Page[Partner].model_validate(response.json())
    assert page.next_cursor is None
    return response.json()["items"]


async def between(client: httpx.AsyncClient, a: str, b: str, **params: Any) -> list[Record]:
    response = await client.get(f"/relations/{a}/{b}/sessions", params=params)
    assert response.status_code == 200, response.text
    Page[SessionSummary].model_validate(response.json())
    return response.json()["items"]


def summary(council: Record) -> Record:
    return {key: council[key] for key in ("id", "slug", "acronym", "name")}


def person_summary(person: Record) -> Record:
    return {key: person[key] for key in ("id", "name", "nationality")}


def topic_summary(topic: Record) -> Record:
    return {key: topic[key] for key in ("id", "slug", "name", "names")}


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    """France and Russia in a bilateral council (two sessions), a council of three (one
    session), as guests of a Norwegian-German council (one session), on an official visit
    and at a summit; France and the USSR on de Gaulle's state visit of 1966; France and
    Germany on a working visit. People sit for France, Russia and Germany; topics are on
    the agendas, one twice on the same agenda."""
    councils = {
        "frru": await create_council(client, "frru", ("FR", "RU")),
        "trio": await create_council(client, "trio", ("FR", "RU", "DE")),
        "node": await create_council(client, "node", ("NO", "DE")),
    }
    sessions = {
        "de-gaulle": await meeting(client, ["FR", "SUHH"], "1966-06-20", end="1966-07-01"),
        "fifth": await create_session(client, "frru", "2005-10-11", ordinal=5),
        "sixth": await create_session(client, "frru", "2007-02-21", ordinal=6),
        "guests": await create_session(client, "node", "2008-03-10", guest_countries=["FR", "RU"]),
        "working": await meeting(client, ["FR", "DE"], "2008-09-01", kind="working_visit"),
        "trio": await create_session(client, "trio", "2009-05-04", end_date="2009-05-06"),
        "official": await meeting(client, ["FR", "RU"], "2010-11-26", kind="official_visit"),
        "summit": await meeting(client, ["FR", "RU", "DE", "IT"], "2012-06-01", kind="summit"),
    }
    people = {
        "lavrov": await create_person(client, "Sergueï Lavrov", "RU"),
        "douste": await create_person(client, "Philippe Douste-Blazy", "FR"),
        "steinmeier": await create_person(client, "Frank-Walter Steinmeier", "DE"),
        "interpreter": await create_person(client, "Anna Interprète", "FR"),
    }
    for name in ("fifth", "sixth", "official"):
        await attend(client, sessions[name], people["lavrov"], "RU")
    for name in ("sixth", "trio"):
        await attend(client, sessions[name], people["douste"], "FR")
    await attend(client, sessions["trio"], people["steinmeier"], "DE")
    await attend(client, sessions["summit"], people["steinmeier"], "DE")
    # One person on either side: an entry for each.
    await attend(client, sessions["fifth"], people["interpreter"], "FR")
    await attend(client, sessions["sixth"], people["interpreter"], "RU")
    await attend(client, sessions["de-gaulle"], people["douste"], "FR")
    topics = {slug: await create_topic(client, slug) for slug in ("energy", "nato", "space")}
    for name in ("fifth", "sixth", "summit"):
        await on_agenda(client, sessions[name], topics["energy"])
    await on_agenda(client, sessions["sixth"], topics["energy"])  # twice: counts once
    await on_agenda(client, sessions["sixth"], topics["nato"])
    await on_agenda(client, sessions["working"], topics["space"])
    await on_agenda(client, sessions["de-gaulle"], topics["space"])
    return {"councils": councils, "sessions": sessions, "people": people, "topics": topics}


def ranked(entries: list[Record], key: str) -> list[Record]:
    """Most sessions first, ties by id (then delegation): the order the API promises."""
    return sorted(entries, key=lambda e: (-e["sessions"], e[key]["id"], e.get("delegation", "")))


async def test_the_relation_of_two_countries(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    councils, people, topics = world["councils"], world["people"], world["topics"]
    fr_ru = await relation(client, "FR", "RU")
    assert fr_ru["countries"] == ["FR", "RU"]
    assert fr_ru["sessions"] == 6
    assert (fr_ru["first_date"], fr_ru["last_date"]) == ("2005-10-11", "2012-06-01")
    assert fr_ru["by_year"] == [
        {"year": 2005, "sessions": 1},
        {"year": 2006, "sessions": 0},
        {"year": 2007, "sessions": 1},
        {"year": 2008, "sessions": 1},
        {"year": 2009, "sessions": 1},
        {"year": 2010, "sessions": 1},
        {"year": 2011, "sessions": 0},
        {"year": 2012, "sessions": 1},
    ]
    assert fr_ru["by_kind"] == {"council_session": 4, "official_visit": 1, "summit": 1}
    # Not the Norwegian-German council, where France and Russia were guests.
    assert fr_ru["councils"] == [summary(councils["frru"]), summary(councils["trio"])]
    # Those who sat for France or Russia; not Steinmeier, who sat for Germany.
    assert fr_ru["people"] == ranked(
        [
            {"person": person_summary(people["lavrov"]), "delegation": "RU", "sessions": 3},
            {"person": person_summary(people["douste"]), "delegation": "FR", "sessions": 2},
            {"person": person_summary(people["interpreter"]), "delegation": "FR", "sessions": 1},
            {"person": person_summary(people["interpreter"]), "delegation": "RU", "sessions": 1},
        ],
        "person",
    )
    assert fr_ru["people"][0]["person"]["name"] == "Sergueï Lavrov"
    assert fr_ru["topics"] == ranked(
        [
            {"topic": topic_summary(topics["energy"]), "sessions": 3},
            {"topic": topic_summary(topics["nato"]), "sessions": 1},
        ],
        "topic",
    )
    assert fr_ru["topics"][0]["topic"]["names"] == {"fr": "Energy (fr)"}


async def test_either_order_and_either_case(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    fr_ru = await relation(client, "FR", "RU")
    for a, b in (("RU", "FR"), ("ru", "fr"), ("Fr", "rU")):
        other = await relation(client, a, b)
        assert other["countries"] == [a.upper(), b.upper()]
        assert other | {"countries": ["FR", "RU"]} == fr_ru
    assert await between(client, "ru", "fr") == await between(client, "FR", "RU")
    assert await partners(client, "fr") == await partners(client, "FR")


async def test_a_former_country_and_its_successor_stay_apart(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    """De Gaulle's visit of 1966 was to the USSR, not to Russia: France's relations with
    each are their own, and France's partners list both."""
    fr_suhh = await relation(client, "FR", "SUHH")
    assert fr_suhh["sessions"] == 1
    assert (fr_suhh["first_date"], fr_suhh["last_date"]) == ("1966-06-20", "1966-06-20")
    assert fr_suhh["by_year"] == [{"year": 1966, "sessions": 1}]
    assert fr_suhh["by_kind"] == {"state_visit": 1}
    assert fr_suhh["councils"] == []
    douste = person_summary(world["people"]["douste"])
    assert fr_suhh["people"] == [{"person": douste, "delegation": "FR", "sessions": 1}]
    assert [t["topic"]["slug"] for t in fr_suhh["topics"]] == ["space"]
    fr_ru = await relation(client, "FR", "RU")
    assert fr_ru["first_date"] == "2005-10-11"
    assert "state_visit" not in fr_ru["by_kind"]
    assert [s["id"] for s in await between(client, "FR", "SUHH")] == [
        world["sessions"]["de-gaulle"]["id"]
    ]
    assert world["sessions"]["de-gaulle"]["id"] not in {
        s["id"] for s in await between(client, "FR", "RU")
    }
    listed = {p["country"]["code"]: p for p in await partners(client, "FR")}
    assert listed["SUHH"] == {
        "country": {"code": "SUHH", "name": "USSR, Union of Soviet Socialist Republics"},
        "sessions": 1,
        "first_date": "1966-06-20",
        "last_date": "1966-06-20",
    }
    assert listed["RU"] == {
        "country": {"code": "RU", "name": "Russian Federation"},
        "sessions": 6,
        "first_date": "2005-10-11",
        "last_date": "2012-06-01",
    }
    assert [p["country"]["code"] for p in await partners(client, "SUHH")] == ["FR"]


async def test_a_pair_that_never_met(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    assert await relation(client, "FR", "JP") == {
        "countries": ["FR", "JP"],
        "sessions": 0,
        "first_date": None,
        "last_date": None,
        "by_year": [],
        "by_kind": {},
        "councils": [],
        "people": [],
        "topics": [],
    }
    assert await between(client, "FR", "JP") == []
    assert await partners(client, "JP") == []


async def test_filters_of_the_relation(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    """`from` and `to` keep the sessions that overlap the period (the 2009 session lasted
    from the 4th to the 6th of May); `kind` is repeatable."""
    for params, sessions in (
        ({"to": "2009-05-04"}, 4),
        ({"to": "2009-05-03"}, 3),
        ({"from": "2009-05-06"}, 3),
        ({"from": "2009-05-07"}, 2),
        ({"from": "2006-01-01", "to": "2009-12-31"}, 3),
    ):
        found = await relation(client, "FR", "RU", **params)
        assert found["sessions"] == sessions, params
        assert sum(year["sessions"] for year in found["by_year"]) == sessions
    kinds = await relation(client, "FR", "RU", kind=["official_visit", "summit"])
    assert kinds["sessions"] == 2
    assert kinds["by_kind"] == {"official_visit": 1, "summit": 1}
    assert kinds["by_year"][0] == {"year": 2010, "sessions": 1}
    assert kinds["councils"] == []
    assert [p["person"]["name"] for p in kinds["people"]] == ["Sergueï Lavrov"]
    assert [(t["topic"]["slug"], t["sessions"]) for t in kinds["topics"]] == [("energy", 1)]
    later = await relation(client, "FR", "RU", **{"from": "2008-01-01"})
    assert (later["first_date"], later["last_date"]) == ("2008-03-10", "2012-06-01")
    assert later["by_year"][0] == {"year": 2008, "sessions": 1}
    assert {(p["person"]["name"], p["sessions"]) for p in later["people"]} == {
        ("Sergueï Lavrov", 1),
        ("Philippe Douste-Blazy", 1),
    }
    bad = await client.get("/relations/FR/RU", params={"from": "2009-02-30", "kind": "visite"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/query/from", "/query/kind/0"}


async def test_unknown_countries_and_a_country_with_itself(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    for path in (
        "/relations/FR/XX",
        "/relations/XX/FR",
        "/relations/FR/SU",  # the USSR is SUHH
        "/relations/FR/FRA",
        "/relations/FR/XX/sessions",
        "/countries/XX/partners",
        "/countries/SUH/partners",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["title"] == "Not found"
    for a, b in (("FR", "FR"), ("FR", "fr"), ("suhh", "SUHH")):
        for path in (f"/relations/{a}/{b}", f"/relations/{a}/{b}/sessions"):
            response = await client.get(path)
            assert response.status_code == 422, path
            assert [e["pointer"] for e in response.json()["errors"]] == ["/path/b"]


async def test_the_twenty_people_and_topics_of_most_sessions(client: httpx.AsyncClient) -> None:
    """25 people and 25 topics over three sessions: the 20 of the most sessions, most
    first, ties by id."""
    await create_council(client, "frru", ("FR", "RU"))
    sessions = [
        await create_session(client, "frru", f"200{i}-01-15", ordinal=i + 1) for i in range(3)
    ]
    people, topics = [], []
    for i in range(25):
        person = await create_person(client, f"Delegate {i:02d}", "FR" if i % 2 else "RU")
        topic = await create_topic(client, f"topic-{i:02d}")
        attended = 3 if i < 5 else 2 if i < 10 else 1
        for session in sessions[:attended]:
            await attend(client, session, person, person["nationality"])
            await on_agenda(client, session, topic)
        people.append(
            {
                "person": person_summary(person),
                "delegation": person["nationality"],
                "sessions": attended,
            }
        )
        topics.append({"topic": topic_summary(topic), "sessions": attended})
    found = await relation(client, "RU", "FR")
    assert found["people"] == ranked(people, "person")[:20]
    assert found["topics"] == ranked(topics, "topic")[:20]
    assert [p["sessions"] for p in found["people"]] == [3] * 5 + [2] * 5 + [1] * 10
    assert [t["sessions"] for t in found["topics"]] == [3] * 5 + [2] * 5 + [1] * 10
    # The cut falls among those of one session: by id, the same on every request.
    assert await relation(client, "RU", "FR") == found
    first = await relation(client, "RU", "FR", to="2000-12-31")
    assert [p["sessions"] for p in first["people"]] == [1] * 20
    assert first["people"] == ranked([p | {"sessions": 1} for p in people], "person")[:20]


async def test_the_partners_of_a_country(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    """Most sessions first, ties by code: Russia (6), Germany (4: the council of three, as
    fellow guests, the working visit and the summit), then Italy, Norway and the USSR,
    one each."""
    listed = await partners(client, "FR")
    assert [(p["country"]["code"], p["sessions"]) for p in listed] == [
        ("RU", 6),
        ("DE", 4),
        ("IT", 1),
        ("NO", 1),
        ("SUHH", 1),
    ]
    germany = listed[1]
    assert germany == {
        "country": {"code": "DE", "name": "Germany"},
        "sessions": 4,
        "first_date": "2008-03-10",
        "last_date": "2012-06-01",
    }
    walked, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/countries/FR/partners", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        walked += page["items"]
        cursor = page["next_cursor"]
        assert ("link" in response.headers) == (cursor is not None)
        if cursor is None:
            break
    assert walked == listed
    second = await client.get("/countries/FR/partners", params={"limit": 2})
    cursor = second.json()["next_cursor"]
    altered = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    for params in (
        {"limit": 2, "cursor": altered},
        {"limit": 2, "cursor": cursor, "kind": "summit"},  # made for another filter
    ):
        response = await client.get("/countries/FR/partners", params=params)
        assert response.status_code == 400, params
    another_country = await client.get(
        "/countries/RU/partners", params={"limit": 2, "cursor": cursor}
    )
    assert another_country.status_code == 400
    visits = await partners(client, "FR", kind=["state_visit", "working_visit"])
    assert [(p["country"]["code"], p["sessions"]) for p in visits] == [("DE", 1), ("SUHH", 1)]
    since = await partners(client, "FR", **{"from": "2009-05-06", "to": "2011-01-01"})
    assert [(p["country"]["code"], p["sessions"]) for p in since] == [("RU", 2), ("DE", 1)]
    assert since[0]["first_date"] == "2009-05-04"  # the trio's session, ending on the 6th
    assert since[0]["last_date"] == "2010-11-26"
    assert await partners(client, "IT") == [
        {
            "country": {"code": p, "name": name},
            "sessions": 1,
            "first_date": "2012-06-01",
            "last_date": "2012-06-01",
        }
        for p, name in (("DE", "Germany"), ("FR", "France"), ("RU", "Russian Federation"))
    ]


async def test_the_sessions_between_two_countries(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    sessions = world["sessions"]
    in_order = ["fifth", "sixth", "guests", "trio", "official", "summit"]
    ids = [sessions[name]["id"] for name in in_order]
    assert [s["id"] for s in await between(client, "FR", "RU")] == ids
    assert [s["id"] for s in await between(client, "FR", "RU", sort="-start_date")] == ids[::-1]
    council_sessions = await between(client, "FR", "RU", kind="council_session")
    assert [s["id"] for s in council_sessions] == ids[:4]
    outside = await between(client, "FR", "RU", council="none", sort="-start_date")
    assert [s["id"] for s in outside] == [sessions["summit"]["id"], sessions["official"]["id"]]
    with_germany = await between(client, "FR", "RU", between="DE,IT")
    assert [s["id"] for s in with_germany] == [sessions["summit"]["id"]]
    energy = await between(client, "FR", "RU", topic="energy", **{"from": "2007-01-01"})
    assert [s["id"] for s in energy] == [sessions["sixth"]["id"], sessions["summit"]["id"]]
    first_page = await client.get("/relations/FR/RU/sessions", params={"limit": 4})
    assert [s["id"] for s in first_page.json()["items"]] == ids[:4]
    cursor = first_page.json()["next_cursor"]
    rest = await client.get("/relations/FR/RU/sessions", params={"limit": 4, "cursor": cursor})
    assert [s["id"] for s in rest.json()["items"]] == ids[4:]
    elsewhere = await client.get("/relations/FR/DE/sessions", params={"limit": 4, "cursor": cursor})
    assert elsewhere.status_code == 400
    unknown = await client.get("/relations/FR/RU/sessions", params={"topic": "nothing"})
    assert unknown.status_code == 422

    spreadsheet = await client.get(
        "/relations/FR/RU/sessions", params={"format": "csv", "sort": "-start_date"}
    )
    assert spreadsheet.status_code == 200
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(spreadsheet.content.decode("utf-8"), newline="")))
    assert [row["id"] for row in rows] == ids[::-1]  # every one, not a page: no limit
    assert rows[0]["title"] == sessions["summit"]["title"]

    feed = await client.get(
        "/relations/fr/ru/sessions", headers={"Accept": "text/calendar"}, params={"kind": "summit"}
    )
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert "France and Russian Federation" in str(calendar["X-WR-CALNAME"])
    events = list(calendar.walk("VEVENT"))
    assert [str(event["SUMMARY"]) for event in events] == [sessions["summit"]["title"]]
    whole = await client.get("/relations/FR/SUHH/sessions", params={"format": "ics"})
    assert [
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(whole.content).walk("VEVENT")
    ] == [sessions["de-gaulle"]["title"]]
