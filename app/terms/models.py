from sqlalchemy import Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

# Byte order, so that the range `word <= term < bound` is a prefix match that the B-tree
# index serves on PostgreSQL whatever the database's locale (SQLite compares bytes anyway).
TERM_TYPE = String(100).with_variant(String(100, collation="C"), "postgresql")


class SearchTerm(Base):
    """One searchable word (its skeleton, see normalize.py) of a council, session, person
    or topic. `weight` 1 marks words of the record's name or title, which rank first."""

    __tablename__ = "search_term"
    # The prefix range of a word, with what a search reads of each term (`label` too,
    # by which a person search orders its matches), so that the index alone answers it.
    __table_args__ = (
        Index(
            "ix_search_term_lookup",
            "entity",
            "term",
            "record_id",
            "weight",
            postgresql_include=["label"],
        ),
    )

    entity: Mapped[str] = mapped_column(String(20), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    term: Mapped[str] = mapped_column(TERM_TYPE, primary_key=True)
    weight: Mapped[int] = mapped_column(SmallInteger)
    # A person's name, by which a person search orders the matches of a rank: there, it
    # spares joining each match to its person, a fifth of the search's database time.
    label: Mapped[str | None] = mapped_column(String(500))
