"""Keeping search terms in step with the records, and matching queries against them."""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.councils.models import Council
from app.errors import ValidationFailed
from app.pagination import AnySelect, Keyset, PageRequest, SortKey
from app.people.models import Person, PersonOtherName
from app.search.models import SearchTerm
from app.search.normalize import prefix_upper_bound, search_words
from app.sessions.models import CouncilSession, Segment
from app.sessions.schemas import ordinal_title
from app.topics.models import AgendaItem, Topic

NAME, TEXT = 1, 0  # weights: words of the name or title rank above other words


def _terms(text: str | None) -> list[str]:
    """The terms a text is found by: its words, each cut to the column's 100 characters."""
    return [word[:100] for word in search_words(text or "")]


def _term_weights(texts: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    """Each term of the texts with the highest weight it has among them."""
    weights: dict[str, int] = {}
    for text, weight in texts:
        for term in _terms(text):
            weights[term] = max(weight, weights.get(term, 0))
    return weights


async def _set_terms(
    db: AsyncSession,
    entity: str,
    record_id: str,
    texts: Iterable[tuple[str | None, int]],
    *,
    label: str | None = None,
    created: bool = False,
) -> None:
    """Replace a record's terms; a record `created` in this request has none yet."""
    weights = _term_weights(texts)
    if not created:
        await delete_terms(db, entity, [record_id])
    if weights:
        await db.execute(
            insert(SearchTerm),
            [
                {
                    "entity": entity,
                    "record_id": record_id,
                    "term": term,
                    "weight": weight,
                    "label": label,
                }
                for term, weight in weights.items()
            ],
        )


async def delete_terms(db: AsyncSession, entity: str, record_ids: Sequence[str]) -> None:
    if record_ids:
        await db.execute(
            delete(SearchTerm).where(
                SearchTerm.entity == entity, SearchTerm.record_id.in_(record_ids)
            )
        )


async def index_person(db: AsyncSession, person_id: str) -> None:
    """A person is found by their name and every other name."""
    person = await db.get_one(Person, person_id)
    other_names = await db.scalars(
        select(PersonOtherName.name).where(PersonOtherName.person_id == person_id)
    )
    names = [(person.name, NAME), *((n, NAME) for n in other_names)]
    await _set_terms(db, "person", person_id, names, label=person.name)


async def index_council(db: AsyncSession, council_id: str) -> None:
    council = await db.get_one(Council, council_id)
    texts = [(council.acronym, NAME), (council.name, NAME), (council.description, TEXT)]
    await _set_terms(db, "council", council_id, texts + [(n, NAME) for n in council.names.values()])


async def index_topic(db: AsyncSession, topic_id: str) -> None:
    topic = await db.get_one(Topic, topic_id)
    texts = [(topic.name, NAME), (topic.description, TEXT)]
    await _set_terms(db, "topic", topic_id, texts + [(n, NAME) for n in topic.names.values()])


class SessionText(Protocol):
    """What a session's own fields add to its text (a stored session, or one just given)."""

    ordinal: int | None
    title: str | None
    start_date: date
    summary: str | None


class SegmentText(Protocol):
    """What a segment adds to its session's text (a stored segment, or one just given)."""

    title: str | None
    format: str | None
    description: str | None


async def index_sessions(db: AsyncSession, session_ids: Iterable[str]) -> None:
    """A session is found by its title, summary, segments, agenda item titles and the
    names of its agenda's topics in every language."""
    for session_id in set(session_ids):
        row = (
            await db.execute(
                select(CouncilSession, Council.acronym, Council.name)
                .join(Council, Council.id == CouncilSession.council_id)
                .where(CouncilSession.id == session_id)
            )
        ).one()
        session, acronym, council_name = row
        segments = await db.scalars(select(Segment).where(Segment.session_id == session_id))
        agenda = await db.execute(
            select(AgendaItem.title, AgendaItem.note, Topic.name, Topic.names)
            .join(Topic, Topic.id == AgendaItem.topic_id)
            .where(AgendaItem.session_id == session_id)
        )
        texts = _session_texts(session, acronym or council_name, segments)
        for item_title, note, topic_name, topic_names in agenda:
            texts += [
                (text, TEXT) for text in agenda_texts(item_title, note, topic_name, topic_names)
            ]
        await _set_terms(db, "session", session_id, texts)


async def index_new_session(
    db: AsyncSession, session: CouncilSession, council_label: str, segments: Iterable[SegmentText]
) -> None:
    """index_sessions for a session created in this request, from what was just written:
    it has no agenda yet and no terms to replace, so nothing need be read back."""
    texts = _session_texts(session, council_label, segments)
    await _set_terms(db, "session", session.id, texts, created=True)


def new_session_terms(
    session: SessionText, council_label: str, segments: Iterable[SegmentText]
) -> dict[str, int]:
    """The terms index_new_session writes, for a session written on asyncpg itself."""
    return _term_weights(_session_texts(session, council_label, segments))


def _session_texts(
    session: SessionText, council_label: str, segments: Iterable[SegmentText]
) -> list[tuple[str | None, int]]:
    title = session.title or ordinal_title(session.ordinal, council_label, session.start_date)
    texts: list[tuple[str | None, int]] = [(title, NAME), (session.summary, TEXT)]
    for segment in segments:
        texts += [(segment.title, TEXT), (segment.format, TEXT), (segment.description, TEXT)]
    return texts


def agenda_texts(
    title: str | None, note: str | None, topic_name: str, topic_names: dict[str, str]
) -> list[str | None]:
    """What an agenda item adds to its session's text: its title and note, and its
    topic's names in every language."""
    return [title, note, topic_name, *topic_names.values()]


def added_terms(texts: Iterable[str | None]) -> set[str]:
    """The terms add_session_texts gives a session, each with the weight TEXT."""
    return {term for text in texts for term in _terms(text)}


async def add_session_texts(db: AsyncSession, session_id: str, texts: Iterable[str | None]) -> None:
    """Index text added to a session (an agenda item): its words join the session's terms
    with the weight of TEXT, the lowest, so that a word the session has already keeps its
    own weight. One statement, where index_sessions reads the whole session again."""
    terms = added_terms(texts)
    if not terms:
        return
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    await db.execute(
        dialect.insert(SearchTerm).on_conflict_do_nothing(),
        [
            {"entity": "session", "record_id": session_id, "term": term, "weight": TEXT}
            for term in terms
        ],
    )


def query_words(q: str) -> list[str]:
    words = search_words(q)[:10]
    if not words:
        raise ValidationFailed(
            "The query has no searchable words.",
            errors=[("/query/q", "Give at least one letter or digit to search for.")],
        )
    return words


def has_words(q: str, entity: str, record_id: Any) -> list[ColumnElement[bool]]:
    """Conditions that the record has every word of `q` (as a prefix of a term): one
    semi-join a word, which the planner may run from either side, whereas `matches` must
    rank every match first. For filtered lists that keep their own order."""
    conditions: list[ColumnElement[bool]] = []
    for word in query_words(q):
        having = select(SearchTerm.record_id).where(
            SearchTerm.entity == entity,
            SearchTerm.term >= word,
            SearchTerm.term < prefix_upper_bound(word),
        )
        conditions.append(record_id.in_(having))
    return conditions


def matches(q: str, entities: Sequence[str]) -> Subquery:
    """(entity, record_id, score) of the records that have every word of `q` as the prefix
    of one of their terms. A word scores 2 when it is a whole term, 1 as a prefix, plus 1
    when it is in the name or title; a record's score is the sum over the query's words."""
    words = query_words(q)
    in_range = [and_(SearchTerm.term >= w, SearchTerm.term < prefix_upper_bound(w)) for w in words]
    per_word_score = [
        func.max(
            case(
                (SearchTerm.term == w, 2 + SearchTerm.weight),
                (match, 1 + SearchTerm.weight),
                else_=0,
            )
        )
        for w, match in zip(words, in_range, strict=True)
    ]
    score: Any = literal(0)
    for part in per_word_score:
        score = score + part
    return (
        select(SearchTerm.entity, SearchTerm.record_id, score.label("score"))
        .where(SearchTerm.entity.in_(entities), or_(*in_range))
        .group_by(SearchTerm.entity, SearchTerm.record_id)
        .having(and_(*(part > 0 for part in per_word_score)))
        .subquery("matches")
    )


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


def ranked(
    stmt: AnySelect, *, entity: str, order: Sequence[InstrumentedAttribute[Any]], q: str | None
) -> tuple[AnySelect, Keyset]:
    """`stmt` in `order` (whose last column is unique), or, with a query, only the records
    matching it, best first (a column `rank`) and then in `order`; with the keyset of
    that order."""
    if q is None:
        return stmt, Keyset([SortKey(column) for column in order])
    found = matches(q, [entity])
    rank = (-found.c.score).label("rank")
    model = order[-1].class_
    keyset = Keyset([SortKey(rank), *(SortKey(column) for column in order)])
    return stmt.add_columns(rank).join(found, found.c.record_id == model.id), keyset


async def list_records(
    db: AsyncSession,
    *,
    page: PageRequest,
    stmt: Select[Any],
    entity: str,
    order: Sequence[InstrumentedAttribute[Any]],
    q: str | None,
) -> tuple[list[Any], str | None]:
    """A page of the ORM records `stmt` selects, ranked (see `ranked`)."""
    query, keyset = ranked(stmt, entity=entity, order=order, q=q)
    rows, next_cursor = page.cut(
        (await db.execute(page.select(query, keyset))).all(),
        keyset,
        lambda row: [*([row.rank] if q else []), *(getattr(row[0], c.key) for c in order)],
    )
    return [row[0] for row in rows], next_cursor
