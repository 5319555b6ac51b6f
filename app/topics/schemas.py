from pydantic import Field

from app.schemas import InputModel, ReadModel
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
    slug: Slug | None = None
    name: Name | None = None
    names: Labels | None = None
    parent_id: RecordRef | None = None
    description: LongText | None = None
    countries: CountryList | None = None


class TopicSummary(ReadModel):
    id: str
    slug: str
    name: str
    names: dict[str, str]


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
    created_at: str
    updated_at: str


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
    topic_id: RecordRef | None = None
    position: int | None = Field(None, strict=True, ge=1, le=10_000)
    title: Name | None = None
    note: LongText | None = None
    source_ids: IdList | None = None


class AgendaItemRead(ReadModel):
    id: str
    session_id: str
    topic_id: str
    topic: TopicSummary
    position: int
    title: str | None
    note: str | None
    source_ids: list[str]
    created_at: str
    updated_at: str
