"""`Idempotency-Key` on POST: a retry with the same key and body gets the first answer and
creates nothing; the same key with another body is refused (422).

A record is inserted at the start of the request's transaction and completed with the
answer before it commits. A concurrent request with the same key waits on the unique
index (PostgreSQL) or the write lock (SQLite) until the first commits, then replays it.
"""

import hashlib
import re
from collections.abc import AsyncIterator

from fastapi import Request, Response
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.context import current_actor
from app.db import DbSession
from app.errors import AppError, Conflict, ValidationFailed
from app.http import etag_of_body
from app.idempotency.models import IdempotencyRecord

KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,200}$")
IN_PROGRESS = 0


class Replay(AppError):
    """Not an error: carries the stored answer out of the dependency to the client."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("replay")
        # Copied now: the request's transaction (and the record with it) ends before the
        # answer is written.
        self.status_code, self.body, self.location = (
            record.status_code,
            record.body,
            record.location,
        )

    def response(self) -> Response:
        # The stored body is the JSON whose hash the first answer's ETag was.
        headers = {"Idempotent-Replayed": "true", "ETag": etag_of_body(self.body)}
        if self.location:
            headers["Location"] = self.location
        return Response(
            self.body, status_code=self.status_code, media_type="application/json", headers=headers
        )


async def replay_response(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return exc.response()


def remember(request: Request, response: Response) -> Response:
    """Mark a POST's answer as the one to replay to retries with its Idempotency-Key."""
    request.state.idempotent_response = response
    return response


async def idempotency(request: Request, db: DbSession) -> AsyncIterator[None]:
    # Read from the headers rather than declared, so that only POST operations show it in
    # the OpenAPI document (app/openapi.py adds it there).
    idempotency_key = request.headers.get("idempotency-key")
    if request.method != "POST" or idempotency_key is None:
        yield
        return
    if not KEY_FORMAT.match(idempotency_key):
        raise ValidationFailed(
            "Invalid Idempotency-Key.",
            errors=[("/header/Idempotency-Key", "1 to 200 printable ASCII characters.")],
        )
    owner = current_actor.get() or "-"
    body = await request.body()
    fingerprint = hashlib.sha256(
        # The path and query, not the host: a retry may come through another address.
        request.method.encode()
        + b" "
        + request.url.path.encode()
        + b"?"
        + request.url.query.encode()
        + b"\n"
        + body
    ).hexdigest()
    stored = select(IdempotencyRecord).where(
        IdempotencyRecord.owner == owner, IdempotencyRecord.key == idempotency_key
    )
    try:
        async with db.begin_nested():
            await db.execute(
                insert(IdempotencyRecord).values(
                    owner=owner,
                    key=idempotency_key,
                    fingerprint=fingerprint,
                    status_code=IN_PROGRESS,
                    body=b"",
                )
            )
    except IntegrityError:
        record = (await db.scalars(stored)).one()
        if record.fingerprint != fingerprint:
            raise ValidationFailed(
                "This Idempotency-Key was used with another request.",
                errors=[("/header/Idempotency-Key", "Use a new key for a new request.")],
            ) from None
        if record.status_code == IN_PROGRESS:
            raise Conflict(
                "The request made with this Idempotency-Key cannot be replayed."
            ) from None
        raise Replay(record) from None
    yield
    response: Response | None = getattr(request.state, "idempotent_response", None)
    if response is not None:
        await db.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == idempotency_key)
            .values(
                status_code=response.status_code,
                body=bytes(response.body),
                location=response.headers.get("location"),
            )
        )
