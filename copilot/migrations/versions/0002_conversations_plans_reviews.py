"""Conversations, messages, plan revisions, findings, reviews, overrides, audit log.

The audit log is append-only: triggers refuse UPDATE and DELETE on both databases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
EMPTY = sa.text("'{}'")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversations_workspace_id", "conversations", ["workspace_id"])
    op.create_index("ix_conversations_author_id", "conversations", ["author_id"])

    op.create_table(
        "plan_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("parent_number", sa.Integer),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("planner", sa.String(64), nullable=False),
        sa.Column("prompt_versions", JSON, nullable=False, server_default=EMPTY),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "number", name="uq_plan_revisions_number"),
    )
    op.create_index("ix_plan_revisions_conversation_id", "plan_revisions", ["conversation_id"])
    op.create_index("ix_plan_revisions_content_hash", "plan_revisions", ["content_hash"])

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("planner", sa.String(64)),
        sa.Column("revision_id", sa.Integer, sa.ForeignKey("plan_revisions.id")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id"])

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision_id", sa.Integer, sa.ForeignKey("plan_revisions.id"), nullable=False),
        sa.Column("guard", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("segment", sa.String(200)),
        sa.Column("variant", sa.String(64)),
        sa.Column("field", sa.String(32)),
        sa.Column("span_start", sa.Integer),
        sa.Column("span_end", sa.Integer),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", JSON, nullable=False, server_default=EMPTY),
        sa.Column("fix", sa.Text),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.CheckConstraint("severity IN ('block','warn','info')", name="ck_findings_severity"),
    )
    op.create_index("ix_findings_revision_id", "findings", ["revision_id"])

    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False, unique=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("revision_id", sa.Integer, sa.ForeignKey("plan_revisions.id"), nullable=False),
        sa.Column("revision_hash", sa.String(64), nullable=False),
        sa.Column("block_count", sa.Integer, nullable=False),
        sa.Column("warn_count", sa.Integer, nullable=False),
        sa.Column("approved_hash", sa.String(64)),
        sa.Column("approved_by_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("scheduled_for", sa.DateTime(timezone=True)),
        sa.Column("schedule_timezone", sa.String(64)),
        sa.Column("snapshot", JSON),
        sa.Column("snapshot_hash", sa.String(64)),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft','in_review','changes_requested','rejected','approved',"
            "'scheduled','cancelled','sending','sent')",
            name="ck_reviews_state",
        ),
        sa.CheckConstraint("approved_by_id IS NULL OR approved_by_id <> author_id", name="ck_reviews_not_self"),
        sa.CheckConstraint(
            "state NOT IN ('approved','scheduled','sending','sent') OR "
            "(approved_hash IS NOT NULL AND approved_by_id IS NOT NULL)",
            name="ck_reviews_approval_bound",
        ),
        sa.CheckConstraint(
            "state NOT IN ('scheduled','sending','sent') OR snapshot_hash = approved_hash",
            name="ck_reviews_snapshot_is_approved",
        ),
    )
    op.create_index("ix_reviews_workspace_id", "reviews", ["workspace_id"])
    op.create_index("ix_reviews_author_id", "reviews", ["author_id"])
    op.create_index("ix_reviews_state", "reviews", ["state"])

    op.create_table(
        "finding_overrides",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("revision_hash", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('override','acknowledge')", name="ck_overrides_kind"),
    )
    op.create_index("ix_finding_overrides_review_id", "finding_overrides", ["review_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id")),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Integer),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("from_state", sa.String(24)),
        sa.Column("to_state", sa.String(24)),
        sa.Column("revision_hash", sa.String(64)),
        sa.Column("comment", sa.Text),
        sa.Column("data", JSON, nullable=False, server_default=EMPTY),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_table("finding_overrides")
    op.drop_table("reviews")
    op.drop_table("findings")
    op.drop_table("messages")
    op.drop_table("plan_revisions")
    op.drop_table("conversations")
