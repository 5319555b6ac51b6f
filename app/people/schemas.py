from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from app.identifiers import IdentifierRead, Identifiers
from app.people.models import OfficeRole
from app.schemas import NOT_NULL, InputModel, ReadModel, Timestamp
from app.sessions.models import ParticipationRole
from app.sessions.schemas import PersonSummary
from app.sources.schemas import SourceRead
from app.types import (
    CountryCode,
    IdList,
    Labels,
    LanguageTag,
    LongText,
    Name,
    PartialDate,
    RecordRef,
    ShortText,
    Slug,
    TinyText,
    partial_date_bounds,
)


class OtherName(InputModel):
    name: Name = Field(examples=["Сергей Лавров"])
    lang: LanguageTag | None = Field(None, examples=["ru"])
    note: Name | None = Field(None, examples=["native script"])


OtherNames = Annotated[list[OtherName], Field(max_length=100)]


class PersonCreate(InputModel):
    key: Slug | None = Field(
        None, examples=["lavrov"], description="A slug naming the person in datasets; unique."
    )
    name: Name = Field(examples=["Sergueï Lavrov"])
    honorific_prefix: TinyText | None = Field(None, examples=["Monsieur"])
    given_name: ShortText | None = Field(None, examples=["Sergueï"])
    family_name: ShortText | None = Field(None, examples=["Lavrov"])
    nationality: CountryCode | None = Field(None, examples=["RU"])
    other_names: OtherNames = Field(default_factory=list)
    identifiers: Identifiers = Field(default_factory=list)
    source_ids: IdList = Field(default_factory=list)


class PersonUpdate(InputModel):
    key: Slug | None = None
    name: Annotated[Name | None, NOT_NULL] = None
    honorific_prefix: TinyText | None = None
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    nationality: CountryCode | None = None
    other_names: Annotated[OtherNames | None, NOT_NULL] = None
    identifiers: Annotated[Identifiers | None, NOT_NULL] = None
    source_ids: Annotated[IdList | None, NOT_NULL] = None


class OtherNameRead(ReadModel):
    name: str
    lang: str | None
    note: str | None


def _check_term(end: str | None, info: ValidationInfo) -> str | None:
    start = info.data.get("start_date")
    start_bounds, end_bounds = partial_date_bounds(start), partial_date_bounds(end)
    if start_bounds and end_bounds and end_bounds[1] < start_bounds[0]:
        raise ValueError("end_date is before start_date.")
    return end


class OfficeCreate(InputModel):
    title: Name = Field(examples=["Minister of Foreign Affairs"])
    names: Labels = Field(
        default_factory=dict, examples=[{"fr": "ministre des Affaires étrangères"}]
    )
    role: OfficeRole = Field(OfficeRole.other, examples=["foreign_minister"])
    country: CountryCode = Field(examples=["RU"])
    organization: Name | None = Field(None, examples=["Government of the Russian Federation"])
    start_date: PartialDate | None = Field(None, description="Partial date; null when unknown.")
    end_date: PartialDate | None = Field(
        None, description="Partial date; null while in office or unknown."
    )
    source_ids: IdList = Field(default_factory=list)

    _term = field_validator("end_date")(_check_term)


class OfficeUpdate(InputModel):
    title: Annotated[Name | None, NOT_NULL] = None
    names: Annotated[Labels | None, NOT_NULL] = None
    role: Annotated[OfficeRole | None, NOT_NULL] = None
    country: Annotated[CountryCode | None, NOT_NULL] = None
    organization: Name | None = None
    start_date: PartialDate | None = None
    end_date: PartialDate | None = None
    source_ids: Annotated[IdList | None, NOT_NULL] = None

    _term = field_validator("end_date")(_check_term)


class OfficeRead(ReadModel):
    id: str
    person_id: str
    title: str
    names: dict[str, str]
    role: OfficeRole
    country: str
    organization: str | None
    start_date: str | None
    end_date: str | None
    source_ids: list[str]
    created_at: Timestamp
    updated_at: str


class PersonRead(ReadModel):
    id: str
    key: str | None
    name: str
    honorific_prefix: str | None
    given_name: str | None
    family_name: str | None
    nationality: str | None
    other_names: list[OtherNameRead]
    identifiers: list[IdentifierRead]
    offices: list[OfficeRead]
    source_ids: list[str]
    sources: list[SourceRead]
    created_at: Timestamp
    updated_at: str


class Counterpart(ReadModel):
    person: PersonSummary
    shared_sessions: int
    session_ids: list[str]


class ParticipationCreate(InputModel):
    person_id: RecordRef
    delegation: CountryCode = Field(
        examples=["FR"],
        description="The side they sit on: a member or the host country of the council, or "
        "one of the session's `guest_countries`.",
    )
    role: ParticipationRole = ParticipationRole.delegate
    office_id: RecordRef | None = Field(
        None,
        description="One of the person's offices. When left out, the office the person held "
        "on the session's start date is derived, and derived again when their offices change.",
    )
    segment_ids: IdList = Field(default_factory=list, description="Segments of this session.")
    note: LongText | None = None
    source_ids: IdList = Field(default_factory=list)


class ParticipationUpdate(InputModel):
    delegation: Annotated[CountryCode | None, NOT_NULL] = None
    role: Annotated[ParticipationRole | None, NOT_NULL] = None
    office_id: RecordRef | None = Field(
        None, description="Set to null to derive the office from the date again."
    )
    segment_ids: Annotated[IdList | None, NOT_NULL] = None
    note: LongText | None = None
    source_ids: Annotated[IdList | None, NOT_NULL] = None
