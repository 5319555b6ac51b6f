"""On PostgreSQL the session detail is one SQL query building the JSON document, and list
pages have PostgreSQL write each summary; both must be exactly what the portable path
(used on SQLite) builds, for every kind of session."""

from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.pagination import PageRequest
from app.sessions.service import (
    SessionFilter,
    get_session_detail,
    list_sessions,
    list_sessions_json,
    portable_session_detail,
)


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
    # Three sessions, two a page: the first page has a next one, whatever the sort.
    for sort in ("start_date", "-ordinal"):
        page = PageRequest(limit=2, cursor=None, scope="test", secret=b"test")
        async with app.state.sessionmaker() as db:
            items_json, cursor_of_json = await list_sessions_json(
                db, page=page, sort=sort, wanted=SessionFilter()
            )
            items, cursor = await list_sessions(db, page=page, sort=sort, wanted=SessionFilter())
        assert orjson.loads(items_json) == items and len(items) == 2
        assert cursor_of_json == cursor is not None
