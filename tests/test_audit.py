"""The audit trail (API.md, "Access" and `/audit`): every write is recorded with when,
which key, which request, which record and what changed (field: old -> new); one entry
per record a write touches; entries cannot be altered through the API.

The `changes` of an entry are checked against the record as `GET` shows it before and
after the write: every field whose value differs, except the timestamps (`created_at`,
`updated_at`) and the embedded `sources` (which `source_ids` stands for); on a create or a
delete the id is the entry's `entity_id`, not a change, and fields that are null on the
missing side are not listed.
"""

import random
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from app.auth.models import Scope
from tests.conftest import SEED, http_client, make_key

UNCHANGED = {"created_at", "updated_at", "sources"}
COUNTRIES = ("FR", "RU", "DE", "NO", "IT", "ES", "PL", "UA", "JP", "BR")
WRITER = "random-writer"


def expected_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes = {
        field: {"old": before.get(field), "new": after.get(field)}
        for field in (before.keys() | after.keys()) - UNCHANGED
        if before.get(field) != after.get(field)
    }
    if not before or not after:
        changes.pop("id", None)
    return changes


async def audit_entries(client: httpx.AsyncClient, **filters: Any) -> list[dict[str, Any]]:
    """Every audit entry matching `filters`, walking all pages; without an `entity`
    filter, not those of the API keys that the tests make (test_hardening.py checks
    them)."""
    entries: list[dict[str, Any]] = []
    params = {"limit": 200, **filters}
    while True:
        response = await client.get("/audit", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        entries += [e for e in page["items"] if "entity" in filters or e["entity"] != "api_key"]
        if page["next_cursor"] is None:
            return entries
        params["cursor"] = page["next_cursor"]


def by_request(entries: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["request_id"] == request_id]


async def read(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.text)
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------- random writes


class World:
    """The records the random writer made, and what depends on what, so that it only
    attempts writes the API accepts (a delete of a record with dependants would touch
    several records; the cascades have their own test)."""

    def __init__(self, rng: random.Random, topics: list[str]) -> None:
        self.rng = rng
        self.topics = topics
        self.councils: dict[str, list[str]] = {}  # id -> member countries
        self.sessions: dict[str, dict[str, Any]] = {}  # id -> {"council": id}
        self.persons: set[str] = set()
        self.participations: dict[str, tuple[str, str]] = {}  # id -> (session, person)
        self.items: dict[str, str] = {}  # agenda item id -> session
        self.counter = 0

    def unique(self) -> int:
        self.counter += 1
        return self.counter

    def text(self, word: str) -> str:
        return f"{word} {self.unique()} {self.rng.choice(['é', 'ü', 'Ж', '和', ''])}".strip()

    def day(self) -> date:
        return date(1995, 1, 1) + timedelta(days=self.rng.randrange(10_000))

    def subset(self, fields: dict[str, Any]) -> dict[str, Any]:
        names = self.rng.sample(sorted(fields), self.rng.randint(1, len(fields)))
        return {name: fields[name] for name in names}

    def busy_sessions(self) -> set[str]:
        return {s for s, _ in self.participations.values()} | set(self.items.values())

    def possible(self) -> list[str]:
        busy_councils = {s["council"] for s in self.sessions.values()}
        attending = {p for _, p in self.participations.values()}
        free_pairs = self.free_pairs()
        checks = {
            "council.create": True,
            "council.patch": bool(self.councils),
            "council.delete": bool(set(self.councils) - busy_councils),
            "session.create": bool(self.councils),
            "session.patch": bool(self.sessions),
            "session.delete": bool(set(self.sessions) - self.busy_sessions()),
            "person.create": True,
            "person.patch": bool(self.persons),
            "person.delete": bool(self.persons - attending),
            "participation.create": bool(free_pairs),
            "participation.patch": bool(self.participations),
            "participation.delete": bool(self.participations),
            "agenda_item.create": bool(self.sessions),
            "agenda_item.patch": bool(self.items),
            "agenda_item.delete": bool(self.items),
        }
        return [name for name, ok in checks.items() if ok]

    def free_pairs(self) -> list[tuple[str, str]]:
        taken = set(self.participations.values())
        return [
            (s, p)
            for s in sorted(self.sessions)
            for p in sorted(self.persons)
            if (s, p) not in taken
        ]


class Write:
    """One write: its request, and where to read the record it touches."""

    def __init__(self, entity: str, action: str, url: str, read_path: str = "") -> None:
        self.entity, self.action, self.url, self.read_path = entity, action, url, read_path
        self.method = {"create": "POST", "patch": "PATCH", "delete": "DELETE"}[action]
        self.person = ""  # the person of a new participation


def target(world: World, operation: str) -> Write:
    """The request for `operation`, on a record chosen at random."""
    rng = world.rng
    entity, action = operation.split(".")
    if entity == "council":
        if action == "create":
            return Write(entity, action, "/councils")
        busy = {s["council"] for s in world.sessions.values()} if action == "delete" else set()
        council = rng.choice(sorted(set(world.councils) - busy))
        return Write(entity, action, f"/councils/{council}", f"/councils/{council}")
    if entity == "session":
        if action == "create":
            return Write(entity, action, "/sessions")
        busy = world.busy_sessions() if action == "delete" else set()
        session = rng.choice(sorted(set(world.sessions) - busy))
        return Write(entity, action, f"/sessions/{session}", f"/sessions/{session}")
    if entity == "person":
        if action == "create":
            return Write(entity, action, "/persons")
        busy = {p for _, p in world.participations.values()} if action == "delete" else set()
        person = rng.choice(sorted(world.persons - busy))
        return Write(entity, action, f"/persons/{person}", f"/persons/{person}")
    if entity == "participation":
        if action == "create":
            session, person = rng.choice(world.free_pairs())
            write = Write(entity, action, f"/sessions/{session}/participants")
            write.person = person
            return write
        participation = rng.choice(sorted(world.participations))
        session, _ = world.participations[participation]
        path = f"/sessions/{session}/participants/{participation}"
        return Write(entity, action, path, path)
    if action == "create":
        session = rng.choice(sorted(world.sessions))
        return Write(entity, action, f"/sessions/{session}/agenda")
    item = rng.choice(sorted(world.items))
    path = f"/sessions/{world.items[item]}/agenda/{item}"
    return Write(entity, action, path, path)


def other(rng: random.Random, choices: Any, current: Any) -> Any:
    """A random choice that differs from the current value."""
    return rng.choice([c for c in choices if c != current])


def body(world: World, write: Write, current: dict[str, Any]) -> dict[str, Any] | None:
    """A random body for `write`; on a PATCH every field sent differs from `current`."""
    rng, text = world.rng, world.text
    if write.action == "delete":
        return None
    if write.entity == "council":
        fields = {
            "name": text("Council"),
            "acronym": f"C{world.unique()}",
            "description": text("About"),
            "established_on": other(
                rng, ["1992", "2002-01", "2010-05-04"], current.get("established_on")
            ),
            "names": {"fr": text("Conseil"), "en": text("Council")},
            "founding_context": text("Founded"),
        }
        if write.action == "create":
            fields |= {"status": rng.choice(["active", "suspended"])}
            return {
                "slug": f"council-{world.unique()}",
                "name": text("Council"),
                "kind": "bilateral",
                "member_countries": rng.sample(COUNTRIES, 2),
            } | world.subset(fields)
        return world.subset(
            fields | {"status": other(rng, ["active", "suspended", "dissolved"], current["status"])}
        )
    if write.entity == "session":
        if write.action == "create":
            council = rng.choice(sorted(world.councils))
            members = world.councils[council]
            return {"council_id": council, "start_date": world.day().isoformat()} | world.subset(
                {
                    "ordinal": world.unique(),
                    "summary": text("Summary"),
                    "host_country": rng.choice(members),
                    "location": {"city": text("City"), "country": members[0]},
                    "status": rng.choice(["planned", "held", "postponed", "cancelled"]),
                    "timezone": "Europe/Paris",
                }
            )
        start = date.fromisoformat(current["start_date"])
        days = [(start + timedelta(days=n)).isoformat() for n in range(4)]
        members = world.councils[current["council_id"]]
        return world.subset(
            {
                "summary": text("New summary"),
                "title": text("Session"),
                "end_date": other(rng, days, current["end_date"]),
                "host_country": other(rng, members, current["host_country"]),
                "location": {"city": text("Town"), "venue": text("Hall")},
                "ordinal": world.unique(),
                "timezone": other(rng, ["Europe/Moscow", "Asia/Tokyo", "UTC"], current["timezone"]),
                "status": other(
                    rng, ["planned", "held", "postponed", "cancelled"], current["status"]
                ),
            }
        )
    if write.entity == "person":
        fields = {
            "given_name": text("Given"),
            "family_name": text("Family"),
            "nationality": other(rng, COUNTRIES, current.get("nationality")),
            "honorific_prefix": text("Dr"),
            "key": f"person-{world.unique()}",
            "other_names": [{"name": text("Other"), "lang": "ru"}],
            "identifiers": [{"scheme": "wikidata", "identifier": f"Q{world.unique()}"}],
        }
        if write.action == "create":
            return {"name": text("Person")} | world.subset(fields)
        return world.subset(fields | {"name": text("Renamed")})
    if write.entity == "participation":
        session = write.url.split("/")[2]
        members = world.councils[world.sessions[session]["council"]]
        roles = ["principal", "delegate", "host", "guest", "observer"]
        if write.action == "create":
            return {
                "person_id": write.person,
                "delegation": rng.choice(members),
            } | world.subset({"role": rng.choice(roles), "note": text("Note")})
        return world.subset(
            {
                "note": text("Changed note"),
                "delegation": other(rng, members, current["delegation"]),
                "role": other(rng, roles, current["role"]),
            }
        )
    session = write.url.split("/")[2]
    length = sum(1 for s in world.items.values() if s == session)
    if write.action == "create":
        return {"topic_id": rng.choice(world.topics)} | world.subset(
            {
                "title": text("Item"),
                "note": text("Why"),
                "position": rng.randint(1, length + 1),
            }
        )
    fields = {
        "title": text("Retitled"),
        "note": text("Because"),
        "topic_id": other(rng, world.topics, current["topic_id"]),
    }
    if length > 1:
        fields["position"] = other(rng, range(1, length + 1), current["position"])
    return world.subset(fields)


def remember(world: World, write: Write, record: dict[str, Any]) -> None:
    """Keep the world in step with a write the API accepted."""
    if write.action == "create":
        if write.entity == "council":
            world.councils[record["id"]] = record["member_countries"]
        elif write.entity == "session":
            world.sessions[record["id"]] = {"council": record["council_id"]}
        elif write.entity == "person":
            world.persons.add(record["id"])
        elif write.entity == "participation":
            world.participations[record["id"]] = (record["session_id"], record["person_id"])
        else:
            world.items[record["id"]] = record["session_id"]
    elif write.action == "delete":
        record_id = write.url.rsplit("/", 1)[1]
        world.councils.pop(record_id, None)
        world.sessions.pop(record_id, None)
        world.participations.pop(record_id, None)
        world.items.pop(record_id, None)
        world.persons.discard(record_id)


@pytest.mark.parametrize("seed", [20070221, 5])
async def test_random_writes_are_each_audited_with_the_right_diff(
    app: FastAPI, client: httpx.AsyncClient, seed: int
) -> None:
    """N random creates, patches and deletes of councils, sessions, persons, participants
    and agenda items make exactly N audit entries, each naming the key, the request id
    sent, the record, and exactly the fields that changed with their old and new values."""
    topics = []
    for slug in ("energy", "terrorism", "space"):
        response = await client.post("/topics", json={"slug": slug, "name": slug.title()})
        assert response.status_code == 201
        topics.append(response.json()["id"])
    setup = await audit_entries(client)
    assert len(setup) == 3
    token = await make_key(app, WRITER, Scope.write)
    rng = random.Random(seed)
    world = World(rng, topics)
    expected: dict[str, dict[str, Any]] = {}
    writes = 45
    async with http_client(app, token) as writer:
        for number in range(writes):
            operation = rng.choice(world.possible())
            write = target(world, operation)
            before = await read(client, write.read_path) if write.read_path else {}
            sent = body(world, write, before)
            request_id = f"rw-{seed}.{number}:{operation}"
            response = await writer.request(
                write.method, write.url, json=sent, headers={"X-Request-ID": request_id}
            )
            assert response.status_code in (200, 201, 204), (operation, sent, response.text)
            assert response.headers["x-request-id"] == request_id
            after: dict[str, Any] = {}
            if write.action == "create":
                after = await read(client, response.headers["location"].removeprefix("/api/v1"))
            elif write.action == "patch":
                after = await read(client, write.read_path)
            else:
                assert (await client.get(write.read_path)).status_code == 404
            remember(world, write, after)
            changes = expected_changes(before, after)
            assert changes, (operation, sent)  # every write here changes something
            expected[request_id] = {
                "actor": WRITER,
                "request_id": request_id,
                "action": {"patch": "update"}.get(write.action, write.action),
                "entity": write.entity,
                "entity_id": (after or before)["id"],
                "changes": changes,
            }
    since = max(e["at"] for e in setup)
    entries = [
        e
        for e in await audit_entries(client, since=since)
        if e["id"] not in {s["id"] for s in setup}
    ]
    assert len(entries) == writes
    assert len(await audit_entries(client, actor=WRITER)) == writes
    mismatches = []
    for request_id, wanted in expected.items():
        found = by_request(entries, request_id)
        got = [{k: e[k] for k in wanted} for e in found]
        if got != [wanted]:
            mismatches.append(f"{request_id}:\n  expected {wanted}\n  got      {got}")
    assert mismatches == [], "\n".join(mismatches)
    # Oldest first, in the order the writes were made.
    assert [e["request_id"] for e in entries] == list(expected)


async def test_refused_writes_leave_no_entry(client: httpx.AsyncClient) -> None:
    council = {"slug": "ngc", "name": "N", "kind": "bilateral", "member_countries": ["NO", "DE"]}
    assert (await client.post("/councils", json=council)).status_code == 201
    response = await client.post(
        "/sessions", json={"council_id": "ngc", "start_date": "2007-02-21"}
    )
    assert response.status_code == 201
    count = len(await audit_entries(client))
    for method, url, body, status in (
        ("POST", "/councils", council, 409),
        ("POST", "/councils", council | {"slug": "x", "member_countries": ["NO"]}, 422),
        ("PATCH", "/councils/ngc", {"name": None}, 422),
        ("PATCH", "/councils/ngc", {"slug": "x", "bogus": 1}, 422),
        ("DELETE", "/councils/ngc", None, 409),
        ("DELETE", "/persons/nobody", None, 404),
    ):
        response = await client.request(method, url, json=body)
        assert response.status_code == status, (method, url, response.text)
    response = await client.patch(
        "/councils/ngc", json={"name": "Stale"}, headers={"If-Match": '"stale"'}
    )
    assert response.status_code == 412
    # A PATCH that changes nothing is not a change.
    assert (await client.patch("/councils/ngc", json={"name": "N"})).status_code == 200
    assert len(await audit_entries(client)) == count


# ---------------------------------------------------------------- several records at once


async def test_cascade_delete_writes_one_entry_per_record(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Deleting the CCQS with ?cascade=true deletes its two sessions with their
    participants and agenda items: one `delete` entry for each, with its last state."""
    council = await read(client, "/councils/ccqs")
    sessions = [await read(client, f"/sessions/{s['id']}") for s in (ccqs["fifth"], ccqs["sixth"])]
    doomed = {("council", council["id"]): council}
    for session in sessions:
        doomed[("session", session["id"])] = session
        for part in session["participants"]:
            path = f"/sessions/{session['id']}/participants/{part['id']}"
            doomed[("participation", part["id"])] = await read(client, path)
        for item in session["agenda"]:
            path = f"/sessions/{session['id']}/agenda/{item['id']}"
            doomed[("agenda_item", item["id"])] = await read(client, path)
    assert len(doomed) > 10
    persons = (await client.get("/persons")).json()["items"]

    response = await client.delete(
        "/councils/ccqs", params={"cascade": "true"}, headers={"X-Request-ID": "cascade-1"}
    )
    assert response.status_code == 204
    entries = by_request(await audit_entries(client), "cascade-1")
    assert sorted((e["entity"], e["entity_id"]) for e in entries) == sorted(doomed)
    for entry in entries:
        assert entry["action"] == "delete"
        assert entry["actor"] == "test-admin"
        before = doomed[(entry["entity"], entry["entity_id"])]
        # A session's links to its neighbours are computed: the sixth has lost its
        # previous one by the time it goes, within the same delete.
        wanted = expected_changes(before, {})
        got = dict(entry["changes"])
        for link in ("previous_session_id", "next_session_id"):
            wanted.pop(link, None)
            got.pop(link, None)
        assert got == wanted, entry["entity"]
    # The persons stay, unaudited.
    assert (await client.get("/persons")).json()["items"] == persons


async def test_person_cascade_delete_writes_one_entry_per_record(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    lavrov = await read(client, f"/persons/{ccqs['persons']['lavrov']['id']}")
    attended = (await client.get(f"/persons/{lavrov['id']}/sessions")).json()["items"]
    assert lavrov["offices"] and attended
    expected = {("person", lavrov["id"])}
    expected |= {("office", o["id"]) for o in lavrov["offices"]}
    expected |= {("participation", s["participation"]["id"]) for s in attended}
    response = await client.delete(
        f"/persons/{lavrov['id']}", params={"cascade": "true"}, headers={"X-Request-ID": "p-1"}
    )
    assert response.status_code == 204
    entries = by_request(await audit_entries(client), "p-1")
    assert sorted((e["entity"], e["entity_id"]) for e in entries) == sorted(expected)
    assert {e["action"] for e in entries} == {"delete"}


async def test_import_writes_one_entry_per_record(client: httpx.AsyncClient) -> None:
    """Importing the CCQS seed creates each source, topic, person, office, council,
    session, participant and agenda item once: one `create` entry each, carrying the
    record as it was made (a session with its segments)."""
    document = SEED.read_bytes()
    headers = {"content-type": "application/json", "X-Request-ID": "import-1"}
    response = await client.post("/import", content=document, headers=headers)
    assert response.status_code == 200, response.text

    records: set[tuple[str, str]] = set()
    for entity, path in (
        ("source", "/sources"),
        ("topic", "/topics"),
        ("person", "/persons"),
        ("council", "/councils"),
        ("session", "/sessions"),
    ):
        records |= {(entity, r["id"]) for r in (await read(client, f"{path}?limit=200"))["items"]}
    sessions = {}
    for _, person_id in [r for r in records if r[0] == "person"]:
        person = await read(client, f"/persons/{person_id}")
        records |= {("office", o["id"]) for o in person["offices"]}
    for _, session_id in [r for r in records if r[0] == "session"]:
        session = sessions[session_id] = await read(client, f"/sessions/{session_id}")
        records |= {("participation", p["id"]) for p in session["participants"]}
        records |= {("agenda_item", a["id"]) for a in session["agenda"]}

    entries = by_request(await audit_entries(client), "import-1")
    touched = [(e["entity"], e["entity_id"]) for e in entries]
    duplicates = sorted({r for r in touched if touched.count(r) > 1})
    assert set(touched) == records
    assert duplicates == [], f"records with several entries: {duplicates}"
    assert {e["action"] for e in entries} == {"create"}
    assert {e["actor"] for e in entries} == {"test-admin"}
    for entry in entries:
        if entry["entity"] == "session":
            made = sessions[entry["entity_id"]]
            segments = [
                {k: v for k, v in s.items() if k != "participant_ids"} for s in made["segments"]
            ]
            recorded = entry["changes"].get("segments", {"new": []})["new"]
            assert [
                {k: v for k, v in s.items() if k != "participant_ids"} for s in recorded
            ] == segments


async def test_reimport_writes_nothing_and_a_changed_field_one_update(
    client: httpx.AsyncClient,
) -> None:
    """Importing the same document again changes nothing and writes no entry; a changed
    field makes one `update` entry with its old and new value."""
    document = SEED.read_bytes()
    headers = {"content-type": "application/json", "X-Request-ID": "import-1"}
    assert (await client.post("/import", content=document, headers=headers)).status_code == 200
    headers["X-Request-ID"] = "import-2"
    assert (await client.post("/import", content=document, headers=headers)).status_code == 200
    assert by_request(await audit_entries(client), "import-2") == []

    # One field changed: one entry.
    changed = orjson.loads(document)
    old = changed["councils"][0].get("description")
    changed["councils"][0]["description"] = "Changed by the import test."
    headers["X-Request-ID"] = "import-3"
    response = await client.post("/import", content=orjson.dumps(changed), headers=headers)
    assert response.status_code == 200, response.text
    entries = by_request(await audit_entries(client), "import-3")
    assert [(e["action"], e["entity"], e["changes"]) for e in entries] == [
        (
            "update",
            "council",
            {"description": {"old": old, "new": "Changed by the import test."}},
        )
    ]


async def test_a_refused_import_writes_nothing(client: httpx.AsyncClient) -> None:
    document = orjson.loads(SEED.read_bytes())
    document["sessions"][1]["start_date"] = "2007-02-30"
    response = await client.post(
        "/import", content=orjson.dumps(document), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert await audit_entries(client) == []


# ---------------------------------------------------------------- the trail is read-only


async def test_audit_entries_cannot_be_changed_or_deleted(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    entries = await audit_entries(client)
    assert entries
    entry = entries[0]
    sixth = ccqs["sixth"]["id"]
    attempts = [
        ("PATCH", "/audit", {"actor": "nobody"}),
        ("PUT", "/audit", {"items": []}),
        ("DELETE", "/audit", None),
        ("POST", "/audit", {"action": "create", "entity": "council", "entity_id": "x"}),
        ("GET", f"/audit/{entry['id']}", None),
        ("PATCH", f"/audit/{entry['id']}", {"actor": "nobody"}),
        ("PUT", f"/audit/{entry['id']}", entry | {"actor": "nobody"}),
        ("DELETE", f"/audit/{entry['id']}", None),
        ("PATCH", f"/sessions/{sixth}/history", {"actor": "nobody"}),
        ("DELETE", f"/sessions/{sixth}/history", None),
        ("POST", f"/sessions/{sixth}/history", {"actor": "nobody"}),
    ]
    for method, url, body in attempts:
        response = await client.request(method, url, json=body)
        assert response.status_code in (404, 405), (method, url, response.status_code)
    assert await audit_entries(client) == entries


# ---------------------------------------------------------------- filters


async def test_audit_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    """entity, entity_id, actor, since (inclusive) and until (exclusive), combined."""
    alice = await make_key(app, "alice", Scope.write)
    bob = await make_key(app, "bob", Scope.write)
    made: dict[str, str] = {}
    async with http_client(app, alice) as a, http_client(app, bob) as b:
        council = {"name": "N", "kind": "bilateral", "member_countries": ["NO", "DE"]}
        response = await a.post("/councils", json=council | {"slug": "ngc"})
        made["council"] = response.json()["id"]
        made["person"] = (await b.post("/persons", json={"name": "Anna"})).json()["id"]
        assert (await a.patch("/persons/" + made["person"], json={"name": "Ann"})).is_success
        response = await b.post("/sessions", json={"council_id": "ngc", "start_date": "2001-01-01"})
        made["session"] = response.json()["id"]
        assert (await b.patch("/councils/ngc", json={"name": "M"})).is_success
    everything = await audit_entries(client)
    assert [(e["actor"], e["action"], e["entity"]) for e in everything] == [
        ("alice", "create", "council"),
        ("bob", "create", "person"),
        ("alice", "update", "person"),
        ("bob", "create", "session"),
        ("bob", "update", "council"),
    ]
    times = [e["at"] for e in everything]
    assert times == sorted(times)

    async def ids(**filters: Any) -> list[str]:
        return [e["id"] for e in await audit_entries(client, **filters)]

    def pick(*indexes: int) -> list[str]:
        return [everything[i]["id"] for i in indexes]

    assert await ids(entity="council") == pick(0, 4)
    assert await ids(entity="session") == pick(3)
    assert await ids(entity="office") == []
    assert await ids(entity_id=made["person"]) == pick(1, 2)
    assert await ids(actor="alice") == pick(0, 2)
    assert await ids(actor="bob", entity="council") == pick(4)
    assert await ids(actor="nobody") == []
    assert await ids(since=times[2]) == pick(2, 3, 4)
    assert await ids(until=times[2]) == pick(0, 1)
    assert await ids(since=times[1], until=times[4]) == pick(1, 2, 3)
    assert await ids(since=times[1], until=times[4], actor="bob") == pick(1, 3)
    assert await ids(until=times[0]) == []
    assert await ids(since="2999-01-01T00:00:00Z") == []
    # Another time zone names the same instant.
    assert await ids(since="1999-12-31T23:00:00-05:00") == pick(0, 1, 2, 3, 4)
    # The record's own history is the same trail.
    history = await read(client, f"/persons/{made['person']}/history")
    assert [e["id"] for e in history["items"]] == pick(1, 2)
    # Pages of one entry each walk the same list.
    assert await ids(limit=1) == pick(0, 1, 2, 3, 4)
    for bad in (
        {"entity": "keys"},
        {"since": "yesterday"},
        {"since": "2007-02-21"},
        {"until": "2007-02-21T10:00:00"},
        {"entity_id": "x" * 37},
    ):
        response = await client.get("/audit", params=bad)
        assert response.status_code == 422, bad
