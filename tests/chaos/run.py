"""Crash safety on PostgreSQL: writers keep writing while the server is SIGKILLed.

    python -m tests.chaos.run [--database-url URL] [--kills N] [--writers N] [--seed N]

Without --database-url, creates `entente_chaos_<pid>` on the local server (psql, as
PGHOST/PGPORT/PGUSER say, by default 127.0.0.1:5432 as postgres) and drops it at the end.
Migrates, makes an admin key, starts `entente serve` (one worker) on a free port, and runs
writers, each creating a session of one council, then persons and their participation in
its session, one after the other. Each logical write has its own Idempotency-Key and is
retried, the same request with the same key, after any connection error or 5xx, until it
is acknowledged (2xx). Meanwhile the server is SIGKILLed at random moments (0.2-1.5 s
apart, seeded) and started again each time.

Then checks, through the API: every acknowledged write is there once (no duplicate, none
lost, with the id it was acknowledged with); the audit trail holds exactly one `create`
for each record and nothing about records that do not exist; the change feed holds
exactly one `created` per record, one session `updated` per participant added, and
nothing else. Prints the figures and exits non-zero when anything is off.
"""

import argparse
import asyncio
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.processes import Server, entente, server_env

RETRY_PAUSE = 0.05  # between attempts of one write while the server is down
REQUEST_TIMEOUT = 15.0
DELEGATION = "NO"


class Refused(Exception):
    """A write answered neither 2xx nor 5xx: not something a retry may paper over."""


@dataclass
class Stats:
    acknowledged: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    connection_errors: int = 0
    server_errors: Counter[int] = field(default_factory=Counter)
    # (entity, id) of every acknowledged write; per session, its acknowledged participations.
    made: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    participations: dict[str, list[str]] = field(default_factory=dict)


async def acknowledged(
    client: httpx.AsyncClient, stats: Stats, entity: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST until a 2xx, the same body with the same Idempotency-Key each time."""
    headers = {"Idempotency-Key": f"chaos-{secrets.token_hex(12)}"}
    while True:
        try:
            response = await client.post(path, json=body, headers=headers)
        except httpx.TransportError:
            stats.connection_errors += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        if response.status_code >= 500:
            stats.server_errors[response.status_code] += 1
            await asyncio.sleep(RETRY_PAUSE)
            continue
        if not 200 <= response.status_code < 300:
            raise Refused(
                f"POST {path} {body} with {headers} answered {response.status_code}: "
                f"{response.text}"
            )
        if response.headers.get("idempotent-replayed") == "true":
            stats.replayed += 1
        record: dict[str, Any] = response.json()
        stats.acknowledged[entity] += 1
        stats.made[(entity, record["id"])] = {"body": body, "record": record}
        return record


async def writer(
    client: httpx.AsyncClient, stats: Stats, n: int, council: str, run: str, stop: asyncio.Event
) -> None:
    session = await acknowledged(
        client,
        stats,
        "session",
        "/sessions",
        {"council_id": council, "start_date": f"2020-01-{n + 1:02d}", "title": f"{run} {n}"},
    )
    stats.participations[session["id"]] = []
    number = 0
    while not stop.is_set():
        number += 1
        person = await acknowledged(
            client, stats, "person", "/persons", {"name": f"{run} writer {n} person {number}"}
        )
        participation = await acknowledged(
            client,
            stats,
            "participation",
            f"/sessions/{session['id']}/participants",
            {"person_id": person["id"], "delegation": DELEGATION},
        )
        stats.participations[session["id"]].append(participation["id"])


async def killer(server: Server, kills: int, rng: random.Random) -> int:
    done = 0
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        server.kill()
        done += 1
        await asyncio.to_thread(server.start)
    return done


async def walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, page after page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        paging = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        response = await client.get(path, params=params | paging)
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def feed(client: httpx.AsyncClient, since: str | None) -> tuple[list[dict[str, Any]], str]:
    """The change feed from `since` to now, and the cursor to poll with next."""
    items: list[dict[str, Any]] = []
    while True:
        params = {"limit": 200} | ({"since": since} if since else {})
        response = await client.get("/changes", params=params)
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        since = page["next_cursor"]
        if not page["items"]:
            assert since is not None
            return items, since


def check_data(
    stats: Stats, found: dict[str, list[dict[str, Any]]], problems: list[str]
) -> tuple[int, int, int]:
    """(found, duplicates, lost) of the acknowledged writes; problems appended."""
    found_count = duplicates = lost = 0
    for entity, records in found.items():
        ids = Counter(r["id"] for r in records)
        acked = {i for (e, i) in stats.made if e == entity}
        # A duplicate is a second record for one logical write: the same body again.
        by_write = Counter(logical_key(entity, r) for r in records)
        for key, count in by_write.items():
            if count > 1:
                duplicates += count - 1
                problems.append(f"{entity} {key}: {count} records for one write")
        found_count += len(acked & ids.keys())
        for record_id in sorted(acked - ids.keys()):
            lost += 1
            problems.append(f"{entity} {record_id}: acknowledged, not found")
        for record_id in sorted(ids.keys() - acked):
            problems.append(f"{entity} {record_id}: found, never acknowledged")
    return found_count, duplicates, lost


def logical_key(entity: str, record: dict[str, Any]) -> str:
    if entity == "person":
        return str(record["name"])
    if entity == "participation":
        return f"{record['session_id']}/{record['person_id']}"
    if entity == "session":
        return f"{record['council_id']}/{record['start_date']}"
    return str(record["id"])


def check_audit(
    stats: Stats, existing: set[tuple[str, str]], audit: list[dict[str, Any]], problems: list[str]
) -> None:
    """Exactly one `create` per record; no entry about a record that does not exist."""
    creates = Counter((e["entity"], e["entity_id"]) for e in audit if e["action"] == "create")
    for record in sorted(existing):
        if creates[record] != 1:
            problems.append(f"audit: {creates[record]} create entries for {record}")
    for entry in audit:
        record = (entry["entity"], entry["entity_id"])
        if record not in existing:
            problems.append(f"audit: {entry['action']} entry for {record}, which does not exist")
        elif entry["action"] != "create":
            problems.append(f"audit: unexpected {entry['action']} entry for {record}")


def check_feed(
    stats: Stats, existing: set[tuple[str, str]], changes: list[dict[str, Any]], problems: list[str]
) -> None:
    """Exactly one `created` per top-level record and one session `updated` per participant
    added; nothing about records that do not exist."""
    seqs = Counter(c["seq"] for c in changes)
    problems.extend(f"feed: seq {s} listed {n} times" for s, n in seqs.items() if n > 1)
    if [c["seq"] for c in changes] != sorted(seqs):
        problems.append("feed: not in seq order")
    actions = Counter((c["entity"], c["id"], c["action"]) for c in changes)
    for entity, record_id in sorted(existing):
        if entity == "participation":
            continue  # a change of its session
        if actions[(entity, record_id, "created")] != 1:
            problems.append(
                f"feed: {actions[(entity, record_id, 'created')]} created entries "
                f"for {entity} {record_id}"
            )
    for session_id, participations in stats.participations.items():
        updates = actions[("session", session_id, "updated")]
        if updates != len(participations):
            problems.append(
                f"feed: session {session_id} has {updates} updated entries "
                f"for {len(participations)} participants added"
            )
    for entity, record_id, action in actions:
        if (entity, record_id) not in existing:
            problems.append(f"feed: {action} entry for {entity} {record_id}, which does not exist")
        elif action == "deleted" or (action == "updated" and entity != "session"):
            problems.append(f"feed: unexpected {action} entry for {entity} {record_id}")


async def chaos(database_url: str, kills: int, writers: int, seed: int, workdir: Path) -> int:
    started = time.monotonic()
    env = server_env(database_url)
    entente(env, "migrate")
    actor = f"chaos-{secrets.token_hex(4)}"
    token = entente(env, "keys", "create", "--name", actor, "--scope", "admin").splitlines()[0]
    server = Server(env, workdir / "server.log")
    server.start()
    stats = Stats()
    problems: list[str] = []
    run = f"Chaos {secrets.token_hex(3)}"
    client = httpx.AsyncClient(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=REQUEST_TIMEOUT,
    )
    try:
        _, since = await feed(client, None)
        slug = f"chaos-{secrets.token_hex(4)}"
        await acknowledged(
            client,
            stats,
            "council",
            "/councils",
            {"slug": slug, "name": run, "kind": "bilateral", "member_countries": ["NO", "DE"]},
        )
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(writer(client, stats, n, slug, run, stop)) for n in range(writers)
        ]
        try:
            killed = await killer(server, kills, random.Random(seed))
        finally:
            stop.set()
        # Each writer finishes the write it is retrying; one that never gets an answer hangs.
        async with asyncio.timeout(60):
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                problems.append(f"writer failed: {outcome!r}")

        # What the API holds now, from a server that was never killed during the reads.
        found: dict[str, list[dict[str, Any]]] = {
            "council": [
                c
                for c in await walk(client, "/councils")
                if c["slug"] == slug  # the given database may hold others
            ],
            "session": await walk(client, f"/councils/{slug}/sessions"),
            "person": [p for p in await walk(client, "/persons") if p["name"].startswith(run)],
        }
        found["participation"] = [
            p
            for s in found["session"]
            for p in await walk(client, f"/sessions/{s['id']}/participants")
        ]
        found_count, duplicates, lost = check_data(stats, found, problems)
        existing = {(entity, r["id"]) for entity, records in found.items() for r in records}
        audit = await walk(client, "/audit", actor=actor)
        check_audit(stats, existing, audit, problems)
        changes, _ = await feed(client, since)
        check_feed(stats, existing, changes, problems)
        ready = await client.get(f"{server.url}/readyz")
        if ready.status_code != 200:
            problems.append(f"/readyz answered {ready.status_code} after the run: {ready.text}")
    finally:
        await client.aclose()
        server.stop()

    others = {s: n for s, n in stats.server_errors.items() if s != 503}
    if others:
        problems.append(f"answers other than 503 among the 5xx: {others}")
    if killed < 10:
        problems.append(f"only {killed} kills")
    log = (workdir / "server.log").read_text(errors="replace").splitlines()
    errors = [line for line in log if '"level": "error"' in line or "Traceback" in line]
    acked = sum(stats.acknowledged.values())
    print(f"chaos: {writers} writers, seed {seed}, {time.monotonic() - started:.1f} s")
    print(f"kills: {killed}")
    print(
        f"acknowledged writes: {acked} ("
        + ", ".join(f"{entity} {n}" for entity, n in sorted(stats.acknowledged.items()))
        + ")"
    )
    print(
        f"retries: {stats.connection_errors} after connection errors, "
        f"{sum(stats.server_errors.values())} after 5xx {dict(stats.server_errors)}; "
        f"{stats.replayed} acknowledged by a replay"
    )
    print(f"writes found: {found_count}")
    print(f"duplicates: {duplicates}")
    print(f"lost: {lost}")
    print(f"audit entries: {len(audit)}; change-feed entries: {len(changes)}")
    print(f"server error log lines: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    if problems:
        print(f"FAILED: {len(problems)} problems")
        for problem in problems[:100]:
            print(f"  {problem}")
        return 1
    print("OK: every acknowledged write is there once; audit trail and change feed agree")
    return 0


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "-q", "-d", "postgres", "-c", sql],
        env=pg_env(),
        check=True,
    )


def pg_env() -> dict[str, str]:
    return {
        **os.environ,
        "PGHOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PGPORT": os.environ.get("PGPORT", "5432"),
        "PGUSER": os.environ.get("PGUSER", "postgres"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", help="a PostgreSQL database to use (migrated here)")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    created = None
    url = args.database_url
    if url is None:
        created = f"entente_chaos_{os.getpid()}"
        env = pg_env()
        psql(f"CREATE DATABASE {created}")
        url = f"postgresql+asyncpg://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{created}"
    try:
        with tempfile.TemporaryDirectory(prefix="entente-chaos-") as workdir:
            status = asyncio.run(chaos(url, args.kills, args.writers, args.seed, Path(workdir)))
    finally:
        if created is not None:
            psql(f"DROP DATABASE IF EXISTS {created} WITH (FORCE)")
    sys.exit(status)


if __name__ == "__main__":
    main()
