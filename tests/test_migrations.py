"""Migrations: the models and the migrations describe the same schema, and every migration
can be undone and redone on a database that holds data.

Alembic's env.py calls asyncio.run, so the commands run in a worker thread. These tests
leave the database at head with the countries filled, as the rest of the suite expects.
"""

import asyncio
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from app.main import shut_down
from app.migrating import alembic_config
from app.models import Base

ROOT = "http://testserver"


def config(url: str) -> Config:
    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    return config


async def table_names(url: str) -> set[str]:
    engine: AsyncEngine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            revision: str | None = await connection.scalar(
                text("SELECT version_num FROM alembic_version")
            )
            return revision
    finally:
        await engine.dispose()


async def all_countries(client: httpx.AsyncClient) -> list[str]:
    codes: list[str] = []
    params: dict[str, Any] = {"limit": 200, "former": "false"}
    while True:
        page = (await client.get("/countries", params=params)).json()
        codes += [c["code"] for c in page["items"]]
        if page["next_cursor"] is None:
            return codes
        params["cursor"] = page["next_cursor"]


async def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add (it raises on any drift)."""
    await asyncio.to_thread(command.check, config(database_url))


async def test_database_is_at_head(database_url: str) -> None:
    head = ScriptDirectory.from_config(config(database_url)).get_current_head()
    assert await current_revision(database_url) == head
    assert set(Base.metadata.tables) <= await table_names(database_url)


async def test_downgrade_to_base_and_upgrade_again(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    app: FastAPI,
    database_url: str,
    ccqs: dict[str, Any],
) -> None:
    """With the CCQS seed loaded, every migration is undone, one at a time, down to an
    empty database, then all are applied again: the tables and the countries are back."""
    assert (await client.get("/councils/ccqs")).status_code == 200
    alembic = config(database_url)
    revisions = list(ScriptDirectory.from_config(alembic).walk_revisions())  # head first
    # Nothing may hold a connection (and its locks) while tables are dropped.
    await shut_down(app)
    try:
        for revision in revisions:
            assert await current_revision(database_url) == revision.revision
            await asyncio.to_thread(command.downgrade, alembic, "-1")
        assert await table_names(database_url) <= {"alembic_version"}
        assert await current_revision(database_url) is None
        # Each step up and down again on its own, then all the way up.
        for revision in reversed(revisions):
            await asyncio.to_thread(command.upgrade, alembic, revision.revision)
            await asyncio.to_thread(command.downgrade, alembic, "-1")
            await asyncio.to_thread(command.upgrade, alembic, revision.revision)
    finally:
        await asyncio.to_thread(command.upgrade, alembic, "head")

    assert set(Base.metadata.tables) <= await table_names(database_url)
    await asyncio.to_thread(command.check, alembic)
    # The API key went with the tables too: read as an anonymous client.
    codes = await all_countries(anonymous)
    assert len(codes) == len(set(codes)) == 250
    assert {"FR", "RU", "XK"} <= set(codes)
    assert (await anonymous.get("/countries/XK")).json()["name"] == "Kosovo"
    assert (await anonymous.get("/countries/SUHH")).json()["former"] is True
    # The data went with the tables; the app works on the new ones.
    assert (await anonymous.get("/councils")).json()["items"] == []
    assert (await anonymous.get("/councils/ccqs")).status_code == 404
    ready = await anonymous.get(f"{ROOT}/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
