"""Time the import of a large dataset (bench/dataset.py) through `POST /import` and
`entente import`, on PostgreSQL and on SQLite, and the refusal of one with errors.

    python -m bench.importing --postgresql postgresql+asyncpg://postgres@127.0.0.1/entente_import \\
        --sqlite /tmp/entente-import.db

Each database named is dropped and made anew (PostgreSQL: the database and a second one,
`<name>_cli`; SQLite: the file and `<file>-cli`). Entente runs as the Dockerfile runs it
(`entente serve`, one worker). For each database: the import through the API into an
empty database, the same import again (which must change nothing), the import through
the CLI into a second empty database (whose export must be the API's, byte for byte),
and a dataset with errors refused by each. The figures are printed and written to
bench/results/<date>-import.json.
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.dataset import break_rules, generate

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Rows an import writes, by table (the audit entries of API keys are not the import's).
COUNTED = {
    table: f"SELECT count(*) FROM {table}"
    for table in ("council_session", "participation", "person", "change", "search_term")
} | {"audit_entry": "SELECT count(*) FROM audit_entry WHERE entity <> 'api_key'"}


def environment(url: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "ENTENTE_DATABASE_URL": url, "PYTHONPATH": path}


def entente(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "entente"), *args],
        capture_output=True,
        text=True,
        check=check,
        cwd=ROOT,
        env=environment(url),
    )


def fresh(url: str) -> None:
    """An empty, migrated database at `url`."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = make_url(url).database
        admin = make_url(url).set(database="postgres")

        async def remake() -> None:
            engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            await engine.dispose()

        asyncio.run(remake())
    entente(url, "migrate")


def counts(url: str) -> dict[str, int]:
    """The rows of COUNTED."""

    async def count() -> dict[str, int]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            found = {
                table: (await connection.execute(text(query))).scalar_one()
                for table, query in COUNTED.items()
            }
        await engine.dispose()
        return found

    return asyncio.run(count())


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def server(url: str) -> Iterator[tuple[str, str, int]]:
    """Entente serving `url` on a free port: its base URL, a key with the write scope, and
    its process id."""
    # Key names are unique: a database served twice (bench.streaming's) gets a second one.
    name = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    key = entente(url, "keys", "create", "--name", name, "--scope", "write").stdout
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "entente"), "serve", "--port", str(port)],
        env=environment(url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base, key.split()[0], process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(base: str, key: str, body: bytes) -> tuple[int, dict[str, Any], float]:
    request = urllib.request.Request(
        f"{base}/api/v1/import",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    return status, orjson.loads(answer), round(time.perf_counter() - started, 2)


def timed_cli(url: str, path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = entente(url, "import", str(path), check=False)
    return done, round(time.perf_counter() - started, 2)


def measure(url: str, good: Path, faulty: Path, pointers: list[str]) -> dict[str, Any]:
    second = url + "-cli" if url.startswith("sqlite") else url + "_cli"
    body = good.read_bytes()
    fresh(url)
    with server(url) as (base, key, pid):
        status, _, api_seconds = post(base, key, body)
        assert status == 200, status
        peak = peak_rss_mb(pid)
        imported = counts(url)
        status, _, again_seconds = post(base, key, body)
        assert status == 200, status
        assert counts(url) == imported, "the second import changed something"
        by_api = urllib.request.urlopen(f"{base}/api/v1/export", timeout=300).read()
    fresh(second)
    done, cli_seconds = timed_cli(second, good)
    assert done.returncode == 0, done.stderr
    assert counts(second) == imported
    assert (
        entente(second, "export").stdout.encode()
        == orjson.dumps(orjson.loads(by_api), option=orjson.OPT_INDENT_2) + b"\n"
    ), "the API's and the CLI's imports export differently"

    fresh(url)
    with server(url) as (base, key, _):
        status, problem, refuse_api_seconds = post(base, key, faulty.read_bytes())
        assert status == 422, status
        listed = {e["pointer"] for e in problem["errors"]}
        assert set(pointers) <= listed, sorted(set(pointers) - listed)
    empty = counts(url)
    assert empty["council_session"] == empty["person"] == empty["change"] == 0, empty
    done, refuse_cli_seconds = timed_cli(url, faulty)
    assert done.returncode != 0
    return {
        "api_seconds": api_seconds,
        "cli_seconds": cli_seconds,
        "reimport_api_seconds": again_seconds,
        "refuse_api_seconds": refuse_api_seconds,
        "refuse_cli_seconds": refuse_cli_seconds,
        "problems_listed": len(problem["errors"]),
        "server_peak_rss_mb": peak,
        "rows": imported,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgresql", help="a PostgreSQL URL (its database is made anew)")
    parser.add_argument("--sqlite", help="a SQLite file (made anew)")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--persons", type=int, default=4_000)
    parser.add_argument("--errors", type=int, default=40)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    document = generate(sessions=args.sessions, persons=args.persons)
    broken = generate(sessions=args.sessions, persons=args.persons)
    pointers = break_rules(broken, args.errors)
    with tempfile.TemporaryDirectory() as folder:
        good, faulty = Path(folder, "dataset.json"), Path(folder, "faulty.json")
        good.write_bytes(orjson.dumps(document))
        faulty.write_bytes(orjson.dumps(broken))
        results = {}
        if args.postgresql:
            results["postgresql"] = measure(args.postgresql, good, faulty, pointers)
            print("postgresql", results["postgresql"], flush=True)
        if args.sqlite:
            url = f"sqlite+aiosqlite:///{Path(args.sqlite).resolve()}"
            results["sqlite"] = measure(url, good, faulty, pointers)
            print("sqlite", results["sqlite"], flush=True)
        size = good.stat().st_size
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "dataset": {
            "generator": f"bench.dataset --sessions {args.sessions} --persons {args.persons}",
            "sessions": len(document["sessions"]),
            "outside_councils": sum("council" not in s for s in document["sessions"]),
            "persons": len(document["persons"]),
            "participants": sum(len(s["participants"]) for s in document["sessions"]),
            "bytes": size,
            "errors_in_faulty_copy": args.errors,
        },
        "results": results,
    }
    path = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-import.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
