from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Identified

# The records that may cite sources, each with its own foreign key column in `citation`,
# so that deleting a record deletes its citations in the database itself.
CITING_ENTITIES = ("council", "session", "person", "office", "participation", "agenda_item")


class Source(Identified, Base):
    """Provenance: a document that records were taken from (Popolo/OCD `sources`)."""

    __tablename__ = "source"

    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(35))
    published_on: Mapped[str | None] = mapped_column(String(10))
    online_on: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)


class Citation(Base):
    """One record citing one source; exactly one of the record columns is set."""

    __tablename__ = "citation"
    __table_args__ = (
        CheckConstraint(
            " + ".join(f"(CASE WHEN {e}_id IS NULL THEN 0 ELSE 1 END)" for e in CITING_ENTITIES)
            + " = 1",
            name="one_record",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    council_id: Mapped[str | None] = mapped_column(
        ForeignKey("council.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("council_session.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[str | None] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), index=True
    )
    participation_id: Mapped[str | None] = mapped_column(
        ForeignKey("participation.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: Mapped[str | None] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True
    )
