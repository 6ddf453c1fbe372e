"""Access and logins: a workspace's review policy, "log out everywhere", paused campaigns,
and login throttling state shared by every app process.

- ``workspaces.policy``: the brand folder's ``review_policy`` (brand.yaml), copied when the
  workspace is registered so the review gate can read it beside the review row.
- ``users.session_generation``: a UI session remembers the generation it was opened in;
  "log out everywhere" moves the number on and every older session stops working.
- ``reviews.paused_at`` / ``paused_by_id``: a scheduled or sending campaign on hold (delivery
  skips it until it is resumed); who and why is in the audit log.
- ``login_throttle``: failed log-ins per account and per client address in a time window,
  in the database so every process behind a load balancer counts the same attempts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("policy", _JSON, nullable=False, server_default=sa.text("'{}'")))
    op.add_column("users", sa.Column("session_generation", sa.Integer, nullable=False, server_default="0"))
    op.add_column("reviews", sa.Column("paused_at", sa.DateTime(timezone=True)))
    op.add_column("reviews", sa.Column("paused_by_id", sa.Integer))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_throttle_expires_at", "login_throttle", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_expires_at", table_name="login_throttle")
    op.drop_table("login_throttle")
    # recreate="never": a plain DROP COLUMN (SQLite >= 3.35). Recreating ``reviews`` would drop the review
    # gate's triggers of migration 0004 on SQLite.
    with op.batch_alter_table("reviews", recreate="never") as batch:
        batch.drop_column("paused_by_id")
        batch.drop_column("paused_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("policy")
