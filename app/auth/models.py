from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, enum_column, utcnow
from app.ids import new_id


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


# Each scope includes the ones before it.
SCOPE_RANK = {Scope.read: 0, Scope.write: 1, Scope.admin: 2}


class ApiKey(Base):
    """An API key. Only a SHA-256 hash of its secret is kept; the key itself is shown once."""

    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    scope: Mapped[Scope] = mapped_column(enum_column(Scope, "key_scope"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
