"""Issue 20 (test sends): a person's own e-mail address on their account.

"Send me a test" mails a draft's variant to the viewer's own address and nowhere else; an admin sets
it on the Users page. Nullable: accounts without one simply get no test sends.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"  # after main's 0015 (contact aggregates) and 0016 (review workflow)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
