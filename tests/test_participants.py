from typing import Any

import httpx

from app.pagination import Page
from app.sessions.schemas import ParticipationRead
from tests.factories import UNKNOWN_IDS, create_council, create_session


async def create_person(
    client: httpx.AsyncClient, name: str = "Anne Holm", offices: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """A person with these offices (each {"title", "start_date"?, "end_date"?}), in Norway."""
    response = await client.post("/persons", json={"name": name, "nationality": "NO"})
    assert response.status_code == 201, response.text
    person = response.json()
    person["offices"] = [await add_office(client, person, **office) for office in offices]
    return person


async def add_office(client: httpx.AsyncClient, person: dict[str, Any], **office: Any) -> dict:
    response = await client.post(
        f"/persons/{person['id']}/offices", json={"country": "NO"} | office
    )
    assert response.status_code == 201, response.text
    return response.json()


async def add_participant(
    client: httpx.AsyncClient, session: dict[str, Any], person: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/sessions/{session['id']}/participants",
        json={"person_id": person["id"], "delegation": "NO"} | fields,
    )
    assert response.status_code == 201, response.text
    ParticipationRead.model_validate(response.json())
    return response.json()


async def get_participant(client: httpx.AsyncClient, participation: dict[str, Any]) -> dict:
    response = await client.get(
        f"/sessions/{participation['session_id']}/participants/{participation['id']}"
    )
    assert response.status_code == 200, response.text
    ParticipationRead.model_validate(response.json())
    return response.json()


async def participants(client: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/sessions/{session_id}/participants")
    assert response.status_code == 200, response.text
    page = Page[ParticipationRead].model_validate(response.json())
    assert page.next_cursor is None
    return response.json()["items"]


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["pointer"] for error in response.json()["errors"]}


# ---------------------------------------------------------------- the CCQS seed


async def test_sixth_session_participants(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    items = await participants(client, ccqs["sixth"]["id"])
    assert [
        (p["person"]["name"], p["delegation"], p["role"], p["title_at_time"]) for p in items
    ] == [
        ("Michèle Alliot-Marie", "FR", "principal", "Minister of Defence"),
        ("Philippe Douste-Blazy", "FR", "principal", "Minister of Foreign Affairs"),
        ("Anatoli Serdioukov", "RU", "principal", "Minister of Defence"),
        ("Sergueï Lavrov", "RU", "principal", "Minister of Foreign Affairs"),
        ("Vladimir Poutine", "RU", "host", "President of the Russian Federation"),
    ]
    poutine = items[4]
    assert poutine["person_id"] == ccqs["persons"]["poutine"]["id"]
    assert poutine["office_id"] == ccqs["persons"]["poutine"]["offices"][0]["id"]
    assert poutine["note"] == "Receives the French ministers for an audience in the afternoon."
    assert len(poutine["segment_ids"]) == 1
    assert len(items[0]["segment_ids"]) == 3
    assert all(len(p["source_ids"]) == 1 for p in items)
    assert await get_participant(client, poutine) == poutine
    assert await participants(client, ccqs["fifth"]["id"]) == []


# ---------------------------------------------------------------- create


async def test_add_participant(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, segments=[{"kind": "plenary"}, {"kind": "audience"}])
    person = await create_person(client, offices=({"title": "Minister of Defence"},))
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    response = await client.post(
        f"/sessions/{session['id']}/participants",
        json={
            "person_id": person["id"],
            "delegation": "NO",
            "role": "principal",
            "segment_ids": [session["segments"][1]["id"], session["segments"][0]["id"]],
            "note": "Arrived late.",
            "source_ids": [source["id"]],
        },
    )
    assert response.status_code == 201
    participation = ParticipationRead.model_validate(response.json())
    assert response.headers["location"] == (
        f"/api/v1/sessions/{session['id']}/participants/{participation.id}"
    )
    assert participation.session_id == session["id"]
    assert participation.person.model_dump() == {
        "id": person["id"],
        "name": "Anne Holm",
        "nationality": "NO",
    }
    assert (participation.delegation, participation.role) == ("NO", "principal")
    assert participation.office_id == person["offices"][0]["id"]
    assert participation.title_at_time == "Minister of Defence"
    assert participation.segment_ids == [s["id"] for s in session["segments"]]
    assert participation.note == "Arrived late."
    assert participation.source_ids == [source["id"]]
    assert participation.created_at.endswith("Z")
    assert (await client.get(response.headers["location"].removeprefix("/api/v1"))).json() == (
        response.json()
    )
    # The session shows the participant, and its segments list them.
    detail = (await client.get(f"/sessions/{session['id']}")).json()
    assert detail["participants"] == [response.json()]
    assert [s["participant_ids"] for s in detail["segments"]] == [
        [participation.id],
        [participation.id],
    ]


async def test_role_defaults_to_delegate_and_office_to_none(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client)
    participation = await add_participant(client, session, await create_person(client))
    assert participation["role"] == "delegate"
    assert (participation["office_id"], participation["title_at_time"]) == (None, None)
    assert participation["segment_ids"] == []


async def test_person_already_participating_is_409(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client)
    person = await create_person(client)
    await add_participant(client, session, person)
    response = await client.post(
        f"/sessions/{session['id']}/participants",
        json={"person_id": person["id"], "delegation": "DE", "role": "observer"},
    )
    assert response.status_code == 409
    assert len(await participants(client, session["id"])) == 1
    # The same person may attend another session.
    other = await create_session(client, start_date="2008-01-01")
    await add_participant(client, other, person)


async def test_delegation_is_a_member_the_host_or_a_guest(client: httpx.AsyncClient) -> None:
    await create_council(client)  # members NO and DE
    session = await create_session(client, host_country="CH", guest_countries=["DK"])
    for delegation in ("NO", "DE", "CH", "DK"):
        person = await create_person(client, f"Delegate of {delegation}")
        await add_participant(client, session, person, delegation=delegation)
    american = await create_person(client, "Delegate of US")
    response = await client.post(
        f"/sessions/{session['id']}/participants",
        json={"person_id": american["id"], "delegation": "US"},
    )
    assert pointers(response) == {"/delegation"}
    # Once the session invites the United States, their delegate may sit.
    response = await client.patch(
        f"/sessions/{session['id']}", json={"guest_countries": ["DK", "US"]}
    )
    assert response.status_code == 200
    await add_participant(client, session, american, delegation="US")
    assert len(await participants(client, session["id"])) == 5


async def test_add_participant_lists_every_invalid_field(client: httpx.AsyncClient) -> None:
    await create_council(client)
    other = await create_session(client, start_date="2006-01-01", segments=[{"kind": "plenary"}])
    session = await create_session(client, segments=[{"kind": "plenary"}])
    person = await create_person(client)
    someone_else = await create_person(client, "Bo Lind", ({"title": "Ambassador"},))
    path = f"/sessions/{session['id']}/participants"

    assert pointers(await client.post(path, json={})) == {"/person_id", "/delegation"}
    response = await client.post(path, json={"person_id": "nope", "delegation": "NO"})
    assert pointers(response) == {"/person_id"}
    response = await client.post(
        path, json={"person_id": person["id"], "delegation": "ZZ", "role": "chair"}
    )
    assert pointers(response) == {"/delegation", "/role"}
    response = await client.post(
        path,
        json={
            "person_id": person["id"],
            "delegation": "US",
            "office_id": someone_else["offices"][0]["id"],
            "segment_ids": [session["segments"][0]["id"], other["segments"][0]["id"]],
        },
    )
    assert pointers(response) == {"/delegation", "/office_id", "/segment_ids/1"}
    response = await client.post(
        path, json={"person_id": person["id"], "delegation": "NO", "source_ids": ["nope"]}
    )
    assert pointers(response) == {"/source_ids/0"}
    assert await participants(client, session["id"]) == []


async def test_unknown_and_read_only_fields_are_refused(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client)
    person = await create_person(client)
    path = f"/sessions/{session['id']}/participants"
    for field, value in [
        ("id", "0190c5e2-0000-7000-8000-000000000000"),
        ("created_at", "2007-02-21T00:00:00Z"),
        ("session_id", session["id"]),
        ("title_at_time", "Queen"),
        ("person", {"name": "Anne Holm"}),
        ("seat", 3),
    ]:
        response = await client.post(
            path, json={"person_id": person["id"], "delegation": "NO", field: value}
        )
        assert pointers(response) == {f"/{field}"}, field
    participation = await add_participant(client, session, person)
    for field, value in [
        ("id", "0190c5e2-0000-7000-8000-000000000000"),
        ("updated_at", "2007-02-21T00:00:00Z"),
        ("session_id", session["id"]),
        ("person_id", person["id"]),
        ("title_at_time", "Queen"),
        ("seat", 3),
    ]:
        response = await client.patch(f"{path}/{participation['id']}", json={field: value})
        assert pointers(response) == {f"/{field}"}, field
    assert await get_participant(client, participation) == participation


# ---------------------------------------------------------------- the office held that day


async def test_office_is_derived_from_partial_dates(client: httpx.AsyncClient) -> None:
    await create_council(client)
    person = await create_person(
        client,
        offices=(
            # "2007-02" as an end covers every day of February 2007.
            {"title": "Ambassador to Germany", "start_date": "1999", "end_date": "2007-02"},
            # "2007-03" as a start begins on the first of March at the earliest.
            {"title": "State Secretary", "start_date": "2007-03"},
        ),
    )
    ambassador, secretary = person["offices"]
    cases = [
        ("2007-02-21", ambassador),
        ("2007-02-28", ambassador),
        ("2007-03-01", secretary),
        ("2010-06-01", secretary),
        ("1999-01-01", ambassador),
        ("1998-12-31", None),
    ]
    for start_date, office in cases:
        session = await create_session(client, start_date=start_date)
        participation = await add_participant(client, session, person)
        expected = (office["id"], office["title"]) if office else (None, None)
        assert (participation["office_id"], participation["title_at_time"]) == expected, start_date


async def test_adding_an_office_later_derives_it_again(client: httpx.AsyncClient) -> None:
    await create_council(client)
    person = await create_person(
        client,
        offices=(
            {"title": "Ambassador to Germany", "start_date": "1999", "end_date": "2007-01"},
            {"title": "State Secretary", "start_date": "2007-03"},
        ),
    )
    session = await create_session(client, start_date="2007-02-21")
    participation = await add_participant(client, session, person)
    assert (participation["office_id"], participation["title_at_time"]) == (None, None)

    interim = await add_office(client, person, title="Chargé d'affaires", start_date="2007-02")
    derived = await get_participant(client, participation)
    assert (derived["office_id"], derived["title_at_time"]) == (interim["id"], "Chargé d'affaires")
    detail = (await client.get(f"/sessions/{session['id']}")).json()
    assert detail["participants"][0]["title_at_time"] == "Chargé d'affaires"

    # Changing or deleting offices derives it again too.
    response = await client.patch(
        f"/persons/{person['id']}/offices/{interim['id']}", json={"title": "Acting Ambassador"}
    )
    assert response.status_code == 200
    assert (await get_participant(client, participation))["title_at_time"] == "Acting Ambassador"
    response = await client.delete(f"/persons/{person['id']}/offices/{interim['id']}")
    assert response.status_code == 204
    assert (await get_participant(client, participation))["office_id"] is None
    secretary = person["offices"][1]
    response = await client.patch(
        f"/persons/{person['id']}/offices/{secretary['id']}", json={"start_date": "2007-02-15"}
    )
    assert response.status_code == 200
    assert (await get_participant(client, participation))["office_id"] == secretary["id"]


async def test_moving_the_session_derives_the_office_again(client: httpx.AsyncClient) -> None:
    await create_council(client)
    person = await create_person(
        client,
        offices=(
            {"title": "Ambassador to Germany", "start_date": "1999", "end_date": "2007-02"},
            {"title": "State Secretary", "start_date": "2007-03"},
        ),
    )
    session = await create_session(client, start_date="2007-02-21")
    participation = await add_participant(client, session, person)
    assert participation["title_at_time"] == "Ambassador to Germany"
    response = await client.patch(f"/sessions/{session['id']}", json={"start_date": "2007-03-10"})
    assert response.status_code == 200
    assert response.json()["participants"][0]["title_at_time"] == "State Secretary"


async def test_given_office_is_kept_until_set_to_null(client: httpx.AsyncClient) -> None:
    await create_council(client)
    person = await create_person(
        client,
        offices=(
            {"title": "Ambassador to Germany", "start_date": "1999", "end_date": "2007-01"},
            {"title": "State Secretary", "start_date": "2007-02"},
        ),
    )
    ambassador, secretary = person["offices"]
    session = await create_session(client, start_date="2007-02-21")
    # The sources may say she came as ambassador, whatever the dates suggest.
    participation = await add_participant(client, session, person, office_id=ambassador["id"])
    assert participation["title_at_time"] == "Ambassador to Germany"
    # Another office makes the others derive again, but not a given one.
    await add_office(client, person, title="Special Envoy", start_date="2008")
    assert (await get_participant(client, participation))["office_id"] == ambassador["id"]

    path = f"/sessions/{session['id']}/participants/{participation['id']}"
    response = await client.patch(path, json={"office_id": None})
    assert response.status_code == 200
    assert (response.json()["office_id"], response.json()["title_at_time"]) == (
        secretary["id"],
        "State Secretary",
    )
    # Derived again, it follows the person's offices from now on.
    await client.delete(f"/persons/{person['id']}/offices/{secretary['id']}")
    assert (await get_participant(client, participation))["office_id"] is None

    response = await client.patch(path, json={"office_id": ambassador["id"]})
    assert response.json()["office_id"] == ambassador["id"]
    # Only the person's own offices may be given.
    other = await create_person(client, "Bo Lind", ({"title": "Ambassador"},))
    response = await client.patch(path, json={"office_id": other["offices"][0]["id"]})
    assert pointers(response) == {"/office_id"}
    assert (await get_participant(client, participation))["office_id"] == ambassador["id"]


# ---------------------------------------------------------------- update and delete


async def test_patch_participant(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(
        client, guest_countries=["DK"], segments=[{"kind": "plenary"}, {"kind": "audience"}]
    )
    plenary, audience = (s["id"] for s in session["segments"])
    participation = await add_participant(
        client, session, await create_person(client), segment_ids=[plenary]
    )
    path = f"/sessions/{session['id']}/participants/{participation['id']}"
    response = await client.patch(
        path,
        json={
            "role": "observer",
            "delegation": "DK",
            "note": "Observer.",
            "segment_ids": [audience],
        },
    )
    assert response.status_code == 200
    patched = ParticipationRead.model_validate(response.json())
    assert (patched.role, patched.delegation, patched.note) == ("observer", "DK", "Observer.")
    assert patched.segment_ids == [audience]
    assert patched.person_id == participation["person_id"]
    assert patched.created_at == participation["created_at"]
    assert patched.updated_at > participation["updated_at"]
    assert await get_participant(client, participation) == response.json()
    segments = (await client.get(f"/sessions/{session['id']}")).json()["segments"]
    assert [s["participant_ids"] for s in segments] == [[], [participation["id"]]]
    # Nullable fields clear; an empty body changes nothing.
    response = await client.patch(path, json={"note": None, "segment_ids": []})
    assert (response.json()["note"], response.json()["segment_ids"]) == (None, [])
    assert (await client.patch(path, json={})).json()["role"] == "observer"


async def test_patch_participant_is_validated(client: httpx.AsyncClient) -> None:
    await create_council(client)
    other = await create_session(client, start_date="2006-01-01", segments=[{"kind": "plenary"}])
    session = await create_session(client)
    participation = await add_participant(client, session, await create_person(client))
    path = f"/sessions/{session['id']}/participants/{participation['id']}"
    assert pointers(await client.patch(path, json={"delegation": "US"})) == {"/delegation"}
    assert pointers(await client.patch(path, json={"delegation": "XX"})) == {"/delegation"}
    assert pointers(await client.patch(path, json={"role": "chair"})) == {"/role"}
    response = await client.patch(path, json={"segment_ids": [other["segments"][0]["id"]]})
    assert pointers(response) == {"/segment_ids/0"}
    for field in ("delegation", "role", "segment_ids", "source_ids"):
        assert pointers(await client.patch(path, json={field: None})) == {f"/{field}"}, field
    assert await get_participant(client, participation) == participation


async def test_delete_participant(client: httpx.AsyncClient) -> None:
    await create_council(client)
    session = await create_session(client, segments=[{"kind": "plenary"}])
    person = await create_person(client)
    participation = await add_participant(
        client, session, person, segment_ids=[session["segments"][0]["id"]]
    )
    path = f"/sessions/{session['id']}/participants/{participation['id']}"
    response = await client.delete(path)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(path)).status_code == 404
    assert (await client.delete(path)).status_code == 404
    assert await participants(client, session["id"]) == []
    detail = (await client.get(f"/sessions/{session['id']}")).json()
    assert detail["segments"][0]["participant_ids"] == []
    # The person remains, and may be seated again.
    assert (await client.get(f"/persons/{person['id']}")).status_code == 200
    await add_participant(client, session, person)


# ---------------------------------------------------------------- not found


async def test_participants_of_an_unknown_session_are_404(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    lavrov = ccqs["persons"]["lavrov"]
    participation_id = (await participants(client, ccqs["sixth"]["id"]))[0]["id"]
    for session_id in UNKNOWN_IDS:
        path = f"/sessions/{session_id}/participants"
        assert (await client.get(path)).status_code == 404
        response = await client.post(path, json={"person_id": lavrov["id"], "delegation": "RU"})
        assert response.status_code == 404
        assert (await client.get(f"{path}/{participation_id}")).status_code == 404
        response = await client.patch(f"{path}/{participation_id}", json={"note": "x"})
        assert response.status_code == 404
        assert (await client.delete(f"{path}/{participation_id}")).status_code == 404
    assert len(await participants(client, ccqs["sixth"]["id"])) == 5


async def test_unknown_participation_is_404(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    sixth, fifth = ccqs["sixth"]["id"], ccqs["fifth"]["id"]
    participation_id = (await participants(client, sixth))[0]["id"]
    # A participation of the 6th session is not one of the 5th.
    for session_id, item_id in [(fifth, participation_id), *((sixth, i) for i in UNKNOWN_IDS)]:
        path = f"/sessions/{session_id}/participants/{item_id}"
        assert (await client.get(path)).status_code == 404
        assert (await client.patch(path, json={"note": "x"})).status_code == 404
        assert (await client.delete(path)).status_code == 404
    assert len(await participants(client, sixth)) == 5


async def test_overlong_participation_id_is_404(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    """Any form of id that names no participation is 404, however long."""
    response = await client.get(f"/sessions/{ccqs['sixth']['id']}/participants/{'0' * 100}")
    assert response.status_code == 404
