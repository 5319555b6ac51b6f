"""On PostgreSQL the session detail is an SQL query building the JSON document, and
persons and session summaries are kept written by PostgreSQL; all must be exactly what
the portable path (used on SQLite) builds, for every kind of record."""

from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.pagination import PageRequest
from app.people.models import Person
from app.people.service import get_participation, get_person, list_persons, portable_person
from app.sessions.detail_sql import DETAIL_SQL
from app.sessions.service import (
    SessionFilter,
    get_session_detail,
    list_sessions,
    list_sessions_json,
    portable_session_detail,
)
from app.topics.service import get_agenda_item


async def test_the_sql_document_equals_the_portable_one(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the one-query document is PostgreSQL's")
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    council = ccqs["council"]["id"]
    unnumbered = (
        await client.post(
            "/sessions",
            json={
                "council_id": council,
                "start_date": "2008-05-02",
                "end_date": "2008-05-03",
                "title": None,
                "guest_countries": ["DE"],
                "source_ids": [source["id"]],
                "segments": [{"kind": "other"}],
            },
        )
    ).json()
    sixth = ccqs["sixth"]["id"]
    participant = (await client.get(f"/sessions/{sixth}/participants")).json()["items"][0]
    await client.patch(
        f"/sessions/{sixth}/participants/{participant['id']}", json={"source_ids": [source["id"]]}
    )
    item = (await client.get(f"/sessions/{sixth}/agenda")).json()["items"][0]
    await client.patch(
        f"/sessions/{sixth}/agenda/{item['id']}", json={"source_ids": [source["id"]]}
    )
    for session_id in (sixth, ccqs["fifth"]["id"], unnumbered["id"]):
        async with app.state.sessionmaker() as db:
            detail = await portable_session_detail(db, session_id)
            assert await get_session_detail(db, session_id) == detail
            # Each participant and agenda item as its own path serves it (one query each).
            for participant in detail["participants"]:
                assert await get_participation(db, session_id, participant["id"]) == participant
            for item in detail["agenda"]:
                assert await get_agenda_item(db, session_id, item["id"]) == item
    # Three sessions, two a page: the first page has a next one, whatever the sort.
    for sort in ("start_date", "-ordinal"):
        page = PageRequest(limit=2, cursor=None, scope="test", secret=b"test")
        async with app.state.sessionmaker() as db:
            items_json, cursor_of_json = await list_sessions_json(
                db, page=page, sort=sort, wanted=SessionFilter()
            )
            items, cursor = await list_sessions(db, page=page, sort=sort, wanted=SessionFilter())
        assert orjson.loads(items_json) == items and len(items) == 2
        assert cursor_of_json == cursor is not None


async def test_the_sql_person_equals_the_portable_one(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the one-query document is PostgreSQL's")
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    other = (await client.post("/sources", json={"url": "https://example.org/b"})).json()
    person = (
        await client.post(
            "/persons",
            json={
                "name": "Sergueï Lavrov",
                "nationality": "RU",
                "other_names": [
                    {"name": "Сергей Лавров", "lang": "ru"},
                    {"name": "Sergey Lavrov", "note": "English"},
                ],
                "identifiers": [{"scheme": "wikidata", "identifier": "Q80137"}],
                "source_ids": [other["id"], source["id"]],
            },
        )
    ).json()
    for start_date, sources in (("2004-03-09", [source["id"]]), (None, []), ("1992", [])):
        response = await client.post(
            f"/persons/{person['id']}/offices",
            json={
                "title": "Minister of Foreign Affairs",
                "names": {"fr": "Ministre des Affaires étrangères"},
                "role": "foreign_minister",
                "country": "RU",
                "start_date": start_date,
                "source_ids": sources,
            },
        )
        assert response.status_code == 201, response.text
    bare = (await client.post("/persons", json={"name": "Jean Dupont"})).json()

    async def served_as_built() -> None:
        for person_id in (person["id"], bare["id"]):
            async with app.state.sessionmaker() as db:
                assert await get_person(db, person_id) == await portable_person(db, person_id)

    await served_as_built()
    # PostgreSQL keeps each document written (migration 0009): every write that changes
    # what a person's document shows must rewrite it.
    office = response.json()
    writes = [
        ("PATCH", f"/persons/{person['id']}", {"other_names": [{"name": "S. Lavrov"}]}),
        ("PATCH", f"/persons/{person['id']}", {"identifiers": [], "given_name": "Sergueï"}),
        (
            "PATCH",
            f"/persons/{person['id']}/offices/{office['id']}",
            {"title": "Minister", "source_ids": [other["id"]]},
        ),
        ("PATCH", f"/sources/{source['id']}", {"title": "Retitled", "publisher": "Kremlin"}),
        ("DELETE", f"/persons/{person['id']}/offices/{office['id']}", None),
        ("DELETE", f"/sources/{other['id']}?cascade=true", None),
        ("PATCH", f"/persons/{bare['id']}", {"source_ids": [source["id"]], "key": "dupont"}),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body)
        assert response.status_code in (200, 204), response.text
        await served_as_built()
    shown = (await client.get(f"/persons/{person['id']}")).json()
    assert shown["other_names"] == [{"name": "S. Lavrov", "lang": None, "note": None}]
    assert [s["title"] for s in shown["sources"]] == ["Retitled"] and len(shown["offices"]) == 2
    # A page, with and without a query, is the persons in the order the list gives.
    expected_first_page: list[dict[str, Any]] = []
    for q in ("lavrov", None):
        page = PageRequest(limit=3, cursor=None, scope="test", secret=b"test")
        async with app.state.sessionmaker() as db:
            items, _ = await list_persons(db, page=page, q=q)
            expected = []
            for item in orjson.loads(items):
                expected.append(await portable_person(db, item["id"]))
        expected_first_page = expected
        assert orjson.loads(items) == expected and expected
    async with app.state.sessionmaker() as db:
        by_name = await db.scalars(select(Person.id).order_by(Person.name, Person.id).limit(3))
    assert [item["id"] for item in expected_first_page] == list(by_name)


async def test_the_session_is_served_as_postgresql_wrote_it(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    """Byte for byte the benchmark baseline's body (the same query's text), unparsed; the
    ETag of a write's answer is that of the text a GET then serves."""
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the one-query document is PostgreSQL's")
    sixth = ccqs["sixth"]["id"]
    async with app.state.documents.connection() as connection:
        written = await connection.fetchval(DETAIL_SQL, sixth)
    read = await anonymous.get(f"/sessions/{sixth}")
    assert read.content == written.encode()
    changed = await client.patch(f"/sessions/{sixth}", json={"summary": "Talks in Moscow."})
    assert changed.status_code == 200, changed.text
    again = await anonymous.get(f"/sessions/{sixth}")
    assert again.content == changed.content
    assert again.headers["etag"] == changed.headers["etag"] != read.headers["etag"]
