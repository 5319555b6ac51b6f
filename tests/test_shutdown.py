"""Graceful shutdown: on SIGTERM the server finishes the requests in flight, then exits."""

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.processes import Server, entente, server_env


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'shutdown.db'}"


async def test_sigterm_lets_the_request_in_flight_finish(sqlite_url: str, tmp_path: Path) -> None:
    env = server_env(sqlite_url)
    entente(env, "migrate")
    token = entente(env, "keys", "create", "--name", "writer", "--scope", "write").split()[0]
    server = Server(env, tmp_path / "server.log")
    server.start()
    first_part_sent = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b'{"slug": "late", "name": "Late Council", '
        first_part_sent.set()
        await asyncio.sleep(1.5)  # the server is told to stop meanwhile
        yield b'"kind": "bilateral", "member_countries": ["FR", "RU"]}'

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            request = asyncio.create_task(
                client.post(
                    "/api/v1/councils",
                    content=slow_body(),
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                )
            )
            await first_part_sent.wait()
            await asyncio.sleep(0.3)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            response = await request
        assert response.status_code == 201, response.text
        # uvicorn finishes the request, shuts down, then re-raises the signal it caught.
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        server.stop()
    restarted = Server(env, tmp_path / "again.log")
    restarted.start()
    try:
        async with httpx.AsyncClient(base_url=restarted.url) as client:
            assert (await client.get("/api/v1/councils/late")).status_code == 200
    finally:
        restarted.stop()
