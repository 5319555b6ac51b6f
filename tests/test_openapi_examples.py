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
            if (parameter["in"] == "path" or parameter.get("required")) and not (
                example_values(parameter)
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


def example_values(parameter: dict[str, Any]) -> list[Any]:
    """A parameter's example values: its `example`, or each of its named `examples`."""
    if "examples" in parameter:
        return [example["value"] for example in parameter["examples"].values()]
    return [parameter["example"]] if "example" in parameter else []


def example_requests(path: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests Swagger UI's *Try it out* sends with the examples as they stand: with
    the first example of each parameter and of the body, then once with each other named
    example of a parameter or of the body in its place."""
    parameters = [p for p in operation.get("parameters", []) if example_values(p)]
    bodies: list[Any] = [None]
    if "requestBody" in operation:
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        bodies = [example["value"] for example in examples.values()]
    first = [example_values(p)[0] for p in parameters]
    chosen = [(first, bodies[0])]
    for i, parameter in enumerate(parameters):
        chosen += [
            ([*first[:i], v, *first[i + 1 :]], bodies[0]) for v in example_values(parameter)[1:]
        ]
    chosen += [(first, body) for body in bodies[1:]]
    return [_request(path, parameters, values, body) for values, body in chosen]


def _request(
    path: str, parameters: list[dict[str, Any]], values: list[Any], body: Any
) -> dict[str, Any]:
    query = {}
    for parameter, value in zip(parameters, values, strict=True):
        if parameter["in"] == "path":
            path = path.replace(f"{{{parameter['name']}}}", str(value))
        elif parameter["in"] == "query":
            query[parameter["name"]] = str(value).lower() if isinstance(value, bool) else value
    request: dict[str, Any] = {"url": path.removeprefix("/api/v1"), "params": query}
    if body is not None:
        request["json"] = body
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
                response = await client.get(**example_requests(path, operation)[0])
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
        for request in example_requests(path, operation):
            response = await client.request(method.upper(), **request)
            where = f"{method.upper()} {request['url']}"
            if response.status_code not in (200, 201, 204):
                failed.append(f"{where}: {response.status_code} {response.text}")
            elif method == "get" and response.json() in ([], {"items": [], "next_cursor": None}):
                failed.append(f"{where}: an empty list")
    return failed


async def test_swagger_ui_shows_a_visit_beside_a_council_session(app: FastAPI) -> None:
    """Recording a session, and reading one, each show a council's session and a meeting
    outside councils; the visit the POST example records is the one the GET example reads
    (test_every_example_works_on_the_seeded_database sends them in that order)."""
    paths = app.openapi()["paths"]
    create = paths["/api/v1/sessions"]["post"]["requestBody"]["content"]["application/json"]
    bodies = {name: example["value"] for name, example in create["examples"].items()}
    assert bodies["seeded"]["council_id"] == "ccqs"
    visit = bodies["state-visit"]
    assert (visit["kind"], visit["countries"], visit["host_country"]) == (
        "state_visit",
        ["FR", "SUHH"],
        "SUHH",
    )
    (session_id,) = paths["/api/v1/sessions/{session_id}"]["get"]["parameters"]
    assert "example" not in session_id
    assert example_values(session_id) == ["00eb1f58-6000-7000-8000-000000000019", visit["slug"]]
    (code,) = paths["/api/v1/countries/{code}"]["get"]["parameters"]
    assert example_values(code) == ["FR", "SUHH"]
