from typing import Any

import httpx

from app.councils.schemas import CouncilRead
from tests.factories import COUNCIL


async def test_ccqs_council_is_seeded(client: httpx.AsyncClient, ccqs: dict[str, Any]) -> None:
    response = await client.get("/councils/ccqs")
    assert response.status_code == 200
    council = CouncilRead.model_validate(response.json())
    assert council.acronym == "CCQS"
    assert (
        council.names["fr"] == "Conseil de coopération franco-russe sur les questions de sécurité"
    )
    assert council.names["en"] == "Franco-Russian Cooperation Council on Security Issues"
    assert council.kind == "bilateral"
    assert council.member_countries == ["FR", "RU"]
    assert council.established_on == "2002-01"
    assert "Putin" in (council.founding_context or "")
    assert council.sources[0].publisher == "Spyworld Actu"
    # The id works as well as the slug.
    assert (await client.get(f"/councils/{council.id}")).json()["slug"] == "ccqs"


async def test_create_council(client: httpx.AsyncClient) -> None:
    response = await client.post("/councils", json=COUNCIL)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/councils/{body['id']}"
    assert body["member_countries"] == ["NO", "DE"]
    assert body["status"] == "active"
    assert body["created_at"].endswith("Z")
    assert (await client.get(response.headers["location"].removeprefix("/api/v1"))).json() == body


async def test_bilateral_council_needs_two_members(client: httpx.AsyncClient) -> None:
    response = await client.post("/councils", json=COUNCIL | {"member_countries": ["NO"]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/member_countries"
    assert (await client.get("/councils")).json()["items"] == []


async def test_invalid_fields_are_listed_with_pointers(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/councils",
        json=COUNCIL | {"member_countries": ["NO", "ZZ"], "established_on": "2002-13", "id": "x"},
    )
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/member_countries/1", "/established_on", "/id"}


async def test_slug_taken_is_409(client: httpx.AsyncClient) -> None:
    assert (await client.post("/councils", json=COUNCIL)).status_code == 201
    response = await client.post("/councils", json=COUNCIL | {"name": "Other"})
    assert response.status_code == 409
    assert "ngc" in response.json()["detail"]


async def test_patch_council(client: httpx.AsyncClient) -> None:
    created = (await client.post("/councils", json=COUNCIL)).json()
    response = await client.patch(
        "/councils/ngc", json={"kind": "multilateral", "member_countries": ["NO", "DE", "DK"]}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["member_countries"] == ["NO", "DE", "DK"]
    assert body["updated_at"] > created["updated_at"]
    # A bilateral council cannot get three members, and nothing changes.
    response = await client.patch("/councils/ngc", json={"kind": "bilateral"})
    assert response.status_code == 422
    assert (await client.get("/councils/ngc")).json()["kind"] == "multilateral"
    # Required fields may not be nulled.
    assert (await client.patch("/councils/ngc", json={"name": None})).status_code == 422


async def test_unknown_council_is_404(client: httpx.AsyncClient) -> None:
    for council in ("nope", "00001", "-1", "9223372036854775808"):
        response = await client.get(f"/councils/{council}")
        assert response.status_code == 404


async def test_delete_council_with_sessions_needs_cascade(
    client: httpx.AsyncClient, ccqs: dict[str, Any]
) -> None:
    response = await client.delete("/councils/ccqs")
    assert response.status_code == 409
    assert (await client.get("/councils/ccqs")).status_code == 200
    assert (await client.delete("/councils/ccqs", params={"cascade": "true"})).status_code == 204
    assert (await client.get("/councils/ccqs")).status_code == 404
    assert (await client.get(f"/sessions/{ccqs['sixth']['id']}")).status_code == 404


async def test_list_councils_paginates(client: httpx.AsyncClient) -> None:
    for i in range(5):
        await client.post("/councils", json=COUNCIL | {"slug": f"c{i}"})
    first = await client.get("/councils", params={"limit": 2})
    assert [c["slug"] for c in first.json()["items"]] == ["c0", "c1"]
    assert 'rel="next"' in first.headers["link"]
    second = await client.get(
        "/councils", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert [c["slug"] for c in second.json()["items"]] == ["c2", "c3"]
