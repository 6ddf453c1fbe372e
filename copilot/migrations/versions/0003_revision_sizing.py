"""Plan revisions keep the segment sizes measured when they were made.

The chat and the review queue show each revision with the audience it reached at
the time; re-sizing later would silently change what a reviewer saw.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("plan_revisions") as batch:
        batch.add_column(sa.Column("sizing", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_revisions") as batch:
        batch.drop_column("sizing")
