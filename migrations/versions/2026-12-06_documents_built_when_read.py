"""Documents built when read, from one definition: the summaries and person documents
that PostgreSQL kept written by triggers (migrations 0009 and 0010) are dropped.

Those triggers spelled the documents a second time in PL/pgSQL; the application now
builds every document with one SQL definition for both databases (app/json_sql.py).
Undone by running the two migrations' own upgrades again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence
from types import ModuleType

from alembic import context

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _migration(revision: str) -> ModuleType:
    module: ModuleType = context.script.get_revision(revision).module
    return module


def upgrade() -> None:
    _migration("0010").downgrade()  # the session summaries
    _migration("0009").downgrade()  # the person documents


def downgrade() -> None:
    _migration("0009").upgrade()
    _migration("0010").upgrade()
