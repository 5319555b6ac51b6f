from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from app.pagination import Page
from app.sessions.schemas import SessionRead, SessionSummary
from tests.factories import UNKNOWN_IDS, create_council, create_session, same_answer


async def create_person(
    client: httpx.AsyncClient, name: str = "Jonas Gahr Støre"
) -> dict[str, Any]:
    response = await client.post("/persons", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


async def get_session(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await client.get(f"/sessions/{session_id}")
    assert response.status_code == 200, response.text
    SessionRead.model_validate(response.json())
    return response.json()


async def list_sessions(client: httpx.AsyncClient, path: str = "/sessions", **params: Any) -> list:
    """The ordinals of the listed sessions (the single page), or their titles when unnumbered."""
    response = await client.get(path, params=params | {"limit": 200})
    assert response.status_code == 200, response.text
    page = Page[SessionSummary].model_validate(response.json())
    assert page.next_cursor is None
    return [s.ordinal if s.ordinal is not None else s.title for s in page.items]


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


def today() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- the CCQS seed


async def test_ccqs_sessions_are_the_fifth_then_the_sixth(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    response = await client.get("/councils/ccqs/sessions")
    assert response.status_code == 200
    page = Page[SessionSummary].model_validate(response.json())
    assert [(s.ordinal, s.title) for s in page.items] == [
        (5, "5th session of the CCQS"),
        (6, "6th session of the CCQS"),
    ]
    assert [s.start_date for s in page.items] == ["2005-10-11", "2007-02-21"]
    assert page.next_cursor is None
    assert "link" not in response.headers
    sixth = page.items[1]
    assert sixth.council.slug == "ccqs"
    assert sixth.council_id == ccqs["council"]["id"]
    assert (sixth.location.city, sixth.location.country, sixth.host_country) == (
        "Moscow",
        "RU",
        "RU",
    )
    assert sixth.status == "held"
    # The council's id works as well as its slug.
    by_id = await client.get(f"/councils/{ccqs['council']['id']}/sessions")
    assert by_id.json() == response.json()


async def test_sixth_session_detail(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    sixth = await get_session(client, ccqs["sixth"]["id"])
    assert sixth["title"] == "6th session of the CCQS"
    assert (sixth["start_date"], sixth["end_date"]) == ("2007-02-21", "2007-02-21")
    assert sixth["timezone"] == "Europe/Moscow"
    assert sixth["council"]["acronym"] == "CCQS"
    assert '"2+2"' in (sixth["summary"] or "")

    segments = sixth["segments"]
    assert [(s["kind"], s["format"], s["part_of_day"]) for s in segments] == [
        ("restricted", "restricted", None),
        ("plenary", "2+2", None),
        ("audience", None, "afternoon"),
    ]
    assert segments[1]["title"] == 'Plenary session in "2+2" format'
    assert segments[2]["title"] == "Audience with President Vladimir Putin"
    assert all(s["date"] == "2007-02-21" for s in segments)

    persons = ccqs["persons"]
    participants = sixth["participants"]
    assert [
        (p["person_id"], p["delegation"], p["role"], p["title_at_time"]) for p in participants
    ] == [
        (persons["alliot-marie"]["id"], "FR", "principal", "Minister of Defence"),
        (persons["douste-blazy"]["id"], "FR", "principal", "Minister of Foreign Affairs"),
        (persons["serdioukov"]["id"], "RU", "principal", "Minister of Defence"),
        (persons["lavrov"]["id"], "RU", "principal", "Minister of Foreign Affairs"),
        (persons["poutine"]["id"], "RU", "host", "President of the Russian Federation"),
    ]
    assert participants[0]["person"]["name"] == "Michèle Alliot-Marie"
    name_of = {p["id"]: p["person"]["name"] for p in participants}
    assert {name_of[p] for p in segments[2]["participant_ids"]} == {
        "Michèle Alliot-Marie",
        "Philippe Douste-Blazy",
        "Vladimir Poutine",
    }
    assert {name_of[p] for p in segments[0]["participant_ids"]} == {
        "Michèle Alliot-Marie",
        "Philippe Douste-Blazy",
        "Anatoli Serdioukov",
        "Sergueï Lavrov",
    }

    agenda = sixth["agenda"]
    assert [item["topic"]["slug"] for item in agenda] == [
        "european-security-architecture",
        "nato-russia-relations",
        "eu-russia-relations-esdp",
        "g8-cooperation",
        "energy-security",
        "wmd-non-proliferation",
        "regional-issues",
        "afghanistan",
        "near-and-middle-east",
        "kosovo",
        "frozen-conflicts",
    ]
    assert [item["position"] for item in agenda] == list(range(1, 12))

    assert sixth["previous_session_id"] == ccqs["fifth"]["id"]
    assert sixth["next_session_id"] is None
    assert [s["publisher"] for s in sixth["sources"]] == ["Spyworld Actu"]
    assert sixth["sources"][0]["url"] == "http://www.spyworld-actu.com/spip.php?article3747"
    assert sixth["source_ids"] == [sixth["sources"][0]["id"]]

    fifth = await get_session(client, ccqs["fifth"]["id"])
    assert fifth["previous_session_id"] is None
    assert fifth["next_session_id"] == sixth["id"]
    assert (fifth["location"]["city"], fifth["host_country"]) == ("Paris", "FR")


# ---------------------------------------------------------------- create


async def test_create_session_with_defaults(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions", json={"council_id": "ngc", "ordinal": 1, "start_date": "2007-02-21"}
    )
    assert response.status_code == 201
    session = SessionRead.model_validate(response.json())
    assert response.headers["location"] == f"/api/v1/sessions/{session.id}"
    assert session.end_date == "2007-02-21"
    assert session.status == "held"
    assert session.title == "1st session of the NGC"
    assert session.council.slug == "ngc"
    assert session.location.model_dump() == {"city": None, "country": None, "venue": None}
    assert (session.segments, session.participants, session.agenda) == ([], [], [])
    assert (session.previous_session_id, session.next_session_id) == (None, None)
    assert session.created_at.endswith("Z")
    assert (await client.get(f"/sessions/{session.id}")).json() == response.json()


async def test_status_defaults_to_planned_for_a_future_session(client: httpx.AsyncClient) -> None:
    await create_council(client)
    next_year = (today() + timedelta(days=400)).date().isoformat()
    future = await create_session(client, start_date=next_year)
    assert future["status"] == "planned"
    past = await create_session(client, start_date="2020-03-01", end_date="2020-03-03")
    assert past["status"] == "held"
    assert past["end_date"] == "2020-03-03"
    # A status given is kept, in the past as in the future.
    cancelled = await create_session(client, start_date="2020-04-01", status="cancelled")
    assert cancelled["status"] == "cancelled"


@pytest.mark.parametrize(
    ("ordinal", "title"),
    [
        (1, "1st session of the NGC"),
        (2, "2nd session of the NGC"),
        (3, "3rd session of the NGC"),
        (4, "4th session of the NGC"),
        (6, "6th session of the NGC"),
        (11, "11th session of the NGC"),
        (12, "12th session of the NGC"),
        (13, "13th session of the NGC"),
        (21, "21st session of the NGC"),
        (22, "22nd session of the NGC"),
        (101, "101st session of the NGC"),
        (111, "111th session of the NGC"),
    ],
)
async def test_default_title_from_ordinal_and_acronym(
    client: httpx.AsyncClient, ordinal: int, title: str
) -> None:
    await create_council(client)
    assert (await create_session(client, ordinal=ordinal))["title"] == title


async def test_given_title_replaces_the_default_until_cleared(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, ordinal=6, title="Extraordinary session")
    assert session["title"] == "Extraordinary session"
    response = await client.patch(f"/sessions/{session['id']}", json={"title": None})
    assert response.status_code == 200
    assert response.json()["title"] == "6th session of the NGC"


async def test_create_session_with_everything(client: httpx.AsyncClient) -> None:
    await create_council(client)
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    session = await create_session(
        client,
        ordinal=3,
        start_date="2008-05-12",
        end_date="2008-05-13",
        timezone="Europe/Oslo",
        location={"city": "Oslo", "country": "NO", "venue": "Akershus Fortress"},
        host_country="NO",
        guest_countries=["DK", "SE"],
        summary="Talks on Arctic security.",
        segments=[
            {"kind": "plenary", "format": "2+2", "date": "2008-05-12", "key": "plenary"},
            {"kind": "press_conference", "date": "2008-05-13", "part_of_day": "evening"},
        ],
        source_ids=[source["id"]],
    )
    assert session["timezone"] == "Europe/Oslo"
    assert session["location"] == {"city": "Oslo", "country": "NO", "venue": "Akershus Fortress"}
    assert session["guest_countries"] == ["DK", "SE"]
    assert [(s["kind"], s["key"], s["date"]) for s in session["segments"]] == [
        ("plenary", "plenary", "2008-05-12"),
        ("press_conference", None, "2008-05-13"),
    ]
    assert all(s["id"] and s["participant_ids"] == [] for s in session["segments"])
    assert session["source_ids"] == [source["id"]]
    assert session["sources"][0]["url"] == "https://example.org/a"


async def test_end_date_before_start_date_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "end_date": "2007-02-20"},
    )
    assert pointers(response) == {"/end_date"}
    assert await list_sessions(client) == []


async def test_create_session_lists_every_invalid_field(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "ordinal": 0,
            "start_date": "2007-02-30",
            "timezone": "Mars/Olympus_Mons",
            "location": {"city": "Oslo", "country": "ZZ"},
            "host_country": "no",
            "guest_countries": ["DK", "XX"],
            "status": "done",
            "segments": [{"kind": "plenary"}, {"kind": "lunch"}],
            "source_ids": "abc",
        },
    )
    assert pointers(response) == {
        "/ordinal",
        "/start_date",
        "/timezone",
        "/location/country",
        "/host_country",
        "/guest_countries/1",
        "/status",
        "/segments/1/kind",
        "/source_ids",
    }


async def test_create_session_needs_a_start_date(client: httpx.AsyncClient) -> None:
    assert pointers(await client.post("/sessions", json={})) == {"/start_date"}
    outside = await client.post("/sessions", json={"start_date": "2007-02-21"})
    assert pointers(outside) == {"/kind", "/title", "/countries"}


@pytest.mark.parametrize("start_date", [20070221, "20070221", "2007-2-21", "21/02/2007", None])
async def test_start_date_must_be_an_iso_date(client: httpx.AsyncClient, start_date: Any) -> None:
    await create_council(client)
    response = await client.post("/sessions", json={"council_id": "ngc", "start_date": start_date})
    assert pointers(response) == {"/start_date"}


@pytest.mark.parametrize("ordinal", ["6", 6.5, True, -1])
async def test_ordinal_must_be_a_positive_integer(client: httpx.AsyncClient, ordinal: Any) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions", json={"council_id": "ngc", "start_date": "2007-02-21", "ordinal": ordinal}
    )
    assert pointers(response) == {"/ordinal"}


async def test_unknown_and_read_only_fields_are_refused_on_create(
    client: httpx.AsyncClient,
) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "start_date": "2007-02-21",
            "id": "0190c5e2-0000-7000-8000-000000000000",
            "created_at": "2007-02-21T00:00:00Z",
            "updated_at": "2007-02-21T00:00:00Z",
            "previous_session_id": None,
            "venue": "Kremlin",
        },
    )
    assert pointers(response) == {
        "/id",
        "/created_at",
        "/updated_at",
        "/previous_session_id",
        "/venue",
    }
    assert await list_sessions(client) == []


async def test_unknown_council_or_source_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions", json={"council_id": "nope", "start_date": "2007-02-21"}
    )
    assert pointers(response) == {"/council_id"}
    response = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "source_ids": ["nope"]},
    )
    assert pointers(response) == {"/source_ids/0"}
    assert await list_sessions(client) == []


async def test_segment_outside_the_session_dates_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "start_date": "2007-02-21",
            "end_date": "2007-02-22",
            "segments": [
                {"kind": "plenary", "date": "2007-02-22"},
                {"kind": "audience", "date": "2007-02-23"},
            ],
        },
    )
    assert pointers(response) == {"/segments/1/date"}


async def test_segment_keys_are_unique_within_a_session(client: httpx.AsyncClient) -> None:
    await create_council(client)
    response = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "start_date": "2007-02-21",
            "segments": [{"kind": "plenary", "key": "talks"}, {"kind": "other", "key": "talks"}],
        },
    )
    assert response.status_code == 422
    assert "/segments/1/key" in pointers(response)


async def test_ordinal_taken_within_the_council_is_409(client: httpx.AsyncClient) -> None:
    await create_council(client)
    await create_council(client, "fgc", ("FR", "DE"))
    await create_session(client, ordinal=6)
    response = await client.post(
        "/sessions", json={"council_id": "ngc", "ordinal": 6, "start_date": "2009-01-01"}
    )
    assert response.status_code == 409
    assert "6" in response.json()["detail"]
    # Another council may have its own 6th session.
    await create_session(client, council="fgc", ordinal=6)
    assert await list_sessions(client, council="ngc") == [6]


# ---------------------------------------------------------------- read, not found


async def test_unknown_session_is_404(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    for session_id in (*UNKNOWN_IDS, ccqs["council"]["id"]):
        assert (await client.get(f"/sessions/{session_id}")).status_code == 404
        response = await client.patch(f"/sessions/{session_id}", json={"summary": "x"})
        assert response.status_code == 404
        assert (await client.delete(f"/sessions/{session_id}")).status_code == 404


async def served_as_template(client: httpx.AsyncClient) -> float:
    """How many 200s /metrics counts for GET /sessions/{session_id}."""
    metrics = (await client.get("http://testserver/metrics")).text
    series = 'entente_requests_total{method="GET",route="/sessions/{session_id}",status="200"} '
    lines = [line for line in metrics.splitlines() if line.startswith(series)]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_a_session_answers_alike_with_a_key_or_without(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """A GET of a session answers the same with or without a key or a query string,
    found or not, in either format: one route serves them all."""
    sixth = f"/sessions/{ccqs['sixth']['id']}"
    compared = ("content-type", "etag", "vary", "x-content-type-options")
    for path, accept in [
        (sixth, "application/json"),
        (sixth, "application/ld+json"),
        (f"/sessions/{UNKNOWN_IDS[0]}", "application/json"),
        ("/sessions/a%00b", "application/json"),
    ]:
        headers = {"Accept": accept}
        alone = await anonymous.get(path, headers=headers)
        for documented in (
            await anonymous.get(path, params={"lang": "en"}, headers=headers),
            await client.get(path, headers=headers),
        ):
            assert alone.status_code == documented.status_code, path
            assert alone.json() == documented.json(), path
            for name in compared:
                assert alone.headers.get(name) == documented.headers.get(name), (path, name)
    before = await served_as_template(anonymous)
    read = await anonymous.get(sixth)
    assert "ratelimit-remaining" in read.headers  # the anonymous rate limit counted it
    assert await served_as_template(anonymous) == before + 1  # metrics name the route
    etag = read.headers["etag"]
    assert (await anonymous.get(sixth, headers={"If-None-Match": etag})).status_code == 304
    assert (await anonymous.head(sixth)).status_code == (await client.head(sixth)).status_code


async def test_pages_of_sessions_answer_alike_with_a_key_or_without(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Pages of /sessions answer the same with a key or without, valid or not,
    conditional or not, and each one's cursors page on in the other's list: a key
    changes only its own headers (OWN_HEADERS)."""
    first = await anonymous.get("/sessions", params={"limit": 1})
    cursor = first.json()["next_cursor"]
    assert [s["ordinal"] for s in first.json()["items"]] == [5] and cursor
    queries: list[dict[str, Any]] = [
        {},
        {"limit": 1},
        {"limit": 1, "cursor": cursor},
        {"cursor": cursor},
        {"limit": 0},
        {"limit": 201},
        {"limit": "05"},
        {"limit": "two"},
        {"cursor": cursor[:-2] + "AA"},
        {"cursor": ""},
        {"q": "ccqs"},
        {"q": "plenary", "limit": 1},
        {"q": "sécurité"},
        {"q": "nowhere"},
        {"q": "!!!"},
        {"q": ""},
        {"q": "q" * 201},
        {"q": "ccqs", "sort": "-start_date"},
    ]
    for params in queries:
        alone = await anonymous.get("/sessions", params=params)
        # The same cursors with a key: they are bound to the query, not to the client.
        same_answer(alone, await client.get("/sessions", params=params), str(params))
    etag = first.headers["etag"]
    for if_none_match in (etag, f'"other", W/{etag}', "*", '"other"'):
        headers = {"If-None-Match": if_none_match}
        alone = await anonymous.get("/sessions", params={"limit": 1}, headers=headers)
        documented = await client.get("/sessions", params={"limit": 1}, headers=headers)
        same_answer(alone, documented, if_none_match)
    assert alone.status_code == 200 and documented.status_code == 200  # '"other"'
    # Nor do an Origin, a repeated header or the host change anything between the two.
    for given in (
        {"Origin": "https://example.org"},
        [("Accept", "*/*")] * 2,
        {"Host": "entente.example:8080"},
        {"Host": "not a host"},
    ):
        alone = await anonymous.get("/sessions", params={"limit": 1}, headers=given)
        documented = await client.get("/sessions", params={"limit": 1}, headers=given)
        same_answer(alone, documented, str(given))
    second = await anonymous.get("/sessions", params={"limit": 1, "cursor": cursor})
    assert [s["ordinal"] for s in second.json()["items"]] == [6]
    assert second.json()["next_cursor"] is None
    for accept in ("text/calendar", "text/csv"):
        alone = await anonymous.get("/sessions", headers={"Accept": accept})
        assert alone.headers["content-type"].startswith(accept)
        documented = await anonymous.get(
            "/sessions", params={"sort": "start_date"}, headers={"Accept": accept}
        )
        assert alone.status_code == documented.status_code == 200
        assert alone.headers["vary"] == documented.headers["vary"]


async def test_overlong_session_id_is_404(client: httpx.AsyncClient) -> None:
    """Any form of id that names no session is 404, however long."""
    response = await client.get(f"/sessions/{'0' * 100}")
    assert response.status_code == 404


async def test_unknown_council_sessions_is_404(client: httpx.AsyncClient) -> None:
    for council in UNKNOWN_IDS:
        assert (await client.get(f"/councils/{council}/sessions")).status_code == 404


# ---------------------------------------------------------------- update


async def test_patch_session(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, ordinal=1, location={"city": "Bergen"})
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={
            "ordinal": 2,
            "summary": "Talks on fisheries.",
            "status": "postponed",
            "location": {"city": "Oslo", "country": "NO"},
            "host_country": "NO",
            "timezone": "Europe/Oslo",
        },
    )
    assert response.status_code == 200
    patched = SessionRead.model_validate(response.json())
    assert patched.title == "2nd session of the NGC"
    assert patched.summary == "Talks on fisheries."
    assert patched.status == "postponed"
    assert (patched.location.city, patched.location.country) == ("Oslo", "NO")
    assert patched.host_country == "NO"
    assert patched.start_date == session["start_date"]
    assert patched.created_at == session["created_at"]
    assert patched.updated_at > session["updated_at"]
    assert await get_session(client, session["id"]) == response.json()
    # A nullable field set to null is cleared; an empty body changes nothing.
    response = await client.patch(f"/sessions/{session['id']}", json={"summary": None})
    assert response.json()["summary"] is None
    response = await client.patch(f"/sessions/{session['id']}", json={})
    assert response.status_code == 200
    assert response.json()["host_country"] == "NO"


async def test_moving_a_one_day_session_moves_its_end(client: httpx.AsyncClient) -> None:
    await create_council(client)
    one_day = await create_session(client, start_date="2007-02-21")
    response = await client.patch(f"/sessions/{one_day['id']}", json={"start_date": "2007-03-01"})
    assert (response.json()["start_date"], response.json()["end_date"]) == (
        "2007-03-01",
        "2007-03-01",
    )
    two_days = await create_session(client, start_date="2008-02-21", end_date="2008-02-23")
    response = await client.patch(f"/sessions/{two_days['id']}", json={"start_date": "2008-02-22"})
    assert (response.json()["start_date"], response.json()["end_date"]) == (
        "2008-02-22",
        "2008-02-23",
    )


async def test_patch_end_before_start_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, start_date="2007-02-21", end_date="2007-02-22")
    path = f"/sessions/{session['id']}"
    assert pointers(await client.patch(path, json={"end_date": "2007-02-20"})) == {"/end_date"}
    assert pointers(await client.patch(path, json={"start_date": "2007-02-23"})) == {"/end_date"}
    response = await client.patch(path, json={"start_date": "2007-03-02", "end_date": "2007-03-01"})
    assert pointers(response) == {"/end_date"}
    unchanged = await get_session(client, session["id"])
    assert (unchanged["start_date"], unchanged["end_date"]) == ("2007-02-21", "2007-02-22")


async def test_patch_refuses_read_only_and_unknown_fields(client: httpx.AsyncClient) -> None:
    await create_council(client)
    await create_council(client, "fgc", ("FR", "DE"))
    session = await create_session(client)
    path = f"/sessions/{session['id']}"
    for field, value in [
        ("id", "0190c5e2-0000-7000-8000-000000000000"),
        ("created_at", "2007-02-21T00:00:00Z"),
        ("updated_at", "2007-02-21T00:00:00Z"),
        ("council_id", "fgc"),
        ("council", {"slug": "fgc"}),
        ("next_session_id", None),
        ("participants", []),
        ("venue", "Kremlin"),
    ]:
        response = await client.patch(path, json={field: value, "summary": "changed"})
        assert pointers(response) == {f"/{field}"}, field
    assert await get_session(client, session["id"]) == session


async def test_patch_required_fields_cannot_be_null(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client)
    path = f"/sessions/{session['id']}"
    for field in ("start_date", "end_date", "status", "segments", "guest_countries"):
        assert pointers(await client.patch(path, json={field: None})) == {f"/{field}"}, field
    assert await get_session(client, session["id"]) == session


async def test_patch_validates_fields(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client)
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={"start_date": "2007-13-01", "timezone": "Moscow", "location": {"country": "SU"}},
    )
    assert pointers(response) == {"/start_date", "/timezone", "/location/country"}


async def test_patch_to_a_taken_ordinal_is_409(client: httpx.AsyncClient) -> None:
    await create_council(client)
    await create_session(client, ordinal=5, start_date="2005-10-11")
    sixth = await create_session(client, ordinal=6)
    path = f"/sessions/{sixth['id']}"
    assert (await client.patch(path, json={"ordinal": 5})).status_code == 409
    assert (await get_session(client, sixth["id"]))["ordinal"] == 6
    # Its own ordinal is no conflict, and an unnumbered session frees the number.
    assert (await client.patch(path, json={"ordinal": 6})).status_code == 200
    response = await client.patch(path, json={"ordinal": None})
    assert response.status_code == 200
    assert response.json()["ordinal"] is None
    assert response.json()["title"] != "6th session of the NGC"
    assert (await create_session(client, ordinal=6, start_date="2010-01-01"))["ordinal"] == 6


async def test_patch_segments_keeps_listed_segments_and_their_participants(
    client: httpx.AsyncClient,
) -> None:
    await create_council(client)
    session = await create_session(
        client,
        segments=[
            {"kind": "restricted", "title": "Restricted talks", "key": "restricted"},
            {"kind": "plenary", "format": "2+2"},
            {"kind": "press_conference"},
        ],
    )
    restricted, plenary, press = session["segments"]
    person = await create_person(client)
    participation = (
        await client.post(
            f"/sessions/{session['id']}/participants",
            json={
                "person_id": person["id"],
                "delegation": "NO",
                "segment_ids": [restricted["id"], plenary["id"]],
            },
        )
    ).json()

    response = await client.patch(
        f"/sessions/{session['id']}",
        json={
            "segments": [
                {"id": plenary["id"], "kind": "plenary", "format": "2+2", "title": "Plenary"},
                {"id": restricted["id"], "kind": "restricted", "key": "restricted"},
                {"kind": "audience", "part_of_day": "afternoon"},
            ]
        },
    )
    assert response.status_code == 200
    segments = SessionRead.model_validate(response.json()).segments
    assert [(s.id, s.kind, s.title) for s in segments[:2]] == [
        (plenary["id"], "plenary", "Plenary"),
        (restricted["id"], "restricted", None),
    ]
    assert segments[0].participant_ids == [participation["id"]]
    assert segments[1].participant_ids == [participation["id"]]
    assert segments[1].key == "restricted"
    assert segments[2].kind == "audience"
    assert segments[2].id not in {restricted["id"], plenary["id"], press["id"]}
    assert segments[2].participant_ids == []

    # A segment left out is deleted, and the participant is no longer in it.
    response = await client.patch(
        f"/sessions/{session['id']}", json={"segments": [{"id": plenary["id"], "kind": "plenary"}]}
    )
    assert [s["id"] for s in response.json()["segments"]] == [plenary["id"]]
    participant = await client.get(f"/sessions/{session['id']}/participants/{participation['id']}")
    assert participant.json()["segment_ids"] == [plenary["id"]]


async def test_patch_segment_of_another_session_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    other = await create_session(client, start_date="2006-01-01", segments=[{"kind": "plenary"}])
    session = await create_session(client, segments=[{"kind": "plenary"}])
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={
            "segments": [
                {"id": session["segments"][0]["id"], "kind": "plenary"},
                {"id": other["segments"][0]["id"], "kind": "plenary"},
            ]
        },
    )
    assert pointers(response) == {"/segments/1/id"}
    assert (await get_session(client, other["id"]))["segments"] == other["segments"]
    assert (await get_session(client, session["id"]))["segments"] == session["segments"]


async def test_patch_listing_a_segment_twice_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, segments=[{"kind": "plenary"}, {"kind": "audience"}])
    plenary = session["segments"][0]
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={
            "segments": [
                {"id": plenary["id"], "kind": "plenary"},
                {"id": plenary["id"], "kind": "other"},
            ]
        },
    )
    assert pointers(response) == {"/segments/1/id"}
    assert (await get_session(client, session["id"]))["segments"] == session["segments"]


async def test_moving_dates_away_from_dated_segments_is_422(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, segments=[{"kind": "plenary", "date": "2007-02-21"}])
    response = await client.patch(f"/sessions/{session['id']}", json={"start_date": "2007-03-01"})
    assert response.status_code == 422
    # Moving the segments with the session is fine.
    response = await client.patch(
        f"/sessions/{session['id']}",
        json={
            "start_date": "2007-03-01",
            "segments": [
                {"id": session["segments"][0]["id"], "kind": "plenary", "date": "2007-03-01"}
            ],
        },
    )
    assert response.status_code == 200
    assert response.json()["segments"][0]["id"] == session["segments"][0]["id"]


# ---------------------------------------------------------------- delete


async def test_delete_session(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    sixth_id = ccqs["sixth"]["id"]
    participants = (await client.get(f"/sessions/{sixth_id}/participants")).json()["items"]
    response = await client.delete(f"/sessions/{sixth_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/sessions/{sixth_id}")).status_code == 404
    assert (await client.get(f"/sessions/{sixth_id}/participants")).status_code == 404
    assert (await client.get(f"/sessions/{sixth_id}/agenda")).status_code == 404
    assert (await client.delete(f"/sessions/{sixth_id}")).status_code == 404
    # The people and the council remain; the 5th has no next session any more.
    assert (await client.get(f"/persons/{participants[0]['person_id']}")).status_code == 200
    assert await list_sessions(client, "/councils/ccqs/sessions") == [5]
    assert (await get_session(client, ccqs["fifth"]["id"]))["next_session_id"] is None


# ---------------------------------------------------------------- lists and filters


async def create_sessions_to_filter(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Two councils, five sessions: NGC 1 to 3 (members NO, DE), FGC 1 and 2 (FR, DE)."""
    await create_council(client, "ngc", ("NO", "DE"))
    await create_council(client, "fgc", ("FR", "DE"))
    next_year = (today() + timedelta(days=400)).date().isoformat()
    return {
        "ngc1": await create_session(
            client,
            "ngc",
            "2005-03-01",
            ordinal=1,
            host_country="NO",
            location={"city": "Oslo", "country": "NO"},
        ),
        "ngc2": await create_session(
            client,
            "ngc",
            "2006-06-10",
            end_date="2006-06-12",
            ordinal=2,
            host_country="DE",
            location={"city": "Geneva", "country": "CH"},
        ),
        "ngc3": await create_session(client, "ngc", next_year, ordinal=3, host_country="NO"),
        "fgc1": await create_session(
            client,
            "fgc",
            "2006-01-15",
            ordinal=1,
            host_country="US",
            location={"city": "New York", "country": "US"},
            status="cancelled",
        ),
        "fgc2": await create_session(
            client, "fgc", "2007-02-21", ordinal=2, location={"city": "Paris", "country": "FR"}
        ),
    }


def names(page: list[dict[str, Any]], sessions: dict[str, dict[str, Any]]) -> list[str]:
    name_of = {s["id"]: name for name, s in sessions.items()}
    return [name_of[s["id"]] for s in page]


async def listed(client: httpx.AsyncClient, sessions: dict[str, Any], **params: Any) -> list[str]:
    path = params.pop("path", "/sessions")
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    page = Page[SessionSummary].model_validate(response.json())
    assert page.next_cursor is None
    return names(response.json()["items"], sessions)


async def test_list_sessions_oldest_first(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    assert await listed(client, sessions) == ["ngc1", "fgc1", "ngc2", "fgc2", "ngc3"]
    response = await client.get("/sessions")
    item = response.json()["items"][0]
    assert "segments" not in item and "participants" not in item
    assert item == {k: v for k, v in sessions["ngc1"].items() if k in item}


async def test_filter_by_council(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    fgc_id = (await client.get("/councils/fgc")).json()["id"]
    assert await listed(client, sessions, council="ngc") == ["ngc1", "ngc2", "ngc3"]
    assert await listed(client, sessions, council=fgc_id) == ["fgc1", "fgc2"]
    assert await listed(client, sessions, council=["ngc", "fgc"]) == [
        "ngc1",
        "fgc1",
        "ngc2",
        "fgc2",
        "ngc3",
    ]
    # A council that does not exist is an error in the query, not an empty list.
    response = await client.get("/sessions", params={"council": ["ngc", "nope"]})
    assert all(p.startswith("/query/council") for p in pointers(response))


async def test_filter_by_country_member_or_host(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    assert await listed(client, sessions, country="NO") == ["ngc1", "ngc2", "ngc3"]
    assert await listed(client, sessions, country="FR") == ["fgc1", "fgc2"]
    assert await listed(client, sessions, country="DE") == ["ngc1", "fgc1", "ngc2", "fgc2", "ngc3"]
    assert await listed(client, sessions, country="US") == ["fgc1"]
    assert await listed(client, sessions, country=["US", "NO"]) == ["ngc1", "fgc1", "ngc2", "ngc3"]
    assert await listed(client, sessions, country="CH") == []


async def test_filter_by_host_and_location_country(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    assert await listed(client, sessions, host_country="NO") == ["ngc1", "ngc3"]
    assert await listed(client, sessions, host_country=["DE", "US"]) == ["fgc1", "ngc2"]
    assert await listed(client, sessions, location_country="CH") == ["ngc2"]
    assert await listed(client, sessions, location_country="DE") == []
    assert await listed(client, sessions, host_country="NO", location_country="NO") == ["ngc1"]


async def test_filter_by_status(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    assert await listed(client, sessions, status="held") == ["ngc1", "ngc2", "fgc2"]
    assert await listed(client, sessions, status="planned") == ["ngc3"]
    assert await listed(client, sessions, status=["planned", "cancelled"]) == ["fgc1", "ngc3"]
    assert await listed(client, sessions, status="postponed") == []
    assert pointers(await client.get("/sessions", params={"status": "done"})) == {"/query/status/0"}


async def test_filter_by_dates_overlapping_the_range(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    # NGC 2 runs from 2006-06-10 to 2006-06-12.
    assert await listed(client, sessions, **{"from": "2006-06-12", "to": "2006-06-12"}) == ["ngc2"]
    assert await listed(client, sessions, **{"from": "2006-06-09", "to": "2006-06-10"}) == ["ngc2"]
    assert await listed(client, sessions, **{"from": "2006-06-13", "to": "2007-02-20"}) == []
    assert await listed(client, sessions, **{"from": "2007-02-21"}) == ["fgc2", "ngc3"]
    assert await listed(client, sessions, to="2006-01-15") == ["ngc1", "fgc1"]
    assert await listed(client, sessions, council="ngc", to="2006-12-31") == ["ngc1", "ngc2"]
    response = await client.get("/sessions", params={"from": "2006-02-30", "to": "yesterday"})
    assert pointers(response) == {"/query/from", "/query/to"}


async def test_filter_by_updated_since(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    patched = (
        await client.patch(f"/sessions/{sessions['ngc1']['id']}", json={"summary": "Revised."})
    ).json()
    since = patched["updated_at"]
    assert await listed(client, sessions, updated_since=since) == ["ngc1"]
    assert await listed(client, sessions, updated_since=sessions["ngc1"]["created_at"]) == [
        "ngc1",
        "fgc1",
        "ngc2",
        "fgc2",
        "ngc3",
    ]
    # The same instant written with another UTC offset.
    moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    in_paris = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert await listed(client, sessions, updated_since=in_paris) == ["ngc1"]
    later = (moment + timedelta(seconds=1)).isoformat()
    assert await listed(client, sessions, updated_since=later) == []
    assert pointers(await client.get("/sessions", params={"updated_since": "lately"})) == {
        "/query/updated_since"
    }


async def test_sorts(client: httpx.AsyncClient) -> None:
    await create_council(client)
    # Ordinal order differs from date order, and one session is unnumbered.
    sessions = {
        "second": await create_session(client, start_date="2005-01-01", ordinal=2),
        "first": await create_session(client, start_date="2006-01-01", ordinal=1),
        "unnumbered": await create_session(client, start_date="2004-01-01"),
        "third": await create_session(client, start_date="2007-01-01", ordinal=3),
    }
    assert await listed(client, sessions) == ["unnumbered", "second", "first", "third"]
    assert await listed(client, sessions, sort="start_date") == [
        "unnumbered",
        "second",
        "first",
        "third",
    ]
    assert await listed(client, sessions, sort="-start_date") == [
        "third",
        "first",
        "second",
        "unnumbered",
    ]
    assert await listed(client, sessions, sort="ordinal") == [
        "first",
        "second",
        "third",
        "unnumbered",
    ]
    assert await listed(client, sessions, sort="-ordinal") == [
        "unnumbered",
        "third",
        "second",
        "first",
    ]
    assert await listed(client, sessions, path="/councils/ngc/sessions", sort="-ordinal") == [
        "unnumbered",
        "third",
        "second",
        "first",
    ]
    assert pointers(await client.get("/sessions", params={"sort": "title"})) == {"/query/sort"}


async def test_council_sessions_take_the_same_filters(client: httpx.AsyncClient) -> None:
    sessions = await create_sessions_to_filter(client)
    path = "/councils/ngc/sessions"
    assert await listed(client, sessions, path=path) == ["ngc1", "ngc2", "ngc3"]
    assert await listed(client, sessions, path=path, host_country="NO") == ["ngc1", "ngc3"]
    assert await listed(client, sessions, path=path, status="planned") == ["ngc3"]
    assert await listed(client, sessions, path=path, location_country="US") == []
    assert await listed(client, sessions, path=path, **{"from": "2006-01-01"}) == ["ngc2", "ngc3"]
    assert await listed(client, sessions, path=path, sort="-start_date") == [
        "ngc3",
        "ngc2",
        "ngc1",
    ]
    assert pointers(await client.get(path, params={"status": "done"})) == {"/query/status/0"}


# ---------------------------------------------------------------- pagination


async def walk(client: httpx.AsyncClient, **params: Any) -> list[list[int]]:
    """Every page of /sessions, following the Link header; the ordinals of each page."""
    pages = []
    response = await client.get("/sessions", params=params)
    while True:
        assert response.status_code == 200, response.text
        page = Page[SessionSummary].model_validate(response.json())
        pages.append([s.ordinal for s in page.items])
        if page.next_cursor is None:
            assert "link" not in response.headers
            return pages
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        url = httpx.URL(link.removeprefix("<").removesuffix('>; rel="next"'))
        assert url.params["cursor"] == page.next_cursor
        response = await client.get(url)


async def test_cursor_pagination(client: httpx.AsyncClient) -> None:
    await create_council(client)
    for ordinal in range(1, 8):
        await create_session(client, start_date=f"200{ordinal}-01-01", ordinal=ordinal)
    assert await walk(client, limit=3) == [[1, 2, 3], [4, 5, 6], [7]]
    assert await walk(client, limit=3, sort="-start_date") == [[7, 6, 5], [4, 3, 2], [1]]
    assert await walk(client, limit=2, sort="-ordinal") == [[7, 6], [5, 4], [3, 2], [1]]
    assert await walk(client, limit=7) == [[1, 2, 3, 4, 5, 6, 7]]
    assert await walk(client, limit=2, status="held", to="2005-12-31") == [[1, 2], [3, 4], [5]]


async def test_sessions_with_one_date_are_paged_without_gap_or_duplicate(
    client: httpx.AsyncClient,
) -> None:
    await create_council(client)
    for ordinal in range(1, 6):
        await create_session(client, start_date="2007-02-21", ordinal=ordinal)
    pages = await walk(client, limit=2)
    assert len(pages) == 3
    assert sorted(o for page in pages for o in page) == [1, 2, 3, 4, 5]


async def test_limit_is_between_1_and_200(client: httpx.AsyncClient) -> None:
    for limit in (0, 201, "ten"):
        assert pointers(await client.get("/sessions", params={"limit": limit})) == {"/query/limit"}


async def test_altered_or_foreign_cursor_is_400(client: httpx.AsyncClient) -> None:
    await create_council(client)
    for ordinal in range(1, 4):
        await create_session(client, start_date=f"200{ordinal}-01-01", ordinal=ordinal)
    first = await client.get("/sessions", params={"limit": 1})
    cursor = first.json()["next_cursor"]
    assert cursor
    payload, _, signature = cursor.partition(".")
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    for bad in (cursor[:-2], f"{flipped}.{signature}", "garbage", f"{payload}.", "!!!.???"):
        response = await client.get("/sessions", params={"limit": 1, "cursor": bad})
        assert response.status_code == 400, bad
    # A cursor only works for the list, filter and sort it was made for.
    for path, params in [
        ("/sessions", {"sort": "-start_date"}),
        ("/sessions", {"status": "held"}),
        ("/sessions", {"council": "ngc"}),
        ("/councils/ngc/sessions", {}),
    ]:
        response = await client.get(path, params={"limit": 1, "cursor": cursor} | params)
        assert response.status_code == 400, (path, params)
    assert "cursor" in response.json()["detail"]
    # The genuine cursor still works.
    second = await client.get("/sessions", params={"limit": 1, "cursor": cursor})
    assert [s["ordinal"] for s in second.json()["items"]] == [2]
