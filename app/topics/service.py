from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import Keyset, PageRequest, SortKey
from app.schemas import changes, reject_nulls, rfc3339
from app.sources.service import cited_source_ids, set_citations
from app.topics.models import AgendaItem, Topic
from app.topics.schemas import AgendaItemCreate, AgendaItemUpdate, TopicCreate, TopicUpdate

TOPIC_ORDER = Keyset([SortKey(Topic.slug), SortKey(Topic.id)])

# ---------------------------------------------------------------- topics


async def find_topic_id(db: AsyncSession, topic: str) -> str | None:
    return await db.scalar(select(Topic.id).where(or_(Topic.id == topic, Topic.slug == topic)))


async def resolve_topic_id(db: AsyncSession, topic: str) -> str:
    """The id of the topic named by id or slug; 404 when there is none."""
    topic_id = await find_topic_id(db, topic)
    if topic_id is None:
        raise NotFound(f"No topic has the id or slug '{topic}'.")
    return topic_id


async def _topics_json(db: AsyncSession, topics: Sequence[Topic]) -> list[dict[str, Any]]:
    children: dict[str, list[str]] = defaultdict(list)
    ids = [t.id for t in topics]
    for parent_id, child_id in await db.execute(
        select(Topic.parent_id, Topic.id).where(Topic.parent_id.in_(ids)).order_by(Topic.slug)
    ):
        if parent_id is not None:
            children[parent_id].append(child_id)
    return [
        {
            "id": t.id,
            "slug": t.slug,
            "name": t.name,
            "names": t.names,
            "parent_id": t.parent_id,
            "description": t.description,
            "countries": t.countries,
            "children": children[t.id],
            "created_at": rfc3339(t.created_at),
            "updated_at": rfc3339(t.updated_at),
        }
        for t in topics
    ]


async def list_topics(
    db: AsyncSession, *, page: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    rows = (await db.scalars(page.select(select(Topic), TOPIC_ORDER))).all()
    rows, next_cursor = page.cut(rows, TOPIC_ORDER, lambda t: (t.slug, t.id))
    return await _topics_json(db, rows), next_cursor


async def get_topic(db: AsyncSession, topic_id: str) -> dict[str, Any]:
    topic = await db.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"No topic has the id '{topic_id}'.")
    return (await _topics_json(db, [topic]))[0]


async def _check_slug_free(db: AsyncSession, slug: str, *, other_than: str | None = None) -> None:
    stmt = select(Topic.id).where(Topic.slug == slug)
    if other_than is not None:
        stmt = stmt.where(Topic.id != other_than)
    if await db.scalar(stmt) is not None:
        raise Conflict(f"The slug '{slug}' is taken by another topic.")


async def _parent_id(db: AsyncSession, parent: str, *, child_id: str | None = None) -> str:
    parent_id = await find_topic_id(db, parent)
    if parent_id is None:
        raise ValidationFailed(
            "The parent topic does not exist.",
            errors=[("/parent_id", f"No topic has the id or slug '{parent}'.")],
        )
    # Walk up from the new parent: meeting the child itself would close a cycle.
    ancestor: str | None = parent_id
    while ancestor is not None and child_id is not None:
        if ancestor == child_id:
            raise ValidationFailed(
                "A topic cannot be its own ancestor.",
                errors=[
                    ("/parent_id", "This parent is the topic itself or one of its descendants.")
                ],
            )
        ancestor = await db.scalar(select(Topic.parent_id).where(Topic.id == ancestor))
    return parent_id


async def create_topic(db: AsyncSession, *, data: TopicCreate) -> str:
    await _check_slug_free(db, data.slug)
    fields = data.model_dump()
    if data.parent_id is not None:
        fields["parent_id"] = await _parent_id(db, data.parent_id)
    topic = Topic(**fields)
    db.add(topic)
    await db.flush()
    return topic.id


async def update_topic(db: AsyncSession, *, topic_id: str, data: TopicUpdate) -> None:
    reject_nulls(data, ("slug", "name", "names", "countries"))
    topic = await db.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"No topic has the id '{topic_id}'.")
    if data.slug is not None:
        await _check_slug_free(db, data.slug, other_than=topic_id)
    fields = changes(data)
    if data.parent_id is not None:
        fields["parent_id"] = await _parent_id(db, data.parent_id, child_id=topic_id)
    for field, value in fields.items():
        setattr(topic, field, value)
    topic.updated_at = utcnow()
    await db.flush()


async def descendant_ids(db: AsyncSession, topic_id: str) -> list[str]:
    """The topic and every topic under it, by a recursive query."""
    tree = select(Topic.id).where(Topic.id == topic_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Topic.id).join(tree, Topic.parent_id == tree.c.id))
    return list(await db.scalars(select(tree.c.id)))


async def delete_topic(db: AsyncSession, *, topic_id: str, cascade: bool) -> None:
    topic = await db.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"No topic has the id '{topic_id}'.")
    subtree = await descendant_ids(db, topic_id)
    uses = await db.scalar(select(func.count()).where(AgendaItem.topic_id.in_(subtree)))
    if (uses or len(subtree) > 1) and not cascade:
        raise Conflict(
            f"The topic has {len(subtree) - 1} narrower topic(s) and is on {uses} agenda "
            "item(s); delete with ?cascade=true to delete those too."
        )
    sessions = set(
        await db.scalars(select(AgendaItem.session_id).where(AgendaItem.topic_id.in_(subtree)))
    )
    await db.delete(topic)
    await db.flush()
    for session_id in sessions:
        await _renumber(db, session_id)


# ---------------------------------------------------------------- agenda items

AGENDA_COLUMNS = (
    AgendaItem.id,
    AgendaItem.session_id,
    AgendaItem.topic_id,
    Topic.slug.label("topic_slug"),
    Topic.name.label("topic_name"),
    Topic.names.label("topic_names"),
    AgendaItem.position,
    AgendaItem.title,
    AgendaItem.note,
    AgendaItem.created_at,
    AgendaItem.updated_at,
)


async def agenda_json(
    db: AsyncSession, *, session_id: str, item_id: str | None = None
) -> list[dict[str, Any]]:
    stmt = (
        select(*AGENDA_COLUMNS)
        .join(Topic, Topic.id == AgendaItem.topic_id)
        .where(AgendaItem.session_id == session_id)
        .order_by(AgendaItem.position)
    )
    if item_id is not None:
        stmt = stmt.where(AgendaItem.id == item_id)
    rows = (await db.execute(stmt)).all()
    citations = await cited_source_ids(db, entity="agenda_item", record_ids=[r.id for r in rows])
    return [
        {
            "id": r.id,
            "session_id": r.session_id,
            "topic_id": r.topic_id,
            "topic": {
                "id": r.topic_id,
                "slug": r.topic_slug,
                "name": r.topic_name,
                "names": r.topic_names,
            },
            "position": r.position,
            "title": r.title,
            "note": r.note,
            "source_ids": citations.get(r.id, []),
            "created_at": rfc3339(r.created_at),
            "updated_at": rfc3339(r.updated_at),
        }
        for r in rows
    ]


async def get_agenda_item(db: AsyncSession, session_id: str, item_id: str) -> dict[str, Any]:
    found = await agenda_json(db, session_id=session_id, item_id=item_id)
    if not found:
        raise NotFound(f"The session's agenda has no item with the id '{item_id}'.")
    return found[0]


async def _agenda_topic_id(db: AsyncSession, topic: str) -> str:
    topic_id = await find_topic_id(db, topic)
    if topic_id is None:
        raise ValidationFailed(
            "The topic does not exist.",
            errors=[("/topic_id", f"No topic has the id or slug '{topic}'.")],
        )
    return topic_id


async def _place(db: AsyncSession, session_id: str, item: AgendaItem, position: int | None) -> None:
    """Put `item` at `position` (1-based; the end when None or past it) and number the
    agenda 1..n again, so that positions stay contiguous."""
    others = list(
        await db.scalars(
            select(AgendaItem)
            .where(AgendaItem.session_id == session_id, AgendaItem.id != item.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )
    index = len(others) if position is None else min(position - 1, len(others))
    others.insert(index, item)
    for number, agenda_item in enumerate(others, start=1):
        if agenda_item.position != number:
            agenda_item.position = number
    await db.flush()


async def _renumber(db: AsyncSession, session_id: str) -> None:
    items = await db.scalars(
        select(AgendaItem)
        .where(AgendaItem.session_id == session_id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    for number, item in enumerate(items, start=1):
        item.position = number
    await db.flush()


async def create_agenda_item(db: AsyncSession, *, session_id: str, data: AgendaItemCreate) -> str:
    topic_id = await _agenda_topic_id(db, data.topic_id)
    item = AgendaItem(
        session_id=session_id, topic_id=topic_id, position=0, title=data.title, note=data.note
    )
    db.add(item)
    await db.flush()
    await _place(db, session_id, item, data.position)
    await set_citations(db, entity="agenda_item", record_id=item.id, source_ids=data.source_ids)
    return item.id


async def _require_item(db: AsyncSession, session_id: str, item_id: str) -> AgendaItem:
    item = await db.get(AgendaItem, item_id)
    if item is None or item.session_id != session_id:
        raise NotFound(f"The session's agenda has no item with the id '{item_id}'.")
    return item


async def update_agenda_item(
    db: AsyncSession, *, session_id: str, item_id: str, data: AgendaItemUpdate
) -> None:
    reject_nulls(data, ("topic_id", "position", "source_ids"))
    item = await _require_item(db, session_id, item_id)
    if data.topic_id is not None:
        item.topic_id = await _agenda_topic_id(db, data.topic_id)
    for field, value in changes(data, exclude={"topic_id", "position", "source_ids"}).items():
        setattr(item, field, value)
    if data.position is not None:
        await _place(db, session_id, item, data.position)
    if data.source_ids is not None:
        await set_citations(db, entity="agenda_item", record_id=item_id, source_ids=data.source_ids)
    item.updated_at = utcnow()
    await db.flush()


async def delete_agenda_item(db: AsyncSession, *, session_id: str, item_id: str) -> None:
    await db.delete(await _require_item(db, session_id, item_id))
    await db.flush()
    await _renumber(db, session_id)
