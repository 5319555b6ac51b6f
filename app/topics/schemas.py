from typing import Annotated

from pydantic import Field

from app.schemas import NOT_NULL, InputModel, ReadModel, Timestamp
from app.sessions.schemas import TopicSummary
from app.types import CountryList, IdList, Labels, LongText, Name, RecordRef, Slug


class TopicCreate(InputModel):
    slug: Slug = Field(examples=["energy-security"])
    name: Name = Field(examples=["Energy security"])
    names: Labels = Field(default_factory=dict, examples=[{"fr": "Sécurité énergétique"}])
    parent_id: RecordRef | None = Field(
        None, description="The broader topic's id (or slug); null at the root."
    )
    description: LongText | None = None
    countries: CountryList = Field(default_factory=list, examples=[["XK"]])


class TopicUpdate(InputModel):
    slug: Annotated[Slug | None, NOT_NULL] = None
    name: Annotated[Name | None, NOT_NULL] = None
    names: Annotated[Labels | None, NOT_NULL] = None
    parent_id: RecordRef | None = None
    description: LongText | None = None
    countries: Annotated[CountryList | None, NOT_NULL] = None


class TopicRead(ReadModel):
    id: str
    slug: str
    name: str
    names: dict[str, str]
    parent_id: str | None
    description: str | None
    countries: list[str]
    children: list[str]
    path: list[TopicSummary] = Field(
        description="From the root down to this topic itself: its place in the thesaurus."
    )
    created_at: Timestamp
    updated_at: str


Position = Annotated[int, Field(strict=True, ge=1, le=10_000)]


class AgendaItemCreate(InputModel):
    topic_id: RecordRef = Field(description="The topic's id (or slug).")
    position: int | None = Field(
        None,
        strict=True,
        ge=1,
        le=10_000,
        description="1-based; items at and after it move down. Defaults to the end.",
    )
    title: Name | None = Field(None, description="Wording specific to this session.")
    note: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class AgendaItemUpdate(InputModel):
    topic_id: Annotated[RecordRef | None, NOT_NULL] = None
    position: Annotated[Position | None, NOT_NULL] = None
    title: Name | None = None
    note: LongText | None = None
    source_ids: Annotated[IdList | None, NOT_NULL] = None
