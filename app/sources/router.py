from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from app.db import DbSession
from app.http import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    CascadeParam,
    IfMatch,
    page_response,
    problems,
    resource_response,
)
from app.idempotency.routes import ApiRoute, created_response
from app.pagination import Page, PageParams
from app.sources import service
from app.sources.schemas import SourceCreate, SourceRead, SourceUpdate

SourceId = Annotated[str, Path(description="The source's id.")]

router = APIRouter(prefix="/sources", tags=["sources"], route_class=ApiRoute)


@router.get(
    "",
    operation_id="sources_list",
    summary="List sources",
    response_model=Page[SourceRead],
)
async def list_sources(request: Request, db: DbSession, page: PageParams) -> Response:
    """Every source, in a stable order. Sources are the documents records were taken
    from, such as the Spyworld Actu article on the 6th CCQS session."""
    items, next_cursor = await service.list_sources(db, page=page)
    return page_response(request, items, next_cursor)


@router.post(
    "",
    operation_id="sources_create",
    summary="Record a source",
    status_code=201,
    response_model=SourceRead,
    responses=WRITE_PROBLEMS,
)
async def create_source(request: Request, db: DbSession, body: SourceCreate) -> Response:
    """Record a document. Its `url` is its natural key: a second source with the same URL
    is refused with 409."""
    return created_response(request, await service.create_source(db, data=body))


@router.get(
    "/{source_id}",
    operation_id="sources_get",
    summary="Get a source",
    response_model=SourceRead,
    responses=READ_PROBLEMS,
)
async def get_source(request: Request, db: DbSession, source_id: SourceId) -> Response:
    """One source: the URL, publisher, language and dates of a document."""
    return resource_response(request, await service.get_source(db, source_id))


@router.patch(
    "/{source_id}",
    operation_id="sources_update",
    summary="Change a source",
    response_model=SourceRead,
    responses=WRITE_PROBLEMS,
)
async def update_source(
    request: Request,
    db: DbSession,
    source_id: SourceId,
    body: SourceUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given; a field set to `null` is cleared (`url` cannot be)."""
    return resource_response(
        request, await service.update_source(db, source_id=source_id, data=body, if_match=if_match)
    )


@router.delete(
    "/{source_id}",
    operation_id="sources_delete",
    summary="Delete a source",
    status_code=204,
    responses=problems(404, 409),
)
async def delete_source(
    db: DbSession,
    source_id: SourceId,
    cascade: CascadeParam = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a source. One that records still cite is refused with 409 unless
    `cascade=true`, which removes the citations too."""
    await service.delete_source(db, source_id=source_id, cascade=cascade, if_match=if_match)
    return Response(status_code=204)
