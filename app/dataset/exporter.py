"""Dataset export: every record in the entente-dataset format, by natural keys, in a
stable order, so that export → import into an empty database → export is the same."""

import re
from collections.abc import Callable
from typing import Any

from anyascii import anyascii
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.councils.models import Council
from app.councils.service import get_council
from app.db import in_chunks
from app.people.models import Participation, Person
from app.people.service import get_persons
from app.sessions.models import CouncilSession
from app.sessions.service import get_session_details
from app.sources.models import Source
from app.sources.service import get_source
from app.topics.models import Topic


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", anyascii(text).lower()).strip("-") or "x"


def person_key(person_id: str, name: str, key: str | None) -> str:
    """A person's key in datasets: the stored one, else one made from the name and id,
    which stays the same across exports and which the importer recognizes."""
    return key or f"{_slug(name)[:80]}-{person_id[-12:]}"


def session_key(session_id: str, title: str, slug: str | None) -> str:
    """A meeting's slug in datasets: the stored one, else one made from its title and id,
    which stays the same across exports and which the importer recognizes."""
    return slug or f"{_slug(title)[:80]}-{session_id[-12:]}"


def segment_keys(segments: list[dict[str, Any]]) -> dict[str, str]:
    """Each segment's key in datasets, by id: the stored one, else one from its place."""
    taken = {s["key"] for s in segments if s["key"]}
    keys: dict[str, str] = {}
    for number, segment in enumerate(segments, start=1):
        key = segment["key"]
        if key is None:
            key = f"segment-{number}"
            if key in taken:
                key = f"{key}-{segment['id'][-12:]}"
        keys[segment["id"]] = key
    return keys


async def export_dataset(db: AsyncSession) -> dict[str, Any]:
    source_urls = dict((await db.execute(select(Source.id, Source.url))).all())
    topic_slugs = dict((await db.execute(select(Topic.id, Topic.slug))).all())
    council_slugs = dict((await db.execute(select(Council.id, Council.slug))).all())

    def urls(ids: list[str]) -> list[str]:
        return [source_urls[i] for i in ids]

    sources = []
    for source_id in await db.scalars(select(Source.id).order_by(Source.url)):
        source = await get_source(db, source_id)
        sources.append(
            {
                k: source[k]
                for k in (
                    "url",
                    "title",
                    "publisher",
                    "language",
                    "published_on",
                    "online_on",
                    "note",
                )
            }
        )

    topics = [
        {
            "slug": t.slug,
            "name": t.name,
            "names": t.names,
            "parent": topic_slugs.get(t.parent_id or ""),
            "description": t.description,
            "countries": t.countries,
        }
        for t in await db.scalars(select(Topic).order_by(Topic.slug))
    ]

    # Persons without a dataset key get one, from their name and id, stable across exports.
    person_keys = {p.id: person_key(p.id, p.name, p.key) for p in await db.scalars(select(Person))}
    persons = []
    ordered = sorted(person_keys, key=lambda i: person_keys[i])
    for chunk in in_chunks(ordered):
        documents = await get_persons(db, chunk)
        persons += [
            _person(documents[person_id], person_keys[person_id], urls) for person_id in chunk
        ]

    councils = []
    for council_id in await db.scalars(select(Council.id).order_by(Council.slug)):
        council = await get_council(db, council_id)
        councils.append(
            {
                **{
                    k: council[k]
                    for k in (
                        "slug",
                        "acronym",
                        "name",
                        "names",
                        "kind",
                        "member_countries",
                        "established_on",
                        "founding_context",
                        "description",
                        "status",
                    )
                },
                "sources": urls(council["source_ids"]),
            }
        )

    # Council sessions by council, then meetings outside councils; each by date and key.
    stored = (await db.execute(select(CouncilSession.id, CouncilSession.title))).all()
    titles = {session_id: title for session_id, title in stored}
    given_offices = {
        participation_id
        for participation_id, given in await db.execute(
            select(Participation.id, Participation.office_given)
        )
        if given
    }
    sessions = []
    for chunk in in_chunks(titles):
        documents = await get_session_details(db, chunk)
        sessions += [
            _session(
                documents[i],
                titles[i],
                council_slugs,
                person_keys,
                topic_slugs,
                urls,
                given_offices,
            )
            for i in chunk
        ]
    sessions.sort(
        key=lambda s: (
            s["council"] is None,
            s["council"] or "",
            s["start_date"],
            s["ordinal"] is None,
            s["ordinal"] or 0,
            s["slug"] or "",
        )
    )

    return {
        "format": "entente-dataset",
        "version": 1,
        "sources": sources,
        "topics": topics,
        "persons": persons,
        "councils": councils,
        "sessions": sessions,
    }


def _person(
    person: dict[str, Any], key: str, urls: Callable[[list[str]], list[str]]
) -> dict[str, Any]:
    return {
        "key": key,
        **{
            k: person[k]
            for k in (
                "name",
                "honorific_prefix",
                "given_name",
                "family_name",
                "nationality",
                "other_names",
                "identifiers",
            )
        },
        "offices": [
            {
                **{
                    k: o[k]
                    for k in (
                        "title",
                        "names",
                        "role",
                        "country",
                        "organization",
                        "start_date",
                        "end_date",
                    )
                },
                "sources": urls(o["source_ids"]),
            }
            for o in person["offices"]
        ],
        "sources": urls(person["source_ids"]),
    }


def _session(
    session: dict[str, Any],
    stored_title: str | None,
    council_slugs: dict[str, str],
    person_keys: dict[str, str],
    topic_slugs: dict[str, str],
    urls: Callable[[list[str]], list[str]],
    given_offices: set[str],
) -> dict[str, Any]:
    """A session as datasets have it: a council's session is named by its council and
    ordinal (or date), its parties derived; a meeting outside councils by its slug (made
    up when it has none), with its kind and parties."""
    segment_key = segment_keys(session["segments"])
    in_council = session["council_id"] is not None
    return {
        "council": council_slugs[session["council_id"]] if in_council else None,
        "slug": session["slug"]
        if in_council
        else session_key(session["id"], session["title"], session["slug"]),
        "kind": session["kind"],
        "countries": None if in_council else session["countries"],
        "identifiers": session["identifiers"],
        **{
            k: session[k]
            for k in (
                "ordinal",
                "start_date",
                "end_date",
                "timezone",
                "location",
                "host_country",
                "guest_countries",
                "status",
                "summary",
            )
        },
        "title": stored_title,
        "segments": [
            {
                "key": segment_key[s["id"]],
                **{
                    k: s[k]
                    for k in ("kind", "format", "title", "date", "part_of_day", "description")
                },
            }
            for s in session["segments"]
        ],
        "participants": [
            {
                "person": person_keys[p["person_id"]],
                "delegation": p["delegation"],
                "role": p["role"],
                "office_title": p["title_at_time"] if p["id"] in given_offices else None,
                "segments": [segment_key[s] for s in p["segment_ids"]],
                "note": p["note"],
                "sources": urls(p["source_ids"]),
            }
            for p in session["participants"]
        ],
        "agenda": [
            {
                "topic": topic_slugs[a["topic_id"]],
                "position": a["position"],
                "title": a["title"],
                "note": a["note"],
                "sources": urls(a["source_ids"]),
            }
            for a in session["agenda"]
        ],
        "sources": urls(session["source_ids"]),
    }
