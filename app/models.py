"""Every table, imported in one place for Alembic and the tests."""

from app.auth.models import ApiKey
from app.councils.models import Council, CouncilMember
from app.countries.models import Country
from app.db import Base
from app.idempotency.models import IdempotencyRecord
from app.journal.models import AuditEntry, Change
from app.people.models import Office, Participation, Person, PersonIdentifier, PersonOtherName
from app.sessions.models import CouncilSession, Segment, SegmentParticipant
from app.sources.models import Citation, Source
from app.terms.models import SearchTerm
from app.topics.models import AgendaItem, Topic

__all__ = [
    "AgendaItem",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Change",
    "Citation",
    "Council",
    "CouncilMember",
    "CouncilSession",
    "Country",
    "IdempotencyRecord",
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
