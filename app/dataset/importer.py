"""Dataset import: an upsert by natural keys, in the caller's transaction.

Each record is compared with what is stored and written only where it differs, through
the same services as the API (so the same rules apply), inside a SAVEPOINT so that one
bad record does not stop the others from being checked. Every problem is collected with
its JSON Pointer into the document; if there is any, the caller rolls everything back.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils import service as councils
from app.councils.models import Council
from app.councils.schemas import CouncilCreate, CouncilUpdate
from app.dataset.exporter import person_key, segment_keys
from app.dataset.schemas import (
    DatasetCouncil,
    DatasetEnvelope,
    DatasetParticipant,
    DatasetPerson,
    DatasetSession,
    DatasetSource,
    DatasetTopic,
)
from app.errors import AppError, ValidationFailed, pointer_for
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
from app.topics.models import Topic
from app.topics.schemas import AgendaItemCreate, TopicCreate, TopicUpdate

Record = TypeVar("Record", bound=BaseModel)


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

    async def record(self, pointer: str, write: Callable[[], Awaitable[None]]) -> None:
        """Write one record in a SAVEPOINT; a failure is noted against `pointer`, the
        record's place in the document, and the import goes on to find the others."""
        try:
            async with self.db.begin_nested():
                await write()
        except AppError as error:
            if error.errors:
                self.errors += [(pointer + sub, message) for sub, message in error.errors]
            else:
                self.errors.append((pointer, error.detail))
        except ValidationError as error:
            self.errors += [
                (pointer + pointer_for(("body", *e["loc"])), e["msg"]) for e in error.errors()
            ]

    def cited(self, urls: list[str], pointer: str) -> list[str]:
        unknown = [
            (f"{pointer}/{i}", f"No source has the URL '{u}'.")
            for i, u in enumerate(urls)
            if u not in self.source_ids
        ]
        if unknown:
            raise ValidationFailed("Unknown source.", errors=unknown)
        return [self.source_ids[url] for url in urls]

    async def parsed(
        self, kind: type[Record], raws: list[dict[str, Any]], name: str
    ) -> list[tuple[int, Record]]:
        """The records of one list that are valid on their own; the others' problems are
        noted with their pointers. Validated off the event loop, which a list of
        thousands would otherwise hold."""
        return await anyio.to_thread.run_sync(self._parsed, kind, raws, name)

    def _parsed(
        self, kind: type[Record], raws: list[dict[str, Any]], name: str
    ) -> list[tuple[int, Record]]:
        valid = []
        for i, raw in enumerate(raws):
            try:
                valid.append((i, kind.model_validate(raw)))
            except ValidationError as error:
                self.errors += [
                    (f"/{name}/{i}" + pointer_for(("body", *e["loc"])), e["msg"])
                    for e in error.errors()
                ]
        return valid

    async def run(self, document: DatasetEnvelope) -> None:
        for i, source in await self.parsed(DatasetSource, document.sources, "sources"):
            await self.record(f"/sources/{i}", partial(self.source, source))
        urls = await self.db.execute(select(Source.url, Source.id))
        self.source_ids = {url: source_id for url, source_id in urls}
        for i, topic in self.parents_first(
            await self.parsed(DatasetTopic, document.topics, "topics")
        ):
            await self.record(f"/topics/{i}", partial(self.topic, topic))
        for i, person in await self.parsed(DatasetPerson, document.persons, "persons"):
            await self.record(f"/persons/{i}", partial(self.person, person))
        for i, council in await self.parsed(DatasetCouncil, document.councils, "councils"):
            await self.record(f"/councils/{i}", partial(self.council, council))
        for i, session in await self.parsed(DatasetSession, document.sessions, "sessions"):
            await self.record(f"/sessions/{i}", partial(self.session, session, f"/sessions/{i}"))
        if self.errors:
            raise ValidationFailed(
                "The dataset has errors; nothing was imported.", errors=self.errors
            )

    @staticmethod
    def parents_first(items: list[tuple[int, DatasetTopic]]) -> list[tuple[int, DatasetTopic]]:
        """Topics ordered so that a parent comes before its children: breadth first from
        the topics whose parent the document does not list, in linear time and without
        recursion, however deep the tree. Topics in a cycle come last, where their
        import reports the unknown parent."""
        slugs = {topic.slug for _, topic in items}
        children: dict[str, list[tuple[int, DatasetTopic]]] = defaultdict(list)
        ordered = []
        for pair in items:
            parent = pair[1].parent
            if parent in slugs and parent != pair[1].slug:
                children[parent].append(pair)
            else:
                ordered.append(pair)
        for _, topic in ordered:  # grows as it goes: each topic's children follow it
            ordered.extend(children.pop(topic.slug, ()))
        return ordered + [pair for cycle in children.values() for pair in cycle]

    async def source(self, item: SourceCreate) -> None:
        existing = await self.db.scalar(select(Source.id).where(Source.url == item.url))
        if existing is None:
            await sources.create_source(self.db, data=item)
        elif diff := changed(await sources.get_source(self.db, existing), jsonable(item)):
            await sources.update_source(self.db, source_id=existing, data=SourceUpdate(**diff))

    async def topic(self, item: DatasetTopic) -> None:
        desired = jsonable(item, exclude={"parent"})
        desired["parent_id"] = None
        if item.parent is not None:
            desired["parent_id"] = await topics.find_topic_id(self.db, item.parent)
            if desired["parent_id"] is None:
                raise ValidationFailed(
                    "Unknown parent.",
                    errors=[("/parent", f"No topic has the slug '{item.parent}'.")],
                )
        existing = await self.db.scalar(select(Topic.id).where(Topic.slug == item.slug))
        if existing is None:
            await topics.create_topic(self.db, data=TopicCreate(**desired))
        elif diff := changed(await topics.get_topic(self.db, existing), desired):
            await topics.update_topic(self.db, topic_id=existing, data=TopicUpdate(**diff))

    async def person(self, item: DatasetPerson) -> None:
        desired = jsonable(item, exclude={"offices", "sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        person_id = await self.find_person(item.key)
        if (
            person_id is not None
            and await self.db.scalar(select(Person.key).where(Person.id == person_id)) is None
        ):
            desired.pop("key")  # keyless, found by the key its export made up: keep it so
        if person_id is None:
            person = await people.create_person(self.db, data=PersonCreate(**desired))
            person_id, stored_offices = person["id"], []
        else:
            current = await people.get_person(self.db, person_id)
            if diff := changed(current, desired):
                await people.update_person(self.db, person_id=person_id, data=PersonUpdate(**diff))
            stored_offices = current["offices"]
        # Offices are matched by title and start: the dataset lists a person's offices whole.
        by_term = {(o["title"], o["start_date"]): o for o in stored_offices}
        kept = set()
        for i, office in enumerate(item.offices):
            wanted = jsonable(office, exclude={"sources"})
            wanted["source_ids"] = self.cited(office.sources, f"/offices/{i}/sources")
            stored = by_term.get((office.title, office.start_date))
            if stored is None:
                made = await people.create_office(
                    self.db, person_id=person_id, data=OfficeCreate(**wanted)
                )
                kept.add(made["id"])
                continue
            kept.add(stored["id"])
            if diff := changed(stored, wanted):
                await people.update_office(
                    self.db, person_id=person_id, office_id=stored["id"], data=OfficeUpdate(**diff)
                )
        for stale in {o["id"] for o in stored_offices} - kept:
            await people.delete_office(self.db, person_id=person_id, office_id=stale)

    async def find_person(self, key: str) -> str | None:
        """The person a dataset key names: by stored key, else (for one exported without a
        key) by the key made from their name and id."""
        person_id = await self.db.scalar(select(Person.id).where(Person.key == key))
        if person_id is not None:
            return person_id
        for keyless in await self.db.scalars(
            select(Person).where(Person.key.is_(None), Person.id.endswith(key[-12:]))
        ):
            if person_key(keyless.id, keyless.name, None) == key:
                return keyless.id
        return None

    async def council(self, item: DatasetCouncil) -> None:
        desired = jsonable(item, exclude={"sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        existing = await self.db.scalar(select(Council.id).where(Council.slug == item.slug))
        if existing is None:
            await councils.create_council(self.db, data=CouncilCreate(**desired))
        elif diff := changed(await councils.get_council(self.db, existing), desired):
            await councils.update_council(self.db, council_id=existing, data=CouncilUpdate(**diff))

    async def session(self, item: DatasetSession, pointer: str) -> None:
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
            segments = [jsonable(s, exclude={"id"}) for s in item.segments]
            current = await sessions.create_session(
                self.db, data=SessionCreate(council_id=council_id, segments=segments, **desired)
            )
        else:
            current = await sessions.get_session_detail(self.db, session_id)
            diff = changed(current, desired)
            # Reads show the default title where none is stored; compare the stored one.
            if (await sessions.require_session(self.db, session_id)).title == item.title:
                diff.pop("title", None)
            if diff:
                current = await sessions.update_session(
                    self.db, session_id=session_id, data=SessionUpdate(**diff)
                )
        # Segments are matched by key (as exported), so they keep their ids and participants.
        keys = segment_keys(current["segments"])
        segment_ids = {key: segment_id for segment_id, key in keys.items()}
        wanted = [
            {**jsonable(s, exclude={"id"}), "id": segment_ids.get(s.key)} for s in item.segments
        ]
        stored = [
            {k: v for k, v in s.items() if k != "participant_ids"} | {"key": keys[s["id"]]}
            for s in current["segments"]
        ]
        if [s | {"id": None} for s in stored] != [s | {"id": None} for s in wanted]:
            current = await sessions.update_session(
                self.db, session_id=current["id"], data=SessionUpdate(segments=wanted)
            )
        await self.participants(item, current, pointer)
        await self.record(f"{pointer}/agenda", partial(self.agenda, item, current))

    async def participants(
        self, item: DatasetSession, current: dict[str, Any], pointer: str
    ) -> None:
        """Participants are matched by person; those the dataset no longer lists go."""
        session = await sessions.require_session(self.db, current["id"])
        segment_ids = {key: id_ for id_, key in segment_keys(current["segments"]).items()}
        stored = {p["person_id"]: p for p in current["participants"]}
        listed: set[str] = set()
        for i, participant in enumerate(item.participants):
            write = partial(self.participant, participant, session, stored, segment_ids, listed)
            await self.record(f"{pointer}/participants/{i}", write)
        for person_id, have in stored.items():
            if person_id not in listed:
                await people.delete_participation(
                    self.db, session_id=session.id, participation_id=have["id"]
                )

    async def participant(
        self,
        item: DatasetParticipant,
        session: CouncilSession,
        stored: dict[str, dict[str, Any]],
        segment_ids: dict[str, str],
        listed: set[str],
    ) -> None:
        person_id = await self.find_person(item.person)
        if person_id is None:
            raise ValidationFailed(
                "Unknown person.", errors=[("/person", f"No person has the key '{item.person}'.")]
            )
        listed.add(person_id)
        office_id = None
        if item.office_title is not None:
            office_id = await self.db.scalar(
                select(Office.id).where(
                    Office.person_id == person_id, Office.title == item.office_title
                )
            )
            if office_id is None:
                raise ValidationFailed(
                    "Unknown office.",
                    errors=[("/office_title", f"The person has no office '{item.office_title}'.")],
                )
        unknown = [
            (f"/segments/{i}", f"The session has no segment '{key}'.")
            for i, key in enumerate(item.segments)
            if key not in segment_ids
        ]
        if unknown:
            raise ValidationFailed("Unknown segment.", errors=unknown)
        wanted = {
            "delegation": item.delegation,
            "role": item.role.value,
            "segment_ids": [segment_ids[key] for key in item.segments],
            "note": item.note,
            "source_ids": self.cited(item.sources, "/sources"),
        }
        have = stored.get(person_id)
        if have is None:
            await people.create_participation(
                self.db,
                session=session,
                data=ParticipationCreate(person_id=person_id, office_id=office_id, **wanted),
            )
            return
        diff = changed(have, wanted)
        participation = await self.db.get_one(Participation, have["id"])
        given = participation.office_id if participation.office_given else None
        if given != office_id:
            diff["office_id"] = office_id
        if diff:
            await people.update_participation(
                self.db,
                session=session,
                participation_id=have["id"],
                data=ParticipationUpdate(**diff),
            )

    async def agenda(self, item: DatasetSession, current: dict[str, Any]) -> None:
        """The agenda is compared whole, and written again when it differs."""
        wanted: list[dict[str, Any]] = []
        errors = []
        for i, entry in sorted(enumerate(item.agenda), key=lambda pair: pair[1].position):
            topic_id = await topics.find_topic_id(self.db, entry.topic)
            if topic_id is None:
                errors.append((f"/{i}/topic", f"No topic has the slug '{entry.topic}'."))
                continue
            wanted.append(
                {
                    "topic_id": topic_id,
                    "title": entry.title,
                    "note": entry.note,
                    "source_ids": self.cited(entry.sources, f"/{i}/sources"),
                }
            )
        if errors:
            raise ValidationFailed("Unknown topics.", errors=errors)
        keys = ("topic_id", "title", "note", "source_ids")
        if [{k: a[k] for k in keys} for a in current["agenda"]] == wanted:
            return
        for stale in current["agenda"]:
            await topics.delete_agenda_item(self.db, session_id=current["id"], item_id=stale["id"])
        for fields in wanted:
            await topics.create_agenda_item(
                self.db, session_id=current["id"], data=AgendaItemCreate(**fields)
            )


async def import_document(db: AsyncSession, document: Any) -> None:
    """Import a parsed JSON document; 422 listing every problem, and nothing written, if
    anything is wrong."""
    try:
        envelope = DatasetEnvelope.model_validate(document)
    except ValidationError as error:
        raise ValidationFailed(
            "The document is not an entente-dataset.",
            errors=[(pointer_for(("body", *e["loc"])), e["msg"]) for e in error.errors()],
        ) from None
    await Importer(db).run(envelope)
