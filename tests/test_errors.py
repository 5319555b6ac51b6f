"""The error contract: every refusal is RFC 9457 problem+json with the right status (the
`client` fixture checks the media type and `status` of every response), the right code
for each kind of bad input, nothing stored by a refused write, and nothing of the server's
insides (stack traces, SQL, file paths) in any body."""

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app, shut_down
from app.sessions import service as sessions_service
from tests.factories import COUNCIL
from tests.leaks import leaks_in

JSON_HEADERS = {"content-type": "application/json"}
ROOT = "http://testserver"
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _no_leak(response: httpx.Response) -> None:
    leaks = leaks_in(response.text)
    assert not leaks, f"{response.request.url} leaked {leaks}: {response.text[:500]}"


async def _read_and_check_leaks(response: httpx.Response) -> None:
    await response.aread()
    _no_leak(response)


@pytest.fixture
def client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The suite's client, which also checks that no body reveals the server's insides."""
    hooks = client.event_hooks
    client.event_hooks = {**hooks, "response": [*hooks["response"], _read_and_check_leaks]}
    return client


@pytest.fixture
async def roomy_client(
    client: httpx.AsyncClient, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that takes bodies up to 1 MiB, so that inputs bigger than the
    suite's 64 KiB limit reach the checks behind it. `client` empties the tables after."""
    app = create_app(Settings(database_url=database_url, max_body_bytes=1024 * 1024))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=str(client.base_url),
            headers=client.headers,
            event_hooks=client.event_hooks,
        ) as roomy:
            yield roomy
    finally:
        await shut_down(app)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    return body


def pointers(response: httpx.Response) -> set[str]:
    return {e["pointer"] for e in problem(response, 422)["errors"]}


async def council_slugs(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/councils", params={"limit": 200})
    assert response.status_code == 200
    return [c["slug"] for c in response.json()["items"]]


def council_bytes(**fields: Any) -> bytes:
    return orjson.dumps(COUNCIL | fields)


def council_with_raw(field: str, raw: bytes) -> bytes:
    """A council body whose `field` is the raw JSON text `raw`, which orjson could not write."""
    rest = orjson.dumps({k: v for k, v in COUNCIL.items() if k != field})
    return rest[:-1] + b', "' + field.encode() + b'": ' + raw + b"}"


# Malformed JSON: 400, and nothing stored.


@pytest.mark.parametrize(
    "body",
    [
        b'{"slug": "ngc", "name": ',
        b"{slug: 'ngc'}",
        b'{"slug": "ngc",}',
        b"[1, 2,]",
        b'{"slug": "ngc"} {"slug": "other"}',
        b"\xff\xfe{}",
        b'{"name": "caf\xe9"}',
    ],
    ids=[
        "truncated",
        "unquoted",
        "trailing-comma",
        "array-comma",
        "two-documents",
        "bom",
        "latin1",
    ],
)
async def test_malformed_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/councils", content=body, headers=JSON_HEADERS)
    assert problem(response, 400)["type"] == "/problems/bad-request"
    assert await council_slugs(client) == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_numbers_are_400(client: httpx.AsyncClient, constant: str) -> None:
    body = council_with_raw("acronym", constant.encode())
    response = await client.post("/councils", content=body, headers=JSON_HEADERS)
    problem(response, 400)
    # Nested deep in a valid document too.
    body = council_with_raw("names", b'{"en": [' + constant.encode() + b"]}")
    problem(await client.post("/councils", content=body, headers=JSON_HEADERS), 400)
    assert await council_slugs(client) == []


async def test_duplicate_keys_are_400(client: httpx.AsyncClient) -> None:
    top_level = b'{"slug": "ngc", "slug": "other", "name": "N", "kind": "bilateral", '
    top_level += b'"member_countries": ["NO", "DE"]}'
    response = await client.post("/councils", content=top_level, headers=JSON_HEADERS)
    assert "slug" in problem(response, 400)["detail"]
    nested = council_with_raw("names", b'{"en": "One", "en": "Two"}')
    problem(await client.post("/councils", content=nested, headers=JSON_HEADERS), 400)
    assert await council_slugs(client) == []


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * 100_000,
    ],
    ids=["arrays", "objects", "unclosed"],
)
async def test_deep_nesting_is_400(roomy_client: httpx.AsyncClient, body: bytes) -> None:
    response = await roomy_client.post("/councils", content=body, headers=JSON_HEADERS)
    problem(response, 400)
    assert await council_slugs(roomy_client) == []


async def test_deep_nesting_within_the_default_limit_is_400(client: httpx.AsyncClient) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    problem(await client.post("/councils", content=body, headers=JSON_HEADERS), 400)


# Size and media type.


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, settings: Settings) -> None:
    limit = settings.max_body_bytes
    valid = council_bytes()
    # Whitespace after the document keeps it valid JSON: exactly at the limit is accepted.
    at_limit = valid + b" " * (limit - len(valid))
    assert len(at_limit) == limit
    response = await client.post("/councils", content=at_limit, headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    over = council_bytes(slug="big") + b" " * (limit + 1 - len(council_bytes(slug="big")))
    response = await client.post("/councils", content=over, headers=JSON_HEADERS)
    assert response.request.headers["content-length"] == str(limit + 1)
    assert problem(response, 413)["type"] == "/problems/payload-too-large"
    response = await client.post(
        "/councils", json=COUNCIL | {"slug": "huge", "description": "x" * (limit * 4)}
    )
    problem(response, 413)
    assert await council_slugs(client) == ["ngc"]


async def test_chunked_body_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    chunk = b" " * 4096

    async def body() -> AsyncIterator[bytes]:
        yield council_bytes(slug="chunked")
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post("/councils", content=body(), headers=JSON_HEADERS)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    problem(response, 413)

    # A small chunked body is read as usual.
    async def small() -> AsyncIterator[bytes]:
        yield council_bytes(slug="small")[:10]
        yield council_bytes(slug="small")[10:]

    response = await client.post("/councils", content=small(), headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    assert await council_slugs(client) == ["small"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded", "text/json"],
)
async def test_body_not_sent_as_json_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/councils", content=council_bytes(), headers={"content-type": content_type}
    )
    assert problem(response, 415)["type"] == "/problems/unsupported-media-type"
    assert await council_slugs(client) == []


async def test_form_post_and_patch_are_415(client: httpx.AsyncClient) -> None:
    problem(await client.post("/councils", data={"slug": "ngc", "name": "N"}), 415)
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.patch(
        "/councils/ngc", content=b'{"name": "Changed"}', headers={"content-type": "text/plain"}
    )
    problem(response, 415)
    assert (await client.get("/councils/ngc")).json()["name"] == COUNCIL["name"]


async def test_json_media_types_are_accepted(client: httpx.AsyncClient) -> None:
    for slug, content_type in (
        ("a", "application/json; charset=utf-8"),
        ("b", "Application/JSON"),
        ("c", "application/merge-patch+json"),
    ):
        response = await client.post(
            "/councils", content=council_bytes(slug=slug), headers={"content-type": content_type}
        )
        assert response.status_code == 201, (content_type, response.text)
    assert await council_slugs(client) == ["a", "b", "c"]


# Routing.


@pytest.mark.parametrize(
    "url", ["/nowhere", "/councils/ngc/nowhere", f"{ROOT}/nowhere", f"{ROOT}/api/v2/councils"]
)
async def test_unknown_route_is_404_problem(client: httpx.AsyncClient, url: str) -> None:
    body = problem(await client.get(url), 404)
    assert body["type"] == "/problems/not-found"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/councils"),
        ("DELETE", "/councils"),
        ("POST", "/councils/ngc"),
        ("PUT", "/sessions"),
    ],
)
async def test_wrong_method_is_405_problem(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    response = await client.request(method, url, json=COUNCIL)
    assert problem(response, 405)["type"] == "/problems/method-not-allowed"
    assert await council_slugs(client) == []


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PUT", "/councils", {"GET", "POST"}),
        ("POST", "/councils/ngc", {"GET", "PATCH", "DELETE"}),
    ],
)
async def test_405_allow_header_lists_every_method(
    client: httpx.AsyncClient, method: str, url: str, allowed: set[str]
) -> None:
    """RFC 9110 (15.5.6): a 405 carries `Allow` with every method the resource supports,
    not only those of the first route that matched the path."""
    response = await client.request(method, url, json=COUNCIL)
    problem(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} >= allowed


# Query parameters: FastAPI's own validation, rendered as problems.


@pytest.mark.parametrize("limit", ["0", "201", "-1", str(10**12), "abc", "1.5", ""])
async def test_bad_limit_is_422(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/councils", params={"limit": limit})
    assert pointers(response) == {"/query/limit"}
    assert problem(response, 422)["type"] == "/problems/validation-error"


async def test_limit_bounds_are_accepted(client: httpx.AsyncClient) -> None:
    for limit in ("1", "200"):
        assert (await client.get("/councils", params={"limit": limit})).status_code == 200


# Cursors.


async def cursors(client: httpx.AsyncClient, count: int) -> list[str]:
    """The `next_cursor` of each page of /councils?limit=1 over `count` councils."""
    for i in range(count):
        assert (
            await client.post("/councils", json=COUNCIL | {"slug": f"c{i:02}"})
        ).status_code == 201
    found, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/councils", params=params)
        assert response.status_code == 200
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found
        found.append(cursor)


async def test_cursors_are_url_safe_and_work(client: httpx.AsyncClient) -> None:
    found = await cursors(client, 4)
    assert len(found) == 3
    for cursor in found:
        assert set(cursor) <= set(B64URL + ".")
    page = await client.get("/councils", params={"limit": 1, "cursor": found[0]})
    assert [c["slug"] for c in page.json()["items"]] == ["c01"]


def _flip(char: str) -> str:
    return "B" if char == "A" else "A"


async def test_altered_or_invalid_cursor_is_400(client: httpx.AsyncClient) -> None:
    cursor = (await cursors(client, 3))[0]
    payload, _, signature = cursor.partition(".")
    altered = [
        "garbage",
        ".",
        "!!!.???",
        "%%%",
        cursor[: len(cursor) // 2],  # truncated
        cursor[:-2],
        payload,  # no signature
        f"{_flip(payload[0])}{payload[1:]}.{signature}",  # payload altered
        f"{payload}.{_flip(signature[0])}{signature[1:]}",  # signature altered
        f"{signature}.{payload}",
        f"{cursor}.{signature}",
        base64.urlsafe_b64encode(b'["zzz", "not-an-id"]').decode().rstrip("=") + "." + signature,
    ]
    for bad in altered:
        response = await client.get("/councils", params={"limit": 1, "cursor": bad})
        body = problem(response, 400)
        assert body["type"] == "/problems/bad-request", bad
        assert "cursor" in body["detail"]


async def test_standard_base64_cursor_is_400(client: httpx.AsyncClient) -> None:
    """A cursor is URL-safe base64; its standard-alphabet twin ('+' and '/' for '-' and '_')
    is an altered cursor, refused like any other."""
    found = await cursors(client, 20)
    # Each cursor has some 60 characters: among 19 of them one has '-' or '_'.
    cursor = next(c for c in found if "-" in c or "_" in c)
    standard = cursor.translate(str.maketrans("-_", "+/"))
    assert standard != cursor
    response = await client.get("/councils", params={"limit": 1, "cursor": standard})
    problem(response, 400)


def _spare_bits(part: str) -> str:
    """`part` with its last character changed only in the bits base64 leaves unused (a 16-byte
    signature is 22 characters, 132 bits): a different string for the same bytes."""
    value = B64URL.index(part[-1])
    return part[:-1] + B64URL[value ^ 1]


@pytest.mark.parametrize(
    "alter",
    [
        lambda payload, signature: f"{payload}==.{signature}",
        lambda payload, signature: f"{payload[:4]}!{payload[4:]}.{signature}",
        lambda payload, signature: f"{payload[:4]}!!!!{payload[4:]}.{signature}",
        lambda payload, signature: f"{payload}.{signature[:4]}~{signature[4:]}",
        lambda payload, signature: f"{payload}.{signature[:4]}~~~~{signature[4:]}",
        lambda payload, signature: f" {payload}.{signature}",
        lambda payload, signature: f"{payload}.{_spare_bits(signature)}",
    ],
    ids=[
        "padding",
        "junk-in-payload",
        "4-junk-in-payload",
        "junk-in-signature",
        "4-junk-in-signature",
        "leading-space",
        "spare-bits",
    ],
)
async def test_cursor_in_another_spelling_is_400(
    client: httpx.AsyncClient, alter: Callable[[str, str], str]
) -> None:
    """An altered cursor is refused even when it decodes to the same bytes: the server
    accepts only the exact string it issued."""
    cursor = (await cursors(client, 3))[0]
    payload, _, signature = cursor.partition(".")
    bad = alter(payload, signature)
    assert bad != cursor
    response = await client.get("/councils", params={"limit": 1, "cursor": bad})
    problem(response, 400)


async def test_cursor_of_another_list_or_filter_is_400(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    councils_cursor = (await cursors(client, 2))[0]
    for path in ("/persons", "/topics", "/sources", "/sessions", "/councils/ccqs/sessions"):
        response = await client.get(path, params={"limit": 1, "cursor": councils_cursor})
        problem(response, 400)

    unfiltered = (await client.get("/sessions", params={"limit": 1})).json()["next_cursor"]
    assert unfiltered is not None
    for params in (
        {"host_country": "RU"},
        {"sort": "-start_date"},
        {"sort": "ordinal"},
        {"status": "held"},
    ):
        response = await client.get("/sessions", params={"limit": 1, "cursor": unfiltered} | params)
        problem(response, 400)
    sorted_cursor = (
        await client.get("/sessions", params={"limit": 1, "sort": "-start_date"})
    ).json()["next_cursor"]
    response = await client.get("/sessions", params={"limit": 1, "cursor": sorted_cursor})
    problem(response, 400)
    # The cursor still works where it was made.
    response = await client.get(
        "/sessions", params={"limit": 1, "sort": "-start_date", "cursor": sorted_cursor}
    )
    assert [s["ordinal"] for s in response.json()["items"]] == [5]


# Text, sizes and dates in bodies: 422 with a pointer, and nothing stored.


@pytest.mark.parametrize(
    "raw",
    [
        b'"Nor\\u0000way"',
        b'"\\u0000"',
        b'"\\ud800"',
        b'"\\udfff"',
        b'"abc\\ud83d"',
        b'"\\ude00\\ud83d"',
    ],
    ids=["nul", "only-nul", "high-surrogate", "low-surrogate", "trailing-high", "reversed-pair"],
)
async def test_nul_and_lone_surrogates_are_422(client: httpx.AsyncClient, raw: bytes) -> None:
    body = council_with_raw("name", raw)
    response = await client.post("/councils", content=body, headers=JSON_HEADERS)
    assert pointers(response) == {"/name"}
    # The same in a nested label and on a PATCH.
    body = council_with_raw("names", b'{"en": ' + raw + b"}")
    response = await client.post("/councils", content=body, headers=JSON_HEADERS)
    assert pointers(response) == {"/names/en"}
    assert await council_slugs(client) == []
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.patch(
        "/councils/ngc", content=b'{"description": ' + raw + b"}", headers=JSON_HEADERS
    )
    assert pointers(response) == {"/description"}
    assert (await client.get("/councils/ngc")).json()["description"] is None


async def test_lone_surrogate_or_nul_in_a_person_name_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/persons", content=b'{"name": "\\ud800"}', headers=JSON_HEADERS)
    assert pointers(response) == {"/name"}
    response = await client.post("/persons", content=b'{"name": "a\\u0000b"}', headers=JSON_HEADERS)
    assert pointers(response) == {"/name"}
    assert (await client.get("/persons")).json()["items"] == []


async def test_surrogate_pair_is_accepted(client: httpx.AsyncClient) -> None:
    body = council_with_raw("name", b'"Council \\ud83d\\ude00"')
    response = await client.post("/councils", content=body, headers=JSON_HEADERS)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Council \U0001f600"


async def test_100k_character_strings_are_422(roomy_client: httpx.AsyncClient) -> None:
    long = "x" * 100_000
    response = await roomy_client.post(
        "/councils",
        json=COUNCIL | {"name": long, "acronym": long, "description": long, "names": {"en": long}},
    )
    assert pointers(response) == {"/name", "/acronym", "/description", "/names/en"}
    # The refusal does not echo the input back.
    assert len(response.content) < 10_000
    response = await roomy_client.post("/persons", json={"name": "é" * 100_000})
    assert pointers(response) == {"/name"}
    assert await council_slugs(roomy_client) == []
    assert (await roomy_client.get("/persons")).json()["items"] == []


@pytest.mark.parametrize(
    "start_date",
    [
        0,
        1171065600,
        "20070221",
        "0001-01-01",
        "9999-12-31",
        "2007-02-30",
        "2007-2-21",
        "2007-02-21T10:00:00",
        "",
        None,
        [2007, 2, 21],
    ],
)
async def test_bad_session_dates_are_422(client: httpx.AsyncClient, start_date: Any) -> None:
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.post(
        "/sessions", json={"council_id": "ngc", "ordinal": 1, "start_date": start_date}
    )
    assert pointers(response) == {"/start_date"}
    response = await client.post(
        "/sessions",
        json={
            "council_id": "ngc",
            "ordinal": 1,
            "start_date": "2007-02-21",
            "end_date": start_date,
        },
    )
    if start_date is None:
        # A null end_date means "the same day".
        assert response.status_code == 201, response.text
        assert response.json()["end_date"] == "2007-02-21"
        return
    assert pointers(response) == {"/end_date"}
    assert (await client.get("/sessions")).json()["items"] == []


@pytest.mark.parametrize(
    "established_on", [0, 2002, "0001", "0001-01-01", "9999-12-31", "2002-13", "20020101"]
)
async def test_bad_partial_dates_are_422(client: httpx.AsyncClient, established_on: Any) -> None:
    response = await client.post("/councils", json=COUNCIL | {"established_on": established_on})
    assert pointers(response) == {"/established_on"}
    assert await council_slugs(client) == []


@pytest.mark.parametrize("value", ["0", "20070221", "0001-01-01", "9999-12-31", "2007-02-30"])
async def test_bad_date_filters_are_422(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/sessions", params={"from": value})
    assert pointers(response) == {"/query/from"}


async def test_end_before_start_is_422_and_nothing_stored(client: httpx.AsyncClient) -> None:
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "end_date": "2007-02-20"},
    )
    assert pointers(response) == {"/end_date"}
    assert (await client.get("/sessions")).json()["items"] == []


async def test_refused_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    created = (await client.post("/councils", json=COUNCIL)).json()
    for body, headers, status in (
        (b'{"name": "A", "name": "B"}', JSON_HEADERS, 400),
        (b'{"name": NaN}', JSON_HEADERS, 400),
        (b'{"name": "x"', JSON_HEADERS, 400),
        (b'{"name": "x\\u0000"}', JSON_HEADERS, 422),
        (b'{"name": "Changed", "established_on": "0001-01-01"}', JSON_HEADERS, 422),
        (b'{"name": "Changed"}', {"content-type": "text/plain"}, 415),
    ):
        response = await client.patch("/councils/ngc", content=body, headers=headers)
        problem(response, status)
    assert (await client.get("/councils/ngc")).json() == created


# Path ids of any form: 404, never a database error.


@pytest.mark.parametrize(
    "path",
    [
        "councils/{}",
        "councils/{}/sessions",
        "sessions/{}",
        "persons/{}",
        "topics/{}",
        "sources/{}",
        "countries/{}",
    ],
)
@pytest.mark.parametrize(
    "record",
    ["a%00b", "%00", "%ED%A0%80", "%FF", "%C3%A9t%C3%A9", "x" * 36, "' OR 1=1 --"],
    ids=["nul", "only-nul", "surrogate", "invalid-utf8", "accents", "36-chars", "sql"],
)
async def test_odd_path_ids_are_404(client: httpx.AsyncClient, path: str, record: str) -> None:
    """A path id that names no record is 404 whatever its form, never a database error."""
    problem(await client.get("/" + path.format(record)), 404)


async def test_nul_in_cited_source_ids_is_422(client: httpx.AsyncClient) -> None:
    """Ids in a body are looked up like path ids: one holding NUL names no record."""
    response = await client.post("/councils", json=COUNCIL | {"source_ids": ["a\u0000b"]})
    assert pointers(response) == {"/source_ids/0"}
    assert await council_slugs(client) == []


async def test_nul_in_session_council_id_is_422(client: httpx.AsyncClient) -> None:
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.post(
        "/sessions", json={"council_id": "ngc\u0000", "start_date": "2007-02-21"}
    )
    assert pointers(response) == {"/council_id"}
    assert (await client.get("/sessions")).json()["items"] == []


async def test_nul_in_a_council_filter_is_422(client: httpx.AsyncClient) -> None:
    # An unknown council in a filter is a 422 naming the parameter.
    response = await client.get("/sessions", params={"council": "ccqs\u0000"})
    assert [p.startswith("/query/council") for p in pointers(response)] == [True]


# Operations probes, outside /api/v1.


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ROOT}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    response = await client.get(f"{ROOT}/readyz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "ready"


async def _probe(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=ROOT
        ) as client:
            response = await client.get(path)
    finally:
        await shut_down(app)
    _no_leak(response)
    return response


async def test_not_ready_on_an_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert (await _probe(settings, "/healthz")).status_code == 200
    response = await _probe(settings, "/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 503
    assert "migrat" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////nonexistent-folder/entente.db",
        "postgresql+asyncpg://postgres@127.0.0.1:1/entente",
    ],
    ids=["sqlite", "postgresql"],
)
async def test_database_down_is_503(url: str) -> None:
    settings = Settings(database_url=url)
    assert (await _probe(settings, "/healthz")).status_code == 200
    for path in ("/readyz", "/api/v1/councils", "/api/v1/councils/ccqs", "/api/v1/sessions"):
        response = await _probe(settings, path)
        assert response.status_code == 503, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 503


async def test_bidirectional_overrides_and_controls_are_422(client: httpx.AsyncClient) -> None:
    """A right-to-left override (U+202E) can make one name display as another; such
    invisible controls are refused, and nothing is stored."""
    for name in ("Lavrov\u202eyrgne", "Alliot\u2066Marie", "bell\x07"):
        response = await client.post("/persons", json={"name": name})
        assert response.status_code == 422
        assert [e["pointer"] for e in response.json()["errors"]] == ["/name"]
    assert (await client.get("/persons")).json()["items"] == []
    # Right-to-left scripts themselves are welcome.
    assert (await client.post("/persons", json={"name": "عمرو موسى"})).status_code == 201


async def test_an_unexpected_error_is_a_500_problem(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure nobody foresaw is answered as every error is: a 500 problem that says
    nothing of its cause, with the request id, security and rate-limit headers."""

    async def broken(*_: Any) -> Any:
        raise RuntimeError("a detail for the logs only")

    monkeypatch.setattr(sessions_service, "session_conditions", broken)
    # Answered, then raised again by Starlette for the server to log: not to this client.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ROOT) as raw:
        response = await raw.get("/api/v1/sessions", headers={"X-Request-ID": "failing-page"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/internal-error"
    assert "a detail" not in response.text
    assert response.headers["x-request-id"] == "failing-page"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["ratelimit-limit"]
    monkeypatch.undo()
    assert (await client.get("/sessions")).status_code == 200
