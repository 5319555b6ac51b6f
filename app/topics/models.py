from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, Text, or_
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Identified


class Topic(Identified, Base):
    """An entry of a reusable thesaurus; `parent_id` makes the broader/narrower tree."""

    __tablename__ = "topic"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    names: Mapped[dict[str, str]] = mapped_column(default=dict)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("topic.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)
    countries: Mapped[list[str]] = mapped_column(default=list)

    @classmethod
    def named(cls, key: str) -> ColumnElement[bool]:
        """The topic whose id or slug is `key`: paths and filters accept either."""
        return or_(cls.id == key, cls.slug == key)


class AgendaItem(Identified, Base):
    """A topic on a session's agenda, at a position (1-based, contiguous)."""

    __tablename__ = "agenda_item"
    # With the topic: a session's topics are read from the index alone (the relations of
    # two countries count them over every session between them).
    __table_args__ = (Index("ix_agenda_item_session_id_topic_id", "session_id", "topic_id"),)

    session_id: Mapped[str] = mapped_column(ForeignKey("council_session.id", ondelete="CASCADE"))
    topic_id: Mapped[str] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
