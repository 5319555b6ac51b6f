"""The floor: the same JSON as Entente's `GET /api/v1/sessions/{id}` and first list page,
each from one SQL query on asyncpg, with no framework beyond routing. The documents are
Entente's own (app/sessions/documents.py): what separates the two is everything around
the query.

For the write mix, the same inserts by hand, one transaction a request: a session with
its segments and parties, a participant, an agenda item (`POST /api/v1/sessions`,
`.../participants`, `.../agenda`), each with what Entente writes beside it: the
session's search terms, the session marked changed, an audit entry and a change-feed
entry under the feed's commit-order lock. Nothing is checked, and the answer is the new
id only.

    ENTENTE_DATABASE_URL=postgresql+asyncpg://... uvicorn bench.baseline:app --port 8001

PostgreSQL builds the whole document (json_build_object) or page; Python passes the bytes
on.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.config import Settings
from app.http import page_body
from app.ids import new_id
from app.journal.service import FEED_LOCK_KEY
from app.json_sql import JsonSql
from app.pagination import PageRequest
from app.sessions.documents import DETAIL, session_summary
from app.terms.normalize import search_words
from app.terms.service import NAME, TEXT

DETAIL_SQL = str(DETAIL("postgresql").compile(dialect=asyncpg_dialect()))
# The first page of 50 session summaries in date order, joined by PostgreSQL, and the
# last one's key when a next page exists.
FIRST_PAGE = f"""
WITH shown AS (
  SELECT s.id, s.start_date, {session_summary(JsonSql("postgresql"))} AS summary
  FROM council_session s LEFT JOIN council c ON c.id = s.council_id
  ORDER BY s.start_date, s.id LIMIT 51
), page AS (SELECT * FROM shown ORDER BY start_date, id LIMIT 50)
SELECT '[' || (SELECT string_agg(summary, ',' ORDER BY start_date, id) FROM page) || ']' AS items,
       (SELECT count(*) FROM shown) > 50 AS more,
       (SELECT start_date FROM page ORDER BY start_date DESC, id DESC LIMIT 1) AS start_date,
       (SELECT id FROM page ORDER BY start_date DESC, id DESC LIMIT 1) AS id
"""
# The cursor Entente signs for the next page, with the same secret (its default) and
# scope, so that the page is the same JSON, byte for byte.
PAGE = PageRequest(
    limit=50,
    cursor=None,
    scope="/api/v1/sessions?limit=50",
    secret=Settings().cursor_secret.encode(),
)


async def detail(request: Request) -> Response:
    async with request.app.state.pool.acquire() as connection:
        body = await connection.fetchval(DETAIL_SQL, request.path_params["session_id"])
    if body is None:
        return Response(b'{"status":404}', status_code=404, media_type="application/problem+json")
    return Response(body, media_type="application/json")


async def first_page(request: Request) -> Response:
    async with request.app.state.pool.acquire() as connection:
        page = await connection.fetchrow(FIRST_PAGE)
    cursor = PAGE.encode([page["start_date"], page["id"]]) if page["more"] else None
    return Response(page_body(page["items"].encode(), cursor), media_type="application/json")


INSERT_SESSION = """
INSERT INTO council_session (id, council_id, kind, start_date, end_date, guest_countries,
                             status, created_at, updated_at)
VALUES ($1, $2, 'council_session', $3, $3, $4::json,
        CASE WHEN $3 < current_date THEN 'held' ELSE 'planned' END, now(), now())
RETURNING (SELECT coalesce(acronym, name) FROM council WHERE id = $2)
"""
# A council session's parties: its council's members, then the guests that are not.
INSERT_PARTIES = """
INSERT INTO session_country (session_id, country, position)
SELECT $1, country, row_number() OVER (ORDER BY rank, position) - 1
FROM (SELECT country, 0 AS rank, position FROM council_member WHERE council_id = $2
      UNION ALL
      SELECT guest, 1, position FROM unnest($3::varchar[]) WITH ORDINALITY AS g(guest, position)
      WHERE guest NOT IN (SELECT country FROM council_member WHERE council_id = $2)) AS parties
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
TOPIC_NAMES = "SELECT name, names FROM topic WHERE id = $1"
TOUCH_SESSION = "UPDATE council_session SET updated_at = now() WHERE id = $1"
INSERT_TERMS = """
INSERT INTO search_term (entity, record_id, term, weight)
SELECT 'session', $1, term, $3 FROM unnest($2::varchar[]) AS term
ON CONFLICT DO NOTHING
"""
JOURNAL = """
WITH audit AS (
    INSERT INTO audit_entry (id, at, actor, request_id, action, entity, entity_id, changes)
    VALUES ($1, now(), 'bench', NULL, 'create', $2, $3, $4::json)
)
INSERT INTO change (entity, record_id, action, at)
SELECT 'session', $5, $6, now() FROM (SELECT pg_advisory_xact_lock($7)) AS commit_order
"""


def created(path: str, record_id: str) -> Response:
    return Response(
        orjson.dumps({"id": record_id}),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"{path}/{record_id}"},
    )


async def journal(
    connection: asyncpg.Connection,
    entity: str,
    record_id: str,
    body: dict[str, Any],
    session_id: str,
    action: str,
) -> None:
    """The audit entry (the fields given, as created) and the session's feed entry."""
    changes = {field: {"old": None, "new": value} for field, value in body.items()}
    await connection.execute(
        JOURNAL,
        new_id(),
        entity,
        record_id,
        orjson.dumps(changes).decode(),
        session_id,
        action,
        FEED_LOCK_KEY,
    )


def words(*texts: str | None) -> list[str]:
    """The search terms of the texts, as Entente cuts them (app/search/service.py)."""
    return list(dict.fromkeys(word[:100] for text in texts for word in search_words(text or "")))


async def create_session(request: Request) -> Response:
    body = orjson.loads(await request.body())
    session_id = new_id()
    start_date = date.fromisoformat(body["start_date"])
    guests = body.get("guest_countries", [])
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        council_label = await connection.fetchval(
            INSERT_SESSION,
            session_id,
            body["council_id"],
            start_date,
            orjson.dumps(guests).decode(),
        )
        await connection.execute(INSERT_PARTIES, session_id, body["council_id"], guests)
        await connection.executemany(
            INSERT_SEGMENT,
            [
                (new_id(), session_id, position, segment["kind"])
                for position, segment in enumerate(body.get("segments", []), start=1)
            ],
        )
        title = f"Session of the {council_label} on {start_date.isoformat()}"
        await connection.execute(INSERT_TERMS, session_id, words(title), NAME)
        await journal(connection, "session", session_id, body, session_id, "created")
    return created(request.url.path, session_id)


async def create_participant(request: Request) -> Response:
    body = orjson.loads(await request.body())
    session_id, participation_id = request.path_params["session_id"], new_id()
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            INSERT_PARTICIPANT, participation_id, session_id, body["person_id"], body["delegation"]
        )
        await connection.execute(TOUCH_SESSION, session_id)
        await journal(connection, "participation", participation_id, body, session_id, "updated")
    return created(request.url.path, participation_id)


async def create_agenda_item(request: Request) -> Response:
    body = orjson.loads(await request.body())
    session_id, item_id = request.path_params["session_id"], new_id()
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        await connection.execute(TOUCH_SESSION, session_id)
        name, names = await connection.fetchrow(TOPIC_NAMES, body["topic_id"])
        await connection.execute(INSERT_AGENDA_ITEM, item_id, session_id, body["topic_id"])
        topic_names = orjson.loads(names).values()  # asyncpg gives JSON as its text
        await connection.execute(INSERT_TERMS, session_id, words(name, *topic_names), TEXT)
        await journal(connection, "agenda_item", item_id, body, session_id, "updated")
    return created(request.url.path, item_id)


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
