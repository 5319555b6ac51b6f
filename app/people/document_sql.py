"""A person as PostgreSQL writes it: the same document as the portable path's
(`_persons_json` in people/service.py), with names, identifiers, offices and sources, in
one query instead of six and their Python (bench/NOTES.md)."""

from app.json_sql import cited_sources, page_of_documents, source_ids, ts


def person_document(p: str) -> str:
    """The person of the table under the name `p`, as JSON text."""
    offices = f"""(SELECT coalesce(json_agg(json_build_object(
      'id', o.id, 'person_id', o.person_id, 'title', o.title, 'names', o.names,
      'role', o.role, 'country', o.country, 'organization', o.organization,
      'start_date', o.start_date, 'end_date', o.end_date,
      'source_ids', {source_ids("ci.office_id = o.id")},
      'created_at', {ts("o.created_at")}, 'updated_at', {ts("o.updated_at")})
      ORDER BY coalesce(o.start_date, ''), o.id), '[]')
    FROM office o WHERE o.person_id = {p}.id)"""
    return f"""json_build_object(
  'id', {p}.id, 'key', {p}.key, 'name', {p}.name, 'honorific_prefix', {p}.honorific_prefix,
  'given_name', {p}.given_name, 'family_name', {p}.family_name,
  'nationality', {p}.nationality,
  'other_names', (SELECT coalesce(json_agg(json_build_object(
      'name', n.name, 'lang', n.lang, 'note', n.note) ORDER BY n.position), '[]')
    FROM person_other_name n WHERE n.person_id = {p}.id),
  'identifiers', (SELECT coalesce(json_agg(json_build_object(
      'scheme', i.scheme, 'identifier', i.identifier) ORDER BY i.position), '[]')
    FROM person_identifier i WHERE i.person_id = {p}.id),
  'offices', {offices},
  'source_ids', {source_ids(f"ci.person_id = {p}.id")},
  'sources', {cited_sources(f"ci.person_id = {p}.id")},
  'created_at', {ts(f"{p}.created_at")}, 'updated_at', {ts(f"{p}.updated_at")})::text"""


# One person, for asyncpg (`$1`: db.fetch_document).
PERSON_SQL = f"SELECT {person_document('p')} FROM person p WHERE p.id = $1"
# Each person of a list page, in a query on the table under its own name.
PERSON_DOCUMENT = person_document("person")
# A page of the persons matching every word of a query, best first and then by name: the
# ranking of search.matches, for asyncpg. $1 the query's words, $2 the first string past
# each word's prefixes (`prefix_upper_bound`), ($3, $4, $5) the cursor's (rank, name, id),
# $6 the page's size. A word scores its best term (2 whole, 1 as a prefix, plus the
# term's weight); a person must match every word. Every match is sorted as a narrow row
# (rank, name, id), its name read beside its terms (`label`) rather than from the person,
# and only the page's rows are then written as documents, into one value
# (json_sql.page_of_documents).
PAGE_OF_PERSONS = page_of_documents(
    ["rank", "name", "id"], person_document("p"), "JOIN person p ON p.id = shown.id", "$6"
)
PERSON_SEARCH_SQL = f"""
WITH per_word AS (
  SELECT t.record_id, w.n, min(t.label) AS name,
         max(CASE WHEN t.term = w.word THEN 2 ELSE 1 END + t.weight) AS score
  FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS w(word, beyond, n)
  JOIN search_term t ON t.entity = 'person' AND t.term >= w.word AND t.term < w.beyond
  GROUP BY t.record_id, w.n
), found AS (
  SELECT -sum(score)::integer AS rank, min(name) AS name, record_id AS id FROM per_word
  GROUP BY record_id HAVING count(*) = cardinality($1::varchar[])
), candidate AS (
  SELECT rank, name, id FROM found WHERE (rank, name, id) > ($3, $4, $5)
  ORDER BY rank, name, id LIMIT $6 + 1
), {PAGE_OF_PERSONS}
"""
