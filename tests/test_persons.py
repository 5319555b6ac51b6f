"""Persons and their offices: /persons, /persons/{id}, /persons/{id}/offices[/{office_id}]."""

import unicodedata
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import BaseModel

from app.people.models import OfficeRole
from app.people.schemas import OfficeRead, PersonRead

M = TypeVar("M", bound=BaseModel)

# Ids that name no record, whatever their form (API.md: "A path id that names no record is
# 404, whatever its form").
UNKNOWN_IDS = ("nope", "00001", "-1", "9223372036854775808", "0190b8f5-0000-7000-8000-000000000000")

LAVROV = {
    "key": "test-lavrov",
    "name": "Sergueï Lavrov",
    "honorific_prefix": "Monsieur",
    "given_name": "Sergueï",
    "family_name": "Lavrov",
    "nationality": "RU",
    "other_names": [
        {"name": "Sergey Lavrov", "lang": "en", "note": "English transliteration"},
        {"name": "Сергей Лавров", "lang": "ru", "note": "Native script"},
    ],
    "identifiers": [
        {"scheme": "wikidata", "identifier": "Q80137"},
        {"scheme": "viaf", "identifier": "88124957"},
    ],
}

FOREIGN_MINISTER = {
    "title": "Minister of Foreign Affairs",
    "names": {"fr": "Ministre des Affaires étrangères", "en": "Minister of Foreign Affairs"},
    "role": "foreign_minister",
    "country": "RU",
    "organization": "Government of the Russian Federation",
    "start_date": "2004-03-09",
}

# The CCQS seed: key -> (name, honorific prefix, nationality, office title, office role).
SEED_PERSONS = {
    "alliot-marie": (
        "Michèle Alliot-Marie",
        "Madame",
        "FR",
        "Minister of Defence",
        "defence_minister",
    ),
    "douste-blazy": (
        "Philippe Douste-Blazy",
        "Monsieur",
        "FR",
        "Minister of Foreign Affairs",
        "foreign_minister",
    ),
    "serdioukov": (
        "Anatoli Serdioukov",
        "Monsieur",
        "RU",
        "Minister of Defence",
        "defence_minister",
    ),
    "lavrov": (
        "Sergueï Lavrov",
        "Monsieur",
        "RU",
        "Minister of Foreign Affairs",
        "foreign_minister",
    ),
    "poutine": (
        "Vladimir Poutine",
        "Monsieur",
        "RU",
        "President of the Russian Federation",
        "head_of_state",
    ),
}


def validated(model: type[M], body: dict[str, Any]) -> M:
    """The body read through its pydantic read model, which must list exactly its fields."""
    assert body.keys() == model.model_fields.keys()
    return model.model_validate(body)


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


async def post_raw_json(client: httpx.AsyncClient, url: str, text: str) -> httpx.Response:
    """POST a JSON text as given: httpx cannot encode a lone surrogate itself."""
    return await client.post(
        url, content=text.encode(), headers={"content-type": "application/json"}
    )


async def create_person(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/persons", json={"name": "Jean Dupont"} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def create_office(client: httpx.AsyncClient, person_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/persons/{person_id}/offices", json=FOREIGN_MINISTER | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def list_persons(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get("/persons", params={"limit": 200})).json()["items"]


# ---------------------------------------------------------------- the CCQS seed


async def test_ccqs_persons_are_seeded(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    persons = ccqs["persons"]
    assert persons.keys() == SEED_PERSONS.keys()
    for key, (name, prefix, nationality, title, role) in SEED_PERSONS.items():
        response = await client.get(f"/persons/{persons[key]['id']}")
        assert response.status_code == 200
        person = validated(PersonRead, response.json())
        assert (person.name, person.honorific_prefix, person.nationality) == (
            name,
            prefix,
            nationality,
        )
        assert person.sources[0].publisher == "Spyworld Actu"
        assert person.source_ids == [person.sources[0].id]
        [office] = person.offices
        assert (office.title, office.role, office.country) == (title, role, nationality)
        # No source gives the terms: both ends stay open.
        assert office.start_date is None
        assert office.end_date is None
        assert office.person_id == person.id


async def test_russian_persons_have_transliterations_and_native_names(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    expected = {
        "lavrov": ("Sergey Lavrov", "Сергей Лавров"),
        "serdioukov": ("Anatoliy Serdyukov", "Анатолий Сердюков"),
        "poutine": ("Vladimir Putin", "Владимир Путин"),
        "alliot-marie": None,
        "douste-blazy": None,
    }
    for key, names in expected.items():
        person = (await client.get(f"/persons/{ccqs['persons'][key]['id']}")).json()
        if names is None:
            assert person["other_names"] == []
        else:
            english, cyrillic = names
            assert person["other_names"] == [
                {"name": english, "lang": "en", "note": "English transliteration"},
                {"name": cyrillic, "lang": "ru", "note": "Native script"},
            ]


# ---------------------------------------------------------------- create and read


async def test_create_person(client: httpx.AsyncClient) -> None:
    response = await client.post("/persons", json=LAVROV)
    assert response.status_code == 201
    body = response.json()
    person = validated(PersonRead, body)
    assert response.headers["location"] == f"/api/v1/persons/{person.id}"
    assert person.key == "test-lavrov"
    assert person.name == "Sergueï Lavrov"
    assert body["other_names"] == LAVROV["other_names"]
    assert body["identifiers"] == LAVROV["identifiers"]
    assert person.offices == []
    assert person.source_ids == []
    assert person.created_at.endswith("Z")
    assert (await client.get(f"/persons/{person.id}")).json() == body
    assert [p["id"] for p in await list_persons(client)] == [person.id]


async def test_only_name_is_required(client: httpx.AsyncClient) -> None:
    person = validated(PersonRead, await create_person(client, name="Vladimir Poutine"))
    assert person.key is None
    assert person.other_names == []
    assert person.identifiers == []
    assert pointers(await client.post("/persons", json={"nationality": "RU"})) == {"/name"}


async def test_other_names_and_identifiers_keep_their_order(client: httpx.AsyncClient) -> None:
    other_names = [{"name": f"Name {i}", "lang": None, "note": None} for i in (3, 1, 2, 0)]
    identifiers = [{"scheme": s, "identifier": "42"} for s in ("zz", "aa", "mm")]
    person = await create_person(client, other_names=other_names, identifiers=identifiers)
    stored = (await client.get(f"/persons/{person['id']}")).json()
    assert stored["other_names"] == other_names
    assert stored["identifiers"] == identifiers


async def test_invalid_person_fields_are_listed_with_pointers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/persons",
        json=LAVROV
        | {
            "key": "Not A Slug",
            "name": "",
            "nationality": "ZZ",
            "other_names": [{"name": "Sergey Lavrov"}, {"name": "Лавров", "lang": "not a tag"}],
            "identifiers": [{"scheme": "wikidata"}],
        },
    )
    assert pointers(response) == {
        "/key",
        "/name",
        "/nationality",
        "/other_names/1/lang",
        "/identifiers/0/identifier",
    }
    assert await list_persons(client) == []


async def test_lowercase_nationality_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/persons", json={"name": "X", "nationality": "ru"})
    assert pointers(response) == {"/nationality"}


async def test_longest_accepted_person_fields_are_stored(client: httpx.AsyncClient) -> None:
    longest = {
        "key": "k" * 100,
        "name": "n" * 500,
        "honorific_prefix": "h" * 100,
        "given_name": "g" * 200,
        "family_name": "f" * 200,
        "other_names": [
            {"name": "o" * 500, "lang": "xxx" + "-abcdefgh" * 3 + "-abcd", "note": "t" * 500}
        ],
        "identifiers": [{"scheme": "s" * 100, "identifier": "i" * 200}],
    }
    response = await client.post("/persons", json=longest)
    assert response.status_code == 201
    stored = (await client.get(f"/persons/{response.json()['id']}")).json()
    assert {field: stored[field] for field in longest} == longest
    # One character more is refused.
    for field in ("name", "honorific_prefix", "given_name", "family_name"):
        too_long = {"name": "n", field: longest[field] + "x"}
        assert pointers(await client.post("/persons", json=too_long)) == {f"/{field}"}


async def test_longest_accepted_office_fields_are_stored(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    longest = {"title": "t" * 500, "organization": "o" * 500, "names": {"fr": "n" * 500}}
    office = await create_office(client, person["id"], **longest)
    assert {field: office[field] for field in longest} == longest


async def test_unknown_and_read_only_fields_are_422(client: httpx.AsyncClient) -> None:
    read_only = {
        "id": "0190b8f5-0000-7000-8000-000000000000",
        "created_at": "2007-02-21T00:00:00Z",
        "updated_at": "2007-02-21T00:00:00Z",
        "offices": [],
        "sources": [],
        "colour": "blue",
    }
    response = await client.post("/persons", json=LAVROV | read_only)
    assert pointers(response) == {f"/{field}" for field in read_only}
    assert await list_persons(client) == []

    person = await create_person(client)
    for field, value in read_only.items():
        response = await client.patch(f"/persons/{person['id']}", json={field: value})
        assert pointers(response) == {f"/{field}"}
    assert (await client.get(f"/persons/{person['id']}")).json() == person


async def test_names_are_stored_in_nfc(client: httpx.AsyncClient) -> None:
    decomposed = unicodedata.normalize("NFD", "Michèle Alliot-Marie")
    assert decomposed != "Michèle Alliot-Marie"
    person = await create_person(
        client,
        name=decomposed,
        given_name=unicodedata.normalize("NFD", "Michèle"),
        other_names=[{"name": unicodedata.normalize("NFD", "Mišel"), "lang": "sr"}],
        identifiers=[{"scheme": "note", "identifier": unicodedata.normalize("NFD", "é")}],
    )
    stored = (await client.get(f"/persons/{person['id']}")).json()
    assert stored["name"] == "Michèle Alliot-Marie"
    assert stored["given_name"] == "Michèle"
    assert stored["other_names"][0]["name"] == "Mišel"
    assert stored["identifiers"][0]["identifier"] == "é"
    patched = await client.patch(
        f"/persons/{person['id']}",
        json={"family_name": unicodedata.normalize("NFD", "Alliot-Marié")},
    )
    assert patched.json()["family_name"] == "Alliot-Marié"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"name": "Lavrov\\u0000"}', "/name"),
        ('{"name": "Lavrov\\ud800"}', "/name"),
        ('{"name": "Lavrov\\udc00x"}', "/name"),
        ('{"name": "L", "given_name": "\\u0000"}', "/given_name"),
        ('{"name": "L", "other_names": [{"name": "\\ud83d"}]}', "/other_names/0/name"),
        (
            '{"name": "L", "identifiers": [{"scheme": "q", "identifier": "\\u0000"}]}',
            "/identifiers/0/identifier",
        ),
        ('{"name": "L", "source_ids": ["\\u0000"]}', "/source_ids/0"),
        ('{"name": "L", "source_ids": ["\\ud800"]}', "/source_ids/0"),
    ],
)
async def test_nul_and_lone_surrogates_are_422(
    client: httpx.AsyncClient, text: str, pointer: str
) -> None:
    response = await post_raw_json(client, "/persons", text)
    assert pointers(response) == {pointer}
    assert await list_persons(client) == []


async def test_surrogate_pairs_are_fine(client: httpx.AsyncClient) -> None:
    response = await post_raw_json(client, "/persons", '{"name": "Lavrov \\ud83d\\ude00"}')
    assert response.status_code == 201
    assert response.json()["name"] == "Lavrov 😀"


# ---------------------------------------------------------------- update


async def test_patch_person_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    person = await create_person(client, **LAVROV)
    response = await client.patch(
        f"/persons/{person['id']}", json={"honorific_prefix": "M.", "given_name": None}
    )
    assert response.status_code == 200
    body = response.json()
    validated(PersonRead, body)
    assert body["honorific_prefix"] == "M."
    assert body["given_name"] is None
    assert body["family_name"] == "Lavrov"
    assert body["other_names"] == LAVROV["other_names"]
    assert body["identifiers"] == LAVROV["identifiers"]
    assert body["created_at"] == person["created_at"]
    assert body["updated_at"] > person["updated_at"]
    assert (await client.get(f"/persons/{person['id']}")).json() == body


async def test_patch_replaces_other_names_and_identifiers_whole(
    client: httpx.AsyncClient,
) -> None:
    person = await create_person(client, **LAVROV)
    url = f"/persons/{person['id']}"
    cyrillic_only = [{"name": "Сергей Викторович Лавров", "lang": "ru", "note": None}]
    body = (await client.patch(url, json={"other_names": cyrillic_only})).json()
    assert body["other_names"] == cyrillic_only
    assert body["identifiers"] == LAVROV["identifiers"]

    reversed_identifiers = LAVROV["identifiers"][::-1]
    body = (await client.patch(url, json={"identifiers": reversed_identifiers})).json()
    assert body["identifiers"] == reversed_identifiers
    assert body["other_names"] == cyrillic_only

    body = (await client.patch(url, json={"other_names": [], "identifiers": []})).json()
    assert body["other_names"] == []
    assert body["identifiers"] == []
    assert (await client.get(url)).json() == body


async def test_patch_cannot_null_required_or_list_fields(client: httpx.AsyncClient) -> None:
    person = await create_person(client, **LAVROV)
    for field in ("name", "other_names", "identifiers", "source_ids"):
        response = await client.patch(f"/persons/{person['id']}", json={field: None})
        assert pointers(response) == {f"/{field}"}
    assert (await client.get(f"/persons/{person['id']}")).json() == person


async def test_invalid_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    person = await create_person(client, **LAVROV)
    response = await client.patch(
        f"/persons/{person['id']}",
        json={"name": "Sergei Lavrov", "nationality": "SU", "other_names": [{"lang": "ru"}]},
    )
    assert pointers(response) == {"/nationality", "/other_names/0/name"}
    assert (await client.get(f"/persons/{person['id']}")).json() == person


# ---------------------------------------------------------------- unique keys


async def test_identifier_given_to_two_persons_is_409(client: httpx.AsyncClient) -> None:
    lavrov = await create_person(client, **LAVROV)
    response = await client.post(
        "/persons",
        json={
            "name": "Someone else",
            "identifiers": [{"scheme": "wikidata", "identifier": "Q80137"}],
        },
    )
    assert response.status_code == 409
    assert "Q80137" in response.json()["detail"]
    assert [p["id"] for p in await list_persons(client)] == [lavrov["id"]]

    other = await create_person(client, name="Someone else")
    response = await client.patch(
        f"/persons/{other['id']}",
        json={"identifiers": [{"scheme": "viaf", "identifier": "88124957"}]},
    )
    assert response.status_code == 409
    assert (await client.get(f"/persons/{other['id']}")).json()["identifiers"] == []
    assert (await client.get(f"/persons/{lavrov['id']}")).json()["identifiers"] == LAVROV[
        "identifiers"
    ]


async def test_identifier_is_unique_per_scheme_only(client: httpx.AsyncClient) -> None:
    await create_person(client, **LAVROV)
    other = await create_person(
        client, name="Other", identifiers=[{"scheme": "isni", "identifier": "Q80137"}]
    )
    assert other["identifiers"] == [{"scheme": "isni", "identifier": "Q80137"}]


async def test_person_may_keep_its_own_identifiers_on_patch(client: httpx.AsyncClient) -> None:
    lavrov = await create_person(client, **LAVROV)
    response = await client.patch(
        f"/persons/{lavrov['id']}", json={"identifiers": LAVROV["identifiers"]}
    )
    assert response.status_code == 200
    assert response.json()["identifiers"] == LAVROV["identifiers"]


async def test_identifier_freed_by_a_patch_can_be_reused(client: httpx.AsyncClient) -> None:
    lavrov = await create_person(client, **LAVROV)
    await client.patch(f"/persons/{lavrov['id']}", json={"identifiers": []})
    other = await create_person(client, name="Other", identifiers=LAVROV["identifiers"])
    assert other["identifiers"] == LAVROV["identifiers"]


async def test_person_key_taken_is_409(client: httpx.AsyncClient) -> None:
    lavrov = await create_person(client, **LAVROV)
    response = await client.post("/persons", json={"name": "Other", "key": "test-lavrov"})
    assert response.status_code == 409
    assert "test-lavrov" in response.json()["detail"]

    other = await create_person(client, name="Other", key="other")
    response = await client.patch(f"/persons/{other['id']}", json={"key": "test-lavrov"})
    assert response.status_code == 409
    assert (await client.get(f"/persons/{other['id']}")).json()["key"] == "other"
    # A person may be patched with its own key.
    response = await client.patch(f"/persons/{lavrov['id']}", json={"key": "test-lavrov"})
    assert response.status_code == 200


# ---------------------------------------------------------------- not found, delete


async def test_unknown_person_is_404(client: httpx.AsyncClient) -> None:
    await create_person(client, **LAVROV)
    for person_id in UNKNOWN_IDS:
        url = f"/persons/{person_id}"
        assert (await client.get(url)).status_code == 404
        assert (await client.patch(url, json={"name": "X"})).status_code == 404
        assert (await client.delete(url)).status_code == 404
        assert (await client.get(f"{url}/offices")).status_code == 404
        assert (await client.post(f"{url}/offices", json=FOREIGN_MINISTER)).status_code == 404
    assert len(await list_persons(client)) == 1


async def test_person_path_with_nul_is_404(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    assert (await client.get("/persons/%00")).status_code == 404
    assert (await client.get(f"/persons/{person['id']}/offices/%00")).status_code == 404


async def test_overlong_person_id_is_404(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    overlong = person["id"] + "0"
    assert (await client.get(f"/persons/{overlong}")).status_code == 404
    assert (await client.get(f"/persons/{person['id']}/offices/{overlong}")).status_code == 404


async def test_delete_person_deletes_their_offices(client: httpx.AsyncClient) -> None:
    person = await create_person(client, **LAVROV)
    office = await create_office(client, person["id"])
    assert (await client.delete(f"/persons/{person['id']}")).status_code == 204
    assert (await client.get(f"/persons/{person['id']}")).status_code == 404
    assert (await client.get(f"/persons/{person['id']}/offices")).status_code == 404
    assert (await client.get(f"/persons/{person['id']}/offices/{office['id']}")).status_code == 404
    assert await list_persons(client) == []
    # The identifiers and the key are free again.
    await create_person(client, **LAVROV)


async def test_delete_person_with_participations_needs_cascade(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    lavrov = ccqs["persons"]["lavrov"]
    participants_url = f"/sessions/{ccqs['sixth']['id']}/participants"

    response = await client.delete(f"/persons/{lavrov['id']}")
    assert response.status_code == 409
    assert "cascade" in response.json()["detail"]
    response = await client.delete(f"/persons/{lavrov['id']}", params={"cascade": "false"})
    assert response.status_code == 409
    response = await client.delete(f"/persons/{lavrov['id']}", params={"cascade": "maybe"})
    assert pointers(response) == {"/query/cascade"}
    assert (await client.get(f"/persons/{lavrov['id']}")).status_code == 200
    assert len((await client.get(participants_url)).json()["items"]) == 5

    response = await client.delete(f"/persons/{lavrov['id']}", params={"cascade": "true"})
    assert response.status_code == 204
    assert (await client.get(f"/persons/{lavrov['id']}")).status_code == 404
    participants = (await client.get(participants_url)).json()["items"]
    assert len(participants) == 4
    assert lavrov["id"] not in {p["person_id"] for p in participants}


async def test_delete_person_without_participations_needs_no_cascade(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    person = await create_person(client, name="Not at any session")
    assert (await client.delete(f"/persons/{person['id']}")).status_code == 204
    assert len(await list_persons(client)) == 5


# ---------------------------------------------------------------- list


async def test_list_persons_paginates_by_name(client: httpx.AsyncClient) -> None:
    for i in (3, 0, 4, 1, 2):
        await create_person(client, name=f"Person {i}")
    first = await client.get("/persons", params={"limit": 2})
    assert first.status_code == 200
    assert [p["name"] for p in first.json()["items"]] == ["Person 0", "Person 1"]
    for item in first.json()["items"]:
        validated(PersonRead, item)
    assert 'rel="next"' in first.headers["link"]

    cursor = first.json()["next_cursor"]
    second = await client.get("/persons", params={"limit": 2, "cursor": cursor})
    assert [p["name"] for p in second.json()["items"]] == ["Person 2", "Person 3"]
    third = await client.get(
        "/persons", params={"limit": 2, "cursor": second.json()["next_cursor"]}
    )
    assert [p["name"] for p in third.json()["items"]] == ["Person 4"]
    assert third.json()["next_cursor"] is None
    assert "link" not in third.headers

    altered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    response = await client.get("/persons", params={"limit": 2, "cursor": altered})
    assert response.status_code == 400


async def test_list_persons_limit_is_checked(client: httpx.AsyncClient) -> None:
    for limit in (0, 201, "ten"):
        response = await client.get("/persons", params={"limit": limit})
        assert pointers(response) == {"/query/limit"}


async def test_list_persons_embeds_offices(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    persons = await list_persons(client)
    assert [p["name"] for p in persons] == sorted(name for name, *_ in SEED_PERSONS.values())
    for person in persons:
        validated(PersonRead, person)
        assert len(person["offices"]) == 1


# ---------------------------------------------------------------- offices


async def test_create_office(client: httpx.AsyncClient) -> None:
    person = await create_person(client, **LAVROV)
    response = await client.post(f"/persons/{person['id']}/offices", json=FOREIGN_MINISTER)
    assert response.status_code == 201
    body = response.json()
    office = validated(OfficeRead, body)
    assert response.headers["location"] == f"/api/v1/persons/{person['id']}/offices/{office.id}"
    assert office.person_id == person["id"]
    assert office.role == "foreign_minister"
    assert office.names == FOREIGN_MINISTER["names"]
    assert office.start_date == "2004-03-09"
    assert office.end_date is None
    assert (await client.get(f"/persons/{person['id']}/offices/{office.id}")).json() == body
    assert (await client.get(f"/persons/{person['id']}/offices")).json() == {
        "items": [body],
        "next_cursor": None,
    }
    assert (await client.get(f"/persons/{person['id']}")).json()["offices"] == [body]


async def test_office_needs_title_and_country(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    response = await client.post(f"/persons/{person['id']}/offices", json={})
    assert pointers(response) == {"/title", "/country"}
    minimal = await client.post(
        f"/persons/{person['id']}/offices", json={"title": "Ambassador", "country": "FR"}
    )
    assert minimal.status_code == 201
    body = validated(OfficeRead, minimal.json())
    assert body.role == "other"
    assert body.names == {}
    assert (body.start_date, body.end_date) == (None, None)


@pytest.mark.parametrize("role", [role.value for role in OfficeRole])
async def test_every_office_role_is_accepted(client: httpx.AsyncClient, role: str) -> None:
    person = await create_person(client)
    assert (await create_office(client, person["id"], role=role))["role"] == role


@pytest.mark.parametrize("role", ["king", "Foreign_Minister", "", 1, None])
async def test_unknown_office_role_is_422(client: httpx.AsyncClient, role: Any) -> None:
    person = await create_person(client)
    response = await client.post(
        f"/persons/{person['id']}/offices", json=FOREIGN_MINISTER | {"role": role}
    )
    assert pointers(response) == {"/role"}


@pytest.mark.parametrize(
    "partial_date", ["2007", "2007-02", "2007-02-21", "2008-02-29", "1000", "2999-12-31"]
)
async def test_office_terms_take_partial_dates(
    client: httpx.AsyncClient, partial_date: str
) -> None:
    person = await create_person(client)
    office = await create_office(
        client, person["id"], start_date=partial_date, end_date=partial_date
    )
    assert (office["start_date"], office["end_date"]) == (partial_date, partial_date)
    stored = (await client.get(f"/persons/{person['id']}/offices/{office['id']}")).json()
    assert (stored["start_date"], stored["end_date"]) == (partial_date, partial_date)


@pytest.mark.parametrize(
    "bad_date",
    [
        "2007-02-30",
        "2007-02-29",
        "2007-13",
        "2007\n",
        "2007-02-21\n",
        "2007-00",
        "20070221",
        "2007-2-1",
        "0001",
        "0999",
        "9999-12-31",
        "3000",
        "2007-02-21T00:00:00Z",
        "",
        20070221,
        2007,
        ["2007"],
    ],
)
async def test_invalid_office_dates_are_422(client: httpx.AsyncClient, bad_date: Any) -> None:
    person = await create_person(client)
    response = await client.post(
        f"/persons/{person['id']}/offices",
        json=FOREIGN_MINISTER | {"start_date": bad_date, "end_date": bad_date},
    )
    assert pointers(response) == {"/start_date", "/end_date"}
    office = await create_office(client, person["id"])
    response = await client.patch(
        f"/persons/{person['id']}/offices/{office['id']}", json={"end_date": bad_date}
    )
    assert pointers(response) == {"/end_date"}
    assert (await client.get(f"/persons/{person['id']}/offices")).json()["items"] == [office]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2007-06-15", "2007-06-14"),
        ("2008", "2007"),
        ("2007-06", "2007-05-31"),
        ("2007", "2006-12"),
    ],
)
async def test_office_ending_before_it_starts_is_422(
    client: httpx.AsyncClient, start: str, end: str
) -> None:
    person = await create_person(client)
    response = await client.post(
        f"/persons/{person['id']}/offices",
        json=FOREIGN_MINISTER | {"start_date": start, "end_date": end},
    )
    assert pointers(response) == {"/end_date"}
    assert (await client.get(f"/persons/{person['id']}/offices")).json()["items"] == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2007-06-15", "2007-06-15"),
        ("2007-06", "2007"),
        ("2007", "2007-01-01"),
        ("2007-06", "2007-06-01"),
    ],
)
async def test_office_terms_that_may_overlap_are_accepted(
    client: httpx.AsyncClient, start: str, end: str
) -> None:
    person = await create_person(client)
    office = await create_office(client, person["id"], start_date=start, end_date=end)
    assert (office["start_date"], office["end_date"]) == (start, end)


async def test_patch_office_checks_the_term_against_the_stored_dates(
    client: httpx.AsyncClient,
) -> None:
    person = await create_person(client)
    office = await create_office(client, person["id"], start_date="2004-03-09")
    url = f"/persons/{person['id']}/offices/{office['id']}"
    assert pointers(await client.patch(url, json={"end_date": "2004-03-08"})) == {"/end_date"}
    assert (await client.get(url)).json() == office

    closed = await client.patch(url, json={"end_date": "2012"})
    assert closed.status_code == 200
    assert closed.json()["end_date"] == "2012"
    # Moving the start after the stored end is refused too, and changes nothing.
    response = await client.patch(url, json={"start_date": "2013-01"})
    assert pointers(response) == {"/end_date"}
    assert (await client.get(url)).json() == closed.json()


async def test_patch_office(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    office = await create_office(client, person["id"], end_date="2012")
    url = f"/persons/{person['id']}/offices/{office['id']}"
    response = await client.patch(
        url, json={"title": "Ambassador to France", "role": "ambassador", "end_date": None}
    )
    assert response.status_code == 200
    body = validated(OfficeRead, response.json())
    assert (body.title, body.role, body.end_date) == ("Ambassador to France", "ambassador", None)
    assert body.names == FOREIGN_MINISTER["names"]
    assert body.start_date == "2004-03-09"
    assert body.created_at == office["created_at"]
    assert (await client.get(url)).json() == response.json()
    assert (await client.get(f"/persons/{person['id']}")).json()["offices"] == [response.json()]


async def test_patch_office_rejects_nulls_unknown_and_read_only_fields(
    client: httpx.AsyncClient,
) -> None:
    person = await create_person(client)
    office = await create_office(client, person["id"])
    url = f"/persons/{person['id']}/offices/{office['id']}"
    for field in ("title", "names", "role", "country", "source_ids"):
        assert pointers(await client.patch(url, json={field: None})) == {f"/{field}"}
    for field in ("id", "person_id", "created_at", "updated_at", "rank"):
        assert pointers(await client.patch(url, json={field: "x"})) == {f"/{field}"}
    assert pointers(await client.patch(url, json={"country": "ZZ"})) == {"/country"}
    assert (await client.get(url)).json() == office


async def test_create_office_rejects_unknown_and_read_only_fields(
    client: httpx.AsyncClient,
) -> None:
    person = await create_person(client)
    response = await client.post(
        f"/persons/{person['id']}/offices",
        json=FOREIGN_MINISTER | {"id": "x", "person_id": person["id"], "rank": 1},
    )
    assert pointers(response) == {"/id", "/person_id", "/rank"}


async def test_office_text_is_stored_in_nfc(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    office = await create_office(
        client,
        person["id"],
        title=unicodedata.normalize("NFD", "Ministre de la Défense"),
        names={"fr": unicodedata.normalize("NFD", "Ministre de la Défense")},
    )
    assert office["title"] == "Ministre de la Défense"
    assert office["names"] == {"fr": "Ministre de la Défense"}


async def test_office_of_another_person_is_404(client: httpx.AsyncClient) -> None:
    lavrov = await create_person(client, **LAVROV)
    other = await create_person(client, name="Other")
    office = await create_office(client, lavrov["id"])
    wrong_url = f"/persons/{other['id']}/offices/{office['id']}"
    assert (await client.get(wrong_url)).status_code == 404
    assert (await client.patch(wrong_url, json={"title": "Stolen"})).status_code == 404
    assert (await client.delete(wrong_url)).status_code == 404
    assert (await client.get(f"/persons/{other['id']}/offices")).json()["items"] == []
    assert (await client.get(f"/persons/{lavrov['id']}/offices/{office['id']}")).json() == office


async def test_unknown_office_is_404(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    await create_office(client, person["id"])
    for office_id in UNKNOWN_IDS:
        url = f"/persons/{person['id']}/offices/{office_id}"
        assert (await client.get(url)).status_code == 404
        assert (await client.patch(url, json={"title": "X"})).status_code == 404
        assert (await client.delete(url)).status_code == 404
    assert len((await client.get(f"/persons/{person['id']}/offices")).json()["items"]) == 1


async def test_delete_office(client: httpx.AsyncClient) -> None:
    person = await create_person(client)
    kept = await create_office(client, person["id"], title="Kept")
    gone = await create_office(client, person["id"], title="Gone")
    url = f"/persons/{person['id']}/offices/{gone['id']}"
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url)).status_code == 404
    assert (await client.get(f"/persons/{person['id']}/offices")).json()["items"] == [kept]
    assert (await client.get(f"/persons/{person['id']}")).json()["offices"] == [kept]


async def test_offices_are_listed_oldest_first_with_unknown_starts_first(
    client: httpx.AsyncClient,
) -> None:
    person = await create_person(client)
    for title, start in (("C", "2007-02"), ("A", None), ("D", "2012"), ("B", "1994-05-21")):
        await create_office(client, person["id"], title=title, start_date=start)
    offices = (await client.get(f"/persons/{person['id']}/offices")).json()["items"]
    assert [o["title"] for o in offices] == ["A", "B", "C", "D"]
    for office in offices:
        validated(OfficeRead, office)
