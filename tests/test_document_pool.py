"""db.DocumentPool, the connections for the reads PostgreSQL writes as JSON: a closed pool
opens again; a connection that failed is not given to the next request, one whose query
PostgreSQL refused is; and a request that finds every connection taken for too long is
answered 503 and the next one served. (That requests take connections in the order they
asked is asyncio.Semaphore's promise; what it changes under load is measured by
bench/run, bench/NOTES.md finding 16.)"""

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app import db
from app.db import DOCUMENT_CONNECTIONS, DocumentPool
from app.pagination import DEFAULT_LIMIT
from app.people.document_sql import PERSON_SEARCH_SQL
from app.sessions.detail_sql import page_sql


@pytest.fixture
def documents(app: FastAPI) -> DocumentPool:
    if app.state.documents is None:
        pytest.skip("the document pool is PostgreSQL's")
    pool: DocumentPool = app.state.documents
    return pool


async def test_a_closed_pool_opens_again(documents: DocumentPool) -> None:
    async with documents.connection() as connection:
        assert await connection.fetchval("SELECT 2") == 2
    await documents.close()
    async with documents.connection() as connection:
        assert await connection.fetchval("SELECT 3") == 3


async def test_a_lost_connection_is_replaced(documents: DocumentPool) -> None:
    with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError)):
        async with documents.connection() as connection:
            lost = connection.get_server_pid()
            await connection.fetchval("SELECT pg_terminate_backend(pg_backend_pid())")
    async with documents.connection() as connection:
        assert await connection.fetchval("SELECT 1") == 1
        assert connection.get_server_pid() != lost


async def test_a_refused_query_keeps_its_connection(documents: DocumentPool) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with documents.connection() as connection:
            kept = connection.get_server_pid()
            await connection.fetchval("SELECT 1 / 0")
    async with documents.connection() as connection:
        assert connection.get_server_pid() == kept
        assert await connection.fetchval("SELECT 1") == 1


async def test_a_cancelled_query_leaves_its_connection(documents: DocumentPool) -> None:
    async def slow() -> None:
        async with documents.connection() as connection:
            pids.append(connection.get_server_pid())
            await connection.fetchval("SELECT pg_sleep(2)")

    pids: list[int] = []
    task = asyncio.create_task(slow())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with documents.connection() as connection:
        assert connection.get_server_pid() != pids[0]
        assert await connection.fetchval("SELECT 1") == 1


async def test_waiting_too_long_for_a_connection_is_a_503(
    documents: DocumentPool, anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "CONNECTION_WAIT_SECONDS", 0.2)
    release = asyncio.Event()

    async def hold() -> None:
        async with documents.connection():
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(DOCUMENT_CONNECTIONS)]
    await asyncio.sleep(0.05)
    try:
        response = await anonymous.get("/sessions/01941f30-3023-7e18-a384-14c517e1ad15")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
    finally:
        release.set()
        await asyncio.gather(*holders)
    response = await anonymous.get("/sessions/01941f30-3023-7e18-a384-14c517e1ad15")
    assert response.status_code == 404


async def test_searches_are_planned_for_their_words(
    app: FastAPI, anonymous: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Session and person searches run where PostgreSQL plans each for its words: a plan
    kept for every word reads all sessions for a word that none has (bench/NOTES.md)."""
    if app.state.searches is None:
        pytest.skip("the search connections are PostgreSQL's")
    statements = [page_sql(1, DEFAULT_LIMIT), PERSON_SEARCH_SQL]

    async def plans() -> list[tuple[int, int]]:
        # Sequential requests take the connection last given back: this one.
        async with app.state.searches.connection() as connection:
            assert await connection.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
            found = await connection.fetch(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement = ANY($1::text[])",
                statements,
            )
        counts = {row["statement"]: (row["generic_plans"], row["custom_plans"]) for row in found}
        return [counts.get(statement, (0, 0)) for statement in statements]

    before = await plans()
    for q in ["sixth", "nowhere", "Lavrov"] * 4:
        assert (await anonymous.get("/sessions", params={"q": q})).status_code == 200
        assert (await anonymous.get("/persons", params={"q": q})).status_code == 200
    after = await plans()
    # Twelve executions of each statement, each planned for its words.
    assert [(g - g0, c - c0) for (g, c), (g0, c0) in zip(after, before, strict=True)] == [
        (0, 12),
        (0, 12),
    ]
