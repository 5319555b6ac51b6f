"""Every table, imported in one place for Alembic and the tests."""

from app.councils.models import Council, CouncilMember
from app.countries.models import Country
from app.db import Base
from app.people.models import Office, Participation, Person, PersonIdentifier, PersonOtherName
from app.search.models import SearchTerm
from app.sessions.models import CouncilSession, Segment, SegmentParticipant
from app.sources.models import Citation, Source
from app.topics.models import AgendaItem, Topic

__all__ = [
    "AgendaItem",
    "Base",
    "Citation",
    "Council",
    "CouncilMember",
    "CouncilSession",
    "Country",
    "Office",
    "Participation",
    "Person",
    "PersonIdentifier",
    "PersonOtherName",
    "SearchTerm",
    "Segment",
    "SegmentParticipant",
    "Source",
    "Topic",
]
