"""The database goes away under a running server, then comes back (API.md, "Errors": 503
when the database is down; "Operations": /readyz).

A private PostgreSQL cluster (initdb and pg_ctl, in a temporary folder, on a port of its
own; never the machine's shared server) backs a real `entente serve`. The cluster is
stopped with `pg_ctl stop -m immediate` while the API serves: every request must then be
answered, promptly, with a 503 problem+json carrying Retry-After, /readyz must say 503,
and nothing may hang. The cluster starts again and requests succeed again, without a
restart of the API. Runs once, not per backend.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SUMMARY_LINES
from tests.processes import Server, entente, free_port, server_env

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# What the contract bounds: the first 503 once the database is gone, and the first
# success once it is back.
FIRST_503_WITHIN = 10.0
RECOVERY_WITHIN = 10.0
# Longer than both bounds, so that a hang shows up as a timeout, not a slow pass.
REQUEST_TIMEOUT = httpx.Timeout(15.0)


class Cluster:
    """A PostgreSQL cluster of its own in `folder`, run by the `postgres` OS user when the
    tests run as root (PostgreSQL refuses to run as root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    def run(self, program: str, *args: str) -> None:
        command = [str(PG_BIN / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}\n{done.stderr}"

    def init(self) -> None:
        if self.as_postgres:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self, *, wait: bool = True) -> None:
        """Start it; without `wait`, return at once, the server still starting up."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        log = str(self.folder / "postgres.log")
        waiting = ["-w", "-t", "60"] if wait else ["-W"]
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", log, *waiting, "-o", options)

    def log_tail(self) -> str:
        log = self.folder / "postgres.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"

    def stop(self, mode: str = "immediate") -> None:
        self.run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(f"the outage test needs initdb and pg_ctl in {PG_BIN}")
    # Not under pytest's tmp_path: its parents are private to root, and the cluster's user
    # must reach the folder.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="entente-outage-")))
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            if cluster.running():
                cluster.stop()
        finally:
            shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Server, str]]:
    """`entente serve` on a migrated database of the cluster, and an admin key."""
    cluster.run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "entente")
    env = server_env(cluster.url("entente"))
    entente(env, "migrate")
    token = entente(env, "keys", "create", "--name", "outage", "--scope", "admin").splitlines()[0]
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        yield server, token
    finally:
        server.stop()


def not_unavailable(response: httpx.Response) -> str | None:
    """What is wrong with an answer that should be the contract's 503; None if nothing."""
    request = f"{response.request.method} {response.request.url.path}"
    if response.status_code != 503:
        return f"{request}: {response.status_code} {response.text}"
    if response.headers.get("content-type") != "application/problem+json":
        return f"{request}: 503 as {response.headers.get('content-type')}"
    if not response.headers.get("retry-after", "").isdigit():
        return f"{request}: 503 without Retry-After"
    body = response.json()
    if body.get("status") != 503 or not {"type", "title", "detail"} <= body.keys():
        return f"{request}: 503 with {body}"
    return None


def assert_unavailable(response: httpx.Response) -> None:
    wrong = not_unavailable(response)
    assert wrong is None, wrong


class Background:
    """Reads sent one after another from another thread through the whole outage: they
    meet the database going away mid-request, too. Each must be answered 200 or 503."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: Counter[int] = Counter()
        self.failures: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT) as http:
            while not self.done.is_set():
                try:
                    response = http.get("/api/v1/persons")
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                self.answers[response.status_code] += 1
                if response.status_code not in (200, 503):
                    self.failures.append(f"{response.status_code}: {response.text}")
                time.sleep(0.01)

    def __enter__(self) -> "Background":
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.done.set()
        self.thread.join()


def test_database_outage_gives_503_then_recovers(
    cluster: Cluster, server: tuple[Server, str]
) -> None:
    api, token = server
    http = httpx.Client(
        base_url=f"{api.url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=REQUEST_TIMEOUT,
    )
    person = {"name": "Anne Holm", "nationality": "NO"}
    retried = {"Idempotency-Key": "outage-1"}
    during_startup: list[str] = []
    try:
        with http, Background(api.url) as background:
            assert http.get(f"{api.url}/readyz").status_code == 200
            response = http.post("/persons", json={"name": "Bo Lind"})
            assert response.status_code == 201, response.text
            known = response.headers["location"]

            cluster.stop("immediate")
            down = time.monotonic()
            while True:
                response = http.get("/persons")
                if response.status_code != 200:
                    break
                assert time.monotonic() - down < FIRST_503_WITHIN, "still 200 without a database"
            first_503 = time.monotonic() - down
            assert_unavailable(response)
            assert first_503 < FIRST_503_WITHIN
            # Every kind of request, while it lasts: reads, a write, the readiness probe.
            assert_unavailable(http.get("/persons"))
            assert_unavailable(http.get(f"{api.url}{known}"))
            assert_unavailable(http.post("/persons", json=person, headers=retried))
            assert_unavailable(http.patch(f"{api.url}{known}", json={"nationality": "SE"}))
            assert_unavailable(http.get(f"{api.url}/readyz"))
            # The process itself lives on.
            assert http.get(f"{api.url}/healthz").status_code == 200
            assert api.running

            # Requests go on while PostgreSQL starts up (and recovers from the crash): 503
            # until it accepts connections, then 200. Wrong answers are listed, and the
            # timings still reported.
            up = time.monotonic()
            cluster.start(wait=False)
            while True:
                response = http.get("/persons")
                if response.status_code == 200:
                    break
                if wrong := not_unavailable(response):
                    during_startup.append(wrong)
                assert time.monotonic() - up < RECOVERY_WITHIN, cluster.log_tail()
                time.sleep(0.02)
            recovery = time.monotonic() - up
            assert recovery < RECOVERY_WITHIN
            SUMMARY_LINES.append(
                f"outage: first 503 {first_503:.2f} s after PostgreSQL stopped; requests "
                f"succeed again {recovery:.2f} s after it was started, with the same API process"
            )
            assert api.running, "the API was restarted"
            assert http.get(f"{api.url}/readyz").status_code == 200
            # A record read alone recovers too.
            assert http.get(f"{api.url}{known}").status_code == 200
            # The write refused during the outage left nothing behind: its retry creates it.
            response = http.post("/persons", json=person, headers=retried)
            assert response.status_code == 201, response.text
            assert "idempotent-replayed" not in response.headers
            names = sorted(p["name"] for p in http.get("/persons").json()["items"])
            assert names == ["Anne Holm", "Bo Lind"]
        assert during_startup == [], "\n".join(during_startup)
        assert background.failures == [], background.failures
        assert background.answers[503] > 0 and background.answers[200] > 0, background.answers
    except BaseException:
        print(f"entente serve's last lines:\n{api.log_tail()}")
        raise
