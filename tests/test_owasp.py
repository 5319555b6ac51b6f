"""The OWASP API Security Top 10 (2023), one class per risk that applies to Entente, each
test saying what it tries. Everything goes through real HTTP; the log tests also run a
real `entente serve` process.

Not applicable: API6 (unrestricted access to sensitive business flows: the service has no
flow such as buying or booking whose automation harms a business; its bulk flows, import
and export, are bounded by the body and rate limits tested under API4) and API10 (unsafe
consumption of APIs: the service calls no third-party API). API7 applies only in that
records carry URLs (sources), which the service must never fetch.
"""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.auth.models import ApiKey, Scope
from app.config import Settings
from app.main import create_app, shut_down
from app.middleware import JsonLogFormatter
from tests.conftest import SEED, http_client, make_key
from tests.leaks import leaks_in
from tests.test_auth import (
    MALFORMED_AUTHORIZATIONS,
    ROOT,
    operations,
    record_ids,
    required_query,
    url_of,
)
from tests.test_limits import client_at, fresh_window, migrated_sqlite, serving

COUNCIL = {"slug": "ngc", "name": "N", "kind": "bilateral", "member_countries": ["NO", "DE"]}
JSON = {"content-type": "application/json"}
# Documentation routes, which are not API operations.
DOCS_ROUTES = {
    "/openapi.json",
    "/docs",
    "/docs/start.js",
    "/docs/redoc.js",
    "/docs/assets",
    "/redoc",
}


@pytest.fixture
async def tokens(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """A `read`, a `write` and a revoked key (`client` is the admin and cleans up)."""
    made = {scope: await make_key(app, f"owasp-{scope}", Scope(scope)) for scope in Scope}
    made["revoked"] = await make_key(app, "owasp-revoked", Scope.write)
    assert (await client.delete("/keys/owasp-revoked")).status_code == 204
    return made


def assert_no_leak(response: httpx.Response) -> None:
    leaks = leaks_in(response.text)
    assert not leaks, f"{response.request.url} leaked {leaks}"


async def snapshot(client: httpx.AsyncClient) -> Any:
    """Everything stored, as the export shows it."""
    response = await client.get("/export")
    assert response.status_code == 200
    return response.json()


# ==================================================================== API1


class TestAPI1BrokenObjectLevelAuthorization:
    """Records are shared, not owned: object-level authorization means a key without the
    `write` scope can change no record, and a record is only reached through its own
    parent (a participant of another session, an office of another person is 404)."""

    async def test_read_key_cannot_patch_or_delete_any_record(
        self, app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any], tokens: Any
    ) -> None:
        ids = await record_ids(client, ccqs)
        before = await snapshot(client)
        async with http_client(app, tokens["read"]) as reader:
            for method, template in operations(app, ("patch", "delete")):
                url = url_of(template, ids)
                body = {"json": {"note": "mine now"}} if method == "PATCH" else {}
                response = await reader.request(method, url, **body)
                assert response.status_code == 403, (method, template, response.status_code)
        assert await snapshot(client) == before

    async def test_children_are_reached_only_through_their_parent(
        self, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        """A participant or agenda item of the 6th session, addressed under the 5th, and an
        office of one person addressed under another, is 404 for GET, PATCH and DELETE."""
        fifth, sixth = ccqs["fifth"]["id"], ccqs["sixth"]["id"]
        persons = ccqs["persons"]
        participant = (await client.get(f"/sessions/{sixth}/participants")).json()["items"][0]
        item = (await client.get(f"/sessions/{sixth}/agenda")).json()["items"][0]
        lavrov, poutine = persons["lavrov"]["id"], persons["poutine"]["id"]
        office = (await client.get(f"/persons/{lavrov}/offices")).json()["items"][0]
        assert fifth != sixth and lavrov != poutine
        before = await snapshot(client)
        for url, body in (
            (f"/sessions/{fifth}/participants/{participant['id']}", {"note": "moved"}),
            (f"/sessions/{fifth}/agenda/{item['id']}", {"title": "moved"}),
            (f"/persons/{poutine}/offices/{office['id']}", {"title": "moved"}),
        ):
            for method in ("GET", "PATCH", "DELETE"):
                response = await client.request(
                    method, url, json=body if method == "PATCH" else None
                )
                assert response.status_code == 404, (method, url, response.status_code)
        assert await snapshot(client) == before

    async def test_ids_of_other_kinds_of_record_are_404(
        self, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        """An id is only ever looked up among records of the kind the path names."""
        sixth, council = ccqs["sixth"]["id"], ccqs["council"]["id"]
        lavrov = ccqs["persons"]["lavrov"]["id"]
        before = await snapshot(client)
        for url in (
            f"/councils/{sixth}",
            f"/sessions/{council}",
            f"/sessions/{lavrov}",
            f"/persons/{sixth}",
            f"/topics/{lavrov}",
            f"/sources/{council}",
            f"/sessions/{sixth}/participants/{lavrov}",
            f"/sessions/{sixth}/agenda/{lavrov}",
            f"/persons/{lavrov}/offices/{sixth}",
        ):
            for method in ("GET", "PATCH", "DELETE"):
                body = {} if method == "PATCH" else None  # valid for every kind of record
                response = await client.request(method, url, json=body)
                assert response.status_code == 404, (method, url, response.status_code)
        assert await snapshot(client) == before


# ==================================================================== API2


class TestAPI2BrokenAuthentication:
    async def test_missing_malformed_unknown_and_revoked_keys_are_401(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str]
    ) -> None:
        token = tokens["admin"]
        key_id = token.split("_")[1]
        headers = [{}] + [{"Authorization": a} for a in MALFORMED_AUTHORIZATIONS]
        headers += [
            {"Authorization": f"Bearer ent_{key_id}_{'A' * 43}"},  # the right id, a wrong secret
            {"Authorization": f"Bearer {tokens['revoked']}"},
            {"Authorization": f"Bearer {token} {token}"},
            {"Authorization": f"Bearer\t{token}x"},
        ]
        async with http_client(app) as anonymous:
            for header in headers:
                for method, url in (("POST", "/councils"), ("GET", "/audit")):
                    response = await anonymous.request(method, url, json=COUNCIL, headers=header)
                    assert response.status_code == 401, (header, method, url)
                    assert response.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get("/councils")).json()["items"] == []

    async def test_refusals_do_not_tell_which_part_of_a_key_was_wrong(
        self, app: FastAPI, tokens: dict[str, str]
    ) -> None:
        """An unknown key id, a known id with a wrong secret and a revoked key get the same
        answer, so that a caller cannot learn which key ids exist."""
        key_id = tokens["admin"].split("_")[1]
        details = set()
        for token in (
            "ent_00000000-0000-7000-8000-000000000000_" + "A" * 43,
            f"ent_{key_id}_{'A' * 43}",
            tokens["revoked"],
        ):
            async with http_client(app, token) as caller:
                response = await caller.post("/councils", json=COUNCIL)
            assert response.status_code == 401
            details.add((response.json()["detail"], response.headers["www-authenticate"]))
        assert len(details) == 1, details

    async def test_keys_are_accepted_only_in_the_authorization_header(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str]
    ) -> None:
        """In the query string: 400. In a cookie, an X-API-Key header or a body field: not
        a key at all (401 on a write)."""
        token = tokens["admin"]
        async with http_client(app) as anonymous:
            for parameter in ("api_key", "access_token"):
                response = await anonymous.post(
                    "/councils", params={parameter: token}, json=COUNCIL
                )
                assert response.status_code == 400
            for headers in (
                {"X-API-Key": token},
                {"Api-Key": token},
                {"Cookie": f"api_key={token}; access_token={token}"},
                {"Proxy-Authorization": f"Bearer {token}"},
            ):
                response = await anonymous.post("/councils", json=COUNCIL, headers=headers)
                assert response.status_code == 401, headers
            response = await anonymous.post("/councils", json=COUNCIL | {"api_key": token})
            assert response.status_code in (401, 422)
        assert (await client.get("/councils")).json()["items"] == []

    async def test_keys_are_stored_hashed(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str]
    ) -> None:
        async with app.state.sessionmaker() as db:
            rows = (await db.scalars(select(ApiKey))).all()
        stored = " ".join(f"{k.id} {k.name} {k.secret_hash}" for k in rows)
        assert len(rows) >= 5
        for token in tokens.values():
            secret = token.split("_", 2)[2]
            assert secret not in stored

    async def test_guessing_keys_is_rate_limited_per_address(
        self, database_url: str, client: httpx.AsyncClient
    ) -> None:
        """Failed authentications count against the caller's address, like anonymous
        requests: a client trying key after key is slowed down with 429, while a valid key
        from the same address keeps its own allowance."""
        app = create_app(Settings(database_url=database_url, anonymous_rate_limit=3))
        try:
            token = await make_key(app, "legit", Scope.read)
            key_id = token.split("_")[1]
            await fresh_window()
            statuses = []
            for attempt in range(6):
                guess = f"ent_{key_id}_{attempt:043d}"
                async with client_at(app, "10.9.9.9", guess) as guesser:
                    statuses.append((await guesser.get("/audit")).status_code)
            assert statuses[:3] == [401, 401, 401]
            assert statuses[3:] == [429, 429, 429], statuses
            async with client_at(app, "10.9.9.9", token) as legit:
                assert (await legit.get("/councils")).status_code == 200
        finally:
            await shut_down(app)


# ==================================================================== API3


class TestAPI3BrokenObjectPropertyLevelAuthorization:
    """Mass assignment: read-only and unknown fields are refused (422, pointing at the
    field) and change nothing."""

    @staticmethod
    async def targets(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> dict[str, str]:
        ids = await record_ids(client, ccqs)
        sixth, lavrov = ids["session_id"], ids["person_id"]
        return {
            "council": f"/councils/{ids['council']}",
            "session": f"/sessions/{sixth}",
            "person": f"/persons/{lavrov}",
            "office": f"/persons/{lavrov}/offices/{ids['office_id']}",
            "participant": f"/sessions/{sixth}/participants/{ids['participation_id']}",
            "agenda_item": f"/sessions/{sixth}/agenda/{ids['item_id']}",
            "topic": f"/topics/{ids['topic']}",
            "source": f"/sources/{ids['source_id']}",
        }

    READ_ONLY: ClassVar[dict[str, dict[str, Any]]] = {
        "council": {"sources": [], "updated_at": "2000-01-01T00:00:00Z"},
        "session": {
            "council_id": "other",
            "council": {"id": "x"},
            "participants": [],
            "agenda": [],
            "previous_session_id": None,
            "next_session_id": None,
            "sources": [],
        },
        "person": {"offices": [], "sources": []},
        "office": {"person_id": "someone-else"},
        "participant": {
            "title_at_time": "President",
            "person": {"name": "x"},
            "session_id": "other",
            "person_id": "someone-else",
        },
        "agenda_item": {"topic": {"name": "x"}, "session_id": "other"},
        "topic": {"children": [], "path": []},
        "source": {},
    }
    LEGITIMATE: ClassVar[dict[str, dict[str, Any]]] = {
        "council": {"name": "Renamed"},
        "session": {"summary": "Changed"},
        "person": {"name": "Renamed"},
        "office": {"title": "Renamed"},
        "participant": {"note": "Changed"},
        "agenda_item": {"note": "Changed"},
        "topic": {"name": "Renamed"},
        "source": {"title": "Renamed"},
    }
    EVERYWHERE: ClassVar[dict[str, Any]] = {
        "id": "01234567-0000-7000-8000-000000000000",
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "is_admin": True,
        "owner": "me",
    }

    async def test_patch_with_read_only_or_unknown_fields_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        """On every kind of record: id, created_at, updated_at, embedded and computed fields
        (title_at_time, children, council_id, …) and made-up ones (is_admin, owner)."""
        targets = await self.targets(client, ccqs)
        assert set(targets) == set(self.READ_ONLY)
        before = await snapshot(client)
        for kind, url in targets.items():
            record = (await client.get(url)).json()
            for field, value in (self.EVERYWHERE | self.READ_ONLY[kind]).items():
                # Alone, and next to a legitimate change that must not go through either.
                for body in ({field: value}, {field: value} | self.LEGITIMATE[kind]):
                    response = await client.patch(url, json=body)
                    assert response.status_code == 422, (kind, body, response.status_code)
                    pointers = {e["pointer"] for e in response.json()["errors"]}
                    assert f"/{field}" in pointers, (kind, field, pointers)
            assert (await client.get(url)).json() == record, kind
        assert await snapshot(client) == before

    async def test_create_with_read_only_fields_is_422(
        self, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        sixth = ccqs["sixth"]["id"]
        lavrov = ccqs["persons"]["lavrov"]["id"]
        before = await snapshot(client)
        for url, body in (
            ("/councils", COUNCIL),
            ("/persons", {"name": "P"}),
            ("/sessions", {"council_id": "ccqs", "start_date": "2010-01-01"}),
            (f"/sessions/{sixth}/participants", {"person_id": lavrov, "delegation": "RU"}),
            ("/topics", {"slug": "t", "name": "T"}),
            ("/sources", {"url": "https://example.org/a"}),
        ):
            for field, value in self.EVERYWHERE.items():
                response = await client.post(url, json=body | {field: value})
                assert response.status_code == 422, (url, field, response.status_code)
                assert f"/{field}" in {e["pointer"] for e in response.json()["errors"]}
        response = await client.post(
            f"/sessions/{sixth}/participants",
            json={"person_id": lavrov, "delegation": "RU", "title_at_time": "Emperor"},
        )
        assert response.status_code == 422
        assert await snapshot(client) == before

    async def test_nested_unknown_fields_are_422(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/councils", json=COUNCIL)).status_code == 201
        for url, body, pointer in (
            (
                "/sessions",
                {
                    "council_id": "ngc",
                    "start_date": "2007-02-21",
                    "location": {"city": "Oslo", "x": 1},
                },
                "/location/x",
            ),
            (
                "/sessions",
                {
                    "council_id": "ngc",
                    "start_date": "2007-02-21",
                    "segments": [{"kind": "plenary", "x": 1}],
                },
                "/segments/0/x",
            ),
            ("/persons", {"name": "P", "other_names": [{"name": "Q", "x": 1}]}, "/other_names/0/x"),
            (
                "/persons",
                {"name": "P", "identifiers": [{"scheme": "a", "identifier": "b", "x": 1}]},
                "/identifiers/0/x",
            ),
        ):
            response = await client.post(url, json=body)
            assert response.status_code == 422, (url, response.text)
            assert pointer in {e["pointer"] for e in response.json()["errors"]}
        assert (await client.get("/sessions")).json()["items"] == []
        assert (await client.get("/persons")).json()["items"] == []

    async def test_a_key_cannot_be_given_its_own_token_or_id(
        self, client: httpx.AsyncClient
    ) -> None:
        for field, value in (("token", "ent_mine"), ("id", "x"), ("revoked_at", None)):
            response = await client.post(
                "/keys", json={"name": "chosen", "scope": "read", field: value}
            )
            assert response.status_code == 422, field
        assert [k["name"] for k in (await client.get("/keys")).json()] == ["test-admin"]


# ==================================================================== API4


class TestAPI4UnrestrictedResourceConsumption:
    async def test_every_list_limit_is_bounded_1_to_200(
        self, app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        ids = await record_ids(client, ccqs)
        lists = [
            template
            for _, template in operations(app, ("get",))
            if any(
                p["name"] == "limit"
                for p in app.openapi()["paths"][template]["get"].get("parameters", [])
            )
        ]
        assert len(lists) >= 10
        for template in lists:
            url, query = url_of(template, ids), required_query(app, "GET", template)
            for limit, status in (
                ("0", 422),
                ("201", 422),
                ("100000", 422),
                ("1", 200),
                ("200", 200),
            ):
                response = await client.get(url, params=query | {"limit": limit})
                assert response.status_code == status, (template, limit, response.status_code)
            page = (await client.get(url, params=query | {"limit": "1"})).json()
            items = page["items"] if isinstance(page, dict) else page
            assert len(items) <= 1, template

    async def test_oversize_body_is_413(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        body = orjson.dumps(COUNCIL | {"description": "x" * settings.max_body_bytes})
        response = await client.post("/councils", content=body, headers=JSON)
        assert response.status_code == 413
        assert (await client.get("/councils")).json()["items"] == []

    async def test_too_many_requests_is_429(
        self, database_url: str, client: httpx.AsyncClient
    ) -> None:
        app = create_app(Settings(database_url=database_url, rate_limit=2, anonymous_rate_limit=2))
        try:
            token = await make_key(app, "busy", Scope.write)
            await fresh_window()
            async with client_at(app, "10.4.4.4", token) as busy:
                statuses = [(await busy.get("/councils")).status_code for _ in range(3)]
                response = await busy.post("/councils", json=COUNCIL)
            assert statuses == [200, 200, 429]
            assert response.status_code == 429 and "retry-after" in response.headers
            async with client_at(app, "10.5.5.5") as anonymous:
                statuses = [(await anonymous.get("/countries")).status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
        finally:
            await shut_down(app)
        assert (await client.get("/councils")).json()["items"] == []

    async def test_100k_character_strings_are_422(
        self, database_url: str, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        """Fields are bounded by their own length limits, not only by the body limit."""
        app = create_app(Settings(database_url=database_url, max_body_bytes=4 * 1024 * 1024))
        long = "x" * 100_000
        sixth = ccqs["sixth"]["id"]
        try:
            token = await make_key(app, "roomy", Scope.admin)
            async with http_client(app, token) as roomy:
                for url, body, pointer in (
                    ("/councils", COUNCIL | {"name": long}, "/name"),
                    ("/councils", COUNCIL | {"description": long}, "/description"),
                    ("/councils", COUNCIL | {"established_on": long}, "/established_on"),
                    ("/persons", {"name": long}, "/name"),
                    (
                        "/persons",
                        {"name": "P", "other_names": [{"name": long}]},
                        "/other_names/0/name",
                    ),
                    ("/topics", {"slug": "a" * 100_000, "name": "T"}, "/slug"),
                    ("/sources", {"url": "https://e.org/" + long}, "/url"),
                    (f"/sessions/{sixth}", {"summary": long}, "/summary"),
                    (f"/sessions/{sixth}/agenda", {"topic_id": long}, "/topic_id"),
                    ("/keys", {"name": long, "scope": "read"}, "/name"),
                ):
                    method = "PATCH" if url == f"/sessions/{sixth}" else "POST"
                    response = await roomy.request(method, url, json=body)
                    assert response.status_code == 422, (url, pointer, response.status_code)
                    assert pointer in {e["pointer"] for e in response.json()["errors"]}
                    assert len(response.content) < 10_000  # the input is not echoed back
                response = await roomy.get("/sessions", params={"q": long[:10_000]})
                assert response.status_code == 422
        finally:
            await shut_down(app)

    @pytest.mark.parametrize(
        "body",
        # Deep, but within the suite's 64 KiB body limit, so that the parser sees them.
        [b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000],
        ids=["arrays", "objects"],
    )
    async def test_deep_json_nesting_is_400(self, client: httpx.AsyncClient, body: bytes) -> None:
        for url in ("/councils", "/persons", "/import", "/keys"):
            response = await client.post(url, content=body, headers=JSON)
            assert response.status_code == 400, (url, response.status_code)
        assert (await client.get("/councils")).json()["items"] == []


# ==================================================================== API5


class TestAPI5BrokenFunctionLevelAuthorization:
    async def test_read_key_cannot_create_or_delete(
        self, app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any], tokens: Any
    ) -> None:
        before = await snapshot(client)
        async with http_client(app, tokens["read"]) as reader:
            for method, url, body in (
                ("POST", "/councils", COUNCIL),
                ("POST", "/persons", {"name": "P"}),
                ("POST", "/import", orjson.loads(SEED.read_bytes())),
                ("DELETE", "/councils/ccqs", None),
                ("DELETE", f"/sessions/{ccqs['sixth']['id']}", None),
            ):
                response = await reader.request(method, url, json=body)
                assert response.status_code == 403, (method, url)
                response = await reader.request(method, url, params={"cascade": "true"}, json=body)
                assert response.status_code == 403, (method, url)
        assert await snapshot(client) == before

    @pytest.mark.parametrize("scope", ["read", "write"])
    async def test_only_admin_reads_the_audit_and_manages_keys(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str], scope: str
    ) -> None:
        async with http_client(app, tokens[scope]) as caller:
            for method, url, body in (
                ("GET", "/audit", None),
                ("GET", "/keys", None),
                ("GET", "/keys/test-admin", None),
                ("POST", "/keys", {"name": "escalated", "scope": "admin"}),
                ("DELETE", "/keys/test-admin", None),
                ("DELETE", "/keys/owasp-admin", None),
            ):
                response = await caller.request(method, url, json=body)
                assert response.status_code == 403, (scope, method, url)
                assert "ent_" not in response.text
        keys = {k["name"]: k for k in (await client.get("/keys")).json()}
        assert "escalated" not in keys
        assert keys["test-admin"]["revoked_at"] is None
        assert keys["owasp-admin"]["revoked_at"] is None
        # The admin key may do each of those.
        async with http_client(app, tokens["admin"]) as admin:
            assert (await admin.get("/audit")).status_code == 200
            response = await admin.post("/keys", json={"name": "made", "scope": "read"})
            assert response.status_code == 201
            assert (await admin.delete("/keys/made")).status_code == 204


# ==================================================================== API7


class TestAPI7ServerSideRequestForgery:
    async def test_source_urls_are_stored_never_fetched(self, client: httpx.AsyncClient) -> None:
        """Sources pointing at an internal address: the service stores the URL and never
        connects to it (a listener on that address sees no connection)."""
        connections = []

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer.get_extra_info("peername"))
            writer.close()

        listener = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        internal = f"http://127.0.0.1:{port}/latest/meta-data"
        try:
            response = await client.post("/sources", json={"url": internal})
            assert response.status_code == 201
            source = response.json()
            response = await client.patch(f"/sources/{source['id']}", json={"url": internal + "/x"})
            assert response.status_code == 200
            document = orjson.loads(SEED.read_bytes())
            document["sources"].append({"url": internal + "/import"})
            assert (await client.post("/import", json=document)).status_code == 200
            assert (await client.get(f"/sources/{source['id']}")).status_code == 200
            assert (await client.get("/export")).status_code == 200
        finally:
            listener.close()
            await listener.wait_closed()
        assert connections == []


# ==================================================================== API8


class TestAPI8SecurityMisconfiguration:
    async def test_cors_is_closed_by_default(
        self, anonymous: httpx.AsyncClient, database_url: str
    ) -> None:
        """No Access-Control-Allow-Origin for any origin unless ENTENTE_CORS_ORIGINS names
        it; with it set, only the named origin is allowed."""
        preflight = {
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        }
        for response in (
            await anonymous.options("/councils", headers=preflight),
            await anonymous.get("/councils", headers={"Origin": "https://evil.example"}),
            await anonymous.get(f"{ROOT}/openapi.json", headers={"Origin": "null"}),
        ):
            assert not any(h.startswith("access-control-") for h in response.headers), (
                response.headers
            )
        async with self.cors_app(database_url) as browser:
            allowed = await browser.options(
                "/councils", headers=preflight | {"Origin": "https://app.example"}
            )
            refused = await browser.options("/councils", headers=preflight)
            simple = await browser.get("/councils", headers={"Origin": "https://evil.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-origin" not in simple.headers
        assert allowed.headers.get("access-control-allow-credentials") != "true"

    @staticmethod
    @asynccontextmanager
    async def cors_app(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
        """A plain client (no response checks) of an app with ENTENTE_CORS_ORIGINS set."""
        app = create_app(Settings(database_url=database_url, cors_origins="https://app.example"))
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=f"{ROOT}/api/v1"
            ) as browser:
                yield browser
        finally:
            await shut_down(app)

    async def test_a_refused_cors_preflight_is_a_problem(
        self, database_url: str, client: httpx.AsyncClient
    ) -> None:
        """API.md, Errors: every 4xx body is application/problem+json, the CORS refusal too."""
        async with self.cors_app(database_url) as browser:
            response = await browser.options(
                "/councils",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
            )
        assert response.status_code >= 400
        assert "access-control-allow-origin" not in response.headers
        assert response.headers["content-type"] == "application/problem+json", response.text
        assert response.json()["status"] == response.status_code

    @pytest.mark.parametrize("method", ["TRACE", "TRACK", "PROPFIND", "CONNECT", "FOO"])
    async def test_trace_and_unknown_methods_are_405(
        self, client: httpx.AsyncClient, method: str
    ) -> None:
        """TRACE would echo the request (its Authorization header) back: cross-site tracing."""
        for url in ("/councils", "/councils/ccqs", f"{ROOT}/healthz", f"{ROOT}/openapi.json"):
            response = await client.request(method, url)
            assert response.status_code == 405, (method, url, response.status_code)
            assert "Bearer" not in response.text and "ent_" not in response.text
            assert method not in response.headers.get("allow", "")

    async def test_no_stack_trace_sql_or_path_in_any_error(
        self, app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any], tokens: Any
    ) -> None:
        stale = {"If-Match": '"0000"'}
        xml = {"content-type": "application/xml"}
        taken = {"council_id": "ccqs", "start_date": "2005-10-11", "ordinal": 5}
        requests: list[tuple[set[int], str, str, dict[str, Any]]] = [
            ({400}, "POST", "/councils", {"content": b'{"slug": ', "headers": JSON}),
            ({400}, "POST", "/councils", {"content": b'{"a": NaN}', "headers": JSON}),
            ({400}, "GET", "/councils", {"params": {"cursor": "' OR 1=1 --"}}),
            ({400}, "GET", "/councils", {"params": {"api_key": "x"}}),
            ({404}, "GET", "/councils/' OR 1=1 --", {}),
            ({404}, "GET", "/sessions/%00", {}),
            ({404}, "GET", "/persons/..%2F..%2Fetc%2Fpasswd", {}),
            ({404}, "GET", f"{ROOT}/nowhere.py", {}),
            ({405}, "PUT", "/councils", {"json": COUNCIL}),
            ({409}, "POST", "/councils", {"json": COUNCIL | {"slug": "ccqs"}}),
            ({409}, "DELETE", "/councils/ccqs", {}),
            ({409, 422}, "POST", "/sessions", {"json": taken}),
            ({412}, "PATCH", "/councils/ccqs", {"json": {"name": "x"}, "headers": stale}),
            ({413}, "POST", "/councils", {"content": b" " * (2 * 1024 * 1024), "headers": JSON}),
            ({415}, "POST", "/councils", {"content": b"<council/>", "headers": xml}),
            ({422}, "POST", "/councils", {"json": {"slug": "Bad Slug", "kind": "x"}}),
            ({422}, "GET", "/sessions", {"params": {"from": "yesterday"}}),
            ({422}, "GET", "/sessions", {"params": {"council": "no-such-council"}}),
        ]
        for statuses, method, url, options in requests:
            response = await client.request(method, url, **options)
            assert response.status_code in statuses, (method, url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert_no_leak(response)
        async with http_client(app) as anonymous, http_client(app, tokens["read"]) as reader:
            for response in (
                await anonymous.post("/councils", json=COUNCIL),
                await anonymous.post("/councils", json=COUNCIL, headers={"Authorization": "x"}),
                await reader.post("/councils", json=COUNCIL),
            ):
                assert response.status_code in (401, 403)
                assert_no_leak(response)

    async def test_security_headers_on_every_kind_of_response(
        self, app: FastAPI, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
    ) -> None:
        assert (await client.post("/councils", json=COUNCIL)).status_code == 201
        etag = (await client.get("/councils/ngc")).headers["etag"]
        responses = [
            await client.get("/councils"),
            await client.get("/councils/ngc", headers={"If-None-Match": etag}),  # 304
            await client.post("/persons", json={"name": "P"}),  # 201
            await client.delete(
                f"/persons/{(await client.get('/persons')).json()['items'][0]['id']}"
            ),
            await client.get("/councils/nope"),
            await client.put("/councils"),
            await anonymous.get("/councils"),
            await anonymous.post("/councils", json=COUNCIL),
            await anonymous.get(f"{ROOT}/healthz"),
            await anonymous.get(f"{ROOT}/metrics"),
            await anonymous.get(f"{ROOT}/openapi.json"),
            await anonymous.get(f"{ROOT}/nowhere"),
            await anonymous.get(f"{ROOT}/docs"),
        ]
        assert [r.status_code for r in responses] == [
            200,
            304,
            201,
            204,
            404,
            405,
            200,
            401,
            200,
            200,
            200,
            404,
            200,
        ]
        for response in responses:
            where = f"{response.request.method} {response.request.url} {response.status_code}"
            assert response.headers.get("x-content-type-options") == "nosniff", where
            assert response.headers.get("referrer-policy") in (
                "no-referrer",
                "strict-origin-when-cross-origin",
                "same-origin",
            ), where
            assert response.headers.get("content-security-policy"), where
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], where
            assert response.headers.get("x-request-id"), where
            if "authorization" in response.request.headers:
                assert "no-store" in response.headers.get("cache-control", ""), where
        api_csp = responses[0].headers["content-security-policy"]
        assert "default-src 'none'" in api_csp

    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_docs_csp_allows_what_the_docs_page_loads(
        self, anonymous: httpx.AsyncClient, page: str
    ) -> None:
        """Every script, stylesheet and icon the page loads comes from a source its own
        Content-Security-Policy allows, and the inline start-up script may run."""
        response = await anonymous.get(f"{ROOT}{page}")
        assert response.status_code == 200
        policy = {
            part.split()[0]: part.split()[1:]
            for part in response.headers["content-security-policy"].split(";")
            if part.strip()
        }

        def allowed(directive: str, url: str) -> bool:
            sources = policy.get(directive, policy.get("default-src", []))
            parts = urlsplit(url)
            if not parts.scheme:
                return "'self'" in sources
            return f"{parts.scheme}://{parts.netloc}" in sources

        html = response.text
        scripts = re.findall(r'<script[^>]*\ssrc="([^"]+)"', html)
        styles = re.findall(r'<link[^>]*href="([^"]+)"[^>]*rel="stylesheet"', html)
        styles += re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
        icons = re.findall(r'<link[^>]*rel="shortcut icon"[^>]*href="([^"]+)"', html)
        assert scripts, html[:500]
        for url in scripts:
            assert allowed("script-src", url), url
        for url in styles:
            assert allowed("style-src", url), url
        for url in icons:
            assert allowed("img-src", url), url
        if re.search(r"<script>\s*\S", html):
            assert "'unsafe-inline'" in policy["script-src"]
        assert "'self'" in policy.get("connect-src", policy.get("default-src", []))

    async def test_debug_is_off(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        assert app.debug is False
        response = await client.get("/councils/nope")
        assert response.headers["content-type"] == "application/problem+json"
        assert "<html" not in response.text.lower()


# ==================================================================== API9


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the app serves, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts

        routes: Any = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before 0.16x kept included routes flat
        routes = app.routes
    found = set()
    for route in routes:
        path = getattr(route, "path", None)
        assert path, f"a route without a path: {route!r}"
        for method in getattr(route, "methods", None) or {"*"}:
            if method != "HEAD":
                found.add((method, path))
    return found


class TestAPI9ImproperInventoryManagement:
    async def test_every_route_is_documented_and_every_documented_route_exists(
        self, app: FastAPI
    ) -> None:
        served = {(m, p) for m, p in app_routes(app) if p not in DOCS_ROUTES}
        documented = {
            (method.upper(), path)
            for path, item in app.openapi()["paths"].items()
            for method in item
        }
        assert len(served) >= 60
        assert served - documented == set(), "served but not in the OpenAPI document"
        assert documented - served == set(), "documented but not served"

    async def test_every_documented_path_answers(
        self, app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any]
    ) -> None:
        """A GET on every documented path, with real ids: 200 where GET is documented, and
        405 (never 404) with an Allow header naming the documented methods elsewhere."""
        ids = await record_ids(client, ccqs)
        failures = []
        for template, item in app.openapi()["paths"].items():
            url = url_of(template, ids)
            if "get" in item:
                response = await client.get(url, params=required_query(app, "GET", template))
                if response.status_code != 200:
                    failures.append(f"GET {template}: {response.status_code}")
                continue
            response = await client.get(url)
            allow = {m.strip() for m in response.headers.get("allow", "").split(",")}
            if response.status_code != 405 or not {m.upper() for m in item} <= allow:
                failures.append(f"GET {template}: {response.status_code}, Allow {allow}")
        assert failures == [], "\n".join(failures)

    async def test_only_the_current_version_is_served(self, anonymous: httpx.AsyncClient) -> None:
        document = (await anonymous.get(f"{ROOT}/openapi.json")).json()
        assert document["info"]["version"]
        versions = {p.split("/")[2] for p in document["paths"] if p.startswith("/api/")}
        assert versions == {"v1"}
        for url in ("/api/v0/councils", "/api/v2/councils", "/councils", "/api/councils"):
            assert (await anonymous.get(f"{ROOT}{url}")).status_code == 404, url


# ==================================================================== logs


@pytest.fixture
def entente_logs(caplog: pytest.LogCaptureFixture) -> Any:
    """The JSON lines the `entente` loggers write, as they write them."""
    logger = logging.getLogger("entente")
    caplog.handler.setFormatter(JsonLogFormatter())
    attached = caplog.handler not in logger.handlers
    if attached:  # `entente` does not propagate to the root logger, where caplog listens
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="entente")
    yield caplog
    if attached:
        logger.removeHandler(caplog.handler)


def test_a_log_line_has_the_second_it_was_written() -> None:
    """The formatter writes each second's text once; a line still carries its own."""
    formatter = JsonLogFormatter()
    for created in (1_700_000_000.2, 1_700_000_000.9, 1_700_000_001.0, 1_699_999_999.5):
        record = logging.LogRecord("entente.test", logging.INFO, __file__, 1, "m", (), None)
        record.created = created
        line = json.loads(formatter.format(record))
        assert line["time"] == formatter.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")


@pytest.fixture(scope="module")
async def served_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """The whole output of a real `entente serve` process that answered authenticated
    requests, a key in the query string and bad keys; and the tokens used."""
    folder = tmp_path_factory.mktemp("served")
    url = await asyncio.to_thread(migrated_sqlite, folder)
    app = create_app(Settings(database_url=url))
    try:
        admin = await make_key(app, "served-admin", Scope.admin)
        writer = await make_key(app, "served-writer", Scope.write)
    finally:
        await shut_down(app)
    bad = f"ent_{admin.split('_')[1]}_{'B' * 43}"
    async with serving(folder, {"ENTENTE_DATABASE_URL": url}, 1) as (server,):
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as http:
            bearer = {"Authorization": f"Bearer {admin}"}
            assert (await http.get("/audit", headers=bearer)).status_code == 200
            response = await http.post(
                "/councils", json=COUNCIL, headers={"Authorization": f"Bearer {writer}"}
            )
            assert response.status_code == 201
            assert (await http.get("/councils", params={"api_key": admin})).status_code == 400
            response = await http.get("/audit", params={"access_token": writer})
            assert response.status_code == 400
            response = await http.post("/councils", json=COUNCIL, headers={"Authorization": bad})
            assert response.status_code == 401
            response = await http.get("/keys", headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401
        await server.stop()
        output = server.output()
    return output, [admin, writer, bad]


class TestSecretsInLogs:
    async def test_no_token_in_the_application_log_lines(
        self, app: FastAPI, client: httpx.AsyncClient, tokens: dict[str, str], entente_logs: Any
    ) -> None:
        """The JSON lines of `entente.access` and the other `entente` loggers, written
        while keys are used, refused, and sent in the URL, hold no token nor its secret."""
        async with http_client(app, tokens["write"]) as writer:
            response = await writer.post(
                "/councils", json=COUNCIL, headers={"X-Request-ID": "log-check-1"}
            )
            assert response.status_code == 201
            assert (await writer.get("/audit")).status_code == 403
        async with http_client(app) as anonymous:
            for token in tokens.values():
                await anonymous.get("/councils", params={"api_key": token})
                await anonymous.post(
                    "/councils", json=COUNCIL, headers={"Authorization": f"Bearer {token}x"}
                )
        await client.get("/keys")
        lines = entente_logs.text.splitlines()
        assert len(lines) >= 10
        parsed = [json.loads(line) for line in lines]
        access = [p for p in parsed if p["logger"] == "entente.access"]
        assert any(p["request_id"] == "log-check-1" and p["status"] == 201 for p in access), access[
            :3
        ]
        for token in tokens.values():
            secret = token.split("_", 2)[2]
            for line in lines:
                assert token not in line and secret not in line, line

    async def test_no_token_in_anything_a_server_process_writes(
        self, served_output: tuple[str, list[str]]
    ) -> None:
        """A real `entente serve` (uvicorn and the app) writes no key anywhere in its
        output, even when a client put one in the URL."""
        output, tokens = served_output
        assert "entente.access" in output
        for token in tokens:
            secret = token.split("_", 2)[2]
            leaking = [line for line in output.splitlines() if secret in line]
            assert leaking == [], leaking

    async def test_every_line_a_server_process_writes_is_json(
        self, served_output: tuple[str, list[str]]
    ) -> None:
        """API.md, Operations: "Logs are JSON lines with a request id"."""
        output, _ = served_output
        not_json = []
        for line in output.splitlines():
            if not line.strip():
                continue
            try:
                if not isinstance(json.loads(line), dict):
                    not_json.append(line)
            except ValueError:
                not_json.append(line)
        assert not_json == [], "\n".join(not_json)
