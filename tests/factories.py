"""Records the tests create through the API, and ids that name no record."""

from typing import Any

import httpx

from app.sessions.schemas import SessionRead

# Any form of id that names no record must be a 404.
UNKNOWN_IDS = ("nope", "00001", "-1", "9223372036854775808")


async def create_council(
    client: httpx.AsyncClient, slug: str = "ngc", members: tuple[str, ...] = ("NO", "DE")
) -> dict[str, Any]:
    response = await client.post(
        "/councils",
        json={
            "slug": slug,
            "acronym": slug.upper(),
            "name": f"Council {slug}",
            "kind": "bilateral" if len(members) == 2 else "multilateral",
            "member_countries": list(members),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def create_session(
    client: httpx.AsyncClient, council: str = "ngc", start_date: str = "2007-02-21", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/sessions", json={"council_id": council, "start_date": start_date} | fields
    )
    assert response.status_code == 201, response.text
    SessionRead.model_validate(response.json())
    return response.json()
