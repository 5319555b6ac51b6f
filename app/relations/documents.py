"""The relation of two countries, written by the database as JSON (app/json_sql.py): what
the sessions between them add up to. It is written over `met`, the sessions between the
two countries that a request keeps (a CTE of their `id`, `start_date`, `kind` and
`council_id`, made by the service with the filters of session lists), and the two codes
`:relation_a` and `:relation_b`."""

from functools import lru_cache

from sqlalchemy import String, TextClause, bindparam, text

from app.json_sql import DIALECTS, JsonSql
from app.sessions.documents import council_summary, person_summary, topic_summary

MET = "met"
# How many people, and how many topics, a relation names: those of the most sessions.
TOP = 20


def _by_year(j: JsonSql) -> str:
    """Every year from the first session's to the last's, each with its sessions (by start
    date), none left out: a span of years without a meeting says something too."""
    year = j.year("met.start_date")
    span = (
        "(WITH RECURSIVE span(y) AS ("
        f"SELECT y FROM (SELECT min({year}) AS y FROM met) lowest WHERE y IS NOT NULL "
        f"UNION ALL SELECT y + 1 FROM span WHERE y < (SELECT max({year}) FROM met)"
        ") SELECT y FROM span) years"
    )
    counted = f"(SELECT {year} AS y, count(*) AS sessions FROM met GROUP BY {year}) n"
    return j.array(
        j.object({"year": "years.y", "sessions": "coalesce(n.sessions, 0)"}),
        f"{span} LEFT JOIN {counted} ON n.y = years.y",
        "years.y",
        of_json=True,
    )


def _councils(j: JsonSql) -> str:
    """The councils of both countries (members) that held some of the sessions, by slug."""
    shared = (
        "council c WHERE c.id IN (SELECT met.council_id FROM met) "
        "AND c.id IN (SELECT m.council_id FROM council_member m WHERE m.country = :relation_a) "
        "AND c.id IN (SELECT m.council_id FROM council_member m WHERE m.country = :relation_b)"
    )
    return j.array(council_summary(j), shared, "c.slug", of_json=True)


def _people(j: JsonSql) -> str:
    """Who sat at most of the sessions in the delegation of either country; ties by id,
    which the database compares without reading the people's rows."""
    attended = (
        "(SELECT p.person_id, p.delegation, count(*) AS sessions "
        "FROM participation p JOIN met ON met.id = p.session_id "
        "WHERE p.delegation IN (:relation_a, :relation_b) "
        "GROUP BY p.person_id, p.delegation "
        f"ORDER BY count(*) DESC, p.person_id, p.delegation LIMIT {TOP}) n "
        "JOIN person pe ON pe.id = n.person_id"
    )
    element = j.object(
        {"person": person_summary(j), "delegation": "n.delegation", "sessions": "n.sessions"}
    )
    return j.array(element, attended, "n.sessions DESC, n.person_id, n.delegation", of_json=True)


def _topics(j: JsonSql) -> str:
    """The topics on the agendas of most of the sessions (a topic twice on one agenda
    counts once); ties by id."""
    on_agendas = (
        "(SELECT a.topic_id, count(*) AS sessions FROM "
        "(SELECT DISTINCT a.topic_id, a.session_id "
        "FROM agenda_item a JOIN met ON met.id = a.session_id) a "
        f"GROUP BY a.topic_id ORDER BY count(*) DESC, a.topic_id LIMIT {TOP}) n "
        "JOIN topic t ON t.id = n.topic_id"
    )
    element = j.object({"topic": topic_summary(j), "sessions": "n.sessions"})
    return j.array(element, on_agendas, "n.sessions DESC, n.topic_id", of_json=True)


def relation(j: JsonSql) -> str:
    """The relation's fields (RelationRead), each counted from `met`."""
    by_kind = "(SELECT met.kind, count(*) AS sessions FROM met GROUP BY met.kind) k"
    return j.object(
        {
            "countries": j.values(":relation_a", ":relation_b"),
            "sessions": "(SELECT count(*) FROM met)",
            "first_date": "(SELECT min(met.start_date) FROM met)",
            "last_date": "(SELECT max(met.start_date) FROM met)",
            "by_year": _by_year(j),
            "by_kind": j.mapping("k.kind", "k.sessions", by_kind, "k.kind"),
            "councils": _councils(j),
            "people": _people(j),
            "topics": _topics(j),
        }
    )


@lru_cache(maxsize=len(DIALECTS))
def relation_document(dialect: str) -> TextClause:
    """The relation as JSON text, a column to select over `met`. The codes are typed: in
    `json_build_array` nothing else tells PostgreSQL what they are."""
    return text(JsonSql(dialect).as_text(relation(JsonSql(dialect)))).bindparams(
        bindparam("relation_a", type_=String), bindparam("relation_b", type_=String)
    )
