"""The documents of a person and of an office, each defined once and written by the
database as JSON (app/json_sql.py)."""

from app.json_sql import JsonSql, source_ids, statement_for
from app.sources.documents import cited_sources

# Chronological, with terms of unknown start first.
OFFICE_ORDER = "coalesce(o.start_date, ''), o.id"


def office(j: JsonSql, o: str = "o") -> str:
    return j.object(
        {
            "id": f"{o}.id",
            "person_id": f"{o}.person_id",
            "title": f"{o}.title",
            "names": j.stored_json(f"{o}.names"),
            "role": f"{o}.role",
            "country": f"{o}.country",
            "organization": f"{o}.organization",
            "start_date": f"{o}.start_date",
            "end_date": f"{o}.end_date",
            "source_ids": source_ids(j, f"ci.office_id = {o}.id"),
            "created_at": j.time(f"{o}.created_at"),
            "updated_at": j.time(f"{o}.updated_at"),
        }
    )


def person(j: JsonSql, p: str = "p") -> str:
    """A person with other names, identifiers, offices and sources, for the person `p`."""
    other_names = j.array(
        j.object({"name": "n.name", "lang": "n.lang", "note": "n.note"}),
        f"person_other_name n WHERE n.person_id = {p}.id",
        "n.position",
        of_json=True,
    )
    identifiers = j.array(
        j.object({"scheme": "i.scheme", "identifier": "i.identifier"}),
        f"person_identifier i WHERE i.person_id = {p}.id",
        "i.position",
        of_json=True,
    )
    offices = j.array(office(j), f"office o WHERE o.person_id = {p}.id", OFFICE_ORDER, of_json=True)
    return j.as_text(
        j.object(
            {
                "id": f"{p}.id",
                "key": f"{p}.key",
                "name": f"{p}.name",
                "honorific_prefix": f"{p}.honorific_prefix",
                "given_name": f"{p}.given_name",
                "family_name": f"{p}.family_name",
                "nationality": f"{p}.nationality",
                "other_names": other_names,
                "identifiers": identifiers,
                "offices": offices,
                "source_ids": source_ids(j, f"ci.person_id = {p}.id"),
                "sources": cited_sources(j, f"ci.person_id = {p}.id"),
                "created_at": j.time(f"{p}.created_at"),
                "updated_at": j.time(f"{p}.updated_at"),
            }
        )
    )


PERSON = statement_for(lambda j: f"SELECT {person(j)} FROM person p WHERE p.id = :person_id")
# Persons and offices by id (the list `:ids`), each with its id.
PERSONS_OF = statement_for(
    lambda j: f"SELECT p.id, {person(j)} FROM person p WHERE {j.among('p.id', 'ids')}"
)
OFFICES_OF = statement_for(
    lambda j: f"SELECT o.id, {j.as_text(office(j))} FROM office o WHERE {j.among('o.id', 'ids')}"
)
OFFICES = statement_for(
    lambda j: (
        f"SELECT {j.as_text(office(j))} FROM office o WHERE o.person_id = :person_id "
        f"ORDER BY {OFFICE_ORDER}"
    )
)
OFFICE = statement_for(
    lambda j: (
        f"SELECT {j.as_text(office(j))} FROM office o "
        "WHERE o.id = :office_id AND o.person_id = :person_id"
    )
)
