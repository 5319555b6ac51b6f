"""On PostgreSQL each session's summary is kept written in `council_session.summary_document`
by triggers (migration 0010), and list pages serve it. It must stay the summary the
portable path builds whatever writes the rows: the API, SQL that bypasses it (a dataset
import, a cascade, another tool), and two transactions at once."""

from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.sessions.service import session_summaries
from tests.factories import create_council
from tests.test_person_documents import second_write_waits_for_first


@pytest.fixture(autouse=True)
def postgresql_only(app: FastAPI) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the stored summary is PostgreSQL's")


async def assert_stored_as_built(app: FastAPI) -> dict[str, dict[str, Any]]:
    """Every session's stored summary is the portable one; the summaries by id."""
    async with app.state.sessionmaker() as db:
        rows = (await db.execute(text("SELECT id, summary_document FROM council_session"))).all()
        stored = {row.id: orjson.loads(row.summary_document) for row in rows}
        built = {s["id"]: s for s in await session_summaries(db, list(stored))}
    assert stored == built
    return stored


async def test_api_writes_keep_the_summaries(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    council, sixth = ccqs["council"], ccqs["sixth"]["id"]
    first = (await client.post("/sources", json={"url": "https://example.org/a"})).json()["id"]
    second = (await client.post("/sources", json={"url": "https://example.org/b"})).json()["id"]
    person = (await client.post("/persons", json={"name": "Jean Dupont"})).json()["id"]
    writes = [
        (
            "POST",
            "/sessions",
            {"council_id": council["id"], "start_date": "2008-05-02", "source_ids": [first]},
        ),
        ("PATCH", f"/sessions/{sixth}", {"summary": "Talks.", "source_ids": [second, first]}),
        ("POST", f"/sessions/{sixth}/participants", {"person_id": person, "delegation": "FR"}),
        ("PATCH", f"/councils/{council['id']}", {"acronym": "CCQS-2", "slug": "ccqs-2"}),
        ("PATCH", f"/sessions/{sixth}", {"source_ids": [first]}),
        ("DELETE", f"/sources/{second}", None),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body)
        assert response.status_code in (200, 201, 204), response.text
        await assert_stored_as_built(app)
    summaries = await assert_stored_as_built(app)
    assert summaries[sixth]["title"] == "6th session of the CCQS-2"
    assert summaries[sixth]["source_ids"] == [first]
    # The list pages serve them: the direct route and the filtered one.
    for params in ({}, {"q": "ccqs"}, {"council": "ccqs-2"}):
        page = (await client.get("/sessions", params=params)).json()["items"]
        assert {s["id"]: s for s in page} == {s["id"]: summaries[s["id"]] for s in page}
        assert page


async def test_rows_written_without_the_api_rewrite_the_summary(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    other = await create_council(client, slug="other", members=("FR", "DE"))
    ids = {"sixth": ccqs["sixth"]["id"], "source": source["id"], "other": other["id"]}
    statements = [
        "INSERT INTO citation (source_id, position, session_id) VALUES (:source, 0, :sixth)",
        "INSERT INTO council_session (id, council_id, ordinal, start_date, end_date, "
        "guest_countries, status, created_at, updated_at) VALUES ('s1', :other, 1, "
        "'2009-01-01', '2009-01-01', '[]', 'held', now(), now())",
        "UPDATE citation SET position = 1 WHERE source_id = :source",
        "UPDATE council SET name = 'Renamed', acronym = 'RC'",
        "UPDATE council_session SET council_id = :other, ordinal = 7 WHERE id = :sixth",
        "UPDATE council_session SET title = 'A title', summary = 'Short.' WHERE id = 's1'",
        "UPDATE citation SET session_id = 's1' WHERE source_id = :source",
        "DELETE FROM citation",
        "DELETE FROM council WHERE id = :other",  # its sessions go with it (cascade)
    ]
    for statement in statements:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(statement), ids)
        await assert_stored_as_built(app)
    assert {s["council"]["acronym"] for s in (await assert_stored_as_built(app)).values()} == {"RC"}


async def test_a_session_added_while_its_council_is_renamed(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    """One transaction renames a council while another adds a session to it. Each trigger
    reads what is committed: unless the new session waits for the renaming to commit,
    its summary keeps the old acronym (the renaming cannot see the uncommitted session)."""
    await second_write_waits_for_first(
        app,
        "UPDATE council SET acronym = 'NEW' WHERE id = :council",
        "INSERT INTO council_session (id, council_id, start_date, end_date, guest_countries, "
        "status, created_at, updated_at) VALUES ('s1', :council, '2009-01-01', '2009-01-01', "
        "'[]', 'held', now(), now())",
        {"council": ccqs["council"]["id"]},
    )
    summaries = await assert_stored_as_built(app)
    assert summaries["s1"]["title"] == "Session of the NEW on 2009-01-01"
