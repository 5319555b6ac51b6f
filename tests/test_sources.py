"""Sources (provenance): /sources, /sources/{id}, and `source_ids` on the records citing them."""

import unicodedata
from typing import Any

import httpx
import pytest

from app.sources.schemas import SourceRead

UNKNOWN_IDS = ("nope", "00001", "-1", "9223372036854775808", "0190b8f5-0000-7000-8000-000000000000")
SPYWORLD_URL = "http://www.spyworld-actu.com/spip.php?article3747"
NEW_SOURCE = {
    "url": "https://www.diplomatie.gouv.fr/fr/dossiers-pays/russie/",
    "title": "Présentation de la Russie",
    "publisher": "Ministère de l'Europe et des Affaires étrangères",
    "language": "fr",
    "published_on": "2007-02",
    "online_on": "2007",
    "note": "Relations bilatérales.",
}


def validated_source(body: dict[str, Any]) -> SourceRead:
    """The body read through SourceRead, which must list exactly its fields."""
    assert body.keys() == SourceRead.model_fields.keys()
    return SourceRead.model_validate(body)


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


async def create_source(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/sources", json=NEW_SOURCE | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def all_sources(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get("/sources", params={"limit": 200})).json()["items"]


# ---------------------------------------------------------------- the CCQS seed


async def test_ccqs_source_is_seeded(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    [item] = await all_sources(client)
    source = validated_source(item)
    assert source.url == SPYWORLD_URL
    assert source.publisher == "Spyworld Actu"
    assert source.title == "Conseil de coopération franco-russe"
    assert (source.language, source.published_on, source.online_on) == (
        "fr",
        "2007-02-21",
        "2007-02-20",
    )
    assert (await client.get(f"/sources/{source.id}")).json() == item
    assert ccqs["council"]["source_ids"] == [source.id]


# ---------------------------------------------------------------- create, read, update


async def test_create_source(client: httpx.AsyncClient) -> None:
    response = await client.post("/sources", json=NEW_SOURCE)
    assert response.status_code == 201
    source = validated_source(response.json())
    assert response.headers["location"] == f"/api/v1/sources/{source.id}"
    assert source.model_dump(include=set(NEW_SOURCE)) == NEW_SOURCE
    assert source.created_at.endswith("Z")
    assert (await client.get(f"/sources/{source.id}")).json() == response.json()
    assert await all_sources(client) == [response.json()]


async def test_only_url_is_required(client: httpx.AsyncClient) -> None:
    assert pointers(await client.post("/sources", json={"title": "No URL"})) == {"/url"}
    response = await client.post("/sources", json={"url": "http://example.org/a"})
    assert response.status_code == 201
    source = validated_source(response.json())
    assert (source.title, source.published_on, source.note) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("url", "ftp://example.org/file"),
        ("url", "example.org"),
        ("url", "http://exa mple.org"),
        ("url", ""),
        ("url", 42),
        ("published_on", "2007-02-30"),
        ("published_on", "20070221"),
        ("published_on", 2007),
        ("published_on", "2007\n"),
        ("online_on", "2007-13"),
        ("online_on", "0001"),
        ("online_on", "9999-12-31"),
        ("language", "français"),
        ("language", "f"),
        ("title", ""),
        ("note", 1),
    ],
)
async def test_invalid_source_field_is_422(
    client: httpx.AsyncClient, field: str, value: Any
) -> None:
    response = await client.post("/sources", json=NEW_SOURCE | {field: value})
    assert pointers(response) == {f"/{field}"}
    assert await all_sources(client) == []


async def test_longest_accepted_source_fields_are_stored(client: httpx.AsyncClient) -> None:
    longest = {
        "url": "https://example.org/" + "u" * 1980,
        "title": "t" * 500,
        "publisher": "p" * 500,
        "language": "fr" + "-abcdefgh" * 3 + "-abcde",
    }
    assert len(longest["url"]) == 2000
    assert len(longest["language"]) == 35
    source = await create_source(client, **longest)
    assert {field: source[field] for field in longest} == longest
    response = await client.post("/sources", json={"url": longest["url"] + "u"})
    assert pointers(response) == {"/url"}


async def test_unknown_and_read_only_source_fields_are_422(client: httpx.AsyncClient) -> None:
    read_only = {"id": "x", "created_at": "2007-02-21T00:00:00Z", "updated_at": "x", "author": "A"}
    response = await client.post("/sources", json=NEW_SOURCE | read_only)
    assert pointers(response) == {f"/{field}" for field in read_only}
    source = await create_source(client)
    for field, value in read_only.items():
        response = await client.patch(f"/sources/{source['id']}", json={field: value})
        assert pointers(response) == {f"/{field}"}
    assert (await client.get(f"/sources/{source['id']}")).json() == source


async def test_source_text_is_stored_in_nfc(client: httpx.AsyncClient) -> None:
    nfd = unicodedata.normalize("NFD", "Ministère de la Défense")
    source = await create_source(client, title=nfd, publisher=nfd, note=nfd)
    assert source["title"] == source["publisher"] == source["note"] == "Ministère de la Défense"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"url": "http://example.org/\\u0000"}', "/url"),
        ('{"url": "http://example.org/", "title": "\\ud800"}', "/title"),
        ('{"url": "http://example.org/", "note": "a\\u0000b"}', "/note"),
    ],
)
async def test_nul_and_lone_surrogates_are_422(
    client: httpx.AsyncClient, text: str, pointer: str
) -> None:
    response = await client.post(
        "/sources", content=text.encode(), headers={"content-type": "application/json"}
    )
    assert pointers(response) == {pointer}


async def test_patch_source(client: httpx.AsyncClient) -> None:
    source = await create_source(client)
    response = await client.patch(
        f"/sources/{source['id']}",
        json={"title": "La Russie", "note": None, "published_on": "2007-02-21"},
    )
    assert response.status_code == 200
    body = validated_source(response.json())
    assert (body.title, body.note, body.published_on) == ("La Russie", None, "2007-02-21")
    assert body.url == NEW_SOURCE["url"]
    assert body.created_at == source["created_at"]
    assert body.updated_at > source["updated_at"]
    assert (await client.get(f"/sources/{source['id']}")).json() == response.json()


async def test_patch_source_cannot_clear_the_url(client: httpx.AsyncClient) -> None:
    source = await create_source(client)
    assert pointers(await client.patch(f"/sources/{source['id']}", json={"url": None})) == {"/url"}
    response = await client.patch(f"/sources/{source['id']}", json={"published_on": "2007-13"})
    assert pointers(response) == {"/published_on"}
    assert (await client.get(f"/sources/{source['id']}")).json() == source


async def test_source_url_taken_is_409(client: httpx.AsyncClient) -> None:
    source = await create_source(client)
    response = await client.post("/sources", json={"url": NEW_SOURCE["url"], "title": "Copy"})
    assert response.status_code == 409
    assert NEW_SOURCE["url"] in response.json()["detail"]

    other = await create_source(client, url="http://example.org/other")
    response = await client.patch(f"/sources/{other['id']}", json={"url": NEW_SOURCE["url"]})
    assert response.status_code == 409
    assert (await client.get(f"/sources/{other['id']}")).json() == other
    # A source keeps its own URL without conflict.
    response = await client.patch(f"/sources/{source['id']}", json={"url": NEW_SOURCE["url"]})
    assert response.status_code == 200
    assert len(await all_sources(client)) == 2


# ---------------------------------------------------------------- not found, delete


async def test_unknown_source_is_404(client: httpx.AsyncClient) -> None:
    await create_source(client)
    for source_id in UNKNOWN_IDS:
        url = f"/sources/{source_id}"
        assert (await client.get(url)).status_code == 404
        assert (await client.patch(url, json={"title": "X"})).status_code == 404
        assert (await client.delete(url)).status_code == 404
    assert len(await all_sources(client)) == 1


async def test_source_path_with_nul_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/sources/%00")).status_code == 404


async def test_delete_uncited_source(client: httpx.AsyncClient) -> None:
    source = await create_source(client)
    assert (await client.delete(f"/sources/{source['id']}")).status_code == 204
    assert (await client.get(f"/sources/{source['id']}")).status_code == 404
    assert (await client.delete(f"/sources/{source['id']}")).status_code == 404
    assert await all_sources(client) == []
    # Its URL is free again.
    await create_source(client)


async def test_delete_cited_source_needs_cascade(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    [source] = await all_sources(client)
    lavrov = ccqs["persons"]["lavrov"]
    sixth = ccqs["sixth"]["id"]

    response = await client.delete(f"/sources/{source['id']}")
    assert response.status_code == 409
    assert "cascade" in response.json()["detail"]
    assert (await client.get(f"/sources/{source['id']}")).status_code == 200
    assert (await client.get("/councils/ccqs")).json()["source_ids"] == [source["id"]]

    response = await client.delete(f"/sources/{source['id']}", params={"cascade": "true"})
    assert response.status_code == 204
    assert (await client.get(f"/sources/{source['id']}")).status_code == 404
    # The records that cited it remain, citing nothing.
    council = (await client.get("/councils/ccqs")).json()
    assert (council["source_ids"], council["sources"]) == ([], [])
    person = (await client.get(f"/persons/{lavrov['id']}")).json()
    assert (person["source_ids"], person["sources"]) == ([], [])
    assert person["offices"][0]["source_ids"] == []
    assert (await client.get(f"/sessions/{sixth}")).json()["source_ids"] == []
    participants = (await client.get(f"/sessions/{sixth}/participants")).json()["items"]
    assert len(participants) == 5
    assert all(p["source_ids"] == [] for p in participants)


# ---------------------------------------------------------------- citing sources


async def test_records_cite_sources_in_order(client: httpx.AsyncClient) -> None:
    first = await create_source(client, url="http://example.org/1")
    second = await create_source(client, url="http://example.org/2")
    response = await client.post(
        "/persons", json={"name": "Sergueï Lavrov", "source_ids": [second["id"], first["id"]]}
    )
    assert response.status_code == 201
    person = response.json()
    assert person["source_ids"] == [second["id"], first["id"]]
    assert [s["url"] for s in person["sources"]] == ["http://example.org/2", "http://example.org/1"]
    for embedded in person["sources"]:
        validated_source(embedded)
    response = await client.patch(f"/persons/{person['id']}", json={"source_ids": [first["id"]]})
    assert response.json()["source_ids"] == [first["id"]]
    # A source cited by a person cannot go without cascade.
    assert (await client.delete(f"/sources/{first['id']}")).status_code == 409
    assert (await client.delete(f"/sources/{second['id']}")).status_code == 204


async def test_person_citing_unknown_source_is_422(client: httpx.AsyncClient) -> None:
    known = await create_source(client)
    response = await client.post(
        "/persons", json={"name": "Sergueï Lavrov", "source_ids": [known["id"], "nope", "-1"]}
    )
    assert pointers(response) == {"/source_ids/1", "/source_ids/2"}
    assert (await client.get("/persons")).json()["items"] == []

    person = (await client.post("/persons", json={"name": "Sergueï Lavrov"})).json()
    response = await client.patch(
        f"/persons/{person['id']}", json={"name": "Changed", "source_ids": ["nope", known["id"]]}
    )
    assert pointers(response) == {"/source_ids/0"}
    assert (await client.get(f"/persons/{person['id']}")).json() == person


async def test_office_citing_unknown_source_is_422(client: httpx.AsyncClient) -> None:
    known = await create_source(client)
    person = (await client.post("/persons", json={"name": "Sergueï Lavrov"})).json()
    offices_url = f"/persons/{person['id']}/offices"
    office = {"title": "Minister of Foreign Affairs", "country": "RU"}
    response = await client.post(offices_url, json=office | {"source_ids": [known["id"], "nope"]})
    assert pointers(response) == {"/source_ids/1"}
    assert (await client.get(offices_url)).json()["items"] == []

    created = (await client.post(offices_url, json=office | {"source_ids": [known["id"]]})).json()
    assert created["source_ids"] == [known["id"]]
    response = await client.patch(f"{offices_url}/{created['id']}", json={"source_ids": ["nope"]})
    assert pointers(response) == {"/source_ids/0"}
    assert (await client.get(f"{offices_url}/{created['id']}")).json() == created


async def test_council_citing_unknown_source_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/councils",
        json={
            "slug": "ngc",
            "name": "Norwegian-German Council",
            "kind": "bilateral",
            "member_countries": ["NO", "DE"],
            "source_ids": ["00001"],
        },
    )
    assert pointers(response) == {"/source_ids/0"}
    assert (await client.get("/councils/ngc")).status_code == 404


# ---------------------------------------------------------------- list


async def test_list_sources_paginates(client: httpx.AsyncClient) -> None:
    created = [(await create_source(client, url=f"http://example.org/{i}"))["id"] for i in range(5)]
    seen: list[str] = []
    response = await client.get("/sources", params={"limit": 2})
    assert len(response.json()["items"]) == 2
    assert 'rel="next"' in response.headers["link"]
    while True:
        page = response.json()
        seen += [s["id"] for s in page["items"]]
        if page["next_cursor"] is None:
            break
        response = await client.get("/sources", params={"limit": 2, "cursor": page["next_cursor"]})
    assert sorted(seen) == sorted(created)
    assert len(seen) == 5
    assert (await client.get("/sources", params={"cursor": "garbage"})).status_code == 400
