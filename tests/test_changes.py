"""The change feed and the audit trail (API.md, "Change feed" and `/audit`): every write
appears once, in commit order, for its top-level record; a consumer that follows
`next_cursor` while writers commit concurrently sees every change exactly once; the audit
log holds one entry per record written, with the key, the request id and the diff."""

import asyncio
import random
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.auth.models import Scope
from app.journal import service as journal
from tests.conftest import http_client, make_key
from tests.factories import COUNCIL

Change = tuple[str, str, str]  # (entity, id, action)


# ---------------------------------------------------------------- helpers


async def poll(
    client: httpx.AsyncClient, since: str | None, limit: int = 200
) -> tuple[list[dict[str, Any]], str]:
    """Everything after `since` (from the beginning when None), following `next_cursor`
    until caught up; and the cursor to poll with next."""
    items: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"since": since} if since else {})
        response = await client.get("/changes", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page.keys() == {"items", "next_cursor"}
        assert isinstance(page["next_cursor"], str) and page["next_cursor"]
        items += page["items"]
        since = page["next_cursor"]
        if not page["items"]:
            return items, since


def triples(items: list[dict[str, Any]]) -> list[Change]:
    return [(c["entity"], c["id"], c["action"]) for c in items]


def assert_in_seq_order(items: list[dict[str, Any]]) -> None:
    seqs = [c["seq"] for c in items]
    assert all(isinstance(s, int) for s in seqs)
    assert seqs == sorted(set(seqs)), seqs
    assert all(c["at"].endswith("Z") for c in items)


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any], **kw: Any) -> Any:
    response = await client.post(path, json=body, **kw)
    assert response.status_code == 201, response.text
    return response.json()


async def patched(client: httpx.AsyncClient, path: str, body: dict[str, Any], **kw: Any) -> Any:
    response = await client.patch(path, json=body, **kw)
    assert response.status_code == 200, response.text
    return response.json()


async def deleted(client: httpx.AsyncClient, path: str, **kw: Any) -> None:
    response = await client.delete(path, **kw)
    assert response.status_code == 204, response.text


# ---------------------------------------------------------------- the feed


async def test_an_empty_feed_still_gives_a_cursor(client: httpx.AsyncClient) -> None:
    response = await client.get("/changes")
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == []
    assert isinstance(body["next_cursor"], str) and body["next_cursor"]
    again = await client.get("/changes", params={"since": body["next_cursor"]})
    assert again.json() == body


async def test_feed_lists_creations_updates_and_deletions_in_order(
    client: httpx.AsyncClient,
) -> None:
    _, start = await poll(client, None)
    expected: list[Change] = []

    council = await created(client, "/councils", COUNCIL)
    expected.append(("council", council["id"], "created"))
    session = await created(client, "/sessions", {"council_id": "ngc", "start_date": "2007-02-21"})
    sid = session["id"]
    expected.append(("session", sid, "created"))
    await patched(client, f"/sessions/{sid}", {"summary": "Talks in Oslo."})
    expected.append(("session", sid, "updated"))
    person = await created(client, "/persons", {"name": "Jonas Gahr Støre"})
    pid = person["id"]
    expected.append(("person", pid, "created"))

    # An office is part of its person: its changes are the person's.
    office = await created(
        client, f"/persons/{pid}/offices", {"title": "Foreign minister", "country": "NO"}
    )
    expected.append(("person", pid, "updated"))
    await patched(client, f"/persons/{pid}/offices/{office['id']}", {"title": "Minister"})
    expected.append(("person", pid, "updated"))

    topic = await created(client, "/topics", {"slug": "arctic", "name": "The Arctic"})
    expected.append(("topic", topic["id"], "created"))

    # Participants and agenda items are parts of their session.
    participant = await created(
        client, f"/sessions/{sid}/participants", {"person_id": pid, "delegation": "NO"}
    )
    expected.append(("session", sid, "updated"))
    item = await created(client, f"/sessions/{sid}/agenda", {"topic_id": "arctic"})
    expected.append(("session", sid, "updated"))
    await patched(client, f"/sessions/{sid}/agenda/{item['id']}", {"title": "High North"})
    expected.append(("session", sid, "updated"))
    await patched(
        client, f"/sessions/{sid}/participants/{participant['id']}", {"role": "principal"}
    )
    expected.append(("session", sid, "updated"))
    await patched(client, "/councils/ngc", {"name": "Norwegian-German Forum"})
    expected.append(("council", council["id"], "updated"))

    source = await created(client, "/sources", {"url": "https://example.org/oslo"})
    expected.append(("source", source["id"], "created"))
    await patched(client, f"/sources/{source['id']}", {"title": "Oslo talks"})
    expected.append(("source", source["id"], "updated"))
    await deleted(client, f"/sources/{source['id']}")
    expected.append(("source", source["id"], "deleted"))

    await deleted(client, f"/sessions/{sid}/participants/{participant['id']}")
    expected.append(("session", sid, "updated"))
    await deleted(client, f"/persons/{pid}/offices/{office['id']}")
    expected.append(("person", pid, "updated"))
    # Deleting a session with its agenda is one change: the session's tombstone.
    await deleted(client, f"/sessions/{sid}")
    expected.append(("session", sid, "deleted"))
    await deleted(client, f"/persons/{pid}")
    expected.append(("person", pid, "deleted"))
    await deleted(client, "/topics/arctic")
    expected.append(("topic", topic["id"], "deleted"))
    await deleted(client, "/councils/ngc")
    expected.append(("council", council["id"], "deleted"))

    items, cursor = await poll(client, start)
    assert triples(items) == expected
    assert_in_seq_order(items)
    # The tombstones name records that are gone.
    assert (await client.get(f"/sessions/{sid}")).status_code == 404
    assert (await client.get(f"/persons/{pid}")).status_code == 404
    # Without `since` the feed starts at the beginning: the same entries.
    from_start, _ = await poll(client, None)
    assert from_start == items
    # Small pages give the same entries, each once.
    paged, paged_cursor = await poll(client, start, limit=3)
    assert paged == items
    assert paged_cursor == cursor


async def test_refused_writes_add_nothing_to_the_feed(client: httpx.AsyncClient) -> None:
    council = await created(client, "/councils", COUNCIL)
    session = await created(client, "/sessions", {"council_id": "ngc", "start_date": "2007-02-21"})
    _, cursor = await poll(client, None)

    invalid = await client.patch(f"/sessions/{session['id']}", json={"end_date": "2007-01-01"})
    assert invalid.status_code == 422
    stale = await client.patch(
        f"/councils/{council['id']}", json={"name": "Renamed"}, headers={"If-Match": '"stale"'}
    )
    assert stale.status_code == 412
    taken = await client.post("/councils", json=COUNCIL)
    assert taken.status_code == 409
    in_use = await client.delete("/councils/ngc")
    assert in_use.status_code == 409
    unknown = await client.delete("/persons/nobody")
    assert unknown.status_code == 404

    assert await poll(client, cursor) == ([], cursor)


async def test_next_cursor_is_where_to_poll_next(client: httpx.AsyncClient) -> None:
    """Caught up, `next_cursor` is the cursor to keep: polling it gives nothing until the
    next write, then exactly that write."""
    for n in range(5):
        await created(client, "/persons", {"name": f"Person {n}"})
    pages = []
    cursor = None
    for _ in range(3):
        params = {"limit": 2} | ({"since": cursor} if cursor else {})
        page = (await client.get("/changes", params=params)).json()
        pages.append([c["id"] for c in page["items"]])
        cursor = page["next_cursor"]
        assert isinstance(cursor, str) and cursor
    assert [len(p) for p in pages] == [2, 2, 1]
    caught_up = (await client.get("/changes", params={"since": cursor})).json()
    assert caught_up["items"] == []
    assert caught_up["next_cursor"] == cursor

    person = await created(client, "/persons", {"name": "Person 5"})
    fresh = (await client.get("/changes", params={"since": cursor})).json()
    assert triples(fresh["items"]) == [("person", person["id"], "created")]
    assert fresh["next_cursor"] != cursor
    after = (await client.get("/changes", params={"since": fresh["next_cursor"]})).json()
    assert after == {"items": [], "next_cursor": fresh["next_cursor"]}


async def test_a_tampered_since_is_400(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await created(client, "/persons", {"name": f"Person {n}"})
    cursor = (await client.get("/changes", params={"limit": 1})).json()["next_cursor"]
    assert (await client.get("/changes", params={"since": cursor})).status_code == 200

    flipped = [
        cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1 :]
        for i in range(0, len(cursor), max(1, len(cursor) // 8))
    ]
    other_list = (await client.get("/persons", params={"limit": 1})).json()["next_cursor"]
    assert other_list
    for bad in [*flipped, cursor[:-3], cursor + "A", "abc", "0", "-1", other_list]:
        response = await client.get("/changes", params={"since": bad})
        assert response.status_code == 400, (bad, response.text)


async def test_a_consumer_sees_every_concurrent_change_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Eight writers commit creations, changes and deletions concurrently while a
    consumer polls the feed, following `next_cursor`: at the end the consumer has seen
    every change exactly once, in `seq` order, each writer's in the order it made them."""
    _, start = await poll(client, None)
    tokens = [await make_key(app, f"writer-{n}", Scope.write) for n in range(8)]
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []

    async def writer(n: int) -> list[Change]:
        made: list[Change] = []
        async with http_client(app, tokens[n]) as w:
            person = await created(w, "/persons", {"name": f"Writer {n}"})
            made.append(("person", person["id"], "created"))
            source = await created(w, "/sources", {"url": f"https://example.org/{n}"})
            made.append(("source", source["id"], "created"))
            await patched(w, f"/persons/{person['id']}", {"name": f"Writer {n}, renamed"})
            made.append(("person", person["id"], "updated"))
            await created(
                w, f"/persons/{person['id']}/offices", {"title": "Envoy", "country": "NO"}
            )
            made.append(("person", person["id"], "updated"))
            await patched(w, f"/sources/{source['id']}", {"title": f"Source {n}"})
            made.append(("source", source["id"], "updated"))
            topic = await created(w, "/topics", {"slug": f"topic-{n}", "name": f"Topic {n}"})
            made.append(("topic", topic["id"], "created"))
            await deleted(w, f"/sources/{source['id']}")
            made.append(("source", source["id"], "deleted"))
            await deleted(w, f"/persons/{person['id']}")
            made.append(("person", person["id"], "deleted"))
        return made

    async def consumer() -> None:
        cursor = start
        # A key of its own: anonymous clients share one small rate limit.
        async with http_client(app, await make_key(app, "consumer", Scope.read)) as reader:
            while True:
                finished = done.is_set()
                response = await reader.get("/changes", params={"since": cursor, "limit": 5})
                assert response.status_code == 200, response.text
                page = response.json()
                seen.extend(page["items"])
                cursor = page["next_cursor"]
                assert isinstance(cursor, str) and cursor
                if finished and not page["items"]:
                    return
                # Pacing only (the rate limit), not an assertion on time.
                await asyncio.sleep(0.01)

    watching = asyncio.create_task(consumer())
    try:
        made = await asyncio.gather(*(writer(n) for n in range(8)))
    finally:
        done.set()
    await watching

    expected = [change for changes in made for change in changes]
    assert len(expected) == 64
    # No entry twice (a person updated twice has two entries, with their own seq).
    seqs = Counter(c["seq"] for c in seen)
    assert [seq for seq, count in seqs.items() if count > 1] == []
    got = triples(seen)
    assert Counter(got) == Counter(expected)
    assert_in_seq_order(seen)
    for changes in made:
        assert [c for c in got if c in set(changes)] == changes


async def until_a_query_waits_for_a_lock(app: FastAPI) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with asyncio.timeout(10):
        while True:
            async with app.state.engine.connect() as connection:
                if await connection.scalar(waiting):
                    return
            await asyncio.sleep(0.05)


async def test_a_later_entry_waits_for_the_earlier_to_commit(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """On PostgreSQL a transaction that has numbered its feed entries holds the feed's lock
    until it commits, so that no entry numbered after them can be read before they can: a
    second writer waits for the first, and its entry comes after."""
    if app.state.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    async with app.state.sessionmaker() as holding:
        journal.created(holding, "topic", {"id": "numbered-first"})
        await holding.run_sync(journal.write_journal)  # numbered, not committed
        second = asyncio.create_task(client.post("/topics", json={"slug": "s", "name": "Second"}))
        await until_a_query_waits_for_a_lock(app)
        await holding.commit()
    assert (await second).status_code == 201
    async with app.state.engine.connect() as connection:
        order = await connection.scalars(text("SELECT record_id FROM change ORDER BY seq"))
        assert list(order) == ["numbered-first", (await second).json()["id"]]


# ---------------------------------------------------------------- the audit trail


async def test_audit_needs_an_admin_key(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await anonymous.get("/audit")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    for scope in (Scope.read, Scope.write):
        async with http_client(app, await make_key(app, f"a-{scope}", scope)) as keyed:
            assert (await keyed.get("/audit")).status_code == 403, scope
    assert (await client.get("/audit")).status_code == 200


NATIONALITIES = ["NO", "DE", "FR", "PL", "SE"]


async def test_audit_records_each_write_with_its_diff(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Thirty random writes with a write key, each with its own X-Request-ID: the audit log
    has exactly thirty entries for that key, one per request, with the right diff."""
    rng = random.Random(20070221)
    persons: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    expected: list[dict[str, Any]] = []
    writes = 30
    async with http_client(app, await make_key(app, "auditor", Scope.write)) as writer:
        for i in range(writes):
            request_id = f"audit-{i:03d}-{rng.randrange(10**6)}"
            headers = {"X-Request-ID": request_id}
            choices = ["create_person", "create_source"]
            if persons:
                choices += ["patch_person", "patch_person", "delete_person"]
            if sources:
                choices += ["patch_source", "patch_source", "delete_source"]
            op = rng.choice(choices)
            if op == "create_person":
                body = {"name": f"Person {i}", "nationality": rng.choice(NATIONALITIES)}
                record = await created(writer, "/persons", body, headers=headers)
                persons[record["id"]] = record
                entry = {"action": "create", "entity": "person", "entity_id": record["id"]}
                entry["sent"] = body
            elif op == "create_source":
                body = {"url": f"https://example.org/{i}", "title": f"Source {i}"}
                record = await created(writer, "/sources", body, headers=headers)
                sources[record["id"]] = record
                entry = {"action": "create", "entity": "source", "entity_id": record["id"]}
                entry["sent"] = body
            elif op == "patch_person":
                pid = rng.choice(sorted(persons))
                old = persons[pid]
                body = {"name": f"{old['name']} ({i})"}
                if rng.random() < 0.5:
                    body["nationality"] = rng.choice(
                        [c for c in NATIONALITIES if c != old["nationality"]]
                    )
                persons[pid] = await patched(writer, f"/persons/{pid}", body, headers=headers)
                entry = {"action": "update", "entity": "person", "entity_id": pid}
                entry["changes"] = {k: {"old": old[k], "new": v} for k, v in body.items()}
            elif op == "patch_source":
                sid = rng.choice(sorted(sources))
                old = sources[sid]
                body = rng.choice(
                    [{"title": f"Title {i}"}, {"publisher": f"Press {i}", "language": "nb"}]
                )
                sources[sid] = await patched(writer, f"/sources/{sid}", body, headers=headers)
                entry = {"action": "update", "entity": "source", "entity_id": sid}
                entry["changes"] = {k: {"old": old[k], "new": v} for k, v in body.items()}
            elif op == "delete_person":
                pid = rng.choice(sorted(persons))
                gone = persons.pop(pid)
                await deleted(writer, f"/persons/{pid}", headers=headers)
                entry = {"action": "delete", "entity": "person", "entity_id": pid, "gone": gone}
            else:
                sid = rng.choice(sorted(sources))
                gone = sources.pop(sid)
                await deleted(writer, f"/sources/{sid}", headers=headers)
                entry = {"action": "delete", "entity": "source", "entity_id": sid, "gone": gone}
            expected.append(entry | {"request_id": request_id})
    assert {e["action"] for e in expected} == {"create", "update", "delete"}

    # Writes of another key are not counted as the auditor's.
    await created(client, "/persons", {"name": "Written by the admin"})
    response = await client.get("/audit", params={"actor": "auditor", "limit": 200})
    assert response.status_code == 200, response.text
    entries = response.json()["items"]
    assert response.json()["next_cursor"] is None
    assert len(entries) == writes
    assert [e["request_id"] for e in entries] == [e["request_id"] for e in expected]
    for entry, want in zip(entries, expected, strict=True):
        assert entry["actor"] == "auditor"
        assert entry["at"].endswith("Z")
        assert (entry["action"], entry["entity"], entry["entity_id"]) == (
            want["action"],
            want["entity"],
            want["entity_id"],
        ), want["request_id"]
        changes = entry["changes"]
        if want["action"] == "update":
            assert changes == want["changes"], want["request_id"]
        elif want["action"] == "create":
            assert all(c["old"] is None for c in changes.values()), changes
            for field, value in want["sent"].items():
                assert changes[field] == {"old": None, "new": value}, (field, changes)
        else:
            assert all(c["new"] is None for c in changes.values()), changes
            name_field = "name" if want["entity"] == "person" else "url"
            gone = want["gone"]
            assert changes[name_field] == {"old": gone[name_field], "new": None}, changes

    # The filters narrow the same entries.
    only_sources = await client.get(
        "/audit", params={"actor": "auditor", "entity": "source", "limit": 200}
    )
    assert [e["request_id"] for e in only_sources.json()["items"]] == [
        e["request_id"] for e in expected if e["entity"] == "source"
    ]
    one = expected[0]["entity_id"]
    of_one = await client.get("/audit", params={"entity_id": one, "limit": 200})
    assert [e["request_id"] for e in of_one.json()["items"]] == [
        e["request_id"] for e in expected if e["entity_id"] == one
    ]


async def test_session_history_outlives_the_session(client: httpx.AsyncClient) -> None:
    await created(client, "/councils", COUNCIL, headers={"X-Request-ID": "h-council"})
    session = await created(
        client,
        "/sessions",
        {"council_id": "ngc", "ordinal": 1, "start_date": "2007-02-21"},
        headers={"X-Request-ID": "h-create"},
    )
    sid = session["id"]
    await patched(
        client, f"/sessions/{sid}", {"title": "Oslo talks"}, headers={"X-Request-ID": "h-title"}
    )
    await patched(
        client,
        f"/sessions/{sid}",
        {"status": "cancelled", "summary": "Called off."},
        headers={"X-Request-ID": "h-cancel"},
    )
    other = await created(client, "/sessions", {"council_id": "ngc", "start_date": "2008-01-01"})

    def shown(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
        return [(e["action"], e["request_id"]) for e in items]

    history = await client.get(f"/sessions/{sid}/history")
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert shown(items) == [("create", "h-create"), ("update", "h-title"), ("update", "h-cancel")]
    assert all(e["entity"] == "session" and e["entity_id"] == sid for e in items)
    assert all(e["actor"] == "test-admin" for e in items)
    assert items[1]["changes"] == {"title": {"old": "1st session of the NGC", "new": "Oslo talks"}}
    assert items[2]["changes"] == {
        "status": {"old": "held", "new": "cancelled"},
        "summary": {"old": None, "new": "Called off."},
    }

    await deleted(client, f"/sessions/{sid}", headers={"X-Request-ID": "h-delete"})
    assert (await client.get(f"/sessions/{sid}")).status_code == 404
    after = await client.get(f"/sessions/{sid}/history")
    assert after.status_code == 200, after.text
    assert shown(after.json()["items"]) == [*shown(items), ("delete", "h-delete")]
    assert after.json()["items"][:3] == items
    others = (await client.get(f"/sessions/{other['id']}/history")).json()["items"]
    assert [e["action"] for e in others] == ["create"]

    council = (await client.get("/councils/ngc/history")).json()["items"]
    assert shown(council) == [("create", "h-council")]


@pytest.mark.parametrize("resource", ["sessions", "councils", "persons"])
async def test_history_of_an_unknown_record_is_404(
    client: httpx.AsyncClient, resource: str
) -> None:
    await created(client, "/councils", COUNCIL)
    for record in ("nope", "00001", "-1"):
        response = await client.get(f"/{resource}/{record}/history")
        assert response.status_code == 404, (resource, record, response.text)
