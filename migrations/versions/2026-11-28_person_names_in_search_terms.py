"""Person names beside their search terms, for the order of a person search.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=500), nullable=True))
    op.execute(
        "UPDATE search_term SET label = "
        "(SELECT person.name FROM person WHERE person.id = search_term.record_id) "
        "WHERE entity = 'person'"
    )
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.drop_index("ix_search_term_lookup")
        batch_op.create_index(
            "ix_search_term_lookup",
            ["entity", "term", "record_id", "weight"],
            unique=False,
            postgresql_include=["label"],
        )


def downgrade() -> None:
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.drop_index("ix_search_term_lookup")
        batch_op.create_index(
            "ix_search_term_lookup", ["entity", "term", "record_id", "weight"], unique=False
        )
        batch_op.drop_column("label")
