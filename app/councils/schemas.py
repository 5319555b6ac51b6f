from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from app.councils.models import NO_COUNCIL, CouncilKind, CouncilStatus
from app.schemas import NOT_NULL, InputModel, ReadModel, Timestamp
from app.sources.schemas import SourceRead
from app.types import (
    Acronym,
    CountryList,
    IdList,
    Labels,
    LongText,
    Name,
    PartialDate,
    Slug,
)

BILATERAL_MEMBERS = "A bilateral council has exactly two member countries."


def check_members(kind: CouncilKind | None, members: list[str] | None) -> str | None:
    """What is wrong with a council's membership, if anything."""
    if members is None:
        return None
    if len(set(members)) != len(members):
        return "A country is listed twice."
    if kind == CouncilKind.bilateral and len(members) != 2:
        return BILATERAL_MEMBERS
    if not members:
        return "A council has at least one member country."
    return None


def _not_no_council(slug: str) -> str:
    if slug == NO_COUNCIL:
        raise ValueError(f"'{NO_COUNCIL}' stands for no council in session lists (?council=none).")
    return slug


CouncilSlug = Annotated[Slug, AfterValidator(_not_no_council)]


def members_fit_kind(members: list[str], info: ValidationInfo) -> list[str]:
    if problem := check_members(info.data.get("kind"), members):
        raise ValueError(problem)
    return members


class CouncilCreate(InputModel):
    slug: CouncilSlug = Field(
        examples=["ccqs"], description="Unique; usable in paths instead of the id."
    )
    acronym: Acronym | None = Field(None, examples=["CCQS"])
    name: Name = Field(examples=["Franco-Russian Cooperation Council on Security Issues"])
    names: Labels = Field(
        default_factory=dict,
        examples=[
            {
                "fr": "Conseil de coopération franco-russe sur les questions de sécurité",
                "en": "Franco-Russian Cooperation Council on Security Issues",
            }
        ],
    )
    kind: CouncilKind = Field(examples=["bilateral"])
    member_countries: CountryList = Field(
        examples=[["FR", "RU"]], description="Alpha-2 codes; exactly two for a bilateral council."
    )
    established_on: PartialDate | None = Field(None, examples=["2002-01"])
    founding_context: LongText | None = None
    description: LongText | None = None
    status: CouncilStatus = CouncilStatus.active
    source_ids: IdList = Field(default_factory=list)

    _members_fit_kind = field_validator("member_countries")(members_fit_kind)


class CouncilUpdate(InputModel):
    slug: Annotated[CouncilSlug | None, NOT_NULL] = None
    acronym: Acronym | None = None
    name: Annotated[Name | None, NOT_NULL] = None
    names: Annotated[Labels | None, NOT_NULL] = None
    kind: Annotated[CouncilKind | None, NOT_NULL] = None
    member_countries: Annotated[CountryList | None, NOT_NULL] = None
    established_on: PartialDate | None = None
    founding_context: LongText | None = None
    description: LongText | None = None
    status: Annotated[CouncilStatus | None, NOT_NULL] = None
    source_ids: Annotated[IdList | None, NOT_NULL] = None


class CouncilRead(ReadModel):
    id: str
    slug: str
    acronym: str | None
    name: str
    names: dict[str, str]
    kind: CouncilKind
    member_countries: list[str]
    established_on: str | None
    founding_context: str | None
    description: str | None
    status: CouncilStatus
    source_ids: list[str]
    sources: list[SourceRead]
    created_at: Timestamp
    updated_at: str


class CouncilSummary(ReadModel):
    id: str
    slug: str
    acronym: str | None
    name: str
