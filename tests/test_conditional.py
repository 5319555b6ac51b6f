"""Conditional requests and idempotent POSTs (API.md, "Writes, concurrency, idempotency"):
every single-resource GET and every list page has an ETag that `If-None-Match` turns into
304; `If-Match` with a stale ETag makes PATCH and DELETE 412 and change nothing; a POST
retried with its `Idempotency-Key` gets the first answer and creates nothing more."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.factories import COUNCIL

# Each kind of record: its path, a change to make to it, and the list it appears in.
KINDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "council": (
        "/councils/{council}",
        {"name": "Norwegian-German Forum"},
        "/councils",
    ),
    "session": (
        "/sessions/{session}",
        {"summary": "Talks in Oslo."},
        "/sessions",
    ),
    "participant": (
        "/sessions/{session}/participants/{participant}",
        {"note": "Led the delegation."},
        "/sessions/{session}/participants",
    ),
    "agenda_item": (
        "/sessions/{session}/agenda/{item}",
        {"title": "The High North"},
        "/sessions/{session}/agenda",
    ),
    "person": (
        "/persons/{person}",
        {"name": "J. G. Støre"},
        "/persons",
    ),
    "office": (
        "/persons/{person}/offices/{office}",
        {"title": "Minister"},
        "/persons/{person}/offices",
    ),
    "topic": (
        "/topics/{topic}",
        {"name": "The High North"},
        "/topics",
    ),
    "source": (
        "/sources/{source}",
        {"title": "Oslo talks"},
        "/sources",
    ),
}
# Records with dependents are deleted with ?cascade=true (without it: 409).
CASCADE = {"council", "person", "topic"}


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    record: dict[str, Any] = response.json()
    return record


@pytest.fixture
async def graph(client: httpx.AsyncClient) -> dict[str, str]:
    """One record of each kind, linked: the ids to put in paths."""
    source = await created(client, "/sources", {"url": "https://example.org/oslo"})
    council = await created(client, "/councils", COUNCIL)
    session = await created(
        client, "/sessions", {"council_id": "ngc", "ordinal": 1, "start_date": "2007-02-21"}
    )
    person = await created(client, "/persons", {"name": "Jonas Gahr Støre", "nationality": "NO"})
    office = await created(
        client,
        f"/persons/{person['id']}/offices",
        {"title": "Foreign minister", "country": "NO", "start_date": "2005-10"},
    )
    participant = await created(
        client,
        f"/sessions/{session['id']}/participants",
        {"person_id": person["id"], "delegation": "NO"},
    )
    topic = await created(client, "/topics", {"slug": "arctic", "name": "The Arctic"})
    item = await created(client, f"/sessions/{session['id']}/agenda", {"topic_id": "arctic"})
    return {
        "council": council["id"],
        "session": session["id"],
        "person": person["id"],
        "office": office["id"],
        "participant": participant["id"],
        "topic": topic["id"],
        "item": item["id"],
        "source": source["id"],
    }


def etag_of(response: httpx.Response) -> str:
    etag = response.headers.get("etag")
    assert etag, f"{response.request.method} {response.request.url} has no ETag"
    # A strong entity tag: a quoted string.
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2, etag
    return etag


async def fetch(
    client: httpx.AsyncClient, path: str, if_none_match: str | None = None
) -> httpx.Response:
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else {}
    response = await client.get(path, headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


# ---------------------------------------------------------------- ETag and If-None-Match


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_single_resource_get_has_an_etag_and_304(
    client: httpx.AsyncClient, graph: dict[str, str], kind: str
) -> None:
    template, change, _ = KINDS[kind]
    path = template.format(**graph)
    first = await fetch(client, path)
    assert first.status_code == 200
    etag = etag_of(first)
    # The same representation, the same ETag.
    assert etag_of(await fetch(client, path)) == etag

    for given in (etag, f"W/{etag}", f'"something-else", {etag}', "*"):
        cached = await fetch(client, path, if_none_match=given)
        assert cached.status_code == 304, given
        assert cached.content == b""
        assert cached.headers["etag"] == etag
    other = await fetch(client, path, if_none_match='"something-else"')
    assert other.status_code == 200
    assert other.json() == first.json()

    response = await client.patch(path, json=change)
    assert response.status_code == 200, response.text
    changed = await fetch(client, path, if_none_match=etag)
    assert changed.status_code == 200
    assert etag_of(changed) != etag
    assert changed.json() != first.json()
    assert (await fetch(client, path, if_none_match=etag_of(changed))).status_code == 304


async def test_council_by_slug_and_id_and_country_have_etags(
    client: httpx.AsyncClient, graph: dict[str, str]
) -> None:
    by_slug = etag_of(await fetch(client, "/councils/ngc"))
    by_id = etag_of(await fetch(client, f"/councils/{graph['council']}"))
    assert by_slug == by_id
    assert (
        await fetch(client, f"/councils/{graph['council']}", if_none_match=by_slug)
    ).status_code == 304
    country = etag_of(await fetch(client, "/countries/NO"))
    assert (await fetch(client, "/countries/NO", if_none_match=country)).status_code == 304
    assert etag_of(await fetch(client, "/countries/DE")) != country


LISTS = [
    "/councils",
    "/sessions",
    "/persons",
    "/topics",
    "/sources",
    "/countries",
    "/councils/ngc/sessions",
    "/councils/ngc/timeline",
    "/sessions/{session}/participants",
    "/sessions/{session}/agenda",
    "/persons/{person}/offices",
    "/persons/{person}/sessions",
    "/persons/{person}/counterparts",
    "/topics/arctic/sessions",
    "/search?q=arctic",
    "/audit",
]


async def test_list_pages_have_etags(client: httpx.AsyncClient, graph: dict[str, str]) -> None:
    for template in LISTS:
        path = template.format(**graph)
        first = await fetch(client, path)
        assert first.status_code == 200, path
        etag = etag_of(first)
        cached = await fetch(client, path, if_none_match=etag)
        assert cached.status_code == 304, path
        assert cached.content == b""


async def test_a_list_etag_changes_with_its_items(
    client: httpx.AsyncClient, graph: dict[str, str]
) -> None:
    for kind, (template, change, list_template) in KINDS.items():
        listed = list_template.format(**graph)
        etag = etag_of(await fetch(client, listed))
        response = await client.patch(template.format(**graph), json=change)
        assert response.status_code == 200, response.text
        after = await fetch(client, listed, if_none_match=etag)
        assert after.status_code == 200, kind
        assert etag_of(after) != etag, kind


# ---------------------------------------------------------------- If-Match


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, graph: dict[str, str], kind: str
) -> None:
    template, change, _ = KINDS[kind]
    path = template.format(**graph)
    stale = etag_of(await fetch(client, path))

    # Without If-Match the write proceeds.
    response = await client.patch(path, json=change)
    assert response.status_code == 200, response.text
    current = await fetch(client, path)
    assert etag_of(current) != stale
    # The PATCH answer's ETag is that of the record as now read.
    assert etag_of(response) == etag_of(current)

    refused = await client.patch(path, json=change, headers={"If-Match": stale})
    assert refused.status_code == 412, refused.text
    refused = await client.patch(path, json=change, headers={"If-Match": '"nonsense"'})
    assert refused.status_code == 412
    params = {"cascade": "true"} if kind in CASCADE else {}
    refused = await client.delete(path, params=params, headers={"If-Match": stale})
    assert refused.status_code == 412, refused.text
    unchanged = await fetch(client, path)
    assert unchanged.json() == current.json()
    assert etag_of(unchanged) == etag_of(current)

    # With the current ETag (alone, or among others) the writes succeed.
    key = next(iter(change))
    value = change[key] + " (again)"
    response = await client.patch(
        path, json={key: value}, headers={"If-Match": f'"old", {etag_of(current)}'}
    )
    assert response.status_code == 200, response.text
    assert response.json()[key] == value
    latest = etag_of(await fetch(client, path))
    response = await client.delete(path, params=params, headers={"If-Match": latest})
    assert response.status_code == 204, response.text
    assert (await client.get(path)).status_code == 404


async def test_if_match_star_and_absent_proceed(
    client: httpx.AsyncClient, graph: dict[str, str]
) -> None:
    path = f"/persons/{graph['person']}"
    response = await client.patch(path, json={"name": "A"}, headers={"If-Match": "*"})
    assert response.status_code == 200
    response = await client.patch(path, json={"name": "B"})
    assert response.status_code == 200
    assert (await client.get(path)).json()["name"] == "B"


async def test_if_match_uses_the_strong_comparison(
    client: httpx.AsyncClient, graph: dict[str, str]
) -> None:
    """RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag never matches."""
    path = f"/persons/{graph['person']}"
    etag = etag_of(await fetch(client, path))
    response = await client.patch(
        path, json={"name": "Weakly matched"}, headers={"If-Match": f"W/{etag}"}
    )
    assert response.status_code == 412, response.text
    assert (await client.get(path)).json()["name"] == "Jonas Gahr Støre"


async def test_session_etag_follows_its_parts(
    client: httpx.AsyncClient, graph: dict[str, str]
) -> None:
    """The session's representation embeds its participants, agenda and council: a change
    to any of them is a new ETag, and makes the old one stale for If-Match."""
    path = f"/sessions/{graph['session']}"
    seen = [etag_of(await fetch(client, path))]

    async def changed_after(method: str, url: str, body: dict[str, Any] | None = None) -> None:
        response = await client.request(method, url, json=body)
        assert response.status_code in (200, 201), response.text
        after = await fetch(client, path, if_none_match=seen[-1])
        assert after.status_code == 200, f"{method} {url} left the session's ETag as it was"
        assert etag_of(after) not in seen
        seen.append(etag_of(after))

    other = await created(client, "/persons", {"name": "Frank-Walter Steinmeier"})
    await changed_after(
        "POST", f"{path}/participants", {"person_id": other["id"], "delegation": "DE"}
    )
    await changed_after("PATCH", f"{path}/agenda/{graph['item']}", {"title": "The High North"})
    await changed_after("POST", f"{path}/agenda", {"topic_id": "arctic", "position": 1})
    await changed_after("PATCH", "/councils/ngc", {"name": "Norwegian-German Forum"})
    await changed_after("PATCH", f"/persons/{graph['person']}", {"name": "J. G. Støre"})
    await changed_after(
        "PATCH", f"/persons/{graph['person']}/offices/{graph['office']}", {"title": "Minister"}
    )

    for stale in seen[:-1]:
        response = await client.patch(path, json={"summary": "x"}, headers={"If-Match": stale})
        assert response.status_code == 412
    response = await client.patch(path, json={"summary": "x"}, headers={"If-Match": seen[-1]})
    assert response.status_code == 200


# ---------------------------------------------------------------- Idempotency-Key


async def count(client: httpx.AsyncClient, path: str) -> int:
    response = await client.get(path, params={"limit": 200})
    assert response.status_code == 200
    return len(response.json()["items"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/persons", {"name": "Jonas Gahr Støre"}),
        ("/councils", COUNCIL),
        ("/sources", {"url": "https://example.org/a"}),
    ],
    ids=["person", "council", "source"],
)
async def test_a_replayed_post_returns_the_first_answer(
    client: httpx.AsyncClient, path: str, body: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "5f0c9a8e-4a7f-4d37-9e53-6b1f2e0f1a01"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/api/v1{path}/{first.json()['id']}"
    _, cursor = await feed_cursor(client)

    for _ in range(2):
        replay = await client.post(path, json=body, headers=headers)
        assert replay.status_code == 201, replay.text
        assert replay.json() == first.json()
        assert replay.headers["location"] == first.headers["location"]
        assert replay.headers["content-type"] == "application/json"
    assert await count(client, path) == 1
    assert (await client.get("/changes", params={"since": cursor})).json()["items"] == []

    # The same key with another body is refused, and creates nothing either.
    other = await client.post(path, json=body | {"name": "Someone else"}, headers=headers)
    assert other.status_code == 422, other.text
    assert {e["pointer"] for e in other.json()["errors"]} == {"/header/Idempotency-Key"}
    assert await count(client, path) == 1


async def feed_cursor(client: httpx.AsyncClient) -> tuple[list[Any], str]:
    items: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 200} | ({"since": cursor} if cursor else {})
        page = (await client.get("/changes", params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["items"]:
            return items, cursor


async def test_without_a_key_each_post_creates(client: httpx.AsyncClient) -> None:
    body = {"name": "Jonas Gahr Støre"}
    assert (await client.post("/persons", json=body)).status_code == 201
    assert (await client.post("/persons", json=body)).status_code == 201
    # Two keys, two records.
    for key in ("key-1", "key-2"):
        response = await client.post("/persons", json=body, headers={"Idempotency-Key": key})
        assert response.status_code == 201
    assert await count(client, "/persons") == 4


async def test_a_replay_of_a_nested_post(client: httpx.AsyncClient, graph: dict[str, str]) -> None:
    path = f"/sessions/{graph['session']}/agenda"
    headers = {"Idempotency-Key": "agenda-1"}
    body = {"topic_id": "arctic", "title": "Fisheries"}
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = await client.post(path, json=body, headers=headers)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["location"] == first.headers["location"]
    assert await count(client, path) == 2  # the fixture's item and this one
    # The fingerprint covers the path: the same key and body elsewhere is another request.
    elsewhere = await client.post("/topics", json={"slug": "x", "name": "x"}, headers=headers)
    assert elsewhere.status_code == 422


async def test_concurrent_posts_with_one_key_create_one_record(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "concurrent-1"}
    body = {"name": "Jonas Gahr Støre", "nationality": "NO"}
    answers = await asyncio.gather(
        *(client.post("/persons", json=body, headers=headers) for _ in range(2))
    )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert answers[0].headers["location"] == answers[1].headers["location"]
    persons = (await client.get("/persons")).json()["items"]
    assert [p["id"] for p in persons] == [answers[0].json()["id"]]
