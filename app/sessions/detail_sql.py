"""The session detail as one PostgreSQL query that builds the whole JSON document, and
the page of session summaries, which PostgreSQL keeps written beside each session
(`council_session.summary_document`, migration 0010: the same fields as here).

Nine small queries cost nine round trips and their Python; this one costs one. It gives
exactly what the portable path in sessions/service.py gives (the suite runs every detail
test on both databases), and the benchmark's baseline runs the same SQL on bare asyncpg.
It is written for asyncpg (`$1`), which runs it directly (db.fetch_document).
"""

from functools import lru_cache

from app.json_sql import cited_sources, page_of_documents, source_ids, ts


def summary_fields(s: str, c: str) -> str:
    """The fields of a session summary, for the session table under the name `s` and its
    council under `c`."""
    title = f"""coalesce({s}.title, CASE WHEN {s}.ordinal IS NULL
        THEN 'Session of the ' || coalesce({c}.acronym, {c}.name) || ' on ' || {s}.start_date
        ELSE {s}.ordinal || CASE WHEN {s}.ordinal % 100 BETWEEN 10 AND 20 THEN 'th'
            WHEN {s}.ordinal % 10 = 1 THEN 'st' WHEN {s}.ordinal % 10 = 2 THEN 'nd'
            WHEN {s}.ordinal % 10 = 3 THEN 'rd' ELSE 'th' END
            || ' session of the ' || coalesce({c}.acronym, {c}.name) END)"""
    return f"""
    'id', {s}.id, 'council_id', {s}.council_id,
    'council', json_build_object('id', {c}.id, 'slug', {c}.slug, 'acronym', {c}.acronym,
                                 'name', {c}.name),
    'ordinal', {s}.ordinal, 'title', {title},
    'start_date', {s}.start_date, 'end_date', {s}.end_date, 'timezone', {s}.timezone,
    'location', json_build_object('city', {s}.location_city, 'country', {s}.location_country,
                                  'venue', {s}.location_venue),
    'host_country', {s}.host_country, 'guest_countries', {s}.guest_countries,
    'status', {s}.status, 'summary', {s}.summary,
    'source_ids', {source_ids(f"ci.session_id = {s}.id")},
    'created_at', {ts(f"{s}.created_at")}, 'updated_at', {ts(f"{s}.updated_at")}"""


SUMMARY_FIELDS = summary_fields("s", "c")


# A few sizes and word counts are asked for over and over (50 and 1, from a frontend).
@lru_cache(maxsize=256)
def page_sql(words: int, limit: int) -> str:
    """A page of sessions in the default order with no filter but, optionally, words to
    find: the first `limit` sessions after the cursor's (start_date, id) ($1, $2) that
    have every word as the prefix of a term ($3 and $4 the first word and the first string
    past its prefixes, $5 and $6 the second...). One row: `items`, the page's summaries as
    a JSON array; `start_date` and `id`, the last one's key; `more`, whether a next page
    exists. The pages the direct route serves; the words are matched as
    `search.has_words` matches them.

    The page's size is written into the statement rather than passed: blind to a `LIMIT
    $n`, PostgreSQL's generic plan looks costlier than a plan made for the value, so it
    planned each execution anew, a quarter of a first page's database time; with the
    size written, it keeps its generic plan (bench/NOTES.md, finding 16). A search is
    planned for its words on every execution: it runs on the connections made for that
    (app.state.searches, db.DocumentPool)."""
    limit = int(limit)  # written into SQL: never anything but a number
    each_word = "".join(
        f"""
  AND s.id IN (SELECT t.record_id FROM search_term t WHERE t.entity = 'session'
               AND t.term >= ${3 + 2 * i} AND t.term < ${4 + 2 * i})"""
        for i in range(words)
    )
    page_end = page_of_documents(["start_date", "id"], "shown.summary_document", "", str(limit))
    return f"""
WITH candidate AS (
  SELECT s.* FROM council_session s
  WHERE (s.start_date, s.id) > ($1, $2){each_word}
  ORDER BY s.start_date, s.id LIMIT {limit + 1}
), {page_end}
"""


# A participant (`p`, with the person `pe` and the office `o` of PARTICIPANTS) and an agenda
# item (`a`, with its topic `t`), as the session detail lists them and as their own paths
# serve them.
PARTICIPANT = f"""json_build_object(
      'id', p.id, 'session_id', p.session_id, 'person_id', p.person_id,
      'person', json_build_object('id', pe.id, 'name', pe.name, 'nationality', pe.nationality),
      'delegation', p.delegation, 'role', p.role, 'office_id', p.office_id,
      'title_at_time', o.title,
      'segment_ids', (SELECT coalesce(json_agg(sp.segment_id ORDER BY g2.position), '[]')
                      FROM segment_participant sp JOIN segment g2 ON g2.id = sp.segment_id
                      WHERE sp.participation_id = p.id),
      'note', p.note, 'source_ids', {source_ids("ci.participation_id = p.id")},
      'created_at', {ts("p.created_at")}, 'updated_at', {ts("p.updated_at")})"""
PARTICIPANTS = """participation p JOIN person pe ON pe.id = p.person_id
    LEFT JOIN office o ON o.id = p.office_id"""
AGENDA_ITEM = f"""json_build_object(
      'id', a.id, 'session_id', a.session_id, 'topic_id', a.topic_id,
      'topic', json_build_object('id', t.id, 'slug', t.slug, 'name', t.name, 'names', t.names),
      'position', a.position, 'title', a.title, 'note', a.note,
      'source_ids', {source_ids("ci.agenda_item_id = a.id")},
      'created_at', {ts("a.created_at")}, 'updated_at', {ts("a.updated_at")})"""
AGENDA_ITEMS = "agenda_item a JOIN topic t ON t.id = a.topic_id"

# One participant ($1) or agenda item ($1) of a session ($2): one query, where the portable
# path makes three (people/service.py) or two (topics/service.py).
PARTICIPANT_SQL = (
    f"SELECT {PARTICIPANT}::text FROM {PARTICIPANTS} WHERE p.id = $1 AND p.session_id = $2"
)
AGENDA_ITEM_SQL = (
    f"SELECT {AGENDA_ITEM}::text FROM {AGENDA_ITEMS} WHERE a.id = $1 AND a.session_id = $2"
)

DETAIL_SQL = f"""
SELECT json_build_object({SUMMARY_FIELDS},
  'segments', (SELECT coalesce(json_agg(json_build_object(
      'id', g.id, 'key', g.key, 'kind', g.kind, 'format', g.format, 'title', g.title,
      'date', g.date, 'part_of_day', g.part_of_day, 'description', g.description,
      'participant_ids', (SELECT coalesce(json_agg(sp.participation_id
                                                   ORDER BY sp.participation_id), '[]')
                          FROM segment_participant sp WHERE sp.segment_id = g.id))
      ORDER BY g.position), '[]') FROM segment g WHERE g.session_id = s.id),
  'participants', (SELECT coalesce(json_agg({PARTICIPANT} ORDER BY p.id), '[]')
    FROM {PARTICIPANTS} WHERE p.session_id = s.id),
  'agenda', (SELECT coalesce(json_agg({AGENDA_ITEM} ORDER BY a.position), '[]')
    FROM {AGENDA_ITEMS} WHERE a.session_id = s.id),
  'previous_session_id', (SELECT o2.id FROM council_session o2 WHERE o2.council_id = s.council_id
      AND (o2.start_date, o2.id) < (s.start_date, s.id)
      ORDER BY o2.start_date DESC, o2.id DESC LIMIT 1),
  'next_session_id', (SELECT o2.id FROM council_session o2 WHERE o2.council_id = s.council_id
      AND (o2.start_date, o2.id) > (s.start_date, s.id) ORDER BY o2.start_date, o2.id LIMIT 1),
  'sources', {cited_sources("ci.session_id = s.id")}
)::text
FROM council_session s JOIN council c ON c.id = s.council_id WHERE s.id = $1
"""
