import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Identified, enum_column

# Sorting by ordinal puts unnumbered sessions last: they sort as this number. PostgreSQL
# has an index on this expression (migration 0005), which the models cannot declare in a
# way Alembic compares on every database, so migrations/env.py leaves it out of `check`.
UNNUMBERED = 2_147_483_647
ORDINAL_INDEX = "ix_council_session_ordinal_key"


class ParticipationRole(StrEnum):
    principal = "principal"
    delegate = "delegate"
    host = "host"
    guest = "guest"
    observer = "observer"


class SessionKind(StrEnum):
    """What a meeting is: a council's session, or a meeting outside any council."""

    council_session = "council_session"
    state_visit = "state_visit"
    official_visit = "official_visit"
    working_visit = "working_visit"
    private_visit = "private_visit"
    visit = "visit"
    summit = "summit"
    ministerial_meeting = "ministerial_meeting"
    other = "other"


class SessionStatus(StrEnum):
    planned = "planned"
    held = "held"
    postponed = "postponed"
    cancelled = "cancelled"


class SegmentKind(StrEnum):
    restricted = "restricted"
    plenary = "plenary"
    audience = "audience"
    bilateral_meeting = "bilateral_meeting"
    press_conference = "press_conference"
    working_meal = "working_meal"
    signing = "signing"
    other = "other"


class PartOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    evening = "evening"


class CouncilSession(Identified, Base):
    """One diplomatic meeting (OParl Meeting): a session of a council, or a meeting outside
    any council (a state visit, a summit). Not "Session", which is SQLAlchemy's."""

    __tablename__ = "council_session"
    __table_args__ = (
        UniqueConstraint("council_id", "ordinal"),
        CheckConstraint("end_date >= start_date", name="ends_after_start"),
        CheckConstraint("ordinal >= 1", name="ordinal_positive"),
        CheckConstraint(
            "(council_id IS NULL) = (kind <> 'council_session')", name="kind_fits_council"
        ),
        CheckConstraint("council_id IS NOT NULL OR ordinal IS NULL", name="numbered_in_council"),
        Index("ix_council_session_start_date_id", "start_date", "id"),
        Index("ix_council_session_council_id_start_date_id", "council_id", "start_date", "id"),
        Index("ix_council_session_updated_at", "updated_at"),
    )

    council_id: Mapped[str | None] = mapped_column(ForeignKey("council.id", ondelete="CASCADE"))
    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind, "session_kind"), index=True)
    slug: Mapped[str | None] = mapped_column(String(100), unique=True)
    ordinal: Mapped[int | None] = mapped_column(Integer)
    # Null means "the default title", rendered from the ordinal and the council's acronym
    # on read, so that it follows a renamed council.
    title: Mapped[str | None] = mapped_column(String(500))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    timezone: Mapped[str | None] = mapped_column(String(64))
    location_city: Mapped[str | None] = mapped_column(String(200))
    location_country: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    location_venue: Mapped[str | None] = mapped_column(String(500))
    host_country: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)
    guest_countries: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[SessionStatus] = mapped_column(enum_column(SessionStatus, "session_status"))
    summary: Mapped[str | None] = mapped_column(Text)


class SessionCountry(Base):
    """A party to a session, kept as rows for every session (a council session's are
    derived from its council's members and its guests) so that "the sessions of FR and
    RU" and a country's partners are indexed joins."""

    __tablename__ = "session_country"
    __table_args__ = (Index("ix_session_country_country_session_id", "country", "session_id"),)

    session_id: Mapped[str] = mapped_column(
        ForeignKey("council_session.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(ForeignKey("country.code"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class SessionIdentifier(Base):
    """An identifier of a session in another register (a ministry's list of visits); a
    pair names one session, so that the register imports again without doubles."""

    __tablename__ = "session_identifier"
    __table_args__ = (UniqueConstraint("scheme", "identifier"),)

    session_id: Mapped[str] = mapped_column(
        ForeignKey("council_session.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(100))
    identifier: Mapped[str] = mapped_column(String(200))


class Segment(Base):
    """A part of a session with its own format (schema.org subEvent)."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("session_id", "key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("council_session.id", ondelete="CASCADE"), index=True
    )
    # A name for the segment unique within its session ("plenary"), by which datasets
    # refer to it.
    key: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SegmentKind] = mapped_column(enum_column(SegmentKind, "segment_kind"))
    format: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    date: Mapped[dt.date | None] = mapped_column(Date)
    part_of_day: Mapped[PartOfDay | None] = mapped_column(enum_column(PartOfDay, "part_of_day"))
    description: Mapped[str | None] = mapped_column(Text)


class SegmentParticipant(Base):
    __tablename__ = "segment_participant"

    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    participation_id: Mapped[str] = mapped_column(
        ForeignKey("participation.id", ondelete="CASCADE"), primary_key=True, index=True
    )
