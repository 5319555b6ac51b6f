"""Identifiers of a record in other schemes (Popolo `identifiers`): a Wikidata item for a
person, a ministry register's number for a visit. A `(scheme, identifier)` pair names one
record of its kind, so that a register can be imported again and again without doubles."""

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

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
    table = owner.class_
    pairs = [(i.scheme, i.identifier) for i in identifiers]
    taken = set()
    if pairs:
        rows = await db.execute(
            select(table.scheme, table.identifier).where(
                tuple_(table.scheme, table.identifier).in_(pairs), owner != owner_id
            )
        )
        taken = {(scheme, identifier) for scheme, identifier in rows}
    doubles = {pair for pair in pairs if pairs.count(pair) > 1}
    if clashes := [pair for pair in dict.fromkeys(pairs) if pair in taken | doubles]:
        raise Conflict(
            "The identifier "
            + ", ".join(f"{scheme}:{identifier}" for scheme, identifier in clashes)
            + f" is already given to another {noun} (or listed twice)."
        )
    await db.execute(delete(table).where(owner == owner_id))
    if pairs:
        await db.execute(
            insert(table),
            [
                {owner.key: owner_id, "position": i, "scheme": scheme, "identifier": identifier}
                for i, (scheme, identifier) in enumerate(pairs)
            ],
        )
