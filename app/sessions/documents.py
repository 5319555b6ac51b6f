"""The documents of a session and of its parts, each defined once and written by the
database as JSON (app/json_sql.py): the summary that lists show, the detail, a
participant and an agenda item."""

from app.json_sql import JsonSql, source_ids, statement_for
from app.sources.documents import cited_sources


def session_title(s: str = "s", c: str = "c") -> str:
    """The title, or by default "6th session of the CCQS" (or "Session of the CCQS on
    2007-02-21" when unnumbered), for the session `s` of the council `c`."""
    council = f"coalesce({c}.acronym, {c}.name)"
    suffix = f"""CASE WHEN {s}.ordinal % 100 BETWEEN 10 AND 20 THEN 'th'
        WHEN {s}.ordinal % 10 = 1 THEN 'st' WHEN {s}.ordinal % 10 = 2 THEN 'nd'
        WHEN {s}.ordinal % 10 = 3 THEN 'rd' ELSE 'th' END"""
    return f"""coalesce({s}.title, CASE WHEN {s}.ordinal IS NULL
        THEN 'Session of the ' || {council} || ' on ' || {s}.start_date
        ELSE {s}.ordinal || {suffix} || ' session of the ' || {council} END)"""


def council_summary(j: JsonSql, c: str = "c") -> str:
    """A council as a session names it: for the council `c`."""
    return j.object(
        {"id": f"{c}.id", "slug": f"{c}.slug", "acronym": f"{c}.acronym", "name": f"{c}.name"}
    )


def person_summary(j: JsonSql, pe: str = "pe") -> str:
    """A person as a participant names them: for the person `pe`."""
    return j.object({"id": f"{pe}.id", "name": f"{pe}.name", "nationality": f"{pe}.nationality"})


def topic_summary(j: JsonSql, t: str = "t") -> str:
    """A topic as an agenda item names it: for the topic `t`."""
    return j.object(
        {
            "id": f"{t}.id",
            "slug": f"{t}.slug",
            "name": f"{t}.name",
            "names": j.stored_json(f"{t}.names"),
        }
    )


def summary_fields(j: JsonSql, s: str = "s", c: str = "c") -> dict[str, str]:
    """The fields of a session summary, for the session `s` and its council `c` (outer
    joined: a meeting outside councils has none)."""
    identifier = j.object({"scheme": "si.scheme", "identifier": "si.identifier"})
    return {
        "id": f"{s}.id",
        "kind": f"{s}.kind",
        "slug": f"{s}.slug",
        "council_id": f"{s}.council_id",
        "council": j.present_when(f"{c}.id IS NOT NULL", council_summary(j, c)),
        "countries": j.array(
            "sc.country", f"session_country sc WHERE sc.session_id = {s}.id", "sc.position"
        ),
        "identifiers": j.array(
            identifier,
            f"session_identifier si WHERE si.session_id = {s}.id",
            "si.position",
            of_json=True,
        ),
        "ordinal": f"{s}.ordinal",
        "title": session_title(s, c),
        "start_date": f"{s}.start_date",
        "end_date": f"{s}.end_date",
        "timezone": f"{s}.timezone",
        "location": j.object(
            {
                "city": f"{s}.location_city",
                "country": f"{s}.location_country",
                "venue": f"{s}.location_venue",
            }
        ),
        "host_country": f"{s}.host_country",
        "guest_countries": j.stored_json(f"{s}.guest_countries"),
        "status": f"{s}.status",
        "summary": f"{s}.summary",
        "source_ids": source_ids(j, f"ci.session_id = {s}.id"),
        "created_at": j.time(f"{s}.created_at"),
        "updated_at": j.time(f"{s}.updated_at"),
    }


def session_summary(j: JsonSql, s: str = "s", c: str = "c") -> str:
    return j.as_text(j.object(summary_fields(j, s, c)))


# A participant `p`, with the person `pe` and the office `o` of PARTICIPANTS_FROM.
PARTICIPANTS_FROM = """participation p JOIN person pe ON pe.id = p.person_id
    LEFT JOIN office o ON o.id = p.office_id"""


def participant(j: JsonSql) -> str:
    segment_ids = j.array(
        "sp.segment_id",
        "segment_participant sp JOIN segment g2 ON g2.id = sp.segment_id "
        "WHERE sp.participation_id = p.id",
        "g2.position",
    )
    return j.object(
        {
            "id": "p.id",
            "session_id": "p.session_id",
            "person_id": "p.person_id",
            "person": person_summary(j),
            "delegation": "p.delegation",
            "role": "p.role",
            "office_id": "p.office_id",
            "title_at_time": "o.title",
            "segment_ids": segment_ids,
            "note": "p.note",
            "source_ids": source_ids(j, "ci.participation_id = p.id"),
            "created_at": j.time("p.created_at"),
            "updated_at": j.time("p.updated_at"),
        }
    )


# An agenda item `a`, with its topic `t`.
AGENDA_FROM = "agenda_item a JOIN topic t ON t.id = a.topic_id"


def agenda_item(j: JsonSql) -> str:
    return j.object(
        {
            "id": "a.id",
            "session_id": "a.session_id",
            "topic_id": "a.topic_id",
            "topic": topic_summary(j),
            "position": "a.position",
            "title": "a.title",
            "note": "a.note",
            "source_ids": source_ids(j, "ci.agenda_item_id = a.id"),
            "created_at": j.time("a.created_at"),
            "updated_at": j.time("a.updated_at"),
        }
    )


def _segments(j: JsonSql) -> str:
    participant_ids = j.array(
        "sp.participation_id",
        "segment_participant sp WHERE sp.segment_id = g.id",
        "sp.participation_id",
    )
    segment = j.object(
        {
            "id": "g.id",
            "key": "g.key",
            "kind": "g.kind",
            "format": "g.format",
            "title": "g.title",
            "date": "g.date",
            "part_of_day": "g.part_of_day",
            "description": "g.description",
            "participant_ids": participant_ids,
        }
    )
    return j.array(segment, "segment g WHERE g.session_id = s.id", "g.position", of_json=True)


def _neighbour(later: bool) -> str:
    """The id of the council's session just before (or after) `s`, by date."""
    direction, order = (">", "") if later else ("<", " DESC")
    return f"""(SELECT o2.id FROM council_session o2 WHERE o2.council_id = s.council_id
        AND (o2.start_date, o2.id) {direction} (s.start_date, s.id)
        ORDER BY o2.start_date{order}, o2.id{order} LIMIT 1)"""


def _detail(j: JsonSql) -> str:
    document = j.object(
        summary_fields(j)
        | {
            "segments": _segments(j),
            "participants": j.array(
                participant(j),
                f"{PARTICIPANTS_FROM} WHERE p.session_id = s.id",
                "p.id",
                of_json=True,
            ),
            "agenda": j.array(
                agenda_item(j),
                f"{AGENDA_FROM} WHERE a.session_id = s.id",
                "a.position",
                of_json=True,
            ),
            "previous_session_id": _neighbour(later=False),
            "next_session_id": _neighbour(later=True),
            "sources": cited_sources(j, "ci.session_id = s.id"),
        }
    )
    return (
        f"{j.as_text(document)} FROM council_session s LEFT JOIN council c ON c.id = s.council_id"
    )


DETAIL = statement_for(
    lambda j: f"SELECT {_detail(j)} WHERE s.id = :session_id OR s.slug = :session_id"
)
# The details of the sessions whose ids are the list `:ids`, each with its id.
DETAILS = statement_for(lambda j: f"SELECT s.id, {_detail(j)} WHERE {j.among('s.id', 'ids')}")
PARTICIPANT = statement_for(
    lambda j: (
        f"SELECT {j.as_text(participant(j))} FROM {PARTICIPANTS_FROM} "
        "WHERE p.id = :participation_id AND p.session_id = :session_id"
    )
)
AGENDA_ITEM = statement_for(
    lambda j: (
        f"SELECT {j.as_text(agenda_item(j))} FROM {AGENDA_FROM} "
        "WHERE a.id = :item_id AND a.session_id = :session_id"
    )
)
# Participants and agenda items by id (the list `:ids`), each with its id.
PARTICIPANTS_OF = statement_for(
    lambda j: (
        f"SELECT p.id, {j.as_text(participant(j))} FROM {PARTICIPANTS_FROM} "
        f"WHERE {j.among('p.id', 'ids')}"
    )
)
AGENDA_ITEMS_OF = statement_for(
    lambda j: (
        f"SELECT a.id, {j.as_text(agenda_item(j))} FROM {AGENDA_FROM} "
        f"WHERE {j.among('a.id', 'ids')}"
    )
)
PARTICIPANTS = statement_for(
    lambda j: (
        f"SELECT {j.as_text(participant(j))} FROM {PARTICIPANTS_FROM} "
        "WHERE p.session_id = :session_id ORDER BY p.id"
    )
)
AGENDA = statement_for(
    lambda j: (
        f"SELECT {j.as_text(agenda_item(j))} FROM {AGENDA_FROM} "
        "WHERE a.session_id = :session_id ORDER BY a.position"
    )
)
