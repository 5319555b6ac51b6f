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
    [1.5, 2.5],
]


@pytest.mark.parametrize("path", ["/sessions", "/persons", "/councils", "/changes", "/audit"])
async def test_forged_cursors_of_the_wrong_type_are_400(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    """A cursor signed with the right secret (the public development default, say) whose
    values have the wrong types for the list is refused like any bad cursor."""
    secret = app.state.settings.cursor_secret.encode()
    name = "since" if path == "/changes" else "cursor"
    scope = "changes" if path == "/changes" else page_scope(f"/api/v1{path}", [])
    for values in FORGED:
        cursor = PageRequest(limit=50, cursor=None, scope=scope, secret=secret).encode(values)
        response = await client.get(path, params={name: cursor})
        assert response.status_code == 400, (values, response.text)


def test_the_public_cursor_secret_is_warned_of_outside_sqlite(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    for secret in ("entente-development-cursor-secret", "a-private-secret"):
        create_app(Settings(database_url=database_url, cursor_secret=secret))
        warned = "ENTENTE_CURSOR_SECRET" in capfd.readouterr().err
        assert warned == (secret.startswith("entente") and not database_url.startswith("sqlite"))


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
