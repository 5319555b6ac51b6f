from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, delete, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.councils.models import Council
from app.db import Document, dialect_of, ensure_free, fetch_document, fetch_documents, touch, utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.identifiers import set_identifiers
from app.journal import service as journal
from app.journal.service import Written
from app.json_sql import DIALECTS, JsonSql
from app.pagination import AnySelect, Keyset, PageRequest, SortKey, documents_page
from app.people.documents import OFFICE, OFFICES, PERSON, person
from app.people.models import (
    Office,
    Participation,
    Person,
    PersonIdentifier,
    PersonOtherName,
)
from app.people.schemas import (
    OfficeCreate,
    OfficeUpdate,
    ParticipationCreate,
    ParticipationUpdate,
    PersonCreate,
    PersonUpdate,
)
from app.schemas import changes, reject_nulls
from app.sessions.documents import PARTICIPANT, PARTICIPANTS, summary_fields
from app.sessions.models import CouncilSession, Segment, SegmentParticipant, SessionCountry
from app.sessions.service import SORTS, SessionFilter, session_conditions
from app.sources.service import cite, set_citations
from app.terms.service import NAME, delete_terms, ranked, set_terms
from app.types import partial_date_bounds

# ---------------------------------------------------------------- offices


def office_held_on(offices: Sequence[Office], day: date) -> Office | None:
    """The office held on `day`: its term covers the day (partial dates read generously,
    open ends as still running); among several, the one that began last."""
    held = []
    for office in offices:
        start = partial_date_bounds(office.start_date)
        end = partial_date_bounds(office.end_date)
        if (start is None or start[0] <= day) and (end is None or day <= end[1]):
            held.append(office)
    held.sort(key=lambda o: (o.start_date or "", o.id))
    return held[-1] if held else None


async def _offices_of(db: AsyncSession, person_id: str) -> list[Office]:
    return list(await db.scalars(select(Office).where(Office.person_id == person_id)))


async def rederive_offices(
    db: AsyncSession, *, person_id: str | None = None, session_id: str | None = None
) -> None:
    """Derive again the office of every participation whose office was not given, for a
    person whose offices changed or a session whose date changed."""
    stmt = (
        select(Participation, CouncilSession.start_date)
        .join(CouncilSession, CouncilSession.id == Participation.session_id)
        .where(Participation.office_given.is_(False))
    )
    if person_id is not None:
        stmt = stmt.where(Participation.person_id == person_id)
    if session_id is not None:
        stmt = stmt.where(Participation.session_id == session_id)
    offices: dict[str, list[Office]] = {}
    for participation, start_date in (await db.execute(stmt)).all():
        if participation.person_id not in offices:
            offices[participation.person_id] = await _offices_of(db, participation.person_id)
        held = office_held_on(offices[participation.person_id], start_date)
        participation.office_id = held.id if held else None
    await db.flush()


async def list_offices(db: AsyncSession, person_id: str) -> bytes:
    """The person's offices, as the JSON array of their documents."""
    return await fetch_documents(db, OFFICES, {"person_id": person_id})


async def get_office(db: AsyncSession, person_id: str, office_id: str) -> Document:
    return await fetch_document(
        db,
        OFFICE,
        {"person_id": person_id, "office_id": office_id},
        missing=f"The person has no office with the id '{office_id}'.",
    )


def _office_reader(person_id: str) -> journal.Reader:
    return lambda db, office_id: get_office(db, person_id, office_id)


async def create_office(db: AsyncSession, *, person_id: str, data: OfficeCreate) -> dict[str, Any]:
    office = Office(person_id=person_id, **data.model_dump(exclude={"source_ids"}))
    db.add(office)
    await db.flush()
    await cite(db, entity="office", record_id=office.id, source_ids=data.source_ids)
    await rederive_offices(db, person_id=person_id)
    await touch(db, Person, person_id)
    return await journal.after_create(db, "office", office.id, _office_reader(person_id))


async def update_office(
    db: AsyncSession,
    *,
    person_id: str,
    office_id: str,
    data: OfficeUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    reject_nulls(data, ("title", "names", "role", "country", "source_ids"))
    read = _office_reader(person_id)
    before = await journal.before_write(db, Office, office_id, read, if_match)
    office = await db.get_one(Office, office_id)
    for field, value in changes(data, exclude={"source_ids"}).items():
        setattr(office, field, value)
    start, end = partial_date_bounds(office.start_date), partial_date_bounds(office.end_date)
    if start and end and end[1] < start[0]:
        raise ValidationFailed(
            "The term ends before it starts.",
            errors=[("/end_date", "end_date is before start_date.")],
        )
    if data.source_ids is not None:
        await set_citations(db, entity="office", record_id=office_id, source_ids=data.source_ids)
    office.updated_at = utcnow()
    await db.flush()
    await rederive_offices(db, person_id=person_id)
    await touch(db, Person, person_id)
    return await journal.after_update(db, "office", before, read)


async def delete_office(
    db: AsyncSession, *, person_id: str, office_id: str, if_match: str | None = None
) -> None:
    read = _office_reader(person_id)
    before = await journal.before_write(db, Office, office_id, read, if_match)
    await db.execute(delete(Office).where(Office.id == office_id))
    await rederive_offices(db, person_id=person_id)
    await touch(db, Person, person_id)
    journal.deleted(db, "office", before)


# ---------------------------------------------------------------- persons


@lru_cache(maxsize=len(DIALECTS))
def _person_column(dialect: str) -> ColumnElement[str]:
    return literal_column(person(JsonSql(dialect), Person.__tablename__)).label("document")


async def list_persons(
    db: AsyncSession,
    *,
    page: PageRequest,
    q: str | None = None,
    nationalities: Sequence[str] = (),
    council_id: str | None = None,
) -> tuple[bytes, str | None]:
    """A page of persons by name, as the JSON array of its items; with `q`, the best
    matches first (see app/search)."""
    conditions: list[ColumnElement[bool]] = []
    if nationalities:
        conditions.append(Person.nationality.in_(nationalities))
    if council_id is not None:
        attended = (
            select(Participation.person_id)
            .join(CouncilSession, CouncilSession.id == Participation.session_id)
            .where(CouncilSession.council_id == council_id)
        )
        conditions.append(Person.id.in_(attended))
    stmt: AnySelect = select(Person.name, Person.id).where(*conditions)
    keys, keyset = ranked(stmt, entity="person", order=PERSON_ORDER, q=q)
    document = _person_column(dialect_of(db))

    def documents(shown: Subquery) -> AnySelect:
        return select(shown, document).join(Person, Person.id == shown.c.id)

    return await documents_page(
        db,
        page,
        keys,
        keyset,
        lambda row: [*([row.rank] if q else []), row.name, row.id],
        documents,
    )


PERSON_ORDER = (Person.name, Person.id)


async def require_person(db: AsyncSession, person_id: str) -> Person:
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person has the id '{person_id}'.")
    return person


async def get_person(db: AsyncSession, person_id: str) -> Document:
    """The person with names, identifiers, offices and sources."""
    return await fetch_document(
        db,
        PERSON,
        {"person_id": person_id},
        missing=f"No person has the id '{person_id}'.",
    )


async def _set_names_and_identifiers(
    db: AsyncSession, person_id: str, data: PersonCreate | PersonUpdate
) -> None:
    if data.other_names is not None:
        await db.execute(delete(PersonOtherName).where(PersonOtherName.person_id == person_id))
        if data.other_names:
            await db.execute(
                insert(PersonOtherName),
                [
                    {"person_id": person_id, "position": i, **n.model_dump()}
                    for i, n in enumerate(data.other_names)
                ],
            )
    if data.identifiers is not None:
        await set_identifiers(
            db, PersonIdentifier.person_id, person_id, data.identifiers, noun="person"
        )


async def create_person(db: AsyncSession, *, data: PersonCreate) -> dict[str, Any]:
    if data.key is not None:
        await ensure_free(
            db, Person.key, data.key, f"The key '{data.key}' is taken by another person."
        )
    person = Person(**data.model_dump(exclude={"other_names", "identifiers", "source_ids"}))
    db.add(person)
    await db.flush()
    await _set_names_and_identifiers(db, person.id, data)
    await cite(db, entity="person", record_id=person.id, source_ids=data.source_ids)
    await index_person(db, person.id)
    return await journal.after_create(db, "person", person.id, get_person)


async def update_person(
    db: AsyncSession, *, person_id: str, data: PersonUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(data, ("name", "other_names", "identifiers", "source_ids"))
    before = await journal.before_write(db, Person, person_id, get_person, if_match)
    person = await db.get_one(Person, person_id)
    if data.key is not None:
        await ensure_free(
            db,
            Person.key,
            data.key,
            f"The key '{data.key}' is taken by another person.",
            other_than=person_id,
        )
    for field, value in changes(data, exclude={"other_names", "identifiers", "source_ids"}).items():
        setattr(person, field, value)
    await _set_names_and_identifiers(db, person_id, data)
    if data.source_ids is not None:
        await set_citations(db, entity="person", record_id=person_id, source_ids=data.source_ids)
    person.updated_at = utcnow()
    await db.flush()
    await index_person(db, person_id)
    return await journal.after_update(db, "person", before, get_person)


async def delete_person(
    db: AsyncSession, *, person_id: str, cascade: bool, if_match: str | None = None
) -> None:
    """Delete a person with their offices; with `cascade`, their participations too."""
    before = await journal.before_write(db, Person, person_id, get_person, if_match)
    attended = list(
        await db.execute(
            select(Participation.session_id, Participation.id).where(
                Participation.person_id == person_id
            )
        )
    )
    if attended and not cascade:
        raise Conflict(
            f"The person took part in {len(attended)} session(s); "
            "delete with ?cascade=true to delete those participations too."
        )
    for session_id, participation_id in attended:
        await delete_participation(db, session_id=session_id, participation_id=participation_id)
    for office in before["offices"]:
        journal.deleted(db, "office", office)
    await db.execute(delete(Person).where(Person.id == person_id))
    await delete_terms(db, "person", [person_id])
    journal.deleted(db, "person", before)


# ---------------------------------------------------------------- participations


async def list_participations(db: AsyncSession, session_id: str) -> bytes:
    """A session's participants in the order recorded, as the JSON array of their
    documents."""
    return await fetch_documents(db, PARTICIPANTS, {"session_id": session_id})


async def get_participation(db: AsyncSession, session_id: str, participation_id: str) -> Document:
    return await fetch_document(
        db,
        PARTICIPANT,
        {"session_id": session_id, "participation_id": participation_id},
        missing=f"The session has no participant with the id '{participation_id}'.",
    )


async def _allowed_delegations(db: AsyncSession, session: CouncilSession) -> set[str]:
    """The sides a participant may sit on: the session's countries, or its host."""
    parties = await db.scalars(
        select(SessionCountry.country).where(SessionCountry.session_id == session.id)
    )
    return {*parties, session.host_country} - {None}


async def _check_participation(
    db: AsyncSession,
    session: CouncilSession,
    person_id: str,
    *,
    delegation: str | None,
    office_id: str | None,
    segment_ids: list[str] | None,
) -> None:
    errors = []
    if delegation is not None and delegation not in await _allowed_delegations(db, session):
        errors.append(
            (
                "/delegation",
                f"'{delegation}' is not one of the session's countries (for a council's "
                "session: its members and guest_countries), nor its host.",
            )
        )
    if office_id is not None:
        owner = await db.scalar(select(Office.person_id).where(Office.id == office_id))
        if owner != person_id:
            errors.append(("/office_id", f"The person has no office with the id '{office_id}'."))
    if segment_ids:
        known = set(await db.scalars(select(Segment.id).where(Segment.session_id == session.id)))
        errors += [
            (f"/segment_ids/{i}", f"The session has no segment with the id '{sid}'.")
            for i, sid in enumerate(segment_ids)
            if sid not in known
        ]
    if errors:
        raise ValidationFailed("The participation has invalid fields.", errors=errors)


async def _set_segments(db: AsyncSession, participation_id: str, segment_ids: list[str]) -> None:
    await db.execute(
        delete(SegmentParticipant).where(SegmentParticipant.participation_id == participation_id)
    )
    await _add_segments(db, participation_id, segment_ids)


async def _add_segments(db: AsyncSession, participation_id: str, segment_ids: list[str]) -> None:
    if segment_ids:
        await db.execute(
            insert(SegmentParticipant),
            [
                {"segment_id": s, "participation_id": participation_id}
                for s in dict.fromkeys(segment_ids)
            ],
        )


def _participation_reader(session_id: str) -> journal.Reader:
    return lambda db, participation_id: get_participation(db, session_id, participation_id)


async def create_participation(
    db: AsyncSession, *, session: CouncilSession, data: ParticipationCreate
) -> dict[str, Any]:
    if await db.get(Person, data.person_id) is None:
        raise ValidationFailed(
            "The person does not exist.",
            errors=[("/person_id", f"No person has the id '{data.person_id}'.")],
        )
    await _check_participation(
        db,
        session,
        data.person_id,
        delegation=data.delegation,
        office_id=data.office_id,
        segment_ids=data.segment_ids,
    )
    taken = await db.scalar(
        select(Participation.id).where(
            Participation.session_id == session.id, Participation.person_id == data.person_id
        )
    )
    if taken is not None:
        raise Conflict(f"The person already takes part in this session (participation '{taken}').")
    office_id = data.office_id
    if office_id is None:
        held = office_held_on(await _offices_of(db, data.person_id), session.start_date)
        office_id = held.id if held else None
    participation = Participation(
        session_id=session.id,
        person_id=data.person_id,
        delegation=data.delegation,
        role=data.role,
        office_id=office_id,
        office_given=data.office_id is not None,
        note=data.note,
    )
    db.add(participation)
    await db.flush()
    await _add_segments(db, participation.id, data.segment_ids)
    await cite(db, entity="participation", record_id=participation.id, source_ids=data.source_ids)
    await touch(db, CouncilSession, session.id)
    return await journal.after_create(
        db, "participation", participation.id, _participation_reader(session.id)
    )


async def update_participation(
    db: AsyncSession,
    *,
    session: CouncilSession,
    participation_id: str,
    data: ParticipationUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    reject_nulls(data, ("delegation", "role", "segment_ids", "source_ids"))
    read = _participation_reader(session.id)
    before = await journal.before_write(db, Participation, participation_id, read, if_match)
    participation = await db.get_one(Participation, participation_id)
    await _check_participation(
        db,
        session,
        participation.person_id,
        delegation=data.delegation,
        office_id=data.office_id,
        segment_ids=data.segment_ids,
    )
    for field, value in changes(data, exclude={"segment_ids", "source_ids", "office_id"}).items():
        setattr(participation, field, value)
    if "office_id" in data.model_fields_set:
        participation.office_given = data.office_id is not None
        if data.office_id is None:
            held = office_held_on(
                await _offices_of(db, participation.person_id), session.start_date
            )
            participation.office_id = held.id if held else None
        else:
            participation.office_id = data.office_id
    if data.segment_ids is not None:
        await _set_segments(db, participation_id, data.segment_ids)
    if data.source_ids is not None:
        await set_citations(
            db, entity="participation", record_id=participation_id, source_ids=data.source_ids
        )
    participation.updated_at = utcnow()
    await touch(db, CouncilSession, session.id)
    return await journal.after_update(db, "participation", before, read)


async def delete_participation(
    db: AsyncSession, *, session_id: str, participation_id: str, if_match: str | None = None
) -> None:
    read = _participation_reader(session_id)
    before = await journal.before_write(db, Participation, participation_id, read, if_match)
    await db.execute(delete(Participation).where(Participation.id == participation_id))
    await touch(db, CouncilSession, session_id)
    journal.deleted(db, "participation", before)


async def counterparts(
    db: AsyncSession, *, person_id: str, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    """People who sat in another delegation at a session this person attended: most shared
    sessions first, then by name."""
    mine = aliased(Participation)
    theirs = aliased(Participation)
    shared = (
        select(theirs.person_id, func.count(func.distinct(theirs.session_id)).label("shared"))
        .join(mine, mine.session_id == theirs.session_id)
        .where(
            mine.person_id == person_id,
            theirs.person_id != person_id,
            theirs.delegation != mine.delegation,
        )
        .group_by(theirs.person_id)
        .subquery("shared")
    )
    rank = (-shared.c.shared).label("rank")
    keyset = Keyset([SortKey(rank), SortKey(Person.name), SortKey(Person.id)])
    stmt = select(Person.id, Person.name, Person.nationality, rank, shared.c.shared).join(
        shared, shared.c.person_id == Person.id
    )
    rows = (await db.execute(page.select(stmt, keyset))).all()
    rows, next_cursor = page.cut(rows, keyset, lambda r: (r.rank, r.name, r.id))
    sessions: dict[str, list[str]] = defaultdict(list)
    if rows:
        met = await db.execute(
            select(theirs.person_id, theirs.session_id)
            .join(mine, mine.session_id == theirs.session_id)
            .join(CouncilSession, CouncilSession.id == theirs.session_id)
            .where(
                mine.person_id == person_id,
                theirs.person_id.in_([r.id for r in rows]),
                theirs.delegation != mine.delegation,
            )
            .order_by(CouncilSession.start_date, CouncilSession.id)
        )
        for other_id, session_id in met:
            sessions[other_id].append(session_id)
    items = [
        {
            "person": {"id": r.id, "name": r.name, "nationality": r.nationality},
            "shared_sessions": r.shared,
            "session_ids": sessions[r.id],
        }
        for r in rows
    ]
    return items, next_cursor


async def index_person(db: AsyncSession, person_id: str) -> None:
    """A person is found by their name and every other name."""
    person = await db.get_one(Person, person_id)
    other_names = await db.scalars(
        select(PersonOtherName.name).where(PersonOtherName.person_id == person_id)
    )
    names = [(person.name, NAME), *((n, NAME) for n in other_names)]
    await set_terms(db, "person", person_id, names, label=person.name)


@lru_cache(maxsize=len(DIALECTS))
def _attended_column(dialect: str) -> ColumnElement[str]:
    j = JsonSql(dialect)
    taking_part = j.object(
        {
            "id": "participation.id",
            "delegation": "participation.delegation",
            "role": "participation.role",
            "title_at_time": "office.title",
        }
    )
    fields = summary_fields(j, CouncilSession.__tablename__, Council.__tablename__)
    document = j.object(fields | {"participation": taking_part})
    return literal_column(j.as_text(document)).label("document")


async def person_sessions(
    db: AsyncSession, *, person_id: str, page: PageRequest, sort: str, wanted: SessionFilter
) -> tuple[bytes, str | None]:
    """The sessions a person attended, each summary with how they took part."""
    conditions = await session_conditions(db, wanted)
    keyset, key_of = SORTS[sort]
    keys = (
        select(CouncilSession.id, CouncilSession.start_date, CouncilSession.ordinal)
        .join(Participation, Participation.session_id == CouncilSession.id)
        .where(Participation.person_id == person_id, *conditions)
    )
    document = _attended_column(dialect_of(db))

    def documents(shown: Subquery) -> AnySelect:
        return (
            select(shown, document)
            .join(CouncilSession, CouncilSession.id == shown.c.id)
            .outerjoin(Council, Council.id == CouncilSession.council_id)
            .join(
                Participation,
                and_(Participation.session_id == shown.c.id, Participation.person_id == person_id),
            )
            .outerjoin(Office, Office.id == Participation.office_id)
        )

    return await documents_page(db, page, keys, keyset, key_of, documents)


@journal.follow("session")
async def _follow_session(db: AsyncSession, write: Written) -> None:
    """Participants whose office was not given hold the one of the session's new date."""
    if "start_date" in write.changed:
        await rederive_offices(db, session_id=write.record_id)
