"""The review gate in the database: allowed state transitions, approval bound to the
current revision hash, no approval over an unresolved blocking finding, an immutable
scheduled snapshot, and append-only finding overrides with a written reason.

The service layer (copilot.services.review) checks all of this first and gives clear
errors; these triggers are the backstop for any other writer (a script, a bug).
SQLite note: a later batch migration that recreates ``reviews`` or ``finding_overrides``
drops their triggers and must create them again (``create_gate_triggers``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# "from>to" pairs; kept equal to copilot.services.review.TRANSITIONS (a test checks).
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
)
_ALLOWED_SQL = ", ".join(f"'{pair}'" for pair in ALLOWED)
_BOUND_STATES = "('approved','scheduled','sending','sent')"
_FROZEN_STATES = "('scheduled','sending','sent')"
_UNRESOLVED_BLOCK = (
    "EXISTS (SELECT 1 FROM findings f WHERE f.revision_id = NEW.revision_id AND f.severity = 'block' "
    "AND NOT EXISTS (SELECT 1 FROM finding_overrides o WHERE o.review_id = NEW.id "
    "AND o.revision_hash = NEW.revision_hash AND o.fingerprint = f.fingerprint AND o.kind = 'override'))"
)

_SQLITE_TRIGGERS = {
    "reviews_gate_insert": (
        "BEFORE INSERT ON reviews WHEN NEW.state NOT IN ('draft','in_review')",
        "review gate: a review starts as draft or in_review",
    ),
    "reviews_gate_transition": (
        f"BEFORE UPDATE ON reviews WHEN NEW.state <> OLD.state "
        f"AND (OLD.state || '>' || NEW.state) NOT IN ({_ALLOWED_SQL})",
        "review gate: state transition not allowed",
    ),
    "reviews_gate_bound": (
        f"BEFORE UPDATE ON reviews WHEN NEW.state IN {_BOUND_STATES} "
        "AND NEW.approved_hash IS NOT NEW.revision_hash",
        "review gate: approval is bound to the current revision hash",
    ),
    "reviews_gate_blocks": (
        f"BEFORE UPDATE ON reviews WHEN NEW.state = 'approved' AND OLD.state <> 'approved' AND {_UNRESOLVED_BLOCK}",
        "review gate: a blocking finding is neither resolved nor overridden",
    ),
    "reviews_gate_snapshot": (
        f"BEFORE UPDATE ON reviews WHEN OLD.state IN {_FROZEN_STATES} AND "
        "(NEW.snapshot_hash IS NOT OLD.snapshot_hash OR NEW.snapshot IS NOT OLD.snapshot)",
        "review gate: the scheduled snapshot is immutable",
    ),
    "finding_overrides_reason": (
        "BEFORE INSERT ON finding_overrides WHEN trim(NEW.reason) = ''",
        "finding_overrides: a written reason is required",
    ),
    "finding_overrides_no_update": ("BEFORE UPDATE ON finding_overrides", "finding_overrides is append-only"),
    "finding_overrides_no_delete": ("BEFORE DELETE ON finding_overrides", "finding_overrides is append-only"),
}

_PG_FUNCTIONS = f"""
CREATE FUNCTION review_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.state NOT IN ('draft', 'in_review') THEN
      RAISE EXCEPTION 'review gate: a review starts as draft or in_review, not %', NEW.state;
    END IF;
  ELSE
    IF NEW.state <> OLD.state AND (OLD.state || '>' || NEW.state) NOT IN ({_ALLOWED_SQL}) THEN
      RAISE EXCEPTION 'review gate: state transition not allowed (% -> %)', OLD.state, NEW.state;
    END IF;
    IF OLD.state IN {_FROZEN_STATES} AND (NEW.snapshot_hash IS DISTINCT FROM OLD.snapshot_hash
        OR NEW.snapshot IS DISTINCT FROM OLD.snapshot) THEN
      RAISE EXCEPTION 'review gate: the scheduled snapshot is immutable';
    END IF;
    IF NEW.state = 'approved' AND OLD.state <> 'approved' AND {_UNRESOLVED_BLOCK} THEN
      RAISE EXCEPTION 'review gate: a blocking finding is neither resolved nor overridden';
    END IF;
  END IF;
  IF NEW.state IN {_BOUND_STATES} AND NEW.approved_hash IS DISTINCT FROM NEW.revision_hash THEN
    RAISE EXCEPTION 'review gate: approval is bound to the current revision hash';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER review_gate BEFORE INSERT OR UPDATE ON reviews FOR EACH ROW EXECUTE FUNCTION review_gate();
CREATE FUNCTION finding_overrides_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'finding_overrides is append-only';
  END IF;
  IF btrim(NEW.reason) = '' THEN
    RAISE EXCEPTION 'finding_overrides: a written reason is required';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER finding_overrides_guard BEFORE INSERT OR UPDATE OR DELETE ON finding_overrides
  FOR EACH ROW EXECUTE FUNCTION finding_overrides_guard();
"""


def create_gate_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, (when, message) in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")
    elif dialect == "postgresql":
        op.execute(_PG_FUNCTIONS)


def upgrade() -> None:
    create_gate_triggers()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_gate ON reviews")
        op.execute("DROP FUNCTION IF EXISTS review_gate()")
        op.execute("DROP TRIGGER IF EXISTS finding_overrides_guard ON finding_overrides")
        op.execute("DROP FUNCTION IF EXISTS finding_overrides_guard()")
