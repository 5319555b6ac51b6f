"""Meetings outside councils (API v1.1): kind, countries, slug, identifiers, former
countries and the range of dates, and the rules that hold them together, on both
databases. Every refusal is a problem answer that names the field (its JSON Pointer) and
writes nothing: neither a session nor an entry of the change feed."""

import csv
import io
from typing import Any

import httpx
import icalendar
import pytest

from tests.factories import create_council

VISIT = {
    "kind": "state_visit",
    "title": "State visit of General de Gaulle to the USSR",
    "countries": ["FR", "SUHH"],
    "host_country": "SUHH",
    "start_date": "1966-06-20",
    "end_date": "1966-07-01",
    "slug": "1966-de-gaulle-ussr",
    "identifiers": [{"scheme": "mfa-fr", "identifier": "1966-042"}],
}
# A second meeting, of other parties, for the filters.
SUMMIT = {
    "kind": "summit",
    "title": "Franco-German summit in Rambouillet",
    "countries": ["FR", "DE"],
    "host_country": "FR",
    "start_date": "2003-01-22",
}


async def create_visit(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = {k: v for k, v in (VISIT | changes).items() if v is not None}
    response = await client.post("/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def every(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page after page."""
    items: list[dict[str, Any]] = []
    params = {"limit": 200} | params
    while True:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


async def feed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every entry of the change feed, from the beginning (as tests/test_changes.py reads
    it: following `next_cursor` until a page is empty)."""
    items: list[dict[str, Any]] = []
    since = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"since": since} if since else {})
        response = await client.get("/changes", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        since = page["next_cursor"]
        if not page["items"]:
            return items


async def written(client: httpx.AsyncClient) -> tuple[int, int]:
    """How many sessions there are, and how many entries the change feed has."""
    return len(await every(client, "/sessions")), len(await feed(client))


async def refused(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    status: int = 422,
    pointer: str | None = None,
    unchanged: str | None = None,
) -> dict[str, Any]:
    """Send a request that must be refused with `status`, its one error at `pointer`, and
    nothing written: the count of sessions and of feed entries, and the document at
    `unchanged`, are as before."""
    before = await written(client)
    document = (await client.get(unchanged)).json() if unchanged else None
    response = await client.request(method, path, json=json, params=params)
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    if pointer is not None:
        assert [e["pointer"] for e in problem["errors"]] == [pointer], problem
    assert await written(client) == before
    if unchanged:
        assert (await client.get(unchanged)).json() == document
    return problem


# ---------------------------------------------------------------- what a visit is


async def test_a_visit_is_a_session_without_council(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    assert visit["council_id"] is None and visit["council"] is None
    assert visit["kind"] == "state_visit"
    assert visit["countries"] == ["FR", "SUHH"]
    assert visit["identifiers"] == VISIT["identifiers"]
    assert visit["previous_session_id"] is None
    by_slug = await client.get(f"/sessions/{VISIT['slug']}")
    assert by_slug.status_code == 200
    assert by_slug.json() == visit
    listed = (await client.get("/sessions", params={"council": "none"})).json()["items"]
    assert [s["id"] for s in listed] == [visit["id"]]


async def test_a_council_session_derives_its_countries(client: httpx.AsyncClient) -> None:
    council = await create_council(client)
    made = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "guest_countries": ["FR"]},
    )
    assert made.status_code == 201, made.text
    session = made.json()
    assert session["kind"] == "council_session"
    assert session["countries"] == ["NO", "DE", "FR"]
    changed = await client.patch(
        f"/councils/{council['id']}", json={"member_countries": ["NO", "SE"]}
    )
    assert changed.status_code == 200, changed.text
    again = (await client.get(f"/sessions/{session['id']}")).json()
    assert again["countries"] == ["NO", "SE", "FR"]


async def test_a_members_change_shows_in_the_feed_for_each_session(
    client: httpx.AsyncClient,
) -> None:
    """The sessions whose parties a council's new members change are written again, each
    an update in the change feed and in its history; the others are left alone."""
    await create_council(client)
    await create_council(client, slug="other", members=("PL", "SE"))
    first = await client.post("/sessions", json={"council_id": "ngc", "start_date": "2001-01-01"})
    second = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2002-01-01", "guest_countries": ["SE"]},
    )
    elsewhere = await client.post(
        "/sessions", json={"council_id": "other", "start_date": "2002-01-01"}
    )
    assert first.status_code == second.status_code == elsewhere.status_code == 201
    before = len(await feed(client))
    changed = await client.patch("/councils/ngc", json={"member_countries": ["NO", "SE"]})
    assert changed.status_code == 200, changed.text
    entries = (await feed(client))[before:]
    assert sorted((e["entity"], e["id"], e["action"]) for e in entries) == sorted(
        [
            ("council", changed.json()["id"], "updated"),
            ("session", first.json()["id"], "updated"),
            ("session", second.json()["id"], "updated"),
        ]
    )
    for made in (first, second):
        again = (await client.get(f"/sessions/{made.json()['id']}")).json()
        assert again["countries"] == ["NO", "SE"]
        assert again["updated_at"] > made.json()["updated_at"]
    history = (await client.get(f"/sessions/{first.json()['id']}/history")).json()["items"]
    assert history[-1]["changes"] == {"countries": {"old": ["NO", "DE"], "new": ["NO", "SE"]}}
    untouched = (await client.get(f"/sessions/{elsewhere.json()['id']}")).json()
    assert untouched == elsewhere.json()


# ---------------------------------------------------------------- kind


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": None}, "/kind"),  # left out: a meeting outside councils needs one
        ({"kind": "council_session"}, "/kind"),
        ({"kind": "tea_party"}, "/kind"),
        ({"ordinal": 1}, "/ordinal"),
        ({"title": None}, "/title"),
        ({"countries": None}, "/countries"),
        ({"countries": ["FR"], "host_country": "FR"}, "/countries"),
        ({"countries": ["FR", "FR"], "host_country": "FR"}, "/countries"),
        ({"host_country": "DE"}, "/host_country"),
        ({"guest_countries": ["DE"]}, "/guest_countries"),
        ({"countries": ["FR", "fr"]}, "/countries/1"),
        ({"countries": ["FR", "FRA"]}, "/countries/1"),
        ({"countries": ["FR", "F1"]}, "/countries/1"),
        ({"countries": ["FR", "ZZ"]}, "/countries/1"),
        ({"countries": ["FR", "ZZZZ"]}, "/countries/1"),
        ({"host_country": "ZZZZ"}, "/host_country"),
        ({"start_date": "1799-12-31", "end_date": None}, "/start_date"),
        ({"end_date": "2200-01-01"}, "/end_date"),
        ({"slug": "Not A Slug"}, "/slug"),
        ({"slug": "00eb1f58-6000-7000-8000-000000000018"}, "/slug"),
    ],
)
async def test_a_faulty_meeting_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    sent = {k: v for k, v in (VISIT | body).items() if v is not None}
    await refused(client, "POST", "/sessions", json=sent, pointer=pointer)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": "state_visit"}, "/kind"),
        ({"countries": ["NO", "DE"]}, "/countries"),
        ({"guest_countries": ["SE", "SE"]}, "/guest_countries"),
        ({"guest_countries": ["ZZZZ"]}, "/guest_countries/0"),
        ({"host_country": "F1"}, "/host_country"),
        ({"location": {"country": "FRA"}}, "/location/country"),
    ],
)
async def test_a_faulty_council_session_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    await create_council(client)
    sent = {"council_id": "ngc", "start_date": "2007-02-21"} | body
    await refused(client, "POST", "/sessions", json=sent, pointer=pointer)


async def test_every_kind_outside_councils_is_taken(client: httpx.AsyncClient) -> None:
    kinds = [
        "state_visit",
        "official_visit",
        "working_visit",
        "private_visit",
        "visit",
        "summit",
        "ministerial_meeting",
        "other",
    ]
    for i, kind in enumerate(kinds):
        made = await create_visit(client, kind=kind, slug=f"visit-{i}", identifiers=[])
        assert made["kind"] == kind
    served = await every(client, "/sessions")
    assert sorted(s["kind"] for s in served) == sorted(kinds)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": "council_session"}, "/kind"),
        ({"kind": None}, "/kind"),
        ({"ordinal": 2}, "/ordinal"),
        ({"title": None}, "/title"),
        ({"countries": ["FR"]}, "/countries"),
        ({"countries": None}, "/countries"),
        ({"countries": ["FR", "DE"]}, "/host_country"),  # the host, SUHH, left out
        ({"host_country": "DE"}, "/host_country"),
        ({"countries": ["FR", "SUHH", "FR"]}, "/countries"),
        ({"countries": ["FR", "fr"]}, "/countries/1"),
        ({"countries": ["FR", "ZZZZ"]}, "/countries/1"),
        ({"guest_countries": ["DE"]}, "/guest_countries"),
        ({"start_date": "1799-12-31"}, "/start_date"),
        ({"end_date": "2200-01-01"}, "/end_date"),
        ({"slug": "00eb1f58-6000-7000-8000-000000000018"}, "/slug"),
    ],
)
async def test_a_faulty_change_to_a_meeting_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    visit = await create_visit(client)
    path = f"/sessions/{visit['id']}"
    await refused(client, "PATCH", path, json=body, pointer=pointer, unchanged=path)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"kind": "summit"}, "/kind"),
        ({"countries": ["NO", "DE"]}, "/countries"),
        ({"guest_countries": ["SE", "fr"]}, "/guest_countries/1"),
    ],
)
async def test_a_faulty_change_to_a_council_session_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    await create_council(client)
    made = await client.post("/sessions", json={"council_id": "ngc", "start_date": "2007-02-21"})
    path = f"/sessions/{made.json()['id']}"
    await refused(client, "PATCH", path, json=body, pointer=pointer, unchanged=path)


async def test_a_meetings_kind_title_and_countries_change(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    changed = await client.patch(
        f"/sessions/{visit['slug']}",
        json={
            "kind": "official_visit",
            "title": "Official visit to the USSR",
            "countries": ["SUHH", "FR", "PL"],
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["kind"] == "official_visit"
    assert changed.json()["countries"] == ["SUHH", "FR", "PL"]
    assert [s["id"] for s in await every(client, "/sessions", country="PL")] == [visit["id"]]
    # A host may be dropped, and a council session may name its kind as it is.
    hostless = await client.patch(f"/sessions/{visit['id']}", json={"host_country": None})
    assert hostless.status_code == 200, hostless.text
    await create_council(client)
    session = await client.post("/sessions", json={"council_id": "ngc", "start_date": "2007-02-21"})
    same = await client.patch(f"/sessions/{session.json()['id']}", json={"kind": "council_session"})
    assert same.status_code == 200, same.text


@pytest.mark.parametrize("host", ["SUHH", None])
async def test_countries_cannot_leave_out_a_seated_delegation(
    client: httpx.AsyncClient, host: str | None
) -> None:
    visit = await create_visit(client, countries=["FR", "SUHH", "PL"], host_country=host)
    person = (await client.post("/persons", json={"name": "Adam Rapacki"})).json()
    seated = await client.post(
        f"/sessions/{visit['id']}/participants",
        json={"person_id": person["id"], "delegation": "PL"},
    )
    assert seated.status_code == 201, seated.text
    path = f"/sessions/{visit['id']}"
    problem = await refused(
        client,
        "PATCH",
        path,
        json={"countries": ["FR", "SUHH"]},
        pointer="/countries",
        unchanged=path,
    )
    assert "PL" in problem["errors"][0]["message"]
    # A delegation is one of the session's countries.
    await refused(
        client,
        "POST",
        f"/sessions/{visit['id']}/participants",
        json={"person_id": person["id"], "delegation": "DE"},
        pointer="/delegation",
    )


async def test_a_council_session_keeps_its_seated_guests(client: httpx.AsyncClient) -> None:
    await create_council(client)
    made = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "guest_countries": ["FR"]},
    )
    person = (await client.post("/persons", json={"name": "Bernard Kouchner"})).json()
    seated = await client.post(
        f"/sessions/{made.json()['id']}/participants",
        json={"person_id": person["id"], "delegation": "FR"},
    )
    assert seated.status_code == 201, seated.text
    path = f"/sessions/{made.json()['id']}"
    await refused(
        client, "PATCH", path, json={"guest_countries": []}, pointer="/countries", unchanged=path
    )


# ---------------------------------------------------------------- former countries


async def test_former_countries_are_taken_wherever_a_code_is(client: httpx.AsyncClient) -> None:
    council = await client.post(
        "/councils",
        json={
            "slug": "fr-ussr",
            "name": "Franco-Soviet commission",
            "kind": "bilateral",
            "member_countries": ["FR", "SUHH"],
        },
    )
    assert council.status_code == 201, council.text
    assert council.json()["member_countries"] == ["FR", "SUHH"]
    session = await client.post(
        "/sessions",
        json={
            "council_id": "fr-ussr",
            "start_date": "1967-01-10",
            "host_country": "SUHH",
            "location": {"city": "Moscow", "country": "SUHH"},
            "guest_countries": ["DDDE"],
        },
    )
    assert session.status_code == 201, session.text
    assert session.json()["countries"] == ["FR", "SUHH", "DDDE"]
    assert session.json()["location"]["country"] == "SUHH"
    person = await client.post("/persons", json={"name": "Andrei Gromyko", "nationality": "SUHH"})
    assert person.status_code == 201, person.text
    assert person.json()["nationality"] == "SUHH"
    office = await client.post(
        f"/persons/{person.json()['id']}/offices",
        json={"title": "Minister of Foreign Affairs of the USSR", "country": "SUHH"},
    )
    assert office.status_code == 201, office.text
    assert office.json()["country"] == "SUHH"
    seated = await client.post(
        f"/sessions/{session.json()['id']}/participants",
        json={"person_id": person.json()["id"], "delegation": "SUHH"},
    )
    assert seated.status_code == 201, seated.text
    assert seated.json()["delegation"] == "SUHH"
    visit = await create_visit(client, countries=["YUCS", "CSHH"], host_country="YUCS")
    assert visit["host_country"] == "YUCS"
    topic = await client.post(
        "/topics", json={"slug": "berlin", "name": "Berlin", "countries": ["DDDE", "DE"]}
    )
    assert topic.status_code == 201, topic.text
    assert topic.json()["countries"] == ["DDDE", "DE"]
    # And in every filter that takes a code.
    for params in (
        {"country": "SUHH"},
        {"host_country": "SUHH"},
        {"location_country": "SUHH"},
        {"between": "FR,DDDE"},
    ):
        found = [s["id"] for s in await every(client, "/sessions", **params)]
        assert found == [session.json()["id"]], params
    found = [s["id"] for s in await every(client, "/sessions", between="CSHH,YUCS")]
    assert found == [visit["id"]]
    persons = await every(client, "/persons", nationality="SUHH")
    assert [p["id"] for p in persons] == [person.json()["id"]]
    councils = await every(client, "/councils", country="SUHH")
    assert [c["slug"] for c in councils] == ["fr-ussr"]
    assert (await client.get("/countries/SUHH")).json()["former"] is True


# ---------------------------------------------------------------- slug


async def test_none_is_no_council_slug(client: httpx.AsyncClient) -> None:
    body = {
        "slug": "none",
        "name": "A council called none",
        "kind": "bilateral",
        "member_countries": ["FR", "DE"],
    }
    await refused(client, "POST", "/councils", json=body, pointer="/slug")
    council = await create_council(client)
    path = f"/councils/{council['id']}"
    await refused(client, "PATCH", path, json={"slug": "none"}, pointer="/slug", unchanged=path)
    dataset = {
        "format": "entente-dataset",
        "version": 1,
        "councils": [body],
    }
    await refused(client, "POST", "/import", json=dataset, pointer="/councils/0/slug")
    assert (await client.get("/councils/none")).status_code == 404


async def test_a_session_slug_is_unique_and_not_an_id(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    await refused(
        client,
        "POST",
        "/sessions",
        json=SUMMIT | {"slug": VISIT["slug"]},
        status=409,
    )
    summit = (await client.post("/sessions", json=SUMMIT)).json()
    assert summit["slug"] is None
    path = f"/sessions/{summit['id']}"
    await refused(client, "PATCH", path, json={"slug": VISIT["slug"]}, status=409, unchanged=path)
    # The slug of another session's id cannot be given either.
    await refused(
        client, "PATCH", path, json={"slug": visit["id"]}, pointer="/slug", unchanged=path
    )
    # A session may keep its own slug, and lose it.
    kept = await client.patch(f"/sessions/{visit['id']}", json={"slug": VISIT["slug"]})
    assert kept.status_code == 200, kept.text
    dropped = await client.patch(f"/sessions/{visit['id']}", json={"slug": None})
    assert dropped.status_code == 200 and dropped.json()["slug"] is None
    assert (await client.get(f"/sessions/{VISIT['slug']}")).status_code == 404
    # A council session may carry one too.
    await create_council(client)
    session = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "slug": VISIT["slug"]},
    )
    assert session.status_code == 201, session.text
    assert (await client.get(f"/sessions/{VISIT['slug']}")).json()["id"] == session.json()["id"]


async def test_every_session_path_takes_the_slug(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    slug = VISIT["slug"]
    detail = await client.get(f"/sessions/{slug}")
    assert detail.status_code == 200 and detail.json()["id"] == visit["id"]
    changed = await client.patch(f"/sessions/{slug}", json={"summary": "Ten days in the USSR."})
    assert changed.status_code == 200, changed.text
    assert changed.json()["id"] == visit["id"]
    person = (await client.post("/persons", json={"name": "Maurice Couve de Murville"})).json()
    seated = await client.post(
        f"/sessions/{slug}/participants", json={"person_id": person["id"], "delegation": "FR"}
    )
    assert seated.status_code == 201, seated.text
    assert seated.json()["session_id"] == visit["id"]
    participation = f"/sessions/{slug}/participants/{seated.json()['id']}"
    listed = await every(client, f"/sessions/{slug}/participants")
    assert [p["id"] for p in listed] == [seated.json()["id"]]
    assert (await client.get(participation)).status_code == 200
    assert (await client.patch(participation, json={"role": "principal"})).status_code == 200
    topic = (await client.post("/topics", json={"slug": "detente", "name": "Détente"})).json()
    item = await client.post(f"/sessions/{slug}/agenda", json={"topic_id": topic["id"]})
    assert item.status_code == 201, item.text
    assert item.json()["session_id"] == visit["id"]
    agenda_item = f"/sessions/{slug}/agenda/{item.json()['id']}"
    on_agenda = await every(client, f"/sessions/{slug}/agenda")
    assert [a["id"] for a in on_agenda] == [item.json()["id"]]
    assert (await client.get(agenda_item)).status_code == 200
    assert (await client.patch(agenda_item, json={"note": "The word is new."})).status_code == 200
    assert (await client.delete(agenda_item)).status_code == 204
    assert (await client.delete(participation)).status_code == 204
    history = await client.get(f"/sessions/{slug}/history")
    assert history.status_code == 200, history.text
    assert {e["entity_id"] for e in history.json()["items"]} == {visit["id"]}
    assert [e["action"] for e in history.json()["items"]] == ["create", "update"]
    assert (await client.delete(f"/sessions/{slug}")).status_code == 204
    assert (await client.get(f"/sessions/{visit['id']}")).status_code == 404
    # Gone with the session, the slug names nothing; the history is kept by the id.
    assert (await client.get(f"/sessions/{slug}")).status_code == 404
    assert (await client.get(f"/sessions/{visit['id']}/history")).status_code == 200


# ---------------------------------------------------------------- identifiers


async def test_an_identifier_names_one_session(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    pair = VISIT["identifiers"]
    await refused(client, "POST", "/sessions", json=SUMMIT | {"identifiers": pair}, status=409)
    # Listed twice in one body.
    twice = [{"scheme": "mfa-fr", "identifier": "2003-001"}] * 2
    await refused(client, "POST", "/sessions", json=SUMMIT | {"identifiers": twice}, status=409)
    summit = (await client.post("/sessions", json=SUMMIT)).json()
    path = f"/sessions/{summit['id']}"
    await refused(client, "PATCH", path, json={"identifiers": pair}, status=409, unchanged=path)
    # The same pair on the same session again is no conflict.
    again = await client.patch(
        f"/sessions/{visit['id']}",
        json={"identifiers": [*pair, {"scheme": "wikidata", "identifier": "Q1"}]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["identifiers"][0] == pair[0]
    # The same identifier in another scheme is another pair.
    other = await client.patch(
        path, json={"identifiers": [{"scheme": "mfa-ru", "identifier": "1966-042"}]}
    )
    assert other.status_code == 200, other.text
    # A pair freed by its session may be given to another.
    freed = await client.patch(f"/sessions/{visit['id']}", json={"identifiers": []})
    assert freed.status_code == 200, freed.text
    moved = await client.patch(path, json={"identifiers": pair})
    assert moved.status_code == 200, moved.text
    # A person's identifiers are another register: the same pair is no conflict.
    person = await client.post("/persons", json={"name": "Charles de Gaulle", "identifiers": pair})
    assert person.status_code == 201, person.text


# ---------------------------------------------------------------- dates


async def test_event_dates_run_from_1800_to_2199(client: httpx.AsyncClient) -> None:
    first = await create_visit(
        client, start_date="1800-01-01", end_date="1800-01-02", slug="first", identifiers=[]
    )
    last = await create_visit(
        client, start_date="2199-12-30", end_date="2199-12-31", slug="last", identifiers=[]
    )
    assert (first["start_date"], last["end_date"]) == ("1800-01-01", "2199-12-31")
    changed = await client.patch("/sessions/last", json={"start_date": "2199-12-31"})
    assert changed.status_code == 200, changed.text
    for name, day in (("from", "1800-01-01"), ("to", "2199-12-31")):
        served = await every(client, "/sessions", **{name: day})
        assert {s["slug"] for s in served} == {"first", "last"}
    only_first = await every(client, "/sessions", to="1800-01-01")
    assert [s["slug"] for s in only_first] == ["first"]
    only_last = await every(client, "/sessions", **{"from": "2199-12-31"})
    assert [s["slug"] for s in only_last] == ["last"]
    for name, day in (
        ("from", "1799-12-31"),
        ("to", "1799-12-31"),
        ("from", "2200-01-01"),
        ("to", "2200-01-01"),
    ):
        await refused(client, "GET", "/sessions", params={name: day}, pointer=f"/query/{name}")
    await refused(
        client,
        "PATCH",
        "/sessions/first",
        json={"start_date": "1799-12-31"},
        pointer="/start_date",
        unchanged="/sessions/first",
    )
    segment = await client.patch(
        "/sessions/first", json={"segments": [{"kind": "audience", "date": "1799-12-31"}]}
    )
    assert segment.status_code == 422
    assert [e["pointer"] for e in segment.json()["errors"]] == ["/segments/0/date"]


# ---------------------------------------------------------------- filters


async def test_kind_council_between_and_country_filters(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    summit = (await client.post("/sessions", json=SUMMIT)).json()
    await create_council(client)
    session = (
        await client.post(
            "/sessions",
            json={"council_id": "ngc", "start_date": "2007-02-21", "guest_countries": ["FR"]},
        )
    ).json()
    await create_council(client, slug="other", members=("PL", "SE"))
    other = (
        await client.post(
            "/sessions",
            json={"council_id": "other", "start_date": "2008-01-01", "host_country": "FI"},
        )
    ).json()

    async def ids(**params: Any) -> list[str]:
        return [s["id"] for s in await every(client, "/sessions", **params)]

    assert await ids(kind="state_visit") == [visit["id"]]
    assert await ids(kind=["summit", "state_visit"]) == [visit["id"], summit["id"]]
    assert await ids(kind="council_session") == [session["id"], other["id"]]
    assert await ids(kind="other") == []
    assert await ids(council="none") == [visit["id"], summit["id"]]
    assert await ids(council=["none", "ngc"]) == [visit["id"], summit["id"], session["id"]]
    assert await ids(council="none", kind="summit") == [summit["id"]]
    assert await ids(between="FR,SUHH") == [visit["id"]]
    assert await ids(between="SUHH,FR") == [visit["id"]]
    assert await ids(between="FR,DE") == [summit["id"], session["id"]]
    assert await ids(between="FR,DE,NO") == [session["id"]]
    assert await ids(between="FR, DE") == [summit["id"], session["id"]]
    assert await ids(between="FR,PL") == []
    # `country`: any party of a visit, any member or guest of a council session, or the host.
    assert await ids(country="SUHH") == [visit["id"]]
    assert await ids(country="FR") == [visit["id"], summit["id"], session["id"]]
    assert await ids(country="NO") == [session["id"]]
    assert await ids(country="FI") == [other["id"]]
    assert await ids(country=["DE", "SE"]) == [summit["id"], session["id"], other["id"]]
    assert await ids(country="FR", council="none", kind="summit") == [summit["id"]]
    # A council's own list takes them too.
    via_council = await every(client, "/councils/ngc/sessions", between="FR,NO")
    assert [s["id"] for s in via_council] == [session["id"]]
    for between in ("FR", "FR,FR", "FR,", "fr,ru", "FR,RUS", "FR,ZZ", "FR,ZZZZ", "", ","):
        await refused(
            client, "GET", "/sessions", params={"between": between}, pointer="/query/between"
        )
    await refused(client, "GET", "/sessions", params={"kind": "visite"}, pointer="/query/kind/0")
    await refused(
        client, "GET", "/sessions", params={"country": "ZZZZ"}, pointer="/query/country/0"
    )


# ---------------------------------------------------------------- formats and search


async def test_visits_in_calendars_spreadsheets_and_linked_data(
    client: httpx.AsyncClient,
) -> None:
    visit = await create_visit(client, location={"city": "Moscow", "country": "SUHH"})
    calendar = await client.get("/sessions", params={"council": "none", "format": "ics"})
    assert calendar.status_code == 200
    events = list(icalendar.Calendar.from_ical(calendar.content).walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == [VISIT["title"]]
    assert str(events[0]["LOCATION"]) == "Moscow, USSR, Union of Soviet Socialist Republics"
    spreadsheet = await client.get("/sessions", params={"between": "FR,SUHH", "format": "csv"})
    assert spreadsheet.status_code == 200
    rows = list(csv.reader(io.StringIO(spreadsheet.text)))
    assert rows[0][-2:] == ["kind", "countries"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["council"] == "" and row["ordinal"] == ""
    assert (row["kind"], row["countries"], row["title"]) == (
        "state_visit",
        "FR; SUHH",
        VISIT["title"],
    )
    linked = await client.get(
        f"/sessions/{VISIT['slug']}", headers={"Accept": "application/ld+json"}
    )
    assert linked.status_code == 200
    event = linked.json()
    assert event["@type"] == "Event"
    assert event["superEvent"] is None
    assert event["identifier"] == visit["id"]
    assert event["name"] == VISIT["title"]


async def test_search_finds_a_visit_by_its_title(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    hits = (await client.get("/search", params={"q": "de gaulle ussr"})).json()["items"]
    assert [(h["type"], h["id"]) for h in hits] == [("session", visit["id"])]
    found = await every(client, "/sessions", q="gaulle")
    assert [s["id"] for s in found] == [visit["id"]]
    renamed = await client.patch(
        f"/sessions/{visit['id']}", json={"title": "Voyage officiel en URSS"}
    )
    assert renamed.status_code == 200
    assert await every(client, "/sessions", q="gaulle") == []
    assert [s["id"] for s in await every(client, "/sessions", q="urss")] == [visit["id"]]
