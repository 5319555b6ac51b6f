from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.dataset.exporter import export_dataset
from app.dataset.importer import import_document
from app.dataset.schemas import Dataset
from app.db import DbSession
from app.errors import UnsupportedMediaType
from app.http import is_json, json_response, parse_json
from app.idempotency.dependencies import remember
from app.idempotency.routes import ApiRoute

router = APIRouter(tags=["datasets"], route_class=ApiRoute)


class ImportResult(BaseModel):
    status: str


@router.post(
    "/import",
    operation_id="dataset_import",
    summary="Import a dataset",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dataset"}}},
        }
    },
)
async def import_dataset(request: Request, db: DbSession) -> Response:
    """Upsert a whole dataset (the format of `GET /export`; its JSON Schema is at
    `/api/v1/schemas/dataset.json`). Records are matched by natural keys: councils and
    topics by slug, persons by `key`, sources by URL, sessions by `slug` when they have
    one (a meeting outside councils must: `{"slug": "1966-06-de-gaulle-ussr", "kind":
    "state_visit", "countries": ["FR", "SUHH"], ...}`), else by council and ordinal (or
    start date). A session that leaves out `slug` or `identifiers` keeps its stored ones.
    Importing the same document twice changes nothing the second time. Every rule of the
    API holds, and every record is journaled (`/audit`, `/changes`) as if written through
    the API. It runs in one transaction: on any problem nothing changes and the answer is
    422 with every problem in `errors`, each pointing into the document
    (`/sessions/3/countries`). Bodies up to ENTENTE_IMPORT_MAX_BODY_BYTES (50 MiB by
    default) are taken: 10,000 sessions with their participants are about 9 MB."""
    body = await request.body()  # limited by RequestMiddleware
    if not is_json(request.headers.get("content-type", "application/json")):
        raise UnsupportedMediaType("Send the dataset as application/json.")
    # Off the event loop: parsing tens of megabytes would stall every other request.
    await import_document(db, await anyio.to_thread.run_sync(parse_json, body))
    return remember(request, json_response({"status": "imported"}))


@router.get(
    "/export",
    operation_id="dataset_export",
    summary="Export the whole dataset",
    response_model=Dataset,
)
async def export(db: DbSession) -> Response:
    """Everything, as one `entente-dataset` document that `POST /import` reads back:
    importing it into an empty database and exporting again gives the same document."""
    return json_response(await export_dataset(db))


@router.get(
    "/schemas/dataset.json",
    operation_id="dataset_schema",
    summary="JSON Schema of the dataset format",
    response_model=dict[str, Any],
)
async def dataset_schema() -> Response:
    """The JSON Schema (2020-12) of the documents `POST /import` takes and `GET /export` gives."""
    schema = Dataset.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "/api/v1/schemas/dataset.json"
    return json_response(schema)
