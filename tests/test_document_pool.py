"""db.DocumentPool, the connections for the reads PostgreSQL writes as JSON: a closed pool
opens again; a connection that failed is not given to the next request, one whose query
PostgreSQL refused is; and a request that finds every connection taken for too long is
answered 503 and the next one served. (That requests take connections in the order they
asked is asyncio.Semaphore's promise; what it changes under load is measured by
bench/run, bench/NOTES.md finding 16.)"""

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app import db
from app.db import DOCUMENT_CONNECTIONS, DocumentPool


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
            await connection.fetchval("SELECT pg_sleep(10)")

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
