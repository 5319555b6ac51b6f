"""The floor: the same JSON as Entente's `GET /api/v1/sessions/{id}` and first list page,
each from one hand-written SQL query on asyncpg, with no framework beyond routing. The
detail query is the one Entente itself runs on PostgreSQL (app/sessions/detail_sql.py):
what separates the two is everything around it.

For the write mix, the same records inserted by hand, one transaction a request: a
session with its segments, a participant, an agenda item (`POST /api/v1/sessions`,
`.../participants`, `.../agenda`). Nothing is checked, and no audit entry, change-feed
entry or search term is written: the floor of what a write costs.

    ENTENTE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline:app --port 8001

PostgreSQL builds the whole document (json_build_object), or reads the summaries it keeps
written; Python passes the bytes on.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.ids import new_id
from app.sessions.detail_sql import DETAIL_SQL

# The summaries as PostgreSQL keeps them written beside the sessions (migration 0010), as
# Entente reads them: the page's ratio measures what is around the query, not the schema.
FIRST_PAGE = """
SELECT '[' || coalesce(string_agg(summary_document, ',' ORDER BY start_date, id), '') || ']'
FROM (SELECT summary_document, start_date, id FROM council_session
      ORDER BY start_date, id LIMIT $1) s
"""


async def detail(request: Request) -> Response:
    async with request.app.state.pool.acquire() as connection:
        body = await connection.fetchval(DETAIL_SQL, request.path_params["session_id"])
    if body is None:
        return Response(b'{"status":404}', status_code=404, media_type="application/problem+json")
    return Response(body, media_type="application/json")


async def first_page(request: Request) -> Response:
    async with request.app.state.pool.acquire() as connection:
        items = await connection.fetchval(FIRST_PAGE, 50)
    # The baseline leaves the cursor out (Entente signs one): that only lowers the floor.
    return Response('{"items":' + items + ',"next_cursor":null}', media_type="application/json")


INSERT_SESSION = """
INSERT INTO council_session (id, council_id, start_date, end_date, guest_countries, status,
                             created_at, updated_at)
VALUES ($1, $2, $3, $3, $4::json, CASE WHEN $3 < current_date THEN 'held' ELSE 'planned' END,
        now(), now())
"""
INSERT_SEGMENT = "INSERT INTO segment (id, session_id, position, kind) VALUES ($1, $2, $3, $4)"
INSERT_PARTICIPANT = """
INSERT INTO participation (id, session_id, person_id, delegation, role, office_given,
                           created_at, updated_at)
VALUES ($1, $2, $3, $4, 'delegate', false, now(), now())
"""
INSERT_AGENDA_ITEM = """
INSERT INTO agenda_item (id, session_id, topic_id, position, created_at, updated_at)
SELECT $1, $2::varchar, $3, coalesce(max(position), 0) + 1, now(), now()
FROM agenda_item WHERE session_id = $2::varchar
"""


def created(path: str, record_id: str) -> Response:
    return Response(
        orjson.dumps({"id": record_id}),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"{path}/{record_id}"},
    )


async def create_session(request: Request) -> Response:
    body = orjson.loads(await request.body())
    session_id = new_id()
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            INSERT_SESSION,
            session_id,
            body["council_id"],
            date.fromisoformat(body["start_date"]),
            orjson.dumps(body.get("guest_countries", [])).decode(),
        )
        await connection.executemany(
            INSERT_SEGMENT,
            [
                (new_id(), session_id, position, segment["kind"])
                for position, segment in enumerate(body.get("segments", []), start=1)
            ],
        )
    return created(request.url.path, session_id)


async def insert_one(request: Request, statement: str, *values: str) -> Response:
    """Insert one record of the session in the path, its id first: 201 with its Location."""
    record_id = new_id()
    async with request.app.state.pool.acquire() as connection:
        await connection.execute(statement, record_id, request.path_params["session_id"], *values)
    return created(request.url.path, record_id)


async def create_participant(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return await insert_one(request, INSERT_PARTICIPANT, body["person_id"], body["delegation"])


async def create_agenda_item(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return await insert_one(request, INSERT_AGENDA_ITEM, body["topic_id"])


async def keep_as_is(_: asyncpg.Connection) -> None:
    """Each request runs its statements to the end: nothing to reset."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ["ENTENTE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    # No reset query when a connection is returned, as Entente's read pool has none: the
    # floor pays for the request's own statements only.
    app.state.pool = await asyncpg.create_pool(url, min_size=2, max_size=10, reset=keep_as_is)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/sessions/{session_id}", detail),
        Route("/api/v1/sessions", first_page),
        Route("/api/v1/sessions", create_session, methods=["POST"]),
        Route("/api/v1/sessions/{session_id}/participants", create_participant, methods=["POST"]),
        Route("/api/v1/sessions/{session_id}/agenda", create_agenda_item, methods=["POST"]),
    ],
    lifespan=lifespan,
)
