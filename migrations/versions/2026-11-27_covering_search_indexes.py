"""Search terms and person names read from indexes alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 22:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.drop_index("ix_search_term_entity_term")
        batch_op.create_index(
            "ix_search_term_lookup", ["entity", "term", "record_id", "weight"], unique=False
        )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index("ix_person_id_name", ["id", "name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_id_name")
    with op.batch_alter_table("search_term", schema=None) as batch_op:
        batch_op.drop_index("ix_search_term_lookup")
        batch_op.create_index("ix_search_term_entity_term", ["entity", "term"], unique=False)
