"""Search terms (one row per searchable word of a record), and the index on updated_at.

Also makes segment.date nullable, as the model always said: 0001 made it NOT NULL by
mistake. Existing records get their search terms from `entente migrate` (see app/cli.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 13:28:16.708064
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_term",
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column(
            "term",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "record_id", "term", name=op.f("pk_search_term")),
    )
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.create_index("ix_search_term_entity_term", ["entity", "term"], unique=False)

    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.create_index("ix_council_session_updated_at", ["updated_at"], unique=False)

    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.alter_column("date", existing_type=sa.DATE(), nullable=True)


def downgrade() -> None:
    # segment.date stays nullable: making it NOT NULL again would fail on any segment
    # without a date, and 0001's NOT NULL was the mistake this revision corrects.
    with op.batch_alter_table("council_session", schema=None) as batch_op:
        batch_op.drop_index("ix_council_session_updated_at")

    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.drop_index("ix_search_term_entity_term")

    op.drop_table("search_term")
