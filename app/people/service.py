from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple, Protocol, TypeVar

import asyncpg
import orjson
from sqlalchemy import ColumnElement, delete, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.councils.models import CouncilMember
from app.db import (
    Document,
    DocumentPool,
    ensure_free,
    fetch_document,
    fetch_row,
    touch,
    utcnow,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import new_id
from app.journal import service as journal
from app.pagination import AnySelect, Keyset, PageRequest, SortKey, documents_page
from app.people.document_sql import PERSON_SEARCH_SQL, PERSON_SQL
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
from app.schemas import changes, reject_nulls, rfc3339
from app.search.normalize import prefix_upper_bound
from app.search.service import delete_terms, index_person, list_records, query_words, ranked
from app.sessions.detail_sql import PARTICIPANT_SQL
from app.sessions.models import CouncilSession, Segment, SegmentParticipant
from app.sources.service import cite, cited_source_ids, set_citations, sources_by_id
from app.types import partial_date_bounds

# ---------------------------------------------------------------- offices


class Term(Protocol):
    """An office's term: a stored office, or a row of one (create_participation_directly)."""

    @property
    def id(self) -> str: ...
    @property
    def start_date(self) -> str | None: ...
    @property
    def end_date(self) -> str | None: ...


AnyTerm = TypeVar("AnyTerm", bound=Term)


def office_held_on(offices: Sequence[AnyTerm], day: date) -> AnyTerm | None:
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


def _office_json(office: Office, source_ids: list[str]) -> dict[str, Any]:
    return {
        "id": office.id,
        "person_id": office.person_id,
        "title": office.title,
        "names": office.names,
        "role": office.role.value,
        "country": office.country,
        "organization": office.organization,
        "start_date": office.start_date,
        "end_date": office.end_date,
        "source_ids": source_ids,
        "created_at": rfc3339(office.created_at),
        "updated_at": rfc3339(office.updated_at),
    }


async def _offices_json(db: AsyncSession, offices: Sequence[Office]) -> list[dict[str, Any]]:
    citations = await cited_source_ids(db, entity="office", record_ids=[o.id for o in offices])
    return [_office_json(o, citations.get(o.id, [])) for o in offices]


def _office_order() -> tuple[Any, ...]:
    # Chronological, with terms of unknown start first.
    return (func.coalesce(Office.start_date, ""), Office.id)


async def list_offices(db: AsyncSession, person_id: str) -> list[dict[str, Any]]:
    offices = await db.scalars(
        select(Office).where(Office.person_id == person_id).order_by(*_office_order())
    )
    return await _offices_json(db, list(offices))


async def _get_office(db: AsyncSession, person_id: str, office_id: str) -> Office:
    office = await db.get(Office, office_id)
    if office is None or office.person_id != person_id:
        raise NotFound(f"The person has no office with the id '{office_id}'.")
    return office


async def get_office(db: AsyncSession, person_id: str, office_id: str) -> dict[str, Any]:
    return (await _offices_json(db, [await _get_office(db, person_id, office_id)]))[0]


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


async def _persons_json(db: AsyncSession, persons: Sequence[Person]) -> list[dict[str, Any]]:
    """Persons with names, identifiers, offices and sources, in a fixed number of queries."""
    ids = [p.id for p in persons]
    other_names: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name in await db.scalars(
        select(PersonOtherName)
        .where(PersonOtherName.person_id.in_(ids))
        .order_by(PersonOtherName.person_id, PersonOtherName.position)
    ):
        other_names[name.person_id].append(
            {"name": name.name, "lang": name.lang, "note": name.note}
        )
    identifiers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ident in await db.scalars(
        select(PersonIdentifier)
        .where(PersonIdentifier.person_id.in_(ids))
        .order_by(PersonIdentifier.person_id, PersonIdentifier.position)
    ):
        identifiers[ident.person_id].append(
            {"scheme": ident.scheme, "identifier": ident.identifier}
        )
    offices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    all_offices = list(
        await db.scalars(select(Office).where(Office.person_id.in_(ids)).order_by(*_office_order()))
    )
    for office in await _offices_json(db, all_offices):
        offices[office["person_id"]].append(office)
    citations = await cited_source_ids(db, entity="person", record_ids=ids)
    sources = await sources_by_id(db, (s for ss in citations.values() for s in ss))
    return [
        {
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "honorific_prefix": p.honorific_prefix,
            "given_name": p.given_name,
            "family_name": p.family_name,
            "nationality": p.nationality,
            "other_names": other_names[p.id],
            "identifiers": identifiers[p.id],
            "offices": offices[p.id],
            "source_ids": citations.get(p.id, []),
            "sources": [sources[s] for s in citations.get(p.id, [])],
            "created_at": rfc3339(p.created_at),
            "updated_at": rfc3339(p.updated_at),
        }
        for p in persons
    ]


async def list_persons(
    db: AsyncSession,
    *,
    page: PageRequest,
    q: str | None = None,
    nationalities: Sequence[str] = (),
    council_id: str | None = None,
) -> tuple[bytes, str | None]:
    """A page of persons by name, as the JSON array of its items; with `q`, the best
    matches first (see app/search). On PostgreSQL each row comes with its document as
    the database keeps it (people/document_sql.py), which Python only joins."""
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
    order = (Person.name, Person.id)
    if db.get_bind().dialect.name != "postgresql":
        persons, next_cursor = await list_records(
            db, page=page, stmt=select(Person).where(*conditions), entity="person", order=order, q=q
        )
        return orjson.dumps(await _persons_json(db, persons)), next_cursor
    document = Person.document.label("document")
    stmt: AnySelect = select(Person.name, Person.id, document).where(*conditions)
    query, keyset = ranked(stmt, entity="person", order=order, q=q)
    return await documents_page(
        db, page, query, keyset, lambda row: [*([row.rank] if q else []), row.name, row.id]
    )


async def search_persons_json(
    documents: DocumentPool, page: PageRequest, q: str
) -> tuple[bytes, str | None]:
    """list_persons with `q` and no filter, on PostgreSQL: the searches the direct route
    serves (people/router.py), in one hand-written query (PERSON_SEARCH_SQL) read on
    asyncpg itself, as a session detail is. Its order and cursors are list_persons',
    so that a cursor from either route pages on in the other."""
    words = query_words(q)
    rank, name, person_id = page.decode(SEARCH_ORDER) or (BEFORE_EVERY_RANK, "", "")
    beyond = [prefix_upper_bound(word) for word in words]
    found = await fetch_row(
        documents, PERSON_SEARCH_SQL, words, beyond, rank, name, person_id, page.limit
    )
    return page.of_documents(found, SEARCH_ORDER, ("rank", "name", "id"))


# The order of a person search, best first (search.ranked), for its cursors.
SEARCH_ORDER = Keyset([SortKey(literal_column("rank")), SortKey(Person.name), SortKey(Person.id)])
# Lower than any rank (minus a score, which is small and positive): before the first page.
BEFORE_EVERY_RANK = -(2**31)


async def require_person(db: AsyncSession, person_id: str) -> Person:
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person has the id '{person_id}'.")
    return person


async def get_person(db: AsyncSession, person_id: str) -> dict[str, Any]:
    """The person with names, identifiers, offices and sources: on PostgreSQL one query
    that builds the document (people/document_sql.py), elsewhere a few small ones."""
    if db.get_bind().dialect.name == "postgresql":
        missing = f"No person has the id '{person_id}'."
        person: dict[str, Any] = await fetch_document(db, PERSON_SQL, person_id, missing=missing)
        return person
    return await portable_person(db, person_id)


async def portable_person(db: AsyncSession, person_id: str) -> dict[str, Any]:
    """The same document on any database."""
    return (await _persons_json(db, [await require_person(db, person_id)]))[0]


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
        errors = []
        seen = set()
        for i, ident in enumerate(data.identifiers):
            taken_by = await db.scalar(
                select(PersonIdentifier.person_id).where(
                    PersonIdentifier.scheme == ident.scheme,
                    PersonIdentifier.identifier == ident.identifier,
                    PersonIdentifier.person_id != person_id,
                )
            )
            if taken_by is not None or (ident.scheme, ident.identifier) in seen:
                errors.append(i)
            seen.add((ident.scheme, ident.identifier))
        if errors:
            raise Conflict(
                "The identifier "
                + ", ".join(
                    f"{data.identifiers[i].scheme}:{data.identifiers[i].identifier}" for i in errors
                )
                + " is already given to another person (or listed twice)."
            )
        await db.execute(delete(PersonIdentifier).where(PersonIdentifier.person_id == person_id))
        if data.identifiers:
            await db.execute(
                insert(PersonIdentifier),
                [
                    {"person_id": person_id, "position": i, **ident.model_dump()}
                    for i, ident in enumerate(data.identifiers)
                ],
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

PARTICIPATION_COLUMNS = (
    Participation.id,
    Participation.session_id,
    Participation.person_id,
    Person.name.label("person_name"),
    Person.nationality.label("person_nationality"),
    Participation.delegation,
    Participation.role,
    Participation.office_id,
    Office.title.label("title_at_time"),
    Participation.note,
    Participation.created_at,
    Participation.updated_at,
)


async def participations_json(
    db: AsyncSession, *, session_id: str, participation_id: str | None = None
) -> list[dict[str, Any]]:
    """A session's participants (or one of them), in the order they were recorded, each
    with the person, the title held that day, segments and sources: three queries."""
    stmt = (
        select(*PARTICIPATION_COLUMNS)
        .join(Person, Person.id == Participation.person_id)
        .outerjoin(Office, Office.id == Participation.office_id)
        .where(Participation.session_id == session_id)
        .order_by(Participation.id)
    )
    if participation_id is not None:
        stmt = stmt.where(Participation.id == participation_id)
    rows = (await db.execute(stmt)).all()
    ids = [r.id for r in rows]
    segments: dict[str, list[str]] = defaultdict(list)
    if ids:
        for pid, segment_id in await db.execute(
            select(SegmentParticipant.participation_id, SegmentParticipant.segment_id)
            .join(Segment, Segment.id == SegmentParticipant.segment_id)
            .where(SegmentParticipant.participation_id.in_(ids))
            .order_by(Segment.position)
        ):
            segments[pid].append(segment_id)
    citations = await cited_source_ids(db, entity="participation", record_ids=ids)
    return [
        {
            "id": r.id,
            "session_id": r.session_id,
            "person_id": r.person_id,
            "person": {
                "id": r.person_id,
                "name": r.person_name,
                "nationality": r.person_nationality,
            },
            "delegation": r.delegation,
            "role": r.role.value,
            "office_id": r.office_id,
            "title_at_time": r.title_at_time,
            "segment_ids": segments[r.id],
            "note": r.note,
            "source_ids": citations.get(r.id, []),
            "created_at": rfc3339(r.created_at),
            "updated_at": rfc3339(r.updated_at),
        }
        for r in rows
    ]


def _no_participant(participation_id: str) -> str:
    return f"The session has no participant with the id '{participation_id}'."


async def get_participation(
    db: AsyncSession, session_id: str, participation_id: str
) -> dict[str, Any]:
    missing = _no_participant(participation_id)
    if db.get_bind().dialect.name == "postgresql":
        return await fetch_document(
            db, PARTICIPANT_SQL, participation_id, session_id, missing=missing
        )
    found = await participations_json(db, session_id=session_id, participation_id=participation_id)
    if not found:
        raise NotFound(missing)
    return found[0]


async def _allowed_delegations(db: AsyncSession, session: CouncilSession) -> set[str]:
    members = set(
        await db.scalars(
            select(CouncilMember.country).where(CouncilMember.council_id == session.council_id)
        )
    )
    hosts = {session.host_country} if session.host_country else set()
    return members | set(session.guest_countries) | hosts


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
                f"'{delegation}' is neither a member nor the host of this session's council, nor "
                "one of the session's guest_countries.",
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


# create_participation on asyncpg itself for the write lane (app/sessions/writes.py):
# three statements, where the ORM took nine (bench/NOTES.md, finding 25). Only the way
# through is here: whatever a rule refuses, the lane leaves to create_participation.
NEW_PARTICIPATION_CHECK_SQL = """
SELECT s.start_date,
       EXISTS (SELECT FROM person WHERE id = $2::varchar) AS person_known,
       EXISTS (SELECT FROM participation p WHERE p.session_id = s.id AND p.person_id = $2)
           AS taken,
       $3::varchar = s.host_country OR s.guest_countries::jsonb ? $3::varchar
           OR EXISTS (SELECT FROM council_member m WHERE m.council_id = s.council_id
                                                    AND m.country = $3) AS delegation_allowed,
       (SELECT coalesce(json_agg(json_build_array(o.id, o.start_date, o.end_date)), '[]')
        FROM office o WHERE o.person_id = $2)::text AS offices
FROM council_session s
WHERE s.id = $1
"""
INSERT_PARTICIPATION_SQL = """
WITH new_participation AS (
    INSERT INTO participation (id, session_id, person_id, delegation, role, office_id,
                               office_given, note, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $8)
)
UPDATE council_session SET updated_at = $8 WHERE id = $2
"""


class OfficeTerm(NamedTuple):
    id: str
    start_date: str | None
    end_date: str | None


async def create_participation_directly(
    connection: asyncpg.Connection, session_id: str, data: ParticipationCreate
) -> Document | None:
    """create_participation's participant, in the connection's transaction; None when the
    lane leaves it to create_participation: the session or the person unknown, the
    delegation not allowed, the person seated already, or an office, segments or sources
    given."""
    if data.office_id is not None or data.segment_ids or data.source_ids:
        return None
    found = await connection.fetchrow(
        NEW_PARTICIPATION_CHECK_SQL, session_id, data.person_id, data.delegation
    )
    if (
        found is None
        or found["taken"]
        or not (found["person_known"] and found["delegation_allowed"])
    ):
        return None
    terms = [OfficeTerm(*term) for term in orjson.loads(found["offices"])]
    held = office_held_on(terms, found["start_date"])
    participation_id = new_id()
    await connection.execute(
        INSERT_PARTICIPATION_SQL,
        participation_id,
        session_id,
        data.person_id,
        data.delegation,
        data.role,
        held.id if held else None,
        data.note,
        utcnow(),
    )
    missing = _no_participant(participation_id)
    return await fetch_document(
        connection, PARTICIPANT_SQL, participation_id, session_id, missing=missing
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
