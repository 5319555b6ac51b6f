"""Every diplomatic meeting: sessions outside councils, their parties, slugs and
identifiers, and the former countries of ISO 3166-3.

Every existing session becomes a `council_session` whose parties (`session_country`)
are its council's members, then its guests. Country codes widen to four letters for the
former countries (`SUHH`), which are added from pycountry. The topics and delegations of
a session are indexed with it, for the relations of two countries.

The downgrade refuses, rather than deletes, what the older schema cannot hold: meetings
outside councils and uses of former countries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:00:00
"""

from collections import defaultdict
from collections.abc import Sequence

import pycountry
import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column that holds a country code, by table.
COUNTRY_COLUMNS = {
    "country": ["code"],
    "council_member": ["country"],
    "council_session": ["location_country", "host_country"],
    "person": ["nationality"],
    "office": ["country"],
    "participation": ["delegation"],
}
# Columns that hold lists of country codes as JSON arrays, by table.
COUNTRY_LISTS = {"council_session": "guest_countries", "topic": "countries"}
KINDS = (
    "council_session",
    "state_visit",
    "official_visit",
    "working_visit",
    "private_visit",
    "visit",
    "summit",
    "ministerial_meeting",
    "other",
)
KIND = sa.Enum(*KINDS, name="session_kind", native_enum=False, create_constraint=True, length=32)


def _widen_codes(length: int) -> None:
    for table, columns in COUNTRY_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.String(length=6 - length),
                    type_=sa.String(length=length),
                )


def upgrade() -> None:
    _widen_codes(4)
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("former", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("withdrawn_on", sa.String(length=10), nullable=True))
    country = sa.table(
        "country",
        sa.column("code", sa.String),
        sa.column("alpha_3", sa.String),
        sa.column("name", sa.String),
        sa.column("official_name", sa.String),
        sa.column("former", sa.Boolean),
        sa.column("withdrawn_on", sa.String),
    )
    op.bulk_insert(
        country,
        [
            {
                "code": c.alpha_4,
                "alpha_3": c.alpha_3,
                "name": c.name,
                "official_name": None,
                "former": True,
                "withdrawn_on": getattr(c, "withdrawal_date", None),
            }
            for c in pycountry.historic_countries
        ],
    )
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.alter_column("former", server_default=None)

    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", KIND, nullable=False, server_default="council_session")
        )
        batch_op.add_column(sa.Column("slug", sa.String(length=100), nullable=True))
        batch_op.alter_column("council_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.create_index(batch_op.f("ix_council_session_kind"), ["kind"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_council_session_slug"), ["slug"])
        batch_op.create_check_constraint(
            "kind_fits_council", "(council_id IS NULL) = (kind <> 'council_session')"
        )
        batch_op.create_check_constraint(
            "numbered_in_council", "council_id IS NOT NULL OR ordinal IS NULL"
        )
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=KIND, server_default=None)

    op.create_table(
        "session_country",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("country", sa.String(length=4), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["country"], ["country.code"], name=op.f("fk_session_country_country_country")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_session_country_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "country", name=op.f("pk_session_country")),
    )
    with op.batch_alter_table("session_country", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_country_country_session_id", ["country", "session_id"], unique=False
        )
    op.create_table(
        "session_identifier",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_session_identifier_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "position", name=op.f("pk_session_identifier")),
        sa.UniqueConstraint(
            "scheme", "identifier", name=op.f("uq_session_identifier_scheme_identifier")
        ),
    )
    _derive_parties()
    _index_what_relations_count()


def _index_what_relations_count() -> None:
    """The relations of two countries count the topics and the people of every session
    between them: both are read from indexes alone. The topics' index replaces the one on
    `session_id` alone; the delegation joins the unique key as an included column, which
    SQLite has no use for."""
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_item_session_id"))
        batch_op.create_index(
            "ix_agenda_item_session_id_topic_id", ["session_id", "topic_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        _participation_key(include=["delegation"])


def _participation_key(*, include: list[str]) -> None:
    """Make the unique key of participations again, with `include` as included columns
    (PostgreSQL), in SQL: Alembic's operation knows only the key's own columns."""
    name = "uq_participation_session_id_person_id"
    op.drop_constraint(name, "participation", type_="unique")
    included = f" INCLUDE ({', '.join(include)})" if include else ""
    op.execute(
        f"ALTER TABLE participation ADD CONSTRAINT {name} UNIQUE (session_id, person_id)" + included
    )


def _derive_parties() -> None:
    """The parties of every session so far: its council's members, then its guests."""
    bind = op.get_bind()
    members: dict[str, list[str]] = defaultdict(list)
    for council_id, country in bind.execute(
        sa.text("SELECT council_id, country FROM council_member ORDER BY council_id, position")
    ):
        members[council_id].append(country)
    session = sa.table(
        "council_session",
        sa.column("id", sa.String),
        sa.column("council_id", sa.String),
        sa.column("guest_countries", sa.JSON),
    )
    party = sa.table(
        "session_country",
        sa.column("session_id", sa.String),
        sa.column("country", sa.String),
        sa.column("position", sa.Integer),
    )
    rows = []
    for session_id, council_id, guests in bind.execute(
        sa.select(session.c.id, session.c.council_id, session.c.guest_countries)
    ):
        countries = list(dict.fromkeys([*members[council_id], *(guests or [])]))
        rows += [
            {"session_id": session_id, "country": code, "position": position}
            for position, code in enumerate(countries)
        ]
    if rows:
        op.bulk_insert(party, rows)


def downgrade() -> None:
    bind = op.get_bind()
    outside = bind.scalar(sa.text("SELECT count(*) FROM council_session WHERE council_id IS NULL"))
    former = [
        f"{table}.{column}"
        for table, columns in COUNTRY_COLUMNS.items()
        if table != "country"
        for column in columns
        if bind.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE length({column}) > 2"))
    ]
    for table, column in COUNTRY_LISTS.items():
        lists = sa.table(table, sa.column(column, sa.JSON))
        if any(
            len(code) > 2 for codes in bind.scalars(sa.select(lists.c[column])) for code in codes
        ):
            former.append(f"{table}.{column}")
    if outside or former:
        raise RuntimeError(
            "Revision 0011 cannot hold meetings outside councils "
            f"({outside} here) nor former countries (used in: {', '.join(former) or 'none'}); "
            "delete them before downgrading."
        )
    if bind.dialect.name == "postgresql":
        _participation_key(include=[])
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index("ix_agenda_item_session_id_topic_id")
        batch_op.create_index(batch_op.f("ix_agenda_item_session_id"), ["session_id"], unique=False)
    op.drop_table("session_identifier")
    with op.batch_alter_table("session_country", schema=None) as batch_op:
        batch_op.drop_index("ix_session_country_country_session_id")
    op.drop_table("session_country")
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_council_session_numbered_in_council"), type_="check"
        )
        batch_op.drop_constraint(batch_op.f("ck_council_session_kind_fits_council"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_council_session_session_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_council_session_slug"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_council_session_kind"))
        batch_op.alter_column("council_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_column("slug")
        batch_op.drop_column("kind")
    op.execute("DELETE FROM country WHERE former")
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_on")
        batch_op.drop_column("former")
    _widen_codes(2)
