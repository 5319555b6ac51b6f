"""The OpenAPI document as analysts read it in Swagger UI and ReDoc: every operation has a
summary, a description and examples, and the examples work on the seeded database."""

from typing import Any

import httpx
from fastapi import FastAPI

from app.auth.models import Scope
from app.cli import load_dataset
from tests.conftest import SEED, _empty_tables, http_client, make_key

METHODS = ("get", "post", "patch", "put", "delete")
# Deletions last, parts before what they belong to, so that each finds its record.
DELETE_ORDER = [
    "participants_delete",
    "agenda_delete",
    "offices_delete",
    "persons_delete",
    "sessions_delete",
    "topics_delete",
    "councils_delete",
    "sources_delete",
    "keys_revoke",
]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_every_operation_has_a_summary_a_description_and_examples(app: FastAPI) -> None:
    missing = []
    for method, path, operation in operations(app.openapi()):
        where = f"{method.upper()} {path}"
        if not operation.get("summary"):
            missing.append(f"{where}: summary")
        if not operation.get("description"):
            missing.append(f"{where}: description")
        for parameter in operation.get("parameters", []):
            if (parameter["in"] == "path" or parameter.get("required")) and (
                "example" not in parameter
            ):
                missing.append(f"{where}: example of {parameter['name']}")
        if "requestBody" in operation:
            media = operation["requestBody"]["content"]["application/json"]
            if not media.get("examples"):
                missing.append(f"{where}: example body")
        for status, response in operation["responses"].items():
            problem = response.get("content", {}).get("application/problem+json")
            if problem is not None and problem.get("example", {}).get("status") != int(status):
                missing.append(f"{where}: example problem of {status}")
    assert missing == []


def example_request(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The request Swagger UI's *Try it out* sends with the examples as they stand."""
    query = {}
    for parameter in operation.get("parameters", []):
        if "example" not in parameter:
            continue
        value = parameter["example"]
        if parameter["in"] == "path":
            path = path.replace(f"{{{parameter['name']}}}", str(value))
        elif parameter["in"] == "query":
            query[parameter["name"]] = str(value).lower() if isinstance(value, bool) else value
    request: dict[str, Any] = {"url": path.removeprefix("/api/v1"), "params": query}
    if "requestBody" in operation:
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        request["json"] = next(iter(examples.values()))["value"]
    return request


async def test_every_example_works_on_the_seeded_database(app: FastAPI) -> None:
    """Loaded as `entente seed` loads it into a new database, the seed has the ids the
    examples name: each example request succeeds, writes included, one after another."""
    await _empty_tables(app)  # of what other tests left: the seed needs a new database
    token = await make_key(app, "examples", Scope.admin)
    try:
        await load_dataset(app.state.settings.database_url, SEED.read_bytes(), stable_ids=True)
        async with http_client(app, token) as client:
            assert await failed_examples(app, client) == []
    finally:
        await _empty_tables(app)


async def test_example_answers_are_those_of_the_seeded_database(app: FastAPI) -> None:
    """An answer shown in the document is the one its operation gives, with the examples of
    its parameters, on a database that `entente seed` loaded."""
    await _empty_tables(app)
    token = await make_key(app, "examples", Scope.admin)
    try:
        await load_dataset(app.state.settings.database_url, SEED.read_bytes(), stable_ids=True)
        shown = [
            (path, operation, media["examples"]["seeded"]["value"])
            for method, path, operation in operations(app.openapi())
            if method == "get"
            and (media := operation["responses"]["200"]["content"].get("application/json"))
            and "examples" in media
        ]
        assert shown
        async with http_client(app, token) as client:
            for path, operation, value in shown:
                response = await client.get(**example_request(path, operation))
                assert response.status_code == 200, path
                assert response.json() == value, path
    finally:
        await _empty_tables(app)


async def failed_examples(app: FastAPI, client: httpx.AsyncClient) -> list[str]:
    def order(entry: tuple[str, str, dict[str, Any]]) -> tuple[int, int]:
        method, _, operation = entry
        rank = ("post", "get", "patch", "delete").index(method)
        return rank, DELETE_ORDER.index(operation["operationId"]) if method == "delete" else 0

    api = [entry for entry in operations(app.openapi()) if entry[1].startswith("/api/v1/")]
    assert {op["operationId"] for method, _, op in api if method == "delete"} == set(DELETE_ORDER)
    failed = []
    for method, path, operation in sorted(api, key=order):
        response = await client.request(method.upper(), **example_request(path, operation))
        if response.status_code not in (200, 201, 204):
            failed.append(f"{method.upper()} {path}: {response.status_code} {response.text}")
        elif method == "get" and response.json() in ([], {"items": [], "next_cursor": None}):
            failed.append(f"{method.upper()} {path}: an empty list")
    return failed
