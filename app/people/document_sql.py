"""A person as PostgreSQL keeps them written: the column `person.document`, which the
database's triggers rewrite at every write that changes a person (migration 0009), is the
same document as the portable path's (`_persons_json` in people/service.py). Reading it
costs a page of 50 persons about 0.1 ms of PostgreSQL's time, where writing the 50 from
their names, offices and sources cost 1.2 ms (bench/NOTES.md, finding 18)."""

from app.json_sql import page_of_documents

# One person, for asyncpg (`$1`: db.fetch_document).
PERSON_SQL = "SELECT document FROM person WHERE id = $1"
# A page of the persons matching every word of a query, best first and then by name: the
# ranking of search.matches, for asyncpg. $1 the query's words, $2 the first string past
# each word's prefixes (`prefix_upper_bound`), ($3, $4, $5) the cursor's (rank, name, id),
# $6 the page's size. A word scores its best term (2 whole, 1 as a prefix, plus the
# term's weight); a person must match every word. Every match is sorted as a narrow row
# (rank, name, id), its name read beside its terms (`label`) rather than from the person,
# and only the page's rows' documents are then read, joined into one value
# (json_sql.page_of_documents).
PAGE_OF_PERSONS = page_of_documents(
    ["rank", "name", "id"], "p.document", "JOIN person p ON p.id = shown.id", "$6"
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
