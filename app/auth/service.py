"""API keys: `ent_<key id>_<secret>`, presented as `Authorization: Bearer …`.

The key id finds the stored record; the secret is compared with the stored hash in
constant time. Keys are never accepted in the query string, where they would end up in
logs and browser histories.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Scope
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.journal import service as journal
from app.schemas import rfc3339

PREFIX = "ent"
# The audit trail's name for keys (their creation and revocation are writes like others).
AUDITED_AS = "api_key"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scope": key.scope.value,
        "created_at": rfc3339(key.created_at),
        "revoked_at": rfc3339(key.revoked_at) if key.revoked_at else None,
    }


async def create_key(db: AsyncSession, *, name: str, scope: Scope) -> tuple[ApiKey, str]:
    """A new key and its token, which is shown this once and never stored."""
    revoked = await db.scalar(select(ApiKey.revoked_at).where(ApiKey.name == name))
    if revoked is not None:
        # The audit trail names keys: a name stays its first key's, revoked or not.
        raise Conflict(f"A key named '{name}' was revoked; names are not used again.")
    if await db.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict(f"A key named '{name}' exists already.")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(name=name, scope=scope, secret_hash=_hash(secret))
    db.add(key)
    await db.flush()
    journal.created(db, AUDITED_AS, key_json(key))
    return key, f"{PREFIX}_{key.id}_{secret}"


async def list_keys(db: AsyncSession, *, revoked: bool = False) -> list[ApiKey]:
    """The live keys; the revoked ones too with `revoked` (for `entente keys list`)."""
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(await db.scalars(stmt))


async def get_key(db: AsyncSession, *, name: str) -> ApiKey:
    """A live key by name: a revoked one is gone, as far as the API is concerned."""
    key = await db.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if key is None:
        raise NotFound(f"No key is named '{name}'.")
    return key


async def revoke_key(db: AsyncSession, *, name: str) -> ApiKey:
    key = await get_key(db, name=name)
    before = key_json(key)
    key.revoked_at = utcnow()
    await db.flush()
    journal.updated(db, AUDITED_AS, before, key_json(key))
    return key


@dataclass(frozen=True, slots=True)
class Caller:
    """The live key a request presented."""

    id: str
    name: str
    scope: Scope


LIVE_KEY = select(ApiKey.name, ApiKey.scope, ApiKey.secret_hash).where(
    ApiKey.id == bindparam("key_id"), ApiKey.revoked_at.is_(None)
)


async def caller_for_token(db: AsyncSession, token: str) -> Caller | None:
    """The live key a token names, or None for a malformed, unknown or revoked one."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 36 or not secret:
        return None
    row = (await db.execute(LIVE_KEY, {"key_id": key_id})).first()
    if row is None:
        return None
    name, scope, secret_hash = row
    if not hmac.compare_digest(secret_hash, _hash(secret)):
        return None
    return Caller(id=key_id, name=name, scope=Scope(scope))
