"""One way through: every request of the API goes through its documented route, the same
middleware and the same dependencies; one pool of connections per worker."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import text

from app.config import Settings
from app.main import API_PREFIX, create_app, shut_down
from app.middleware import ProblemCORSMiddleware, RequestMiddleware
from tests.conftest import http_client


def test_each_operation_is_served_by_one_documented_route(app: FastAPI) -> None:
    served: Counter[tuple[str, str]] = Counter()
    for context in iter_route_contexts(app.routes):
        path, route = context.path or "", context.original_route
        if not path.startswith(API_PREFIX):
            continue
        assert isinstance(route, APIRoute), f"{path} is served by a {type(route).__name__}"
        assert route.include_in_schema, path
        served.update((method, path) for method in route.methods)
    assert [operation for operation, count in served.items() if count > 1] == []
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(API_PREFIX)
        for method in operations
    }
    assert set(served) == documented


@pytest.fixture
async def cors_app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(Settings(database_url=database_url, cors_origins="https://app.example"))
    yield app
    await shut_down(app)


def test_the_middleware_is_generic(cors_app: FastAPI) -> None:
    assert [m.cls for m in cors_app.user_middleware] == [RequestMiddleware, ProblemCORSMiddleware]


async def test_middleware_added_later_reaches_the_hottest_paths(
    cors_app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """CORS (added after the routes) answers the session list, the detail and a write as
    it answers every other route: a shared cache keeps copies per Origin."""
    origin = {"Origin": "https://app.example"}
    async with http_client(cors_app) as browser:
        for path in ("/sessions", f"/sessions/{ccqs['sixth']['id']}", "/persons?q=lavrov"):
            response = await browser.get(path, headers=origin)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "https://app.example"
            assert "origin" in response.headers["vary"].lower(), path
            assert response.headers["x-request-id"]
            assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_worker_holds_at_most_its_pool_of_connections(
    app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Under a burst of reads, searches and writes, the worker never opens more than
    ENTENTE_DB_POOL_SIZE (10) connections to PostgreSQL."""
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to count connections on")
    assert app.state.settings.db_pool_size == 10
    count = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    sixth = ccqs["sixth"]["id"]
    seen: list[int] = []

    async def watch(stop: asyncio.Event) -> None:
        async with app.state.engine.connect() as watcher:  # one of the ten, while it watches
            while not stop.is_set():
                seen.append(await watcher.scalar(count))
                await asyncio.sleep(0.005)

    def request(i: int) -> Any:
        if i % 4 == 0:
            return client.post("/topics", json={"slug": f"burst-{i}", "name": f"Burst {i}"})
        if i % 4 == 1:
            return client.get("/sessions", params={"q": "security"})
        if i % 4 == 2:
            return client.get("/persons", params={"q": "lavrov"})
        return client.get(f"/sessions/{sixth}")

    stop = asyncio.Event()
    watching = asyncio.create_task(watch(stop))
    answers = await asyncio.gather(*(request(i) for i in range(120)))
    stop.set()
    await watching
    assert {a.status_code for a in answers} <= {200, 201}
    assert seen and max(seen) + 1 <= 10, max(seen)  # + the watcher's own
