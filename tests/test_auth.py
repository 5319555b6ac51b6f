"""Access: who may read and write (API.md, "Access").

The central test enumerates the operations of the OpenAPI document itself, so that a write
route added later without the access check fails this suite rather than going live open.
Keys are checked through real HTTP (and the CLI through a real subprocess): missing,
malformed, unknown, revoked, lacking the scope, or sent in the URL.
"""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.auth.models import Scope
from app.config import Settings
from app.main import create_app, shut_down
from tests.conftest import http_client, make_key

ROOT = "http://testserver"
API_PREFIX = "/api/v1"
WRITE_METHODS = ("post", "put", "patch", "delete")
# Operations that need the `admin` scope even to read.
ADMIN_PATHS = ("/api/v1/audit", "/api/v1/keys")


def admin_only(template: str) -> bool:
    """The audit trail, whole (/audit) or of one record (/{resource}/{id}/history), and keys."""
    return template.startswith(ADMIN_PATHS) or template.endswith("/history")


MALFORMED_AUTHORIZATIONS = (
    "Basic x",
    "Basic dGVzdDp0ZXN0",
    "Bearer",
    "Bearer ",
    "Bearer not-a-key",
    "Bearer ent_",
    "Bearer ent_00000000-0000-0000-0000-000000000000_nope",
    "Token abc",
    "bearer",
)
ENTENTE = Path(sys.executable).parent / "entente"
REPOSITORY = Path(__file__).resolve().parent.parent
QUERY_VALUES = {"q": "ccqs"}


def operations(app: FastAPI, methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation the OpenAPI document lists with one of
    `methods` (lower case)."""
    found = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in methods
    ]
    return sorted(found)


async def record_ids(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> dict[str, str]:
    """A real record for every path parameter of the API, from the CCQS seed."""
    sixth = ccqs["sixth"]["id"]
    lavrov = ccqs["persons"]["lavrov"]["id"]

    async def first(path: str) -> str:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        assert items, f"the seed has nothing at {path}"
        return str(items[0]["id"])

    return {
        "council": ccqs["council"]["id"],
        "session_id": sixth,
        "person_id": lavrov,
        "office_id": await first(f"/persons/{lavrov}/offices"),
        "participation_id": await first(f"/sessions/{sixth}/participants"),
        "item_id": await first(f"/sessions/{sixth}/agenda"),
        "topic": await first("/topics"),
        "source_id": await first("/sources"),
        "code": "FR",
        "a": "FR",
        "b": "RU",
        "resource": "sessions",
        "record_id": sixth,
        "name": "test-admin",
    }


def url_of(template: str, ids: dict[str, str]) -> str:
    """The URL of a path template, its parameters filled from `ids` (a dummy value for a
    parameter nobody has named yet, which must still be refused before it is looked up)."""
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + ids.get(path[start + 1 : end], "dummy") + path[end + 1 :]
    return path.removeprefix(API_PREFIX) if path.startswith(API_PREFIX) else ROOT + path


def required_query(app: FastAPI, method: str, template: str) -> dict[str, str]:
    """Values for the required query parameters of an operation (`q` of /search)."""
    operation = app.openapi()["paths"][template][method.lower()]
    return {
        p["name"]: QUERY_VALUES.get(p["name"], "dummy")
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }


def body_for(method: str) -> dict[str, Any]:
    # A valid JSON object, so that no body check answers before the access check.
    return {"json": {}} if method in ("POST", "PUT", "PATCH") else {}


@pytest.fixture
async def keys(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """Tokens of a `read`, a `write` and a revoked (once `admin`) key."""
    tokens = {scope: await make_key(app, f"auth-{scope}", Scope(scope)) for scope in Scope}
    tokens["revoked"] = await make_key(app, "auth-revoked", Scope.admin)
    assert (await client.delete("/keys/auth-revoked")).status_code == 204
    return tokens


@pytest.fixture
async def private_app(database_url: str, client: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    """An app deployed with ENTENTE_PUBLIC_READ=false (`client` empties the tables after)."""
    app = create_app(Settings(database_url=database_url, public_read=False))
    yield app
    await shut_down(app)


def refusals(
    response: httpx.Response, method: str, template: str, status: int, why: str
) -> list[str]:
    """What is wrong with a refusal that should have been `status`, if anything."""
    problems = []
    if response.status_code != status:
        problems.append(f"{method} {template} {why}: {response.status_code}, expected {status}")
    elif status == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
        problems.append(f"{method} {template} {why}: 401 without WWW-Authenticate: Bearer")
    return problems


# ---------------------------------------------------------------- every write operation


async def test_every_write_operation_needs_a_key_with_the_write_scope(
    app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any], keys: dict[str, str]
) -> None:
    """For every POST, PUT, PATCH and DELETE of the OpenAPI document: no key, a malformed
    Authorization header, a revoked key: 401 with `WWW-Authenticate: Bearer`; a `read`
    key: 403. A route added without the access check fails here."""
    writes = operations(app, WRITE_METHODS)
    # The known writes are there (so that this test cannot pass on an empty list).
    assert {("POST", "/api/v1/councils"), ("DELETE", "/api/v1/keys/{name}")} <= set(writes)
    assert len(writes) >= 25, writes
    ids = await record_ids(client, ccqs)
    before = (await client.get("/export")).json()
    failures: list[str] = []
    async with (
        http_client(app) as anonymous,
        http_client(app, keys["revoked"]) as revoked,
        http_client(app, keys["read"]) as reader,
    ):
        for method, template in writes:
            url, body = url_of(template, ids), body_for(method)
            response = await anonymous.request(method, url, **body)
            failures += refusals(response, method, template, 401, "without a key")
            for authorization in MALFORMED_AUTHORIZATIONS:
                response = await anonymous.request(
                    method, url, headers={"Authorization": authorization}, **body
                )
                failures += refusals(response, method, template, 401, repr(authorization))
            response = await revoked.request(method, url, **body)
            failures += refusals(response, method, template, 401, "with a revoked key")
            response = await reader.request(method, url, **body)
            failures += refusals(response, method, template, 403, "with a read key")
    assert failures == [], "\n".join(failures)
    # Nothing was written by any of those requests.
    assert (await client.get("/export")).json() == before
    assert (await client.get("/keys/test-admin")).json()["revoked_at"] is None


async def test_a_write_key_writes_and_the_audit_names_it(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    async with http_client(app, keys["write"]) as writer:
        response = await writer.post("/topics", json={"slug": "energy", "name": "Energy"})
        assert response.status_code == 201, response.text
        topic = response.json()
        response = await writer.patch(f"/topics/{topic['id']}", json={"name": "Energy security"})
        assert response.status_code == 200
        assert (await writer.delete(f"/topics/{topic['id']}")).status_code == 204
    entries = (await client.get("/audit", params={"entity_id": topic["id"]})).json()["items"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", "auth-write"),
        ("update", "auth-write"),
        ("delete", "auth-write"),
    ]


async def test_lowercase_bearer_scheme_is_accepted(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    """Authentication schemes are case-insensitive (RFC 9110, 11.1)."""
    async with http_client(app) as plain:
        response = await plain.post(
            "/topics",
            json={"slug": "energy", "name": "Energy"},
            headers={"Authorization": f"bearer {keys['write']}"},
        )
    assert response.status_code == 201, response.text


async def test_a_tampered_token_is_401(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    token = keys["admin"]
    prefix, key_id, secret = token.split("_", 2)
    tampered = [
        f"{prefix}_{key_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        f"{prefix}_{key_id}_{secret[:10]}",
        f"{prefix}_{key_id}_",
        f"{prefix}_{key_id}",
        f"xyz_{key_id}_{secret}",
        f"{prefix}_{key_id[:-1]}{'1' if key_id.endswith('0') else '0'}_{secret}",
        token + "x",
        token.upper(),
    ]
    for bad in tampered:
        async with http_client(app, bad) as intruder:
            response = await intruder.get("/audit")
        assert response.status_code == 401, bad
        assert response.headers["www-authenticate"].startswith("Bearer")
        async with http_client(app, bad) as intruder:
            response = await intruder.post("/topics", json={"slug": "x", "name": "X"})
        assert response.status_code == 401, bad
    assert (await client.get("/topics")).json()["items"] == []


# ---------------------------------------------------------------- reads


async def test_reads_are_public_by_default(
    app: FastAPI, anonymous: httpx.AsyncClient, client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Every GET of the API answers 200 without a key, except the admin ones (/audit,
    /keys, the histories), which answer 401."""
    ids = await record_ids(client, ccqs)
    failures = []
    for _, template in operations(app, ("get",)):
        url = url_of(template, ids)
        response = await anonymous.get(url, params=required_query(app, "GET", template))
        expected = 401 if admin_only(template) else 200
        failures += refusals(response, "GET", template, expected, "without a key")
    assert failures == [], "\n".join(failures)


async def test_private_reads_need_a_read_key(
    private_app: FastAPI, client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """With ENTENTE_PUBLIC_READ=false every GET of /api/v1 answers 401 without a key and
    200 with a `read` key (the admin ones 403); the health probes stay open."""
    ids = await record_ids(client, ccqs)
    token = await make_key(private_app, "private-reader", Scope.read)
    failures = []
    async with http_client(private_app) as anonymous, http_client(private_app, token) as reader:
        for _, template in operations(private_app, ("get",)):
            if not template.startswith(API_PREFIX):
                continue
            url = url_of(template, ids)
            params = required_query(private_app, "GET", template)
            response = await anonymous.get(url, params=params)
            failures += refusals(response, "GET", template, 401, "without a key")
            expected = 403 if admin_only(template) else 200
            response = await reader.get(url, params=params)
            failures += refusals(response, "GET", template, expected, "with a read key")
        for probe in ("/healthz", "/readyz"):
            assert (await anonymous.get(ROOT + probe)).status_code == 200, probe
        # A malformed header is refused as on writes.
        response = await anonymous.get("/councils", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
    assert failures == [], "\n".join(failures)


async def test_a_bad_key_on_a_public_read_is_401_not_ignored(
    anonymous: httpx.AsyncClient,
) -> None:
    """A client that sends a wrong key learns it, rather than silently reading as nobody."""
    for authorization in ("Bearer not-a-key", "Basic x"):
        response = await anonymous.get("/councils", headers={"Authorization": authorization})
        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"].startswith("Bearer")


# ---------------------------------------------------------------- admin


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/audit"),
        ("GET", "/keys"),
        ("POST", "/keys"),
        ("GET", "/keys/test-admin"),
        ("DELETE", "/keys/test-admin"),
    ],
)
async def test_audit_and_keys_need_admin(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str], method: str, path: str
) -> None:
    body = {"json": {"name": "sneaky", "scope": "admin"}} if method == "POST" else {}
    for scope, status in (("read", 403), ("write", 403), ("revoked", 401)):
        async with http_client(app, keys[scope]) as other:
            response = await other.request(method, path, **body)
        assert response.status_code == status, (scope, response.text)
    async with http_client(app) as anonymous:
        response = await anonymous.request(method, path, **body)
    assert response.status_code == 401
    names = [k["name"] for k in (await client.get("/keys")).json()]
    assert "sneaky" not in names
    assert (await client.get("/keys/test-admin")).json()["revoked_at"] is None


async def test_keys_api_shows_the_token_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/keys", json={"name": "editor-anna", "scope": "write"})
    assert response.status_code == 201, response.text
    created = response.json()
    token = created["token"]
    assert response.headers["location"].endswith("/keys/editor-anna")
    assert token.startswith("ent_")
    secret = token.split("_", 2)[2]
    for path in ("/keys", "/keys/editor-anna"):
        text = (await client.get(path)).text
        assert "editor-anna" in text
        assert token not in text and secret not in text, path
    async with http_client(app, token) as editor:
        assert (await editor.post("/topics", json={"slug": "a", "name": "A"})).status_code == 201
        assert (await editor.get("/keys")).status_code == 403
    assert (
        await client.post("/keys", json={"name": "editor-anna", "scope": "read"})
    ).status_code == 409
    assert (await client.delete("/keys/editor-anna")).status_code == 204
    async with http_client(app, token) as editor:
        assert (await editor.post("/topics", json={"slug": "b", "name": "B"})).status_code == 401
    # A revoked key is gone from the API (issue 25); `entente keys list` still shows it.
    assert (await client.get("/keys/editor-anna")).status_code == 404


# ---------------------------------------------------------------- keys in the URL


@pytest.mark.parametrize("parameter", ["api_key", "access_token", "apikey", "key", "token"])
async def test_keys_in_the_query_string_are_refused(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str], parameter: str
) -> None:
    """A key in the URL ends up in logs, histories and Referer headers: 400, and it never
    grants anything, even a valid admin key."""
    token = keys["admin"]
    async with http_client(app) as anonymous:
        response = await anonymous.post(
            "/topics", params={parameter: token}, json={"slug": "leak", "name": "Leak"}
        )
        assert response.status_code == 400, response.text
        assert token not in response.text
        response = await anonymous.get("/audit", params={parameter: token})
        assert response.status_code == 400
        response = await anonymous.get("/councils", params={parameter: token})
        assert response.status_code == 400
    # Refused even next to a good header: the URL has leaked the key already.
    response = await client.get("/audit", params={parameter: token})
    assert response.status_code == 400
    assert (await client.get("/topics")).json()["items"] == []


@pytest.mark.parametrize("parameter", ["API_KEY", "Access_Token", "bearer", "auth"])
async def test_keys_in_other_query_parameters_never_work(
    app: FastAPI, client: httpx.AsyncClient, keys: dict[str, str], parameter: str
) -> None:
    async with http_client(app) as anonymous:
        response = await anonymous.post(
            "/topics", params={parameter: keys["admin"]}, json={"slug": "leak", "name": "Leak"}
        )
        assert response.status_code in (400, 401), response.text
        response = await anonymous.get("/audit", params={parameter: keys["admin"]})
        assert response.status_code in (400, 401)
    assert (await client.get("/topics")).json()["items"] == []


# ---------------------------------------------------------------- the CLI


async def entente(database_url: str, *args: str) -> tuple[int, str, str]:
    """Run the `entente` console script; (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        str(ENTENTE),
        *args,
        cwd=REPOSITORY,
        env={**os.environ, "ENTENTE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_cli_creates_lists_and_revokes_keys(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """`entente keys create` prints the key once; `keys list` never shows it; after
    `keys revoke` the key gets 401."""
    code, out, err = await entente(
        database_url, "keys", "create", "--name", "cli-editor", "--scope", "write"
    )
    assert code == 0, err
    token = out.splitlines()[0].strip()
    assert token.startswith("ent_") and out.count(token) == 1
    assert "cli-editor" in out and "write" in out
    secret = token.split("_", 2)[2]

    async with http_client(app, token) as editor:
        response = await editor.post("/topics", json={"slug": "cli", "name": "CLI"})
        assert response.status_code == 201, response.text
        assert (await editor.get("/audit")).status_code == 403
    audit = (await client.get("/audit", params={"actor": "cli-editor"})).json()["items"]
    assert [e["entity"] for e in audit] == ["topic"]

    (code, listed, err), (dup, dup_out, dup_err), (bad, _, bad_err) = await asyncio.gather(
        entente(database_url, "keys", "list"),
        entente(database_url, "keys", "create", "--name", "cli-editor", "--scope", "admin"),
        entente(database_url, "keys", "revoke", "nobody"),
    )
    assert code == 0, err
    assert "cli-editor\twrite" in listed and "test-admin\tadmin" in listed
    assert token not in listed and secret not in listed
    # A second key of the same name, or revoking an unknown one: a message, no traceback.
    assert dup != 0 and "exists" in dup_err and "Traceback" not in dup_err
    assert "ent_" not in dup_out
    assert bad != 0 and "nobody" in bad_err and "Traceback" not in bad_err

    code, out, err = await entente(database_url, "keys", "revoke", "cli-editor")
    assert code == 0, err
    assert token not in out
    async with http_client(app, token) as editor:
        response = await editor.post("/topics", json={"slug": "late", "name": "Late"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get("/keys/cli-editor")).status_code == 404
    code, out, err = await entente(database_url, "keys", "list")
    assert code == 0 and "cli-editor" in out and "revoked" in out, (out, err)


# ---------------------------------------------------------------- the OpenAPI document


async def test_openapi_declares_the_bearer_scheme_on_writes(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """Swagger UI shows its Authorize button for a declared security scheme, and sends the
    key on the operations that reference it."""
    document = (await anonymous.get(f"{ROOT}/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    bearer = {
        name
        for name, scheme in schemes.items()
        if scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    }
    assert bearer, schemes
    unsecured = [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if path.startswith(API_PREFIX)
        and not any(set(requirement) & bearer for requirement in operation.get("security", []))
    ]
    assert unsecured == []
    for method, path in operations(app, WRITE_METHODS):
        operation = document["paths"][path][method.lower()]
        assert "401" in operation["responses"], (method, path)
        assert "403" in operation["responses"], (method, path)
    docs = await anonymous.get(f"{ROOT}/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text and "/openapi.json" in docs.text
