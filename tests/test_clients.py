"""The OpenAPI document generates good clients: Spectral's `spectral:oas` rules find no
error, openapi-typescript and openapi-python-client generate without warnings, and the
generated Python client creates and reads back a session on a running server."""

import importlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.processes import Server, entente, server_env

TOOLS = Path(__file__).resolve().parent / "clients"
NODE_BIN = TOOLS / "node_modules" / ".bin"
BIN = Path(sys.executable).parent
needs_node_tools = pytest.mark.skipif(
    not (NODE_BIN / "spectral").exists(),
    reason="node tools not installed: run `make test` (npm ci in tests/clients)",
)


@pytest.fixture
def openapi_file(app: FastAPI, tmp_path: Path) -> Path:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(app.openapi()))
    return path


@needs_node_tools
def test_spectral_finds_no_problem(openapi_file: Path) -> None:
    done = subprocess.run(
        [
            str(NODE_BIN / "spectral"),
            "lint",
            str(openapi_file),
            "--ruleset",
            str(TOOLS / ".spectral.yaml"),
            "--fail-severity",
            "warn",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@needs_node_tools
def test_openapi_typescript_generates_without_warnings(openapi_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "schema.d.ts"
    done = subprocess.run(
        [str(NODE_BIN / "openapi-typescript"), str(openapi_file), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "warn" not in (done.stdout + done.stderr).lower(), done.stdout + done.stderr
    assert '"/api/v1/sessions/{session_id}"' in out.read_text()


def test_generated_python_client_creates_and_reads_a_session(
    openapi_file: Path, tmp_path: Path, database_url: str
) -> None:
    generator = shutil.which("openapi-python-client", path=str(BIN))
    assert generator is not None, "openapi-python-client is a dev dependency"
    done = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(openapi_file),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "entente_client"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{BIN}:/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr

    env = server_env(database_url)
    token = entente(env, "keys", "create", "--name", "generated-client", "--scope", "write")
    server = Server(env, tmp_path / "server.log")
    server.start()
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module("entente_client")
        councils_create = importlib.import_module("entente_client.api.councils.councils_create")
        sessions_create = importlib.import_module("entente_client.api.sessions.sessions_create")
        sessions_get = importlib.import_module("entente_client.api.sessions.sessions_get")
        models = importlib.import_module("entente_client.models")
        client = client_module.AuthenticatedClient(base_url=server.url, token=token.splitlines()[0])
        council = councils_create.sync(
            client=client,
            body=models.CouncilCreate(
                slug="gen-council",
                name="Generated Council",
                kind=models.CouncilKind.BILATERAL,
                member_countries=[models.CountryCode.FR, models.CountryCode.RU],
            ),
        )
        assert isinstance(council, models.CouncilRead), council
        created = sessions_create.sync(
            client=client,
            body=models.SessionCreate(
                council_id="gen-council", start_date=date(2007, 2, 21), ordinal=7
            ),
        )
        assert isinstance(created, models.SessionRead), created
        read = sessions_get.sync(session_id=created.id, client=client)
        assert isinstance(read, models.SessionRead), read
        assert read.title == "7th session of the Generated Council"
        assert read.council.slug == "gen-council"
        assert read.start_date == date(2007, 2, 21)  # parsed: the schema says `format: date`
        client.__exit__(None, None, None)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("entente_client")]:
            del sys.modules[name]
        server.stop()
