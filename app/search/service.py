"""The search index as a whole: every record's terms computed again."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.models import Council
from app.councils.service import index_council
from app.people.models import Person
from app.people.service import index_person
from app.sessions.models import CouncilSession
from app.sessions.service import index_sessions
from app.terms.models import SearchTerm
from app.topics.models import Topic
from app.topics.service import index_topic


async def rebuild_index(db: AsyncSession, *, only_if_empty: bool = False) -> bool:
    """Compute every record's search terms again; True when it did."""
    if only_if_empty and await db.scalar(select(SearchTerm.term).limit(1)) is not None:
        return False
    await db.execute(delete(SearchTerm))
    for person_id in await db.scalars(select(Person.id)):
        await index_person(db, person_id)
    for council_id in await db.scalars(select(Council.id)):
        await index_council(db, council_id)
    for topic_id in await db.scalars(select(Topic.id)):
        await index_topic(db, topic_id)
    await index_sessions(db, await db.scalars(select(CouncilSession.id)))
    return True
