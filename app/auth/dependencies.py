"""Who is asking, and may they: the access check every API route runs."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.models import SCOPE_RANK, Scope
from app.auth.ratelimit import RateLimiter, Verdict
from app.auth.service import Caller, caller_for_token
from app.context import current_actor
from app.db import DbSession
from app.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key, made with `entente keys create`: `Authorization: Bearer ent_…`.",
)
# Names under which clients might put a key in the URL, where it would leak into logs.
KEY_PARAMETERS = frozenset({"api_key", "apikey", "key", "access_token", "token"})
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="entente"'}


async def current_key(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller | None:
    """The key presented, None when there is none; 401 for a bad one."""
    if KEY_PARAMETERS & request.query_params.keys():
        raise BadRequest("Send API keys in the Authorization header, never in the URL.")
    if "authorization" not in request.headers:
        return None
    if credentials is None:
        raise Unauthorized("Use `Authorization: Bearer <api key>`.", headers=CHALLENGE)
    state = request.app.state
    key = await caller_for_token(db, credentials.credentials)
    if key is None:
        # Wrong keys count against the client's address, so that guessing is throttled.
        await _limit(request, client_identity(request.client), state.settings.anonymous_rate_limit)
        raise Unauthorized("The API key is unknown or revoked.", headers=CHALLENGE)
    return key


CurrentKey = Annotated[Caller | None, Depends(current_key)]


async def _check(request: Request, key: Caller | None, needed: Scope) -> None:
    settings = request.app.state.settings
    if key is None and not (needed == Scope.read and settings.public_read):
        raise Unauthorized(f"This needs an API key with the '{needed}' scope.", headers=CHALLENGE)
    if key is not None and SCOPE_RANK[key.scope] < SCOPE_RANK[needed]:
        raise Forbidden(f"The key '{key.name}' lacks the '{needed}' scope.")
    current_actor.set(key.name if key else None)
    if key is not None:
        await _limit(request, f"key:{key.id}", settings.rate_limit)
    else:
        await _limit(request, client_identity(request.client), settings.anonymous_rate_limit)


def client_identity(client: tuple[str, int] | None) -> str:
    """What an anonymous request is counted against: its client's address."""
    return f"ip:{client[0] if client else '-'}"


async def _limit(request: Request, identity: str, limit: int) -> None:
    verdict = await counted(request.app.state.rate_limiter, identity, limit)
    request.state.rate_limit_headers = verdict.headers()


async def counted(limiter: RateLimiter, identity: str, limit: int) -> Verdict:
    """Count the request against `identity`; 429 past the limit."""
    verdict = await limiter.hit(identity, limit)
    if not verdict.allowed:
        raise TooManyRequests(
            "Too many requests; slow down.",
            headers={**verdict.headers(), "Retry-After": str(verdict.reset)},
        )
    return verdict


async def access(request: Request, key: CurrentKey) -> None:
    """Reads need the `read` scope (or nothing, while reads are public); writes `write`."""
    needed = Scope.read if request.method in ("GET", "HEAD", "OPTIONS") else Scope.write
    await _check(request, key, needed)


async def admin_access(request: Request, key: CurrentKey) -> None:
    await _check(request, key, Scope.admin)
