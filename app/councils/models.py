from enum import StrEnum

from sqlalchemy import ColumnElement, ForeignKey, Integer, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Identified, enum_column

# What session lists take for "no council" (`?council=none`): no council may be so named.
NO_COUNCIL = "none"


class CouncilKind(StrEnum):
    bilateral = "bilateral"
    multilateral = "multilateral"


class CouncilStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    dissolved = "dissolved"


class Council(Identified, Base):
    """A standing body that meets in numbered sessions (OParl Body, schema.org EventSeries)."""

    __tablename__ = "council"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    acronym: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(500))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    kind: Mapped[CouncilKind] = mapped_column(enum_column(CouncilKind, "council_kind"))
    established_on: Mapped[str | None] = mapped_column(String(10))
    founding_context: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CouncilStatus] = mapped_column(
        enum_column(CouncilStatus, "council_status"), default=CouncilStatus.active
    )

    @classmethod
    def named(cls, key: str) -> ColumnElement[bool]:
        """The council whose id or slug is `key`: paths and filters accept either."""
        return or_(cls.id == key, cls.slug == key)


class CouncilMember(Base):
    """A member country of a council, kept as rows so that "sessions of councils FR
    belongs to" is an indexed join rather than a scan of JSON arrays."""

    __tablename__ = "council_member"

    council_id: Mapped[str] = mapped_column(
        ForeignKey("council.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(ForeignKey("country.code"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
