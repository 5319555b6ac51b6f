"""Meetings outside councils (API v1.1): kind, countries, slug, identifiers, and the rules
that hold them together, on both databases."""

from typing import Any

import httpx

from tests.factories import create_council

VISIT = {
    "kind": "state_visit",
    "title": "State visit of General de Gaulle to the USSR",
    "countries": ["FR", "SUHH"],
    "host_country": "SUHH",
    "start_date": "1966-06-20",
    "end_date": "1966-07-01",
    "slug": "1966-de-gaulle-ussr",
    "identifiers": [{"scheme": "mfa-fr", "identifier": "1966-042"}],
}


async def create_visit(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/sessions", json=VISIT | changes)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_visit_is_a_session_without_council(client: httpx.AsyncClient) -> None:
    visit = await create_visit(client)
    assert visit["council_id"] is None and visit["council"] is None
    assert visit["kind"] == "state_visit"
    assert visit["countries"] == ["FR", "SUHH"]
    assert visit["identifiers"] == VISIT["identifiers"]
    assert visit["previous_session_id"] is None
    by_slug = await client.get(f"/sessions/{VISIT['slug']}")
    assert by_slug.status_code == 200
    assert by_slug.json() == visit
    listed = (await client.get("/sessions", params={"council": "none"})).json()["items"]
    assert [s["id"] for s in listed] == [visit["id"]]


async def test_a_council_session_derives_its_countries(client: httpx.AsyncClient) -> None:
    council = await create_council(client)
    made = await client.post(
        "/sessions",
        json={"council_id": "ngc", "start_date": "2007-02-21", "guest_countries": ["FR"]},
    )
    assert made.status_code == 201, made.text
    session = made.json()
    assert session["kind"] == "council_session"
    assert session["countries"] == ["NO", "DE", "FR"]
    changed = await client.patch(
        f"/councils/{council['id']}", json={"member_countries": ["NO", "SE"]}
    )
    assert changed.status_code == 200, changed.text
    again = (await client.get(f"/sessions/{session['id']}")).json()
    assert again["countries"] == ["NO", "SE", "FR"]
