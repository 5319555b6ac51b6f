from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from app.auth import service
from app.auth.dependencies import admin_access, check_admin_access
from app.auth.models import Scope
from app.db import DbSession
from app.http import StrictJsonRoute, json_response, problems
from app.schemas import InputModel, Timestamp


class KeyRoute(StrictJsonRoute):
    """Not ApiRoute: the answer to `POST /keys` holds the new key's secret, which must
    never be stored for replay, so these routes take no Idempotency-Key; and they need the
    admin scope before their body is read."""

    access_check = staticmethod(check_admin_access)


router = APIRouter(
    prefix="/keys",
    tags=["keys"],
    route_class=KeyRoute,
    dependencies=[Depends(admin_access)],
)


class KeyCreate(InputModel):
    name: str = Field(
        examples=["editor-anna"],
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        description="Unique; letters, digits, `.`, `_` and `-`. Shown in the audit trail.",
    )
    scope: Scope = Field(examples=["write"])


class KeyRead(BaseModel):
    id: str
    name: str
    scope: Scope
    created_at: Timestamp
    revoked_at: str | None


class KeyCreated(KeyRead):
    token: str = Field(description="The key itself. Shown this once; only a hash is kept.")


@router.get(
    "",
    operation_id="keys_list",
    summary="List API keys",
    response_model=list[KeyRead],
)
async def list_keys(db: DbSession) -> Response:
    """Every live key; never the keys themselves. Revoked keys are gone from the API
    (`entente keys list` still shows them). Needs `admin`."""
    return json_response([service.key_json(k) for k in await service.list_keys(db)])


@router.post(
    "",
    operation_id="keys_create",
    summary="Create an API key",
    status_code=201,
    response_model=KeyCreated,
    responses=problems(409),
)
async def create_key(request: Request, db: DbSession, body: KeyCreate) -> Response:
    """Make a key with a scope: `read`, `write` (includes read) or `admin` (includes
    write, and manages keys and reads the audit trail). The `token` is in this response
    only. A revoked key's name is not used again (409): the audit trail names keys.
    Recorded in the audit trail (entity `api_key`, never the token). Needs `admin`."""
    key, token = await service.create_key(db, name=body.name, scope=body.scope)
    content: dict[str, Any] = service.key_json(key) | {"token": token}
    location = f"{request.url.path.rstrip('/')}/{quote(key.name)}"
    return json_response(content, status_code=201, headers={"Location": location})


@router.get(
    "/{name}",
    operation_id="keys_get",
    summary="Get an API key",
    response_model=KeyRead,
    responses=problems(404),
)
async def get_key(
    db: DbSession, name: Annotated[str, Path(description="The key's name.")]
) -> Response:
    """One live key's name, scope and dates (never the key itself); 404 once revoked.
    Needs `admin`."""
    return json_response(service.key_json(await service.get_key(db, name=name)))


@router.delete(
    "/{name}",
    operation_id="keys_revoke",
    summary="Revoke an API key",
    status_code=204,
    responses=problems(404),
)
async def revoke_key(
    db: DbSession, name: Annotated[str, Path(description="The key's name.")]
) -> Response:
    """Revoke a key at once; requests with it get 401 from then on, and it is gone from
    the API (404). Recorded in the audit trail. Needs `admin`."""
    await service.revoke_key(db, name=name)
    return Response(status_code=204)
