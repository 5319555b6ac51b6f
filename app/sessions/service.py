from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Subquery,
    column,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.councils.models import NO_COUNCIL, Council, CouncilMember
from app.db import (
    Document,
    as_db_time,
    dialect_of,
    ensure_free,
    fetch_documents_of,
    fetch_json,
    in_chunks,
    insert_rows,
    taken_before,
    taken_in_batch,
    utcnow,
)
from app.errors import Conflict, NotFound, Refusals, ValidationFailed, written_alone
from app.identifiers import add_identifiers, identifier_clashes, set_identifiers
from app.ids import new_id
from app.journal import service as journal
from app.journal.service import Written
from app.json_sql import DIALECTS, JsonSql
from app.pagination import AnySelect, Keyset, PageRequest, SortKey, date_key, documents_page
from app.schemas import changes, iso_date, reject_nulls
from app.sessions.documents import DETAIL, DETAILS, session_summary
from app.sessions.models import (
    UNNUMBERED,
    CouncilSession,
    Segment,
    SessionCountry,
    SessionIdentifier,
    SessionKind,
    SessionStatus,
)
from app.sessions.schemas import SegmentInput, SessionCreate, SessionUpdate
from app.sources.service import cite_all, set_citations, uncited_sources
from app.terms.service import NAME, TEXT, delete_terms, has_words, set_terms_of

S = CouncilSession

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


@lru_cache(maxsize=len(DIALECTS))
def _summary_column(dialect: str) -> ColumnElement[str]:
    document = session_summary(JsonSql(dialect), S.__tablename__, Council.__tablename__)
    return literal_column(document).label("document")


def summaries(db: AsyncSession) -> AnySelect:
    """Sessions with their keys and their summaries (`document`)."""
    return select(S.id, S.start_date, S.ordinal, _summary_column(dialect_of(db))).outerjoin(
        Council, Council.id == S.council_id
    )


def with_summaries(db: AsyncSession) -> Callable[[Subquery], AnySelect]:
    """What documents_page adds to a page of sessions: their summaries."""
    summary = _summary_column(dialect_of(db))

    def documents(shown: Subquery) -> AnySelect:
        return (
            select(shown, summary)
            .join(S, S.id == shown.c.id)
            .outerjoin(Council, Council.id == S.council_id)
        )

    return documents


async def list_sessions(
    db: AsyncSession, *, page: PageRequest, sort: str, wanted: "SessionFilter"
) -> tuple[bytes, str | None]:
    """A page of session summaries, as the JSON array of its items, and the next cursor."""
    conditions = await session_conditions(db, wanted)
    keyset, key_of = SORTS[sort]
    keys = select(S.id, S.start_date, S.ordinal).where(*conditions)
    return await documents_page(db, page, keys, keyset, key_of, with_summaries(db))


async def session_summaries(db: AsyncSession, session_ids: Sequence[str]) -> list[Document]:
    if not session_ids:
        return []
    rows = await db.execute(summaries(db).where(S.id.in_(session_ids)))
    return [Document(row.document.encode()) for row in rows]


@dataclass(frozen=True)
class SessionFilter:
    """What a session list asks for. Values within one field are alternatives (OR), except
    `participants` and `between` (sessions of all of them); fields combine with AND.
    `councils` may hold NO_COUNCIL: meetings outside councils."""

    councils: Sequence[str] = ()
    kinds: Sequence[SessionKind] = ()
    between: Sequence[str] = ()
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


# Tables of the layers above sessions (people, topics) that lists, filters and calendars
# of sessions read, as documents do: SQL may read any table, Python imports only go down.
participation = table(
    "participation",
    column("id"),
    column("session_id"),
    column("person_id"),
    column("role"),
    column("delegation"),
)
person = table("person", column("id"), column("name"))
agenda_item = table("agenda_item", column("session_id"), column("topic_id"), column("position"))
topic = table("topic", column("id"), column("slug"), column("name"), column("parent_id"))


async def topic_and_narrower(db: AsyncSession, id_or_slug: str) -> list[str]:
    """The ids of the topic named by id or slug, first, and of every topic under it."""
    tree = (
        select(topic.c.id)
        .where(or_(topic.c.id == id_or_slug, topic.c.slug == id_or_slug))
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(select(topic.c.id).join(tree, topic.c.parent_id == tree.c.id))
    return list(await db.scalars(select(tree.c.id)))


def _sessions_of(*countries: str) -> AnySelect:
    """The ids of the sessions any of `countries` is a party to."""
    return select(SessionCountry.session_id).where(SessionCountry.country.in_(countries))


def _unknown(parameter: str, message: str) -> ValidationFailed:
    return ValidationFailed("A filter names no record.", errors=[(f"/query/{parameter}", message)])


async def session_conditions(db: AsyncSession, wanted: SessionFilter) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a session list. Filters naming no record are 422."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.councils:
        ids = []
        for council in wanted.councils:
            if council == NO_COUNCIL:
                continue
            council_id = await db.scalar(select(Council.id).where(Council.named(council)))
            if council_id is None:
                raise _unknown("council", f"No council has the id or slug '{council}'.")
            ids.append(council_id)
        in_councils: ColumnElement[bool] = S.council_id.in_(ids)
        if NO_COUNCIL in wanted.councils:
            in_councils = or_(S.council_id.is_(None), in_councils)
        conditions.append(in_councils)
    if wanted.kinds:
        conditions.append(S.kind.in_(wanted.kinds))
    for country in dict.fromkeys(wanted.between):
        conditions.append(S.id.in_(_sessions_of(country)))
    if wanted.countries:
        conditions.append(
            or_(S.host_country.in_(wanted.countries), S.id.in_(_sessions_of(*wanted.countries)))
        )
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
        if await db.scalar(select(person.c.id).where(person.c.id == person_id)) is None:
            raise _unknown("participant", f"No person has the id '{person_id}'.")
        attended = select(participation.c.session_id).where(participation.c.person_id == person_id)
        conditions.append(S.id.in_(attended))
    if wanted.topic is not None:
        topics = await topic_and_narrower(db, wanted.topic)
        if not topics:
            raise _unknown("topic", f"No topic has the id or slug '{wanted.topic}'.")
        on_agenda = select(agenda_item.c.session_id).where(agenda_item.c.topic_id.in_(topics))
        conditions.append(S.id.in_(on_agenda))
    if wanted.q is not None:
        conditions += await has_words(db, wanted.q, "session", S.id)
    if wanted.updated_since is not None:
        conditions.append(S.updated_at >= as_db_time(db, wanted.updated_since))
    return conditions


def _named(session_id: str) -> ColumnElement[bool]:
    """The session whose id or slug is `session_id`: paths accept either."""
    return or_(S.id == session_id, S.slug == session_id)


async def find_session_id(db: AsyncSession, session_id: str) -> str | None:
    """The id of the session named by id or slug, if there is one."""
    return await db.scalar(select(S.id).where(_named(session_id)))


async def require_session(db: AsyncSession, session_id: str) -> CouncilSession:
    """The session whose id or slug is `session_id`: paths accept either."""
    session = await db.scalar(select(S).where(_named(session_id)))
    if session is None:
        raise NotFound(f"No session has the id or slug '{session_id}'.")
    return session


async def get_session_detail(db: AsyncSession, session_id: str) -> Document:
    """The session with its council, segments, participants, agenda and sources."""
    return Document(await read_session_json(db, session_id))


async def get_session_details(db: AsyncSession, session_ids: Sequence[str]) -> dict[str, Document]:
    """get_session_detail of many sessions (by id only), by id."""
    return await fetch_documents_of(db, DETAILS, session_ids)


async def read_session_json(db: AsyncSession, session_id: str) -> bytes:
    """get_session_detail as served: the JSON as the database wrote it, never parsed."""
    missing = f"No session has the id or slug '{session_id}'."
    return await fetch_json(db, DETAIL, {"session_id": session_id}, missing=missing)


async def _check_ordinal_free(
    db: AsyncSession, council_id: str, ordinal: int, *, other_than: str | None = None
) -> None:
    stmt = select(S.id).where(S.council_id == council_id, S.ordinal == ordinal)
    if other_than is not None:
        stmt = stmt.where(S.id != other_than)
    if await db.scalar(stmt) is not None:
        raise Conflict(f"The council already has a session numbered {ordinal}.")


def _segment_dates_outside(
    segments: Sequence[SegmentInput], start: date, end: date
) -> ValidationFailed | None:
    errors = [
        (f"/segments/{i}/date", "The segment's date is outside the session's dates.")
        for i, segment in enumerate(segments)
        if segment.date is not None and not start <= segment.date <= end
    ]
    if errors:
        return ValidationFailed("Some segments fall outside the session.", errors=errors)
    return None


def _check_segment_dates(segments: Sequence[SegmentInput], start: date, end: date) -> None:
    if (outside := _segment_dates_outside(segments, start, end)) is not None:
        raise outside


def _invalid_segments(
    segments: Sequence[SegmentInput], existing: set[str]
) -> ValidationFailed | None:
    """What is wrong with a session's segments, `existing` being the ids of its stored ones:
    an id it has no segment by, an id or a key listed twice."""
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
        return ValidationFailed("Some segments are invalid.", errors=unknown)
    return None


async def _set_segments(
    db: AsyncSession, session_id: str, segments: Sequence[SegmentInput], *, created: bool = False
) -> None:
    """Replace a session's segments; those listed with an existing id keep it, and their
    participants with it. A session `created` in this request has none to replace."""
    existing: set[str] = set()
    if not created:
        existing = set(await db.scalars(select(Segment.id).where(Segment.session_id == session_id)))
    if (invalid := _invalid_segments(segments, existing)) is not None:
        raise invalid
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


def _meeting_problems(
    *,
    in_council: bool,
    kind: SessionKind | None,
    countries: Sequence[str] | None,
    ordinal: int | None,
    title: str | None,
    host_country: str | None,
    guest_countries: Sequence[str],
) -> list[tuple[str, str]]:
    """What is wrong with a session's kind and parties, as it would be stored: a council's
    session is a `council_session` whose parties are derived; any other meeting has a kind,
    a title and its parties, the host among them, and no number."""
    if in_council:
        problems = []
        if kind not in (None, SessionKind.council_session):
            problems.append(("/kind", "A council's session is of the kind council_session."))
        if countries is not None:
            problems.append(
                (
                    "/countries",
                    "A council session's countries are its council's members, then its "
                    "guest_countries; they cannot be given.",
                )
            )
        return problems
    problems = []
    if kind is None:
        problems.append(("/kind", "A meeting outside councils needs a kind (state_visit, ...)."))
    elif kind == SessionKind.council_session:
        problems.append(("/kind", "A council_session needs its council_id."))
    if ordinal is not None:
        problems.append(("/ordinal", "Only the sessions of a council are numbered."))
    if title is None:
        problems.append(("/title", "A meeting outside councils needs a title."))
    if countries is None or len(countries) < 2:
        problems.append(("/countries", "A meeting outside councils has at least two countries."))
    elif host_country is not None and host_country not in countries:
        problems.append(("/host_country", "The host is one of the session's countries."))
    if guest_countries:
        problems.append(
            (
                "/guest_countries",
                "Only a council's sessions have guests; list every party in countries.",
            )
        )
    return problems


def _check_meeting(**stored: Any) -> None:
    if problems := _meeting_problems(**stored):
        raise ValidationFailed("The session's kind and countries disagree.", errors=problems)


async def _council_parties(db: AsyncSession, council_id: str, guests: Sequence[str]) -> list[str]:
    """A council session's parties: its council's members, then its guests."""
    return _parties((await _members_of(db, [council_id]))[council_id], guests)


def _parties(members: Sequence[str], guests: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*members, *guests]))


async def _members_of(db: AsyncSession, council_ids: Iterable[str]) -> dict[str, list[str]]:
    """The members of councils, in order, by council id."""
    members: dict[str, list[str]] = defaultdict(list)
    for chunk in in_chunks(council_ids):
        rows = await db.execute(
            select(CouncilMember.council_id, CouncilMember.country)
            .where(CouncilMember.council_id.in_(chunk))
            .order_by(CouncilMember.council_id, CouncilMember.position)
        )
        for council_id, country in rows:
            members[council_id].append(country)
    return members


async def _set_countries(
    db: AsyncSession, session_id: str, countries: Sequence[str], *, created: bool = False
) -> None:
    if not created:
        await db.execute(delete(SessionCountry).where(SessionCountry.session_id == session_id))
    await db.execute(
        insert(SessionCountry),
        [{"session_id": session_id, "country": c, "position": i} for i, c in enumerate(countries)],
    )


async def _check_delegations_among(
    db: AsyncSession, session: CouncilSession, countries: Sequence[str]
) -> None:
    """A meeting's parties (or host) cannot change away from a delegation sitting at it."""
    # Without a host, None must not reach NOT IN: `x NOT IN ('NO', NULL)` is never true.
    allowed = {*countries, session.host_country} - {None}
    stranded = await db.scalars(
        select(participation.c.delegation)
        .where(participation.c.session_id == session.id, participation.c.delegation.notin_(allowed))
        .distinct()
    )
    if left := sorted(stranded):
        raise ValidationFailed(
            "Participants sit for a country that would no longer be a party.",
            errors=[
                (
                    "/countries",
                    f"Delegations of {', '.join(left)} sit at this session; change them first.",
                )
            ],
        )


async def create_session(db: AsyncSession, *, data: SessionCreate) -> dict[str, Any]:
    return written_alone(await create_sessions(db, items=[data]))


async def create_sessions(
    db: AsyncSession, *, items: Sequence[SessionCreate]
) -> tuple[dict[int, Document], Refusals]:
    """Create sessions at once. Each is checked by the rules of one, against the stored
    sessions and those before it in `items`; a session refused is not written. The others
    are written, journaled as created and indexed, as one each would be. Their documents,
    by place in `items`, and the refusals."""
    refused = Refusals()
    councils = await _council_ids(db, [d.council_id for d in items if d.council_id is not None])
    for n, data in enumerate(items):
        council = councils.get(data.council_id) if data.council_id is not None else None
        if data.council_id is not None and council is None:
            refused.refuse(
                n,
                ValidationFailed(
                    "The council does not exist.",
                    errors=[("/council_id", f"No council has the id or slug '{data.council_id}'.")],
                ),
            )
            continue
        problems = _meeting_problems(
            in_council=council is not None,
            kind=data.kind,
            countries=data.countries,
            ordinal=data.ordinal,
            title=data.title,
            host_country=data.host_country,
            guest_countries=data.guest_countries,
        )
        if problems:
            refused.refuse(
                n, ValidationFailed("The session's kind and countries disagree.", errors=problems)
            )
    slugs = [(n, d.slug) for n, d in enumerate(items) if d.slug is not None]
    for n, slug in await taken_in_batch(db, S.slug, slugs):
        refused.refuse(n, Conflict(f"The slug '{slug}' is taken by a session."))
    numbered = [
        (n, (councils[d.council_id], d.ordinal))
        for n, d in enumerate(items)
        if d.council_id is not None and d.council_id in councils and d.ordinal is not None
    ]
    for n, (_, ordinal) in await _ordinals_taken(db, numbered):
        refused.refuse(n, Conflict(f"The council already has a session numbered {ordinal}."))
    for n, data in enumerate(items):
        end_date = data.end_date or data.start_date
        if (
            outside := _segment_dates_outside(data.segments, data.start_date, end_date)
        ) is not None:
            refused.refuse(n, outside)
    clashes = await identifier_clashes(
        db, SessionIdentifier.session_id, [(None, d.identifiers) for d in items], noun="session"
    )
    for n, clash in clashes.items():
        refused.refuse(n, clash)
    for n, data in enumerate(items):
        if (invalid := _invalid_segments(data.segments, set())) is not None:
            refused.refuse(n, invalid)
    for n, uncited in (await uncited_sources(db, [d.source_ids for d in items])).items():
        refused.refuse(n, uncited)

    accepted = [(n, d) for n, d in enumerate(items) if n not in refused]
    members = await _members_of(db, {councils[d.council_id] for _, d in accepted if d.council_id})
    rows, parties, segments, ids = [], [], [], []
    for _, data in accepted:
        council = councils[data.council_id] if data.council_id is not None else None
        session_id = new_id()
        ids.append(session_id)
        rows.append(_session_row(session_id, council, data))
        countries = (
            data.countries or []
            if council is None
            else _parties(members[council], data.guest_countries)
        )
        parties += [
            {"session_id": session_id, "country": c, "position": i} for i, c in enumerate(countries)
        ]
        segments += [
            {"id": new_id(), "session_id": session_id, "position": position}
            | segment.model_dump(exclude={"id"})
            for position, segment in enumerate(data.segments)
        ]
    if not rows:
        return {}, refused
    await insert_rows(db, S, rows)
    if parties:
        await insert_rows(db, SessionCountry, parties)
    made = list(zip(ids, (data for _, data in accepted), strict=True))
    await add_identifiers(db, SessionIdentifier.session_id, [(i, d.identifiers) for i, d in made])
    if segments:
        await insert_rows(db, Segment, segments)
    await cite_all(db, entity="session", citing=[(i, d.source_ids) for i, d in made])
    records = await journal.after_create_many(db, "session", ids, get_session_details)
    await index_session_documents(db, [records[i] for i in ids], created=True)
    return {n: records[i] for i, (n, _) in zip(ids, accepted, strict=True)}, refused


async def _council_ids(db: AsyncSession, named: Sequence[str]) -> dict[str, str]:
    """The ids of the councils that `named` names by id or slug, by name."""
    ids: dict[str, str] = {}
    for chunk in in_chunks(named):
        rows = await db.execute(
            select(Council.id, Council.slug).where(
                or_(Council.id.in_(chunk), Council.slug.in_(chunk))
            )
        )
        for council_id, slug in rows:
            ids[council_id] = council_id
            ids[slug] = council_id
    return {name: ids[name] for name in named if name in ids}


async def _ordinals_taken(
    db: AsyncSession, numbered: Sequence[tuple[int, tuple[str, int]]]
) -> list[tuple[int, tuple[str, int]]]:
    """Of new sessions' (council id, ordinal), those a stored session or an earlier one of
    the batch has: each with its place in the batch."""
    stored: set[tuple[str, int]] = set()
    for chunk in in_chunks(council_id for _, (council_id, _) in numbered):
        rows = await db.execute(
            select(S.council_id, S.ordinal).where(S.council_id.in_(chunk), S.ordinal.is_not(None))
        )
        stored.update((c, ordinal) for c, ordinal in rows if c is not None and ordinal is not None)
    return taken_before(stored, numbered)


def _session_row(session_id: str, council: str | None, data: SessionCreate) -> dict[str, Any]:
    """The `council_session` row of a new session."""
    end_date = data.end_date or data.start_date
    location = data.location
    return {
        "id": session_id,
        "council_id": council,
        "kind": data.kind if council is None else SessionKind.council_session,
        "slug": data.slug,
        "ordinal": data.ordinal,
        "title": data.title,
        "start_date": data.start_date,
        "end_date": end_date,
        "timezone": data.timezone,
        "location_city": location.city if location else None,
        "location_country": location.country if location else None,
        "location_venue": location.venue if location else None,
        "host_country": data.host_country,
        "guest_countries": data.guest_countries,
        "status": data.status or default_status(end_date),
        "summary": data.summary,
    }


async def update_session(
    db: AsyncSession, *, session_id: str, data: SessionUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(
        data,
        (
            "kind",
            "countries",
            "identifiers",
            "start_date",
            "end_date",
            "guest_countries",
            "status",
            "segments",
            "source_ids",
        ),
    )
    before = await journal.before_write(db, S, session_id, get_session_detail, if_match)
    session = await db.get_one(CouncilSession, session_id)
    council_id = session.council_id
    in_council = council_id is not None
    _check_meeting(
        in_council=in_council,
        kind=data.kind if data.kind is not None else None if in_council else session.kind,
        countries=(
            data.countries if in_council or data.countries is not None else before["countries"]
        ),
        ordinal=data.ordinal if "ordinal" in data.model_fields_set else session.ordinal,
        title=data.title if "title" in data.model_fields_set else session.title,
        host_country=(
            data.host_country if "host_country" in data.model_fields_set else session.host_country
        ),
        guest_countries=(
            session.guest_countries if data.guest_countries is None else data.guest_countries
        ),
    )
    if data.slug is not None:
        await ensure_free(
            db,
            S.slug,
            data.slug,
            f"The slug '{data.slug}' is taken by another session.",
            other_than=session_id,
        )
    if council_id is not None and data.ordinal is not None:
        await _check_ordinal_free(db, council_id, data.ordinal, other_than=session_id)
    one_day = session.start_date == session.end_date
    fields = changes(
        data, exclude={"location", "segments", "source_ids", "countries", "identifiers"}
    )
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
    countries = data.countries
    if council_id is not None and data.guest_countries is not None:
        countries = await _council_parties(db, council_id, data.guest_countries)
    if countries is not None or "host_country" in data.model_fields_set:
        await _check_delegations_among(db, session, countries or before["countries"])
    if countries is not None and countries != before["countries"]:
        await _set_countries(db, session_id, countries)
        fields["countries"] = countries
    if data.identifiers is not None:
        await set_identifiers(
            db, SessionIdentifier.session_id, session_id, data.identifiers, noun="session"
        )
    if data.source_ids is not None:
        await set_citations(db, entity="session", record_id=session_id, source_ids=data.source_ids)
    session.updated_at = utcnow()
    await db.flush()
    await journal.written(db, Written("session", session_id, changed=frozenset(fields)))
    record = await journal.after_update(db, "session", before, get_session_detail)
    await index_session(db, record)
    return record


async def index_sessions(db: AsyncSession, session_ids: Iterable[str]) -> None:
    """Index sessions again whose text changed with another record (the names of their
    council, or of a topic on their agenda)."""
    for session_id in set(session_ids):
        await index_session(db, await get_session_detail(db, session_id))


async def delete_session(db: AsyncSession, *, session_id: str, if_match: str | None = None) -> None:
    """Delete a session; its participants and agenda items go with it, each journaled."""
    before = await journal.before_write(db, S, session_id, get_session_detail, if_match)
    for part in (*before["participants"], *before["agenda"]):
        journal.deleted(db, "participation" if "person_id" in part else "agenda_item", part)
    await db.execute(delete(CouncilSession).where(CouncilSession.id == session_id))
    await delete_terms(db, "session", [session_id])
    journal.deleted(db, "session", before)


async def timeline(
    db: AsyncSession, *, council_id: str, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    """A council's sessions in date order, with the days since the previous one."""
    participants = (
        select(func.count())
        .where(participation.c.session_id == S.id)
        .correlate(S)
        .scalar_subquery()
    )
    agenda_items = (
        select(func.count()).where(agenda_item.c.session_id == S.id).correlate(S).scalar_subquery()
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


# Sessions a batch of a calendar or spreadsheet: the worker holds one batch at a time.
CALENDAR_BATCH = 500


async def sessions_with_people_and_topics(
    sessions: async_sessionmaker[AsyncSession], conditions: list[ColumnElement[bool]], sort: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every session that meets `conditions` (session_conditions), in batches in the
    order `sort`, each a summary with its participants' names and roles and its agenda's
    topic names: what calendars and spreadsheets show. Read on a session of its own, as
    the answer is sent after the request's session is closed."""
    keyset, key_of = SORTS[sort]
    after: Sequence[Any] | None = None
    async with sessions() as db:
        while True:
            stmt = summaries(db).where(*conditions)
            if after is not None:
                stmt = stmt.where(keyset.after(after))
            stmt = stmt.order_by(*keyset.order_by()).limit(CALENDAR_BATCH)
            rows = (await db.execute(stmt)).all()
            if not rows:
                return
            yield await _with_people_and_topics(db, rows)
            after = key_of(rows[-1])


async def _with_people_and_topics(db: AsyncSession, rows: Sequence[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    topics: dict[str, list[str]] = defaultdict(list)
    for session_id, person_id, name, role in await db.execute(
        select(participation.c.session_id, person.c.id, person.c.name, participation.c.role)
        .join(person, person.c.id == participation.c.person_id)
        .where(participation.c.session_id.in_(ids))
        .order_by(participation.c.id)
    ):
        people[session_id].append({"person_id": person_id, "name": name, "role": role})
    for session_id, topic_name in await db.execute(
        select(agenda_item.c.session_id, topic.c.name)
        .join(topic, topic.c.id == agenda_item.c.topic_id)
        .where(agenda_item.c.session_id.in_(ids))
        .order_by(agenda_item.c.position)
    ):
        topics[session_id].append(topic_name)
    return [
        orjson.loads(r.document) | {"participants": people[r.id], "topics": topics[r.id]}
        for r in rows
    ]


def agenda_texts(
    title: str | None, note: str | None, topic_name: str, topic_names: dict[str, str]
) -> list[str | None]:
    """What an agenda item adds to its session's text: its title and note, and its
    topic's names in every language."""
    return [title, note, topic_name, *topic_names.values()]


def session_texts(document: dict[str, Any]) -> list[tuple[str | None, int]]:
    """What a session is found by, from its detail document: its title, summary and
    segments, and what its agenda items add (`agenda_texts`)."""
    texts: list[tuple[str | None, int]] = [(document["title"], NAME), (document["summary"], TEXT)]
    for segment in document["segments"]:
        texts += [(segment[field], TEXT) for field in ("title", "format", "description")]
    for item in document["agenda"]:
        topic_ = item["topic"]
        texts += [
            (text, TEXT)
            for text in agenda_texts(item["title"], item["note"], topic_["name"], topic_["names"])
        ]
    return texts


async def index_session(
    db: AsyncSession, document: dict[str, Any], *, created: bool = False
) -> None:
    """Replace a session's terms with those of its detail document; a session `created`
    in this request has none to replace."""
    await index_session_documents(db, [document], created=created)


async def index_session_documents(
    db: AsyncSession, documents: Sequence[dict[str, Any]], *, created: bool = False
) -> None:
    """index_session for many sessions at once."""
    indexed = [(d["id"], session_texts(d), None) for d in documents]
    await set_terms_of(db, "session", indexed, created=created)


@journal.follow("council")
async def _follow_council(db: AsyncSession, write: Written) -> None:
    """A council's sessions are deleted with it (only when asked: 409 otherwise), and
    indexed again when its names change, which default titles are made of."""
    session_ids = list(await db.scalars(select(S.id).where(S.council_id == write.record_id)))
    if write.deleting:
        if session_ids and not write.cascade:
            raise Conflict(
                f"The council has {len(session_ids)} session(s); "
                "delete with ?cascade=true to delete them too."
            )
        for session_id in session_ids:
            await delete_session(db, session_id=session_id)
        return
    if {"name", "acronym"} & write.changed:
        await index_sessions(db, session_ids)
    if "member_countries" in write.changed:
        await _derive_parties_again(db, write.record_id, session_ids)


async def _derive_parties_again(
    db: AsyncSession, council_id: str, session_ids: Sequence[str]
) -> None:
    """The parties of a council's sessions, after its members changed: each session whose
    parties differ is written (and journaled) as changed."""
    for session_id in session_ids:
        before = await get_session_detail(db, session_id)
        session = await db.get_one(CouncilSession, session_id)
        countries = await _council_parties(db, council_id, session.guest_countries)
        if countries == before["countries"]:
            continue
        await _set_countries(db, session_id, countries)
        session.updated_at = utcnow()
        await db.flush()
        await journal.after_update(db, "session", before, get_session_detail)
