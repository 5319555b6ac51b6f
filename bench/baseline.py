"""The floor: the same JSON as Entente's `GET /api/v1/sessions/{id}` and first list page,
each from one hand-written SQL query on asyncpg, with no framework beyond routing. The
detail query is the one Entente itself runs on PostgreSQL (app/sessions/detail_sql.py):
what separates the two is everything around it.

    ENTENTE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline:app --port 8001

PostgreSQL builds the whole document (json_build_object); Python passes the bytes on.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sessions.detail_sql import DETAIL_SQL, SUMMARY_FIELDS

FIRST_PAGE = f"""
SELECT coalesce(json_agg(json_build_object({SUMMARY_FIELDS}) ORDER BY s.start_date, s.id), '[]')::text
FROM (SELECT * FROM council_session ORDER BY start_date, id LIMIT $1) s
JOIN council c ON c.id = s.council_id
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


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = os.environ["ENTENTE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    app.state.pool = await asyncpg.create_pool(url, min_size=2, max_size=10)
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/sessions/{session_id}", detail),
        Route("/api/v1/sessions", first_page),
    ],
    lifespan=lifespan,
)
