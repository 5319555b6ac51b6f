"""Migrations: the models and the migrations describe the same schema, and every migration
can be undone and redone on a database that holds data.

Alembic's env.py calls asyncio.run, so the commands run in a worker thread. These tests
leave the database at head with the countries filled, as the rest of the suite expects.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
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
# The revision before meetings outside councils and former countries (API v1.1).
BEFORE_MEETINGS = "0011"
MEETINGS = "0012"


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


async def migrate(url: str, step: Callable[[Config, str], None], revision: str) -> None:
    await asyncio.to_thread(step, config(url), revision)


async def test_sessions_of_0011_become_council_sessions_with_their_parties(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    """A council and its session written by the schema of revision 0011 (plain SQL) are,
    after the upgrade, a council_session whose countries are the members, then the
    guests: what the service derives for a session made through the API."""
    await shut_down(app)
    await migrate(database_url, command.downgrade, BEFORE_MEETINGS)
    try:
        now = datetime.now(UTC)
        council = sa.table(
            "council",
            *(sa.column(name) for name in ("id", "slug", "acronym", "name", "kind", "status")),
            sa.column("names", sa.JSON),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        member = sa.table("council_member", *map(sa.column, ("council_id", "country", "position")))
        session = sa.table(
            "council_session",
            *(sa.column(name) for name in ("id", "council_id", "ordinal", "status")),
            sa.column("start_date", sa.Date),
            sa.column("end_date", sa.Date),
            sa.column("guest_countries", sa.JSON),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        engine = create_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    sa.insert(council).values(
                        id="c-0011",
                        slug="ccqs",
                        acronym="CCQS",
                        name="Franco-Russian Cooperation Council on Security Issues",
                        names={},
                        kind="bilateral",
                        status="active",
                        created_at=now,
                        updated_at=now,
                    )
                )
                await connection.execute(
                    sa.insert(member),
                    [
                        {"council_id": "c-0011", "country": "FR", "position": 0},
                        {"council_id": "c-0011", "country": "RU", "position": 1},
                    ],
                )
                await connection.execute(
                    sa.insert(session).values(
                        id="s-0011",
                        council_id="c-0011",
                        ordinal=6,
                        status="held",
                        start_date=date(2007, 2, 21),
                        end_date=date(2007, 2, 21),
                        guest_countries=["DE"],
                        created_at=now,
                        updated_at=now,
                    )
                )
        finally:
            await engine.dispose()
    finally:
        await migrate(database_url, command.upgrade, "head")

    migrated = await client.get("/sessions/s-0011")
    assert migrated.status_code == 200, migrated.text
    session_read = migrated.json()
    assert session_read["kind"] == "council_session"
    assert session_read["countries"] == ["FR", "RU", "DE"]
    assert session_read["slug"] is None and session_read["identifiers"] == []
    assert session_read["title"] == "6th session of the CCQS"
    for params in ({"between": "FR,DE"}, {"kind": "council_session"}, {"country": "RU"}):
        found = (await client.get("/sessions", params=params)).json()["items"]
        assert [s["id"] for s in found] == ["s-0011"], params
    assert (await client.get("/sessions", params={"council": "none"})).json()["items"] == []
    # Written as the service writes it: a new member reaches the migrated session.
    changed = await client.patch("/councils/ccqs", json={"member_countries": ["FR", "SUHH"]})
    assert changed.status_code == 200, changed.text
    assert (await client.get("/sessions/s-0011")).json()["countries"] == ["FR", "SUHH", "DE"]


async def _meeting(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/sessions",
        json={
            "kind": "summit",
            "title": "Summit",
            "countries": ["FR", "DE"],
            "start_date": "2003-01-22",
        },
    )
    assert made.status_code == 201, made.text
    return f"/sessions/{made.json()['id']}"


async def _former_member(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/councils",
        json={
            "slug": "fr-ussr",
            "name": "Franco-Soviet commission",
            "kind": "bilateral",
            "member_countries": ["FR", "SUHH"],
        },
    )
    assert made.status_code == 201, made.text
    return "/councils/fr-ussr"


async def _former_guest(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/councils",
        json={"slug": "ngc", "name": "NGC", "kind": "bilateral", "member_countries": ["NO", "DE"]},
    )
    assert made.status_code == 201, made.text
    session = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "1989-01-01", "guest_countries": ["DDDE"]},
    )
    assert session.status_code == 201, session.text
    return "/councils/ngc?cascade=true"


async def _former_nationality(client: httpx.AsyncClient) -> str:
    made = await client.post("/persons", json={"name": "Andrei Gromyko", "nationality": "SUHH"})
    assert made.status_code == 201, made.text
    return f"/persons/{made.json()['id']}"


async def _former_topic_country(client: httpx.AsyncClient) -> str:
    made = await client.post(
        "/topics", json={"slug": "berlin", "name": "Berlin", "countries": ["DE", "DDDE"]}
    )
    assert made.status_code == 201, made.text
    return "/topics/berlin"


# What revision 0011 cannot hold, each made through the API (which gives the path that
# deletes it), and how the downgrade's error names it.
UNHELD: dict[str, tuple[Callable[[httpx.AsyncClient], Awaitable[str]], str]] = {
    "meeting-outside-councils": (_meeting, "meetings outside councils (1 here)"),
    "former-council-member": (_former_member, "used in: council_member.country"),
    "former-guest": (_former_guest, "used in: council_session.guest_countries"),
    "former-nationality": (_former_nationality, "used in: person.nationality"),
    "former-topic-country": (_former_topic_country, "used in: topic.countries"),
}


@pytest.mark.parametrize("unheld", list(UNHELD))
async def test_the_downgrade_refuses_what_0011_cannot_hold(
    client: httpx.AsyncClient, app: FastAPI, database_url: str, unheld: str
) -> None:
    """While a meeting outside councils or a former country's code is stored, the
    downgrade from 0012 stops with an error that says so, and changes nothing; once it
    is deleted, the downgrade goes through."""
    make, named = UNHELD[unheld]
    path = await make(client)
    before = (await client.get(path.partition("?")[0])).json()
    head = await current_revision(database_url)
    await shut_down(app)
    try:
        with pytest.raises(RuntimeError, match="Revision 0011 cannot hold") as refusal:
            await migrate(database_url, command.downgrade, BEFORE_MEETINGS)
        assert named in str(refusal.value)
        assert await current_revision(database_url) == head
        await asyncio.to_thread(command.check, config(database_url))
        assert (await client.get(path.partition("?")[0])).json() == before
        assert (await client.delete(path)).status_code == 204
        await shut_down(app)
        await migrate(database_url, command.downgrade, BEFORE_MEETINGS)
        assert await current_revision(database_url) == BEFORE_MEETINGS
    finally:
        await migrate(database_url, command.upgrade, "head")
    assert await current_revision(database_url) == head
