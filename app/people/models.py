from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Identified, enum_column
from app.sessions.models import ParticipationRole


class OfficeRole(StrEnum):
    head_of_state = "head_of_state"
    head_of_government = "head_of_government"
    foreign_minister = "foreign_minister"
    defence_minister = "defence_minister"
    minister = "minister"
    ambassador = "ambassador"
    official = "official"
    other = "other"


class Person(Identified, Base):
    """A person (Popolo Person)."""

    __tablename__ = "person"
    __table_args__ = (
        Index("ix_person_name_id", "name", "id"),
        # A search ranks its matches by name: each is joined to its name by the index
        # alone, without reading the row.
        Index("ix_person_id_name", "id", "name"),
    )

    # The dataset's natural key for a person (a slug such as "lavrov"), so that importing
    # the same dataset twice updates the person instead of adding a second one.
    key: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    honorific_prefix: Mapped[str | None] = mapped_column(String(100))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    nationality: Mapped[str | None] = mapped_column(ForeignKey("country.code"), index=True)


class PersonOtherName(Base):
    """Another name of a person: a transliteration, the native script, a former name."""

    __tablename__ = "person_other_name"

    person_id: Mapped[str] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str | None] = mapped_column(String(35))
    note: Mapped[str | None] = mapped_column(String(500))


class PersonIdentifier(Base):
    """An identifier of a person in another scheme (e.g. Wikidata); unique per scheme."""

    __tablename__ = "person_identifier"
    __table_args__ = (UniqueConstraint("scheme", "identifier"),)

    person_id: Mapped[str] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(100))
    identifier: Mapped[str] = mapped_column(String(200))


class Office(Identified, Base):
    """A post held for a period (Popolo Membership + Post, Legistar OfficeRecord)."""

    __tablename__ = "office"

    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    role: Mapped[OfficeRole] = mapped_column(enum_column(OfficeRole, "office_role"))
    country: Mapped[str] = mapped_column(ForeignKey("country.code"))
    organization: Mapped[str | None] = mapped_column(String(500))
    start_date: Mapped[str | None] = mapped_column(String(10))
    end_date: Mapped[str | None] = mapped_column(String(10))


class Participation(Identified, Base):
    """A person at a session, on one side of the table."""

    __tablename__ = "participation"
    # With the delegation (on PostgreSQL): who sat for which side of a session is read from
    # the index alone (the relations of two countries count it over every session between
    # them).
    __table_args__ = (
        UniqueConstraint("session_id", "person_id", postgresql_include=["delegation"]),
    )

    session_id: Mapped[str] = mapped_column(ForeignKey("council_session.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    delegation: Mapped[str] = mapped_column(ForeignKey("country.code"))
    role: Mapped[ParticipationRole] = mapped_column(
        enum_column(ParticipationRole, "participation_role"), default=ParticipationRole.delegate
    )
    office_id: Mapped[str | None] = mapped_column(
        ForeignKey("office.id", ondelete="SET NULL"), index=True
    )
    # False when office_id was derived from the person's offices; such a participation is
    # derived again whenever that person's offices change.
    office_given: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
