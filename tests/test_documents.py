"""Each document is defined once (app/json_sql.py) and written by the database: wherever
it is served (its own path, embedded in another, a list page) it is the same, with the
API's types, on both databases."""

import re
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from app.http import etag_of_body

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def _populated_sessions(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> list[str]:
    """The two CCQS sessions and an unnumbered one, each part citing a source."""
    source = (await client.post("/sources", json={"url": "https://example.org/a"})).json()
    unnumbered = (
        await client.post(
            "/sessions",
            json={
                "council_id": ccqs["council"]["id"],
                "start_date": "2008-05-02",
                "end_date": "2008-05-03",
                "guest_countries": ["DE"],
                "source_ids": [source["id"]],
                "segments": [{"kind": "other", "date": "2008-05-03", "format": "2+2"}],
            },
        )
    ).json()
    sixth = ccqs["sixth"]["id"]
    participant = (await client.get(f"/sessions/{sixth}/participants")).json()["items"][0]
    await client.patch(
        f"/sessions/{sixth}/participants/{participant['id']}", json={"source_ids": [source["id"]]}
    )
    item = (await client.get(f"/sessions/{sixth}/agenda")).json()["items"][0]
    await client.patch(
        f"/sessions/{sixth}/agenda/{item['id']}", json={"source_ids": [source["id"]]}
    )
    return [sixth, ccqs["fifth"]["id"], unnumbered["id"]]


async def test_a_session_reads_the_same_wherever_it_is_served(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    session_ids = await _populated_sessions(client, ccqs)
    listed = {s["id"]: s for s in (await client.get("/sessions")).json()["items"]}
    for session_id in session_ids:
        detail = (await client.get(f"/sessions/{session_id}")).json()
        # The summary is the detail's first fields, as every list serves it.
        assert listed[session_id] == {key: detail[key] for key in listed[session_id]}
        for participant in detail["participants"]:
            path = f"/sessions/{session_id}/participants/{participant['id']}"
            assert (await client.get(path)).json() == participant
        for item in detail["agenda"]:
            path = f"/sessions/{session_id}/agenda/{item['id']}"
            assert (await client.get(path)).json() == item
        assert (await client.get(f"/sessions/{session_id}/participants")).json()["items"] == (
            detail["participants"]
        )
        assert (await client.get(f"/sessions/{session_id}/agenda")).json()["items"] == (
            detail["agenda"]
        )
        for source in detail["sources"]:
            assert (await client.get(f"/sources/{source['id']}")).json() == source
    sixth = (await client.get(f"/sessions/{session_ids[0]}")).json()
    assert sixth["title"] == "6th session of the CCQS"
    assert sixth["previous_session_id"] == session_ids[1]
    assert sixth["participants"][0]["source_ids"] and sixth["agenda"][0]["source_ids"]
    unnumbered = (await client.get(f"/sessions/{session_ids[2]}")).json()
    assert unnumbered["title"] == "Session of the CCQS on 2008-05-02"
    assert unnumbered["ordinal"] is None
    assert unnumbered["guest_countries"] == ["DE"]
    assert unnumbered["segments"][0]["format"] == "2+2"
    assert unnumbered["segments"][0]["participant_ids"] == []
    for stamp in (unnumbered["created_at"], unnumbered["sources"][0]["updated_at"]):
        assert TIMESTAMP.match(stamp), stamp


async def test_a_person_reads_the_same_wherever_it_is_served(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    lavrov = ccqs["persons"]["lavrov"]
    source = (await client.post("/sources", json={"url": "https://example.org/b"})).json()
    office = (
        await client.post(
            f"/persons/{lavrov['id']}/offices",
            json={
                "title": "Ambassador to the UN",
                "names": {"fr": "Ambassadeur"},
                "role": "ambassador",
                "country": "RU",
                "start_date": "1994",
                "end_date": "2004-03",
                "source_ids": [source["id"]],
            },
        )
    ).json()
    await client.patch(f"/persons/{lavrov['id']}", json={"source_ids": [source["id"]]})
    person = (await client.get(f"/persons/{lavrov['id']}")).json()
    found = (await client.get("/persons", params={"q": "Lavrov"})).json()["items"]
    assert found[0] == person
    listed = (await client.get("/persons", params={"limit": 200})).json()["items"]
    assert person in listed
    offices = (await client.get(f"/persons/{lavrov['id']}/offices")).json()["items"]
    assert offices == person["offices"]
    assert (await client.get(f"/persons/{lavrov['id']}/offices/{office['id']}")).json() == office
    assert office in person["offices"] and office["names"] == {"fr": "Ambassadeur"}
    assert person["sources"] == [(await client.get(f"/sources/{source['id']}")).json()]
    assert person["other_names"] and all(TIMESTAMP.match(o["created_at"]) for o in offices)


async def test_the_etag_is_the_hash_of_the_body_served(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    for path in (f"/sessions/{ccqs['sixth']['id']}", f"/persons/{ccqs['persons']['lavrov']['id']}"):
        response = await client.get(path)
        assert response.headers["etag"] == etag_of_body(response.content)
        # A write answers the representation a read then gives, with its tag.
        patched = await client.patch(path, json={}, headers={"If-Match": response.headers["etag"]})
        assert patched.status_code == 200
        assert patched.headers["etag"] == etag_of_body(patched.content)
        again = await client.get(path)
        assert again.headers["etag"] == patched.headers["etag"]
        assert orjson.loads(patched.content) == again.json()


async def test_summaries_follow_their_council_at_once(
    client: httpx.AsyncClient, ccqs: dict[str, Any], app: FastAPI
) -> None:
    await client.patch("/councils/ccqs", json={"acronym": "CCQS-FR"})
    titles = [s["title"] for s in (await client.get("/councils/ccqs/sessions")).json()["items"]]
    assert titles == ["5th session of the CCQS-FR", "6th session of the CCQS-FR"]
    # ...and so does what finds them.
    found = (await client.get("/sessions", params={"q": "CCQS-FR"})).json()["items"]
    assert len(found) == 2
