"""Dataset import: an upsert by natural keys, in the caller's transaction.

Each record is compared with what is stored and written only where it differs, through
the same services as the API (so the same rules apply), inside a SAVEPOINT so that one
bad record does not stop the others from being checked. Every problem is collected with
its JSON Pointer into the document; if there is any, the caller rolls everything back.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils import service as councils
from app.councils.models import Council
from app.councils.schemas import CouncilCreate, CouncilUpdate
from app.dataset.schemas import (
    Dataset,
    DatasetCouncil,
    DatasetPerson,
    DatasetSession,
    DatasetTopic,
)
from app.errors import AppError, ValidationFailed
from app.people import service as people
from app.people.models import Office, Participation, Person
from app.people.schemas import (
    OfficeCreate,
    OfficeUpdate,
    ParticipationCreate,
    ParticipationUpdate,
    PersonCreate,
    PersonUpdate,
)
from app.sessions import service as sessions
from app.sessions.models import CouncilSession
from app.sessions.schemas import SessionCreate, SessionUpdate
from app.sources import service as sources
from app.sources.models import Source
from app.sources.schemas import SourceCreate, SourceUpdate
from app.topics import service as topics
from app.topics.models import AgendaItem, Topic
from app.topics.schemas import AgendaItemCreate, TopicCreate, TopicUpdate


def changed(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The desired fields whose value differs from the stored one."""
    return {k: v for k, v in desired.items() if current.get(k) != v}


def jsonable(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude=exclude)


class Importer:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.errors: list[tuple[str, str]] = []
        self.source_ids: dict[str, str] = {}

    async def record(
        self, pointer: str, write: Callable[[Any], Awaitable[None]], item: Any
    ) -> None:
        """Write one record in a SAVEPOINT; a failure is noted against `pointer`."""
        try:
            async with self.db.begin_nested():
                await write(item)
        except AppError as error:
            if error.errors:
                self.errors += [(pointer + sub, message) for sub, message in error.errors]
            else:
                self.errors.append((pointer, error.detail))

    def cited(self, urls: list[str], pointer: str) -> list[str]:
        ids = []
        for i, url in enumerate(urls):
            if url in self.source_ids:
                ids.append(self.source_ids[url])
            else:
                raise ValidationFailed(
                    "Unknown source.",
                    errors=[(f"{pointer}/{i}", f"No source has the URL '{url}'.")],
                )
        return ids

    async def run(self, dataset: Dataset) -> None:
        for i, source in enumerate(dataset.sources):
            await self.record(f"/sources/{i}", self.source, source)
        self.source_ids = {
            url: id_ for url, id_ in await self.db.execute(select(Source.url, Source.id))
        }
        for i, topic in self.parents_first(dataset.topics):
            await self.record(f"/topics/{i}", self.topic, topic)
        for i, person in enumerate(dataset.persons):
            await self.record(f"/persons/{i}", self.person, person)
        for i, council in enumerate(dataset.councils):
            await self.record(f"/councils/{i}", self.council, council)
        for i, session in enumerate(dataset.sessions):
            await self.record(f"/sessions/{i}", self.session, session)
        if self.errors:
            raise ValidationFailed(
                "The dataset has errors; nothing was imported.", errors=self.errors
            )

    @staticmethod
    def parents_first(items: list[DatasetTopic]) -> list[tuple[int, DatasetTopic]]:
        """Topics ordered so that a parent comes before its children."""
        by_slug = {t.slug: t for t in items}
        ordered: list[tuple[int, DatasetTopic]] = []
        placed: set[str] = set()

        def depth(topic: DatasetTopic, seen: frozenset[str] = frozenset()) -> int:
            parent = by_slug.get(topic.parent or "")
            if parent is None or topic.slug in seen:
                return 0
            return 1 + depth(parent, seen | {topic.slug})

        for i, topic in sorted(enumerate(items), key=lambda pair: depth(pair[1])):
            if topic.slug not in placed:
                ordered.append((i, topic))
                placed.add(topic.slug)
        return ordered

    async def source(self, item: SourceCreate) -> None:
        existing = await self.db.scalar(select(Source.id).where(Source.url == item.url))
        if existing is None:
            await sources.create_source(self.db, data=item)
            return
        diff = changed(await sources.get_source(self.db, existing), jsonable(item))
        if diff:
            await sources.update_source(self.db, source_id=existing, data=SourceUpdate(**diff))

    async def topic(self, item: DatasetTopic) -> None:
        desired = jsonable(item, exclude={"parent"})
        if item.parent is not None:
            parent_id = await topics.find_topic_id(self.db, item.parent)
            if parent_id is None:
                raise ValidationFailed(
                    "Unknown parent.",
                    errors=[("/parent", f"No topic has the slug '{item.parent}'.")],
                )
            desired["parent_id"] = parent_id
        else:
            desired["parent_id"] = None
        existing = await self.db.scalar(select(Topic.id).where(Topic.slug == item.slug))
        if existing is None:
            await topics.create_topic(self.db, data=TopicCreate(**desired))
            return
        diff = changed(await topics.get_topic(self.db, existing), desired)
        if diff:
            await topics.update_topic(self.db, topic_id=existing, data=TopicUpdate(**diff))

    async def person(self, item: DatasetPerson) -> None:
        desired = jsonable(item, exclude={"offices", "sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        person_id = await self.db.scalar(select(Person.id).where(Person.key == item.key))
        if person_id is None:
            person_id = await people.create_person(self.db, data=PersonCreate(**desired))
            current_offices: list[dict[str, Any]] = []
        else:
            current = await people.get_person(self.db, person_id)
            if diff := changed(current, desired):
                await people.update_person(self.db, person_id=person_id, data=PersonUpdate(**diff))
            current_offices = current["offices"]
        by_term = {(o["title"], o["start_date"]): o for o in current_offices}
        kept = set()
        for i, office in enumerate(item.offices):
            wanted = jsonable(office, exclude={"sources"})
            wanted["source_ids"] = self.cited(office.sources, f"/offices/{i}/sources")
            stored = by_term.get((office.title, office.start_date))
            if stored is None:
                kept.add(
                    await people.create_office(
                        self.db, person_id=person_id, data=OfficeCreate(**wanted)
                    )
                )
            else:
                kept.add(stored["id"])
                if diff := changed(stored, wanted):
                    await people.update_office(
                        self.db,
                        person_id=person_id,
                        office_id=stored["id"],
                        data=OfficeUpdate(**diff),
                    )
        for stale in {o["id"] for o in current_offices} - kept:
            await people.delete_office(self.db, person_id=person_id, office_id=stale)

    async def council(self, item: DatasetCouncil) -> None:
        desired = jsonable(item, exclude={"sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        existing = await self.db.scalar(select(Council.id).where(Council.slug == item.slug))
        if existing is None:
            await councils.create_council(self.db, data=CouncilCreate(**desired))
            return
        diff = changed(await councils.get_council(self.db, existing), desired)
        if diff:
            await councils.update_council(self.db, council_id=existing, data=CouncilUpdate(**diff))

    async def session(self, item: DatasetSession) -> None:
        council_id = await self.db.scalar(select(Council.id).where(Council.slug == item.council))
        if council_id is None:
            raise ValidationFailed(
                "Unknown council.",
                errors=[("/council", f"No council has the slug '{item.council}'.")],
            )
        natural_key = (
            CouncilSession.ordinal == item.ordinal
            if item.ordinal is not None
            else (CouncilSession.ordinal.is_(None)) & (CouncilSession.start_date == item.start_date)
        )
        session_id = await self.db.scalar(
            select(CouncilSession.id).where(CouncilSession.council_id == council_id, natural_key)
        )
        desired = jsonable(
            item, exclude={"council", "segments", "participants", "agenda", "sources"}
        )
        desired["end_date"] = desired["end_date"] or desired["start_date"]
        desired["location"] = desired["location"] or {"city": None, "country": None, "venue": None}
        desired["source_ids"] = self.cited(item.sources, "/sources")
        if desired["status"] is None:
            desired["status"] = sessions.default_status(item.end_date or item.start_date).value
        if session_id is None:
            session_id = await sessions.create_session(
                self.db, data=SessionCreate(council_id=council_id, **desired)
            )
            current = await sessions.get_session_detail(self.db, session_id)
        else:
            current = await sessions.get_session_detail(self.db, session_id)
            diff = changed(current, desired)
            # Reads show the default title where none is stored; compare the stored one.
            stored = await sessions.require_session(self.db, session_id)
            if stored.title == item.title:
                diff.pop("title", None)
            if diff:
                await sessions.update_session(
                    self.db, session_id=session_id, data=SessionUpdate(**diff)
                )
        # Segments: matched by key, so that they keep their ids and participants.
        segment_ids = {s["key"]: s["id"] for s in current["segments"] if s["key"]}
        wanted_segments = [
            {**jsonable(s, exclude={"id"}), "id": segment_ids.get(s.key)} for s in item.segments
        ]
        stored_segments = [
            {k: v for k, v in s.items() if k != "participant_ids"} for s in current["segments"]
        ]
        if [{**s, "id": None} for s in stored_segments] != [
            {**s, "id": None} for s in wanted_segments
        ]:
            await sessions.update_session(
                self.db, session_id=session_id, data=SessionUpdate(segments=wanted_segments)
            )
            current = await sessions.get_session_detail(self.db, session_id)
            segment_ids = {s["key"]: s["id"] for s in current["segments"] if s["key"]}
        await self.participants(item, session_id, current, segment_ids)
        await self.agenda(item, session_id, current)

    async def participants(
        self,
        item: DatasetSession,
        session_id: str,
        current: dict[str, Any],
        segment_ids: dict[str, str],
    ) -> None:
        session = await sessions.require_session(self.db, session_id)
        stored = {p["person_id"]: p for p in current["participants"]}
        listed = set()
        for i, participant in enumerate(item.participants):
            pointer = f"/participants/{i}"
            person_id = await self.db.scalar(
                select(Person.id).where(Person.key == participant.person)
            )
            if person_id is None:
                raise ValidationFailed(
                    "Unknown person.",
                    errors=[
                        (f"{pointer}/person", f"No person has the key '{participant.person}'.")
                    ],
                )
            listed.add(person_id)
            office_id = None
            if participant.office_title is not None:
                office_id = await self.db.scalar(
                    select(Office.id).where(
                        Office.person_id == person_id, Office.title == participant.office_title
                    )
                )
                if office_id is None:
                    raise ValidationFailed(
                        "Unknown office.",
                        errors=[
                            (
                                f"{pointer}/office_title",
                                f"The person has no office '{participant.office_title}'.",
                            )
                        ],
                    )
            unknown = [s for s in participant.segments if s not in segment_ids]
            if unknown:
                raise ValidationFailed(
                    "Unknown segment.",
                    errors=[(f"{pointer}/segments", f"The session has no segment '{unknown[0]}'.")],
                )
            wanted = {
                "delegation": participant.delegation,
                "role": participant.role.value,
                "segment_ids": [segment_ids[s] for s in participant.segments],
                "note": participant.note,
                "source_ids": self.cited(participant.sources, f"{pointer}/sources"),
            }
            have = stored.get(person_id)
            if have is None:
                await people.create_participation(
                    self.db,
                    session=session,
                    data=ParticipationCreate(person_id=person_id, office_id=office_id, **wanted),
                )
                continue
            diff = changed(have, wanted)
            given = await self.db.get(Participation, have["id"])
            if given is not None and (
                given.office_given,
                given.office_id if given.office_given else None,
            ) != (office_id is not None, office_id):
                diff["office_id"] = office_id
            if diff:
                await people.update_participation(
                    self.db,
                    session=session,
                    participation_id=have["id"],
                    data=ParticipationUpdate(**diff),
                )
        for person_id, have in stored.items():
            if person_id not in listed:
                await people.delete_participation(
                    self.db, session_id=session_id, participation_id=have["id"]
                )

    async def agenda(self, item: DatasetSession, session_id: str, current: dict[str, Any]) -> None:
        wanted: list[dict[str, Any]] = []
        for i, entry in sorted(enumerate(item.agenda), key=lambda pair: pair[1].position):
            topic_id = await topics.find_topic_id(self.db, entry.topic)
            if topic_id is None:
                raise ValidationFailed(
                    "Unknown topic.",
                    errors=[(f"/agenda/{i}/topic", f"No topic has the slug '{entry.topic}'.")],
                )
            wanted.append(
                {
                    "topic_id": topic_id,
                    "title": entry.title,
                    "note": entry.note,
                    "source_ids": self.cited(entry.sources, f"/agenda/{i}/sources"),
                }
            )
        stored = [
            {k: a[k] for k in ("topic_id", "title", "note", "source_ids")}
            for a in current["agenda"]
        ]
        if stored == wanted:
            return
        await self.db.execute(delete(AgendaItem).where(AgendaItem.session_id == session_id))
        for fields in wanted:
            await topics.create_agenda_item(
                self.db, session_id=session_id, data=AgendaItemCreate(**fields)
            )


async def import_dataset(db: AsyncSession, dataset: Dataset) -> None:
    await Importer(db).run(dataset)
