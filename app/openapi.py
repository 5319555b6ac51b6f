"""The OpenAPI document, completed where FastAPI cannot know: the problem answers every
operation may give, optional authentication on public reads, `Idempotency-Key` on POST,
links from each create to the operations on what it created (for client generators and
stateful fuzzers), and examples that work on the seeded database (app/openapi_examples.py)."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app import openapi_examples
from app.errors import Problem
from app.types import COUNTRY_CODE_DESCRIPTION, COUNTRY_CODES

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
COMMON = {
    "400": "Malformed JSON or JSON not in UTF-8, an invalid cursor, an API key in the URL, "
    "two `Authorization` headers, or a `Host` this server does not answer to.",
    "401": "A key is needed (`WWW-Authenticate: Bearer`), or the key is unknown or revoked.",
    "422": "Some fields or parameters are invalid; `errors` lists each with a JSON Pointer.",
    "429": "Too many requests: wait `Retry-After` seconds (see the RateLimit headers). "
    "Every request counts, refused ones (401, 403) included.",
    "503": "The database cannot be reached; retry after `Retry-After` seconds.",
}
WRITES = {
    "403": "The API key lacks the scope this needs.",
    "413": "The body is too large.",
    "415": "The body is not JSON.",
}
CONDITIONAL_WRITES = {"412": "The record changed since the ETag given in `If-Match`."}
# Reads that need the `admin` scope: the audit trail and keys.
ADMIN_READS = frozenset({"audit_list", "history_list", "keys_list", "keys_get"})
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string, such as a UUID. A retry with the same key and body "
    "gets the first answer and creates nothing; the same key with another body is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def _links(paths: dict[str, Any]) -> None:
    """From each `POST /x` (201) to `GET`, `PATCH` and `DELETE /x/{id}`, the id taken from
    the created record."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        for item_path, item_operations in paths.items():
            parent, _, last = item_path.rpartition("/")
            if parent != path or not (last.startswith("{") and last.endswith("}")):
                continue
            parameter = last[1:-1]
            field = "name" if parameter == "name" else "id"  # keys are named, not numbered
            links = created.setdefault("links", {})
            for method, operation in item_operations.items():
                if method in ("get", "patch", "delete") and "operationId" in operation:
                    name = "".join(part.title() for part in operation["operationId"].split("_"))
                    links[name] = {
                        "operationId": operation["operationId"],
                        "parameters": {parameter: f"$response.body#/{field}"},
                        "description": f"The {method.upper()} of the record just created.",
                    }


def _share_country_codes(node: Any, codes: list[str]) -> Any:
    """Every inline list of the 250 country codes becomes one `CountryCode` schema."""
    if isinstance(node, dict):
        if node.get("enum") == codes:
            return {"$ref": "#/components/schemas/CountryCode"}
        return {k: _share_country_codes(v, codes) for k, v in node.items()}
    if isinstance(node, list):
        return [_share_country_codes(v, codes) for v in node]
    return node


TAGS = [
    {"name": "councils", "description": "Standing bodies that meet in numbered sessions."},
    {"name": "sessions", "description": "Meetings of councils, visits, summits."},
    {"name": "participants", "description": "Who sat at a session, for which side."},
    {"name": "agenda", "description": "The topics on a session's agenda, in order."},
    {"name": "persons", "description": "People, with other names and identifiers."},
    {"name": "offices", "description": "Posts a person held, with partial-date terms."},
    {"name": "topics", "description": "The thesaurus of agenda topics (a tree)."},
    {"name": "sources", "description": "Documents records were taken from."},
    {"name": "countries", "description": "ISO 3166-1 (plus XK) and former countries (3166-3)."},
    {"name": "relations", "description": "How often two countries met, and with whom."},
    {"name": "search", "description": "Everything, ranked, in one list."},
    {"name": "datasets", "description": "Whole-dataset import and export."},
    {"name": "changes", "description": "The change feed, for services that sync."},
    {"name": "audit", "description": "Who changed what (admin), and records' histories."},
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "operations", "description": "Probes and metrics for operators."},
]


def customize(schema: dict[str, Any], *, public_read: bool) -> dict[str, Any]:
    schema["tags"] = TAGS
    schema["servers"] = [{"url": "/", "description": "This server"}]
    schema["info"]["contact"] = {"name": "The Entente maintainers"}
    # FastAPI's validation error models: every 422 here is a Problem instead.
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)
    codes = sorted(COUNTRY_CODES)
    schema = _share_country_codes(schema, codes)
    schema["components"]["schemas"]["CountryCode"] = {
        "type": "string",
        "enum": codes,
        "description": COUNTRY_CODE_DESCRIPTION,
    }
    schema["components"]["schemas"]["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            extra = dict(COMMON)
            if method != "get":
                extra |= WRITES
            elif operation.get("operationId") in ADMIN_READS:
                extra["403"] = WRITES["403"]
            if method in ("patch", "delete"):
                extra |= CONDITIONAL_WRITES
            for status, description in extra.items():
                responses.setdefault(status, _problem(description))
            if "422" in responses:  # FastAPI's own model for it is not what we send
                responses["422"] = _problem(COMMON["422"])
            if method == "get":
                responses.setdefault(
                    "304", {"description": "Not modified: `If-None-Match` has the current ETag."}
                )
                if public_read and "security" in operation:
                    operation["security"] = [{}, *operation["security"]]
            if method == "post" and not path.startswith("/api/v1/keys"):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    _links(schema["paths"])
    openapi_examples.apply(schema)
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                license_info=app.license_info,
                tags=app.openapi_tags,
                separate_input_output_schemas=False,
            )
            app.openapi_schema = customize(schema, public_read=app.state.settings.public_read)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
