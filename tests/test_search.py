"""Finding things: the examples of the issue, identical on SQLite and PostgreSQL."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.sessions.service import index_sessions
from app.terms.models import SearchTerm
from tests.factories import same_answer

LAVROV = "Sergueï Lavrov"
SERDIOUKOV = "Anatoli Serdioukov"


@pytest.mark.parametrize("query", ["Sergei Lavrov", "sergey lavrov", "Serguei", "LAVROV", "Лавров"])
async def test_persons_q_finds_lavrov(
    client: httpx.AsyncClient, ccqs: dict[str, Any], query: str
) -> None:
    names = [p["name"] for p in (await client.get("/persons", params={"q": query})).json()["items"]]
    assert names[0] == LAVROV


@pytest.mark.parametrize("query", ["Serdyukov", "Serdioukov", "Сердюков"])
async def test_persons_q_finds_serdioukov(
    client: httpx.AsyncClient, ccqs: dict[str, Any], query: str
) -> None:
    names = [p["name"] for p in (await client.get("/persons", params={"q": query})).json()["items"]]
    assert names == [SERDIOUKOV]


async def test_persons_q_finds_alliot_marie(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    names = [
        p["name"]
        for p in (await client.get("/persons", params={"q": "alliot marie"})).json()["items"]
    ]
    assert names == ["Michèle Alliot-Marie"]


async def test_persons_q_ranks_whole_words_first(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    await client.post("/persons", json={"name": "Sergei Lavrovsky"})
    names = [
        p["name"] for p in (await client.get("/persons", params={"q": "Lavrov"})).json()["items"]
    ]
    assert names == [LAVROV, "Sergei Lavrovsky"]


async def test_person_searches_answer_alike_with_a_key_or_without(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """/persons finds, ranks, orders and pages alike with a key or without, and each
    one's cursors page on in the other's list."""
    for name in ("Sergei Ivanov", "Sergei Sergeev", "Anna Sergeeva", "Ivan Sergeevich", "Serge"):
        assert (await client.post("/persons", json={"name": name})).status_code == 201
    queries: list[dict[str, Any]] = [
        {"q": "sergei"},
        {"q": "serg"},
        {"q": "SERGE"},
        {"q": "sergei ivan"},
        {"q": "ivan serg"},
        {"q": "serg serg"},
        {"q": "Сергей"},
        {"q": "lavrov", "limit": 1},
        {"q": "nobody"},
        {"q": "!!!"},
        {"q": ""},
        {"q": "s" * 201},
        {"q": "a\x00b"},
        {},
        {"limit": 2},
    ]
    for params in queries:
        same_answer(
            await anonymous.get("/persons", params=params),
            await client.get("/persons", params=params),
            str(params),
        )
    # One at a time, each cursor taken by the other client: the order of the whole list.
    whole = (await client.get("/persons", params={"q": "serg"})).json()["items"]
    assert len(whole) >= 6
    walked, cursor, turn = [], None, 0
    while True:
        params = {"q": "serg", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await (anonymous, client)[turn % 2].get("/persons", params=params)).json()
        walked += page["items"]
        cursor, turn = page["next_cursor"], turn + 1
        if cursor is None:
            break
    assert [p["id"] for p in walked] == [p["id"] for p in whole]


async def test_a_renamed_person_is_ordered_by_the_new_name(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """Matches of one rank are ordered by name, and a search reads the name beside the
    terms (SearchTerm.label) on PostgreSQL: a new name must move the person there too."""
    first = (await client.post("/persons", json={"name": "Anna Petrova"})).json()
    (await client.post("/persons", json={"name": "Boris Petrova"})).json()

    async def order() -> list[str]:
        found = await anonymous.get("/persons", params={"q": "petrov"})
        documented = await client.get("/persons", params={"q": "petrov"})
        same_answer(found, documented, "petrov")
        return [p["name"] for p in found.json()["items"]]

    assert await order() == ["Anna Petrova", "Boris Petrova"]
    renamed = await client.patch(f"/persons/{first['id']}", json={"name": "Vera Petrova"})
    assert renamed.status_code == 200, renamed.text
    assert await order() == ["Boris Petrova", "Vera Petrova"]


@pytest.mark.parametrize("query", ["securite energetique", "Kosovo", "OTAN", "NATO", "2+2"])
async def test_sessions_q_finds_the_sixth(
    client: httpx.AsyncClient, ccqs: dict[str, Any], query: str
) -> None:
    ids = [s["id"] for s in (await client.get("/sessions", params={"q": query})).json()["items"]]
    assert ids == [ccqs["sixth"]["id"]]


async def test_search_is_typed_and_ranked(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    hits = (await client.get("/search", params={"q": "Kosovo"})).json()["items"]
    assert [(h["type"], h["label"]) for h in hits] == [
        ("topic", "Kosovo"),
        ("session", "6th session of the CCQS"),
    ]
    assert hits[0]["item"]["slug"] == "kosovo"
    persons = (await client.get("/search", params={"q": "Poutine", "type": "person"})).json()
    assert [h["label"] for h in persons["items"]] == ["Vladimir Poutine"]


async def test_topic_filter_includes_descendants(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    for topic in ("regional-issues", "kosovo"):
        found = (await client.get("/sessions", params={"topic": topic})).json()["items"]
        assert [s["id"] for s in found] == [ccqs["sixth"]["id"]]
        via_topic = (await client.get(f"/topics/{topic}/sessions")).json()["items"]
        assert [s["id"] for s in via_topic] == [ccqs["sixth"]["id"]]


async def test_topic_shows_path_and_children(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    kosovo = (await client.get("/topics/kosovo")).json()
    assert [t["slug"] for t in kosovo["path"]] == ["regional-issues", "kosovo"]
    regional = (await client.get("/topics/regional-issues")).json()
    children = [(await client.get(f"/topics/{c}")).json()["slug"] for c in regional["children"]]
    assert sorted(children) == ["afghanistan", "frozen-conflicts", "kosovo", "near-and-middle-east"]
    roots = (await client.get("/topics", params={"parent": "root", "limit": 200})).json()["items"]
    assert len(roots) == 5


async def test_person_sessions_and_counterparts(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    lavrov = ccqs["persons"]["lavrov"]["id"]
    sessions = (await client.get(f"/persons/{lavrov}/sessions")).json()["items"]
    assert [s["ordinal"] for s in sessions] == [6]
    assert sessions[0]["participation"]["title_at_time"] == "Minister of Foreign Affairs"
    assert sessions[0]["participation"]["delegation"] == "RU"
    alliot = ccqs["persons"]["alliot-marie"]["id"]
    met = (await client.get(f"/persons/{alliot}/counterparts")).json()["items"]
    assert {m["person"]["name"] for m in met} == {SERDIOUKOV, LAVROV, "Vladimir Poutine"}
    assert all(m["shared_sessions"] == 1 and m["session_ids"] == [ccqs["sixth"]["id"]] for m in met)


async def test_timeline_counts_days(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    timeline = (await client.get("/councils/ccqs/timeline")).json()["items"]
    assert [(t["ordinal"], t["days_since_previous"]) for t in timeline] == [(5, None), (6, 498)]
    assert timeline[1]["participant_count"] == 5
    assert timeline[1]["agenda_item_count"] == 11
    assert timeline[1]["host_country"] == "RU"


async def test_participant_filter_needs_all(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    persons = ccqs["persons"]
    both = [persons["lavrov"]["id"], persons["alliot-marie"]["id"]]
    found = (await client.get("/sessions", params={"participant": both})).json()["items"]
    assert [s["ordinal"] for s in found] == [6]
    stranger = (await client.post("/persons", json={"name": "Nobody"})).json()["id"]
    found = (await client.get("/sessions", params={"participant": [*both, stranger]})).json()
    assert found["items"] == []


async def test_empty_query_is_422(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    response = await client.get("/sessions", params={"q": "!!!"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/query/q"


async def test_a_new_session_has_the_terms_a_rebuild_gives_it(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    """A session is indexed at its creation: its terms must be those that indexing it
    again from the database gives."""
    created = await client.post(
        "/sessions",
        json={
            "council_id": "ccqs",
            "ordinal": 7,
            "start_date": "2008-03-17",
            "summary": "Missile defence and the Arctic shelf",
            "segments": [
                {"kind": "plenary", "format": "2+2", "title": "Plénière élargie"},
                {"kind": "restricted", "description": "Format restreint, Кремль"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]

    async def terms() -> set[tuple[str, int]]:
        async with app.state.sessionmaker() as db:
            rows = await db.execute(
                select(SearchTerm.term, SearchTerm.weight).where(
                    SearchTerm.entity == "session", SearchTerm.record_id == session_id
                )
            )
            return {(term, weight) for term, weight in rows}

    written = await terms()
    async with app.state.sessionmaker() as db, db.begin():
        await index_sessions(db, [session_id])
    assert {"7th", "cqs", "misil", "plenier", "kreml"} <= {term for term, _ in written}
    assert written == await terms()
