from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import (
    Document,
    ensure_free,
    fetch_document,
    fetch_documents,
    fetch_documents_of,
    in_chunks,
    insert_rows,
    touch,
    touch_all,
    utcnow,
)
from app.errors import Conflict, NotFound, Refusals, ValidationFailed, written_alone
from app.ids import new_id
from app.journal import service as journal
from app.pagination import PageRequest
from app.schemas import changes, reject_nulls, rfc3339
from app.sessions.documents import AGENDA, AGENDA_ITEM, AGENDA_ITEMS_OF
from app.sessions.models import CouncilSession
from app.sessions.service import agenda_texts, index_sessions, topic_and_narrower
from app.sources.service import cite_all, set_citations, uncited_sources
from app.terms.service import NAME, TEXT, add_terms_of, delete_terms, list_records, set_terms
from app.topics.models import AgendaItem, Topic
from app.topics.schemas import AgendaItemCreate, AgendaItemUpdate, TopicCreate, TopicUpdate

T = TypeVar("T")

# ---------------------------------------------------------------- topics


async def find_topic_id(db: AsyncSession, topic: str) -> str | None:
    return await db.scalar(select(Topic.id).where(Topic.named(topic)))


async def resolve_topic_id(db: AsyncSession, topic: str) -> str:
    """The id of the topic named by id or slug; 404 when there is none."""
    topic_id = await find_topic_id(db, topic)
    if topic_id is None:
        raise NotFound(f"No topic has the id or slug '{topic}'.")
    return topic_id


MAX_PATH = 100  # generations a topic's `path` shows


def topic_summary(topic: Topic) -> dict[str, Any]:
    return {"id": topic.id, "slug": topic.slug, "name": topic.name, "names": topic.names}


async def _paths(db: AsyncSession, topics: Sequence[Topic]) -> dict[str, list[dict[str, Any]]]:
    """Each topic's path from the root (its MAX_PATH nearest generations), the ancestors
    fetched by one recursive query however deep the tree: one query a generation made
    an import of a chain 950 deep take minutes (issue 25)."""
    known = {t.id: t for t in topics}
    missing = {t.parent_id for t in topics if t.parent_id and t.parent_id not in known}
    if missing:
        up = (
            select(Topic.id, Topic.parent_id, literal(1).label("generation"))
            .where(Topic.id.in_(missing))
            .cte("up", recursive=True)
        )
        up = up.union_all(
            select(Topic.id, Topic.parent_id, up.c.generation + 1)
            .join(up, Topic.id == up.c.parent_id)
            .where(up.c.generation < MAX_PATH)
        )
        for ancestor in await db.scalars(select(Topic).where(Topic.id.in_(select(up.c.id)))):
            known[ancestor.id] = ancestor
    paths = {}
    for topic in topics:
        path: list[dict[str, Any]] = []
        step: Topic | None = topic
        while step is not None and len(path) < MAX_PATH:
            path.append(topic_summary(step))
            step = known.get(step.parent_id or "")
        paths[topic.id] = path[::-1]
    return paths


async def _topics_json(db: AsyncSession, topics: Sequence[Topic]) -> list[dict[str, Any]]:
    children: dict[str, list[str]] = defaultdict(list)
    paths = await _paths(db, topics)
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
            "path": paths[t.id],
            "created_at": rfc3339(t.created_at),
            "updated_at": rfc3339(t.updated_at),
        }
        for t in topics
    ]


async def list_topics(
    db: AsyncSession, *, page: PageRequest, q: str | None = None, parent: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Topics by slug; `parent` is an id, a slug, or `root` for the top level."""
    stmt = select(Topic)
    if parent == "root":
        stmt = stmt.where(Topic.parent_id.is_(None))
    elif parent is not None:
        parent_id = await find_topic_id(db, parent)
        if parent_id is None:
            raise ValidationFailed(
                "A filter names no record.",
                errors=[("/query/parent", f"No topic has the id or slug '{parent}'.")],
            )
        stmt = stmt.where(Topic.parent_id == parent_id)
    topics, next_cursor = await list_records(
        db, page=page, stmt=stmt, entity="topic", order=(Topic.slug, Topic.id), q=q
    )
    return await _topics_json(db, topics), next_cursor


async def get_topic(db: AsyncSession, topic_id: str) -> dict[str, Any]:
    topic = await db.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"No topic has the id '{topic_id}'.")
    return (await _topics_json(db, [topic]))[0]


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


async def create_topic(db: AsyncSession, *, data: TopicCreate) -> dict[str, Any]:
    await ensure_free(
        db, Topic.slug, data.slug, f"The slug '{data.slug}' is taken by another topic."
    )
    fields = data.model_dump()
    if data.parent_id is not None:
        fields["parent_id"] = await _parent_id(db, data.parent_id)
    topic = Topic(**fields)
    db.add(topic)
    await db.flush()
    await index_topic(db, topic.id)
    return await journal.after_create(db, "topic", topic.id, get_topic)


async def update_topic(
    db: AsyncSession, *, topic_id: str, data: TopicUpdate, if_match: str | None = None
) -> dict[str, Any]:
    reject_nulls(data, ("slug", "name", "names", "countries"))
    before = await journal.before_write(db, Topic, topic_id, get_topic, if_match)
    topic = await db.get_one(Topic, topic_id)
    if data.slug is not None:
        await ensure_free(
            db,
            Topic.slug,
            data.slug,
            f"The slug '{data.slug}' is taken by another topic.",
            other_than=topic_id,
        )
    fields = changes(data)
    if data.parent_id is not None:
        fields["parent_id"] = await _parent_id(db, data.parent_id, child_id=topic_id)
    for field, value in fields.items():
        setattr(topic, field, value)
    topic.updated_at = utcnow()
    await db.flush()
    await index_topic(db, topic_id)
    if {"name", "names"} & data.model_fields_set:
        # Sessions are found by the names of the topics on their agenda.
        await index_sessions(db, await _sessions_with_topics(db, [topic_id]))
    return await journal.after_update(db, "topic", before, get_topic)


async def _sessions_with_topics(db: AsyncSession, topic_ids: list[str]) -> list[str]:
    return list(
        await db.scalars(
            select(AgendaItem.session_id).where(AgendaItem.topic_id.in_(topic_ids)).distinct()
        )
    )


async def delete_topic(
    db: AsyncSession, *, topic_id: str, cascade: bool, if_match: str | None = None
) -> None:
    """Delete a topic; with `cascade`, its narrower topics and the agenda items naming any
    of them too, each journaled."""
    before = await journal.before_write(db, Topic, topic_id, get_topic, if_match)
    subtree = await topic_and_narrower(db, topic_id)
    sessions = await _sessions_with_topics(db, subtree)
    if (sessions or len(subtree) > 1) and not cascade:
        uses = await db.scalar(select(func.count()).where(AgendaItem.topic_id.in_(subtree)))
        raise Conflict(
            f"The topic has {len(subtree) - 1} narrower topic(s) and is on {uses} agenda "
            "item(s); delete with ?cascade=true to delete those too."
        )
    for session_id in sessions:
        for item in orjson.loads(await list_agenda(db, session_id)):
            if item["topic_id"] in subtree:
                journal.deleted(db, "agenda_item", item)
    for narrower_id in subtree[1:]:
        journal.deleted(db, "topic", await get_topic(db, narrower_id))
    await db.execute(delete(Topic).where(Topic.id == topic_id))
    await delete_terms(db, "topic", subtree)
    journal.deleted(db, "topic", before)
    for session_id in sessions:
        await _renumber(db, session_id)
    await index_sessions(db, sessions)


# ---------------------------------------------------------------- agenda items


async def list_agenda(db: AsyncSession, session_id: str) -> bytes:
    """A session's agenda in order, as the JSON array of its items' documents."""
    return await fetch_documents(db, AGENDA, {"session_id": session_id})


async def get_agenda_item(db: AsyncSession, session_id: str, item_id: str) -> Document:
    return await fetch_document(
        db,
        AGENDA_ITEM,
        {"session_id": session_id, "item_id": item_id},
        missing=f"The session's agenda has no item with the id '{item_id}'.",
    )


async def _agenda_topic(db: AsyncSession, topic_id_or_slug: str) -> Topic:
    topic = (await _agenda_topics(db, [topic_id_or_slug])).get(topic_id_or_slug)
    if topic is None:
        raise _no_such_topic(topic_id_or_slug)
    return topic


def _no_such_topic(topic_id_or_slug: str) -> ValidationFailed:
    return ValidationFailed(
        "The topic does not exist.",
        errors=[("/topic_id", f"No topic has the id or slug '{topic_id_or_slug}'.")],
    )


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
    for number, agenda_item in enumerate(_placed(others, item, position), start=1):
        if agenda_item.position != number:
            agenda_item.position = number
    await db.flush()


def _placed(agenda: list[T], item: T, position: int | None) -> list[T]:
    """The agenda with `item` at `position` (1-based; the end when None or past it)."""
    index = len(agenda) if position is None else min(position - 1, len(agenda))
    return [*agenda[:index], item, *agenda[index:]]


async def _renumber(db: AsyncSession, session_id: str) -> None:
    items = await db.scalars(
        select(AgendaItem)
        .where(AgendaItem.session_id == session_id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    for number, item in enumerate(items, start=1):
        item.position = number
    await db.flush()


async def _change_agenda(db: AsyncSession, session_id: str) -> None:
    """The first step of every agenda write: the session is marked changed, which locks
    it until commit, so that writes to one agenda take turns. Positions stay contiguous,
    and the session's search terms are rewritten by one writer at a time."""
    await touch(db, CouncilSession, session_id)


def _item_reader(session_id: str) -> journal.Reader:
    return lambda db, item_id: get_agenda_item(db, session_id, item_id)


async def get_agenda_items(db: AsyncSession, item_ids: Sequence[str]) -> dict[str, Document]:
    """get_agenda_item of many items (by id only), by id."""
    return await fetch_documents_of(db, AGENDA_ITEMS_OF, item_ids)


async def create_agenda_item(
    db: AsyncSession, *, session_id: str, data: AgendaItemCreate
) -> dict[str, Any]:
    return written_alone(await create_agenda_items(db, items=[(session_id, data)]))


async def check_agenda_items(
    db: AsyncSession, *, items: Sequence[tuple[str, AgendaItemCreate]]
) -> Refusals:
    """What create_agenda_items would refuse, writing nothing."""
    refused = Refusals()
    topics = await _agenda_topics(db, [data.topic_id for _, data in items])
    for n, (_, data) in enumerate(items):
        if data.topic_id not in topics:
            refused.refuse(n, _no_such_topic(data.topic_id))
    uncited = await uncited_sources(db, [data.source_ids for _, data in items])
    for n, refusal in uncited.items():
        refused.refuse(n, refusal)
    return refused


async def create_agenda_items(
    db: AsyncSession, *, items: Sequence[tuple[str, AgendaItemCreate]]
) -> tuple[dict[int, Document], Refusals]:
    """Add items to the agendas of sessions (by id) at once, each checked and placed as
    create_agenda_item places one, in the order of `items`: the documents by place in
    `items`, and the refusals."""
    refused = await check_agenda_items(db, items=items)
    topics = await _agenda_topics(db, [data.topic_id for _, data in items])
    accepted = [(n, session_id, d) for n, (session_id, d) in enumerate(items) if n not in refused]
    if not accepted:
        return {}, refused
    sessions = list(dict.fromkeys(session_id for _, session_id, _ in accepted))
    await touch_all(db, CouncilSession, sessions)  # as _change_agenda, for each
    stored: dict[str, AgendaItem] = {}
    agendas: dict[str, list[str]] = defaultdict(list)
    for chunk in in_chunks(sessions):
        for item in await db.scalars(
            select(AgendaItem)
            .where(AgendaItem.session_id.in_(chunk))
            .order_by(AgendaItem.session_id, AgendaItem.position, AgendaItem.id)
        ):
            stored[item.id] = item
            agendas[item.session_id].append(item.id)
    rows: list[dict[str, Any]] = []
    for _, session_id, data in accepted:
        row: dict[str, Any] = {
            "id": new_id(),
            "session_id": session_id,
            "topic_id": topics[data.topic_id].id,
            "title": data.title,
            "note": data.note,
        }
        agendas[session_id] = _placed(agendas[session_id], row["id"], data.position)
        rows.append(row)
    numbers = {item_id: n for agenda in agendas.values() for n, item_id in enumerate(agenda, 1)}
    for item_id, item in stored.items():
        if item.position != numbers[item_id]:
            item.position = numbers[item_id]
    await db.flush()
    await insert_rows(db, AgendaItem, [row | {"position": numbers[row["id"]]} for row in rows])
    made = [(row, data) for row, (_, _, data) in zip(rows, accepted, strict=True)]
    await cite_all(db, entity="agenda_item", citing=[(r["id"], d.source_ids) for r, d in made])
    texts = [
        (row["session_id"], agenda_texts(d.title, d.note, topic.name, topic.names))
        for row, d in made
        for topic in [topics[d.topic_id]]
    ]
    await add_terms_of(db, "session", texts)
    ids = [row["id"] for row in rows]
    records = await journal.after_create_many(db, "agenda_item", ids, get_agenda_items)
    return {n: records[i] for i, (n, _, _) in zip(ids, accepted, strict=True)}, refused


async def _agenda_topics(db: AsyncSession, named: Sequence[str]) -> dict[str, Topic]:
    """The topics that `named` names by id or slug, by name."""
    topics: dict[str, Topic] = {}
    for chunk in in_chunks(named):
        for topic in await db.scalars(
            select(Topic).where(or_(Topic.id.in_(chunk), Topic.slug.in_(chunk)))
        ):
            topics[topic.id] = topics[topic.slug] = topic
    return {name: topics[name] for name in named if name in topics}


async def update_agenda_item(
    db: AsyncSession,
    *,
    session_id: str,
    item_id: str,
    data: AgendaItemUpdate,
    if_match: str | None = None,
) -> dict[str, Any]:
    reject_nulls(data, ("topic_id", "position", "source_ids"))
    read = _item_reader(session_id)
    await _change_agenda(db, session_id)
    before = await journal.before_write(db, AgendaItem, item_id, read, if_match)
    item = await db.get_one(AgendaItem, item_id)
    if data.topic_id is not None:
        item.topic_id = (await _agenda_topic(db, data.topic_id)).id
    for field, value in changes(data, exclude={"topic_id", "position", "source_ids"}).items():
        setattr(item, field, value)
    if data.position is not None:
        await _place(db, session_id, item, data.position)
    if data.source_ids is not None:
        await set_citations(db, entity="agenda_item", record_id=item_id, source_ids=data.source_ids)
    item.updated_at = utcnow()
    await db.flush()
    await index_sessions(db, [session_id])
    return await journal.after_update(db, "agenda_item", before, read)


async def delete_agenda_item(
    db: AsyncSession, *, session_id: str, item_id: str, if_match: str | None = None
) -> None:
    read = _item_reader(session_id)
    await _change_agenda(db, session_id)
    before = await journal.before_write(db, AgendaItem, item_id, read, if_match)
    await db.execute(delete(AgendaItem).where(AgendaItem.id == item_id))
    await _renumber(db, session_id)
    await index_sessions(db, [session_id])
    journal.deleted(db, "agenda_item", before)


async def index_topic(db: AsyncSession, topic_id: str) -> None:
    topic = await db.get_one(Topic, topic_id)
    texts = [(topic.name, NAME), (topic.description, TEXT)]
    await set_terms(db, "topic", topic_id, texts + [(n, NAME) for n in topic.names.values()])
