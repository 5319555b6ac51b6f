"""Identifiers of a record in other schemes (Popolo `identifiers`): a Wikidata item for a
person, a ministry register's number for a visit. A `(scheme, identifier)` pair names one
record of its kind, so that a register can be imported again and again without doubles."""

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.db import in_chunks, insert_rows
from app.errors import Conflict
from app.schemas import InputModel, ReadModel
from app.types import ShortText, TinyText


class Identifier(InputModel):
    scheme: TinyText = Field(examples=["wikidata"])
    identifier: ShortText = Field(examples=["Q80137"])


Identifiers = Annotated[list[Identifier], Field(max_length=50)]


class IdentifierRead(ReadModel):
    scheme: str
    identifier: str


async def set_identifiers(
    db: AsyncSession,
    owner: InstrumentedAttribute[Any],
    owner_id: str,
    identifiers: Sequence[Identifier],
    *,
    noun: str,
) -> None:
    """Replace the identifiers of the record `owner_id`, `owner` being the column of their
    table that names it (`PersonIdentifier.person_id`). A pair another `noun` holds, or
    listed twice, is 409 and nothing is written."""
    for clash in (
        await identifier_clashes(db, owner, [(owner_id, identifiers)], noun=noun)
    ).values():
        raise clash
    await db.execute(delete(owner.class_).where(owner == owner_id))
    await add_identifiers(db, owner, [(owner_id, identifiers)])


async def identifier_clashes(
    db: AsyncSession,
    owner: InstrumentedAttribute[Any],
    listed: Sequence[tuple[str | None, Sequence[Identifier]]],
    *,
    noun: str,
) -> dict[int, Conflict]:
    """For records about to be given identifiers (each with its id, None when it is new),
    the 409 of each, by its place, that lists a pair another record holds, or an earlier
    record of the list, or that it lists twice."""
    table = owner.class_
    pairs = {(i.scheme, i.identifier) for _, identifiers in listed for i in identifiers}
    holders: dict[tuple[str, str], set[str]] = {}
    for chunk in in_chunks(pairs):
        rows = await db.execute(
            select(table.scheme, table.identifier, owner).where(
                tuple_(table.scheme, table.identifier).in_(chunk)
            )
        )
        for scheme, identifier, holder in rows:
            holders.setdefault((scheme, identifier), set()).add(holder)
    clashes: dict[int, Conflict] = {}
    listed_before: set[tuple[str, str]] = set()
    for place, (owner_id, identifiers) in enumerate(listed):
        own = [(i.scheme, i.identifier) for i in identifiers]
        doubles = {pair for pair in own if own.count(pair) > 1}
        taken = {pair for pair in own if holders.get(pair, set()) - {owner_id}} | (
            set(own) & listed_before
        )
        if clash := [pair for pair in dict.fromkeys(own) if pair in taken | doubles]:
            message = f" is already given to another {noun} (or listed twice)."
            clashes[place] = Conflict(
                "The identifier "
                + ", ".join(f"{scheme}:{identifier}" for scheme, identifier in clash)
                + message,
                errors=[
                    (f"/identifiers/{i}", f"{pair[0]}:{pair[1]}{message}")
                    for i, pair in enumerate(own)
                    if pair in taken or own.index(pair) != i
                ],
            )
        listed_before.update(own)
    return clashes


async def add_identifiers(
    db: AsyncSession,
    owner: InstrumentedAttribute[Any],
    listed: Sequence[tuple[str, Sequence[Identifier]]],
) -> None:
    """Give records that have none their identifiers, in order (checked beforehand by
    identifier_clashes)."""
    rows = [
        {owner.key: owner_id, "position": i, "scheme": item.scheme, "identifier": item.identifier}
        for owner_id, identifiers in listed
        for i, item in enumerate(identifiers)
    ]
    if rows:
        await insert_rows(db, owner.class_, rows)
