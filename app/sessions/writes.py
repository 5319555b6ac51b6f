"""The writes that services make all day, answered in front of the middleware stack on
PostgreSQL: a session (`POST /api/v1/sessions`), a participant and an agenda item
(`POST /api/v1/sessions/{session_id}/participants`, `.../agenda`).

Through the layers and the ORM a write cost the worker 5.5 ms of CPU, and Entente wrote
a sixth as fast as the same inserts by hand (bench/NOTES.md, finding 25). Here the same
steps are one function, made of the same parts: the key (`auth.service`), the body
parsed and validated as the route does (`http.parse_json`, the route's schema), the
rows written on asyncpg itself by each domain's `create_*_directly`, in three
statements, the journal (`journal.journal_directly`), the rate limit, the answer with
its ETag and Location, the request id, security headers, metrics and access log line.

Only the way through is here. The lane leaves a request to the application, with its
body as received and nothing written, whenever a rule refuses it or it asks for more
than the plain write: a rule refused (an unknown council, session, person or topic, a
taken ordinal or seat, a delegation not allowed, ...), a body that does not validate,
sources, an office, segment ids or a position given, a missing, unknown or read-only
key, an `Idempotency-Key` (the stack keeps the answer to replay), an `Origin` (CORS is
the stack's), a repeated header, a query string, a body that is not JSON or has no
length, SQLite, and any error before the commit (the database down, a concurrent
writer's unique key): the application then answers as it always does, without counting
the request against the key's rate limit a second time (`auth.dependencies.COUNTED`).
tests/test_write_lane.py compares both paths' answers and the rows they write.
"""

import re
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, NamedTuple

import asyncpg
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.dependencies import COUNTED, counted
from app.auth.models import SCOPE_RANK
from app.auth.models import Scope as KeyScope
from app.auth.service import caller_for_token
from app.db import Document, driver_of
from app.errors import AppError
from app.http import is_json, parse_json, problem_answer
from app.journal.service import (
    creation,
    current_actor,
    current_request_id,
    etag_of_body,
    journal_directly,
)
from app.middleware import Answer, request_id_of, send_answer
from app.people.schemas import ParticipationCreate
from app.people.service import create_participation_directly
from app.sessions.schemas import SessionCreate
from app.sessions.service import create_session_directly
from app.topics.schemas import AgendaItemCreate
from app.topics.service import create_agenda_item_directly

Write = Callable[[asyncpg.Connection, str, Any], Awaitable[Document | None]]


async def _new_session(connection: asyncpg.Connection, _: str, data: Any) -> Document | None:
    return await create_session_directly(connection, data)


class LaneWrite(NamedTuple):
    """What a path creates: the schema of its body, the function that writes it, the
    journal's name for the record and the route's template (for metrics and logs)."""

    schema: type[BaseModel]
    write: Write
    entity: str
    route: str


WRITES = {
    None: LaneWrite(SessionCreate, _new_session, "session", "/sessions"),
    "participants": LaneWrite(
        ParticipationCreate,
        create_participation_directly,
        "participation",
        "/sessions/{session_id}/participants",
    ),
    "agenda": LaneWrite(
        AgendaItemCreate,
        create_agenda_item_directly,
        "agenda_item",
        "/sessions/{session_id}/agenda",
    ),
}


class NotForTheLane(Exception):
    """The request goes on to the application, which answers it as it always does."""


class SessionWrites:
    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.paths = re.compile(re.escape(prefix) + r"/sessions(?:/([^/]+)/(participants|agenda))?")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = self.paths.fullmatch(scope["path"])
            if match is not None:
                headers = dict(scope["headers"])
                if self._takes(scope, headers):
                    await self._serve(scope, receive, send, headers, WRITES[match[2]], match[1])
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def _takes(scope: Scope, headers: dict[bytes, bytes]) -> bool:
        state = scope["app"].state
        length = headers.get(b"content-length", b"")
        return (
            state.documents is not None
            and len(headers) == len(scope["headers"])  # the first of each is the last
            and b"authorization" in headers
            and b"origin" not in headers
            and b"idempotency-key" not in headers
            and not scope.get("root_path")
            and not scope["query_string"]
            and is_json(headers.get(b"content-type", b"application/json").decode("latin-1"))
            and length.isdigit()
            and 0 < int(length) <= state.settings.max_body_bytes
        )

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        lane_write: LaneWrite,
        session_id: str,
    ) -> None:
        started = perf_counter()
        request_id = request_id_of(headers)
        current_request_id.set(request_id)
        received: list[Message] = []
        try:
            body = await _read_body(receive, received)
            answer, rate_limit = await _answer(scope, headers, body, lane_write, session_id)
        except NotForTheLane:
            await self.app(scope, _replaying(received, receive), send)
            return
        await send_answer(
            scope,
            send,
            answer,
            request_id=request_id,
            rate_limit=rate_limit,
            route=lane_write.route,
            started=started,
            authenticated=True,
        )


async def _answer(
    scope: Scope,
    headers: dict[bytes, bytes],
    body: bytes,
    lane_write: LaneWrite,
    session_id: str,
) -> tuple[Answer, dict[str, str]]:
    """The answer to the write, and the key's rate-limit headers."""
    state = scope["app"].state
    try:
        data = lane_write.schema.model_validate(parse_json(body))
    except (AppError, ValidationError):
        raise NotForTheLane from None
    scheme, token = get_authorization_scheme_param(headers[b"authorization"].decode("latin-1"))
    if scheme.lower() != "bearer" or not token:
        raise NotForTheLane
    try:
        key = await caller_for_token(state.documents, state.read_engine, token)
    except Exception:  # the database down, say
        raise NotForTheLane from None
    if key is None or SCOPE_RANK[key.scope] < SCOPE_RANK[KeyScope.write]:
        raise NotForTheLane
    current_actor.set(key.name)
    rate_limit: dict[str, str] = {}
    try:
        verdict = await counted(state.rate_limiter, f"key:{key.id}", state.settings.rate_limit)
        rate_limit = verdict.headers()
        # Left to the application, the request is not counted again there.
        scope.setdefault("state", {})[COUNTED] = verdict
        document = await _written(state.engine, lane_write, session_id, data)
    except Exception as error:  # a 429 (which has its own headers), or a failed commit
        return await problem_answer(scope, error), rate_limit
    if document is None:
        raise NotForTheLane
    answer = document.json
    location = f"{scope['path'].rstrip('/')}/{document['id']}"
    answer_headers = [
        (b"content-length", b"%d" % len(answer)),
        (b"content-type", b"application/json"),
        (b"etag", etag_of_body(answer).encode()),
        (b"location", location.encode()),
    ]
    return (201, answer_headers, answer), rate_limit


async def _written(
    engine: AsyncEngine, lane_write: LaneWrite, session_id: str, data: Any
) -> Document | None:
    """The record written, with its journal, and committed; None when nothing was: a rule
    refused it, a concurrent writer took its unique key, or the database failed before
    the commit. Raises what made the commit fail: then no one knows what was written."""
    committing = False
    try:
        async with driver_of(engine) as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                document = await lane_write.write(connection, session_id, data)
                if document is not None:
                    note = creation(lane_write.entity, document)
                    await journal_directly(connection, [note])
            except asyncpg.PostgresError:
                document = None
            if document is None:
                await transaction.rollback()
                return None
            committing = True
            await transaction.commit()
    except Exception:
        if committing:
            raise
        return None  # the connection lost, say: it was discarded with what it held
    return document


async def _read_body(receive: Receive, received: list[Message]) -> bytes:
    """The request's body, keeping each message in `received` for the application should
    the request go on to it."""
    chunks = []
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":  # the client left
            raise NotForTheLane
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """`receive` for the application: the messages the lane read, then the client's."""
    pending = list(received)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
