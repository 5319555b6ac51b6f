"""JSON in and out: strict request bodies, and responses serialized once with orjson."""

import json
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from blake3 import blake3
from fastapi import Header, Query, Request, Response
from fastapi.routing import APIRoute

from app.db import json_bytes, write_intent
from app.errors import (
    BadRequest,
    NotFound,
    Problem,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.pagination import MAX_SEARCH

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

SearchParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_SEARCH,
        description="Words to look for, insensitive to case, accents, script and the usual "
        "transliterations (`Sergei Lavrov`, `Serguei`, `Лавров`). Every word must match, "
        "as the beginning of a word; best matches first.",
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The record's ETag as last read: the write is refused with 412 if the "
        "record changed since. Without it, the write proceeds.",
    ),
]
CascadeParam = Annotated[
    bool,
    Query(description="Also delete what depends on the record, instead of answering 409."),
]


def json_response(
    content: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def resource_response(
    request: Request,
    content: Any,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """One record, with its ETag; `304 Not Modified` when `If-None-Match` already has it."""
    return json_body_response(
        request, json_bytes(content), status_code=status_code, headers=headers
    )


def etag_of(content: Any) -> str:
    """The strong ETag of a representation: a hash of its JSON as served."""
    return etag_of_body(json_bytes(content))


def etag_of_body(body: bytes) -> str:
    """The strong ETag of a JSON body as sent (the same as etag_of its content): 128 bits
    of BLAKE3, as hard to collide on purpose as SHA-256 and cheaper, which `If-Match`
    relies on."""
    return '"' + blake3(body).hexdigest(16) + '"'


def json_body_response(
    request: Request,
    body: bytes,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON body already serialized, with its ETag."""
    etag = etag_of_body(body)
    headers = {**(headers or {}), "ETag": etag}
    if request.method == "GET" and etag_listed(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def etag_listed(if_none_match: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` lists `etag` (weakly compared, as RFC 9110 asks) or is `*`."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def page_response(request: Request, items: list[Any] | bytes, next_cursor: str | None) -> Response:
    """A list page: `{"items", "next_cursor"}`, and a `Link: rel="next"` header when there
    is a next page. `items` may come as the JSON array already (list_sessions_json)."""
    headers = {}
    if next_cursor is not None:
        headers["Link"] = f'<{next_page_url(request, next_cursor)}>; rel="next"'
    items_json = items if isinstance(items, bytes) else orjson.dumps(items)
    return json_body_response(request, page_body(items_json, next_cursor), headers=headers)


def next_page_url(request: Request, next_cursor: str) -> str:
    """The request's URL at the public base (`public_base`), with `cursor` set to the
    next page's, last."""
    # The path's own "?" is escaped as %3F in the URL: the first "?" starts the query.
    without_query = str(request.url).partition("?")[0]
    path = without_query.removeprefix(str(request.base_url).rstrip("/"))
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor"]
    return public_base(request) + path + "?" + urlencode([*kept, ("cursor", next_cursor)])


def public_base(request: Request) -> str:
    """Where clients reach the service, for the absolute URLs it writes: the configured
    `ENTENTE_PUBLIC_URL`, else the request's scheme and `Host`, which RequestMiddleware
    let in only when it is one of `ENTENTE_ALLOWED_HOSTS`."""
    configured: str | None = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def preferred(accept: str | None, offers: Sequence[str]) -> str:
    """The media type among `offers` that an `Accept` header prefers (RFC 9110, 12.5.1):
    the highest q-value; at equal q, the range naming the type itself before `type/*`
    before `*/*`, then the range the client listed first, then the first offer. Types
    compare case-insensitively. The first offer when the header is absent or accepts
    none of them (q=0 refuses; RFC 9110 lets a server then disregard the header)."""
    ranges: list[tuple[str, float]] = []
    for part in (accept or "").split(","):
        media_range, *parameters = part.split(";")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0  # not a q-value: not an acceptance either
        if media_range.strip():
            ranges.append((media_range.strip().lower(), quality))
    best, best_rank = offers[0], (0.0, 0, 0)
    for offer in offers:
        kind = offer.partition("/")[0]
        specific = {offer: 3, f"{kind}/*": 2, "*/*": 1}
        matches = [
            (specific[media_range], -position, quality)
            for position, (media_range, quality) in enumerate(ranges)
            if media_range in specific
        ]
        if not matches:
            continue
        specificity, earliest, quality = max(matches)
        if quality > 0 and (quality, specificity, earliest) > best_rank:
            best, best_rank = offer, (quality, specificity, earliest)
    return best


def page_body(items: bytes, next_cursor: str | None) -> bytes:
    """A list page's JSON from its items' JSON array, written once, as they came."""
    return b'{"items":' + items + b',"next_cursor":' + orjson.dumps(next_cursor) + b"}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(body: bytes) -> Any:
    """Parse JSON the strict way: UTF-8 only (RFC 8259, 8.1: not UTF-16 or UTF-32, which
    `json.loads` would guess), no NaN or Infinity, no duplicate keys, no absurd nesting."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8: JSON between systems is UTF-8.") from None
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            object_pairs_hook=_reject_duplicate_keys,
        )
    except RecursionError:
        raise BadRequest("The JSON document is nested too deeply.") from None
    except ValueError as error:
        raise BadRequest(f"The body is not valid JSON: {error}.") from None


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class StrictJsonRoute(APIRoute):
    """The route class of every API route. It checks access, then reads and parses the
    body before FastAPI does, so that refused callers cost no parsing, and non-JSON media
    types and malformed JSON get their own problem responses (415, 400) rather than a
    generic validation error; and it refuses NUL characters in parameters, which
    PostgreSQL cannot store or compare."""

    # The access check of the routes (app/idempotency/routes.py, app/auth/router.py), made
    # here first, before the body is read: a refused caller costs no parsing. Their access
    # dependency then finds the key looked up and the request counted.
    access_check: Callable[[Request], Awaitable[None]] | None = None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None
        access_check = self.access_check

        async def strict_json_handler(request: Request) -> Response:
            # PostgreSQL refuses NUL in text: refuse it first, as the contract says.
            if any("\x00" in value for value in request.path_params.values()):
                raise NotFound("No record has that id.")
            nul = [k for k, v in request.query_params.multi_items() if "\x00" in v]
            if nul:
                raise ValidationFailed(
                    "A parameter holds a NUL character.",
                    errors=[(f"/query/{name}", "NUL characters are not allowed.") for name in nul],
                )
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                write_intent.set(True)
            if access_check is not None:
                await access_check(request)
            if takes_body and request.method in BODY_METHODS:
                # Limited by RequestMiddleware, which refuses it with 413 past the limit.
                body = await request.body()
                if body:
                    if not is_json(request.headers.get("content-type", "application/json")):
                        raise UnsupportedMediaType("Send the body as application/json.")
                    # Starlette caches both; FastAPI then reads the parsed document.
                    request._body = body
                    request._json = parse_json(body)
            return await handler(request)

        return strict_json_handler


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the problems particular to an operation (404, 409); those
    every operation may give are added to all of them by app/openapi.py."""
    descriptions = {
        404: "No record has that id.",
        409: "A unique key is taken, or the record is in use; or a concurrent write to the same "
        "records undid this one (nothing changed: send it again).",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions[status],
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


READ_PROBLEMS = problems(404)
WRITE_PROBLEMS = problems(404, 409)
