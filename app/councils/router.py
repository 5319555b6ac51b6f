from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from app.councils import service
from app.councils.models import CouncilKind, CouncilStatus
from app.councils.schemas import CouncilCreate, CouncilRead, CouncilUpdate
from app.db import DbSession
from app.http import (
    READ_PROBLEMS,
    WRITE_PROBLEMS,
    CascadeParam,
    IfMatch,
    SearchParam,
    page_response,
    problems,
    resource_response,
)
from app.idempotency.routes import ApiRoute, created_response
from app.pagination import Page, PageParams
from app.types import CountryCode

router = APIRouter(prefix="/councils", tags=["councils"], route_class=ApiRoute)


async def council_id_of(
    db: DbSession,
    council: Annotated[str, Path(description="The council's id or slug.", examples=["ccqs"])],
) -> str:
    return await service.resolve_council_id(db, council)


CouncilId = Annotated[str, Depends(council_id_of)]


@router.get(
    "",
    operation_id="councils_list",
    summary="List councils",
    response_model=Page[CouncilRead],
)
async def list_councils(
    request: Request,
    db: DbSession,
    page: PageParams,
    q: SearchParam = None,
    country: Annotated[
        list[CountryCode] | None, Query(description="A member country; repeatable (any).")
    ] = None,
    kind: Annotated[list[CouncilKind] | None, Query(description="Repeatable (any).")] = None,
    status: Annotated[list[CouncilStatus] | None, Query(description="Repeatable (any).")] = None,
) -> Response:
    """Every standing council, by slug; with `q` (over acronym, names and description),
    best matches first. `?country=FR&kind=bilateral` lists France's bilateral councils."""
    items, next_cursor = await service.list_councils(
        db, page=page, q=q, countries=country or (), kinds=kind or (), statuses=status or ()
    )
    return page_response(request, items, next_cursor)


@router.post(
    "",
    operation_id="councils_create",
    summary="Create a council",
    status_code=201,
    response_model=CouncilRead,
    responses=WRITE_PROBLEMS,
)
async def create_council(request: Request, db: DbSession, body: CouncilCreate) -> Response:
    """Create a standing council. `slug` must be unique (409 otherwise); a `bilateral`
    council has exactly two `member_countries`."""
    return created_response(request, await service.create_council(db, data=body))


@router.get(
    "/{council}",
    operation_id="councils_get",
    summary="Get a council",
    response_model=CouncilRead,
    responses=READ_PROBLEMS,
)
async def get_council(request: Request, db: DbSession, council_id: CouncilId) -> Response:
    """One council by id or slug, e.g. `/councils/ccqs`, with its sources embedded."""
    return resource_response(request, await service.get_council(db, council_id))


@router.patch(
    "/{council}",
    operation_id="councils_update",
    summary="Change a council",
    response_model=CouncilRead,
    responses=WRITE_PROBLEMS,
)
async def update_council(
    request: Request,
    db: DbSession,
    council_id: CouncilId,
    body: CouncilUpdate,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields given. Lists (`member_countries`, `source_ids`) are replaced
    whole; a nullable field set to `null` is cleared."""
    return resource_response(
        request,
        await service.update_council(db, council_id=council_id, data=body, if_match=if_match),
    )


@router.delete(
    "/{council}",
    operation_id="councils_delete",
    summary="Delete a council",
    status_code=204,
    responses=problems(404, 409),
)
async def delete_council(
    db: DbSession,
    council_id: CouncilId,
    cascade: CascadeParam = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete a council. One with sessions is refused with 409 unless `cascade=true`,
    which deletes its sessions, their participants, segments and agenda too."""
    await service.delete_council(db, council_id=council_id, cascade=cascade, if_match=if_match)
    return Response(status_code=204)
