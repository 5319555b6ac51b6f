"""Initial schema: every resource of the v1 contract, and the ISO 3166 countries.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:22:32.789487
"""

from collections.abc import Sequence

import pycountry
import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "council",
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("acronym", sa.String(length=50), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "bilateral",
                "multilateral",
                name="council_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("established_on", sa.String(length=10), nullable=True),
        sa.Column("founding_context", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "suspended",
                "dissolved",
                name="council_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council")),
        sa.UniqueConstraint("slug", name=op.f("uq_council_slug")),
    )
    op.create_table(
        "country",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("alpha_3", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("official_name", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_country")),
    )
    country = sa.table(
        "country",
        sa.column("code", sa.String),
        sa.column("alpha_3", sa.String),
        sa.column("name", sa.String),
        sa.column("official_name", sa.String),
    )
    rows = [
        {
            "code": c.alpha_2,
            "alpha_3": c.alpha_3,
            "name": c.name,
            "official_name": getattr(c, "official_name", None),
        }
        for c in pycountry.countries
    ]
    # Kosovo: the user-assigned code used by the EU and the IMF until ISO assigns one.
    rows.append(
        {"code": "XK", "alpha_3": "XKX", "name": "Kosovo", "official_name": "Republic of Kosovo"}
    )
    op.bulk_insert(country, rows)
    op.create_table(
        "source",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=500), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("published_on", sa.String(length=10), nullable=True),
        sa.Column("online_on", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("url", name=op.f("uq_source_url")),
    )
    op.create_table(
        "topic",
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["topic.id"], name=op.f("fk_topic_parent_id_topic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic")),
        sa.UniqueConstraint("slug", name=op.f("uq_topic_slug")),
    )
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topic_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "council_member",
        sa.Column("council_id", sa.String(length=36), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["council.id"],
            name=op.f("fk_council_member_council_id_council"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["country"], ["country.code"], name=op.f("fk_council_member_country_country")
        ),
        sa.PrimaryKeyConstraint("council_id", "country", name=op.f("pk_council_member")),
    )
    with op.batch_alter_table("council_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_council_member_country"), ["country"], unique=False)

    op.create_table(
        "council_session",
        sa.Column("council_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("location_city", sa.String(length=200), nullable=True),
        sa.Column("location_country", sa.String(length=2), nullable=True),
        sa.Column("location_venue", sa.String(length=500), nullable=True),
        sa.Column("host_country", sa.String(length=2), nullable=True),
        sa.Column("guest_countries", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "held",
                "postponed",
                "cancelled",
                name="session_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_date >= start_date", name=op.f("ck_council_session_ends_after_start")
        ),
        sa.CheckConstraint("ordinal >= 1", name=op.f("ck_council_session_ordinal_positive")),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["council.id"],
            name=op.f("fk_council_session_council_id_council"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["host_country"], ["country.code"], name=op.f("fk_council_session_host_country_country")
        ),
        sa.ForeignKeyConstraint(
            ["location_country"],
            ["country.code"],
            name=op.f("fk_council_session_location_country_country"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_session")),
        sa.UniqueConstraint(
            "council_id", "ordinal", name=op.f("uq_council_session_council_id_ordinal")
        ),
    )
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_council_session_council_id_start_date_id",
            ["council_id", "start_date", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_council_session_host_country"), ["host_country"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_council_session_location_country"), ["location_country"], unique=False
        )
        batch_op.create_index(
            "ix_council_session_start_date_id", ["start_date", "id"], unique=False
        )

    op.create_table(
        "person",
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("honorific_prefix", sa.String(length=100), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("nationality", sa.String(length=2), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["nationality"], ["country.code"], name=op.f("fk_person_nationality_country")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("key", name=op.f("uq_person_key")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_nationality"), ["nationality"], unique=False)

    op.create_table(
        "agenda_item",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("topic_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_agenda_item_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
            name=op.f("fk_agenda_item_topic_id_topic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_item")),
    )
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_item_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agenda_item_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "office",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "head_of_state",
                "head_of_government",
                "foreign_minister",
                "defence_minister",
                "minister",
                "ambassador",
                "official",
                "other",
                name="office_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("organization", sa.String(length=500), nullable=True),
        sa.Column("start_date", sa.String(length=10), nullable=True),
        sa.Column("end_date", sa.String(length=10), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["country"], ["country.code"], name=op.f("fk_office_country_country")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_office_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_office")),
    )
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_office_person_id"), ["person_id"], unique=False)

    op.create_table(
        "person_identifier",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=100), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_identifier_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "position", name=op.f("pk_person_identifier")),
        sa.UniqueConstraint(
            "scheme", "identifier", name=op.f("uq_person_identifier_scheme_identifier")
        ),
    )
    op.create_table(
        "person_other_name",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("lang", sa.String(length=35), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_person_other_name_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "position", name=op.f("pk_person_other_name")),
    )
    op.create_table(
        "segment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "restricted",
                "plenary",
                "audience",
                "bilateral_meeting",
                "press_conference",
                "working_meal",
                "signing",
                "other",
                name="segment_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("format", sa.String(length=200), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column(
            "part_of_day",
            sa.Enum(
                "morning",
                "afternoon",
                "evening",
                name="part_of_day",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_segment_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment")),
        sa.UniqueConstraint("session_id", "key", name=op.f("uq_segment_session_id_key")),
    )
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_session_id"), ["session_id"], unique=False)

    op.create_table(
        "participation",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("delegation", sa.String(length=2), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "principal",
                "delegate",
                "host",
                "guest",
                "observer",
                name="participation_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("office_id", sa.String(length=36), nullable=True),
        sa.Column("office_given", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delegation"], ["country.code"], name=op.f("fk_participation_delegation_country")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_participation_office_id_office"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_participation_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_participation_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participation")),
        sa.UniqueConstraint(
            "session_id", "person_id", name=op.f("uq_participation_session_id_person_id")
        ),
    )
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participation_office_id"), ["office_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_participation_person_id"), ["person_id"], unique=False)

    op.create_table(
        "citation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.String(length=36), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("office_id", sa.String(length=36), nullable=True),
        sa.Column("participation_id", sa.String(length=36), nullable=True),
        sa.Column("agenda_item_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN council_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN session_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN person_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN office_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN participation_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN agenda_item_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_citation_one_record"),
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_item.id"],
            name=op.f("fk_citation_agenda_item_id_agenda_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["council_id"],
            ["council.id"],
            name=op.f("fk_citation_council_id_council"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            name=op.f("fk_citation_office_id_office"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["participation.id"],
            name=op.f("fk_citation_participation_id_participation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_citation_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["council_session.id"],
            name=op.f("fk_citation_session_id_council_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_citation_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation")),
    )
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_citation_agenda_item_id"), ["agenda_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_citation_council_id"), ["council_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citation_office_id"), ["office_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_citation_participation_id"), ["participation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_citation_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citation_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citation_source_id"), ["source_id"], unique=False)

    op.create_table(
        "segment_participant",
        sa.Column("segment_id", sa.String(length=36), nullable=False),
        sa.Column("participation_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["participation_id"],
            ["participation.id"],
            name=op.f("fk_segment_participant_participation_id_participation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segment.id"],
            name=op.f("fk_segment_participant_segment_id_segment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "segment_id", "participation_id", name=op.f("pk_segment_participant")
        ),
    )
    with op.batch_alter_table("segment_participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_participant_participation_id"),
            ["participation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("segment_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_participant_participation_id"))

    op.drop_table("segment_participant")
    with op.batch_alter_table("citation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citation_source_id"))
        batch_op.drop_index(batch_op.f("ix_citation_session_id"))
        batch_op.drop_index(batch_op.f("ix_citation_person_id"))
        batch_op.drop_index(batch_op.f("ix_citation_participation_id"))
        batch_op.drop_index(batch_op.f("ix_citation_office_id"))
        batch_op.drop_index(batch_op.f("ix_citation_council_id"))
        batch_op.drop_index(batch_op.f("ix_citation_agenda_item_id"))

    op.drop_table("citation")
    with op.batch_alter_table("participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participation_person_id"))
        batch_op.drop_index(batch_op.f("ix_participation_office_id"))

    op.drop_table("participation")
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_session_id"))

    op.drop_table("segment")
    op.drop_table("person_other_name")
    op.drop_table("person_identifier")
    with op.batch_alter_table("office", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_office_person_id"))

    op.drop_table("office")
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_item_topic_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_item_session_id"))

    op.drop_table("agenda_item")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_nationality"))

    op.drop_table("person")
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.drop_index("ix_council_session_start_date_id")
        batch_op.drop_index(batch_op.f("ix_council_session_location_country"))
        batch_op.drop_index(batch_op.f("ix_council_session_host_country"))
        batch_op.drop_index("ix_council_session_council_id_start_date_id")

    op.drop_table("council_session")
    with op.batch_alter_table("council_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_member_country"))

    op.drop_table("council_member")
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topic_parent_id"))

    op.drop_table("topic")
    op.drop_table("source")
    op.drop_table("country")
    op.drop_table("council")
