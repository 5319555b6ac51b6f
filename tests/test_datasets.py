"""Dataset import and export over HTTP (API.md, "Dataset import and export"): export, then
import into an empty database, reproduces the same export; importing a document twice
changes nothing the second time; a document with errors is refused whole with every
pointer; and every export is valid against the published JSON Schema."""

import asyncio
import copy
import gc
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import orjson
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from app.auth.models import Scope
from app.config import Settings
from app.main import create_app, shut_down
from app.migrating import alembic_config
from bench.dataset import generate
from tests.conftest import http_client, make_key
from tests.factories import differences, three_errors

SEED_PATH = Path(__file__).resolve().parent.parent / "app" / "data" / "ccqs.json"
SEED: dict[str, Any] = json.loads(SEED_PATH.read_text())
SOURCE = "http://www.spyworld-actu.com/spip.php?article3747"


# ---------------------------------------------------------------- helpers


async def export(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


async def import_(client: httpx.AsyncClient, document: Any) -> httpx.Response:
    return await client.post("/import", json=document)


async def feed(client: httpx.AsyncClient) -> tuple[list[dict[str, Any]], str]:
    """The whole change feed from the beginning, and the cursor to poll with next."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 200} | ({"since": cursor} if cursor else {})
        response = await client.get("/changes", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        assert isinstance(cursor, str) and cursor
        if not page["items"]:
            return items, cursor


async def add_records_beyond_the_seed(client: httpx.AsyncClient) -> None:
    """Records of the kinds the seed lacks, made through the API: a person without a
    dataset key, with other names, identifiers and a dated office; a multilateral council
    with an unnumbered, multi-day session whose segment has no key; a participant whose
    office is derived; an agenda item with its own wording; a topic with countries."""
    source = await client.post(
        "/sources",
        json={
            "url": "https://example.org/weimar-2011",
            "title": "Weimar Triangle summit",
            "publisher": "Example Press",
            "language": "en",
            "published_on": "2011-02",
        },
    )
    assert source.status_code == 201, source.text
    source_id = source.json()["id"]
    person = await client.post(
        "/persons",
        json={
            "name": "Radosław Sikorski",
            "given_name": "Radosław",
            "family_name": "Sikorski",
            "nationality": "PL",
            "other_names": [{"name": "Radoslaw Sikorski", "lang": "en", "note": "ASCII"}],
            "identifiers": [{"scheme": "wikidata", "identifier": "Q310810"}],
            "source_ids": [source_id],
        },
    )
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    office = await client.post(
        f"/persons/{person_id}/offices",
        json={
            "title": "Minister of Foreign Affairs",
            "names": {"pl": "Minister Spraw Zagranicznych"},
            "role": "foreign_minister",
            "country": "PL",
            "start_date": "2007-11",
            "end_date": "2014-09-22",
            "source_ids": [source_id],
        },
    )
    assert office.status_code == 201, office.text
    council = await client.post(
        "/councils",
        json={
            "slug": "weimar",
            "name": "Weimar Triangle",
            "names": {"de": "Weimarer Dreieck", "fr": "Triangle de Weimar"},
            "kind": "multilateral",
            "member_countries": ["FR", "DE", "PL"],
            "established_on": "1991",
            "source_ids": [source_id],
        },
    )
    assert council.status_code == 201, council.text
    topic = await client.post(
        "/topics",
        json={
            "slug": "eastern-partnership",
            "name": "Eastern Partnership",
            "parent_id": "regional-issues",
            "countries": ["UA", "MD", "GE"],
            "description": "The EU's policy towards six eastern neighbours.",
        },
    )
    assert topic.status_code == 201, topic.text
    session = await client.post(
        "/sessions",
        json={
            "council_id": "weimar",
            "title": "Weimar Triangle summit in Warsaw",
            "start_date": "2011-02-07",
            "end_date": "2011-02-08",
            "timezone": "Europe/Warsaw",
            "location": {"city": "Warsaw", "country": "PL", "venue": "Wilanów Palace"},
            "host_country": "PL",
            "summary": "Leaders of France, Germany and Poland meet in Warsaw.",
            "segments": [
                {
                    "kind": "working_meal",
                    "title": "Working dinner",
                    "part_of_day": "evening",
                    "date": "2011-02-07",
                },
                {"key": "talks", "kind": "plenary", "date": "2011-02-08"},
            ],
            "source_ids": [source_id],
        },
    )
    assert session.status_code == 201, session.text
    session_json = session.json()
    participant = await client.post(
        f"/sessions/{session_json['id']}/participants",
        json={
            "person_id": person_id,
            "delegation": "PL",
            "role": "host",
            "segment_ids": [s["id"] for s in session_json["segments"]],
            "note": "Hosts the working dinner.",
        },
    )
    assert participant.status_code == 201, participant.text
    assert participant.json()["title_at_time"] == "Minister of Foreign Affairs"
    item = await client.post(
        f"/sessions/{session_json['id']}/agenda",
        json={
            "topic_id": "eastern-partnership",
            "title": "The Eastern Partnership after Prague",
            "note": "Discussed over dinner.",
            "source_ids": [source_id],
        },
    )
    assert item.status_code == 201, item.text


@pytest.fixture
async def empty_api(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of a second app over a new, migrated, empty database: a temporary
    SQLite file, or a scratch PostgreSQL database that is dropped afterwards."""
    scratch: str | None = None
    if database_url.startswith("postgresql"):
        scratch = f"{make_url(database_url).database}_scratch_{uuid.uuid4().hex[:12]}"
        url = make_url(database_url).set(database=scratch).render_as_string(hide_password=False)
        await psql(database_url, f'CREATE DATABASE "{scratch}"')
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    try:
        config = alembic_config(url)
        config.attributes["configure_logging"] = False
        # Alembic's env.py calls asyncio.run, which cannot run inside this event loop.
        await asyncio.to_thread(command.upgrade, config, "head")
        app = create_app(Settings(database_url=url))
        try:
            token = await make_key(app, "import-admin", Scope.admin)
            async with http_client(app, token) as client:
                yield client
        finally:
            await shut_down(app)
    finally:
        if scratch is not None:
            await psql(database_url, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


async def psql(database_url: str, statement: str) -> None:
    """Run one statement with psql on the server of `database_url`, as its user."""
    server = make_url(database_url)
    env = os.environ | ({"PGPASSWORD": server.password} if server.password else {})
    process = await asyncio.create_subprocess_exec(
        "psql",
        "-h",
        server.host or "127.0.0.1",
        "-p",
        str(server.port or 5432),
        "-U",
        server.username or "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        statement,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()


# ---------------------------------------------------------------- round trip


async def test_export_then_import_into_an_empty_database_gives_the_same_export(
    client: httpx.AsyncClient, ccqs: dict[str, Any], empty_api: httpx.AsyncClient
) -> None:
    await add_records_beyond_the_seed(client)
    exported = await export(client)
    assert (exported["format"], exported["version"]) == ("entente-dataset", 1)
    assert [c["slug"] for c in exported["councils"]] == ["ccqs", "weimar"]
    assert len(exported["sessions"]) == 3
    assert len(exported["persons"]) == 6
    assert len(exported["topics"]) == 12
    assert await export(empty_api) == {
        "format": "entente-dataset",
        "version": 1,
        "sources": [],
        "topics": [],
        "persons": [],
        "councils": [],
        "sessions": [],
    }

    response = await import_(empty_api, exported)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "imported"}
    again = await export(empty_api)
    assert differences(exported, again) == []

    # What the second database shows through the API is the same data as the first.
    sessions = (await empty_api.get("/councils/ccqs/sessions")).json()["items"]
    assert [s["ordinal"] for s in sessions] == [5, 6]
    sixth = (await empty_api.get(f"/sessions/{sessions[1]['id']}")).json()
    assert [p["title_at_time"] for p in sixth["participants"]] == [
        p["title_at_time"]
        for p in (await client.get(f"/sessions/{ccqs['sixth']['id']}")).json()["participants"]
    ]
    weimar = (await empty_api.get("/councils/weimar/sessions")).json()["items"]
    assert [(s["ordinal"], s["title"], s["end_date"]) for s in weimar] == [
        (None, "Weimar Triangle summit in Warsaw", "2011-02-08")
    ]


async def test_importing_an_export_into_its_own_database_changes_nothing(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """The export names a person who has no dataset key by a key it makes up; importing
    that export where it came from must find the same person, not add a second one."""
    person = await client.post("/persons", json={"name": "Guido Westerwelle"})
    assert person.status_code == 201, person.text
    await add_records_beyond_the_seed(client)
    exported = await export(client)
    changes, cursor = await feed(client)

    response = await import_(client, exported)
    assert response.status_code == 200, response.text
    assert differences(exported, await export(client)) == []
    names = [
        p["name"] for p in (await client.get("/persons", params={"limit": 200})).json()["items"]
    ]
    assert sorted(names) == sorted(p["name"] for p in exported["persons"])
    assert (await feed(client)) == (changes, cursor)


async def test_importing_the_same_document_twice_adds_no_change(
    client: httpx.AsyncClient,
) -> None:
    response = await import_(client, SEED)
    assert response.status_code == 200, response.text
    first, cursor = await feed(client)
    assert first
    exported = await export(client)
    audit = (await client.get("/audit", params={"limit": 200})).json()

    response = await import_(client, SEED)
    assert response.status_code == 200, response.text
    after = await client.get("/changes", params={"since": cursor})
    assert after.status_code == 200
    assert after.json() == {"items": [], "next_cursor": cursor}
    assert (await feed(client)) == (first, cursor)
    assert (await client.get("/audit", params={"limit": 200})).json() == audit
    assert differences(exported, await export(client)) == []


async def test_an_import_lists_each_new_record_once_as_created(
    client: httpx.AsyncClient,
) -> None:
    """An import is one transaction: in the feed, each record it creates is `created`,
    once, not `created` and then `updated` for each participant or agenda written."""
    response = await import_(client, SEED)
    assert response.status_code == 200, response.text
    changes, _ = await feed(client)
    counts = {
        "source": len(SEED["sources"]),
        "topic": len(SEED["topics"]),
        "person": len(SEED["persons"]),
        "council": len(SEED["councils"]),
        "session": len(SEED["sessions"]),
    }
    assert sorted((c["entity"], c["action"]) for c in changes) == sorted(
        (entity, "created") for entity, count in counts.items() for _ in range(count)
    )
    assert len({(c["entity"], c["id"]) for c in changes}) == sum(counts.values())


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("loaded", [False, True], ids=["empty", "over-the-seed"])
async def test_a_dataset_with_three_errors_is_refused_whole(
    client: httpx.AsyncClient, loaded: bool
) -> None:
    if loaded:
        assert (await import_(client, SEED)).status_code == 200
    before = await export(client)
    changes, cursor = await feed(client)

    document = copy.deepcopy(SEED)
    expected = three_errors(document, new_records=True)
    # Valid changes, which the importer writes before it meets the errors: rolled back too.
    document["persons"][1]["name"] = "A valid change, rolled back with the rest"
    document["topics"].append({"slug": "arctic", "name": "The Arctic"})
    response = await import_(client, document)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert {e["pointer"] for e in problem["errors"]} == expected
    assert all(e["message"] for e in problem["errors"])

    assert differences(before, await export(client)) == []
    assert (await feed(client)) == (changes, cursor)


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b'{"format": "entente-dataset", "version": 1,}', b"\xff\xfe"],
    ids=["truncated", "text", "trailing-comma", "not-utf8"],
)
async def test_a_document_that_is_not_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    before = await export(client)
    response = await client.post(
        "/import", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert differences(before, await export(client)) == []


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"format": "popolo"}, "/format"),
        ({"version": 2}, "/version"),
        ({"version": "1"}, "/version"),
        ({"format": None}, "/format"),
        ({"sessions": {"council": "ccqs"}}, "/sessions"),
        ({"extra": []}, "/extra"),
    ],
    ids=["format", "version", "version-as-string", "format-null", "sessions-object", "extra"],
)
async def test_a_document_of_another_format_or_version_is_422(
    client: httpx.AsyncClient, change: dict[str, Any], pointer: str
) -> None:
    before = await export(client)
    document = copy.deepcopy(SEED) | change
    document["persons"][0]["name"] = "Not imported"
    response = await import_(client, document)
    assert response.status_code == 422, response.text
    assert pointer in {e["pointer"] for e in response.json()["errors"]}
    assert differences(before, await export(client)) == []


@pytest.mark.parametrize(
    "document",
    [[], "entente-dataset", 1, None, {}],
    ids=["array", "string", "number", "null", "empty"],
)
async def test_a_json_value_that_is_no_dataset_is_422(
    client: httpx.AsyncClient, document: Any
) -> None:
    response = await client.post(
        "/import", content=json.dumps(document), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    assert (await export(client))["sessions"] == []


async def test_import_needs_a_write_key(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await anonymous.post("/import", json=SEED)
    assert response.status_code == 401
    async with http_client(app, await make_key(app, "reader", Scope.read)) as reader:
        assert (await reader.post("/import", json=SEED)).status_code == 403
    assert (await export(client))["councils"] == []


# ---------------------------------------------------------------- JSON Schema


async def dataset_schema(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/schemas/dataset.json")
    assert response.status_code == 200, response.text
    schema: dict[str, Any] = response.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


async def test_exports_validate_against_the_published_schema(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    schema = await dataset_schema(client)
    assert schema_errors(schema, SEED) == []
    assert schema_errors(schema, await export(client)) == []
    await add_records_beyond_the_seed(client)
    exported = await export(client)
    assert schema_errors(schema, exported) == []

    # The schema does refuse what the importer refuses, so the checks above can fail.
    wrong = copy.deepcopy(exported) | {"version": 2}
    wrong["sessions"][0]["start_date"] = "21/02/2007"
    wrong["persons"][0]["unknown_field"] = True
    problems = schema_errors(schema, wrong)
    assert any(p.startswith("$.version") for p in problems), problems
    assert any(p.startswith("$.sessions[0].start_date") for p in problems), problems
    assert any(p.startswith("$.persons[0]") for p in problems), problems


async def test_an_empty_export_validates_too(client: httpx.AsyncClient) -> None:
    schema = await dataset_schema(client)
    assert schema_errors(schema, await export(client)) == []


# ---------------------------------------------------------------- v1.1: meetings outside councils

MEETINGS_SOURCE = "https://archives.example.org/visits-1966"


def meetings_dataset() -> dict[str, Any]:
    """A register of visits: meetings outside councils keyed by slug, with their kinds,
    parties and register numbers, and a council session that has a slug too."""
    return {
        "format": "entente-dataset",
        "version": 1,
        "sources": [{"url": MEETINGS_SOURCE, "title": "Register of official visits, 1966"}],
        "persons": [
            {"key": "de-gaulle", "name": "Charles de Gaulle", "nationality": "FR"},
            {"key": "couve", "name": "Maurice Couve de Murville", "nationality": "FR"},
            {"key": "kosygin", "name": "Alexeï Kossyguine", "nationality": "SUHH"},
            {"key": "ulbricht", "name": "Walter Ulbricht", "nationality": "DDDE"},
        ],
        "councils": [
            {
                "slug": "franco-soviet-commission",
                "name": "Franco-Soviet Grand Commission",
                "kind": "bilateral",
                "member_countries": ["FR", "SUHH"],
            }
        ],
        "sessions": [
            {
                "slug": "1966-06-de-gaulle-ussr",
                "kind": "state_visit",
                "countries": ["FR", "SUHH"],
                "identifiers": [{"scheme": "mfa-fr", "identifier": "1966-042"}],
                "title": "General de Gaulle's state visit to the Soviet Union",
                "start_date": "1966-06-20",
                "end_date": "1966-07-01",
                "host_country": "SUHH",
                "location": {"city": "Moscow", "country": "SUHH"},
                "summary": "Talks in the Kremlin; a journey to Novosibirsk and Baikonur.",
                "participants": [
                    {"person": "de-gaulle", "delegation": "FR", "role": "principal"},
                    {"person": "couve", "delegation": "FR"},
                    {"person": "kosygin", "delegation": "SUHH", "role": "host"},
                ],
                "sources": [MEETINGS_SOURCE],
            },
            {
                "slug": "1966-12-kosygin-paris",
                "kind": "official_visit",
                "countries": ["SUHH", "FR", "DDDE"],
                "identifiers": [{"scheme": "mfa-fr", "identifier": "1966-097"}],
                "title": "Alexei Kosygin's visit to France",
                "start_date": "1966-12-01",
                "end_date": "1966-12-09",
                "host_country": "FR",
                "participants": [
                    {"person": "kosygin", "delegation": "SUHH", "role": "principal"},
                    {"person": "ulbricht", "delegation": "DDDE", "role": "observer"},
                    {"person": "de-gaulle", "delegation": "FR", "role": "host"},
                ],
            },
            {
                "council": "franco-soviet-commission",
                "slug": "grand-commission-1",
                "identifiers": [{"scheme": "mfa-fr", "identifier": "1967-001"}],
                "ordinal": 1,
                "start_date": "1967-01-10",
                "participants": [{"person": "couve", "delegation": "FR"}],
            },
        ],
    }


async def sessions_outside_councils(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/sessions", params={"council": "none", "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_meetings_outside_councils_import_twice_without_doubles(
    client: httpx.AsyncClient,
) -> None:
    document = meetings_dataset()
    response = await import_(client, document)
    assert response.status_code == 200, response.text
    meetings = await sessions_outside_councils(client)
    assert [(m["slug"], m["kind"], m["countries"], m["council"]) for m in meetings] == [
        ("1966-06-de-gaulle-ussr", "state_visit", ["FR", "SUHH"], None),
        ("1966-12-kosygin-paris", "official_visit", ["SUHH", "FR", "DDDE"], None),
    ]
    visit = (await client.get("/sessions/1966-06-de-gaulle-ussr")).json()
    assert visit["identifiers"] == [{"scheme": "mfa-fr", "identifier": "1966-042"}]
    assert [p["delegation"] for p in visit["participants"]] == ["FR", "FR", "SUHH"]
    council_session = (await client.get("/sessions/grand-commission-1")).json()
    assert (council_session["kind"], council_session["countries"]) == (
        "council_session",
        ["FR", "SUHH"],
    )
    # Found by search as records made through the API are.
    found = (await client.get("/sessions", params={"q": "baikonur"})).json()["items"]
    assert [s["slug"] for s in found] == ["1966-06-de-gaulle-ussr"]
    people = (await client.get("/persons", params={"q": "kosygin"})).json()["items"]
    assert [p["key"] for p in people] == ["kosygin"]
    changes, cursor = await feed(client)
    assert sorted(c["entity"] for c in changes if c["action"] == "created") == sorted(
        ["source", "council"] + ["person"] * 4 + ["session"] * 3
    )
    exported = await export(client)
    audit = (await client.get("/audit", params={"limit": 200})).json()

    response = await import_(client, document)
    assert response.status_code == 200, response.text
    assert len(await sessions_outside_councils(client)) == 2
    assert (await feed(client)) == (changes, cursor)
    assert (await client.get("/audit", params={"limit": 200})).json() == audit
    assert differences(exported, await export(client)) == []


async def test_a_document_without_the_new_fields_keeps_them_as_stored(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """A dataset of version 1 as it was before v1.1 means what it meant: importing it over
    sessions given a slug and identifiers since changes nothing."""
    sixth = ccqs["sixth"]["id"]
    response = await client.patch(
        f"/sessions/{sixth}",
        json={"slug": "ccqs-6", "identifiers": [{"scheme": "mfa-fr", "identifier": "2007-1"}]},
    )
    assert response.status_code == 200, response.text
    before = await export(client)
    changes, cursor = await feed(client)
    response = await import_(client, SEED)
    assert response.status_code == 200, response.text
    assert differences(before, await export(client)) == []
    assert (await feed(client)) == (changes, cursor)


async def add_meetings_beyond_the_dataset(client: httpx.AsyncClient) -> None:
    """Meetings made through the API: one without a slug (its export makes one up), and a
    council session given a slug and identifiers."""
    response = await client.post(
        "/sessions",
        json={
            "kind": "summit",
            "countries": ["FR", "DE", "PL"],
            "title": "Weimar Triangle summit of 1991",
            "start_date": "1991-08-29",
            "host_country": "DE",
        },
    )
    assert response.status_code == 201, response.text
    keyless = response.json()
    assert keyless["slug"] is None
    persons = (await client.get("/persons", params={"limit": 200})).json()["items"]
    de_gaulle = next(p for p in persons if p["key"] == "de-gaulle")
    response = await client.post(
        f"/sessions/{keyless['id']}/participants",
        json={"person_id": de_gaulle["id"], "delegation": "FR", "role": "principal"},
    )
    assert response.status_code == 201, response.text
    response = await client.patch(
        "/sessions/grand-commission-1",
        json={
            "identifiers": [
                {"scheme": "mfa-fr", "identifier": "1967-001"},
                {"scheme": "x", "identifier": "1"},
            ]
        },
    )
    assert response.status_code == 200, response.text


async def test_export_import_export_is_byte_identical_with_meetings(
    client: httpx.AsyncClient, ccqs: dict[str, Any], empty_api: httpx.AsyncClient
) -> None:
    await add_records_beyond_the_seed(client)
    assert (await import_(client, meetings_dataset())).status_code == 200
    await add_meetings_beyond_the_dataset(client)
    first = await client.get("/export")
    exported = first.json()
    kinds = [(s["council"], s["kind"], s["slug"] is not None) for s in exported["sessions"]]
    assert (None, "summit", True) in kinds  # the made-up slug of the keyless summit
    assert ("ccqs", "council_session", False) in kinds

    response = await import_(empty_api, exported)
    assert response.status_code == 200, response.text
    again = await empty_api.get("/export")
    assert differences(exported, again.json()) == []
    assert again.content == first.content

    # Imported where it came from, the export finds every record, the keyless summit too.
    changes, cursor = await feed(client)
    assert (await import_(client, exported)).status_code == 200
    assert (await feed(client)) == (changes, cursor)
    assert len(await sessions_outside_councils(client)) == 3


def _meeting(document: dict[str, Any]) -> dict[str, Any]:
    meeting: dict[str, Any] = document["sessions"][0]
    return meeting


def _council_session(document: dict[str, Any]) -> dict[str, Any]:
    session: dict[str, Any] = document["sessions"][2]
    return session


# Each breaks one rule of v1.1 in the meetings dataset; the pointer the import must give.
BROKEN_RULES: dict[str, tuple[Any, str]] = {
    "meeting-without-slug": (lambda d: _meeting(d).pop("slug"), "/sessions/0/slug"),
    "meeting-without-kind": (lambda d: _meeting(d).pop("kind"), "/sessions/0/kind"),
    "meeting-of-kind-council-session": (
        lambda d: _meeting(d).update(kind="council_session"),
        "/sessions/0/kind",
    ),
    "meeting-of-one-country": (
        lambda d: _meeting(d).update(countries=["SUHH"]),
        "/sessions/0/countries",
    ),
    "meeting-without-countries": (lambda d: _meeting(d).pop("countries"), "/sessions/0/countries"),
    "host-not-a-party": (
        lambda d: _meeting(d).update(host_country="DE"),
        "/sessions/0/host_country",
    ),
    "numbered-meeting": (lambda d: _meeting(d).update(ordinal=2), "/sessions/0/ordinal"),
    "meeting-without-title": (lambda d: _meeting(d).pop("title"), "/sessions/0/title"),
    "meeting-with-guests": (
        lambda d: _meeting(d).update(guest_countries=["DE"]),
        "/sessions/0/guest_countries",
    ),
    "slug-shaped-like-an-id": (
        lambda d: _meeting(d).update(slug="01a24e10-9d55-7759-adf2-bdd5fbf24b94"),
        "/sessions/0/slug",
    ),
    "unknown-former-country": (
        lambda d: _meeting(d).update(countries=["FR", "SUXX"]),
        "/sessions/0/countries/1",
    ),
    "delegation-not-a-party": (
        lambda d: _meeting(d)["participants"][1].update(delegation="DDDE"),
        "/sessions/0/participants/1/delegation",
    ),
    "council-session-with-countries": (
        lambda d: _council_session(d).update(countries=["FR", "SUHH"]),
        "/sessions/2/countries",
    ),
    "council-session-of-another-kind": (
        lambda d: _council_session(d).update(kind="summit"),
        "/sessions/2/kind",
    ),
    "unknown-council": (
        lambda d: _council_session(d).update(council="nowhere"),
        "/sessions/2/council",
    ),
    "identifier-of-two-sessions": (
        lambda d: d["sessions"][1].update(identifiers=_meeting(d)["identifiers"]),
        "/sessions/1/identifiers/0",
    ),
    "identifier-listed-twice": (
        lambda d: _meeting(d)["identifiers"].append(dict(_meeting(d)["identifiers"][0])),
        "/sessions/0/identifiers/1",
    ),
    "slug-of-two-sessions": (
        lambda d: d["sessions"][1].update(slug=_meeting(d)["slug"]),
        "/sessions/1/slug",
    ),
    "slug-of-a-council-session-twice": (
        lambda d: _council_session(d).update(slug=_meeting(d)["slug"]),
        "/sessions/2/slug",
    ),
}


@pytest.mark.parametrize("rule", sorted(BROKEN_RULES))
async def test_every_meeting_rule_is_kept_by_the_import(
    client: httpx.AsyncClient, ccqs: dict[str, Any], rule: str
) -> None:
    break_rule, pointer = BROKEN_RULES[rule]
    document = meetings_dataset()
    break_rule(document)
    before = await export(client)
    changes, cursor = await feed(client)
    audit = (await client.get("/audit", params={"limit": 200})).json()

    response = await import_(client, document)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert pointer in {e["pointer"] for e in errors}, errors
    assert all(e["pointer"].startswith(pointer.rsplit("/", 1)[0]) for e in errors), errors
    assert differences(before, await export(client)) == []
    assert (await feed(client)) == (changes, cursor)
    assert (await client.get("/audit", params={"limit": 200})).json() == audit
    assert gc.isenabled()


async def test_an_identifier_held_by_a_stored_session_is_refused(
    client: httpx.AsyncClient,
) -> None:
    assert (await import_(client, meetings_dataset())).status_code == 200
    before = await export(client)
    document = meetings_dataset()
    document["sessions"].append(
        {
            "slug": "1966-another-visit",
            "kind": "visit",
            "countries": ["FR", "SUHH"],
            "title": "Another visit",
            "start_date": "1966-09-01",
            "identifiers": [{"scheme": "mfa-fr", "identifier": "1966-097"}],
        }
    )
    response = await import_(client, document)
    assert response.status_code == 422, response.text
    assert [e["pointer"] for e in response.json()["errors"]] == ["/sessions/3/identifiers/0"]
    assert differences(before, await export(client)) == []


async def test_a_medium_dataset_gives_the_same_export_through_the_api_and_the_cli(
    app: FastAPI, client: httpx.AsyncClient, empty_api: httpx.AsyncClient
) -> None:
    """300 sessions of bench/dataset.py (council sessions and meetings outside councils,
    with their persons, participants, segments and agendas): written a batch at a time,
    they read back as the same export whichever way they came in."""
    from app.cli import load_dataset

    document = generate(sessions=300, persons=120)
    await load_dataset(app.state.settings.database_url, orjson.dumps(document))
    assert gc.isenabled()
    response = await empty_api.post(
        "/import", content=orjson.dumps(document), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert gc.isenabled()  # the cycle collector, paused for each import, runs again
    by_cli, by_api = await client.get("/export"), await empty_api.get("/export")
    assert differences(by_cli.json(), by_api.json()) == []
    assert by_cli.content == by_api.content
    exported = by_cli.json()
    assert len(exported["sessions"]) == 300
    assert sum(len(s["participants"]) for s in exported["sessions"]) == sum(
        len(s["participants"]) for s in document["sessions"]
    )
    # Each record created once, in the feed and in the audit trail.
    changes, _ = await feed(empty_api)
    created = [(c["entity"], c["id"]) for c in changes]
    assert len(created) == len(set(created))
    assert sorted({entity for entity, _ in created}) == [
        "council",
        "person",
        "session",
        "source",
        "topic",
    ]
    assert sum(entity == "session" for entity, _ in created) == 300


ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def without_ids(value: Any) -> Any:
    """A value with its ids and timestamps blanked: what two databases share."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    if isinstance(value, str) and ID.match(value):
        return "<id>"
    if isinstance(value, str) and TIME.match(value):
        return "<time>"
    return value


async def journal_of(client: httpx.AsyncClient) -> list[Any]:
    """Every audit entry but those of keys, as (action, entity, changes) without ids, sorted."""
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = (await client.get("/audit", params=params)).json()
        entries += [e for e in page["items"] if e["entity"] != "api_key"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    return sorted(
        orjson.dumps(without_ids([e["action"], e["entity"], e["changes"]])) for e in entries
    )


async def test_an_import_journals_its_records_as_the_api_writes_them(
    client: httpx.AsyncClient, empty_api: httpx.AsyncClient
) -> None:
    """The meetings dataset imported, and the same records written one by one through the
    API: the same audit entries (but for ids and times), and the same records created."""
    document = meetings_dataset()
    assert (await import_(client, document)).status_code == 200

    source = await empty_api.post("/sources", json=document["sources"][0])
    assert source.status_code == 201, source.text
    persons = {}
    for person in document["persons"]:
        response = await empty_api.post("/persons", json=person)
        assert response.status_code == 201, response.text
        persons[person["key"]] = response.json()["id"]
    council = await empty_api.post("/councils", json=document["councils"][0])
    assert council.status_code == 201, council.text
    for session in document["sessions"]:
        fields = {k: v for k, v in session.items() if k not in ("council", "participants")}
        if "sources" in fields:
            fields["source_ids"] = [source.json()["id"] for _ in fields.pop("sources")]
        if "council" in session:
            fields["council_id"] = session["council"]
        response = await empty_api.post("/sessions", json=fields)
        assert response.status_code == 201, response.text
        for participant in session["participants"]:
            seat = {k: v for k, v in participant.items() if k != "person"}
            seat["person_id"] = persons[participant["person"]]
            added = await empty_api.post(
                f"/sessions/{response.json()['id']}/participants", json=seat
            )
            assert added.status_code == 201, added.text

    imported, written = await journal_of(client), await journal_of(empty_api)
    assert len(imported) == 4 + 1 + 1 + 3 + 7
    assert imported == written
    # In the feed, the import's one transaction lists each record once, as created; the
    # API's requests list the same creations, and a session updated by each participant.
    by_import, by_api = (await feed(client))[0], (await feed(empty_api))[0]
    assert {c["action"] for c in by_import} == {"created"}
    assert sorted(c["entity"] for c in by_import) == sorted(
        c["entity"] for c in by_api if c["action"] == "created"
    )
    # Found by the same words.
    for words in ("kossyguine", "kosygin", "baikonur", "grand commission", "visit France"):
        found = [
            [
                (hit["type"], hit["label"])
                for hit in (await api.get("/search", params={"q": words})).json()["items"]
            ]
            for api in (client, empty_api)
        ]
        assert found[0] == found[1] != [], words


async def test_a_refused_import_still_checks_every_participant(
    client: httpx.AsyncClient,
) -> None:
    """Once an import is known to be refused (here by a person without a name), the
    participants left are checked without being written: their problems are listed all
    the same."""
    document = meetings_dataset()
    document["persons"][0]["name"] = ""
    document["sessions"][1]["participants"][0]["delegation"] = "DE"
    document["sessions"][2]["participants"].append({"person": "couve", "delegation": "SUHH"})
    response = await import_(client, document)
    assert response.status_code == 422, response.text
    assert sorted(e["pointer"] for e in response.json()["errors"]) == [
        "/persons/0/name",
        "/sessions/0/participants/0/person",  # de Gaulle, refused
        "/sessions/1/participants/0/delegation",
        "/sessions/1/participants/2/person",  # de Gaulle, refused
        "/sessions/2/participants/1",  # Couve de Murville, twice
    ]
    assert (await export(client))["sessions"] == []
