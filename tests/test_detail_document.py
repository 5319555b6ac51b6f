"""On PostgreSQL the session detail is one SQL query building the JSON document; it must
be exactly what the portable path (used on SQLite) builds, for every kind of session."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.sessions.service import get_session_detail, portable_session_detail


async def test_the_sql_document_equals_the_portable_one(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("the one-query document is PostgreSQL's")
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    council = ccqs["council"]["id"]
    unnumbered = (
        await client.post(
            "/sessions",
            json={
                "council_id": council,
                "start_date": "2008-05-02",
                "end_date": "2008-05-03",
                "title": None,
                "guest_countries": ["DE"],
                "source_ids": [source["id"]],
                "segments": [{"kind": "other"}],
            },
        )
    ).json()
    sixth = ccqs["sixth"]["id"]
    participant = (await client.get(f"/sessions/{sixth}/participants")).json()["items"][0]
    await client.patch(
        f"/sessions/{sixth}/participants/{participant['id']}", json={"source_ids": [source["id"]]}
    )
    for session_id in (sixth, ccqs["fifth"]["id"], unnumbered["id"]):
        async with app.state.sessionmaker() as db:
            assert await get_session_detail(db, session_id) == await portable_session_detail(
                db, session_id
            )
