"""Sessions in other formats (API.md, "Formats"): iCalendar feeds read back by two
independent parsers (icalendar and ics), CSV read back by the csv module, a session as a
schema.org Event in JSON-LD; and CORS, off by default and on for the configured origins."""

import csv
import io
import threading
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import icalendar
import ics
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app, shut_down
from app.sessions import formats
from app.sessions import service as sessions_service
from tests.conftest import http_client
from tests.factories import COUNCIL, create_council, create_session

ICS_ROLES = {"CHAIR", "REQ-PARTICIPANT", "OPT-PARTICIPANT", "NON-PARTICIPANT"}
ICS_STATUSES = {"TENTATIVE", "CONFIRMED", "CANCELLED"}
SCHEMA_STATUSES = {
    f"https://schema.org/{s}"
    for s in (
        "EventScheduled",
        "EventCancelled",
        "EventPostponed",
        "EventRescheduled",
        "EventMovedOnline",
    )
}
# Each list that has formats, and the CCQS sessions it holds (by ordinal).
FEEDS = {
    "/sessions": [5, 6],
    "/councils/ccqs/sessions": [5, 6],
    "/persons/{lavrov}/sessions": [6],
    "/topics/kosovo/sessions": [6],
    "/relations/FR/RU/sessions": [5, 6],
}


# ---------------------------------------------------------------- helpers


async def formatted(client: httpx.AsyncClient, path: str, fmt: str, how: str) -> httpx.Response:
    """The list at `path` as `fmt` (ics or csv), asked for by `?format=` or by `Accept`."""
    if how == "query":
        response = await client.get(path, params={"format": fmt})
    else:
        accept = {"ics": "text/calendar", "csv": "text/csv"}[fmt]
        response = await client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    media_type = {"ics": "text/calendar", "csv": "text/csv"}[fmt]
    assert response.headers["content-type"].split(";")[0].strip() == media_type
    return response


async def details(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    """The sessions of a list as JSON, each in full (GET /sessions/{id})."""
    response = await client.get(path, params={"limit": 200})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    full = []
    for item in response.json()["items"]:
        session = await client.get(f"/sessions/{item['id']}")
        assert session.status_code == 200
        full.append(session.json())
    return full


def feed_path(template: str, ccqs: dict[str, Any]) -> str:
    return template.format(lavrov=ccqs["persons"]["lavrov"]["id"])


def by_icalendar(body: bytes) -> list[dict[str, Any]]:
    """The events of a calendar, as read by the icalendar library."""
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    events = []
    for event in calendar.walk("VEVENT"):
        assert "DTSTAMP" in event
        attendees = event.get("ATTENDEE", [])
        if not isinstance(attendees, list):
            attendees = [attendees]
        categories = event.get("CATEGORIES")
        if categories is None:
            names: list[str] = []
        elif isinstance(categories, list):
            names = [str(c) for group in categories for c in group.cats]
        else:
            names = [str(c) for c in categories.cats]
        events.append(
            {
                "uid": str(event["UID"]),
                "start": event.decoded("DTSTART"),
                "end": event.decoded("DTEND"),
                "summary": str(event["SUMMARY"]),
                "location": str(event["LOCATION"]) if "LOCATION" in event else None,
                "status": str(event["STATUS"]),
                "attendees": sorted(
                    (str(a), str(a.params["CN"]), str(a.params["ROLE"])) for a in attendees
                ),
                "categories": sorted(names),
            }
        )
    return events


def by_ics(body: bytes) -> list[dict[str, Any]]:
    """The same, as read by the ics package: a second, independent parser."""
    calendar = ics.Calendar(body.decode("utf-8"))
    events = []
    for event in calendar.events:
        assert event.all_day, event.uid
        events.append(
            {
                "uid": event.uid,
                "start": event.begin.date(),
                "end": event.end.date(),
                "summary": event.name,
                "location": event.location,
                "status": event.status,
                "attendees": sorted((a.email, a.common_name, a.role) for a in event.attendees),
                "categories": sorted(event.categories),
            }
        )
    return events


def expected_event(session: dict[str, Any]) -> dict[str, Any]:
    """What a session's VEVENT must say, from its JSON (all but UID, STATUS and LOCATION,
    which are checked on their own)."""
    return {
        "start": date.fromisoformat(session["start_date"]),
        # RFC 5545: an all-day event's DTEND is exclusive, the day after the last day.
        "end": date.fromisoformat(session["end_date"]) + timedelta(days=1),
        "summary": session["title"],
        "people": sorted(
            (f"urn:entente:person:{p['person_id']}", p["person"]["name"])
            for p in session["participants"]
        ),
        "categories": sorted(a["topic"]["name"] for a in session["agenda"]),
    }


def check_events(events: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> None:
    assert len(events) == len(sessions)
    uids = [e["uid"] for e in events]
    assert len(set(uids)) == len(uids)
    by_start = {(e["start"], e["summary"]): e for e in events}
    for session in sessions:
        want = expected_event(session)
        event = by_start[(want["start"], want["summary"])]
        assert type(event["start"]) is date and type(event["end"]) is date
        assert event["end"] == want["end"]
        assert [(urn, cn) for urn, cn, _ in event["attendees"]] == want["people"]
        assert {role for _, _, role in event["attendees"]} <= ICS_ROLES
        assert event["categories"] == want["categories"]
        assert event["status"] in ICS_STATUSES
        city = session["location"]["city"]
        if city:
            assert city in event["location"]


# ---------------------------------------------------------------- iCalendar


@pytest.mark.parametrize("how", ["query", "accept"])
async def test_calendars_read_back_with_two_parsers(
    client: httpx.AsyncClient, ccqs: dict[str, Any], how: str
) -> None:
    for template, ordinals in FEEDS.items():
        path = feed_path(template, ccqs)
        sessions = await details(client, path)
        assert [s["ordinal"] for s in sessions] == ordinals, path
        body = (await formatted(client, path, "ics", how)).content

        first = by_icalendar(body)
        check_events(first, sessions)
        second = by_ics(body)
        check_events(second, sessions)
        assert sorted(first, key=uid) == sorted(second, key=uid), path

        # The UIDs are stable: the same on the next request, whichever way it asks.
        again = by_icalendar((await formatted(client, path, "ics", "query")).content)
        assert sorted(map(uid, again)) == sorted(map(uid, first)), path


def uid(event: dict[str, Any]) -> str:
    return str(event["uid"])


async def test_the_sixth_session_as_an_event(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    body = (await formatted(client, "/topics/kosovo/sessions", "ics", "accept")).content
    [event] = by_icalendar(body)
    assert (event["start"], event["end"]) == (date(2007, 2, 21), date(2007, 2, 22))
    assert b"DTSTART;VALUE=DATE:20070221" in body
    assert b"DTEND;VALUE=DATE:20070222" in body
    assert event["location"] == "Moscow, Russian Federation"
    assert event["status"] == "CONFIRMED"
    assert len(event["attendees"]) == 5
    names = {cn for _, cn, _ in event["attendees"]}
    assert names == {p["name"] for p in ccqs["persons"].values()}
    assert len(event["categories"]) == 11
    assert "Kosovo" in event["categories"]
    # The other sessions' UIDs are not this one's.
    everything = by_icalendar((await formatted(client, "/sessions", "ics", "query")).content)
    assert [e["uid"] for e in everything].count(event["uid"]) == 1


async def test_calendar_escapes_and_multi_day_sessions(client: httpx.AsyncClient) -> None:
    """Commas and semicolons in names, places and topics survive both parsers; a session
    of three days ends (exclusively) on the fourth; a cancelled one is CANCELLED."""
    response = await client.post(
        "/councils",
        json=COUNCIL,
    )
    assert response.status_code == 201
    session = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "ordinal": 1,
            "title": "Talks; first round, Oslo",
            "start_date": "2010-03-01",
            "end_date": "2010-03-03",
            "location": {"city": "Oslo", "country": "NO", "venue": "Akershus Fortress; hall"},
            "status": "cancelled",
        },
    )
    assert session.status_code == 201, session.text
    sid = session.json()["id"]
    person = await client.post("/persons", json={"name": "Støre, Jonas Gahr; Minister"})
    topic = await client.post("/topics", json={"slug": "arms", "name": "Arms control, treaties"})
    assert person.status_code == topic.status_code == 201
    response = await client.post(
        f"/sessions/{sid}/participants",
        json={"person_id": person.json()["id"], "delegation": "NO", "role": "host"},
    )
    assert response.status_code == 201, response.text
    assert (await client.post(f"/sessions/{sid}/agenda", json={"topic_id": "arms"})).status_code
    body = (await formatted(client, "/councils/ngc/sessions", "ics", "query")).content

    for read in (by_icalendar, by_ics):
        [event] = read(body)
        assert event["summary"] == "Talks; first round, Oslo", read
        assert (event["start"], event["end"]) == (date(2010, 3, 1), date(2010, 3, 4)), read
        assert event["location"] == "Akershus Fortress; hall, Oslo, Norway", read
        assert event["status"] == "CANCELLED", read
        assert event["categories"] == ["Arms control, treaties"], read
        [(urn, cn, role)] = event["attendees"]
        assert urn == f"urn:entente:person:{person.json()['id']}", read
        assert cn == "Støre, Jonas Gahr; Minister", read
        assert role in ICS_ROLES


async def test_calendar_takes_the_list_filters(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    response = await client.get("/sessions", params={"format": "ics", "from": "2006-01-01"})
    assert response.status_code == 200
    assert [e["start"] for e in by_icalendar(response.content)] == [date(2007, 2, 21)]
    empty = await client.get("/sessions", params={"format": "ics", "status": "planned"})
    assert empty.status_code == 200
    assert by_icalendar(empty.content) == []
    assert by_ics(empty.content) == []


async def test_json_stays_the_default(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    for headers, params in (
        ({}, {}),
        ({"Accept": "application/json"}, {}),
        ({"Accept": "text/calendar"}, {"format": "json"}),
    ):
        response = await client.get("/sessions", headers=headers, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert [s["ordinal"] for s in response.json()["items"]] == [5, 6]
    assert (await client.get("/sessions", params={"format": "pdf"})).status_code == 422


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("how", ["query", "accept"])
async def test_spreadsheets_read_back_with_the_csv_module(
    client: httpx.AsyncClient, ccqs: dict[str, Any], how: str
) -> None:
    for template in FEEDS:
        path = feed_path(template, ccqs)
        sessions = await details(client, path)
        response = await formatted(client, path, "csv", how)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
        header, records = rows[0], rows[1:]
        assert {"id", "title", "start_date", "end_date", "status"} <= set(header)
        assert len(set(header)) == len(header)
        assert len(records) == len(sessions), path
        assert all(len(r) == len(header) for r in records)
        table = [dict(zip(header, r, strict=True)) for r in records]
        assert [r["id"] for r in table] == [s["id"] for s in sessions], path
        for row, session in zip(table, sessions, strict=True):
            for column in ("title", "start_date", "end_date", "status"):
                assert row[column] == session[column], (path, column)
            if "summary" in row:
                # Quotes, commas and the like in a cell read back as they were.
                assert row["summary"] == (session["summary"] or ""), path


# ---------------------------------------------------------------- JSON-LD


async def test_a_session_as_a_schema_org_event(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    path = f"/sessions/{ccqs['sixth']['id']}"
    response = await client.get(path, headers={"Accept": "application/ld+json"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/ld+json"
    event = response.json()
    context = event["@context"]
    assert "schema.org" in (context if isinstance(context, str) else context.get("@vocab", ""))
    assert event["@type"] == "Event"
    assert event["startDate"] == "2007-02-21"
    assert event["name"] == "6th session of the CCQS"
    assert event["superEvent"]["@type"] == "EventSeries"
    assert event["superEvent"]["name"] == ccqs["council"]["name"]
    assert len(event["subEvent"]) == 3
    assert all(s["@type"] == "Event" for s in event["subEvent"])
    assert len(event["attendee"]) == 5
    assert all(a["@type"] == "Person" for a in event["attendee"])
    assert {a["name"] for a in event["attendee"]} == {p["name"] for p in ccqs["persons"].values()}
    assert len(event["about"]) == 11
    assert "Kosovo" in {t["name"] for t in event["about"]}
    assert event["location"]["@type"] == "Place"
    assert "Moscow" in str(event["location"])
    assert event["eventStatus"] in SCHEMA_STATUSES

    # A representation of its own, with its own ETag.
    etag = response.headers["etag"]
    plain = await client.get(path)
    assert plain.headers["content-type"] == "application/json"
    assert plain.headers["etag"] != etag
    again = await client.get(
        path, headers={"Accept": "application/ld+json", "If-None-Match": plain.headers["etag"]}
    )
    assert again.status_code == 200
    assert again.json() == event
    cached = await client.get(
        path, headers={"Accept": "application/ld+json", "If-None-Match": etag}
    )
    assert cached.status_code == 304


async def test_a_cancelled_session_is_an_event_cancelled(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    path = f"/sessions/{ccqs['fifth']['id']}"
    assert (await client.patch(path, json={"status": "cancelled"})).status_code == 200
    event = (await client.get(path, headers={"Accept": "application/ld+json"})).json()
    assert event["eventStatus"] == "https://schema.org/EventCancelled"
    assert event["subEvent"] == []
    assert event["attendee"] == []


async def test_calendars_and_spreadsheets_are_whole_and_streamed(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every matching session, read a batch at a time and sent as it is read: the worker
    holds one batch, however many sessions match (API.md, "Calendars and spreadsheets
    are whole")."""
    monkeypatch.setattr(sessions_service, "CALENDAR_BATCH", 2)
    await create_council(client)
    made = [
        await create_session(client, start_date=f"2007-0{month}-21", ordinal=month)
        for month in range(1, 6)
    ]
    calendar = await client.get("/sessions", params={"format": "ics"})
    assert "content-length" not in calendar.headers  # streamed, not held whole
    events = icalendar.Calendar.from_ical(calendar.content).walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [f"session-{s['id']}@entente" for s in made]
    spreadsheet = await client.get("/sessions", params={"format": "csv", "sort": "-ordinal"})
    assert "content-length" not in spreadsheet.headers
    rows = list(csv.DictReader(io.StringIO(spreadsheet.text)))
    assert [row["id"] for row in rows] == [s["id"] for s in reversed(made)]
    # A filter naming no record is refused before anything is sent.
    refused = await client.get("/sessions", params={"format": "csv", "participant": "nobody"})
    assert refused.status_code == 422


async def test_calendars_and_spreadsheets_are_written_off_the_event_loop(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch's events and rows are written in a worker thread: in the event loop,
    a long calendar would hold every other request of the worker while it is written."""
    loop_thread = threading.current_thread()
    written_in: list[threading.Thread] = []

    def noting_the_thread(write: Any) -> Any:
        def noted(*args: Any) -> bytes:
            written_in.append(threading.current_thread())
            return bytes(write(*args))

        return noted

    monkeypatch.setattr(formats, "_events", noting_the_thread(formats._events))
    monkeypatch.setattr(formats, "_sheet", noting_the_thread(formats._sheet))
    await create_council(client)
    made = await create_session(client)
    calendar = await client.get("/sessions", params={"format": "ics"})
    assert f"session-{made['id']}@entente" in calendar.text
    spreadsheet = await client.get("/sessions", params={"format": "csv"})
    assert made["id"] in spreadsheet.text
    assert len(written_in) == 2
    assert all(thread is not loop_thread for thread in written_in)


# ---------------------------------------------------------------- CORS


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(Settings(database_url=database_url, cors_origins="https://app.example"))
    yield app
    await shut_down(app)


@pytest.fixture
async def no_cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(Settings(database_url=database_url, cors_origins=""))
    yield app
    await shut_down(app)


PREFLIGHT = {
    "Access-Control-Request-Method": "PATCH",
    "Access-Control-Request-Headers": "authorization, content-type, if-match",
}


async def test_no_cors_unless_configured(no_cors_app: FastAPI) -> None:
    async with http_client(no_cors_app) as browser:
        for origin in ("https://app.example", "https://evil.example"):
            preflight = await browser.options("/sessions", headers={"Origin": origin} | PREFLIGHT)
            assert "access-control-allow-origin" not in preflight.headers
            response = await browser.get("/councils", headers={"Origin": origin})
            assert response.status_code == 200
            assert "access-control-allow-origin" not in response.headers


async def test_cors_for_the_configured_origin_only(cors_app: FastAPI) -> None:
    async with http_client(cors_app) as browser:
        response = await browser.get("/councils", headers={"Origin": "https://app.example"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        exposed = {
            h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
        }
        assert {"etag", "location", "link"} <= exposed

        preflight = await browser.options(
            "/sessions", headers={"Origin": "https://app.example"} | PREFLIGHT
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "if-match" in allowed and "authorization" in allowed

        other = await browser.get("/councils", headers={"Origin": "https://evil.example"})
        assert other.status_code == 200
        assert "access-control-allow-origin" not in other.headers


async def test_a_preflight_from_another_origin_is_refused(cors_app: FastAPI) -> None:
    """Refused without Access-Control-Allow-Origin; and, being a 4xx of the API, as
    problem+json like every other (API.md, "Errors")."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cors_app), base_url="http://testserver/api/v1"
    ) as browser:
        preflight = await browser.options(
            "/sessions", headers={"Origin": "https://evil.example"} | PREFLIGHT
        )
    assert "access-control-allow-origin" not in preflight.headers
    if preflight.status_code >= 400:
        assert preflight.headers["content-type"] == "application/problem+json", (
            preflight.status_code,
            preflight.headers["content-type"],
            preflight.text,
        )
