"""Many writers at once on one record or one unique key (API.md, "Writes, concurrency,
idempotency", and the 409 for a unique key taken): exactly one wins, every other gets the
contract's answer (412 for a stale `If-Match`, 409 for a key taken), nothing gives 500
and nothing deadlocks. On SQLite the writers queue on the write lock; on PostgreSQL they
meet on row locks and unique indexes."""

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import httpx

from tests.factories import COUNCIL

WRITERS = 50


async def all_at_once(
    client: httpx.AsyncClient, requests: list[Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """Every request concurrently. The ASGI transport applies no timeout of its own, so the
    client's (httpx's default) bounds the whole batch: a deadlock fails here, not hangs."""
    bound = client.timeout.read
    assert bound is not None
    async with asyncio.timeout(bound):
        return await asyncio.gather(*requests)


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


async def test_one_etag_lets_one_patch_through(client: httpx.AsyncClient) -> None:
    await created(client, "/councils", COUNCIL)
    etag = (await client.get("/councils/ngc")).headers["etag"]
    responses = await all_at_once(
        client,
        [
            client.patch(
                "/councils/ngc", json={"name": f"Council, version {n}"}, headers={"If-Match": etag}
            )
            for n in range(WRITERS)
        ],
    )
    assert statuses(responses) == {200: 1, 412: WRITERS - 1}, [r.text for r in responses]
    (winner,) = [r for r in responses if r.status_code == 200]
    for refused in (r for r in responses if r.status_code == 412):
        assert refused.headers["content-type"] == "application/problem+json"
    # The council is the winner's version, and its ETag moved on.
    current = await client.get("/councils/ngc")
    assert current.json()["name"] == winner.json()["name"]
    assert current.headers["etag"] != etag
    history = (await client.get("/councils/ngc/history")).json()["items"]
    assert [e["action"] for e in history] == ["create", "update"]


async def test_one_slug_is_created_once(client: httpx.AsyncClient) -> None:
    responses = await all_at_once(
        client,
        [client.post("/councils", json=COUNCIL | {"name": f"Council {n}"}) for n in range(WRITERS)],
    )
    assert statuses(responses) == {201: 1, 409: WRITERS - 1}, [r.text for r in responses]
    (winner,) = [r for r in responses if r.status_code == 201]
    councils = (await client.get("/councils")).json()["items"]
    assert [c["id"] for c in councils] == [winner.json()["id"]]
    audit = (await client.get("/audit", params={"entity": "council"})).json()["items"]
    assert [(e["action"], e["entity_id"]) for e in audit] == [("create", winner.json()["id"])]


async def test_one_person_takes_part_in_a_session_once(client: httpx.AsyncClient) -> None:
    await created(client, "/councils", COUNCIL)
    session = await created(client, "/sessions", {"council_id": "ngc", "start_date": "2007-02-21"})
    person = await created(client, "/persons", {"name": "Anne Holm", "nationality": "NO"})
    path = f"/sessions/{session['id']}/participants"
    responses = await all_at_once(
        client,
        [
            client.post(
                path,
                json={"person_id": person["id"], "delegation": "NO", "note": f"Attempt {n}"},
            )
            for n in range(WRITERS)
        ],
    )
    assert statuses(responses) == {201: 1, 409: WRITERS - 1}, [r.text for r in responses]
    (winner,) = [r for r in responses if r.status_code == 201]
    participants = (await client.get(path)).json()["items"]
    assert [p["id"] for p in participants] == [winner.json()["id"]]
    audit = (await client.get("/audit", params={"entity": "participation"})).json()["items"]
    assert [(e["action"], e["entity_id"]) for e in audit] == [("create", winner.json()["id"])]


async def test_agenda_items_added_at_once_each_get_a_place(client: httpx.AsyncClient) -> None:
    """Additions to one agenda meet on the session: each is answered 201 and the agenda is
    numbered 1..n without a gap or a repeat, and every topic finds the session."""
    await created(client, "/councils", COUNCIL)
    session = await created(client, "/sessions", {"council_id": "ngc", "start_date": "2007-02-21"})
    topics = [
        await created(client, "/topics", {"slug": f"topic-{n}", "name": f"Subject{n} matters"})
        for n in range(10)
    ]
    path = f"/sessions/{session['id']}/agenda"
    responses = await all_at_once(
        client, [client.post(path, json={"topic_id": topic["id"]}) for topic in topics]
    )
    assert statuses(responses) == {201: len(topics)}, [r.text for r in responses]
    agenda = (await client.get(path)).json()["items"]
    assert [item["position"] for item in agenda] == list(range(1, len(topics) + 1))
    assert {item["topic_id"] for item in agenda} == {topic["id"] for topic in topics}
    for n in range(10):
        found = (await client.get("/sessions", params={"q": f"subject{n}"})).json()["items"]
        assert [s["id"] for s in found] == [session["id"]], n
