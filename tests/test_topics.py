"""Topics: the thesaurus of agenda topics, /topics and /topics/{topic} (id or slug)."""

import unicodedata
from typing import Any

import httpx
import pytest

from app.topics.schemas import TopicRead

UNKNOWN_TOPICS = (
    "nope",
    "00001",
    "-1",
    "9223372036854775808",
    "0190b8f5-0000-7000-8000-000000000000",
)

SEED_TREE = {
    "european-security-architecture": {"nato-russia-relations", "eu-russia-relations-esdp"},
    "regional-issues": {"afghanistan", "near-and-middle-east", "kosovo", "frozen-conflicts"},
}
SEED_ROOTS = {
    "european-security-architecture",
    "g8-cooperation",
    "energy-security",
    "wmd-non-proliferation",
    "regional-issues",
}


def validated_topic(body: dict[str, Any]) -> TopicRead:
    """The body read through TopicRead, which must list exactly its fields."""
    assert body.keys() == TopicRead.model_fields.keys()
    return TopicRead.model_validate(body)


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


async def create_topic(client: httpx.AsyncClient, slug: str, **fields: Any) -> dict[str, Any]:
    body = {"slug": slug, "name": slug.replace("-", " ").capitalize()} | fields
    response = await client.post("/topics", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def all_topics(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Every topic, by slug."""
    items = (await client.get("/topics", params={"limit": 200})).json()["items"]
    return {topic["slug"]: topic for topic in items}


async def agenda_slugs(client: httpx.AsyncClient, session_id: str) -> list[str]:
    """The topics on a session's agenda, in order; checks the positions are 1..n."""
    items = (await client.get(f"/sessions/{session_id}/agenda")).json()["items"]
    assert [item["position"] for item in items] == list(range(1, len(items) + 1))
    return [item["topic"]["slug"] for item in items]


# ---------------------------------------------------------------- the CCQS seed


async def test_ccqs_topic_tree_is_seeded(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    topics = await all_topics(client)
    assert len(topics) == 11
    by_id = {topic["id"]: topic for topic in topics.values()}
    for topic in topics.values():
        validated_topic(topic)
    assert {slug for slug, topic in topics.items() if topic["parent_id"] is None} == SEED_ROOTS
    for parent, children in SEED_TREE.items():
        assert {by_id[child]["slug"] for child in topics[parent]["children"]} == children
        for child in children:
            assert topics[child]["parent_id"] == topics[parent]["id"]
            assert topics[child]["children"] == []
    assert topics["regional-issues"]["names"] == {
        "fr": "Grands dossiers régionaux",
        "en": "Regional issues",
    }
    assert topics["european-security-architecture"]["names"] == {
        "fr": "Architecture de sécurité en Europe",
        "en": "European security architecture",
    }
    assert topics["energy-security"]["names"]["fr"] == "Sécurité énergétique"
    for topic in topics.values():
        assert topic["names"].keys() == {"fr", "en"}
        assert topic["names"]["en"] == topic["name"]
    assert topics["kosovo"]["countries"] == ["XK"]
    assert topics["afghanistan"]["countries"] == ["AF"]


async def test_topic_is_found_by_slug_and_by_id(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    by_slug = await client.get("/topics/kosovo")
    assert by_slug.status_code == 200
    topic = validated_topic(by_slug.json())
    assert topic.name == "Kosovo"
    assert (await client.get(f"/topics/{topic.id}")).json() == by_slug.json()


# ---------------------------------------------------------------- create


async def test_create_topic(client: httpx.AsyncClient) -> None:
    body = {
        "slug": "energy-security",
        "name": "Energy security",
        "names": {"fr": "Sécurité énergétique", "en": "Energy security"},
        "description": "Gas transit, pipelines, nuclear power.",
        "countries": ["UA", "RU", "XK"],
    }
    response = await client.post("/topics", json=body)
    assert response.status_code == 201
    topic = validated_topic(response.json())
    assert response.headers["location"] == f"/api/v1/topics/{topic.id}"
    assert topic.model_dump(include=set(body)) == body
    assert topic.parent_id is None
    assert topic.children == []
    assert topic.created_at.endswith("Z")
    assert (await client.get(f"/topics/{topic.id}")).json() == response.json()
    assert (await client.get("/topics/energy-security")).json() == response.json()


async def test_only_slug_and_name_are_required(client: httpx.AsyncClient) -> None:
    assert pointers(await client.post("/topics", json={})) == {"/slug", "/name"}
    topic = await create_topic(client, "g8")
    assert (topic["names"], topic["description"], topic["countries"]) == ({}, None, [])


async def test_create_topic_under_a_parent_given_by_id_or_slug(client: httpx.AsyncClient) -> None:
    parent = await create_topic(client, "regional-issues")
    by_slug = await create_topic(client, "kosovo", parent_id="regional-issues")
    by_id = await create_topic(client, "afghanistan", parent_id=parent["id"])
    assert by_slug["parent_id"] == parent["id"]
    assert by_id["parent_id"] == parent["id"]
    children = (await client.get("/topics/regional-issues")).json()["children"]
    assert set(children) == {by_slug["id"], by_id["id"]}


async def test_unknown_parent_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/topics", json={"slug": "kosovo", "name": "Kosovo", "parent_id": "regional-issues"}
    )
    assert pointers(response) == {"/parent_id"}
    assert await all_topics(client) == {}


async def test_invalid_topic_fields_are_listed_with_pointers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/topics",
        json={
            "slug": "Energy Security",
            "name": "",
            "names": {"fr": ""},
            "countries": ["FR", "ZZ", "fr"],
            "description": 42,
        },
    )
    assert pointers(response) == {
        "/slug",
        "/name",
        "/names/fr",
        "/countries/1",
        "/countries/2",
        "/description",
    }


async def test_longest_accepted_topic_fields_are_stored(client: httpx.AsyncClient) -> None:
    slug = "-".join(["abcdefghi"] * 10)
    assert len(slug) == 99
    topic = await create_topic(client, slug + "x", name="n" * 500, names={"fr": "f" * 500})
    assert (topic["slug"], topic["name"], topic["names"]) == (
        slug + "x",
        "n" * 500,
        {"fr": "f" * 500},
    )
    assert (await client.get(f"/topics/{slug}x")).json() == topic
    assert pointers(await client.post("/topics", json={"slug": slug + "xy", "name": "A"})) == {
        "/slug"
    }


async def test_unknown_and_read_only_topic_fields_are_422(client: httpx.AsyncClient) -> None:
    read_only = {
        "id": "x",
        "children": [],
        "created_at": "2007-02-21T00:00:00Z",
        "updated_at": "2007-02-21T00:00:00Z",
        "colour": "red",
    }
    response = await client.post("/topics", json={"slug": "a", "name": "A"} | read_only)
    assert pointers(response) == {f"/{field}" for field in read_only}
    topic = await create_topic(client, "a")
    for field, value in read_only.items():
        assert pointers(await client.patch("/topics/a", json={field: value})) == {f"/{field}"}
    assert (await client.get("/topics/a")).json() == topic


async def test_topic_text_is_stored_in_nfc(client: httpx.AsyncClient) -> None:
    nfd = unicodedata.normalize("NFD", "Sécurité énergétique")
    topic = await create_topic(
        client, "energy-security", name=nfd, names={"fr": nfd}, description=nfd
    )
    assert topic["name"] == "Sécurité énergétique"
    assert topic["names"] == {"fr": "Sécurité énergétique"}
    assert topic["description"] == "Sécurité énergétique"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"slug": "a", "name": "A\\u0000"}', "/name"),
        ('{"slug": "a", "name": "A\\ud800"}', "/name"),
        ('{"slug": "a", "name": "A", "description": "\\udfff"}', "/description"),
        ('{"slug": "a", "name": "A", "names": {"fr": "\\u0000"}}', "/names/fr"),
        ('{"slug": "a", "name": "A", "parent_id": "\\u0000"}', "/parent_id"),
    ],
)
async def test_nul_and_lone_surrogates_are_422(
    client: httpx.AsyncClient, text: str, pointer: str
) -> None:
    response = await client.post(
        "/topics", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert pointers(response) == {pointer}


async def test_topic_slug_taken_is_409(client: httpx.AsyncClient) -> None:
    await create_topic(client, "kosovo")
    response = await client.post("/topics", json={"slug": "kosovo", "name": "Another Kosovo"})
    assert response.status_code == 409
    assert "kosovo" in response.json()["detail"]
    other = await create_topic(client, "serbia")
    response = await client.patch(f"/topics/{other['id']}", json={"slug": "kosovo"})
    assert response.status_code == 409
    assert (await client.get(f"/topics/{other['id']}")).json()["slug"] == "serbia"
    assert len(await all_topics(client)) == 2


# ---------------------------------------------------------------- update


async def test_patch_topic_by_slug(client: httpx.AsyncClient) -> None:
    topic = await create_topic(client, "energy", names={"en": "Energy"}, countries=["RU"])
    response = await client.patch(
        "/topics/energy",
        json={"name": "Energy security", "names": {"fr": "Sécurité énergétique"}, "countries": []},
    )
    assert response.status_code == 200
    body = validated_topic(response.json())
    assert (body.name, body.names, body.countries) == (
        "Energy security",
        {"fr": "Sécurité énergétique"},
        [],
    )
    assert body.slug == "energy"
    assert body.created_at == topic["created_at"]
    assert body.updated_at > topic["updated_at"]
    assert (await client.get(f"/topics/{topic['id']}")).json() == response.json()


async def test_new_slug_works_in_paths_and_old_one_no_longer(client: httpx.AsyncClient) -> None:
    topic = await create_topic(client, "energy")
    response = await client.patch("/topics/energy", json={"slug": "energy-security"})
    assert response.status_code == 200
    assert (await client.get("/topics/energy-security")).json()["id"] == topic["id"]
    assert (await client.get("/topics/energy")).status_code == 404
    # Patching a topic with its own slug is no conflict.
    assert (
        await client.patch("/topics/energy-security", json={"slug": "energy-security"})
    ).status_code == 200


async def test_patch_topic_cannot_null_required_fields(client: httpx.AsyncClient) -> None:
    topic = await create_topic(client, "energy", description="Gas.")
    for field in ("slug", "name", "names", "countries"):
        assert pointers(await client.patch("/topics/energy", json={field: None})) == {f"/{field}"}
    assert (await client.get("/topics/energy")).json() == topic
    cleared = await client.patch("/topics/energy", json={"description": None})
    assert cleared.json()["description"] is None


async def test_move_topic_to_another_parent_and_back_to_the_root(
    client: httpx.AsyncClient,
) -> None:
    europe = await create_topic(client, "europe")
    asia = await create_topic(client, "asia")
    kosovo = await create_topic(client, "kosovo", parent_id="europe")

    moved = await client.patch("/topics/kosovo", json={"parent_id": asia["id"]})
    assert moved.status_code == 200
    assert moved.json()["parent_id"] == asia["id"]
    assert (await client.get("/topics/europe")).json()["children"] == []
    assert (await client.get("/topics/asia")).json()["children"] == [kosovo["id"]]

    moved = await client.patch("/topics/kosovo", json={"parent_id": "europe"})
    assert moved.json()["parent_id"] == europe["id"]

    rooted = await client.patch("/topics/kosovo", json={"parent_id": None})
    assert rooted.status_code == 200
    assert rooted.json()["parent_id"] is None
    assert (await client.get("/topics/europe")).json()["children"] == []


async def test_moving_a_topic_under_itself_or_its_descendant_is_422(
    client: httpx.AsyncClient,
) -> None:
    await create_topic(client, "a")
    await create_topic(client, "b", parent_id="a")
    await create_topic(client, "c", parent_id="b")
    before = await all_topics(client)
    for new_parent in ("a", "b", "c", before["c"]["id"]):
        response = await client.patch("/topics/a", json={"parent_id": new_parent})
        assert pointers(response) == {"/parent_id"}
    assert pointers(await client.patch("/topics/b", json={"parent_id": "c"})) == {"/parent_id"}
    assert await all_topics(client) == before
    # Moving down a branch is fine when it is not the topic's own.
    await create_topic(client, "d")
    assert (await client.patch("/topics/d", json={"parent_id": "c"})).status_code == 200


async def test_patch_to_unknown_parent_is_422(client: httpx.AsyncClient) -> None:
    topic = await create_topic(client, "kosovo")
    response = await client.patch("/topics/kosovo", json={"parent_id": "nope"})
    assert pointers(response) == {"/parent_id"}
    assert (await client.get("/topics/kosovo")).json() == topic


# ---------------------------------------------------------------- not found, delete


async def test_unknown_topic_is_404(client: httpx.AsyncClient) -> None:
    await create_topic(client, "kosovo")
    for topic in UNKNOWN_TOPICS:
        assert (await client.get(f"/topics/{topic}")).status_code == 404
        assert (await client.patch(f"/topics/{topic}", json={"name": "X"})).status_code == 404
        assert (await client.delete(f"/topics/{topic}")).status_code == 404
    assert len(await all_topics(client)) == 1


async def test_topic_path_with_nul_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/topics/%00")).status_code == 404


async def test_overlong_topic_path_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/topics/" + "x" * 101)).status_code == 404


async def test_delete_leaf_topic(client: httpx.AsyncClient) -> None:
    parent = await create_topic(client, "regional-issues")
    await create_topic(client, "kosovo", parent_id="regional-issues")
    assert (await client.delete("/topics/kosovo")).status_code == 204
    assert (await client.get("/topics/kosovo")).status_code == 404
    assert (await client.delete("/topics/kosovo")).status_code == 404
    assert (await client.get("/topics/regional-issues")).json()["children"] == []
    # Without children any more, the parent goes without cascade.
    assert (await client.delete(f"/topics/{parent['id']}")).status_code == 204
    assert await all_topics(client) == {}


async def test_delete_topic_with_children_needs_cascade(client: httpx.AsyncClient) -> None:
    await create_topic(client, "a")
    await create_topic(client, "b", parent_id="a")
    await create_topic(client, "c", parent_id="b")
    await create_topic(client, "other")

    response = await client.delete("/topics/a")
    assert response.status_code == 409
    assert "cascade" in response.json()["detail"]
    assert set(await all_topics(client)) == {"a", "b", "c", "other"}

    assert (await client.delete("/topics/a", params={"cascade": "true"})).status_code == 204
    for slug in ("a", "b", "c"):
        assert (await client.get(f"/topics/{slug}")).status_code == 404
    assert set(await all_topics(client)) == {"other"}


async def test_delete_topic_on_an_agenda_needs_cascade(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    sixth = ccqs["sixth"]["id"]
    agenda = await agenda_slugs(client, sixth)
    assert len(agenda) == 11

    response = await client.delete("/topics/kosovo")
    assert response.status_code == 409
    assert (await client.get("/topics/kosovo")).status_code == 200
    assert await agenda_slugs(client, sixth) == agenda

    assert (await client.delete("/topics/kosovo", params={"cascade": "true"})).status_code == 204
    assert (await client.get("/topics/kosovo")).status_code == 404
    assert await agenda_slugs(client, sixth) == [slug for slug in agenda if slug != "kosovo"]
    assert len((await client.get("/topics/regional-issues")).json()["children"]) == 3


async def test_cascade_deletes_descendants_and_their_agenda_items(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    sixth = ccqs["sixth"]["id"]
    assert (await client.delete("/topics/regional-issues")).status_code == 409
    assert len(await all_topics(client)) == 11

    response = await client.delete("/topics/regional-issues", params={"cascade": "true"})
    assert response.status_code == 204
    gone = {"regional-issues"} | SEED_TREE["regional-issues"]
    for slug in gone:
        assert (await client.get(f"/topics/{slug}")).status_code == 404
    assert (
        set(await all_topics(client))
        == SEED_ROOTS - gone | SEED_TREE["european-security-architecture"]
    )
    assert await agenda_slugs(client, sixth) == [
        "european-security-architecture",
        "nato-russia-relations",
        "eu-russia-relations-esdp",
        "g8-cooperation",
        "energy-security",
        "wmd-non-proliferation",
    ]


# ---------------------------------------------------------------- list


async def test_list_topics_paginates_by_slug(client: httpx.AsyncClient) -> None:
    for slug in ("t3", "t0", "t4", "t1", "t2"):
        await create_topic(client, slug)
    first = await client.get("/topics", params={"limit": 2})
    assert first.status_code == 200
    assert [t["slug"] for t in first.json()["items"]] == ["t0", "t1"]
    assert 'rel="next"' in first.headers["link"]
    seen = [t["slug"] for t in first.json()["items"]]
    cursor = first.json()["next_cursor"]
    while cursor is not None:
        page = (await client.get("/topics", params={"limit": 2, "cursor": cursor})).json()
        seen += [t["slug"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert seen == ["t0", "t1", "t2", "t3", "t4"]

    other_list_cursor = first.json()["next_cursor"]
    response = await client.get("/persons", params={"limit": 2, "cursor": other_list_cursor})
    assert response.status_code == 400
    response = await client.get("/topics", params={"limit": 3, "cursor": other_list_cursor})
    assert response.status_code == 400
