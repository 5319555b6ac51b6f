from pydantic import Field

from app.councils.schemas import CouncilSummary
from app.schemas import DateText, ReadModel
from app.sessions.schemas import PersonSummary, TopicSummary


class YearSessions(ReadModel):
    year: int
    sessions: int


class RelationPerson(ReadModel):
    person: PersonSummary
    delegation: str = Field(description="The country they sat for: one of the two.")
    sessions: int = Field(description="How many of the sessions they attended.")


class RelationTopic(ReadModel):
    topic: TopicSummary
    sessions: int = Field(description="How many of the sessions had it on their agenda.")


class RelationRead(ReadModel):
    """What the sessions between two countries add up to."""

    countries: list[str] = Field(description="The two countries, as the path names them.")
    sessions: int = Field(description="How many sessions had both among their `countries`.")
    first_date: DateText | None = Field(description="The earliest `start_date`; null if none.")
    last_date: DateText | None = Field(description="The latest `start_date`; null if none.")
    by_year: list[YearSessions] = Field(
        description="Sessions by the year of their `start_date`, every year from the first "
        "to the last (those without a session too)."
    )
    by_kind: dict[str, int] = Field(
        description="Sessions by `kind` (`council_session`, `state_visit`, ...), the kinds "
        "that occur."
    )
    councils: list[CouncilSummary] = Field(
        description="The councils, both countries among their members, that held some of "
        "the sessions; by slug."
    )
    people: list[RelationPerson] = Field(
        description="The 20 people who attended most of the sessions for either country; "
        "most first, ties by id."
    )
    topics: list[RelationTopic] = Field(
        description="The 20 topics most of the sessions had on their agenda; most first, "
        "ties by id."
    )


class CountrySummary(ReadModel):
    code: str
    name: str


class Partner(ReadModel):
    country: CountrySummary
    sessions: int = Field(description="How many sessions had both countries among their parties.")
    first_date: DateText = Field(description="The earliest `start_date` of those sessions.")
    last_date: DateText = Field(description="The latest `start_date` of those sessions.")
