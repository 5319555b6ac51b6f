"""A person as PostgreSQL writes it: the same document as the portable path's
(`_persons_json` in people/service.py), with names, identifiers, offices and sources, in
one query instead of six and their Python (bench/NOTES.md). Written for asyncpg (`$1`)."""

from app.json_sql import cited_sources, source_ids, ts

OFFICES = f"""(SELECT coalesce(json_agg(json_build_object(
      'id', o.id, 'person_id', o.person_id, 'title', o.title, 'names', o.names,
      'role', o.role, 'country', o.country, 'organization', o.organization,
      'start_date', o.start_date, 'end_date', o.end_date,
      'source_ids', {source_ids("ci.office_id = o.id")},
      'created_at', {ts("o.created_at")}, 'updated_at', {ts("o.updated_at")})
      ORDER BY coalesce(o.start_date, ''), o.id), '[]')
    FROM office o WHERE o.person_id = p.id)"""

PERSON_DOCUMENT = f"""json_build_object(
  'id', p.id, 'key', p.key, 'name', p.name, 'honorific_prefix', p.honorific_prefix,
  'given_name', p.given_name, 'family_name', p.family_name, 'nationality', p.nationality,
  'other_names', (SELECT coalesce(json_agg(json_build_object(
      'name', n.name, 'lang', n.lang, 'note', n.note) ORDER BY n.position), '[]')
    FROM person_other_name n WHERE n.person_id = p.id),
  'identifiers', (SELECT coalesce(json_agg(json_build_object(
      'scheme', i.scheme, 'identifier', i.identifier) ORDER BY i.position), '[]')
    FROM person_identifier i WHERE i.person_id = p.id),
  'offices', {OFFICES},
  'source_ids', {source_ids("ci.person_id = p.id")},
  'sources', {cited_sources("ci.person_id = p.id")},
  'created_at', {ts("p.created_at")}, 'updated_at', {ts("p.updated_at")})"""

PERSON_SQL = f"SELECT {PERSON_DOCUMENT}::text FROM person p WHERE p.id = $1"

# The persons of a page, as one JSON array in the order of the ids given.
PERSONS_SQL = f"""SELECT coalesce(json_agg({PERSON_DOCUMENT}
    ORDER BY array_position($1::varchar[], p.id)), '[]')::text
FROM person p WHERE p.id = ANY($1::varchar[])"""
