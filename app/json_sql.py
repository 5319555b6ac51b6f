"""Fragments of the JSON documents that PostgreSQL writes for the hot reads (session
detail and summaries, persons): each must give exactly what the portable Python path
gives, so the fragments that several documents share are written once, here."""

TIMESTAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def ts(column: str) -> str:
    """A timestamp as the API writes it: UTC, microseconds, `Z`."""
    return TIMESTAMP.format(column)


def source_ids(where: str) -> str:
    """The ids of the sources a record cites, in order (`ci` is the citation)."""
    return (
        "(SELECT coalesce(json_agg(ci.source_id ORDER BY ci.position), '[]') "
        f"FROM citation ci WHERE {where})"
    )


def cited_sources(where: str) -> str:
    """The sources a record cites, whole and in order (`ci` is the citation)."""
    return f"""(SELECT coalesce(json_agg(json_build_object(
      'id', so.id, 'url', so.url, 'title', so.title, 'publisher', so.publisher,
      'language', so.language, 'published_on', so.published_on, 'online_on', so.online_on,
      'note', so.note, 'created_at', {ts("so.created_at")}, 'updated_at', {ts("so.updated_at")})
      ORDER BY ci.position), '[]') FROM citation ci JOIN source so ON so.id = ci.source_id
      WHERE {where})"""


def page_of_documents(keys: list[str], document: str, joins: str, limit: str) -> str:
    """The end of a page query whose CTE `candidate` holds the rows after the cursor in
    the page's order (by `keys`), one more than the page's `limit`: one row, with `items`,
    the JSON array of the page's `document`s (written for the rows of `shown`, and what
    `joins` adds to them); the last row's keys; and `more`, whether a next page exists.
    PostgreSQL joins the array, as the benchmark's baseline has it do: fifty rows cost
    the client's CPU 1.6 times one value (bench/NOTES.md, finding 15)."""
    in_order = ", ".join(f"shown.{key}" for key in keys)
    last_first = ", ".join(f"{key} DESC" for key in keys)
    return f"""shown AS (
  SELECT * FROM candidate ORDER BY {", ".join(keys)} LIMIT {limit}
)
SELECT (SELECT '[' || coalesce(string_agg({document}, ',' ORDER BY {in_order}), '') || ']'
        FROM shown {joins}) AS items,
       (SELECT count(*) FROM candidate) > {limit} AS more, last.*
FROM (SELECT {", ".join(keys)} FROM shown ORDER BY {last_first} LIMIT 1) AS last
RIGHT JOIN (VALUES (1)) AS one ON true"""
