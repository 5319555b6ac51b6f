"""Limits on what one client may make the service do (API.md, "Errors" and "Access"):
body sizes (413, chunked or not), media types (415), bounded parameters and fields in the
OpenAPI document, and rate limits (429), in one process and shared by several through Redis.
"""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from alembic import command
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.auth.models import Scope
from app.config import Settings
from app.main import create_app, shut_down
from app.migrating import alembic_config
from tests.conftest import SEED, http_client, make_key

COUNCIL = {"slug": "ngc", "name": "N", "kind": "bilateral", "member_countries": ["NO", "DE"]}
JSON = {"content-type": "application/json"}
ROOT = "http://testserver"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# A Redis database of its own, flushed at the start of the test that uses it.
REDIS_DB = 13
ENTENTE = Path(sys.executable).parent / "entente"
REPOSITORY = Path(__file__).resolve().parent.parent


def padded(document: bytes, size: int) -> bytes:
    """`document` with trailing whitespace up to `size` bytes: still the same JSON."""
    assert len(document) <= size
    return document + b" " * (size - len(document))


async def chunks(document: bytes, size: int, chunk: int = 8192) -> AsyncIterator[bytes]:
    """`document` padded to `size` bytes, sent without Content-Length (chunked)."""
    body = padded(document, size)
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


async def council_slugs(client: httpx.AsyncClient) -> list[str]:
    return [c["slug"] for c in (await client.get("/councils")).json()["items"]]


# ---------------------------------------------------------------- 413


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_the_limit_is_413_and_nothing_is_stored(
    client: httpx.AsyncClient, settings: Settings, chunked: bool
) -> None:
    limit = settings.max_body_bytes
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    cases = [
        ("POST", "/councils", orjson.dumps(COUNCIL | {"slug": "big"})),
        ("PATCH", "/councils/ngc", b'{"name": "Changed"}'),
        ("POST", "/persons", b'{"name": "Big"}'),
        ("POST", "/keys", b'{"name": "big", "scope": "admin"}'),
    ]
    for method, url, document in cases:
        content: Any = chunks(document, limit + 1) if chunked else padded(document, limit + 1)
        response = await client.request(method, url, content=content, headers=JSON)
        assert response.status_code == 413, (method, url, response.text)
        assert response.json()["type"] == "/problems/payload-too-large"
        sent = response.request.headers
        assert (
            ("content-length" not in sent) if chunked else sent["content-length"] == str(limit + 1)
        )
    # Far over the limit too, and at the limit exactly it is read.
    content = chunks(b"{}", limit * 8) if chunked else padded(b"{}", limit * 8)
    response = await client.post("/persons", content=content, headers=JSON)
    assert response.status_code == 413
    document = orjson.dumps({"name": "At the limit"})
    content = chunks(document, limit) if chunked else padded(document, limit)
    response = await client.post("/persons", content=content, headers=JSON)
    assert response.status_code == 201, response.text
    council = (await client.get("/councils/ngc")).json()
    assert (council["name"], await council_slugs(client)) == ("N", ["ngc"])
    names = [p["name"] for p in (await client.get("/persons")).json()["items"]]
    assert names == ["At the limit"]
    assert [k["name"] for k in (await client.get("/keys")).json()] == ["test-admin"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_import_takes_bodies_larger_than_other_routes(
    client: httpx.AsyncClient, settings: Settings, chunked: bool
) -> None:
    """POST /import reads up to ENTENTE_IMPORT_MAX_BODY_BYTES, far above the others' limit."""
    size = settings.max_body_bytes * 3
    assert size < settings.import_max_body_bytes
    document = SEED.read_bytes()
    content: Any = chunks(document, size) if chunked else padded(document, size)
    response = await client.post("/import", content=content, headers=JSON)
    assert response.status_code == 200, response.text
    assert await council_slugs(client) == ["ccqs"]


@pytest.fixture
async def small_import_app(database_url: str, client: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    """An app whose import limit is 256 KiB (`client` empties the tables after)."""
    app = create_app(
        Settings(
            database_url=database_url,
            max_body_bytes=64 * 1024,
            import_max_body_bytes=256 * 1024,
        )
    )
    yield app
    await shut_down(app)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_import_over_its_limit_is_413_and_nothing_is_stored(
    small_import_app: FastAPI, client: httpx.AsyncClient, chunked: bool
) -> None:
    token = await make_key(small_import_app, "importer", Scope.write)
    limit = small_import_app.state.settings.import_max_body_bytes
    document = SEED.read_bytes()
    async with http_client(small_import_app, token) as importer:
        content: Any = chunks(document, limit + 1) if chunked else padded(document, limit + 1)
        response = await importer.post("/import", content=content, headers=JSON)
        assert response.status_code == 413, response.text
        assert await council_slugs(importer) == []
        assert (await importer.get("/persons")).json()["items"] == []
        if not chunked:  # at the limit exactly it is read (once is enough: it is slow)
            response = await importer.post("/import", content=padded(document, limit), headers=JSON)
            assert response.status_code == 200, response.text


# ---------------------------------------------------------------- 415


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/councils"),
        ("PATCH", "/councils/ngc"),
        ("POST", "/persons"),
        ("POST", "/import"),
        ("POST", "/keys"),
    ],
)
async def test_body_not_sent_as_json_is_415(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    body = orjson.dumps(COUNCIL | {"slug": "other", "scope": "admin"})
    if url == "/import":
        body = SEED.read_bytes()
    for content_type in (
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/x-www-form-urlencoded",
    ):
        response = await client.request(
            method, url, content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 415, (content_type, response.text)
        assert response.json()["type"] == "/problems/unsupported-media-type"
    assert await council_slugs(client) == ["ngc"]
    assert (await client.get("/councils/ngc")).json()["name"] == "N"
    assert [k["name"] for k in (await client.get("/keys")).json()] == ["test-admin"]


# ---------------------------------------------------------------- bounded by the schema

# A pattern is a bound when it is anchored at both ends and repeats nothing without limit.
FIXED_LENGTH = re.compile(r"^\^[^*+]*\$$")


def unbounded(
    schema: dict[str, Any], where: str, components: dict[str, Any], seen: frozenset[str]
) -> list[str]:
    """Where a schema lets a client send a string, number, list or map of any size."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        return unbounded(components[name], f"{where}({name})", components, seen | {name})
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += unbounded(sub, where, components, seen)
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return found
    if kind == "string":
        pattern = schema.get("pattern", "")
        bounded = (
            "maxLength" in schema
            or schema.get("format") in ("date", "date-time")
            or (FIXED_LENGTH.match(pattern) and not re.search(r"\{\d+,\}", pattern))
        )
        if not bounded:
            found.append(f"{where}: a string without maxLength")
    elif kind in ("integer", "number"):
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            found.append(f"{where}: a number without maximum")
    elif kind == "array":
        if "maxItems" not in schema:
            found.append(f"{where}: a list without maxItems")
        found += unbounded(schema.get("items", {}), f"{where}[]", components, seen)
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            found += unbounded(sub, f"{where}.{name}", components, seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            if "maxProperties" not in schema:
                found.append(f"{where}: a map without maxProperties")
            found += unbounded(extra, f"{where}{{}}", components, seen)
    return found


async def test_limit_is_bounded_in_the_schema(app: FastAPI) -> None:
    document = app.openapi()
    limits = [
        (path, p["schema"])
        for path, item in document["paths"].items()
        for operation in item.values()
        for p in operation.get("parameters", [])
        if p["name"] == "limit"
    ]
    assert len(limits) >= 10
    for path, schema in limits:
        assert (schema["minimum"], schema["maximum"], schema["default"]) == (1, 200, 50), path


async def test_query_parameters_are_bounded_in_the_schema(app: FastAPI) -> None:
    """Every query parameter's strings have a maxLength (or an enum, a format, a fixed
    pattern) and its numbers a maximum: Swagger UI shows them, clients can check them."""
    document = app.openapi()
    components = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                schema = parameter["schema"]
                where = f"{method.upper()} {path} ?{parameter['name']}"
                # Repeatable parameters are lists: their items are what must be bounded.
                for problem in unbounded(schema, where, components, frozenset()):
                    if "a list without maxItems" not in problem:
                        found.append(problem)
    assert found == [], "\n".join(found)


async def test_request_bodies_are_bounded_in_the_schema(app: FastAPI) -> None:
    """Every string of every request body has a maxLength (or a pattern or format that
    bounds it), every list a maxItems, every map a maxProperties, every number a maximum.
    (The dataset of POST /import lists whole tables: its size is bounded by the body limit
    alone, and its records reuse the checked schemas.)"""
    document = app.openapi()
    components = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if path.endswith("/import"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            for media_type in content.values():
                where = f"{method.upper()} {path}"
                found += unbounded(media_type["schema"], where, components, frozenset())
    assert found == [], "\n".join(found)


# ---------------------------------------------------------------- rate limits, one process


async def fresh_window(margin: float = 3) -> None:
    """Wait for the next one-minute window when this one ends within `margin` seconds, so
    that a test's requests all fall in one window (the limiter's windows are wall-clock
    minutes)."""
    left = 60 - time.time() % 60
    if left < margin:
        await asyncio.sleep(left + 0.2)


def client_at(app: FastAPI, address: str, token: str | None = None) -> httpx.AsyncClient:
    """A client of the app that connects from `address`."""

    async def read(response: httpx.Response) -> None:
        await response.aread()
        assert response.status_code < 500, response.text

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url=f"{ROOT}/api/v1",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        event_hooks={"response": [read]},
    )


@pytest.fixture
async def limited_app(database_url: str, client: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    """An app with 5 requests a minute per key and 3 per anonymous address."""
    app = create_app(Settings(database_url=database_url, rate_limit=5, anonymous_rate_limit=3))
    yield app
    await shut_down(app)


def assert_limited(response: httpx.Response, limit: int) -> None:
    """A 429 with the headers that tell the client when to come back."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    # (Each value once is checked on its own below.)
    assert set(response.headers.get_list("ratelimit-limit")) == {str(limit)}
    assert set(response.headers.get_list("ratelimit-remaining")) == {"0"}
    for reset in response.headers.get_list("ratelimit-reset"):
        assert 1 <= int(reset) <= 60


async def test_rate_limit_per_key(limited_app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await make_key(limited_app, "first", Scope.write)
    second = await make_key(limited_app, "second", Scope.write)
    await fresh_window()
    async with client_at(limited_app, "10.1.1.1", first) as one:
        for remaining in (4, 3, 2, 1, 0):
            response = await one.get("/councils")
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "5"
            assert response.headers["ratelimit-remaining"] == str(remaining)
            assert 1 <= int(response.headers["ratelimit-reset"]) <= 60
        assert_limited(await one.get("/councils"), 5)
        # Writes count the same, and a refused one stores nothing.
        assert_limited(await one.post("/councils", json=COUNCIL), 5)
    # Another key from the same address has its own allowance.
    async with client_at(limited_app, "10.1.1.1", second) as two:
        response = await two.post("/councils", json=COUNCIL | {"slug": "other"})
        assert response.status_code == 201
        assert response.headers["ratelimit-remaining"] == "4"
    assert await council_slugs(client) == ["other"]


async def test_rate_limit_per_client_address(
    limited_app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await make_key(limited_app, "reader", Scope.read)
    await fresh_window()
    async with client_at(limited_app, "10.2.2.2") as anonymous:
        for remaining in (2, 1, 0):
            response = await anonymous.get("/countries/FR")
            assert response.status_code == 200
            assert response.headers["ratelimit-remaining"] == str(remaining)
        assert_limited(await anonymous.get("/countries/FR"), 3)
        assert_limited(await anonymous.get("/councils"), 3)
    async with client_at(limited_app, "10.3.3.3") as neighbour:
        assert (await neighbour.get("/countries/FR")).status_code == 200
    # A key holder behind the same address is counted by key, not by address.
    async with client_at(limited_app, "10.2.2.2", token) as reader:
        response = await reader.get("/countries/FR")
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "5"


@pytest.mark.parametrize("path", ["/countries/FR", "/sessions", "/sessions/unknown"])
async def test_429_carries_each_rate_limit_header_once(
    limited_app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    """RFC 9110 5.3: a field that is not a list appears once. `RateLimit-Limit: 3` twice
    reads as "3, 3", which clients cannot parse as a number. The same on the paths served
    around FastAPI's request handling (app/http.py, app/sessions/direct.py)."""
    await fresh_window()
    async with client_at(limited_app, "10.6.6.6") as anonymous:
        for remaining in (2, 1, 0):
            response = await anonymous.get(path)
            assert response.status_code in (200, 404)
            assert response.headers.get_list("ratelimit-remaining") == [str(remaining)]
        response = await anonymous.get(path)
    assert_limited(response, 3)
    for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "retry-after"):
        assert len(response.headers.get_list(name)) == 1, (name, response.headers.raw)


# ---------------------------------------------------------------- rate limits, two processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def redis_or_skip() -> None:
    """Flush this test's Redis database, or skip when no Redis answers."""
    redis = Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=2)
    try:
        await redis.ping()
        await redis.flushdb()
    except (RedisError, OSError) as error:
        pytest.skip(f"Redis is unreachable on {REDIS_HOST}:{REDIS_PORT} ({error})")
    finally:
        await redis.aclose()


def migrated_sqlite(folder: Path) -> str:
    """The URL of a new SQLite file with the schema migrated."""
    url = f"sqlite+aiosqlite:///{folder / 'served.db'}"
    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    return url


class Server:
    """An `entente serve` process on a free port; its output goes to a file."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        self.folder, self.name, self.env = folder, name, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(ENTENTE),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                cwd=REPOSITORY,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as http:
            while True:
                if self.process.returncode is not None:
                    pytest.fail(f"server {self.name} exited: {self.output()[-2000:]}")
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"server {self.name} did not start"
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; idempotent."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@asynccontextmanager
async def serving(folder: Path, env: dict[str, str], count: int) -> AsyncIterator[list[Server]]:
    """`count` servers started together, all stopped at the end whatever happens."""
    servers = [Server(folder, f"server-{n}", env) for n in range(count)]
    try:
        for server in servers:
            await server.start()
        for server in servers:
            await server.ready()
        yield servers
    finally:
        for server in servers:
            await server.stop()


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[list[str]]:
    """Two `entente serve` processes on one migrated SQLite file, sharing rate limits
    through Redis; both are stopped at the end."""
    env = {
        # Alembic runs its own event loop: in a thread, outside the test's.
        "ENTENTE_DATABASE_URL": await asyncio.to_thread(migrated_sqlite, tmp_path),
        "ENTENTE_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        "ENTENTE_ANONYMOUS_RATE_LIMIT": "6",
    }
    async with serving(tmp_path, env, 2) as running:
        yield [server.url for server in running]


@pytest.fixture
async def flushed_redis() -> AsyncIterator[None]:
    await redis_or_skip()
    yield
    redis = Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def test_rate_limit_is_shared_by_processes_through_redis(
    flushed_redis: None, servers: list[str]
) -> None:
    """Two API processes with ENTENTE_REDIS_URL and 6 anonymous requests a minute: four
    requests to each, alternating, and the 7th and 8th overall are refused, by whichever
    process gets them: the sum counts."""
    await fresh_window(margin=8)
    statuses, remaining = [], []
    async with httpx.AsyncClient(timeout=10) as http:
        for number in range(8):
            base = servers[number % 2]
            response = await http.get(f"{base}/api/v1/countries/FR")
            statuses.append(response.status_code)
            remaining.append(response.headers.get("ratelimit-remaining"))
            if response.status_code == 429:
                assert 1 <= int(response.headers["retry-after"]) <= 60
                assert response.headers["content-type"] == "application/problem+json"
    assert statuses == [200] * 6 + [429] * 2, statuses
    assert remaining[:6] == ["5", "4", "3", "2", "1", "0"]
