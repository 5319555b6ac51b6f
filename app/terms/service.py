"""Search terms: each record's words, kept in step with the record by its own domain
(`set_terms`), and the matching of queries against them."""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.db import dialect_of, in_chunks, insert_rows
from app.errors import ValidationFailed
from app.pagination import AnySelect, Keyset, PageRequest, SortKey
from app.terms.models import SearchTerm
from app.terms.normalize import prefix_upper_bound, search_words

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


async def set_terms(
    db: AsyncSession,
    entity: str,
    record_id: str,
    texts: Iterable[tuple[str | None, int]],
    *,
    label: str | None = None,
    created: bool = False,
) -> None:
    """Replace a record's terms; a record `created` in this request has none yet."""
    await set_terms_of(db, entity, [(record_id, texts, label)], created=created)


# A record's id, its texts with their weights, and its label (see SearchTerm.label).
Indexed = tuple[str, Iterable[tuple[str | None, int]], str | None]


async def set_terms_of(
    db: AsyncSession, entity: str, records: Sequence[Indexed], *, created: bool = False
) -> None:
    """`set_terms` for many records at once."""
    rows = [
        {"entity": entity, "record_id": record_id, "term": term, "weight": weight, "label": label}
        for record_id, texts, label in records
        for term, weight in _term_weights(texts).items()
    ]
    if not created:
        await delete_terms(db, entity, [record_id for record_id, _, _ in records])
    if rows:
        await insert_rows(db, SearchTerm, rows)


async def delete_terms(db: AsyncSession, entity: str, record_ids: Sequence[str]) -> None:
    for chunk in in_chunks(record_ids):
        await db.execute(
            delete(SearchTerm).where(SearchTerm.entity == entity, SearchTerm.record_id.in_(chunk))
        )


async def add_terms(
    db: AsyncSession, entity: str, record_id: str, texts: Iterable[str | None]
) -> None:
    """Add the words of `texts` to a record's terms with the weight of TEXT, the lowest,
    so that a word the record has already keeps its own weight."""
    await add_terms_of(db, entity, [(record_id, texts)])


async def add_terms_of(
    db: AsyncSession, entity: str, records: Sequence[tuple[str, Iterable[str | None]]]
) -> None:
    """`add_terms` for many records at once."""
    terms = {(record_id, term) for record_id, texts in records for t in texts for term in _terms(t)}
    rows = [
        {"entity": entity, "record_id": record_id, "term": term, "weight": TEXT}
        for record_id, term in sorted(terms)
    ]
    if not rows:
        return
    dialect = postgresql if dialect_of(db) == "postgresql" else sqlite
    await db.execute(dialect.insert(SearchTerm).on_conflict_do_nothing(), rows)


def _written(text: str) -> ColumnElement[str]:
    """A search word (or bound) written into the statement rather than passed as a
    parameter, so that PostgreSQL plans each search for its words: left to choose, after
    five executions of one prepared statement it may keep a generic plan, which for a
    rare word walks every record."""
    return literal(text, String(), literal_execute=True)


def query_words(q: str) -> list[str]:
    words = search_words(q)[:10]
    if not words:
        raise ValidationFailed(
            "The query has no searchable words.",
            errors=[("/query/q", "Give at least one letter or digit to search for.")],
        )
    return words


# On SQLite, a word that at least this many records have is looked for record by record
# as the list walks its own order, where it soon finds a page of them; a rarer word gives
# the list its candidates. PostgreSQL weighs each word's frequency itself.
COMMON_WORD = 2000


async def has_words(
    db: AsyncSession, q: str, entity: str, record_id: Any
) -> list[ColumnElement[bool]]:
    """Conditions that the record has every word of `q` (as a prefix of a term): one
    semi-join a word, whereas `matches` must rank every match first. For filtered lists
    that keep their own order."""
    conditions: list[ColumnElement[bool]] = []
    for word in query_words(q):
        in_range = and_(
            SearchTerm.entity == entity,
            SearchTerm.term >= _written(word),
            SearchTerm.term < _written(prefix_upper_bound(word)),
        )
        if dialect_of(db) == "sqlite" and await _common(db, in_range):
            conditions.append(exists().where(in_range, SearchTerm.record_id == record_id))
        else:
            conditions.append(record_id.in_(select(SearchTerm.record_id).where(in_range)))
    return conditions


async def _common(db: AsyncSession, in_range: ColumnElement[bool]) -> bool:
    """Whether at least COMMON_WORD terms are in the range (counted no further)."""
    some = select(literal(1)).where(in_range).limit(COMMON_WORD).subquery()
    return await db.scalar(select(func.count()).select_from(some)) == COMMON_WORD


def matches(q: str, entities: Sequence[str]) -> Subquery:
    """(entity, record_id, score) of the records that have every word of `q` as the prefix
    of one of their terms. A word scores 2 when it is a whole term, 1 as a prefix, plus 1
    when it is in the name or title; a record's score is the sum over the query's words."""
    words = query_words(q)
    in_range = [
        and_(SearchTerm.term >= _written(w), SearchTerm.term < _written(prefix_upper_bound(w)))
        for w in words
    ]
    per_word_score = [
        func.max(
            case(
                (SearchTerm.term == _written(w), 2 + SearchTerm.weight),
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
