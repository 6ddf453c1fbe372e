"""Delivery: deliveries, journey entries, the send ledger and the suppression list; a review that
is sending can be cancelled (the review gate's triggers learn ``sending -> cancelled``).

The send ledger's unique key (delivery, step, contact, entry) is what makes a step go out at most
once per contact and entry; the sender and the journey engine write it in the same transaction
as the decision it records.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The review gate's allowed transitions (migration 0004's list plus sending>cancelled); kept equal
# to copilot.services.review.TRANSITIONS (a test checks the newest list).
ALLOWED = (
    "draft>in_review",
    "changes_requested>in_review",
    "cancelled>in_review",
    "cancelled>draft",
    "in_review>changes_requested",
    "in_review>rejected",
    "in_review>approved",
    "approved>in_review",
    "approved>changes_requested",
    "approved>scheduled",
    "scheduled>in_review",
    "scheduled>cancelled",
    "scheduled>sending",
    "sending>sent",
    "sending>cancelled",
)
_PREVIOUS = tuple(pair for pair in ALLOWED if pair != "sending>cancelled")

_DELIVERY_STATES = "('running','paused','cancelled','done')"
_ENTRY_STATES = "('active','done','exited','not_eligible','cancelled')"
_SEND_STATUSES = "('queued','sending','sent','failed','suppressed','held_out','cancelled')"


def _when(pairs: tuple[str, ...]) -> str:
    return ", ".join(f"'{pair}'" for pair in pairs)


def _set_transitions(pairs: tuple[str, ...]) -> None:
    """Replace the transition check of migration 0004 with ``pairs`` (its other checks unchanged)."""
    dialect = op.get_bind().dialect.name
    allowed = _when(pairs)
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS reviews_gate_transition")
        op.execute(
            "CREATE TRIGGER reviews_gate_transition BEFORE UPDATE ON reviews WHEN NEW.state <> OLD.state "
            f"AND (OLD.state || '>' || NEW.state) NOT IN ({allowed}) "
            "BEGIN SELECT RAISE(ABORT, 'review gate: state transition not allowed'); END"
        )
    elif dialect == "postgresql":
        bound = "('approved','scheduled','sending','sent')"
        frozen = "('scheduled','sending','sent')"
        unresolved = (
            "EXISTS (SELECT 1 FROM findings f WHERE f.revision_id = NEW.revision_id AND f.severity = 'block' "
            "AND NOT EXISTS (SELECT 1 FROM finding_overrides o WHERE o.review_id = NEW.id "
            "AND o.revision_hash = NEW.revision_hash AND o.fingerprint = f.fingerprint AND o.kind = 'override'))"
        )
        op.execute(f"""
CREATE OR REPLACE FUNCTION review_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state NOT IN ('draft', 'in_review') THEN
      RAISE EXCEPTION 'review gate: a review starts as draft or in_review, not %', NEW.state;
    END IF;
  ELSE
    IF NEW.state <> OLD.state AND (OLD.state || '>' || NEW.state) NOT IN ({allowed}) THEN
      RAISE EXCEPTION 'review gate: state transition not allowed (% -> %)', OLD.state, NEW.state;
    END IF;
    IF OLD.state IN {frozen} AND (NEW.snapshot_hash IS DISTINCT FROM OLD.snapshot_hash
        OR NEW.snapshot IS DISTINCT FROM OLD.snapshot) THEN
      RAISE EXCEPTION 'review gate: the scheduled snapshot is immutable';
    END IF;
    IF NEW.state = 'approved' AND OLD.state <> 'approved' AND {unresolved} THEN
      RAISE EXCEPTION 'review gate: a blocking finding is neither resolved nor overridden';
    END IF;
  END IF;
  IF NEW.state IN {bound} AND NEW.approved_hash IS DISTINCT FROM NEW.revision_hash THEN
    RAISE EXCEPTION 'review gate: approval is bound to the current revision hash';
  END IF;
  RETURN NEW;
END $$;
""")


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("review_id", sa.Integer, sa.ForeignKey("reviews.id"), nullable=False),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("snapshot_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schedule_timezone", sa.String(64), nullable=False),
        sa.Column("control_percent", sa.Float, nullable=False),
        sa.Column("run_no", sa.Integer, nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True)),
        sa.Column("freeze_after_id", sa.Integer, nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True)),
        sa.Column("next_run_at", sa.DateTime(timezone=True)),
        sa.Column("event_watermark", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(120)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("state_changed_by_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("state_changed_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("review_id", "snapshot_hash", name="uq_deliveries_review_snapshot"),
        sa.CheckConstraint(f"state IN {_DELIVERY_STATES}", name="ck_deliveries_state"),
        sa.CheckConstraint("kind IN ('schedule','event','recurring')", name="ck_deliveries_kind"),
    )
    op.create_index("ix_deliveries_review_id", "deliveries", ["review_id"])
    op.create_index("ix_deliveries_workspace_id", "deliveries", ["workspace_id"])
    op.create_index("ix_deliveries_state", "deliveries", ["state"])

    op.create_table(
        "delivery_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("entry_no", sa.Integer, nullable=False),
        sa.Column("entry_key", sa.String(200), nullable=False),
        sa.Column("event_id", sa.Integer),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("segment", sa.String(80)),
        sa.Column("arm", sa.String(1)),
        sa.Column("control", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("pc", sa.Integer, nullable=False),
        sa.Column("step_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("delivery_id", "contact_id", "entry_no", name="uq_delivery_entries_contact_entry"),
        sa.CheckConstraint(f"state IN {_ENTRY_STATES}", name="ck_delivery_entries_state"),
    )
    op.create_index("ix_delivery_entries_due", "delivery_entries", ["delivery_id", "state", "next_at"])
    op.create_index("ix_delivery_entries_contact", "delivery_entries", ["contact_id", "delivery_id"])

    op.create_table(
        "send_ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("delivery_entries.id"), nullable=False),
        sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), nullable=False),
        sa.Column("entry_no", sa.Integer, nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("message", sa.String(64), nullable=False),
        sa.Column("segment", sa.String(80)),
        sa.Column("arm", sa.String(1)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("detail", sa.Text),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(120)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("message_id", sa.String(250)),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("delivery_id", "step", "contact_id", "entry_no", name="uq_send_ledger_step_contact"),
        sa.CheckConstraint(f"status IN {_SEND_STATUSES}", name="ck_send_ledger_status"),
    )
    op.create_index("ix_send_ledger_work", "send_ledger", ["delivery_id", "status", "due_at"])
    op.create_index("ix_send_ledger_contact", "send_ledger", ["contact_id", "delivery_id"])

    op.create_table(
        "suppression_list",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace_id", sa.Integer, sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "email", name="uq_suppression_list_email"),
    )
    _set_transitions(ALLOWED)


def downgrade() -> None:
    _set_transitions(_PREVIOUS)
    op.drop_table("suppression_list")
    op.drop_index("ix_send_ledger_contact", table_name="send_ledger")
    op.drop_index("ix_send_ledger_work", table_name="send_ledger")
    op.drop_table("send_ledger")
    op.drop_index("ix_delivery_entries_contact", table_name="delivery_entries")
    op.drop_index("ix_delivery_entries_due", table_name="delivery_entries")
    op.drop_table("delivery_entries")
    op.drop_index("ix_deliveries_state", table_name="deliveries")
    op.drop_index("ix_deliveries_workspace_id", table_name="deliveries")
    op.drop_index("ix_deliveries_review_id", table_name="deliveries")
    op.drop_table("deliveries")
