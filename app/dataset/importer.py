"""Dataset import: an upsert by natural keys, in the caller's transaction.

Each record is compared with what is stored. New records are written a batch at a time
through the services' functions that create many at once, which check each record by
the rules of the API and journal and index it as the API does; records that differ are
updated one by one through the same services, each in a SAVEPOINT so that one bad record
does not stop the others from being checked. Every problem is collected with its JSON
Pointer into the document; if there is any, the caller rolls everything back, and once
there is one, the participants and agenda items left are only checked, not written.
"""

import gc
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, ValidationError
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.councils import service as councils
from app.councils.models import Council
from app.councils.schemas import CouncilCreate, CouncilUpdate
from app.dataset.exporter import person_key, segment_keys, session_key
from app.dataset.schemas import (
    DatasetAgendaItem,
    DatasetCouncil,
    DatasetEnvelope,
    DatasetOffice,
    DatasetParticipant,
    DatasetPerson,
    DatasetSession,
    DatasetSource,
    DatasetTopic,
)
from app.db import in_chunks, plan_for_bulk_work
from app.errors import AppError, Refusals, ValidationFailed, pointer_for
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
T = TypeVar("T")

# New records written at once: a batch of sessions, then their participants and agendas.
BATCH = 1000
# Fields of a session that a dataset may leave out to keep the stored value (v1.1).
KEPT_WHEN_ABSENT = ("slug", "identifiers")


def changed(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The desired fields whose value differs from the stored one."""
    return {k: v for k, v in desired.items() if current.get(k) != v}


def jsonable(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude=exclude)


def batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Wanted:
    """A record to create: where it is in the document, the service's input, and what the
    service needs with it (the session a participant sits at, ...)."""

    pointer: str
    data: Any
    context: Any = None


@dataclass
class SessionPlan:
    """A session of the document, with the id of the stored session it names (if any)."""

    index: int
    item: DatasetSession
    council_id: str | None
    session_id: str | None = None

    @property
    def pointer(self) -> str:
        return f"/sessions/{self.index}"


class Importer:
    def __init__(self, db: AsyncSession, *, batch: int = BATCH) -> None:
        self.db = db
        self.batch = batch
        self.errors: list[tuple[str, str]] = []
        self.source_ids: dict[str, str] = {}
        self.person_ids: dict[str, str] = {}

    # ------------------------------------------------------------ problems

    def note(self, pointer: str, error: Exception) -> None:
        """Note what is wrong with the record at `pointer`, the record's place in the
        document."""
        if isinstance(error, ValidationError):
            self.errors += [
                (pointer + pointer_for(("body", *e["loc"])), e["msg"]) for e in error.errors()
            ]
        elif isinstance(error, AppError) and error.errors:
            self.errors += [(pointer + sub, message) for sub, message in error.errors]
        elif isinstance(error, AppError):
            self.errors.append((pointer, error.detail))
        else:
            raise error

    def refused(self, pointers: Sequence[str], refusals: Refusals) -> None:
        for place, errors in refusals.items():
            for error in errors:
                self.note(pointers[place], error)

    async def record(self, pointer: str, write: Callable[[], Awaitable[None]]) -> None:
        """Write one record in a SAVEPOINT; a failure is noted against `pointer` and the
        import goes on to find the others."""
        try:
            async with self.db.begin_nested():
                await write()
        except (AppError, ValidationError) as error:
            self.note(pointer, error)

    def cited(self, urls: list[str], pointer: str) -> list[str]:
        unknown = [
            (f"{pointer}/{i}", f"No source has the URL '{u}'.")
            for i, u in enumerate(urls)
            if u not in self.source_ids
        ]
        if unknown:
            raise ValidationFailed("Unknown source.", errors=unknown)
        return [self.source_ids[url] for url in urls]

    def made(self, pointer: str, make: Callable[[], T]) -> T | None:
        """A service's input made from a record of the document; None, with its problems
        noted, when it cannot be made."""
        try:
            return make()
        except (AppError, ValidationError) as error:
            self.note(pointer, error)
            return None

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
                self.note(f"/{name}/{i}", error)
        return valid

    # ------------------------------------------------------------ the document

    async def run(self, document: DatasetEnvelope) -> None:
        for i, source in await self.parsed(DatasetSource, document.sources, "sources"):
            await self.record(f"/sources/{i}", partial(self.source, source))
        urls = await self.db.execute(select(Source.url, Source.id))
        self.source_ids = {url: source_id for url, source_id in urls}
        for i, topic in self.parents_first(
            await self.parsed(DatasetTopic, document.topics, "topics")
        ):
            await self.record(f"/topics/{i}", partial(self.topic, topic))
        await self.persons(await self.parsed(DatasetPerson, document.persons, "persons"))
        for i, council in await self.parsed(DatasetCouncil, document.councils, "councils"):
            await self.record(f"/councils/{i}", partial(self.council, council))
        await self.sessions(await self.parsed(DatasetSession, document.sessions, "sessions"))
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

    def listed_twice(self, items: Iterable[tuple[str, Any]], noun: str) -> set[str]:
        """The pointers of records that name the same record as one before them (each
        given with its natural key), each noted as a problem."""
        first: dict[Any, str] = {}
        doubles = set()
        for pointer, key in items:
            if key in first:
                self.errors.append(
                    (pointer, f"The dataset lists this {noun} twice ({first[key]}).")
                )
                doubles.add(pointer)
            first.setdefault(key, pointer)
        return doubles

    # ------------------------------------------------------------ sources, topics, councils

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

    async def council(self, item: DatasetCouncil) -> None:
        desired = jsonable(item, exclude={"sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        existing = await self.db.scalar(select(Council.id).where(Council.slug == item.slug))
        if existing is None:
            await councils.create_council(self.db, data=CouncilCreate(**desired))
        elif diff := changed(await councils.get_council(self.db, existing), desired):
            await councils.update_council(self.db, council_id=existing, data=CouncilUpdate(**diff))

    # ------------------------------------------------------------ persons

    async def persons(self, items: list[tuple[int, DatasetPerson]]) -> None:
        """New persons are created a batch at a time, with their offices; stored ones are
        compared, and updated where they differ."""
        doubles = self.listed_twice(((f"/persons/{i}/key", p.key) for i, p in items), "person")
        items = [(i, p) for i, p in items if f"/persons/{i}/key" not in doubles]
        found = await self.find_persons([p.key for _, p in items])
        self.person_ids.update(found)
        new = [(i, p) for i, p in items if p.key not in found]
        for chunk in batches(new, self.batch):
            await self.create_persons(chunk)
        stored = [(i, p) for i, p in items if p.key in found]
        for chunk in batches(stored, self.batch):
            documents = await people.get_persons(self.db, [found[p.key] for _, p in chunk])
            for i, person in chunk:
                document = documents[found[person.key]]
                if self.person_differs(person, document):
                    write = partial(self.update_person, person, document)
                    await self.record(f"/persons/{i}", write)

    def person_fields(self, item: DatasetPerson) -> dict[str, Any]:
        desired = jsonable(item, exclude={"offices", "sources"})
        desired["source_ids"] = self.cited(item.sources, "/sources")
        return desired

    def office_fields(self, office: DatasetOffice, pointer: str) -> dict[str, Any]:
        wanted = jsonable(office, exclude={"sources"})
        wanted["source_ids"] = self.cited(office.sources, f"{pointer}/sources")
        return wanted

    async def create_persons(self, chunk: Sequence[tuple[int, DatasetPerson]]) -> None:
        wanted = []
        for i, person in chunk:
            data = self.made(f"/persons/{i}", partial(self.person_create, person))
            if data is not None:
                wanted.append(Wanted(f"/persons/{i}", data, person))
        created, refusals = await people.create_persons(self.db, items=[w.data for w in wanted])
        self.refused([w.pointer for w in wanted], refusals)
        offices = []
        for place, document in created.items():
            pointer, person = wanted[place].pointer, wanted[place].context
            self.person_ids[person.key] = document["id"]
            for k, office in enumerate(person.offices):
                office_data = self.made(pointer, partial(self.office_create, office, k))
                if office_data is not None:
                    offices.append(Wanted(f"{pointer}/offices/{k}", office_data, document["id"]))
        _, refusals = await people.create_offices(
            self.db, items=[(w.context, w.data) for w in offices]
        )
        self.refused([w.pointer for w in offices], refusals)

    def person_create(self, person: DatasetPerson) -> PersonCreate:
        return PersonCreate(**self.person_fields(person))

    def office_create(self, office: DatasetOffice, place: int) -> OfficeCreate:
        return OfficeCreate(**self.office_fields(office, f"/offices/{place}"))

    def person_differs(self, item: DatasetPerson, current: dict[str, Any]) -> bool:
        """Whether a stored person (or their offices) differs from the dataset's; True when
        the dataset's has problems, which writing it reports."""
        try:
            desired = self.person_fields(item)
            if current["key"] is None:
                desired.pop("key")
            by_term = {(o["title"], o["start_date"]): o for o in current["offices"]}
            offices = [
                (by_term.get((office.title, office.start_date)), self.office_fields(office, ""))
                for office in item.offices
            ]
        except AppError:
            return True
        matched = {stored["id"] for stored, _ in offices if stored is not None}
        return (
            bool(changed(current, desired))
            or len(matched) != len(current["offices"])
            or any(stored is None or changed(stored, wanted) for stored, wanted in offices)
        )

    async def update_person(self, item: DatasetPerson, current: dict[str, Any]) -> None:
        desired = self.person_fields(item)
        person_id = current["id"]
        if current["key"] is None:
            desired.pop("key")  # keyless, found by the key its export made up: keep it so
        if diff := changed(current, desired):
            await people.update_person(self.db, person_id=person_id, data=PersonUpdate(**diff))
        # Offices are matched by title and start: the dataset lists a person's offices whole.
        stored_offices = current["offices"]
        by_term = {(o["title"], o["start_date"]): o for o in stored_offices}
        kept = set()
        for i, office in enumerate(item.offices):
            wanted = self.office_fields(office, f"/offices/{i}")
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

    async def find_persons(self, keys: Sequence[str]) -> dict[str, str]:
        """The ids of the stored persons that dataset keys name, by key: by stored key,
        else (for one exported without a key) by the key made from their name and id."""
        found: dict[str, str] = {}
        for chunk in in_chunks(keys):
            rows = await self.db.execute(select(Person.key, Person.id).where(Person.key.in_(chunk)))
            found.update({key: person_id for key, person_id in rows if key is not None})
        if len(found) < len(set(keys)):
            keyless = await self.db.execute(
                select(Person.id, Person.name).where(Person.key.is_(None))
            )
            made_up = {person_key(person_id, name, None): person_id for person_id, name in keyless}
            found.update({key: made_up[key] for key in keys if key in made_up})
        return found

    # ------------------------------------------------------------ sessions

    async def sessions(self, items: list[tuple[int, DatasetSession]]) -> None:
        """New sessions are created a batch at a time, then their participants and their
        agendas; stored ones are compared, and updated where they differ."""
        council_ids = dict((await self.db.execute(select(Council.slug, Council.id))).all())
        plans = []
        for i, item in items:
            if item.council is not None and item.council not in council_ids:
                self.errors.append(
                    (f"/sessions/{i}/council", f"No council has the slug '{item.council}'.")
                )
            elif item.council is None and item.slug is None:
                self.errors.append(
                    (f"/sessions/{i}/slug", "A meeting outside councils is named by its slug.")
                )
            else:
                plans.append(SessionPlan(i, item, council_ids.get(item.council or "")))
        await self.find_sessions(plans)
        doubles = self.listed_twice(
            ((self.key_pointer(p), p.session_id or self.natural_key(p)) for p in plans), "session"
        )
        plans = [p for p in plans if self.key_pointer(p) not in doubles]
        new = [p for p in plans if p.session_id is None]
        stored = [p for p in plans if p.session_id is not None]
        for chunk in batches(new, self.batch):
            await self.create_sessions(chunk)
        for chunk in batches(stored, self.batch):
            await self.update_sessions(chunk)

    @staticmethod
    def natural_key(plan: SessionPlan) -> tuple[Any, ...]:
        item = plan.item
        if item.slug is not None:
            return ("slug", item.slug)
        if item.ordinal is not None:
            return (plan.council_id, item.ordinal)
        return (plan.council_id, None, item.start_date)

    @staticmethod
    def key_pointer(plan: SessionPlan) -> str:
        item = plan.item
        name = "slug" if item.slug else "ordinal" if item.ordinal is not None else "start_date"
        return f"{plan.pointer}/{name}"

    async def find_sessions(self, plans: Sequence[SessionPlan]) -> None:
        """The stored session each plan names (`session_id`): by slug when the dataset
        gives one, including a slug made up by an export for a meeting without one; else,
        or when no session has the slug, by council and ordinal (or start date)."""
        S = CouncilSession
        slugs: dict[str, str] = {}
        for chunk in in_chunks(p.item.slug for p in plans if p.item.slug is not None):
            rows = await self.db.execute(select(S.slug, S.id).where(S.slug.in_(chunk)))
            slugs.update({slug: session_id for slug, session_id in rows if slug is not None})
        if any(p.item.slug not in slugs for p in plans if p.council_id is None):
            keyless = await self.db.execute(
                select(S.id, S.title).where(S.slug.is_(None), S.council_id.is_(None))
            )
            for session_id, title in keyless:
                slugs.setdefault(session_key(session_id, title or "", None), session_id)
        numbered: dict[tuple[str | None, int | None], str] = {}
        unnumbered: dict[tuple[str | None, Any], str] = {}
        for chunk in in_chunks(p.council_id for p in plans if p.council_id is not None):
            keyed = await self.db.execute(
                select(S.id, S.council_id, S.ordinal, S.start_date).where(S.council_id.in_(chunk))
            )
            for session_id, council_id, ordinal, start_date in keyed:
                if ordinal is None:
                    unnumbered.setdefault((council_id, start_date), session_id)
                else:
                    numbered[(council_id, ordinal)] = session_id
        for plan in plans:
            item = plan.item
            if item.slug is not None and item.slug in slugs:
                plan.session_id = slugs[item.slug]
            elif plan.council_id is not None and item.ordinal is not None:
                plan.session_id = numbered.get((plan.council_id, item.ordinal))
            elif plan.council_id is not None:
                plan.session_id = unnumbered.get((plan.council_id, item.start_date))

    def session_fields(self, plan: SessionPlan) -> dict[str, Any]:
        """The fields of a session as the dataset wants them stored."""
        item = plan.item
        absent = {f for f in KEPT_WHEN_ABSENT if f not in item.model_fields_set}
        if plan.council_id is not None:
            absent |= {f for f in ("kind", "countries") if getattr(item, f) is None}
        desired = jsonable(
            item,
            exclude={"council", "segments", "participants", "agenda", "sources", *absent},
        )
        desired["end_date"] = desired["end_date"] or desired["start_date"]
        desired["location"] = desired["location"] or {"city": None, "country": None, "venue": None}
        desired["source_ids"] = self.cited(item.sources, "/sources")
        if desired["status"] is None:
            desired["status"] = sessions.default_status(item.end_date or item.start_date).value
        return desired

    async def create_sessions(self, plans: Sequence[SessionPlan]) -> None:
        wanted = []
        for plan in plans:
            make = partial(self.session_create, plan)
            data = self.made(plan.pointer, make)
            if data is not None:
                wanted.append(Wanted(plan.pointer, data, plan))
        created, refusals = await sessions.create_sessions(self.db, items=[w.data for w in wanted])
        self.refused([w.pointer for w in wanted], refusals)
        made = []
        for place, document in created.items():
            plan = wanted[place].context
            plan.session_id = document["id"]
            made.append((plan, document))
        await self.write_parts(made)

    def session_create(self, plan: SessionPlan) -> SessionCreate:
        segments = [jsonable(s, exclude={"id"}) for s in plan.item.segments]
        fields = self.session_fields(plan)
        return SessionCreate(council_id=plan.council_id, segments=segments, **fields)

    async def update_sessions(self, plans: Sequence[SessionPlan]) -> None:
        ids = [p.session_id for p in plans if p.session_id is not None]
        documents = await sessions.get_session_details(self.db, ids)
        titles: dict[str, str | None] = {}
        for chunk in in_chunks(ids):
            rows = await self.db.execute(
                select(CouncilSession.id, CouncilSession.title).where(CouncilSession.id.in_(chunk))
            )
            titles.update({session_id: title for session_id, title in rows})
        made = []
        for plan in plans:
            assert plan.session_id is not None
            current: list[dict[str, Any]] = [documents[plan.session_id]]
            if self.session_differs(plan, current[0], titles[plan.session_id]):
                await self.record(plan.pointer, partial(self.update_session, plan, current))
            made.append((plan, current[0]))
        await self.write_parts(made)

    def session_differs(
        self, plan: SessionPlan, document: dict[str, Any], stored_title: str | None
    ) -> bool:
        """Whether a stored session (or its segments) differs from the dataset's; True when
        the dataset's has problems, which writing it reports."""
        try:
            diff = self.session_changes(plan, document, stored_title)
        except AppError:
            return True
        return bool(diff) or self.segments_wanted(plan, document) is not None

    def session_changes(
        self, plan: SessionPlan, document: dict[str, Any], stored_title: str | None
    ) -> dict[str, Any]:
        """The fields of a stored session that the dataset changes."""
        desired = self.session_fields(plan)
        if document["slug"] is None and desired.get("slug") == session_key(
            document["id"], document["title"], None
        ):
            desired.pop("slug")  # keyless, found by the slug its export made up: keep it so
        diff = changed(document, desired)
        # Reads show the default title where none is stored; compare the stored one.
        if stored_title == plan.item.title:
            diff.pop("title", None)
        return diff

    @staticmethod
    def segments_wanted(plan: SessionPlan, document: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The segments to write, when they differ from the stored ones. Segments are
        matched by key (as exported), so they keep their ids and participants."""
        keys = segment_keys(document["segments"])
        segment_ids = {key: segment_id for segment_id, key in keys.items()}
        wanted = [
            {**jsonable(s, exclude={"id"}), "id": segment_ids.get(s.key)}
            for s in plan.item.segments
        ]
        stored = [
            {k: v for k, v in s.items() if k != "participant_ids"} | {"key": keys[s["id"]]}
            for s in document["segments"]
        ]
        if [s | {"id": None} for s in stored] == [s | {"id": None} for s in wanted]:
            return None
        return wanted

    async def update_session(self, plan: SessionPlan, current: list[dict[str, Any]]) -> None:
        """Update a stored session where it differs; `current` holds its document, and
        is given the new one."""
        document = current[0]
        stored_title = (await sessions.require_session(self.db, document["id"])).title
        if diff := self.session_changes(plan, document, stored_title):
            document = await sessions.update_session(
                self.db, session_id=document["id"], data=SessionUpdate(**diff)
            )
        if (segments := self.segments_wanted(plan, document)) is not None:
            document = await sessions.update_session(
                self.db, session_id=document["id"], data=SessionUpdate(segments=segments)
            )
        current[0] = document

    # ------------------------------------------------------------ participants and agendas

    async def write_parts(self, made: Sequence[tuple[SessionPlan, dict[str, Any]]]) -> None:
        """The participants and agendas of sessions just created or compared (each with its
        document): new participants and agenda items a batch at a time, the others
        compared and written one by one."""
        if not made:
            return
        S = CouncilSession
        loaded = {}
        for chunk in in_chunks(plan.session_id for plan, _ in made):
            loaded.update(
                {s.id: s for s in await self.db.scalars(select(S).where(S.id.in_(chunk)))}
            )
        await self.resolve_persons([p.person for plan, _ in made for p in plan.item.participants])
        offices = await self.office_ids(made)
        given = await self.given_offices([d["id"] for _, d in made if d["participants"]])
        new_participants: list[Wanted] = []
        for plan, document in made:
            session = loaded[document["id"]]
            new_participants += await self.participants(plan, document, session, offices, given)
        seats = [(w.context, w.data) for w in new_participants]
        if self.errors:
            # The import is refused already: participants and agenda items are checked,
            # not written, as nothing else in the import reads them.
            refusals = await people.check_participations(self.db, items=seats)
        else:
            _, refusals = await people.create_participations(self.db, items=seats)
        self.refused([w.pointer for w in new_participants], refusals)
        topic_ids = dict((await self.db.execute(select(Topic.slug, Topic.id))).all())
        new_items: list[Wanted] = []
        for plan, document in made:
            agenda = self.agenda(plan, document, topic_ids)
            if agenda is None:
                continue
            if document["agenda"]:
                write = partial(self.replace_agenda, plan, document, agenda)
                await self.record(f"{plan.pointer}/agenda", write)
            else:
                new_items += agenda
        entries = [(w.context, w.data) for w in new_items]
        if self.errors:
            refusals = await topics.check_agenda_items(self.db, items=entries)
        else:
            _, refusals = await topics.create_agenda_items(self.db, items=entries)
        self.refused([w.pointer for w in new_items], refusals)

    async def resolve_persons(self, keys: Sequence[str]) -> None:
        """Find the stored persons that participants name but the dataset does not list."""
        missing = [key for key in keys if key not in self.person_ids]
        if missing:
            self.person_ids.update(await self.find_persons(missing))

    async def office_ids(
        self, made: Sequence[tuple[SessionPlan, dict[str, Any]]]
    ) -> dict[tuple[str, str], str]:
        """The ids of the offices that participants name by title, by (person, title)."""
        named = {
            self.person_ids[p.person]
            for plan, _ in made
            for p in plan.item.participants
            if p.office_title is not None and p.person in self.person_ids
        }
        offices: dict[tuple[str, str], str] = {}
        for chunk in in_chunks(named):
            rows = await self.db.execute(
                select(Office.person_id, Office.title, Office.id)
                .where(Office.person_id.in_(chunk))
                .order_by(Office.id.desc())
            )
            offices.update({(person_id, title): id_ for person_id, title, id_ in rows})
        return offices

    async def given_offices(self, session_ids: Sequence[str]) -> dict[str, str | None]:
        """The office given to each stored participant of the sessions (None where it is
        derived), by participation id."""
        given: dict[str, str | None] = {}
        for chunk in in_chunks(session_ids):
            rows = await self.db.execute(
                select(Participation.id, Participation.office_id, Participation.office_given).where(
                    Participation.session_id.in_(chunk)
                )
            )
            given.update({p_id: office if is_given else None for p_id, office, is_given in rows})
        return given

    async def participants(
        self,
        plan: SessionPlan,
        document: dict[str, Any],
        session: CouncilSession,
        offices: dict[tuple[str, str], str],
        given: dict[str, str | None],
    ) -> list[Wanted]:
        """Participants are matched by person; those the dataset no longer lists go. The
        new ones are returned, to be created with others."""
        segment_ids = {key: id_ for id_, key in segment_keys(document["segments"]).items()}
        stored = {p["person_id"]: p for p in document["participants"]}
        listed: set[str] = set()
        new = []
        for i, participant in enumerate(plan.item.participants):
            pointer = f"{plan.pointer}/participants/{i}"
            wanted = self.made(
                pointer, partial(self.participation, participant, segment_ids, offices)
            )
            if wanted is None:
                continue
            listed.add(wanted.person_id)
            have = stored.get(wanted.person_id)
            if have is None:
                new.append(Wanted(pointer, wanted, session))
            elif diff := self.participant_changes(wanted, have, given.get(have["id"])):
                write = partial(self.update_participant, diff, have, session)
                await self.record(pointer, write)
        for person_id, have in stored.items():
            if person_id not in listed:
                await people.delete_participation(
                    self.db, session_id=session.id, participation_id=have["id"]
                )
        return new

    def participation(
        self,
        item: DatasetParticipant,
        segment_ids: dict[str, str],
        offices: dict[tuple[str, str], str],
    ) -> ParticipationCreate:
        person_id = self.person_ids.get(item.person)
        if person_id is None:
            raise ValidationFailed(
                "Unknown person.", errors=[("/person", f"No person has the key '{item.person}'.")]
            )
        office_id = None
        if item.office_title is not None:
            office_id = offices.get((person_id, item.office_title))
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
        return ParticipationCreate(
            person_id=person_id,
            office_id=office_id,
            delegation=item.delegation,
            role=item.role,
            segment_ids=[segment_ids[key] for key in item.segments],
            note=item.note,
            source_ids=self.cited(item.sources, "/sources"),
        )

    @staticmethod
    def participant_changes(
        wanted: ParticipationCreate, have: dict[str, Any], given_office: str | None
    ) -> dict[str, Any]:
        diff = changed(have, jsonable(wanted, exclude={"person_id", "office_id"}))
        if given_office != wanted.office_id:
            diff["office_id"] = wanted.office_id
        return diff

    async def update_participant(
        self, diff: dict[str, Any], have: dict[str, Any], session: CouncilSession
    ) -> None:
        await people.update_participation(
            self.db,
            session=session,
            participation_id=have["id"],
            data=ParticipationUpdate(**diff),
        )

    def agenda(
        self, plan: SessionPlan, document: dict[str, Any], topic_ids: dict[str, str]
    ) -> list[Wanted] | None:
        """The agenda items the dataset wants, in order; None when the stored agenda is
        that already, or when the dataset's has problems (noted)."""
        pointer = f"{plan.pointer}/agenda"
        wanted: list[Wanted] = []
        for i, entry in sorted(enumerate(plan.item.agenda), key=lambda pair: pair[1].position):
            topic_id = topic_ids.get(entry.topic)
            if topic_id is None:
                self.errors.append(
                    (f"{pointer}/{i}/topic", f"No topic has the slug '{entry.topic}'.")
                )
                continue
            data = self.made(f"{pointer}/{i}", partial(self.agenda_item, entry, topic_id))
            if data is not None:
                wanted.append(Wanted(f"{pointer}/{i}", data, document["id"]))
        if len(wanted) < len(plan.item.agenda):
            return None
        keys = ("topic_id", "title", "note", "source_ids")
        stored = [{k: a[k] for k in keys} for a in document["agenda"]]
        if stored == [{k: getattr(w.data, k) for k in keys} for w in wanted]:
            return None
        return wanted

    def agenda_item(self, entry: DatasetAgendaItem, topic_id: str) -> AgendaItemCreate:
        return AgendaItemCreate(
            topic_id=topic_id,
            title=entry.title,
            note=entry.note,
            source_ids=self.cited(entry.sources, "/sources"),
        )

    async def replace_agenda(
        self, plan: SessionPlan, document: dict[str, Any], agenda: list[Wanted]
    ) -> None:
        """An agenda that differs is written again whole."""
        for stale in document["agenda"]:
            await topics.delete_agenda_item(self.db, session_id=document["id"], item_id=stale["id"])
        _, refusals = await topics.create_agenda_items(
            self.db, items=[(w.context, w.data) for w in agenda]
        )
        refusals.raise_first()


async def import_document(db: AsyncSession, document: Any, *, batch: int = BATCH) -> None:
    """Import a parsed JSON document; 422 listing every problem, and nothing written, if
    anything is wrong. New records are written `batch` sessions (or persons) at a time:
    with 1, in the order of the document, record by record."""
    try:
        envelope = DatasetEnvelope.model_validate(document)
    except ValidationError as error:
        raise ValidationFailed(
            "The document is not an entente-dataset.",
            errors=[(pointer_for(("body", *e["loc"])), e["msg"]) for e in error.errors()],
        ) from None
    pause_cycle_collection(db)
    await plan_for_bulk_work(db)
    await Importer(db, batch=batch).run(envelope)


_pauses = 0  # transactions running with the cycle collector paused


def pause_cycle_collection(db: AsyncSession) -> None:
    """Pause Python's cycle collector until the transaction of `db` ends (committed or
    rolled back). In this process, other requests' cyclic garbage waits until then too;
    reference counting frees the rest as usual. An import holds millions of objects (the
    document, the records read back, the journal's notes, written at commit), which each
    pass of the collector walks again: the passes took more than half the time of an
    import of 10,000 sessions (bench/NOTES.md)."""
    global _pauses
    _pauses += 1
    gc.disable()

    resumed = False

    def resume(_: Session, transaction: SessionTransaction) -> None:
        global _pauses
        nonlocal resumed
        if transaction.parent is not None or resumed:
            return  # a SAVEPOINT ends, not the transaction
        resumed = True
        _pauses -= 1
        if _pauses == 0:
            gc.enable()

    event.listen(db.sync_session, "after_transaction_end", resume)
