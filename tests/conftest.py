"""Test set-up: every test runs against the real migrated databases, through real HTTP
(httpx on the ASGI app), once on SQLite and once on PostgreSQL.

PostgreSQL runs when ENTENTE_TEST_DATABASE_URL names a database (which the tests empty and
migrate); otherwise those tests are skipped and the summary says so.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import inspect, text

from app.auth.models import Scope
from app.auth.service import create_key
from app.config import Settings
from app.db import create_engine, write_intent
from app.main import create_app, shut_down
from app.migrating import alembic_config
from app.models import Base
from tests.browser import BROWSER_SKIP_REASON, CHROMIUM

PG_URL = os.environ.get("ENTENTE_TEST_DATABASE_URL", "")
# httpx's test clients send `Host: testserver`, and some tests other hosts: the apps and
# servers the tests make answer to any host (as Django's test runner adds `testserver`
# to ALLOWED_HOSTS), unless a test sets ENTENTE_ALLOWED_HOSTS (tests/test_hardening.py).
os.environ.setdefault("ENTENTE_ALLOWED_HOSTS", "*")
PG_SKIP_REASON = "PostgreSQL tests skipped: ENTENTE_TEST_DATABASE_URL is not set"
SEED = Path(__file__).resolve().parent.parent / "app" / "data" / "ccqs.json"
# Reference data filled by the migration; every other table is emptied after each test.
KEPT_TABLES = {"country"}


# Lines that tests want shown at the end of the run (figures the issues ask to see).
SUMMARY_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in SUMMARY_LINES:
        terminalreporter.write_line(line)
    if not PG_URL:
        terminalreporter.write_sep("!", PG_SKIP_REASON, yellow=True, bold=True)
    else:
        terminalreporter.write_sep("=", "PostgreSQL tests ran against ENTENTE_TEST_DATABASE_URL")
    if CHROMIUM is None:
        terminalreporter.write_sep("!", BROWSER_SKIP_REASON, yellow=True, bold=True)
    else:
        terminalreporter.write_sep("=", f"Browser tests ran in headless {CHROMIUM}")


def migrate_fresh(url: str) -> None:
    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    asyncio.run(_empty_every_table(url))
    command.downgrade(config, "base")
    command.upgrade(config, "head")


async def _empty_every_table(url: str) -> None:
    """Empty what an earlier run left in the PostgreSQL database (a run stopped mid-test,
    a fuzz run): the downgrade of 0012 refuses while meetings outside councils or former
    countries are stored. SQLite's database is a new file every run."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            left = [name for name in names if name not in {"alembic_version", *KEPT_TABLES}]
            if left:
                await connection.execute(text(f"TRUNCATE {', '.join(left)} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'entente.db'}"
    migrate_fresh(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, max_body_bytes=64 * 1024)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    yield app
    await shut_down(app)


async def _empty_tables(app: FastAPI) -> None:
    async with app.state.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                await connection.execute(text(f"DELETE FROM {table.name}"))


def _check_problem(response: httpx.Response) -> None:
    """Every response of the suite: never a 500, and every error is problem+json."""
    assert response.status_code < 500 or response.status_code == 503, (
        f"{response.request.method} {response.request.url} gave {response.status_code}"
    )
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", response.headers
        body = response.json() if response.request.method != "HEAD" else None
        if body is not None:
            assert body["status"] == response.status_code
            assert {"type", "title", "detail"} <= body.keys()


async def _read_and_check(response: httpx.Response) -> None:
    await response.aread()
    _check_problem(response)


async def make_key(app: FastAPI, name: str, scope: Scope) -> str:
    """A new API key's token, made as `entente keys create` makes it (a writer: on SQLite
    it takes the write lock at BEGIN, as the CLI does)."""
    intent = write_intent.set(True)
    try:
        async with app.state.sessionmaker() as db, db.begin():
            _, token = await create_key(db, name=name, scope=scope)
    finally:
        write_intent.reset(intent)
    return token


def http_client(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    """A client of the API over HTTP (httpx on the ASGI app) that checks every response."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        event_hooks={"response": [_read_and_check]},
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with an `admin` key, which may do everything; tables are emptied after."""
    token = await make_key(app, "test-admin", Scope.admin)
    async with http_client(app, token) as client:
        yield client
    await _empty_tables(app)


@pytest.fixture
async def anonymous(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client without a key (it shares the `client` fixture's clean-up)."""
    async with http_client(app) as anonymous:
        yield anonymous


@pytest.fixture
async def ccqs(client: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    """The bundled CCQS seed, loaded through the dataset importer; the ids a test needs."""
    from app.cli import load_dataset

    await load_dataset(app.state.settings.database_url, SEED.read_bytes())
    sessions = (await client.get("/councils/ccqs/sessions")).json()["items"]
    persons = (await client.get("/persons", params={"limit": 200})).json()["items"]
    return {
        "council": (await client.get("/councils/ccqs")).json(),
        "fifth": sessions[0],
        "sixth": sessions[1],
        "persons": {p["key"]: p for p in persons},
    }
