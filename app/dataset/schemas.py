"""The dataset document that `POST /import` takes and `GET /export` gives: records refer
to each other by natural keys (slugs, person keys, URLs), never by ids."""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from app.councils.models import CouncilKind, CouncilStatus
from app.councils.schemas import CouncilSlug, members_fit_kind
from app.people.models import OfficeRole
from app.schemas import InputModel
from app.sessions.models import ParticipationRole, SessionKind, SessionStatus
from app.sessions.schemas import Location, Ordinal, SegmentInput, SessionSlug, Timezone
from app.sources.schemas import SourceCreate
from app.types import (
    Acronym,
    CountryCode,
    CountryList,
    EventDate,
    Labels,
    LanguageTag,
    LongText,
    Name,
    PartialDate,
    ShortText,
    Slug,
    TinyText,
    Url,
)

SourceUrls = Annotated[list[Url], Field(max_length=200)]


class DatasetSource(SourceCreate):
    pass


class DatasetTopic(InputModel):
    slug: Slug
    name: Name
    names: Labels = Field(default_factory=dict)
    parent: Slug | None = None
    description: LongText | None = None
    countries: CountryList = Field(default_factory=list)


class DatasetOtherName(InputModel):
    name: Name
    lang: LanguageTag | None = None
    note: Name | None = None


class DatasetIdentifier(InputModel):
    scheme: TinyText
    identifier: ShortText


class DatasetOffice(InputModel):
    title: Name
    names: Labels = Field(default_factory=dict)
    role: OfficeRole = OfficeRole.other
    country: CountryCode
    organization: Name | None = None
    start_date: PartialDate | None = None
    end_date: PartialDate | None = None
    sources: SourceUrls = Field(default_factory=list)


class DatasetPerson(InputModel):
    key: Slug
    name: Name
    honorific_prefix: TinyText | None = None
    given_name: ShortText | None = None
    family_name: ShortText | None = None
    nationality: CountryCode | None = None
    other_names: list[DatasetOtherName] = Field(default_factory=list, max_length=100)
    identifiers: list[DatasetIdentifier] = Field(default_factory=list, max_length=50)
    offices: list[DatasetOffice] = Field(default_factory=list, max_length=100)
    sources: SourceUrls = Field(default_factory=list)


class DatasetCouncil(InputModel):
    slug: CouncilSlug
    acronym: Acronym | None = None
    name: Name
    names: Labels = Field(default_factory=dict)
    kind: CouncilKind
    member_countries: CountryList
    established_on: PartialDate | None = None
    founding_context: LongText | None = None
    description: LongText | None = None
    status: CouncilStatus = CouncilStatus.active
    sources: SourceUrls = Field(default_factory=list)

    _members_fit_kind = field_validator("member_countries")(members_fit_kind)


class DatasetSegment(SegmentInput):
    id: None = Field(None, exclude=True)
    key: Slug


class DatasetParticipant(InputModel):
    person: Slug = Field(description="The person's key in this dataset.")
    delegation: CountryCode
    role: ParticipationRole = ParticipationRole.delegate
    office_title: Name | None = Field(
        None,
        description="The title of one of the person's offices; derived from the date when absent.",
    )
    segments: list[Slug] = Field(default_factory=list, max_length=100)
    note: LongText | None = None
    sources: SourceUrls = Field(default_factory=list)


class DatasetAgendaItem(InputModel):
    topic: Slug
    position: int = Field(strict=True, ge=1, le=10_000)
    title: Name | None = None
    note: LongText | None = None
    sources: SourceUrls = Field(default_factory=list)


class DatasetSession(InputModel):
    """A session of a council (`council`, and `ordinal` or `start_date`, name it), or a
    meeting outside councils (no `council`; `slug` names it, and it carries `kind` and
    `countries`). `slug` and `identifiers` may be left out: the session's stored ones are
    then kept."""

    council: Slug | None = Field(
        None, description="The council's slug; none for a meeting outside councils."
    )
    slug: SessionSlug | None = Field(
        None, description="Names the session in datasets; required for a meeting outside councils."
    )
    kind: SessionKind | None = Field(
        None, description="For a meeting outside councils; `council_session` or none otherwise."
    )
    countries: CountryList | None = Field(
        None,
        description="The parties of a meeting outside councils (at least two); none for a "
        "council's session, whose parties are its council's members and its guest_countries.",
    )
    identifiers: list[DatasetIdentifier] = Field(default_factory=list, max_length=50)
    ordinal: Ordinal | None = None
    title: Name | None = None
    start_date: EventDate
    end_date: EventDate | None = None
    timezone: Timezone | None = None
    location: Location | None = None
    host_country: CountryCode | None = None
    guest_countries: CountryList = Field(default_factory=list)
    status: SessionStatus | None = None
    summary: LongText | None = None
    segments: list[DatasetSegment] = Field(default_factory=list, max_length=100)
    participants: list[DatasetParticipant] = Field(default_factory=list, max_length=1000)
    agenda: list[DatasetAgendaItem] = Field(default_factory=list, max_length=1000)
    sources: SourceUrls = Field(default_factory=list)


Records = Annotated[list[dict[str, Any]], Field(max_length=100_000)]


class DatasetEnvelope(InputModel):
    """The document as the importer first reads it: records are checked one by one later,
    so that every problem in every record can be reported at once."""

    format: Literal["entente-dataset"]
    version: Literal[1]
    sources: Records = Field(default_factory=list)
    countries: list[dict[str, str]] | None = None
    topics: Records = Field(default_factory=list)
    persons: Records = Field(default_factory=list)
    councils: Records = Field(default_factory=list)
    sessions: Records = Field(default_factory=list)


class Dataset(InputModel):
    """The dataset format, record by record (published as a JSON Schema)."""

    format: Literal["entente-dataset"]
    version: Literal[1]
    sources: list[DatasetSource] = Field(default_factory=list)
    countries: list[dict[str, str]] | None = Field(
        None, description="Accepted for symmetry with exports; countries are ISO reference data."
    )
    topics: list[DatasetTopic] = Field(default_factory=list)
    persons: list[DatasetPerson] = Field(default_factory=list)
    councils: list[DatasetCouncil] = Field(default_factory=list)
    sessions: list[DatasetSession] = Field(default_factory=list)
