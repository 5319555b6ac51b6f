"""Each person's JSON document, kept written by PostgreSQL beside the person.

A page of 50 persons cost PostgreSQL about 1.2 ms to write (five subqueries a person),
more than ranking the search that found them; read from a column it costs about 0.1 ms
(bench/NOTES.md, finding 18). Triggers keep the column true on every write, whatever
makes it (the API, a dataset import, a cascade, `bench.seed`): a person's own row, their
other names, identifiers and offices, the citations of the person and of their offices,
and the sources the person cites. `person_document` must give exactly what the portable
path gives (`_persons_json`, people/service.py): tests/test_detail_document.py and
tests/test_person_documents.py check it after each kind of write. A change to the
document is a new migration that replaces the function and rewrites the column
(`UPDATE person SET document = NULL`). SQLite has no triggers of this kind here: there
the column stays empty and persons are built in Python.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def api_time(column: str) -> str:
    """A timestamp as the API writes it: UTC, microseconds, `Z` (app/json_sql.py)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


PERSON_DOCUMENT = f"""
CREATE FUNCTION person_document(p person) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  -- VOLATILE (the default): each call reads what is committed when it runs, not when
  -- the statement that caused it began, so a write that waited for another's lock on
  -- the person sees that other write's rows.
  RETURN json_build_object(
    'id', p.id, 'key', p.key, 'name', p.name, 'honorific_prefix', p.honorific_prefix,
    'given_name', p.given_name, 'family_name', p.family_name,
    'nationality', p.nationality,
    'other_names', (SELECT coalesce(json_agg(json_build_object(
        'name', n.name, 'lang', n.lang, 'note', n.note) ORDER BY n.position), '[]')
      FROM person_other_name n WHERE n.person_id = p.id),
    'identifiers', (SELECT coalesce(json_agg(json_build_object(
        'scheme', i.scheme, 'identifier', i.identifier) ORDER BY i.position), '[]')
      FROM person_identifier i WHERE i.person_id = p.id),
    'offices', (SELECT coalesce(json_agg(json_build_object(
        'id', o.id, 'person_id', o.person_id, 'title', o.title, 'names', o.names,
        'role', o.role, 'country', o.country, 'organization', o.organization,
        'start_date', o.start_date, 'end_date', o.end_date,
        'source_ids', (SELECT coalesce(json_agg(ci.source_id ORDER BY ci.position), '[]')
          FROM citation ci WHERE ci.office_id = o.id),
        'created_at', {api_time("o.created_at")}, 'updated_at', {api_time("o.updated_at")})
        ORDER BY coalesce(o.start_date, ''), o.id), '[]')
      FROM office o WHERE o.person_id = p.id),
    'source_ids', (SELECT coalesce(json_agg(ci.source_id ORDER BY ci.position), '[]')
      FROM citation ci WHERE ci.person_id = p.id),
    'sources', (SELECT coalesce(json_agg(json_build_object(
        'id', so.id, 'url', so.url, 'title', so.title, 'publisher', so.publisher,
        'language', so.language, 'published_on', so.published_on, 'online_on', so.online_on,
        'note', so.note, 'created_at', {api_time("so.created_at")},
        'updated_at', {api_time("so.updated_at")}) ORDER BY ci.position), '[]')
      FROM citation ci JOIN source so ON so.id = ci.source_id WHERE ci.person_id = p.id),
    'created_at', {api_time("p.created_at")}, 'updated_at', {api_time("p.updated_at")})::text;
END $$
"""

TRIGGERS = (
    """
CREATE FUNCTION person_write_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.document := person_document(NEW);
  RETURN NEW;
END $$
""",
    """
CREATE TRIGGER person_document BEFORE INSERT OR UPDATE ON person
  FOR EACH ROW EXECUTE FUNCTION person_write_document()
""",
    """
-- Rewrite the documents of these persons (person_write_document does, on the UPDATE),
-- locking them in one order, so that two writes touching the same persons cannot
-- deadlock.
CREATE FUNCTION person_documents_refresh(ids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE person SET document = NULL WHERE id IN (
    SELECT id FROM person WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE);
END $$
""",
    """
-- A row of a person's other names, identifiers or offices changed (or moved to another
-- person).
CREATE FUNCTION person_part_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM person_documents_refresh(CASE TG_OP
    WHEN 'INSERT' THEN ARRAY[NEW.person_id]
    WHEN 'DELETE' THEN ARRAY[OLD.person_id]
    ELSE ARRAY[OLD.person_id, NEW.person_id] END);
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER person_document AFTER INSERT OR UPDATE OR DELETE ON person_other_name
  FOR EACH ROW EXECUTE FUNCTION person_part_changed()
""",
    """
CREATE TRIGGER person_document AFTER INSERT OR UPDATE OR DELETE ON person_identifier
  FOR EACH ROW EXECUTE FUNCTION person_part_changed()
""",
    """
CREATE TRIGGER person_document AFTER INSERT OR UPDATE OR DELETE ON office
  FOR EACH ROW EXECUTE FUNCTION person_part_changed()
""",
    """
-- A citation of a person (its source in full) or of an office (the source's id).
CREATE FUNCTION person_citation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cited citation;
  persons text[] := '{}';
BEGIN
  FOREACH cited IN ARRAY (CASE TG_OP
      WHEN 'INSERT' THEN ARRAY[NEW] WHEN 'DELETE' THEN ARRAY[OLD] ELSE ARRAY[OLD, NEW] END)
  LOOP
    IF cited.person_id IS NOT NULL THEN
      persons := persons || cited.person_id;
    ELSIF cited.office_id IS NOT NULL THEN
      persons := persons || (SELECT person_id FROM office WHERE id = cited.office_id);
    END IF;
  END LOOP;
  IF TG_OP <> 'DELETE' AND NEW.person_id IS NOT NULL THEN
    -- The source is copied into the document: wait for a write changing it to commit,
    -- which then finds this citation, or make it wait for this one. Without this lock
    -- each would write the document from what the other had not yet committed.
    PERFORM FROM source WHERE id = NEW.source_id FOR SHARE;
  END IF;
  IF cardinality(persons) > 0 THEN
    PERFORM person_documents_refresh(persons);
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER person_document AFTER INSERT OR UPDATE OR DELETE ON citation
  FOR EACH ROW EXECUTE FUNCTION person_citation_changed()
""",
    """
-- A source's fields are copied into the documents of the persons that cite it. (Its
-- deletion deletes the citations, whose trigger rewrites them.)
CREATE FUNCTION person_source_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM person_documents_refresh(ARRAY(
    SELECT person_id FROM citation WHERE source_id = NEW.id AND person_id IS NOT NULL));
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER person_document AFTER UPDATE ON source
  FOR EACH ROW EXECUTE FUNCTION person_source_changed()
""",
)

DROP = (
    "DROP TRIGGER person_document ON source",
    "DROP TRIGGER person_document ON citation",
    "DROP TRIGGER person_document ON office",
    "DROP TRIGGER person_document ON person_identifier",
    "DROP TRIGGER person_document ON person_other_name",
    "DROP TRIGGER person_document ON person",
    "DROP FUNCTION person_source_changed()",
    "DROP FUNCTION person_citation_changed()",
    "DROP FUNCTION person_part_changed()",
    "DROP FUNCTION person_documents_refresh(text[])",
    "DROP FUNCTION person_write_document()",
    "DROP FUNCTION person_document(person)",
)


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PERSON_DOCUMENT)
        for statement in TRIGGERS:
            op.execute(statement)
        op.execute("UPDATE person SET document = NULL")  # each written by its trigger


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP:
            op.execute(statement)
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("document")
