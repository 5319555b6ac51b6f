"""What every response gets, in one ASGI middleware: a request id, security headers,
rate-limit headers, a JSON log line, and Prometheus metrics by route template."""

import logging
import re
import time
from functools import lru_cache
from typing import Any

import orjson
from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.context import current_request_id
from app.errors import PayloadTooLarge, problem_response, unexpected_error
from app.ids import new_id

logger = logging.getLogger("entente.access")

REQUESTS = Counter(
    "entente_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "entente_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Swagger UI and ReDoc are served with their assets from here (app/docs.py): they need no
# other host and no inline script, only inline styles and ReDoc's search worker (a blob).
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")
# Encoded once: every response carries them.
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
API_HEADERS = [*SECURITY_HEADERS, (b"content-security-policy", API_CSP.encode())]
DOCS_HEADERS = [*SECURITY_HEADERS, (b"content-security-policy", DOCS_CSP.encode())]
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


# Each child of a metric, looked up once: `labels` takes a lock and builds its key at
# every call. Methods (those HTTP knows), route templates and statuses are few.
@lru_cache(maxsize=4096)
def _requests_counted(method: str, route: str, status: int) -> Counter:
    return REQUESTS.labels(method, route, str(status))


@lru_cache(maxsize=1024)
def _latency_observed(method: str, route: str) -> Histogram:
    return LATENCY.labels(method, route)


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line, with the request id when there is one."""

    # Lines come by the thousand a second: each second's text (formatTime's) is made once.
    # One tuple, replaced whole, for threads that log at once.
    _last_second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached_second, second_text = self._last_second
        if second != cached_second:
            second_text = time.strftime("%Y-%m-%dT%H:%M:%S%z", self.converter(second))
            self._last_second = (second, second_text)
        line: dict[str, Any] = {
            "time": second_text,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        line |= getattr(record, "fields", {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_logging() -> None:
    # The lines name no thread, process or source line: not looking them up at every
    # record is what the logging HOWTO's "Optimization" advises.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger("entente")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def request_id_of(headers: dict[bytes, bytes]) -> str:
    """The client's `X-Request-ID` when it is a sane one, else a new id."""
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    return given if REQUEST_ID.match(given) else new_id()


def with_common_headers(
    headers: list[tuple[bytes, bytes]],
    request_id: str,
    rate_limit: dict[str, str],
    *,
    docs: bool = False,
    authenticated: bool = False,
) -> list[tuple[bytes, bytes]]:
    """A response's headers and those every response gets: its request id, the security
    headers, `Cache-Control: no-store` when a key was presented, the rate limit's."""
    extra = [(b"x-request-id", request_id.encode()), *(DOCS_HEADERS if docs else API_HEADERS)]
    if authenticated:
        extra.append((b"cache-control", b"no-store"))
    present = {name.lower() for name, _ in headers}
    for name, value in rate_limit.items():
        if name.lower().encode() not in present:  # a 429 carries its own
            extra.append((name.lower().encode(), value.encode()))
    return [*headers, *extra]


def record_request(method: str, path: str, route: str, status: int, started: float) -> None:
    """The request's metrics and its access log line."""
    elapsed = time.perf_counter() - started
    _requests_counted(method, route, status).inc()
    _latency_observed(method, route).observe(elapsed)
    logger.info(
        "request",
        extra={
            "fields": {
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            }
        },
    )


class RequestMiddleware:
    """Every request passes here first: its `Host` is checked, its body is limited before
    anything reads it, `HEAD` is answered as `GET` without the body, and every answer gets
    the common headers, its metrics and its log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str] | None = None,
        max_body_bytes: int | None = None,
        larger_bodies: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = larger_bodies or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"]
        headers = dict(scope["headers"])
        request_id = request_id_of(headers)
        current_request_id.set(request_id)
        authenticated = b"authorization" in headers
        docs = scope["path"].startswith(DOCS_PATHS)
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_common_headers(
                    message.get("headers", []),
                    request_id,
                    scope.get("state", {}).get("rate_limit_headers", {}),
                    docs=docs,
                    authenticated=authenticated,
                )
            elif message["type"] == "http.response.body" and method == "HEAD":
                message = {**message, "body": b""}
            await send(message)

        try:
            refusal = self.refusal(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
                return
            if method == "HEAD":
                # Answered as the GET it mirrors (RFC 9110, 9.3.2), its body dropped above.
                scope = {**scope, "method": "GET"}
            await self.app(scope, self.limited(scope, receive), send_with_headers)
        except Exception as error:
            # Answered here rather than by Starlette's outermost handler, so that a 500
            # carries the request id and security headers too; logged, not raised again.
            if status:  # the answer had begun: nothing more can be said
                raise
            await unexpected_error(error)(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            record_request(method, scope["path"], route, status or 500, started)

    def body_limit(self, scope: Scope) -> int | None:
        return self.larger_bodies.get(scope["path"], self.max_body_bytes)

    def refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> Response | None:
        """The answer to a request refused on its headers alone: a `Host` the API does not
        answer to (it would be written into links), or a declared body over the limit."""
        if self.allowed_hosts is not None:
            host = headers.get(b"host", b"").decode("latin-1").lower()
            if host_name(host) not in self.allowed_hosts:
                return problem_response(
                    400, "bad-host", "Bad request", "This server does not answer to that Host."
                )
        limit = self.body_limit(scope)
        declared = headers.get(b"content-length", b"")
        if limit is not None and declared.isdigit() and int(declared) > limit:
            return too_large(limit)
        return None

    def limited(self, scope: Scope, receive: Receive) -> Receive:
        """`receive`, refusing with 413 as soon as the body passes its limit, chunked or
        not: no body is read whole before it is known to fit."""
        limit = self.body_limit(scope)
        if limit is None:
            return receive
        size = 0

        async def receive_limited() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
            return message

        return receive_limited


def host_name(host: str) -> str:
    """A `Host` header's name, without its port: `[::1]:8000` gives `[::1]`."""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


def too_large(limit: int) -> Response:
    return problem_response(
        413, "payload-too-large", "Payload too large", f"The body is larger than {limit} bytes."
    )


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem+json like every
    other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = bytes(response.body).decode() or "CORS preflight refused."
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return problem_response(
            400, "cors-refused", "CORS preflight refused", detail, headers=headers
        )
