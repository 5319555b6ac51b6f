from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, delete, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.councils.models import Council
from app.db import (
    Document,
    dialect_of,
    ensure_free,
    fetch_document,
    fetch_documents,
    fetch_documents_of,
    in_chunks,
    insert_rows,
    taken_in_batch,
    touch,
    touch_all,
    utcnow,
)
from app.errors import Conflict, NotFound, Refusals, ValidationFailed, written_alone
from app.identifiers import add_identifiers, identifier_clashes, set_identifiers
from app.ids import new_id
from app.journal import service as journal
from app.journal.service import Written
from app.json_sql import DIALECTS, JsonSql
from app.pagination import AnySelect, Keyset, PageRequest, SortKey, documents_page
from app.people.documents import OFFICE, OFFICES, OFFICES_OF, PERSON, PERSONS_OF, person
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
from app.sessions.documents import PARTICIPANT, PARTICIPANTS, PARTICIPANTS_OF, summary_fields
from app.sessions.models import CouncilSession, Segment, SegmentParticipant, SessionCountry
from app.sessions.service import SORTS, SessionFilter, session_conditions
from app.sources.service import cite_all, set_citations, uncited_sources
from app.terms.service import NAME, Indexed, delete_terms, ranked, set_terms_of
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
    return (await _offices_of_all(db, [person_id]))[person_id]


async def _offices_of_all(db: AsyncSession, person_ids: Iterable[str]) -> dict[str, list[Office]]:
    """The offices of many persons, by person id."""
    offices: dict[str, list[Office]] = defaultdict(list)
    for chunk in in_chunks(person_ids):
        for office in await db.scalars(select(Office).where(Office.person_id.in_(chunk))):
            offices[office.person_id].append(office)
    return offices


async def rederive_offices(
    db: AsyncSession,
    *,
    person_id: str | None = None,
    session_id: str | None = None,
    person_ids: Sequence[str] = (),
) -> None:
    """Derive again the office of every participation whose office was not given, for a
    person (or `person_ids`) whose offices changed or a session whose date changed."""
    stmt = (
        select(Participation, CouncilSession.start_date)
        .join(CouncilSession, CouncilSession.id == Participation.session_id)
        .where(Participation.office_given.is_(False))
    )
    if session_id is not None:
        stmt = stmt.where(Participation.session_id == session_id)
    persons = [person_id] if person_id is not None else list(person_ids)
    for chunk in in_chunks(persons) if persons else [None]:
        chosen = stmt if chunk is None else stmt.where(Participation.person_id.in_(chunk))
        attended = (await db.execute(chosen)).all()
        offices = await _offices_of_all(db, (p.person_id for p, _ in attended))
        for participation, start_date in attended:
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


async def get_offices(db: AsyncSession, office_ids: Sequence[str]) -> dict[str, Document]:
    """get_office of many offices (by id only), by id."""
    return await fetch_documents_of(db, OFFICES_OF, office_ids)


async def create_office(db: AsyncSession, *, person_id: str, data: OfficeCreate) -> dict[str, Any]:
    return written_alone(await create_offices(db, items=[(person_id, data)]))


async def create_offices(
    db: AsyncSession, *, items: Sequence[tuple[str, OfficeCreate]]
) -> tuple[dict[int, Document], Refusals]:
    """Give persons (by id) new offices at once, as create_office gives one: the
    documents by place in `items`, and the refusals."""
    refused = Refusals()
    for n, uncited in (await uncited_sources(db, [d.source_ids for _, d in items])).items():
        refused.refuse(n, uncited)
    accepted = [
        (n, person_id, data) for n, (person_id, data) in enumerate(items) if n not in refused
    ]
    rows = [
        {"id": new_id(), "person_id": person_id} | data.model_dump(exclude={"source_ids"})
        for _, person_id, data in accepted
    ]
    if not rows:
        return {}, refused
    await insert_rows(db, Office, rows)
    citing = [
        (row["id"], data.source_ids) for row, (_, _, data) in zip(rows, accepted, strict=True)
    ]
    await cite_all(db, entity="office", citing=citing)
    persons = list(dict.fromkeys(person_id for _, person_id, _ in accepted))
    await rederive_offices(db, person_ids=persons)
    await touch_all(db, Person, persons)
    ids = [row["id"] for row in rows]
    records = await journal.after_create_many(db, "office", ids, get_offices)
    return {n: records[i] for i, (n, _, _) in zip(ids, accepted, strict=True)}, refused


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


async def get_persons(db: AsyncSession, person_ids: Sequence[str]) -> dict[str, Document]:
    """get_person of many persons, by id."""
    return await fetch_documents_of(db, PERSONS_OF, person_ids)


async def create_person(db: AsyncSession, *, data: PersonCreate) -> dict[str, Any]:
    return written_alone(await create_persons(db, items=[data]))


async def create_persons(
    db: AsyncSession, *, items: Sequence[PersonCreate]
) -> tuple[dict[int, Document], Refusals]:
    """Create persons at once, each checked as create_person checks one (against the
    stored persons and those before it in `items`): the documents by place in `items`,
    and the refusals."""
    refused = Refusals()
    keys = [(n, d.key) for n, d in enumerate(items) if d.key is not None]
    for n, key in await taken_in_batch(db, Person.key, keys):
        refused.refuse(n, Conflict(f"The key '{key}' is taken by another person."))
    listed = [(None, d.identifiers or []) for d in items]
    clashes = await identifier_clashes(db, PersonIdentifier.person_id, listed, noun="person")
    for n, clash in clashes.items():
        refused.refuse(n, clash)
    for n, uncited in (await uncited_sources(db, [d.source_ids for d in items])).items():
        refused.refuse(n, uncited)
    accepted = [(n, d) for n, d in enumerate(items) if n not in refused]
    rows = [
        {"id": new_id()} | data.model_dump(exclude={"other_names", "identifiers", "source_ids"})
        for _, data in accepted
    ]
    if not rows:
        return {}, refused
    await insert_rows(db, Person, rows)
    made = [(row["id"], data) for row, (_, data) in zip(rows, accepted, strict=True)]
    other_names = [
        {"person_id": person_id, "position": i, **name.model_dump()}
        for person_id, data in made
        for i, name in enumerate(data.other_names or [])
    ]
    if other_names:
        await insert_rows(db, PersonOtherName, other_names)
    await add_identifiers(
        db, PersonIdentifier.person_id, [(i, d.identifiers or []) for i, d in made]
    )
    await cite_all(db, entity="person", citing=[(i, d.source_ids) for i, d in made])
    ids = [person_id for person_id, _ in made]
    await index_persons(db, ids, created=True)
    records = await journal.after_create_many(db, "person", ids, get_persons)
    return {n: records[i] for i, (n, _) in zip(ids, accepted, strict=True)}, refused


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
    return (await _allowed_delegations_of(db, [session]))[session.id]


async def _allowed_delegations_of(
    db: AsyncSession, sessions: Sequence[CouncilSession]
) -> dict[str, set[str]]:
    """_allowed_delegations of many sessions, by session id."""
    allowed = {s.id: {s.host_country} if s.host_country else set() for s in sessions}
    for chunk in in_chunks(allowed):
        rows = await db.execute(
            select(SessionCountry.session_id, SessionCountry.country).where(
                SessionCountry.session_id.in_(chunk)
            )
        )
        for session_id, country in rows:
            allowed[session_id].add(country)
    return allowed


@dataclass
class _Known:
    """What the checks of participations read, for many at once: the sides each session
    allows, the owner of each office, and the segments of each session."""

    delegations: dict[str, set[str]]
    office_owners: dict[str, str]
    segments: dict[str, set[str]]


async def _known_for(
    db: AsyncSession,
    sessions: Sequence[CouncilSession],
    office_ids: Iterable[str | None],
    with_segments: bool,
) -> _Known:
    owners: dict[str, str] = {}
    for chunk in in_chunks(o for o in office_ids if o is not None):
        rows = await db.execute(select(Office.id, Office.person_id).where(Office.id.in_(chunk)))
        owners.update({office_id: person_id for office_id, person_id in rows})
    segments: dict[str, set[str]] = defaultdict(set)
    for chunk in in_chunks(s.id for s in sessions) if with_segments else []:
        rows = await db.execute(
            select(Segment.session_id, Segment.id).where(Segment.session_id.in_(chunk))
        )
        for session_id, segment_id in rows:
            segments[session_id].add(segment_id)
    return _Known(await _allowed_delegations_of(db, sessions), owners, segments)


def _participation_problems(
    known: _Known,
    session: CouncilSession,
    person_id: str,
    *,
    delegation: str | None,
    office_id: str | None,
    segment_ids: list[str] | None,
) -> ValidationFailed | None:
    errors = []
    if delegation is not None and delegation not in known.delegations[session.id]:
        errors.append(
            (
                "/delegation",
                f"'{delegation}' is not one of the session's countries (for a council's "
                "session: its members and guest_countries), nor its host.",
            )
        )
    if office_id is not None and known.office_owners.get(office_id) != person_id:
        errors.append(("/office_id", f"The person has no office with the id '{office_id}'."))
    if segment_ids:
        errors += [
            (f"/segment_ids/{i}", f"The session has no segment with the id '{sid}'.")
            for i, sid in enumerate(segment_ids)
            if sid not in known.segments[session.id]
        ]
    if errors:
        return ValidationFailed("The participation has invalid fields.", errors=errors)
    return None


async def _check_participation(
    db: AsyncSession,
    session: CouncilSession,
    person_id: str,
    *,
    delegation: str | None,
    office_id: str | None,
    segment_ids: list[str] | None,
) -> None:
    known = await _known_for(db, [session], [office_id], bool(segment_ids))
    problems = _participation_problems(
        known,
        session,
        person_id,
        delegation=delegation,
        office_id=office_id,
        segment_ids=segment_ids,
    )
    if problems is not None:
        raise problems


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


async def get_participations(
    db: AsyncSession, participation_ids: Sequence[str]
) -> dict[str, Document]:
    """get_participation of many participations (by id only), by id."""
    return await fetch_documents_of(db, PARTICIPANTS_OF, participation_ids)


async def create_participation(
    db: AsyncSession, *, session: CouncilSession, data: ParticipationCreate
) -> dict[str, Any]:
    return written_alone(await create_participations(db, items=[(session, data)]))


async def check_participations(
    db: AsyncSession, *, items: Sequence[tuple[CouncilSession, ParticipationCreate]]
) -> Refusals:
    """What create_participations would refuse, writing nothing."""
    refused = Refusals()
    persons: set[str] = set()
    for chunk in in_chunks(d.person_id for _, d in items):
        persons.update(await db.scalars(select(Person.id).where(Person.id.in_(chunk))))
    sessions = list({s.id: s for s, _ in items}.values())
    known = await _known_for(
        db, sessions, (d.office_id for _, d in items), any(d.segment_ids for _, d in items)
    )
    for n, (session, data) in enumerate(items):
        if data.person_id not in persons:
            refused.refuse(
                n,
                ValidationFailed(
                    "The person does not exist.",
                    errors=[("/person_id", f"No person has the id '{data.person_id}'.")],
                ),
            )
            continue
        problems = _participation_problems(
            known,
            session,
            data.person_id,
            delegation=data.delegation,
            office_id=data.office_id,
            segment_ids=data.segment_ids,
        )
        if problems is not None:
            refused.refuse(n, problems)
    taken: dict[tuple[str, str], str] = {}
    for chunk in in_chunks(s.id for s in sessions):
        rows = await db.execute(
            select(Participation.session_id, Participation.person_id, Participation.id).where(
                Participation.session_id.in_(chunk)
            )
        )
        taken.update(((session_id, person_id), id_) for session_id, person_id, id_ in rows)
    for n, (session, data) in enumerate(items):
        if n in refused:
            continue
        if (already := taken.get((session.id, data.person_id))) is not None:
            refused.refuse(
                n,
                Conflict(
                    f"The person already takes part in this session (participation '{already}')."
                ),
            )
        taken.setdefault((session.id, data.person_id), "")
    uncited = await uncited_sources(db, [d.source_ids for _, d in items])
    for n, refusal in uncited.items():
        refused.refuse(n, refusal)
    return refused


async def create_participations(
    db: AsyncSession, *, items: Sequence[tuple[CouncilSession, ParticipationCreate]]
) -> tuple[dict[int, Document], Refusals]:
    """Add participants to sessions at once, each checked as create_participation
    checks one (against the stored participants and those before it in `items`): the
    documents by place in `items`, and the refusals."""
    refused = await check_participations(db, items=items)
    accepted = [(n, s, d) for n, (s, d) in enumerate(items) if n not in refused]
    offices = await _offices_of_all(
        db, (d.person_id for _, _, d in accepted if d.office_id is None)
    )
    participations: list[dict[str, Any]] = []
    for _, session, data in accepted:
        office_id = data.office_id
        if office_id is None:
            held = office_held_on(offices[data.person_id], session.start_date)
            office_id = held.id if held else None
        participations.append(
            {
                "id": new_id(),
                "session_id": session.id,
                "person_id": data.person_id,
                "delegation": data.delegation,
                "role": data.role,
                "office_id": office_id,
                "office_given": data.office_id is not None,
                "note": data.note,
            }
        )
    if not participations:
        return {}, refused
    await insert_rows(db, Participation, participations)
    made = [(row["id"], data) for row, (_, _, data) in zip(participations, accepted, strict=True)]
    segments = [
        {"segment_id": s, "participation_id": participation_id}
        for participation_id, data in made
        for s in dict.fromkeys(data.segment_ids)
    ]
    if segments:
        await insert_rows(db, SegmentParticipant, segments)
    await cite_all(db, entity="participation", citing=[(i, d.source_ids) for i, d in made])
    await touch_all(db, CouncilSession, (s.id for _, s, _ in accepted))
    ids = [participation_id for participation_id, _ in made]
    records = await journal.after_create_many(db, "participation", ids, get_participations)
    return {n: records[i] for i, (n, _, _) in zip(ids, accepted, strict=True)}, refused


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
    await index_persons(db, [person_id])


async def index_persons(
    db: AsyncSession, person_ids: Sequence[str], *, created: bool = False
) -> None:
    """index_person for many persons at once; `created` ones have no terms to replace."""
    names: dict[str, list[str]] = defaultdict(list)
    indexed: list[Indexed] = []
    for chunk in in_chunks(person_ids):
        rows = await db.execute(
            select(PersonOtherName.person_id, PersonOtherName.name).where(
                PersonOtherName.person_id.in_(chunk)
            )
        )
        for person_id, other_name in rows:
            names[person_id].append(other_name)
        for person_id, name in await db.execute(
            select(Person.id, Person.name).where(Person.id.in_(chunk))
        ):
            texts = [(name, NAME), *((n, NAME) for n in names[person_id])]
            indexed.append((person_id, texts, name))
    await set_terms_of(db, "person", indexed, created=created)


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
