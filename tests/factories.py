"""Records the tests create through the API, the bodies and faulty datasets they send,
ids that name no record, and how two documents differ."""

from typing import Any

import httpx

from app.sessions.schemas import SessionRead

# The body of a council that tests create and change: the Norwegian-German one.
COUNCIL = {
    "slug": "ngc",
    "acronym": "NGC",
    "name": "Norwegian-German Council",
    "kind": "bilateral",
    "member_countries": ["NO", "DE"],
}

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


def three_errors(document: dict[str, Any], *, new_records: bool) -> set[str]:
    """Put three different errors in `document`; the pointers the importer must give.
    With `new_records` the faulty council and session are additions (created), otherwise
    changes to the seed's own records (updated)."""
    document["sessions"][1]["participants"][0]["person"] = "nobody"
    if new_records:
        document["councils"].append(
            {
                "slug": "trio",
                "name": "Three-member council",
                "kind": "bilateral",
                "member_countries": ["FR", "RU", "DE"],
            }
        )
        document["sessions"].append(
            {"council": "ccqs", "ordinal": 7, "start_date": "2008-03-10", "end_date": "2008-03-09"}
        )
        return {
            "/sessions/1/participants/0/person",
            "/councils/1/member_countries",
            "/sessions/2/end_date",
        }
    document["councils"][0]["member_countries"] = ["FR", "RU", "DE"]
    document["sessions"][0]["end_date"] = "2005-10-10"
    return {
        "/sessions/1/participants/0/person",
        "/councils/0/member_countries",
        "/sessions/0/end_date",
    }


def differences(before: Any, after: Any, at: str = "") -> list[str]:
    """Where two documents (exports, snapshots) differ, as JSON Pointers, so that a
    failure names the field."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            line
            for key in sorted(before.keys() | after.keys(), key=str)
            for line in differences(
                before.get(key, "<absent>"), after.get(key, "<absent>"), f"{at}/{key}"
            )
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            line
            for i, (old, new) in enumerate(zip(before, after, strict=True))
            for line in differences(old, new, f"{at}/{i}")
        ]
    return [] if before == after else [f"{at}: {before!r} -> {after!r}"]


# What may differ between two answers to the same question: the request's own id, and what
# a key changes (its rate limit, and `Cache-Control: no-store` for what it may see).
OWN_HEADERS = frozenset(
    {"x-request-id", "cache-control"}
    | {f"ratelimit-{name}" for name in ("limit", "remaining", "reset", "policy")}
)


def same_answer(one: httpx.Response, other: httpx.Response, what: str) -> None:
    """Two answers to the same question are the same: status, body and every header but
    the request's own, each as many times."""
    assert one.status_code == other.status_code, what
    assert one.content == other.content, what
    assert _headers(one) == _headers(other), what
    assert one.headers.get("x-request-id"), what


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    named = [(name.decode().lower(), value.decode()) for name, value in response.headers.raw]
    return sorted((name, value) for name, value in named if name not in OWN_HEADERS)
