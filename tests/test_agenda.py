from typing import Any

import httpx
import pytest

from app.pagination import Page
from app.sessions.schemas import AgendaItemRead
from tests.factories import COUNCIL

UNKNOWN_IDS = ("nope", "00001", "-1", "9223372036854775808")
ARTICLE_ORDER = [
    "european-security-architecture",
    "nato-russia-relations",
    "eu-russia-relations-esdp",
    "g8-cooperation",
    "energy-security",
    "wmd-non-proliferation",
    "regional-issues",
    "afghanistan",
    "near-and-middle-east",
    "kosovo",
    "frozen-conflicts",
]


async def create_session(client: httpx.AsyncClient, start_date: str = "2007-02-21") -> dict:
    """A session of the Norwegian-German council (created on first use)."""
    if (await client.get("/councils/ngc")).status_code == 404:
        response = await client.post(
            "/councils",
            json=COUNCIL,
        )
        assert response.status_code == 201, response.text
    response = await client.post("/sessions", json={"council_id": "ngc", "start_date": start_date})
    assert response.status_code == 201, response.text
    return response.json()


async def create_topics(client: httpx.AsyncClient, *slugs: str) -> dict[str, dict[str, Any]]:
    topics = {}
    for slug in slugs:
        response = await client.post("/topics", json={"slug": slug, "name": slug.title()})
        assert response.status_code == 201, response.text
        topics[slug] = response.json()
    return topics


async def add_item(
    client: httpx.AsyncClient, session: dict[str, Any], topic: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/sessions/{session['id']}/agenda", json={"topic_id": topic} | fields
    )
    assert response.status_code == 201, response.text
    AgendaItemRead.model_validate(response.json())
    return response.json()


async def agenda(client: httpx.AsyncClient, session_id: str) -> list[str]:
    """The topic slugs of the agenda in order, after checking positions run 1..n."""
    response = await client.get(f"/sessions/{session_id}/agenda")
    assert response.status_code == 200, response.text
    page = Page[AgendaItemRead].model_validate(response.json())
    assert page.next_cursor is None
    assert [item.position for item in page.items] == list(range(1, len(page.items) + 1))
    return [item.topic.slug for item in page.items]


async def agenda_of_five(client: httpx.AsyncClient) -> tuple[dict, dict[str, dict[str, Any]]]:
    """A session whose agenda is the topics a, b, c, d, e in that order; the items by slug."""
    session = await create_session(client)
    topics = await create_topics(client, "a", "b", "c", "d", "e")
    items = {slug: await add_item(client, session, topic["id"]) for slug, topic in topics.items()}
    return session, items


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


# ---------------------------------------------------------------- the CCQS seed


async def test_sixth_session_agenda_in_the_article_order(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    assert await agenda(client, ccqs["sixth"]["id"]) == ARTICLE_ORDER
    items = (await client.get(f"/sessions/{ccqs['sixth']['id']}/agenda")).json()["items"]
    kosovo = items[9]
    assert kosovo["topic"]["names"] == {"fr": "Kosovo", "en": "Kosovo"}
    assert kosovo["session_id"] == ccqs["sixth"]["id"]
    item = await client.get(f"/sessions/{ccqs['sixth']['id']}/agenda/{kosovo['id']}")
    assert item.status_code == 200
    assert item.json() == kosovo
    assert await agenda(client, ccqs["fifth"]["id"]) == []


# ---------------------------------------------------------------- create


async def test_add_items_at_the_end(client: httpx.AsyncClient) -> None:
    session = await create_session(client)
    topics = await create_topics(client, "energy-security", "kosovo")
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    response = await client.post(
        f"/sessions/{session['id']}/agenda",
        json={
            "topic_id": topics["energy-security"]["id"],
            "title": "Gas supplies to Europe",
            "note": "Raised by the Norwegian side.",
            "source_ids": [source["id"]],
        },
    )
    assert response.status_code == 201
    item = AgendaItemRead.model_validate(response.json())
    assert response.headers["location"] == f"/api/v1/sessions/{session['id']}/agenda/{item.id}"
    assert (item.session_id, item.topic_id, item.position) == (
        session["id"],
        topics["energy-security"]["id"],
        1,
    )
    assert item.topic.slug == "energy-security"
    assert (item.title, item.note, item.source_ids) == (
        "Gas supplies to Europe",
        "Raised by the Norwegian side.",
        [source["id"]],
    )
    assert (await client.get(response.headers["location"].removeprefix("/api/v1"))).json() == (
        response.json()
    )
    # A topic may be named by its slug too; without a position, it goes last.
    second = await add_item(client, session, "kosovo")
    assert (second["topic_id"], second["position"]) == (topics["kosovo"]["id"], 2)
    assert await agenda(client, session["id"]) == ["energy-security", "kosovo"]
    detail = (await client.get(f"/sessions/{session['id']}")).json()
    assert [a["topic"]["slug"] for a in detail["agenda"]] == ["energy-security", "kosovo"]


async def test_insert_at_a_position_moves_later_items_down(client: httpx.AsyncClient) -> None:
    session, _ = await agenda_of_five(client)
    await create_topics(client, "first", "middle", "last", "far")
    assert (await add_item(client, session, "first", position=1))["position"] == 1
    assert await agenda(client, session["id"]) == ["first", "a", "b", "c", "d", "e"]
    assert (await add_item(client, session, "middle", position=4))["position"] == 4
    assert await agenda(client, session["id"]) == ["first", "a", "b", "middle", "c", "d", "e"]
    assert (await add_item(client, session, "last", position=8))["position"] == 8
    # A position past the end puts the item last, still without a gap.
    assert (await add_item(client, session, "far", position=100))["position"] == 9
    assert await agenda(client, session["id"]) == [
        "first",
        "a",
        "b",
        "middle",
        "c",
        "d",
        "e",
        "last",
        "far",
    ]


async def test_the_same_topic_on_two_agendas(client: httpx.AsyncClient) -> None:
    first = await create_session(client)
    second = await create_session(client, start_date="2008-01-01")
    await create_topics(client, "kosovo", "energy")
    await add_item(client, first, "kosovo")
    await add_item(client, second, "energy")
    await add_item(client, second, "kosovo", position=1)
    assert await agenda(client, first["id"]) == ["kosovo"]
    assert await agenda(client, second["id"]) == ["kosovo", "energy"]


async def test_add_item_lists_every_invalid_field(client: httpx.AsyncClient) -> None:
    session = await create_session(client)
    await create_topics(client, "kosovo")
    path = f"/sessions/{session['id']}/agenda"
    assert pointers(await client.post(path, json={})) == {"/topic_id"}
    assert pointers(await client.post(path, json={"topic_id": "nope"})) == {"/topic_id"}
    response = await client.post(
        path, json={"topic_id": "kosovo", "position": 0, "title": "", "note": 3}
    )
    assert pointers(response) == {"/position", "/title", "/note"}
    response = await client.post(path, json={"topic_id": "kosovo", "source_ids": ["nope"]})
    assert pointers(response) == {"/source_ids/0"}
    assert await agenda(client, session["id"]) == []


@pytest.mark.parametrize("position", [0, -1, "2", 1.5, True, 10_001])
async def test_position_is_a_positive_integer(client: httpx.AsyncClient, position: Any) -> None:
    session = await create_session(client)
    await create_topics(client, "kosovo")
    response = await client.post(
        f"/sessions/{session['id']}/agenda", json={"topic_id": "kosovo", "position": position}
    )
    assert pointers(response) == {"/position"}


async def test_unknown_and_read_only_fields_are_refused(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    path = f"/sessions/{session['id']}/agenda"
    refused = [
        ("id", "0190c5e2-0000-7000-8000-000000000000"),
        ("created_at", "2007-02-21T00:00:00Z"),
        ("updated_at", "2007-02-21T00:00:00Z"),
        ("session_id", session["id"]),
        ("topic", {"slug": "a"}),
        ("priority", "high"),
    ]
    for field, value in refused:
        response = await client.post(path, json={"topic_id": "a", field: value})
        assert pointers(response) == {f"/{field}"}, field
        response = await client.patch(f"{path}/{items['c']['id']}", json={field: value})
        assert pointers(response) == {f"/{field}"}, field
    assert await agenda(client, session["id"]) == ["a", "b", "c", "d", "e"]


# ---------------------------------------------------------------- update


@pytest.mark.parametrize(
    ("moved", "position", "order"),
    [
        ("e", 1, ["e", "a", "b", "c", "d"]),
        ("a", 5, ["b", "c", "d", "e", "a"]),
        ("b", 4, ["a", "c", "d", "b", "e"]),
        ("d", 2, ["a", "d", "b", "c", "e"]),
        ("c", 3, ["a", "b", "c", "d", "e"]),
        # Past the end: last, without a gap.
        ("b", 50, ["a", "c", "d", "e", "b"]),
    ],
)
async def test_patch_position_moves_the_item(
    client: httpx.AsyncClient, moved: str, position: int, order: list[str]
) -> None:
    session, items = await agenda_of_five(client)
    response = await client.patch(
        f"/sessions/{session['id']}/agenda/{items[moved]['id']}", json={"position": position}
    )
    assert response.status_code == 200
    assert response.json()["position"] == order.index(moved) + 1
    assert await agenda(client, session["id"]) == order


async def test_successive_moves_keep_positions_contiguous(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    path = f"/sessions/{session['id']}/agenda"
    for slug, position in [("a", 3), ("e", 1), ("a", 1), ("c", 5), ("d", 2)]:
        response = await client.patch(f"{path}/{items[slug]['id']}", json={"position": position})
        assert response.status_code == 200
    assert await agenda(client, session["id"]) == ["a", "d", "e", "b", "c"]


async def test_patch_agenda_item(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    await create_topics(client, "kosovo")
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    path = f"/sessions/{session['id']}/agenda/{items['b']['id']}"
    response = await client.patch(
        path,
        json={
            "topic_id": "kosovo",
            "title": "Status of Kosovo",
            "note": "Briefly.",
            "source_ids": [source["id"]],
        },
    )
    assert response.status_code == 200
    item = AgendaItemRead.model_validate(response.json())
    assert (item.topic.slug, item.title, item.note, item.source_ids) == (
        "kosovo",
        "Status of Kosovo",
        "Briefly.",
        [source["id"]],
    )
    assert (item.id, item.position, item.created_at) == (
        items["b"]["id"],
        2,
        items["b"]["created_at"],
    )
    assert item.updated_at > items["b"]["updated_at"]
    assert (await client.get(path)).json() == response.json()
    assert await agenda(client, session["id"]) == ["a", "kosovo", "c", "d", "e"]
    # Nullable fields clear; an empty body changes nothing.
    response = await client.patch(path, json={"title": None, "note": None, "source_ids": []})
    assert (response.json()["title"], response.json()["note"]) == (None, None)
    assert (await client.patch(path, json={})).json()["topic"]["slug"] == "kosovo"


async def test_patch_agenda_item_is_validated(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    path = f"/sessions/{session['id']}/agenda/{items['b']['id']}"
    assert pointers(await client.patch(path, json={"topic_id": "nope"})) == {"/topic_id"}
    assert pointers(await client.patch(path, json={"position": 0})) == {"/position"}
    assert pointers(await client.patch(path, json={"position": "1"})) == {"/position"}
    for field in ("topic_id", "position", "source_ids"):
        assert pointers(await client.patch(path, json={field: None})) == {f"/{field}"}, field
    response = await client.patch(path, json={"source_ids": ["nope"]})
    assert pointers(response) == {"/source_ids/0"}
    assert (await client.get(path)).json() == items["b"]
    assert await agenda(client, session["id"]) == ["a", "b", "c", "d", "e"]


# ---------------------------------------------------------------- delete


@pytest.mark.parametrize(
    ("deleted", "order"),
    [("a", ["b", "c", "d", "e"]), ("c", ["a", "b", "d", "e"]), ("e", ["a", "b", "c", "d"])],
)
async def test_delete_item_moves_later_items_up(
    client: httpx.AsyncClient, deleted: str, order: list[str]
) -> None:
    session, items = await agenda_of_five(client)
    path = f"/sessions/{session['id']}/agenda/{items[deleted]['id']}"
    response = await client.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(path)).status_code == 404
    assert (await client.delete(path)).status_code == 404
    assert await agenda(client, session["id"]) == order
    # The topic itself remains.
    assert (await client.get(f"/topics/{deleted}")).status_code == 200


async def test_insert_move_and_delete_together(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    path = f"/sessions/{session['id']}/agenda"
    await create_topics(client, "x")
    x = await add_item(client, session, "x", position=2)
    assert (await client.delete(f"{path}/{items['a']['id']}")).status_code == 204
    assert await agenda(client, session["id"]) == ["x", "b", "c", "d", "e"]
    response = await client.patch(f"{path}/{x['id']}", json={"position": 4})
    assert response.json()["position"] == 4
    assert (await client.delete(f"{path}/{items['c']['id']}")).status_code == 204
    assert await agenda(client, session["id"]) == ["b", "d", "x", "e"]
    assert (await client.get(f"{path}/{x['id']}")).json()["position"] == 3


async def test_deleting_a_topic_in_use_renumbers_the_agenda(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    sixth = ccqs["sixth"]["id"]
    assert (await client.delete("/topics/energy-security")).status_code == 409
    assert await agenda(client, sixth) == ARTICLE_ORDER
    response = await client.delete("/topics/regional-issues", params={"cascade": "true"})
    assert response.status_code == 204
    assert await agenda(client, sixth) == [
        "european-security-architecture",
        "nato-russia-relations",
        "eu-russia-relations-esdp",
        "g8-cooperation",
        "energy-security",
        "wmd-non-proliferation",
    ]


async def test_deleting_the_session_deletes_its_agenda(client: httpx.AsyncClient) -> None:
    session, items = await agenda_of_five(client)
    assert (await client.delete(f"/sessions/{session['id']}")).status_code == 204
    path = f"/sessions/{session['id']}/agenda/{items['a']['id']}"
    assert (await client.get(path)).status_code == 404
    # The topics remain, and can be deleted without cascade: they are on no agenda any more.
    assert (await client.delete("/topics/a")).status_code == 204


# ---------------------------------------------------------------- not found


async def test_agenda_of_an_unknown_session_is_404(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    item_id = (await client.get(f"/sessions/{ccqs['sixth']['id']}/agenda")).json()["items"][0]["id"]
    for session_id in UNKNOWN_IDS:
        path = f"/sessions/{session_id}/agenda"
        assert (await client.get(path)).status_code == 404
        assert (await client.post(path, json={"topic_id": "kosovo"})).status_code == 404
        assert (await client.get(f"{path}/{item_id}")).status_code == 404
        assert (await client.patch(f"{path}/{item_id}", json={"position": 1})).status_code == 404
        assert (await client.delete(f"{path}/{item_id}")).status_code == 404
    assert await agenda(client, ccqs["sixth"]["id"]) == ARTICLE_ORDER


async def test_unknown_agenda_item_is_404(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    sixth, fifth = ccqs["sixth"]["id"], ccqs["fifth"]["id"]
    item_id = (await client.get(f"/sessions/{sixth}/agenda")).json()["items"][0]["id"]
    # An item of the 6th session's agenda is not one of the 5th's.
    for session_id, some_id in [(fifth, item_id), *((sixth, i) for i in UNKNOWN_IDS)]:
        path = f"/sessions/{session_id}/agenda/{some_id}"
        assert (await client.get(path)).status_code == 404
        assert (await client.patch(path, json={"position": 1})).status_code == 404
        assert (await client.delete(path)).status_code == 404
    assert await agenda(client, sixth) == ARTICLE_ORDER
    assert await agenda(client, fifth) == []


async def test_overlong_agenda_item_id_is_404(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Any form of id that names no agenda item is 404, however long."""
    response = await client.get(f"/sessions/{ccqs['sixth']['id']}/agenda/{'0' * 100}")
    assert response.status_code == 404
