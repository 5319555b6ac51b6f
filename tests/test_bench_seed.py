"""The benchmark's seed (`python -m bench.seed`) on both databases. On PostgreSQL it drops
the big tables' keys, indexes and foreign keys for the load and makes them again from
PostgreSQL's own definitions: the schema afterwards must be the migrated one, after a
load and after a load that fails. The meetings it makes keep the API's rules."""

import json
from collections import defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import create_engine
from bench.seed import LIVED_BESIDE, SUCCESSORS, generate, load

SCHEMA = {
    "postgresql": """
        SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
        ORDER BY 1""",
    "sqlite": "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master"
    " ORDER BY 1",
}


async def schema_and_counts(url: str) -> tuple[list[str], dict[str, int]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            schema = list((await connection.scalars(text(SCHEMA[engine.dialect.name]))).all())
            counts = {
                table: await connection.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("council_session", "participation", "search_term", "change")
            }
            return schema, counts
    finally:
        await engine.dispose()


def small_data() -> dict[str, list[dict[str, Any]]]:
    return generate(councils=3, sessions=40, persons=30, seed=2007)


async def test_seed_loads_its_rows_and_leaves_the_schema_as_migrated(
    client: httpx.AsyncClient, database_url: str
) -> None:
    schema, _ = await schema_and_counts(database_url)
    rows = small_data()
    await load(database_url, rows)
    after, counts = await schema_and_counts(database_url)
    assert after == schema
    assert counts == {table: len(rows[table]) for table in counts}
    # The loaded sessions are served, and found by a word of their titles.
    session = rows["council_session"][0]
    assert (await client.get(f"/sessions/{session['id']}")).status_code == 200
    word = next(t["term"] for t in rows["search_term"] if t["record_id"] == session["id"])
    found = (await client.get("/sessions", params={"q": word, "limit": 100})).json()
    assert session["id"] in {item["id"] for item in found["items"]}


async def test_a_failed_seed_leaves_nothing_behind(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """A search term twice: on PostgreSQL the rebuilt primary key refuses the rows, after
    the keys were dropped and every table loaded; on SQLite the insert does."""
    schema, counts = await schema_and_counts(database_url)
    rows = small_data()
    rows["search_term"].append(rows["search_term"][0])
    with pytest.raises(Exception, match=r"(?i)unique"):
        await load(database_url, rows)
    assert await schema_and_counts(database_url) == (schema, counts)


def test_the_same_seed_makes_the_same_rows() -> None:
    assert small_data() == small_data()
    assert generate(councils=3, sessions=40, persons=30, seed=2008) != small_data()


async def loaded_meetings(url: str) -> dict[str, Any]:
    """What the database holds of each session: its row, its parties in order, the
    delegations sitting at it; and the members of each council in order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            async def grouped(query: str) -> dict[str, list[Any]]:
                groups = defaultdict(list)
                for key, value in await connection.execute(text(query)):
                    groups[key].append(value)
                return groups

            sessions = await connection.execute(
                text(
                    "SELECT id, council_id, kind, slug, ordinal, title, start_date, host_country,"
                    " guest_countries FROM council_session"
                )
            )
            return {
                "sessions": [row._asdict() for row in sessions],
                "parties": await grouped(
                    "SELECT session_id, country FROM session_country ORDER BY session_id, position"
                ),
                "delegations": await grouped("SELECT session_id, delegation FROM participation"),
                "members": await grouped(
                    "SELECT council_id, country FROM council_member ORDER BY council_id, position"
                ),
                "identifiers": await grouped(
                    "SELECT session_id, scheme || ':' || identifier FROM session_identifier"
                    " ORDER BY session_id, position"
                ),
                "withdrawn": dict(
                    (
                        await connection.execute(
                            text("SELECT code, withdrawn_on FROM country WHERE former")
                        )
                    ).all()
                ),
            }
    finally:
        await engine.dispose()


async def test_the_mix_keeps_the_rules_of_meetings(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Council sessions have their council's members, then their guests, as parties;
    meetings outside councils a kind of their own, a title, no number, two parties or
    more with the host among them; every delegation is a party; a former country meets
    only before its withdrawal, the countries that took its place only after."""
    rows = small_data()
    await load(database_url, rows)
    held = await loaded_meetings(database_url)
    sessions = held["sessions"]
    assert len(sessions) == 40
    born_of = {
        successor: former
        for former, successors in SUCCESSORS.items()
        for successor in successors
        if successor not in LIVED_BESIDE
    }
    formers_met = set()
    for session in sessions:
        parties = held["parties"][session["id"]]
        guests = session["guest_countries"]
        guests = json.loads(guests) if isinstance(guests, str) else guests
        day = str(session["start_date"])
        if session["council_id"] is not None:
            assert session["kind"] == "council_session"
            assert session["ordinal"] >= 1
            members = held["members"][session["council_id"]]
            assert parties == members + [g for g in guests if g not in members]
        else:
            assert session["kind"] not in ("council_session", None)
            assert session["ordinal"] is None
            assert session["title"]
            assert len(parties) >= 2
            assert session["host_country"] in parties
            assert guests == []
        assert set(held["delegations"][session["id"]]) <= {*parties, session["host_country"]}
        assert "1860-01-01" <= day <= "2026-12-31"
        for country in parties:
            # ISO dates compare as text; a year alone ("1977") is its first day.
            if country in held["withdrawn"]:
                formers_met.add(country)
                assert day < held["withdrawn"][country], (country, day)
            if country in born_of:
                assert day >= held["withdrawn"][born_of[country]], (country, day)
    assert formers_met
    outside = [s for s in sessions if s["council_id"] is None]
    assert len(outside) == 20
    assert len({s["kind"] for s in outside}) >= 4

    # The API serves them as they were written: by slug, with parties and identifiers.
    meeting = next(s for s in outside if s["slug"] and held["identifiers"][s["id"]])
    served = (await client.get(f"/sessions/{meeting['slug']}")).json()
    assert served["id"] == meeting["id"]
    assert served["council"] is None
    assert served["countries"] == held["parties"][meeting["id"]]
    identifiers = [f"{i['scheme']}:{i['identifier']}" for i in served["identifiers"]]
    assert identifiers == held["identifiers"][meeting["id"]]
    a, b = served["countries"][:2]
    between = (await client.get("/sessions", params={"between": f"{a},{b}", "limit": 100})).json()
    assert meeting["id"] in {item["id"] for item in between["items"]}
