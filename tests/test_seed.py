"""The `entente` command (migrate, seed, import) as an operator runs it, on a fresh SQLite
file, and the dataset importer's all-or-nothing rule on both databases."""

import asyncio
import copy
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import openapi_examples
from app.cli import load_dataset
from app.config import Settings
from app.main import create_app, shut_down
from tests.factories import differences, three_errors

REPO = Path(__file__).resolve().parent.parent
SEED = json.loads((REPO / "app" / "data" / "ccqs.json").read_text())
ENTENTE = shutil.which("entente", path=str(Path(sys.executable).parent))


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'entente.db'}"


async def entente(url: str, *args: str) -> Run:
    """Run the console script against `url`, with the code of this checkout."""
    assert ENTENTE is not None, "the entente console script is not installed beside python"
    env = os.environ | {"ENTENTE_DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        ENTENTE,
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def api(database_file: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client over the database file that the commands work on."""
    app = create_app(Settings(database_url=database_file))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver/api/v1"
        ) as client:
            yield client
    finally:
        await shut_down(app)


async def everything(client: httpx.AsyncClient) -> dict[str, Any]:
    """Every record the API shows, with ids and timestamps: equal snapshots mean that
    nothing was written in between."""
    snapshot: dict[str, Any] = {}
    for path in ("/councils", "/sessions", "/persons", "/topics", "/sources"):
        response = await client.get(path, params={"limit": 200})
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        snapshot[path.strip("/")] = response.json()["items"]
    for session in snapshot["sessions"]:
        detail = await client.get(f"/sessions/{session['id']}")
        assert detail.status_code == 200
        snapshot[session["id"]] = detail.json()
    return snapshot


def dataset_file(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(document))
    return path


async def test_migrate_and_seed_twice(database_file: str, api: httpx.AsyncClient) -> None:
    migrated = await entente(database_file, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert (await api.get("http://testserver/readyz")).status_code == 200

    first = await entente(database_file, "seed")
    assert first.returncode == 0, first.stderr
    assert "imported" in first.stdout
    seeded = await everything(api)
    assert [c["slug"] for c in seeded["councils"]] == ["ccqs"]
    assert [s["ordinal"] for s in seeded["sessions"]] == [5, 6]
    assert len(seeded["persons"]) == len(SEED["persons"])
    assert len(seeded["topics"]) == len(SEED["topics"])
    sixth = seeded[seeded["sessions"][1]["id"]]
    assert len(sixth["participants"]) == 5
    assert len(sixth["agenda"]) == 11

    # An upsert of the same document: not one record, id or updated_at changes.
    second = await entente(database_file, "seed")
    assert second.returncode == 0, second.stderr
    assert differences(seeded, await everything(api)) == []


async def test_seed_if_empty(database_file: str, api: httpx.AsyncClient) -> None:
    assert (await entente(database_file, "migrate")).returncode == 0
    loaded = await entente(database_file, "seed", "--if-empty")
    assert loaded.returncode == 0, loaded.stderr
    assert "imported" in loaded.stdout
    seeded = await everything(api)
    assert [c["slug"] for c in seeded["councils"]] == ["ccqs"]

    skipped = await entente(database_file, "seed", "--if-empty")
    assert skipped.returncode == 0, skipped.stderr
    assert "not loaded" in skipped.stdout
    assert differences(seeded, await everything(api)) == []


async def test_seed_gives_a_new_database_the_ids_the_examples_name(
    database_file: str, api: httpx.AsyncClient
) -> None:
    """On a new database the seeded records get the same ids every time, those of the
    OpenAPI examples; on one written to before, new ids that cannot collide."""
    assert (await entente(database_file, "migrate")).returncode == 0
    assert (await entente(database_file, "seed", "--if-empty")).returncode == 0
    seeded = await everything(api)
    assert [s["id"] for s in seeded["sessions"]] == [
        openapi_examples.FIFTH_SESSION,
        openapi_examples.SIXTH_SESSION,
    ]
    lavrov = (await api.get("/persons", params={"q": "Lavrov"})).json()["items"][0]
    assert lavrov["id"] == openapi_examples.LAVROV

    made = await entente(database_file, "keys", "create", "--name", "admin", "--scope", "admin")
    key = {"Authorization": f"Bearer {made.stdout.split()[0]}"}
    removed = await api.delete(f"/sessions/{openapi_examples.SIXTH_SESSION}", headers=key)
    assert removed.status_code == 204
    again = await entente(database_file, "seed")
    assert again.returncode == 0, again.stderr
    sixth = (await api.get("/councils/ccqs/sessions")).json()["items"][1]
    assert sixth["ordinal"] == 6
    assert sixth["id"] not in {openapi_examples.FIFTH_SESSION, openapi_examples.SIXTH_SESSION}


async def test_import_of_an_invalid_document_changes_nothing(
    database_file: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await entente(database_file, "migrate")).returncode == 0
    assert (await entente(database_file, "seed")).returncode == 0
    seeded = await everything(api)

    document = copy.deepcopy(SEED)
    document["councils"][0]["member_countries"] = ["FR", "ZZ"]
    document["sessions"][1]["start_date"] = "2007-02-30"
    document["persons"][0]["id"] = "x"
    result = await entente(database_file, "import", str(dataset_file(tmp_path, document)))
    assert result.returncode != 0
    for pointer in ("/councils/0/member_countries/1", "/sessions/1/start_date", "/persons/0/id"):
        assert pointer in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert differences(seeded, await everything(api)) == []


async def test_import_with_unknown_references_changes_nothing(
    database_file: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """A document valid in shape whose records refer to what does not exist: refused
    with every pointer, and rolled back whole, including the valid change to a person
    that the importer wrote before it met the first error."""
    assert (await entente(database_file, "migrate")).returncode == 0
    assert (await entente(database_file, "seed")).returncode == 0
    seeded = await everything(api)

    document = copy.deepcopy(SEED)
    document["persons"][0]["name"] = "Changed, but rolled back"
    document["councils"][0]["sources"] = ["https://example.org/never-listed"]
    document["sessions"][0]["council"] = "no-such-council"
    document["sessions"][1]["participants"][2]["person"] = "nobody"
    result = await entente(database_file, "import", str(dataset_file(tmp_path, document)))
    assert result.returncode != 0
    for pointer in (
        "/councils/0/sources/0",
        "/sessions/0/council",
        "/sessions/1/participants/2/person",
    ):
        assert pointer in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert differences(seeded, await everything(api)) == []


async def test_import_of_a_missing_or_non_json_file(
    database_file: str, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await entente(database_file, "migrate")).returncode == 0
    not_json = tmp_path / "notes.txt"
    not_json.write_text("not a dataset")
    result = await entente(database_file, "import", str(not_json))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    missing = await entente(database_file, "import", str(tmp_path / "missing.json"))
    assert missing.returncode != 0
    assert "missing.json" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert (await api.get("/councils")).json()["items"] == []


# The importer itself, on SQLite and PostgreSQL.


def pointers_in(message: str) -> set[str]:
    return {
        line.strip().split(": ", 1)[0] for line in message.splitlines() if line.startswith("  /")
    }


async def test_importer_lists_every_error_of_new_records(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Into an empty database: the three errors are all reported, and nothing is stored."""
    document = copy.deepcopy(SEED)
    expected = three_errors(document, new_records=True)
    with pytest.raises(SystemExit) as refused:
        await load_dataset(app.state.settings.database_url, json.dumps(document).encode())
    assert pointers_in(str(refused.value.code)) == expected
    for path in ("/councils", "/sessions", "/persons", "/topics", "/sources"):
        assert (await client.get(path)).json()["items"] == [], path


async def test_importer_lists_every_error_of_changed_records(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    """Over the seed: the three errors are all reported, and nothing changes."""
    before = await everything(client)
    document = copy.deepcopy(SEED)
    expected = three_errors(document, new_records=False)
    document["persons"][1]["name"] = "A valid change, rolled back with the rest"
    with pytest.raises(SystemExit) as refused:
        await load_dataset(app.state.settings.database_url, json.dumps(document).encode())
    assert pointers_in(str(refused.value.code)) == expected
    assert differences(before, await everything(client)) == []


async def test_importer_lists_every_error_of_one_record(
    client: httpx.AsyncClient, app: FastAPI, ccqs: dict[str, Any]
) -> None:
    """The contract asks for every problem, not the first of each record: a session with
    an unknown participant and an unknown agenda topic gives both pointers."""
    before = await everything(client)
    document = copy.deepcopy(SEED)
    document["sessions"][1]["participants"][2]["person"] = "nobody"
    document["sessions"][1]["agenda"][3]["topic"] = "no-such-topic"
    with pytest.raises(SystemExit) as refused:
        await load_dataset(app.state.settings.database_url, json.dumps(document).encode())
    assert pointers_in(str(refused.value.code)) == {
        "/sessions/1/participants/2/person",
        "/sessions/1/agenda/3/topic",
    }
    assert differences(before, await everything(client)) == []


async def test_export_is_a_logical_backup_that_restores(database_file: str, tmp_path: Path) -> None:
    """`entente export > FILE` from a seeded database, `entente import FILE` into a new
    one: exporting the new one gives the same document (the README's backup recipe)."""
    assert (await entente(database_file, "migrate")).returncode == 0
    assert (await entente(database_file, "seed")).returncode == 0
    backup = await entente(database_file, "export")
    assert backup.returncode == 0
    dump = tmp_path / "backup.json"
    dump.write_text(backup.stdout)
    restored = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    assert (await entente(restored, "migrate")).returncode == 0
    assert (await entente(restored, "import", str(dump))).returncode == 0
    again = await entente(restored, "export")
    assert json.loads(again.stdout) == json.loads(backup.stdout)
    assert json.loads(backup.stdout)["councils"][0]["slug"] == "ccqs"
