"""Findings name the language of the variant they are about: a locale column.

A plan carries one variant per language for each segment, email and arm; without it the Spanish
arm's finding read (and fingerprinted) the same as the English one's, and one of them was dropped.
Empty for the brand's default language, so existing rows and their fingerprints stay as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("findings", sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): a batch rebuild of the table would trip the
    # review gate's triggers, which name it.
    op.execute("ALTER TABLE findings DROP COLUMN locale")
