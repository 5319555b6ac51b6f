"""Keyset pagination with opaque, signed cursors.

A cursor holds the sort key of the last row served and is signed together with the
list's scope (the path, the filters and the sort). Walking the pages while others write
therefore skips nothing and repeats nothing among the rows that existed before the walk,
and a cursor that was altered or made for another list is refused with 400.
"""

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import BigInteger, ColumnElement, Select, SmallInteger, Subquery, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_SEARCH = 200  # characters of a `q` (app/http.py, SearchParam)
LimitParam = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description=f"How many items a page holds (1 to {MAX_LIMIT}).",
        examples=[50],
    ),
]
CursorParam = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="The `next_cursor` of the previous page. Opaque: pass it back as it came.",
    ),
]


T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
Column = ColumnElement[Any] | QueryableAttribute[Any]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class SortKey:
    column: Column
    to_json: Callable[[Any], Any] = lambda value: value
    from_json: Callable[[Any], Any] = lambda value: value


def date_key(column: Column) -> SortKey:
    return SortKey(column, date.isoformat, date.fromisoformat)


def datetime_key(column: Column) -> SortKey:
    return SortKey(column, datetime.isoformat, datetime.fromisoformat)


@dataclass(frozen=True)
class Keyset:
    """An order over a list: sort keys, the last of which must be unique (the id)."""

    keys: Sequence[SortKey]
    descending: bool = False

    def order_by(self) -> list[ColumnElement[Any]]:
        return [k.column.desc() if self.descending else k.column.asc() for k in self.keys]

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        row = tuple_(*(k.column for k in self.keys))
        bound = tuple_(*values)
        return row < bound if self.descending else row > bound


def _integers(column_type: Any) -> range:
    """The integers a column's type holds; those of an INTEGER for an expression of no
    declared type (a search's rank)."""
    bits = 16 if isinstance(column_type, SmallInteger) else 32
    bits = 64 if isinstance(column_type, BigInteger) else bits
    return range(-(2 ** (bits - 1)), 2 ** (bits - 1))


def _fits(value: Any, column: Column) -> bool:
    """Whether a cursor's value has the type of its column, so that the database can
    compare them: an integer in the column's range, a string without NUL, and so on."""
    try:
        expected: type | None = column.type.python_type
    except NotImplementedError:
        expected = None
    if expected is object:  # of no declared type: a search's rank, a number
        expected = None
    if isinstance(value, bool):
        return expected is bool
    if isinstance(value, int):
        return expected in (int, float, Decimal, None) and value in _integers(column.type)
    if isinstance(value, float):
        return expected in (float, Decimal, None)
    if isinstance(value, str):
        return expected is str and "\x00" not in value
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return expected is datetime
    if isinstance(value, date):
        return expected is date
    return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_REFUSED = (
    "The cursor is not valid for this list: it was altered, truncated, or made for "
    "another list, filter or sort. Start again from the first page."
)


@dataclass(frozen=True)
class PageRequest:
    """What a client asked of a list: the page size, where to start, and the scope (the
    path and every other query parameter) that its cursors are bound to."""

    limit: int
    cursor: str | None
    scope: str
    secret: bytes

    def _signature(self, payload: bytes) -> bytes:
        message = self.scope.encode() + b"\x00" + payload
        # hmac.digest: OpenSSL's one-shot HMAC, without an HMAC object's Python layers.
        return hmac.digest(self.secret, message, "sha256")[:16]

    def encode(self, values: Sequence[Any]) -> str:
        payload = orjson.dumps(list(values))
        return f"{_b64(payload)}.{_b64(self._signature(payload))}"

    def decode(self, keyset: Keyset) -> list[Any] | None:
        if self.cursor is None:
            return None
        payload_part, _, signature_part = self.cursor.partition(".")
        try:
            payload, signature = _unb64(payload_part), _unb64(signature_part)
        except (binascii.Error, ValueError):
            raise BadRequest(_REFUSED) from None
        # Only the spelling this API wrote: base64 decoders forgive padding, "+" and "/",
        # and spare bits, so that other spellings of one cursor would pass the signature.
        if f"{_b64(payload)}.{_b64(signature)}" != self.cursor:
            raise BadRequest(_REFUSED)
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise BadRequest(_REFUSED)
        try:
            values = orjson.loads(payload)
            if not isinstance(values, list) or len(values) != len(keyset.keys):
                raise ValueError
            decoded = [key.from_json(v) for key, v in zip(keyset.keys, values, strict=True)]
        except (ValueError, TypeError):
            raise BadRequest(_REFUSED) from None
        # Signed with the right secret is not enough: one who knows the secret (the public
        # development default) could sign a value the database cannot compare.
        if not all(_fits(v, key.column) for key, v in zip(keyset.keys, decoded, strict=True)):
            raise BadRequest(_REFUSED)
        return decoded

    def select(self, stmt: AnySelect, keyset: Keyset) -> AnySelect:
        """The statement in the keyset's order, after the cursor, with one row more than
        the page so that `cut` can tell whether a next page exists."""
        after = self.decode(keyset)
        if after is not None:
            stmt = stmt.where(keyset.after(after))
        return stmt.order_by(*keyset.order_by()).limit(self.limit + 1)

    def cut(
        self, rows: Sequence[Any], keyset: Keyset, key_of: Callable[[Any], Sequence[Any]]
    ) -> tuple[Sequence[Any], str | None]:
        """This page's rows, and the cursor of the next page (None on the last)."""
        if len(rows) <= self.limit:
            return rows, None
        rows = rows[: self.limit]
        return rows, self._cursor_after(keyset, key_of(rows[-1]))

    def _cursor_after(self, keyset: Keyset, last: Sequence[Any]) -> str:
        return self.encode([k.to_json(v) for k, v in zip(keyset.keys, last, strict=True)])


async def documents_page(
    db: AsyncSession,
    page: PageRequest,
    keys: AnySelect,
    keyset: Keyset,
    key_of: Callable[[Any], Sequence[Any]],
    documents: Callable[[Subquery], AnySelect],
) -> tuple[bytes, str | None]:
    """A page of documents: `keys` selects the records in the keyset's order (filters
    included, no document), `documents` adds to the rows of the page (a subquery) the
    `document` column, JSON text that the database writes. The documents are written for
    the page's rows only, once it is cut: SQLite would otherwise write one for every
    candidate before sorting them. The JSON array of the page's items, and the next
    cursor."""
    sort_keys = [key.column.label(f"sort_key_{i}") for i, key in enumerate(keyset.keys)]
    shown = page.select(keys.add_columns(*sort_keys), keyset).subquery("shown")
    in_order = [shown.c[key.name] for key in sort_keys]
    stmt = documents(shown).order_by(*(c.desc() if keyset.descending else c for c in in_order))
    rows, next_cursor = page.cut((await db.execute(stmt)).all(), keyset, key_of)
    return json_array(row.document for row in rows), next_cursor


def json_array(documents: Iterable[str]) -> bytes:
    """The JSON array of documents already written as JSON text (encoded once, as a
    whole: half the cost of encoding each)."""
    return ("[" + ",".join(documents) + "]").encode()


async def page_request(
    request: Request, limit: LimitParam = DEFAULT_LIMIT, cursor: CursorParam = None
) -> PageRequest:
    scope = page_scope(request.url.path, request.query_params.multi_items())
    secret = request.app.state.settings.cursor_secret.encode()
    return PageRequest(limit=limit, cursor=cursor, scope=scope, secret=secret)


def page_scope(path: str, params: Iterable[tuple[str, str]]) -> str:
    """What a list's cursors are bound to: its path and every parameter but the cursor."""
    return path + "?" + urlencode(sorted((k, v) for k, v in params if k != "cursor"))


PageParams = Annotated[PageRequest, Depends(page_request)]
