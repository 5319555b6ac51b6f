"""On PostgreSQL each person's document is kept written in `person.document` by triggers
(migration 0009). It must stay the document the portable path builds whatever writes the
rows: the API (tests/test_detail_document.py), SQL that bypasses the API's own updates
of the person (a dataset import, a cascade, another tool), and two transactions at once."""

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.people.service import get_person, portable_person


@pytest.fixture(autouse=True)
def postgresql_only(app: FastAPI) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the stored document is PostgreSQL's")


async def assert_served_as_built(app: FastAPI, person_id: str) -> dict[str, Any]:
    async with app.state.sessionmaker() as db:
        stored = await get_person(db, person_id)
        assert stored == await portable_person(db, person_id)
    return dict(stored)


async def until_a_query_waits_for_a_lock(app: FastAPI) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(10):
        while True:
            async with app.state.engine.connect() as connection:
                if await connection.scalar(waiting):
                    return
            await asyncio.sleep(0.05)


async def second_write_waits_for_first(
    app: FastAPI, first: str, second: str, values: dict[str, Any]
) -> None:
    """`first` in a transaction left open, then `second` in another, which must wait for a
    lock the first holds (or raise TimeoutError); the first commits, then the second."""
    async with app.state.engine.connect() as holding, app.state.engine.connect() as waiting:
        await holding.begin()
        await holding.execute(text(first), values)
        await waiting.begin()
        write = asyncio.create_task(waiting.execute(text(second), values))
        await until_a_query_waits_for_a_lock(app)
        await holding.commit()
        await write
        await waiting.commit()


async def test_rows_written_without_the_api_rewrite_the_document(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    person = (await client.post("/persons", json={"name": "Jean Dupont"})).json()
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    ids = {"person": person["id"], "source": source["id"]}
    statements = [
        "INSERT INTO person_other_name (person_id, position, name) VALUES (:person, 0, 'J. D.')",
        "INSERT INTO person_identifier (person_id, position, scheme, identifier) "
        "VALUES (:person, 0, 'wikidata', 'Q1')",
        "INSERT INTO office (id, person_id, title, names, role, country, created_at, updated_at) "
        "VALUES ('o1', :person, 'Minister', '{}', 'minister', 'FR', now(), now())",
        "INSERT INTO citation (source_id, position, office_id) VALUES (:source, 0, 'o1')",
        "INSERT INTO citation (source_id, position, person_id) VALUES (:source, 0, :person)",
        "UPDATE office SET title = 'Ambassador' WHERE id = 'o1'",
        "UPDATE source SET title = 'Retitled'",
        "UPDATE person_other_name SET name = 'Jean D.'",
        "DELETE FROM person_identifier",
        "DELETE FROM citation WHERE office_id = 'o1'",
        "DELETE FROM office",
        "DELETE FROM source",  # the citation of the person goes with it (cascade)
    ]
    for statement in statements:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(statement), ids)
        await assert_served_as_built(app, person["id"])
    assert (await assert_served_as_built(app, person["id"]))["other_names"][0]["name"] == "Jean D."


async def test_a_source_changed_while_it_is_being_cited(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """One transaction retitles a source while another cites it for a person. Each
    trigger reads what is committed: unless the citation waits for the retitling to
    commit, the person's document keeps the old title."""
    person = (await client.post("/persons", json={"name": "Jean Dupont"})).json()
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    await second_write_waits_for_first(
        app,
        "UPDATE source SET title = 'New' WHERE id = :source",
        "INSERT INTO citation (source_id, position, person_id) VALUES (:source, 0, :person)",
        {"person": person["id"], "source": source["id"]},
    )
    stored = await assert_served_as_built(app, person["id"])
    assert [s["title"] for s in stored["sources"]] == ["New"]


async def test_a_write_undone_by_a_deadlock_answers_409_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Retitling a source rewrites the documents of the persons citing it, so it waits
    for a write holding one of them; if that write then waits for the source, neither
    can go on. PostgreSQL undoes one of the two (the one that has waited longer, here
    the PATCH): the client is told to send it again, and nothing of it remains."""
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    body = {"name": "Jean Dupont", "source_ids": [source["id"]]}
    person = (await client.post("/persons", json=body)).json()
    ids = {"person": person["id"], "source": source["id"]}
    async with app.state.engine.connect() as other_write:
        await other_write.begin()
        await other_write.execute(text("UPDATE person SET name = name WHERE id = :person"), ids)
        retitle = asyncio.create_task(
            client.patch(f"/sources/{source['id']}", json={"title": "New"})
        )
        await until_a_query_waits_for_a_lock(app)  # the PATCH: it has the source
        cite = text("SELECT FROM source WHERE id = :source FOR SHARE")
        waits_for_the_source = asyncio.create_task(other_write.execute(cite, ids))
        response = await retitle
        await waits_for_the_source
        await other_write.rollback()
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Send it again" in response.json()["detail"]
    assert (await client.get(f"/sources/{source['id']}")).json()["title"] is None
    assert (await assert_served_as_built(app, person["id"]))["sources"][0]["title"] is None
