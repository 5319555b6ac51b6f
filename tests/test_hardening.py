"""What a security review of the running service found (issue 25), a test a finding:
access, the audit trail, body and rate limits, hosts and proxies, cursors, content
negotiation and strict JSON."""

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth.models import Scope
from app.config import Settings
from app.main import create_app, shut_down
from app.pagination import PageRequest, page_scope
from tests.conftest import http_client, make_key
from tests.factories import create_council, create_session
from tests.processes import Server, server_env
from tests.test_limits import client_at, fresh_window

COUNCIL = {"slug": "ngc", "name": "N", "kind": "bilateral", "member_countries": ["NO", "DE"]}
JSON = {"content-type": "application/json"}
CHUNK = 16 * 1024

MakeApp = Callable[..., FastAPI]


@pytest.fixture
async def make_app(database_url: str, client: httpx.AsyncClient) -> AsyncIterator[MakeApp]:
    """Apps with settings of the test's own (`client` empties the tables after)."""
    made: list[FastAPI] = []

    def make(**settings: Any) -> FastAPI:
        made.append(create_app(Settings(database_url=database_url, **settings)))
        return made[-1]

    yield make
    for app in made:
        await shut_down(app)


def counted_body(pulled: list[int], chunks: int, chunk: bytes = b" " * CHUNK) -> Any:
    """A streamed body that notes each chunk the server pulls."""

    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            pulled.append(len(chunk))
            yield chunk

    return body()


# ---------------------------------------------------------------- 1. history is admin


async def test_history_needs_the_admin_scope(
    app: FastAPI, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """A record's history names keys and requests and keeps deleted records' data: it is
    the audit trail's, and needs `admin` as `/audit` does."""
    council = await create_council(client)
    assert (await client.delete(f"/councils/{council['id']}")).status_code == 204
    url = f"/councils/{council['id']}/history"
    assert (await client.get(url)).status_code == 200
    response = await anonymous.get(url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    for scope in (Scope.read, Scope.write):
        async with http_client(app, await make_key(app, f"k-{scope}", scope)) as keyed:
            assert (await keyed.get(url)).status_code == 403, scope


# ---------------------------------------------------------------- 2. bodies limited first


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
@pytest.mark.parametrize("path", ["/import", "/councils"])
async def test_the_body_limit_applies_before_anything_reads_the_body(
    make_app: MakeApp, path: str, declared: bool
) -> None:
    """A 1 MiB body to a route whose limit is 64 KiB (256 KiB for /import), with an
    Idempotency-Key (whose check reads the body): 413, the body read no further than the
    limit, and not at all when its length says it is too large."""
    app = make_app(max_body_bytes=64 * 1024, import_max_body_bytes=256 * 1024)
    limit = app.state.settings.import_max_body_bytes if path == "/import" else 64 * 1024
    pulled: list[int] = []
    headers = {**JSON, "Idempotency-Key": f"big-{path}-{declared}"}
    if declared:
        headers["content-length"] = str(64 * CHUNK)
    async with http_client(app, await make_key(app, "importer", Scope.write)) as writer:
        response = await writer.post(path, content=counted_body(pulled, 64), headers=headers)
    assert response.status_code == 413, response.text
    assert sum(pulled) <= (0 if declared else limit + CHUNK), sum(pulled)


# ---------------------------------------------------------------- 4. access before the body


async def test_a_refused_write_costs_no_parsing(app: FastAPI, anonymous: httpx.AsyncClient) -> None:
    """Without a key, or with a key that may not write, a write is refused before its body
    is read: a malformed body gets the 401 or 403, not a 400 that took parsing."""
    for client_of, status in ((anonymous, 401), (None, 403)):
        pulled: list[int] = []
        body = counted_body(pulled, 4, b"[" * CHUNK)
        if client_of is None:
            async with http_client(app, await make_key(app, "reader", Scope.read)) as reader:
                response = await reader.post("/councils", content=body, headers=JSON)
        else:
            response = await client_of.post("/councils", content=body, headers=JSON)
        assert response.status_code == status, response.text
        assert pulled == []


async def test_refused_requests_count_against_the_caller(
    make_app: MakeApp, client: httpx.AsyncClient
) -> None:
    """401 and 403 use up the caller's allowance (its address, or its key) like any
    request: refusals cannot be sent without limit."""
    app = make_app(rate_limit=3, anonymous_rate_limit=3)
    reader = await make_key(app, "reader", Scope.read)
    await fresh_window()
    async with (
        client_at(app, "198.51.100.7") as nobody,
        client_at(app, "198.51.100.8", reader) as weak,
    ):
        refused = [(await nobody.post("/councils", json=COUNCIL)).status_code for _ in range(4)]
        assert refused == [401, 401, 401, 429]
        refused = [(await weak.post("/councils", json=COUNCIL)).status_code for _ in range(4)]
        assert refused == [403, 403, 403, 429]


# ---------------------------------------------------------------- 6, 12. keys


async def test_creating_and_revoking_a_key_is_audited(client: httpx.AsyncClient) -> None:
    made = await client.post("/keys", json={"name": "editor-anna", "scope": "write"})
    assert made.status_code == 201, made.text
    key = made.json()
    assert (await client.delete("/keys/editor-anna")).status_code == 204
    audit = await client.get("/audit", params={"entity": "api_key", "entity_id": key["id"]})
    entries = audit.json()["items"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", "test-admin"),
        ("update", "test-admin"),
    ]
    assert entries[0]["changes"]["name"] == {"old": None, "new": "editor-anna"}
    assert entries[1]["changes"]["revoked_at"]["old"] is None
    assert entries[1]["changes"]["revoked_at"]["new"] is not None
    assert key["token"] not in audit.text and "secret" not in audit.text
    # Keys are not data that services sync: the change feed does not carry them.
    feed = (await client.get("/changes")).json()["items"]
    assert [e for e in feed if e["id"] == key["id"]] == []


async def test_a_revoked_key_is_gone_from_the_api(client: httpx.AsyncClient) -> None:
    assert (await client.post("/keys", json={"name": "gone", "scope": "read"})).status_code == 201
    assert (await client.get("/keys/gone")).status_code == 200
    assert (await client.delete("/keys/gone")).status_code == 204
    assert (await client.get("/keys/gone")).status_code == 404
    assert (await client.delete("/keys/gone")).status_code == 404
    assert "gone" not in [k["name"] for k in (await client.get("/keys")).json()]
    # Its name stays its own in the audit trail: not given to another key.
    again = await client.post("/keys", json={"name": "gone", "scope": "read"})
    assert again.status_code == 409, again.text


# ---------------------------------------------------------------- 7. one count a request


async def test_admin_reads_count_once_against_the_rate_limit(make_app: MakeApp) -> None:
    app = make_app(rate_limit=10)
    token = await make_key(app, "auditor", Scope.admin)
    await fresh_window()
    async with http_client(app, token) as auditor:
        council = await create_council(auditor)
        remaining = [
            int((await auditor.get(url)).headers["ratelimit-remaining"])
            for url in ("/audit", "/audit", f"/councils/{council['id']}/history", "/keys")
        ]
    assert remaining == [8, 7, 6, 5]


# ---------------------------------------------------------------- 8. CSV formulas


async def test_spreadsheet_cells_never_start_a_formula(client: httpx.AsyncClient) -> None:
    """OWASP's CSV injection: a cell that begins with `=`, `+`, `-`, `@`, a tab or a CR is
    prefixed with a single quote, which spreadsheets show as text."""
    await create_council(client)
    dangerous = {
        "title": '=HYPERLINK("https://evil.example","x")',
        "summary": "+1+cmd|' /C calc'!A0",
        "location": {"city": "-2+3", "venue": "@SUM(1+1)*cmd|' /C calc'!A0", "country": None},
    }
    await create_session(client, **dangerous)
    await create_session(client, start_date="2008-01-01", title="\tTab", summary="\rCR")
    response = await client.get("/sessions", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["title"] == "'" + dangerous["title"]
    assert rows[0]["summary"] == "'" + dangerous["summary"]
    assert rows[0]["city"] == "'-2+3"
    assert rows[0]["venue"].startswith("'@")
    assert rows[1]["title"] == "'\tTab" and rows[1]["summary"] == "'\rCR"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


# ---------------------------------------------------------------- 9. hosts


async def test_a_host_not_allowed_is_refused(make_app: MakeApp) -> None:
    listed = make_app(allowed_hosts="api.example.org")
    unset = make_app(allowed_hosts=None, public_url=None)  # development: local hosts only
    async with http_client(listed) as client:
        for url in (
            "http://api.example.org/api/v1/councils",
            "http://API.example.org:8443/healthz",
        ):
            assert (await client.get(url)).status_code == 200, url
        response = await client.get("http://evil.example/api/v1/councils")
        assert response.status_code == 400 and "evil" not in response.text
    async with http_client(unset) as client:
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
            assert (await client.get(f"http://{host}/api/v1/councils")).status_code == 200
        for host in ("evil.example", "localhost.evil.example"):
            response = await client.get(f"http://{host}/api/v1/councils")
            assert response.status_code == 400, host


async def test_absolute_urls_come_from_the_public_url(make_app: MakeApp) -> None:
    """With ENTENTE_PUBLIC_URL, any Host is answered and none is written back: links,
    calendars and linked data name the public URL."""
    app = make_app(public_url="https://entente.example.org/", allowed_hosts=None)
    public = "https://entente.example.org/api/v1"
    evil = {"host": "evil.example"}
    async with http_client(app, await make_key(app, "editor", Scope.admin)) as client:
        await create_council(client)
        made = await client.post("/councils", json=COUNCIL | {"slug": "two"}, headers=evil)
        assert made.headers["location"].startswith("/api/v1/councils/")
        session = await create_session(client)
        await create_session(client, start_date="2008-01-01")
        page = await client.get("/sessions", params={"limit": 1}, headers=evil)
        assert page.headers["link"].startswith(f"<{public}/sessions?"), page.headers["link"]
        calendar = await client.get("/sessions", params={"format": "ics"}, headers=evil)
        assert f"URL:{public}/sessions/{session['id']}" in calendar.text.replace("\r\n ", "")
        linked = await client.get(
            f"/sessions/{session['id']}", headers=evil | {"accept": "application/ld+json"}
        )
        assert linked.json()["@id"] == f"{public}/sessions/{session['id']}"
        for response in (made, page, calendar, linked):
            assert "evil" not in response.text and "evil" not in str(response.headers)


# ---------------------------------------------------------------- 10. proxies


@pytest.mark.parametrize("trusted", [False, True], ids=["default", "trusted-proxy"])
async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    database_url: str, tmp_path: Path, trusted: bool
) -> None:
    """`X-Forwarded-For` from a client is not its address: changing it does not reset the
    anonymous rate limit, unless ENTENTE_TRUSTED_PROXIES names the peer (127.0.0.1 here)."""
    env = server_env(database_url) | {"ENTENTE_ANONYMOUS_RATE_LIMIT": "3"}
    if trusted:
        env["ENTENTE_TRUSTED_PROXIES"] = "127.0.0.1"
    server = Server(env, tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    try:
        await fresh_window(margin=5)
        async with httpx.AsyncClient(base_url=server.url) as http:
            statuses = [
                (
                    await http.get(
                        "/api/v1/countries", headers={"x-forwarded-for": f"203.0.113.{i}"}
                    )
                ).status_code
                for i in range(4)
            ]
    finally:
        await asyncio.to_thread(server.stop)
    assert statuses == ([200] * 4 if trusted else [200, 200, 200, 429])


# ---------------------------------------------------------------- 11. cursors


FORGED = [
    ["7"],
    [7, 7],
    [7, 7, 7],
    ["2007-02-21", 7],
    ["2007-02-21T00:00:00+00:00", 7],
    ["x\u0000"],
    [[1], "a"],
    [True, "a"],
    [2**63, "a"],
    [2**40, "a", "b"],  # a search's rank is an INTEGER
    [1.5, 2.5],
]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/sessions", {}),
        ("/persons", {}),
        ("/persons", {"q": "serg"}),
        ("/councils", {}),
        ("/search", {"q": "serg"}),
        ("/changes", {}),
        ("/audit", {}),
    ],
)
async def test_forged_cursors_of_the_wrong_type_are_400(
    app: FastAPI,
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    path: str,
    query: dict[str, str],
) -> None:
    """A cursor signed with the right secret (the public development default, say) whose
    values have the wrong types for the list is refused like any bad cursor."""
    secret = app.state.settings.cursor_secret.encode()
    name = "since" if path == "/changes" else "cursor"
    scope = "changes" if path == "/changes" else page_scope(f"/api/v1{path}", query.items())
    for values in FORGED:
        cursor = PageRequest(limit=50, cursor=None, scope=scope, secret=secret).encode(values)
        for reader in (client, anonymous) if path != "/audit" else (client,):
            response = await reader.get(path, params=query | {name: cursor})
            assert response.status_code == 400, (values, response.text)


def test_the_public_cursor_secret_is_warned_of_outside_sqlite(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    for secret in ("entente-development-cursor-secret", "a-private-secret"):
        create_app(Settings(database_url=database_url, cursor_secret=secret))
        warned = "ENTENTE_CURSOR_SECRET" in capfd.readouterr().err
        assert warned == (secret.startswith("entente") and not database_url.startswith("sqlite"))


# ---------------------------------------------------------------- 13. HEAD


async def test_head_answers_as_get_without_a_body(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await create_council(client)
    session = await create_session(client)
    for url in (
        "/councils",
        "/councils/ngc",
        "/sessions",
        f"/sessions/{session['id']}",
        "/sessions?format=ics",
        "/countries/FR",
        "http://testserver/healthz",
    ):
        get, head = await anonymous.get(url), await anonymous.head(url)
        assert head.status_code == get.status_code == 200, (url, head.status_code)
        assert head.content == b""
        for header in ("content-type", "etag", "content-length", "vary"):
            assert head.headers.get(header) == get.headers.get(header), (url, header)


# ---------------------------------------------------------------- 14. Accept


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/calendar;q=0, application/json", "application/json"),
        ("TEXT/CSV", "text/csv"),
        ("Text/Calendar", "text/calendar"),
        ("text/csv;q=0.5, text/calendar;q=0.9", "text/calendar"),
        ("application/json;q=0.1, text/csv", "text/csv"),
        ("text/calendar, */*;q=0.8", "text/calendar"),
        ("*/*", "application/json"),
        ("text/html", "application/json"),
        ("text/csv;q=0", "application/json"),
    ],
)
async def test_lists_negotiate_with_q_values(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, accept: str, media_type: str
) -> None:
    await create_council(client)
    await create_session(client)
    for reader in (anonymous, client):
        response = await reader.get("/sessions", headers={"accept": accept})
        assert response.headers["content-type"].startswith(media_type), accept


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/ld+json;q=0, application/json", "application/json"),
        ("APPLICATION/LD+JSON", "application/ld+json"),
        ("application/json;q=0.5, application/ld+json", "application/ld+json"),
        ("application/*", "application/json"),
    ],
)
async def test_a_session_negotiates_linked_data_with_q_values(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, accept: str, media_type: str
) -> None:
    await create_council(client)
    session = await create_session(client)
    for reader in (anonymous, client):
        response = await reader.get(f"/sessions/{session['id']}", headers={"accept": accept})
        assert response.headers["content-type"].startswith(media_type), accept


# ---------------------------------------------------------------- 15. one Authorization


async def test_two_authorization_headers_are_400(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """Proxies and frameworks disagree on which of two Authorization headers wins."""
    token = await make_key(app, "writer", Scope.write)
    for pair in ((token, "nope"), ("nope", token), (token, token)):
        headers = [("authorization", f"Bearer {value}") for value in pair]
        assert (await anonymous.get("/councils", headers=headers)).status_code == 400
        response = await anonymous.post("/councils", json=COUNCIL, headers=headers)
        assert response.status_code == 400, response.text
    assert (await anonymous.get("/councils")).json()["items"] == []


# ---------------------------------------------------------------- 16. UTF-8 only


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
@pytest.mark.parametrize("path", ["/councils", "/import"])
async def test_json_bodies_are_utf8_only(
    client: httpx.AsyncClient, encoding: str, path: str
) -> None:
    """RFC 8259, 8.1: JSON exchanged between systems is UTF-8, without a byte order mark."""
    document: dict[str, Any] = COUNCIL
    if path == "/import":
        document = {"format": "entente-dataset", "version": 1, "councils": [COUNCIL]}
    body = json.dumps(document).encode(encoding)
    response = await client.post(path, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert (await client.get("/councils")).json()["items"] == []


# ---------------------------------------------------------------- 3. deep topic trees


async def test_a_deep_topic_chain_imports_without_stalling_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """2,000 topics, each the parent of the next, listed deepest first: imported in
    linear time, while other requests are answered at once."""
    depth = 2000
    topics = [
        {"slug": f"t{i}", "name": f"T{i}", "parent": f"t{i - 1}" if i else None}
        for i in reversed(range(depth))
    ]
    document = {"format": "entente-dataset", "version": 1, "topics": topics}
    started = time.perf_counter()
    importing = asyncio.create_task(client.post("/import", json=document))
    slowest = 0.0
    while not importing.done():
        asked = time.perf_counter()
        assert (await client.get("http://testserver/healthz")).status_code == 200
        slowest = max(slowest, time.perf_counter() - asked)
        await asyncio.sleep(0.05)
    response = await importing
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert slowest < 1.0, f"/healthz waited {slowest:.2f} s during the import"
    assert elapsed < 120, f"the import took {elapsed:.0f} s"
    deepest = (await client.get(f"/topics/t{depth - 1}")).json()
    assert deepest["parent_id"] == (await client.get(f"/topics/t{depth - 2}")).json()["id"]
    # The tables are emptied after the test; SQLite would cascade 2,000 deep.
    async with app.state.engine.begin() as connection:
        await connection.execute(text("UPDATE topic SET parent_id = NULL"))
