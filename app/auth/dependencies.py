"""Who is asking, and may they: the access check every API route runs."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.models import SCOPE_RANK, Scope
from app.auth.ratelimit import RateLimiter, Verdict
from app.auth.service import Caller, caller_for_token
from app.context import current_actor
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
    # Read by presented_key from the headers; declared so that OpenAPI shows the scheme
    # (Swagger UI's Authorize button).
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller | None:
    """The key presented, None when there is none; 401 for a bad one."""
    return await presented_key(request)


CurrentKey = Annotated[Caller | None, Depends(current_key)]
# Where the key a request presented is kept once looked up: the access check runs before
# the body is read (StrictJsonRoute.access_check) and again as the route's dependency.
PRESENTED = "api_key"


async def presented_key(request: Request) -> Caller | None:
    """The live key a request presents, None when it presents none; 400 for a key in the
    URL or two `Authorization` headers, 401 for a bad or unknown key."""
    if hasattr(request.state, PRESENTED):
        key: Caller | None = getattr(request.state, PRESENTED)
        return key
    if KEY_PARAMETERS & request.query_params.keys():
        raise BadRequest("Send API keys in the Authorization header, never in the URL.")
    authorizations = request.headers.getlist("authorization")
    if len(authorizations) > 1:
        # Proxies and frameworks disagree on which of two wins: believe neither.
        raise BadRequest("Send one Authorization header.")
    key = None
    if authorizations:
        scheme, _, token = authorizations[0].partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use `Authorization: Bearer <api key>`.", headers=CHALLENGE)
        # Asked only when a key is presented: anonymous reads (most of the traffic) need
        # no database to be let in. Looked up before the route's own session is opened.
        state = request.app.state
        async with state.read_sessionmaker() as db:
            key = await caller_for_token(db, token.strip())
        if key is None:
            # Wrong keys count against the client's address, so that guessing is throttled.
            anonymous_limit = state.settings.anonymous_rate_limit
            await _limit(request, client_identity(request.client), anonymous_limit)
            raise Unauthorized("The API key is unknown or revoked.", headers=CHALLENGE)
    setattr(request.state, PRESENTED, key)
    return key


async def _check(request: Request, key: Caller | None, needed: Scope) -> None:
    """Count the request against its caller, then let it in or refuse it: refusals are
    counted too, so that they cost a client its allowance like any request."""
    settings = request.app.state.settings
    if key is not None:
        await _limit(request, f"key:{key.id}", settings.rate_limit)
    else:
        await _limit(request, client_identity(request.client), settings.anonymous_rate_limit)
    if key is None and not (needed == Scope.read and settings.public_read):
        raise Unauthorized(f"This needs an API key with the '{needed}' scope.", headers=CHALLENGE)
    if key is not None and SCOPE_RANK[key.scope] < SCOPE_RANK[needed]:
        raise Forbidden(f"The key '{key.name}' lacks the '{needed}' scope.")
    current_actor.set(key.name if key else None)


def client_identity(client: tuple[str, int] | None) -> str:
    """What an anonymous request is counted against: its client's address."""
    return f"ip:{client[0] if client else '-'}"


# Where the verdict on a request is kept once it was counted, so that it is counted once
# whatever the number of access checks it passes (before its body is read, as the
# route's dependency, and an operation's own).
COUNTED = "rate_limit_verdict"


async def _limit(request: Request, identity: str, limit: int) -> None:
    verdict = getattr(request.state, COUNTED, None)
    if verdict is None:
        verdict = await counted(request.app.state.rate_limiter, identity, limit)
        setattr(request.state, COUNTED, verdict)
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


async def check_access(request: Request) -> None:
    """`access`, for a route class to run before the body is read."""
    await access(request, await presented_key(request))


async def check_admin_access(request: Request) -> None:
    """`admin_access`, for a route class to run before the body is read."""
    await admin_access(request, await presented_key(request))
