"""The source document, and the sources a record cites, as the database writes them."""

from app.json_sql import JsonSql, statement_for


def source_document(j: JsonSql, so: str = "so") -> str:
    """A source, for the source table under the name `so`."""
    return j.object(
        {
            "id": f"{so}.id",
            "url": f"{so}.url",
            "title": f"{so}.title",
            "publisher": f"{so}.publisher",
            "language": f"{so}.language",
            "published_on": f"{so}.published_on",
            "online_on": f"{so}.online_on",
            "note": f"{so}.note",
            "created_at": j.time(f"{so}.created_at"),
            "updated_at": j.time(f"{so}.updated_at"),
        }
    )


def cited_sources(j: JsonSql, where: str) -> str:
    """The sources a record cites, whole and in order (`ci` is the citation)."""
    return j.array(
        source_document(j),
        f"citation ci JOIN source so ON so.id = ci.source_id WHERE {where}",
        "ci.position",
        of_json=True,
    )


SOURCE = statement_for(
    lambda j: f"SELECT {j.as_text(source_document(j))} FROM source so WHERE so.id = :source_id"
)
