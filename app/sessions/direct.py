"""Anonymous pages of `GET /api/v1/sessions` on PostgreSQL, answered in front of the
middleware stack: the list that frontends walk and search all day.

Through the layers (FastAPI's and Starlette's middleware, RequestMiddleware, the router,
the access check, Starlette's request and response objects) a first page cost the worker
half again the CPU of the page itself, and stayed at 0.62 to 0.66 of the baseline's rate
(bench/NOTES.md, finding 24). Here the same steps are one function, made of the same
parts: the anonymous rate limit (`auth.dependencies`), the page and its cursor
(`pagination.plain_page`, `default_page_json`: the direct route's own query), the body,
its ETag, `If-None-Match` and the `Link` (app/http.py), the request id, security
headers, metrics and access log line (app/middleware.py), and the app's own exception
handlers.

Anything else goes on to the application, before anything is counted or sent: another
method or path, a key, an `Origin` (CORS is the stack's), a repeated header, a query
string `paging_and_search` does not accept as valid, a calendar or a spreadsheet, SQLite,
private reads. tests/test_sessions.py compares every header of both answers.
"""

from functools import lru_cache
from time import perf_counter
from urllib.parse import parse_qsl

from starlette.datastructures import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.dependencies import client_identity, counted
from app.http import etag_listed, page_body, page_url, problem_answer
from app.journal.service import current_actor, current_request_id, etag_of_body
from app.middleware import request_id_of, send_answer
from app.pagination import paging_and_search, plain_page
from app.sessions.router import format_accepted
from app.sessions.service import default_page_json

JSON = (b"content-type", b"application/json")
VARY = (b"vary", b"Accept")


class SessionPages:
    def __init__(self, app: ASGIApp, *, prefix: str, documented_path: str) -> None:
        self.app = app
        self.path = prefix + documented_path
        self.documented_path = documented_path  # for metrics and logs, as DirectRoute's

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path and scope["method"] == "GET":
            headers = dict(scope["headers"])
            if self._takes(scope, headers):
                await self._serve(scope, receive, send, headers)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _takes(scope: Scope, headers: dict[bytes, bytes]) -> bool:
        state = scope["app"].state
        accept = headers.get(b"accept", b"").decode("latin-1")
        return (
            state.documents is not None
            and state.settings.public_read
            and len(headers) == len(scope["headers"])  # the first of each is the last
            and b"authorization" not in headers
            and b"origin" not in headers
            and not scope.get("root_path")
            and format_accepted(accept) == "json"
            and paging_and_search(scope["query_string"])
        )

    def _url(self, scope: Scope, host: bytes | None) -> str:
        """The URL of the list, as `request.url` writes it without its query."""
        server = scope.get("server")
        address = None if server is None else (server[0], server[1])  # a list, for some servers
        return _list_url(scope.get("scheme", "http"), host, address, self.path)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]
    ) -> None:
        started = perf_counter()
        request_id = request_id_of(headers)
        current_request_id.set(request_id)
        current_actor.set(None)
        state = scope["app"].state
        settings = state.settings
        rate_limit: dict[str, str] = {}
        try:
            identity = client_identity(scope.get("client"))
            verdict = await counted(state.rate_limiter, identity, settings.anonymous_rate_limit)
            rate_limit = verdict.headers()
            # Parsed as Starlette parses `request.query_params`.
            params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            page = plain_page(self.path, params, settings.cursor_secret.encode())
            q = dict(params).get("q")
            # A search's plan is made for its words (db.DocumentPool); a page's is kept.
            pool = state.documents if q is None else state.searches
            items, next_cursor = await default_page_json(pool, page, q)
            body = page_body(items, next_cursor)
            etag = etag_of_body(body)
            if_none_match = headers.get(b"if-none-match")
            etag_header = (b"etag", etag.encode())
            if if_none_match is not None and etag_listed(if_none_match.decode("latin-1"), etag):
                status, answer, body = 304, [etag_header, VARY], b""
            else:
                length = (b"content-length", b"%d" % len(body))
                status, answer = 200, [etag_header, length, JSON, VARY]
                if next_cursor is not None:
                    url = page_url(self._url(scope, headers.get(b"host")), params, next_cursor)
                    link = f'<{url}>; rel="next"'
                    answer.insert(0, (b"link", link.encode("latin-1")))
        except Exception as error:
            status, answer, body = await problem_answer(scope, error)
        await send_answer(
            scope,
            send,
            (status, answer, body),
            request_id=request_id,
            rate_limit=rate_limit,
            route=self.documented_path,
            started=started,
        )


@lru_cache(maxsize=256)
def _list_url(scheme: str, host: bytes | None, server: tuple[str, int] | None, path: str) -> str:
    """Starlette's URL of a request, for the few hosts a deployment is reached by: it
    costs the page 6% of its CPU to make again at every request."""
    # The parts of the request's scope that the URL is made of; bounded, as hosts vary.
    headers = [] if host is None else [(b"host", host)]
    parts = {"scheme": scheme, "server": server, "path": path, "headers": headers}
    return str(URL(scope={**parts, "query_string": b""}))
