from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.ids import new_id

# SQLite gives autoincrement only to an INTEGER PRIMARY KEY.
SEQUENCE_TYPE = BigInteger().with_variant(Integer(), "sqlite")


class Change(Base):
    """One entry of the change feed: a top-level record created, updated or deleted.
    `seq` grows in commit order (see journal/service.py)."""

    __tablename__ = "change"

    seq: Mapped[int] = mapped_column(SEQUENCE_TYPE, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who changed what: one entry per record a write touched, with the changed fields."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_entry_at_id", "at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(100), index=True)
    request_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(10))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(36))
    changes: Mapped[dict[str, dict[str, object]]] = mapped_column(JSON)
