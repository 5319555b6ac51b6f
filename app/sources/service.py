from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Subquery, delete, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Document, dialect_of, ensure_free, fetch_document, in_chunks, insert_rows
from app.errors import Conflict, ValidationFailed
from app.journal import service as journal
from app.json_sql import JsonSql
from app.pagination import Keyset, PageRequest, SortKey, documents_page
from app.schemas import changes, reject_nulls
from app.sources.documents import SOURCE, source_document
from app.sources.models import Citation, Source
from app.sources.schemas import SourceCreate, SourceUpdate

SOURCE_ORDER = Keyset([SortKey(Source.id)])


def _documents(db: AsyncSession) -> Any:
    """A select of (id, document) for sources, for this database."""
    j = JsonSql(dialect_of(db))
    document = j.as_text(source_document(j, "source"))
    return select(Source.id, literal_column(document).label("document"))


async def list_sources(db: AsyncSession, *, page: PageRequest) -> tuple[bytes, str | None]:
    document = _documents(db).selected_columns.document

    def documents(shown: Subquery) -> Any:
        return select(shown, document).join(Source, Source.id == shown.c.id)

    keys = select(Source.id)
    return await documents_page(db, page, keys, SOURCE_ORDER, lambda row: (row.id,), documents)


async def get_source(db: AsyncSession, source_id: str) -> Document:
    return await fetch_document(
        db,
        SOURCE,
        {"source_id": source_id},
        missing=f"No source has the id '{source_id}'.",
    )


async def create_source(db: AsyncSession, *, data: SourceCreate) -> dict[str, Any]:
    await ensure_free(
        db, Source.url, data.url, f"A source with the URL '{data.url}' exists already."
    )
    source = Source(**data.model_dump())
    db.add(source)
    await db.flush()
    return await journal.after_create(db, "source", source.id, get_source)


async def update_source(
    db: AsyncSession, *, source_id: str, data: SourceUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(data, ("url",))
    before = await journal.before_write(db, Source, source_id, get_source, if_match)
    if data.url is not None:
        await ensure_free(
            db,
            Source.url,
            data.url,
            f"A source with the URL '{data.url}' exists already.",
            other_than=source_id,
        )
    source = await db.get_one(Source, source_id)
    for field, value in changes(data).items():
        setattr(source, field, value)
    return await journal.after_update(db, "source", before, get_source)


async def delete_source(
    db: AsyncSession, *, source_id: str, cascade: bool, if_match: str | None = None
) -> None:
    before = await journal.before_write(db, Source, source_id, get_source, if_match)
    cited = await db.scalar(select(func.count()).where(Citation.source_id == source_id))
    if cited and not cascade:
        raise Conflict(
            f"The source is cited by {cited} record(s); "
            "delete with ?cascade=true to remove the citations too."
        )
    await db.execute(delete(Source).where(Source.id == source_id))
    journal.deleted(db, "source", before)


# Citations: every citing record stores its source ids in order, through `citation`.


async def cite(
    db: AsyncSession,
    *,
    entity: str,
    record_id: str,
    source_ids: Sequence[str],
    pointer: str = "/source_ids",
) -> None:
    """Record the sources a new record cites (it cites none yet), refusing ids that name
    no source (422)."""
    for refusal in (await uncited_sources(db, [source_ids], pointer=pointer)).values():
        raise refusal
    await cite_all(db, entity=entity, citing=[(record_id, source_ids)])


async def uncited_sources(
    db: AsyncSession, listed: Sequence[Sequence[str]], *, pointer: str = "/source_ids"
) -> dict[int, ValidationFailed]:
    """For records about to cite sources (their lists of source ids), the 422 of each, by
    its place, that names a source that does not exist."""
    found: set[str] = set()
    for chunk in in_chunks(sid for source_ids in listed for sid in source_ids):
        found.update(await db.scalars(select(Source.id).where(Source.id.in_(chunk))))
    refusals = {}
    for place, source_ids in enumerate(listed):
        missing = [
            (f"{pointer}/{i}", f"No source has the id '{sid}'.")
            for i, sid in enumerate(source_ids)
            if sid not in found
        ]
        if missing:
            refusals[place] = ValidationFailed("Some cited sources do not exist.", errors=missing)
    return refusals


async def cite_all(
    db: AsyncSession, *, entity: str, citing: Sequence[tuple[str, Sequence[str]]]
) -> None:
    """Record the sources that new records cite, each record with its list of source ids
    (checked beforehand by uncited_sources)."""
    rows = [
        {"source_id": sid, "position": i, f"{entity}_id": record_id}
        for record_id, source_ids in citing
        for i, sid in enumerate(dict.fromkeys(source_ids))
    ]
    if rows:
        await insert_rows(db, Citation, rows)


async def set_citations(
    db: AsyncSession,
    *,
    entity: str,
    record_id: str,
    source_ids: Sequence[str],
    pointer: str = "/source_ids",
) -> None:
    """Replace the sources a record cites, refusing ids that name no source (422)."""
    column = getattr(Citation, f"{entity}_id")
    await db.execute(delete(Citation).where(column == record_id))
    await cite(db, entity=entity, record_id=record_id, source_ids=source_ids, pointer=pointer)


async def cited_source_ids(
    db: AsyncSession, *, entity: str, record_ids: Iterable[str]
) -> dict[str, list[str]]:
    """The source ids each record cites, in order; records citing nothing are absent."""
    ids = list(record_ids)
    result: dict[str, list[str]] = defaultdict(list)
    if not ids:
        return result
    column = getattr(Citation, f"{entity}_id")
    rows = await db.execute(
        select(column, Citation.source_id)
        .where(column.in_(ids))
        .order_by(column, Citation.position)
    )
    for record_id, source_id in rows:
        result[record_id].append(source_id)
    return result


async def sources_by_id(db: AsyncSession, source_ids: Iterable[str]) -> dict[str, Document]:
    ids = list(set(source_ids))
    if not ids:
        return {}
    rows = await db.execute(_documents(db).where(Source.id.in_(ids)))
    return {row.id: Document(row.document.encode()) for row in rows}
