"""The benchmark's seed (`python -m bench.seed`) on both databases. On PostgreSQL it drops
the big tables' keys, indexes and foreign keys for the load and makes them again from
PostgreSQL's own definitions: the schema afterwards must be the migrated one, after a
load and after a load that fails."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import create_engine
from bench.seed import generate, load

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
