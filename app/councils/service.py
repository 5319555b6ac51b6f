from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.models import Council, CouncilKind, CouncilMember, CouncilStatus
from app.councils.schemas import CouncilCreate, CouncilUpdate, check_members
from app.db import ensure_free, utcnow
from app.errors import NotFound, ValidationFailed
from app.journal import service as journal
from app.journal.service import Written
from app.pagination import PageRequest
from app.schemas import changes, reject_nulls, rfc3339
from app.sources.service import cite, cited_source_ids, set_citations, sources_by_id
from app.terms.service import NAME, TEXT, delete_terms, list_records, set_terms


async def find_council_id(db: AsyncSession, council: str) -> str | None:
    return await db.scalar(select(Council.id).where(Council.named(council)))


async def resolve_council_id(db: AsyncSession, council: str) -> str:
    """The id of the council named by id or slug; 404 when there is none."""
    council_id = await find_council_id(db, council)
    if council_id is None:
        raise NotFound(f"No council has the id or slug '{council}'.")
    return council_id


async def _members(db: AsyncSession, council_ids: Sequence[str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    rows = await db.execute(
        select(CouncilMember.council_id, CouncilMember.country)
        .where(CouncilMember.council_id.in_(council_ids))
        .order_by(CouncilMember.council_id, CouncilMember.position)
    )
    for council_id, country in rows:
        members[council_id].append(country)
    return members


async def _councils_json(db: AsyncSession, councils: Sequence[Council]) -> list[dict[str, Any]]:
    """Councils with their members and sources, in three queries whatever their number."""
    ids = [c.id for c in councils]
    members = await _members(db, ids)
    citations = await cited_source_ids(db, entity="council", record_ids=ids)
    sources = await sources_by_id(db, (s for ss in citations.values() for s in ss))
    return [
        {
            "id": c.id,
            "slug": c.slug,
            "acronym": c.acronym,
            "name": c.name,
            "names": c.names,
            "kind": c.kind.value,
            "member_countries": members[c.id],
            "established_on": c.established_on,
            "founding_context": c.founding_context,
            "description": c.description,
            "status": c.status.value,
            "source_ids": citations.get(c.id, []),
            "sources": [sources[s] for s in citations.get(c.id, [])],
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
        }
        for c in councils
    ]


async def list_councils(
    db: AsyncSession,
    *,
    page: PageRequest,
    q: str | None = None,
    countries: Sequence[str] = (),
    kinds: Sequence[CouncilKind] = (),
    statuses: Sequence[CouncilStatus] = (),
) -> tuple[list[dict[str, Any]], str | None]:
    """Councils by slug; with `q`, best matches first."""
    stmt = select(Council)
    if countries:
        members = select(CouncilMember.council_id).where(CouncilMember.country.in_(countries))
        stmt = stmt.where(Council.id.in_(members))
    if kinds:
        stmt = stmt.where(Council.kind.in_(kinds))
    if statuses:
        stmt = stmt.where(Council.status.in_(statuses))
    councils, next_cursor = await list_records(
        db, page=page, stmt=stmt, entity="council", order=(Council.slug, Council.id), q=q
    )
    return await _councils_json(db, councils), next_cursor


async def get_council(db: AsyncSession, council_id: str) -> dict[str, Any]:
    council = await db.get(Council, council_id)
    if council is None:
        raise NotFound(f"No council has the id '{council_id}'.")
    return (await _councils_json(db, [council]))[0]


async def _set_members(db: AsyncSession, council_id: str, countries: list[str]) -> None:
    await db.execute(delete(CouncilMember).where(CouncilMember.council_id == council_id))
    await db.execute(
        insert(CouncilMember),
        [{"council_id": council_id, "country": c, "position": i} for i, c in enumerate(countries)],
    )


async def create_council(db: AsyncSession, *, data: CouncilCreate) -> dict[str, Any]:
    await ensure_free(
        db, Council.slug, data.slug, f"The slug '{data.slug}' is taken by another council."
    )
    council = Council(**data.model_dump(exclude={"member_countries", "source_ids"}))
    db.add(council)
    await db.flush()
    await _set_members(db, council.id, data.member_countries)
    await cite(db, entity="council", record_id=council.id, source_ids=data.source_ids)
    await index_council(db, council.id)
    return await journal.after_create(db, "council", council.id, get_council)


async def update_council(
    db: AsyncSession, *, council_id: str, data: CouncilUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(
        data, ("slug", "name", "names", "kind", "member_countries", "status", "source_ids")
    )
    before = await journal.before_write(db, Council, council_id, get_council, if_match)
    if data.slug is not None:
        await ensure_free(
            db,
            Council.slug,
            data.slug,
            f"The slug '{data.slug}' is taken by another council.",
            other_than=council_id,
        )
    members = before["member_countries"] if data.member_countries is None else data.member_countries
    problem = check_members(data.kind or CouncilKind(before["kind"]), members)
    if problem:
        raise ValidationFailed(
            "The council's kind and members disagree.", errors=[("/member_countries", problem)]
        )
    council = await db.get_one(Council, council_id)
    for field, value in changes(data, exclude={"member_countries", "source_ids"}).items():
        setattr(council, field, value)
    if data.member_countries is not None:
        await _set_members(db, council_id, data.member_countries)
    if data.source_ids is not None:
        await set_citations(db, entity="council", record_id=council_id, source_ids=data.source_ids)
    council.updated_at = utcnow()
    await db.flush()
    await index_council(db, council_id)
    await journal.written(
        db, Written("council", council_id, changed=frozenset(data.model_fields_set))
    )
    return await journal.after_update(db, "council", before, get_council)


async def delete_council(
    db: AsyncSession, *, council_id: str, cascade: bool, if_match: str | None = None
) -> None:
    before = await journal.before_write(db, Council, council_id, get_council, if_match)
    await journal.written(db, Written("council", council_id, deleting=True, cascade=cascade))
    await db.execute(delete(Council).where(Council.id == council_id))
    await delete_terms(db, "council", [council_id])
    journal.deleted(db, "council", before)


async def index_council(db: AsyncSession, council_id: str) -> None:
    council = await db.get_one(Council, council_id)
    texts = [(council.acronym, NAME), (council.name, NAME), (council.description, TEXT)]
    await set_terms(db, "council", council_id, texts + [(n, NAME) for n in council.names.values()])
