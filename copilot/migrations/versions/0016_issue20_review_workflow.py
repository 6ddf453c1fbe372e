"""Issue 20, the review workflow: per-section approvals and in-app notifications.

``section_approvals``: a reviewer approves a draft's audience, trigger or copy on its own, bound to
that section's hash (copilot.services.sections); the draft is approved when every section is.
``notifications``: what a person is told in the app (submitted, changes requested, approved,
scheduled), read or not. Anchored comments need no table: the anchor travels in the comment's
audit row (``audit_log.data``).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "section_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("section_hash", sa.String(length=64), nullable=False),
        sa.Column("revision_hash", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("voided_at", _TZ, nullable=True),
        sa.CheckConstraint("section IN ('audience', 'trigger', 'copy')", name="ck_section_approvals_section"),
    )
    op.create_index("ix_section_approvals_review", "section_approvals", ["review_id", "section"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("read_at", _TZ, nullable=True),
        sa.CheckConstraint("kind IN ('submitted', 'changes_requested', 'approved', 'scheduled')",
                           name="ck_notifications_kind"),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at", "id"])
    op.create_index("ix_notifications_review_id", "notifications", ["review_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_review_id", table_name="notifications")
    op.drop_index("ix_notifications_user_read", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_section_approvals_review", table_name="section_approvals")
    op.drop_table("section_approvals")
