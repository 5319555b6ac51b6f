"""Typed errors, and the one place that renders every failure as RFC 9457 problem+json."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger("entente.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    pointer: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem. `errors` lists every invalid field of a 422."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class AppError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-error", "Validation error"


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


T = TypeVar("T")


class Refusals(dict[int, list[AppError]]):
    """Why records of a batch written at once are refused: for each refused record, by its
    place in the batch, the errors that writing it alone would raise, in the order its
    checks found them. A write of one record raises the first (`raise_first`); an import
    reports them all."""

    def refuse(self, place: int, error: AppError) -> None:
        self.setdefault(place, []).append(error)

    def raise_first(self) -> None:
        for errors in self.values():
            raise errors[0]


def written_alone(written: tuple[Mapping[int, T], Refusals]) -> T:
    """What a batch write of one record gives: its document, or the first error that
    refused it, raised."""
    created, refused = written
    refused.raise_first()
    return created[0]


HTTP_TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"pointer": p, "message": m} for p, m in errors]
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def pointer_for(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a JSON Pointer: into the body for body fields, and
    `/query/<name>`, `/path/<name>` or `/header/<name>` for parameters."""
    parts = list(loc[1:]) if loc and loc[0] == "body" else list(loc)
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join(f"/{p}" for p in escaped)


def _validation_message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown or read-only field: this resource does not accept it on write."
    if error["type"] == "missing":
        return "This field is required."
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


async def _app_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(
        exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors, headers=exc.headers
    )


async def _request_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [(pointer_for(e["loc"]), _validation_message(e)) for e in exc.errors()]
    return problem_response(
        422,
        "validation-error",
        "Validation error",
        "The request has invalid fields.",
        errors=errors,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette names only one route's)."""
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = HTTP_TITLES.get(exc.status_code, ("http-error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No route matches this path."
    if exc.status_code == 405:
        detail = "This path does not support that method."
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(exc.status_code, slug, title, detail, headers=headers)


async def _integrity_error(_: Request, exc: Exception) -> Response:
    # Services check what they can name first; a race between two writers still ends here.
    logger.info("integrity error turned into 409: %s", exc.__class__.__name__)
    return problem_response(
        409, "conflict", "Conflict", "The write conflicts with an existing record."
    )


async def _database_unavailable(_: Request, exc: Exception) -> Response:
    logger.error("database unavailable: %s", exc.__class__.__name__)
    return problem_response(
        503,
        "service-unavailable",
        "Service unavailable",
        "The database cannot be reached; try again shortly.",
        headers={"Retry-After": "5"},
    )


# SQLSTATE classes that mean "the database cannot serve now": connection exceptions (08),
# insufficient resources (53), operator intervention such as a restart (57).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
# Transaction rollback: a deadlock or a serialization failure. The write can be retried.
TRANSACTION_ROLLBACK_SQLSTATE_CLASS = "40"


def _sqlstate(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    for error in (exc, orig, getattr(orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str):
            return code
    return ""


async def _database_error(request: Request, exc: Exception) -> Response:
    """A database error SQLAlchemy did not classify: 503 when the database is starting,
    stopping or out of resources; 409 when it undid the write to break a deadlock;
    otherwise unexpected."""
    sqlstate = _sqlstate(exc)
    if sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES:
        return await _database_unavailable(request, exc)
    if sqlstate[:2] == TRANSACTION_ROLLBACK_SQLSTATE_CLASS:
        # Two writes waited for each other's locks, and PostgreSQL undid this one so that
        # the other could go on.
        logger.info("transaction rolled back by the database: %s", sqlstate)
        return problem_response(
            409,
            "conflict",
            "Conflict",
            "The write met a concurrent write to the same records and was undone; "
            "nothing changed. Send it again.",
        )
    return await _unexpected(request, exc)


def unexpected_error(exc: Exception) -> Response:
    """The answer to an error nobody foresaw: logged whole, told the client as a bare 500."""
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        500, "internal-error", "Internal server error", "An unexpected error occurred."
    )


async def _unexpected(_: Request, exc: Exception) -> Response:
    return unexpected_error(exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
