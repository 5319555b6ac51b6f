"""Each session's summary (its JSON in list pages), kept written by PostgreSQL beside it.

A page of 50 sessions cost PostgreSQL more to write (each summary with its council and
its citations) than to find; read from a column it costs next to nothing (bench/NOTES.md,
finding 21). Triggers keep the column true on every write, whatever makes it: the
session's own row, a change to its council's slug, acronym or name, a citation of the
session. `session_summary` must give exactly what the portable path gives (`summary_json`,
sessions/service.py): tests/test_session_summaries.py checks it after each kind of write.
A change to the summary is a new migration that replaces the function and rewrites the
column (`UPDATE council_session SET summary_document = NULL`). SQLite has no triggers of
this kind here: there the column stays empty and summaries are built in Python.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def api_time(column: str) -> str:
    """A timestamp as the API writes it: UTC, microseconds, `Z` (app/json_sql.py)."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


SESSION_SUMMARY = f"""
CREATE FUNCTION session_summary(s council_session) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  c council;
BEGIN
  -- VOLATILE (the default): each statement reads what is committed when it runs, so a
  -- write that waited for another's lock sees that other write's rows.
  SELECT * INTO c FROM council WHERE id = s.council_id;
  RETURN json_build_object(
    'id', s.id, 'council_id', s.council_id,
    'council', json_build_object('id', c.id, 'slug', c.slug, 'acronym', c.acronym,
                                 'name', c.name),
    'ordinal', s.ordinal,
    'title', coalesce(s.title, CASE WHEN s.ordinal IS NULL
        THEN 'Session of the ' || coalesce(c.acronym, c.name) || ' on ' || s.start_date
        ELSE s.ordinal || CASE WHEN s.ordinal % 100 BETWEEN 10 AND 20 THEN 'th'
            WHEN s.ordinal % 10 = 1 THEN 'st' WHEN s.ordinal % 10 = 2 THEN 'nd'
            WHEN s.ordinal % 10 = 3 THEN 'rd' ELSE 'th' END
            || ' session of the ' || coalesce(c.acronym, c.name) END),
    'start_date', s.start_date, 'end_date', s.end_date, 'timezone', s.timezone,
    'location', json_build_object('city', s.location_city, 'country', s.location_country,
                                  'venue', s.location_venue),
    'host_country', s.host_country, 'guest_countries', s.guest_countries,
    'status', s.status, 'summary', s.summary,
    'source_ids', (SELECT coalesce(json_agg(ci.source_id ORDER BY ci.position), '[]')
      FROM citation ci WHERE ci.session_id = s.id),
    'created_at', {api_time("s.created_at")}, 'updated_at', {api_time("s.updated_at")})::text;
END $$
"""

TRIGGERS = (
    """
CREATE FUNCTION session_write_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The council's names are copied into the summary: a session new to its council (OLD
  -- is null on INSERT) waits for a write changing them to commit, or makes it wait for
  -- this one, which it then finds. (A session already in the council is locked by that
  -- write's refresh.)
  IF NEW.council_id IS DISTINCT FROM OLD.council_id THEN
    PERFORM FROM council WHERE id = NEW.council_id FOR SHARE;
  END IF;
  NEW.summary_document := session_summary(NEW);
  RETURN NEW;
END $$
""",
    """
CREATE TRIGGER session_summary BEFORE INSERT OR UPDATE ON council_session
  FOR EACH ROW EXECUTE FUNCTION session_write_summary()
""",
    """
-- Rewrite the summaries of these sessions (session_write_summary does, on the UPDATE),
-- locking them in one order, so that two writes touching the same sessions cannot
-- deadlock.
CREATE FUNCTION session_summaries_refresh(ids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE council_session SET summary_document = NULL WHERE id IN (
    SELECT id FROM council_session WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE);
END $$
""",
    """
CREATE FUNCTION session_council_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM session_summaries_refresh(ARRAY(
    SELECT id FROM council_session WHERE council_id = NEW.id));
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER session_summary AFTER UPDATE ON council
  FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug
                     OR OLD.acronym IS DISTINCT FROM NEW.acronym
                     OR OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION session_council_changed()
""",
    """
-- A citation of a session (or one moved to or from a session, or reordered).
CREATE FUNCTION session_citation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  sessions text[] := '{}';
BEGIN
  IF TG_OP <> 'INSERT' THEN
    sessions := sessions || OLD.session_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    sessions := sessions || NEW.session_id;
  END IF;
  sessions := array_remove(sessions, NULL);
  IF cardinality(sessions) > 0 THEN
    PERFORM session_summaries_refresh(sessions);
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER session_summary AFTER INSERT OR UPDATE OR DELETE ON citation
  FOR EACH ROW EXECUTE FUNCTION session_citation_changed()
""",
)

DROP = (
    "DROP TRIGGER session_summary ON citation",
    "DROP TRIGGER session_summary ON council",
    "DROP TRIGGER session_summary ON council_session",
    "DROP FUNCTION session_citation_changed()",
    "DROP FUNCTION session_council_changed()",
    "DROP FUNCTION session_summaries_refresh(text[])",
    "DROP FUNCTION session_write_summary()",
    "DROP FUNCTION session_summary(council_session)",
)


def upgrade() -> None:
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_document", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SESSION_SUMMARY)
        for statement in TRIGGERS:
            op.execute(statement)
        op.execute("UPDATE council_session SET summary_document = NULL")  # by the trigger


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DROP:
            op.execute(statement)
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.drop_column("summary_document")
