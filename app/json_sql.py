"""JSON documents written by the database, the same on PostgreSQL and SQLite.

A document is defined once, as SQL written with a `JsonSql`; only this module knows how
each database spells JSON: PostgreSQL's `json_build_object` and `json_agg`, SQLite's
`json_object` and `json_group_array` (which takes its order from an ordered subquery,
and loses the JSON type of values that pass through one, hence its `json(...)`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import TextClause, text

DIALECTS = ("postgresql", "sqlite")


@dataclass(frozen=True)
class JsonSql:
    dialect: str

    @property
    def postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def object(self, fields: dict[str, str]) -> str:
        """An object of `fields`, each a name and the SQL of its value, in that order."""
        pairs = ", ".join(f"'{name}', {value}" for name, value in fields.items())
        return f"{'json_build_object' if self.postgresql else 'json_object'}({pairs})"

    def array(self, element: str, source: str, order_by: str, *, of_json: bool = False) -> str:
        """The array of `element` over the rows of `source` (`FROM ... WHERE ...`, without
        the FROM) in the order `order_by`; `[]` when there is none. `of_json` when the
        elements are themselves JSON (objects), not scalars."""
        if self.postgresql:
            return f"(SELECT coalesce(json_agg({element} ORDER BY {order_by}), '[]') FROM {source})"
        item = "json(e)" if of_json else "e"
        return (
            f"json(coalesce((SELECT json_group_array({item}) FROM "
            f"(SELECT {element} AS e FROM {source} ORDER BY {order_by})), '[]'))"
        )

    def values(self, *items: str) -> str:
        """The array of `items`, each the SQL of a value, in that order."""
        return f"{'json_build_array' if self.postgresql else 'json_array'}({', '.join(items)})"

    def mapping(self, key: str, value: str, source: str, order_by: str) -> str:
        """The object of `key: value` over the rows of `source` (as in `array`), its keys in
        the order `order_by`; `{}` when there is none."""
        if self.postgresql:
            aggregate = f"json_object_agg({key}, {value} ORDER BY {order_by})"
            return f"(SELECT coalesce({aggregate}, '{{}}') FROM {source})"
        return (
            f"json(coalesce((SELECT json_group_object(k, v) FROM "
            f"(SELECT {key} AS k, {value} AS v FROM {source} ORDER BY {order_by})), '{{}}'))"
        )

    def present_when(self, condition: str, document: str) -> str:
        """`document` where `condition` holds, else null (SQLite keeps the JSON type of a
        value that passes through CASE only when told again)."""
        case = f"CASE WHEN {condition} THEN {document} END"
        return case if self.postgresql else f"json({case})"

    def stored_json(self, column: str) -> str:
        """A JSON column's value, as JSON (SQLite keeps it as text)."""
        return column if self.postgresql else f"json({column})"

    def time(self, column: str) -> str:
        """A timestamp as the API writes it: UTC, microseconds, `Z`. SQLite keeps UTC
        timestamps as `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's format)."""
        if self.postgresql:
            return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        return f"replace({column}, ' ', 'T') || 'Z'"

    def day(self, column: str) -> str:
        """A date column as `YYYY-MM-DD` text (SQLite keeps dates as that text)."""
        return f"CAST({column} AS TEXT)" if self.postgresql else column

    def year(self, column: str) -> str:
        """The year of a date column, as an integer (SQLite keeps dates as text)."""
        if self.postgresql:
            return f"CAST(extract(year FROM {column}) AS integer)"
        return f"CAST(strftime('%Y', {column}) AS INTEGER)"

    def among(self, column: str, parameter: str) -> str:
        """`column` is one of the values of the list `parameter`, bound as `listed` makes
        it: one parameter however long the list (PostgreSQL takes an array, SQLite the
        list as JSON text). A semi-join, which the planner may hash or look up by index,
        rather than `= ANY(array)`, which compares each row with every value."""
        if self.postgresql:
            return f"{column} IN (SELECT unnest(CAST(:{parameter} AS varchar[])))"
        return f"{column} IN (SELECT value FROM json_each(:{parameter}))"

    def as_text(self, document: str) -> str:
        """A document as the text a driver hands back."""
        return f"({document})::text" if self.postgresql else document


def listed(dialect: str, values: Sequence[str]) -> Any:
    """A list of strings as a parameter of `JsonSql.among`."""
    return list(values) if dialect == "postgresql" else orjson.dumps(list(values)).decode()


def source_ids(j: JsonSql, where: str) -> str:
    """The ids of the sources a record cites, in order (`ci` is the citation)."""
    return j.array("ci.source_id", f"citation ci WHERE {where}", "ci.position")


def statement_for(build: Callable[[JsonSql], str]) -> Callable[[str], TextClause]:
    """A statement written once with a `JsonSql`, made for a database by its dialect's
    name (`db.dialect_of`), once per dialect."""

    @lru_cache(maxsize=len(DIALECTS))
    def for_dialect(dialect: str) -> TextClause:
        return text(build(JsonSql(dialect)))

    return for_dialect
