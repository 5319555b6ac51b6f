import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

from app.councils.models import Council, CouncilMember
from app.db import (
    Document,
    DocumentPool,
    as_db_time,
    fetch_document,
    fetch_json,
    fetch_row,
    utcnow,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.ids import new_id
from app.journal import service as journal
from app.pagination import AnySelect, Keyset, PageRequest, SortKey, date_key, documents_page
from app.people.models import Office, Participation, Person
from app.people.service import participations_json, rederive_offices
from app.schemas import changes, iso_date, reject_nulls, rfc3339
from app.search.normalize import prefix_upper_bound
from app.search.service import (
    delete_terms,
    has_words,
    index_new_session,
    index_sessions,
    new_session_terms,
    query_words,
)
from app.sessions.detail_sql import DETAIL_SQL, page_sql
from app.sessions.models import (
    UNNUMBERED,
    CouncilSession,
    Segment,
    SegmentParticipant,
    SessionStatus,
)
from app.sessions.schemas import SegmentInput, SessionCreate, SessionUpdate, ordinal_title
from app.sources.service import cite, cited_source_ids, set_citations, sources_by_id
from app.topics.models import AgendaItem, Topic
from app.topics.service import agenda_json, find_topic_id, sessions_with_topic

S = CouncilSession

SUMMARY_COLUMNS = (
    S.id,
    S.council_id,
    Council.slug.label("council_slug"),
    Council.acronym.label("council_acronym"),
    Council.name.label("council_name"),
    S.ordinal,
    S.title,
    S.start_date,
    S.end_date,
    S.timezone,
    S.location_city,
    S.location_country,
    S.location_venue,
    S.host_country,
    S.guest_countries,
    S.status,
    S.summary,
    S.created_at,
    S.updated_at,
)

ORDINAL_KEY = func.coalesce(S.ordinal, UNNUMBERED)


def _ordinal_key(row: Any) -> int:
    return row.ordinal if row.ordinal is not None else UNNUMBERED


BY_DATE = [date_key(S.start_date), SortKey(S.id)]
BY_ORDINAL = [SortKey(ORDINAL_KEY), date_key(S.start_date), SortKey(S.id)]
SORTS: dict[str, tuple[Keyset, Callable[[Any], Sequence[Any]]]] = {
    "start_date": (Keyset(BY_DATE), lambda r: (r.start_date, r.id)),
    "-start_date": (Keyset(BY_DATE, descending=True), lambda r: (r.start_date, r.id)),
    "ordinal": (Keyset(BY_ORDINAL), lambda r: (_ordinal_key(r), r.start_date, r.id)),
    "-ordinal": (
        Keyset(BY_ORDINAL, descending=True),
        lambda r: (_ordinal_key(r), r.start_date, r.id),
    ),
}


def default_status(end: date) -> SessionStatus:
    return SessionStatus.held if end < datetime.now(UTC).date() else SessionStatus.planned


def summary_json(row: Any, source_ids: list[str]) -> dict[str, Any]:
    label = row.council_acronym or row.council_name
    return {
        "id": row.id,
        "council_id": row.council_id,
        "council": {
            "id": row.council_id,
            "slug": row.council_slug,
            "acronym": row.council_acronym,
            "name": row.council_name,
        },
        "ordinal": row.ordinal,
        "title": row.title or ordinal_title(row.ordinal, label, row.start_date),
        "start_date": iso_date(row.start_date),
        "end_date": iso_date(row.end_date),
        "timezone": row.timezone,
        "location": {
            "city": row.location_city,
            "country": row.location_country,
            "venue": row.location_venue,
        },
        "host_country": row.host_country,
        "guest_countries": row.guest_countries,
        "status": row.status.value,
        "summary": row.summary,
        "source_ids": source_ids,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def sessions_query() -> AnySelect:
    return select(*SUMMARY_COLUMNS).join(Council, Council.id == S.council_id)


async def list_sessions(
    db: AsyncSession,
    *,
    page: PageRequest,
    sort: str,
    wanted: "SessionFilter",
) -> tuple[list[dict[str, Any]], str | None]:
    conditions = await session_conditions(db, wanted)
    keyset, key_of = SORTS[sort]
    rows = (await db.execute(page.select(sessions_query().where(*conditions), keyset))).all()
    rows, next_cursor = page.cut(rows, keyset, key_of)
    citations = await cited_source_ids(db, entity="session", record_ids=[r.id for r in rows])
    return [summary_json(r, citations.get(r.id, [])) for r in rows], next_cursor


async def list_sessions_json(
    db: AsyncSession, *, page: PageRequest, sort: str, wanted: "SessionFilter"
) -> tuple[bytes, str | None]:
    """The page list_sessions gives, as the JSON array of its items. On PostgreSQL each row
    comes with its summary as the database keeps it written (migration 0010), which
    Python only joins: building fifty summaries in Python, and their citations in a
    second query, cost more than the query itself (bench/NOTES.md)."""
    if db.get_bind().dialect.name != "postgresql":
        items, next_cursor = await list_sessions(db, page=page, sort=sort, wanted=wanted)
        return orjson.dumps(items), next_cursor
    conditions = await session_conditions(db, wanted)
    keyset, key_of = SORTS[sort]
    query: AnySelect = select(
        S.id, S.start_date, S.ordinal, S.summary_document.label("document")
    ).where(*conditions)
    return await documents_page(db, page, query, keyset, key_of)


async def default_page_json(
    documents: DocumentPool, page: PageRequest, q: str | None
) -> tuple[bytes, str | None]:
    """list_sessions_json in the default order with no filter but `q`, on PostgreSQL: the
    pages anonymous clients walk and search most (the direct route, sessions/router.py),
    from one hand-written query (`page_sql`) read on asyncpg itself, as a session detail
    is. Its order and cursors are those of SORTS["start_date"], so that a cursor from
    either route pages on in the other."""
    words = query_words(q) if q is not None else []
    bounds = [bound for word in words for bound in (word, prefix_upper_bound(word))]
    keyset, _ = SORTS["start_date"]
    start_date, session_id = page.decode(keyset) or (date.min, "")
    sql = page_sql(len(words), page.limit)
    found = await fetch_row(documents, sql, start_date, session_id, *bounds)
    return page.of_documents(found, keyset, ("start_date", "id"))


async def session_summaries(db: AsyncSession, session_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not session_ids:
        return []
    rows = (await db.execute(sessions_query().where(S.id.in_(session_ids)))).all()
    citations = await cited_source_ids(db, entity="session", record_ids=session_ids)
    return [summary_json(r, citations.get(r.id, [])) for r in rows]


@dataclass(frozen=True)
class SessionFilter:
    """What a session list asks for. Values within one field are alternatives (OR), except
    `participants` (sessions attended by all of them); fields combine with AND."""

    councils: Sequence[str] = ()
    countries: Sequence[str] = ()
    host_countries: Sequence[str] = ()
    location_countries: Sequence[str] = ()
    statuses: Sequence[SessionStatus] = ()
    date_from: date | None = None
    date_to: date | None = None
    participants: Sequence[str] = ()
    topic: str | None = None
    q: str | None = None
    updated_since: datetime | None = None


def _unknown(parameter: str, message: str) -> ValidationFailed:
    return ValidationFailed("A filter names no record.", errors=[(f"/query/{parameter}", message)])


async def session_conditions(db: AsyncSession, wanted: SessionFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a session list. Filters naming no record are 422."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.councils:
        ids = []
        for council in wanted.councils:
            council_id = await db.scalar(select(Council.id).where(Council.named(council)))
            if council_id is None:
                raise _unknown("council", f"No council has the id or slug '{council}'.")
            ids.append(council_id)
        conditions.append(S.council_id.in_(ids))
    if wanted.countries:
        members = select(CouncilMember.council_id).where(
            CouncilMember.country.in_(wanted.countries)
        )
        conditions.append(or_(S.host_country.in_(wanted.countries), S.council_id.in_(members)))
    if wanted.host_countries:
        conditions.append(S.host_country.in_(wanted.host_countries))
    if wanted.location_countries:
        conditions.append(S.location_country.in_(wanted.location_countries))
    if wanted.statuses:
        conditions.append(S.status.in_(wanted.statuses))
    if wanted.date_from is not None:
        conditions.append(S.end_date >= wanted.date_from)
    if wanted.date_to is not None:
        conditions.append(S.start_date <= wanted.date_to)
    for person_id in dict.fromkeys(wanted.participants):
        if await db.get(Person, person_id) is None:
            raise _unknown("participant", f"No person has the id '{person_id}'.")
        attended = select(Participation.session_id).where(Participation.person_id == person_id)
        conditions.append(S.id.in_(attended))
    if wanted.topic is not None:
        topic_id = await find_topic_id(db, wanted.topic)
        if topic_id is None:
            raise _unknown("topic", f"No topic has the id or slug '{wanted.topic}'.")
        conditions.append(S.id.in_(sessions_with_topic(topic_id)))
    if wanted.q is not None:
        conditions += has_words(wanted.q, "session", S.id)
    if wanted.updated_since is not None:
        conditions.append(S.updated_at >= as_db_time(db, wanted.updated_since))
    return conditions


async def require_session(db: AsyncSession, session_id: str) -> CouncilSession:
    session = await db.get(CouncilSession, session_id)
    if session is None:
        raise NotFound(f"No session has the id '{session_id}'.")
    return session


def _neighbour(later: bool) -> ColumnElement[Any]:
    """The id of the council's session just before (or after) this one, by date."""
    other = aliased(CouncilSession)
    mine, theirs = tuple_(S.start_date, S.id), tuple_(other.start_date, other.id)
    return (
        select(other.id)
        .where(other.council_id == S.council_id, theirs > mine if later else theirs < mine)
        .order_by(
            *(
                (other.start_date.asc(), other.id.asc())
                if later
                else (other.start_date.desc(), other.id.desc())
            )
        )
        .limit(1)
        .scalar_subquery()
    )


async def _segments_json(db: AsyncSession, session_id: str) -> list[dict[str, Any]]:
    participants: dict[str, list[str]] = defaultdict(list)
    for segment_id, participation_id in await db.execute(
        select(SegmentParticipant.segment_id, SegmentParticipant.participation_id)
        .join(Segment, Segment.id == SegmentParticipant.segment_id)
        .where(Segment.session_id == session_id)
        .order_by(SegmentParticipant.participation_id)
    ):
        participants[segment_id].append(participation_id)
    segments = await db.scalars(
        select(Segment).where(Segment.session_id == session_id).order_by(Segment.position)
    )
    return [
        {
            "id": s.id,
            "key": s.key,
            "kind": s.kind.value,
            "format": s.format,
            "title": s.title,
            "date": iso_date(s.date),
            "part_of_day": s.part_of_day.value if s.part_of_day else None,
            "description": s.description,
            "participant_ids": participants[s.id],
        }
        for s in segments
    ]


# Built once: constructing this statement costs more than running it (measured with
# pyinstrument on the benchmark data; see bench/NOTES.md).
DETAIL_QUERY = (
    sessions_query()
    .add_columns(
        _neighbour(later=False).label("previous_session_id"),
        _neighbour(later=True).label("next_session_id"),
    )
    .where(S.id == bindparam("session_id"))
)


async def get_session_detail(db: AsyncSession, session_id: str) -> dict[str, Any]:
    """The session with its council, segments, participants, agenda and sources: on
    PostgreSQL one query that builds the document (kept as written: db.Document),
    elsewhere a few small ones."""
    if db.get_bind().dialect.name == "postgresql":
        return await fetch_document(db, DETAIL_SQL, session_id, missing=_missing(session_id))
    return await portable_session_detail(db, session_id)


async def read_session_json(
    documents: DocumentPool | None, engine: AsyncEngine, session_id: str
) -> bytes:
    """get_session_detail for a read request, as served: on PostgreSQL the JSON as
    PostgreSQL wrote it, never parsed, straight from the pool of `documents` without the
    ORM session that would cost a tenth of the request (bench/NOTES.md); on SQLite (no
    `documents`) from the engine."""
    if documents is not None:
        return await fetch_json(documents, DETAIL_SQL, session_id, missing=_missing(session_id))
    async with AsyncSession(engine) as db:
        return orjson.dumps(await portable_session_detail(db, session_id))


def _missing(session_id: str) -> str:
    return f"No session has the id '{session_id}'."


async def portable_session_detail(db: AsyncSession, session_id: str) -> dict[str, Any]:
    """The same document on any database, from a few small queries."""
    row = (await db.execute(DETAIL_QUERY, {"session_id": session_id})).one_or_none()
    if row is None:
        raise NotFound(_missing(session_id))
    citations = await cited_source_ids(db, entity="session", record_ids=[session_id])
    source_ids = citations.get(session_id, [])
    sources = await sources_by_id(db, source_ids)
    return summary_json(row, source_ids) | {
        "segments": await _segments_json(db, session_id),
        "participants": await participations_json(db, session_id=session_id),
        "agenda": await agenda_json(db, session_id=session_id),
        "previous_session_id": row.previous_session_id,
        "next_session_id": row.next_session_id,
        "sources": [sources[s] for s in source_ids],
    }


async def _check_ordinal_free(
    db: AsyncSession, council_id: str, ordinal: int, *, other_than: str | None = None
) -> None:
    stmt = select(S.id).where(S.council_id == council_id, S.ordinal == ordinal)
    if other_than is not None:
        stmt = stmt.where(S.id != other_than)
    if await db.scalar(stmt) is not None:
        raise Conflict(f"The council already has a session numbered {ordinal}.")


def _check_segment_dates(segments: Sequence[SegmentInput], start: date, end: date) -> None:
    errors = [
        (f"/segments/{i}/date", "The segment's date is outside the session's dates.")
        for i, segment in enumerate(segments)
        if segment.date is not None and not start <= segment.date <= end
    ]
    if errors:
        raise ValidationFailed("Some segments fall outside the session.", errors=errors)


async def _set_segments(
    db: AsyncSession, session_id: str, segments: Sequence[SegmentInput], *, created: bool = False
) -> None:
    """Replace a session's segments; those listed with an existing id keep it, and their
    participants with it. A session `created` in this request has none to replace."""
    existing: set[str] = set()
    if not created:
        existing = set(await db.scalars(select(Segment.id).where(Segment.session_id == session_id)))
    unknown = [
        (f"/segments/{i}/id", f"The session has no segment with the id '{s.id}'.")
        for i, s in enumerate(segments)
        if s.id is not None and s.id not in existing
    ]
    first_place: dict[str, int] = {}
    for i, segment in enumerate(segments):
        if segment.id is None:
            continue
        if segment.id in first_place:
            unknown.append((f"/segments/{i}/id", f"The segment '{segment.id}' is listed twice."))
        first_place.setdefault(segment.id, i)
    keys = [s.key for s in segments if s.key is not None]
    unknown += [
        (f"/segments/{i}/key", f"The key '{s.key}' is given to two segments.")
        for i, s in enumerate(segments)
        if s.key is not None and keys.count(s.key) > 1
    ]
    if unknown:
        raise ValidationFailed("Some segments are invalid.", errors=unknown)
    if existing:
        kept = {s.id for s in segments if s.id is not None}
        await db.execute(
            delete(Segment).where(Segment.session_id == session_id, Segment.id.notin_(kept))
        )
        # Keys may move between kept segments; clear them first so none collides mid-way.
        await db.execute(update(Segment).where(Segment.id.in_(kept)).values(key=None))
    added = []
    for position, segment in enumerate(segments):
        values = segment.model_dump(exclude={"id"}) | {"position": position}
        if segment.id is None:
            added.append({"id": new_id(), "session_id": session_id, **values})
        else:
            await db.execute(update(Segment).where(Segment.id == segment.id).values(**values))
    if added:
        await db.execute(insert(Segment), added)


async def create_session(db: AsyncSession, *, data: SessionCreate) -> dict[str, Any]:
    council = (
        await db.execute(
            select(Council.id, Council.acronym, Council.name).where(Council.named(data.council_id))
        )
    ).first()
    if council is None:
        raise ValidationFailed(
            "The council does not exist.",
            errors=[("/council_id", f"No council has the id or slug '{data.council_id}'.")],
        )
    if data.ordinal is not None:
        await _check_ordinal_free(db, council.id, data.ordinal)
    end_date = data.end_date or data.start_date
    _check_segment_dates(data.segments, data.start_date, end_date)
    location = data.location
    session = CouncilSession(
        council_id=council.id,
        ordinal=data.ordinal,
        title=data.title,
        start_date=data.start_date,
        end_date=end_date,
        timezone=data.timezone,
        location_city=location.city if location else None,
        location_country=location.country if location else None,
        location_venue=location.venue if location else None,
        host_country=data.host_country,
        guest_countries=data.guest_countries,
        status=data.status or default_status(end_date),
        summary=data.summary,
    )
    db.add(session)
    await db.flush()
    await _set_segments(db, session.id, data.segments, created=True)
    await cite(db, entity="session", record_id=session.id, source_ids=data.source_ids)
    await index_new_session(db, session, council.acronym or council.name, data.segments)
    return await journal.after_create(db, "session", session.id, get_session_detail)


async def update_session(
    db: AsyncSession, *, session_id: str, data: SessionUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(
        data, ("start_date", "end_date", "guest_countries", "status", "segments", "source_ids")
    )
    before = await journal.before_write(db, S, session_id, get_session_detail, if_match)
    session = await db.get_one(CouncilSession, session_id)
    if data.ordinal is not None:
        await _check_ordinal_free(db, session.council_id, data.ordinal, other_than=session_id)
    one_day = session.start_date == session.end_date
    fields = changes(data, exclude={"location", "segments", "source_ids"})
    for field, value in fields.items():
        setattr(session, field, value)
    # A one-day session moved to another day stays a one-day session.
    if one_day and data.start_date is not None and data.end_date is None:
        session.end_date = data.start_date
    if session.end_date < session.start_date:
        raise ValidationFailed(
            "The session ends before it starts.",
            errors=[("/end_date", "end_date is before start_date.")],
        )
    if "location" in data.model_fields_set:
        location = data.location
        session.location_city = location.city if location else None
        session.location_country = location.country if location else None
        session.location_venue = location.venue if location else None
    if data.segments is not None:
        _check_segment_dates(data.segments, session.start_date, session.end_date)
        await _set_segments(db, session_id, data.segments)
    else:
        segment_dates = await db.scalars(
            select(Segment.date).where(
                Segment.session_id == session_id,
                or_(Segment.date < session.start_date, Segment.date > session.end_date),
            )
        )
        if segment_dates.first() is not None:
            raise ValidationFailed(
                "Some segments would fall outside the session.",
                errors=[
                    (
                        "/start_date",
                        "A segment is dated outside the new dates; change the segments too.",
                    )
                ],
            )
    if data.source_ids is not None:
        await set_citations(db, entity="session", record_id=session_id, source_ids=data.source_ids)
    session.updated_at = utcnow()
    await db.flush()
    await index_sessions(db, [session_id])
    if data.start_date is not None:
        await rederive_offices(db, session_id=session_id)
    return await journal.after_update(db, "session", before, get_session_detail)


async def delete_session(db: AsyncSession, *, session_id: str, if_match: str | None = None) -> None:
    """Delete a session; its participants and agenda items go with it, each journaled."""
    before = await journal.before_write(db, S, session_id, get_session_detail, if_match)
    for part in (*before["participants"], *before["agenda"]):
        journal.deleted(db, "participation" if "person_id" in part else "agenda_item", part)
    await db.execute(delete(CouncilSession).where(CouncilSession.id == session_id))
    await delete_terms(db, "session", [session_id])
    journal.deleted(db, "session", before)


async def person_sessions(
    db: AsyncSession, *, person_id: str, page: PageRequest, sort: str, wanted: SessionFilter
) -> tuple[list[dict[str, Any]], str | None]:
    """The sessions a person attended, each with how they took part."""
    items, next_cursor = await list_sessions(
        db, page=page, sort=sort, wanted=replace(wanted, participants=[person_id])
    )
    rows = await db.execute(
        select(
            Participation.session_id,
            Participation.id,
            Participation.delegation,
            Participation.role,
            Office.title,
        )
        .outerjoin(Office, Office.id == Participation.office_id)
        .where(
            Participation.person_id == person_id,
            Participation.session_id.in_([item["id"] for item in items]),
        )
    )
    taking_part = {
        session_id: {
            "id": participation_id,
            "delegation": delegation,
            "role": role.value,
            "title_at_time": title,
        }
        for session_id, participation_id, delegation, role, title in rows
    }
    return [item | {"participation": taking_part[item["id"]]} for item in items], next_cursor


async def timeline(
    db: AsyncSession, *, council_id: str, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    """A council's sessions in date order, with the days since the previous one."""
    participants = (
        select(func.count()).where(Participation.session_id == S.id).correlate(S).scalar_subquery()
    )
    agenda_items = (
        select(func.count()).where(AgendaItem.session_id == S.id).correlate(S).scalar_subquery()
    )
    ordered = (
        select(
            S.id,
            S.ordinal,
            S.title,
            S.start_date,
            S.end_date,
            S.host_country,
            S.location_city,
            S.location_country,
            S.location_venue,
            func.lag(S.start_date).over(order_by=(S.start_date, S.id)).label("previous_start"),
            participants.label("participant_count"),
            agenda_items.label("agenda_item_count"),
        )
        .where(S.council_id == council_id)
        .subquery("timeline")
    )
    keyset = Keyset([date_key(ordered.c.start_date), SortKey(ordered.c.id)])
    rows = (await db.execute(page.select(select(ordered), keyset))).all()
    rows, next_cursor = page.cut(rows, keyset, lambda r: (r.start_date, r.id))
    items = []
    for r in rows:
        previous = r.previous_start
        if isinstance(previous, str):  # SQLite hands back window results untyped
            previous = date.fromisoformat(previous)
        items.append(
            {
                "session_id": r.id,
                "ordinal": r.ordinal,
                "start_date": iso_date(r.start_date),
                "end_date": iso_date(r.end_date),
                "host_country": r.host_country,
                "location": {
                    "city": r.location_city,
                    "country": r.location_country,
                    "venue": r.location_venue,
                },
                "days_since_previous": (r.start_date - previous).days if previous else None,
                "participant_count": r.participant_count,
                "agenda_item_count": r.agenda_item_count,
            }
        )
    return items, next_cursor


CALENDAR_LIMIT = 10_000


async def sessions_with_people_and_topics(
    db: AsyncSession, *, sort: str, wanted: SessionFilter
) -> list[dict[str, Any]]:
    """Every matching session (up to CALENDAR_LIMIT) as a summary, with its participants'
    names and roles and its agenda's topic names: what calendars and spreadsheets show."""
    keyset, _ = SORTS[sort]
    stmt = (
        sessions_query()
        .where(*await session_conditions(db, wanted))
        .order_by(*keyset.order_by())
        .limit(CALENDAR_LIMIT)
    )
    rows = (await db.execute(stmt)).all()
    ids = [r.id for r in rows]
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    topics: dict[str, list[str]] = defaultdict(list)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for session_id, person_id, name, role in await db.execute(
            select(Participation.session_id, Person.id, Person.name, Participation.role)
            .join(Person, Person.id == Participation.person_id)
            .where(Participation.session_id.in_(chunk))
            .order_by(Participation.id)
        ):
            people[session_id].append({"person_id": person_id, "name": name, "role": role.value})
        for session_id, topic_name in await db.execute(
            select(AgendaItem.session_id, Topic.name)
            .join(Topic, Topic.id == AgendaItem.topic_id)
            .where(AgendaItem.session_id.in_(chunk))
            .order_by(AgendaItem.position)
        ):
            topics[session_id].append(topic_name)
    return [
        summary_json(r, []) | {"participants": people[r.id], "topics": topics[r.id]} for r in rows
    ]


# ---------------------------------------------------------------- the write lane's part
# create_session on asyncpg itself for the write lane (app/sessions/writes.py): the same
# rows in three statements, where the ORM took six and cost the worker most of a write's
# CPU (bench/NOTES.md, finding 25). Only the way through is here: whatever a rule refuses,
# the lane leaves to create_session, which says why.
NEW_SESSION_COUNCIL_SQL = """
SELECT c.id, coalesce(c.acronym, c.name) AS label,
       EXISTS (SELECT FROM council_session s WHERE s.council_id = c.id AND s.ordinal = $2)
           AS ordinal_taken
FROM council c
WHERE c.id = $1 OR c.slug = $1
"""
INSERT_SESSION_SQL = """
WITH new_session AS (
    INSERT INTO council_session (id, council_id, ordinal, title, start_date, end_date, timezone,
                                 location_city, location_country, location_venue, host_country,
                                 guest_countries, status, summary, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::json, $13, $14, $15, $15)
), new_segments AS (
    INSERT INTO segment (id, session_id, key, position, kind, format, title, date, part_of_day,
                         description)
    SELECT s.id, $1, s.key, s.position - 1, s.kind, s.format, s.title, s.date, s.part_of_day,
           s.description
    FROM unnest($16::varchar[], $17::varchar[], $18::varchar[], $19::varchar[], $20::varchar[],
                $21::date[], $22::varchar[], $23::text[])
         WITH ORDINALITY AS s (id, key, kind, format, title, date, part_of_day, description,
                               position)
)
INSERT INTO search_term (entity, record_id, term, weight)
SELECT 'session', $1, t.term, t.weight FROM unnest($24::varchar[], $25::int[]) AS t (term, weight)
"""


async def create_session_directly(
    connection: asyncpg.Connection, data: SessionCreate
) -> Document | None:
    """create_session's session, in the connection's transaction; None when the lane
    leaves it to create_session: the council unknown, the ordinal taken, a segment out of
    the session's dates, named by id or by a key given twice, or sources cited."""
    segments = data.segments
    keys = [s.key for s in segments if s.key is not None]
    if data.source_ids or any(s.id is not None for s in segments) or len(set(keys)) < len(keys):
        return None
    end_date = data.end_date or data.start_date
    try:
        _check_segment_dates(segments, data.start_date, end_date)
    except ValidationFailed:
        return None
    councils = await connection.fetch(NEW_SESSION_COUNCIL_SQL, data.council_id, data.ordinal)
    if len(councils) != 1 or councils[0]["ordinal_taken"]:
        return None
    council = councils[0]
    location = data.location
    session_id, now = new_id(), utcnow()
    terms = new_session_terms(data, council["label"], segments)
    await connection.execute(
        INSERT_SESSION_SQL,
        session_id,
        council["id"],
        data.ordinal,
        data.title,
        data.start_date,
        end_date,
        data.timezone,
        location.city if location else None,
        location.country if location else None,
        location.venue if location else None,
        data.host_country,
        json.dumps(data.guest_countries),  # as the ORM's JSON type writes it
        data.status or default_status(end_date),
        data.summary,
        now,
        [new_id() for _ in segments],
        [s.key for s in segments],
        [s.kind.value for s in segments],
        [s.format for s in segments],
        [s.title for s in segments],
        [s.date for s in segments],
        [s.part_of_day.value if s.part_of_day else None for s in segments],
        [s.description for s in segments],
        list(terms),
        list(terms.values()),
    )
    return await fetch_document(connection, DETAIL_SQL, session_id, missing=_missing(session_id))
