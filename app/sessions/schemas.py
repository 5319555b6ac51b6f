import re
from datetime import date
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from app.councils.schemas import CouncilSummary
from app.identifiers import IdentifierRead, Identifiers
from app.schemas import NOT_NULL, DateText, InputModel, ReadModel, Timestamp
from app.sessions.models import (
    ParticipationRole,
    PartOfDay,
    SegmentKind,
    SessionKind,
    SessionStatus,
)
from app.sources.schemas import SourceRead
from app.types import (
    CountryCode,
    CountryList,
    EventDate,
    IdList,
    LongText,
    Name,
    RecordRef,
    ShortText,
    Slug,
)

TIMEZONES = frozenset(available_timezones())

Ordinal = Annotated[int, Field(strict=True, ge=1, le=100_000, examples=[6])]
Timezone = Annotated[
    str, StringConstraints(strict=True, max_length=64), Field(examples=["Europe/Moscow"])
]


_ID_SHAPED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _not_id_shaped(slug: str) -> str:
    # Paths take a session's id or its slug: a slug shaped like an id could name two.
    if _ID_SHAPED.match(slug):
        raise ValueError("A slug cannot have the shape of an id.")
    return slug


SessionSlug = Annotated[
    Slug,
    AfterValidator(_not_id_shaped),
    Field(
        examples=["1966-06-de-gaulle-ussr"],
        description="Unique among sessions; usable in paths instead of the id.",
    ),
]
# At least two parties (checked with the rest of a meeting's rules, so that the message
# can say what a council session's countries are).
Parties = Annotated[
    CountryList,
    Field(
        examples=[["FR", "SUHH"]],
        description="The parties. Given for a meeting outside a council (at least two); "
        "derived for a council session (its members, then its guest_countries).",
    ),
]
MeetingKind = Annotated[
    SessionKind,
    Field(
        examples=["state_visit"],
        description="`council_session` exactly when the session has a council (set by the "
        "service); one of the others for a meeting outside councils.",
    ),
]


def _check_timezone(value: str | None) -> str | None:
    if value is not None and value not in TIMEZONES:
        raise ValueError(f"'{value}' is not an IANA time zone such as 'Europe/Moscow'.")
    return value


class Location(InputModel):
    city: ShortText | None = Field(None, examples=["Moscow"])
    country: CountryCode | None = Field(None, examples=["RU"])
    venue: Name | None = None


class SegmentInput(InputModel):
    id: RecordRef | None = Field(
        None, description="On update: the id of an existing segment to keep (and its participants)."
    )
    key: Slug | None = Field(
        None, examples=["plenary"], description="A name unique within the session, for datasets."
    )
    kind: SegmentKind = Field(examples=["plenary"])
    format: ShortText | None = Field(None, examples=["2+2"])
    title: Name | None = None
    date: EventDate | None = Field(None, description="Within the session's dates.")
    part_of_day: PartOfDay | None = None
    description: LongText | None = None


Segments = Annotated[list[SegmentInput], Field(max_length=100)]


class SessionCreate(InputModel):
    """A council's session (`council_id`), or a meeting outside councils (`kind`,
    `countries` and `title` instead)."""

    council_id: RecordRef | None = Field(
        None,
        description="The council's id (its slug is accepted too); none for a meeting "
        "outside councils.",
        examples=["ccqs"],
    )
    kind: MeetingKind | None = None
    countries: Parties | None = None
    slug: SessionSlug | None = None
    identifiers: Identifiers = Field(
        default_factory=list,
        description="Its numbers in other registers; a `(scheme, identifier)` pair names "
        "one session (409 when another has it).",
    )
    ordinal: Ordinal | None = Field(
        None, description="1-based number, unique within the council; a council's sessions only."
    )
    title: Name | None = Field(
        None,
        description='Defaults to "6th session of the CCQS" from the ordinal and acronym; '
        "required for a meeting outside councils.",
    )
    start_date: EventDate = Field(examples=["2007-02-21"])
    end_date: EventDate | None = Field(None, description="Defaults to `start_date`.")
    timezone: Timezone | None = None
    location: Location | None = None
    host_country: CountryCode | None = Field(None, examples=["RU"])
    guest_countries: CountryList = Field(
        default_factory=list,
        description="Countries invited besides the members: their people may sit as a delegation.",
    )
    status: SessionStatus | None = Field(
        None, description="Defaults to `held` when the session has ended, else `planned`."
    )
    summary: LongText | None = None
    segments: Segments = Field(default_factory=list)
    source_ids: IdList = Field(default_factory=list)

    _timezone = field_validator("timezone")(_check_timezone)

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if end is not None and start is not None and end < start:
            raise ValueError("end_date is before start_date.")
        return end


class SessionUpdate(InputModel):
    kind: Annotated[MeetingKind | None, NOT_NULL] = None
    countries: Annotated[Parties | None, NOT_NULL] = None
    slug: SessionSlug | None = None
    identifiers: Annotated[Identifiers | None, NOT_NULL] = None
    ordinal: Ordinal | None = None
    title: Name | None = None
    start_date: Annotated[EventDate | None, NOT_NULL] = None
    end_date: Annotated[EventDate | None, NOT_NULL] = None
    timezone: Timezone | None = None
    location: Location | None = None
    host_country: CountryCode | None = None
    guest_countries: Annotated[CountryList | None, NOT_NULL] = None
    status: Annotated[SessionStatus | None, NOT_NULL] = None
    summary: LongText | None = None
    segments: Annotated[Segments | None, NOT_NULL] = Field(
        None,
        description="Replaces the segments: listed ones with an `id` are kept and changed, "
        "others are added, unlisted ones are deleted.",
    )
    source_ids: Annotated[IdList | None, NOT_NULL] = None

    _timezone = field_validator("timezone")(_check_timezone)


class LocationRead(ReadModel):
    city: str | None
    country: str | None
    venue: str | None


class SegmentRead(ReadModel):
    id: str
    key: str | None
    kind: SegmentKind
    format: str | None
    title: str | None
    date: DateText | None
    part_of_day: PartOfDay | None
    description: str | None
    participant_ids: list[str]


class PersonSummary(ReadModel):
    id: str
    name: str
    nationality: str | None


class ParticipationRead(ReadModel):
    id: str
    session_id: str
    person_id: str
    person: PersonSummary
    delegation: str
    role: ParticipationRole
    office_id: str | None
    title_at_time: str | None
    segment_ids: list[str]
    note: str | None
    source_ids: list[str]
    created_at: Timestamp
    updated_at: str


class TopicSummary(ReadModel):
    id: str
    slug: str
    name: str
    names: dict[str, str]


class AgendaItemRead(ReadModel):
    id: str
    session_id: str
    topic_id: str
    topic: TopicSummary
    position: int
    title: str | None
    note: str | None
    source_ids: list[str]
    created_at: Timestamp
    updated_at: str


class SessionSummary(ReadModel):
    """A session as lists show it: without segments, participants and agenda."""

    id: str
    kind: SessionKind
    slug: str | None
    council_id: str | None
    council: CouncilSummary | None
    countries: list[str]
    identifiers: list[IdentifierRead]
    ordinal: int | None
    title: str
    start_date: DateText
    end_date: DateText
    timezone: str | None
    location: LocationRead
    host_country: str | None
    guest_countries: list[str]
    status: SessionStatus
    summary: str | None
    source_ids: list[str]
    created_at: Timestamp
    updated_at: str


class SessionRead(SessionSummary):
    """A session with everything it embeds."""

    segments: list[SegmentRead]
    participants: list[ParticipationRead]
    agenda: list[AgendaItemRead]
    previous_session_id: str | None
    next_session_id: str | None
    sources: list[SourceRead]


class ParticipationBrief(ReadModel):
    id: str
    delegation: str
    role: str
    title_at_time: str | None


class PersonSession(SessionSummary):
    """A session a person attended, and how they took part."""

    participation: ParticipationBrief


class TimelineEntry(ReadModel):
    session_id: str
    ordinal: int | None
    start_date: DateText
    end_date: DateText
    host_country: str | None
    location: LocationRead
    days_since_previous: int | None = Field(
        description="Days from the previous session's start to this one's; null for the first."
    )
    participant_count: int
    agenda_item_count: int
