"""Database tables (SQLModel). The schema itself is owned by Alembic migrations.

Timestamps are timezone-aware UTC (SQLModel's UTCDateTime): timestamptz on
PostgreSQL, UTC text on SQLite, aware datetimes in Python either way.

Longer than most modules on purpose: one table per class, all in one place as the migrations are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

__all__ = [
    "JSONType",
    "utcnow",
    "User",
    "WorkspaceRecord",
    "Contact",
    "Event",
    "ContactAggregate",
    "AGGREGATE_ALL_CATEGORIES",
    "Conversation",
    "Message",
    "PlanRevision",
    "FindingRow",
    "Review",
    "FindingOverride",
    "AuditLog",
    "ApiToken",
    "AnswerClaim",
    "LoginThrottle",
    "Delivery",
    "DeliveryEntry",
    "SendRecord",
    "SuppressedAddress",
    "SectionApproval",
    "Notification",
    "REVIEW_SECTIONS",
    "NOTIFICATION_KINDS",
    "DELIVERY_STATES",
    "ENTRY_STATES",
    "SEND_STATUSES",
    "ROLES",
    "CONSENT_STATES",
    "REVIEW_STATES",
]

# JSONB on PostgreSQL so JSON attributes can be indexed; JSON text on SQLite.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

ROLES = ("marketer", "reviewer", "admin")
CONSENT_STATES = ("subscribed", "unsubscribed", "bounced")
REVIEW_STATES = (
    "draft",
    "in_review",
    "changes_requested",
    "rejected",
    "approved",
    "scheduled",
    "cancelled",
    "sending",
    "sent",
)

# A campaign's delivery: running (sending or waiting for its next step), paused by a person,
# cancelled by a person, done (every entry finished).
DELIVERY_STATES = ("running", "paused", "cancelled", "done")
# One contact's way through a campaign's steps (one entry per contact and entry number).
ENTRY_STATES = ("active", "done", "exited", "not_eligible", "cancelled")
# One send decision: queued (decided, not yet handed to the transport), sending (claimed by a
# worker), sent, failed (permanent failure or retries used up), suppressed (a rule stopped it:
# ``reason`` says which), held_out (the control group), cancelled (the campaign was cancelled first).
# The parts of a plan a reviewer may approve one by one (copilot.services.sections says which plan fields
# each covers); the draft is approved when every section is.
REVIEW_SECTIONS = ("audience", "trigger", "copy")
# What people are told about in the app (the notifications list and the badge).
NOTIFICATION_KINDS = ("submitted", "changes_requested", "approved", "scheduled")
SEND_STATUSES = ("queued", "sending", "sent", "failed", "suppressed", "held_out", "cancelled")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the storage convention)."""
    return datetime.now(UTC)


def _json_field(**kwargs: Any) -> Any:
    return Field(sa_column=sa.Column(JSONType, nullable=False, **kwargs))


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("role IN ('marketer','reviewer','admin')", name="ck_users_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=128)
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)
    is_active: bool = Field(default=True)
    # Where the person's own mail goes (test sends of a draft); optional, set by an admin.
    email: str | None = Field(default=None, max_length=320)
    # Moved on by "log out everywhere": a UI session opened under an older number is void.
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow)


class WorkspaceRecord(SQLModel, table=True):
    __tablename__ = "workspaces"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    source_dir: str = Field(max_length=1000)
    content_hash: str = Field(max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow)
    # The brand folder's review_policy (brand.yaml), copied at registration for the review gate.
    policy: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "email", name="uq_contacts_workspace_email"),
        sa.CheckConstraint("consent IN ('subscribed','unsubscribed','bounced')", name="ck_contacts_consent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    # Identity: lower-cased at the door, so re-imports never duplicate a person.
    email: str = Field(max_length=320)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=200)
    country: str | None = Field(default=None, max_length=2)
    locale: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    consent: str = Field(default="subscribed", max_length=16)
    consent_updated_at: datetime | None = Field(default=None)
    signed_up_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    attributes: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_contact_name_time", "contact_id", "name", "occurred_at"),
        sa.Index("ix_events_name_time_contact", "name", "occurred_at", "contact_id"),
        # Covering index for segment conditions with a category filter (migration 0007).
        sa.Index("ix_events_name_category_time_contact", "name", "category", "occurred_at", "contact_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    contact_id: int = Field(foreign_key="contacts.id")
    name: str = Field(max_length=64)
    occurred_at: datetime
    # The properties segments filter on most are columns so they can be indexed.
    category: str | None = Field(default=None, max_length=64)
    product: str | None = Field(default=None, max_length=128)
    value: float | None = Field(default=None)
    properties: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))


# ``ContactAggregate.category`` of the row that totals every event of a name, whatever its category.
AGGREGATE_ALL_CATEGORIES = ""


class ContactAggregate(SQLModel, table=True):
    """Per contact and event name (and per category of it): how many, first and last time, value summed.

    Kept in step with ``events`` by every writer of events (``copilot.audience.aggregates``;
    migration 0015), so a segment rule like "ordered in the last 90 days", "never opened" or
    "ordered before, but not in the last 180 days" reads one row per contact instead of
    every event of its history. The row with category ``AGGREGATE_ALL_CATEGORIES`` ('')
    totals the name over all categories; one more row per category an event carried.
    """

    __tablename__ = "contact_aggregates"
    __table_args__ = (
        # Sets of contacts by last or first time: index-only scans per workspace.
        sa.Index("ix_contact_aggregates_last", "workspace_id", "name", "category", "last_at", "contact_id"),
        sa.Index("ix_contact_aggregates_first", "workspace_id", "name", "category", "first_at", "contact_id"),
    )

    contact_id: int = Field(sa_column=sa.Column(sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"),
                                                primary_key=True))
    name: str = Field(primary_key=True, max_length=64)
    category: str = Field(primary_key=True, max_length=64)
    workspace_id: int = Field(foreign_key="workspaces.id")
    event_count: int
    first_at: datetime
    last_at: datetime
    value_sum: float = Field(default=0.0)


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    author_id: int = Field(foreign_key="users.id", index=True)
    title: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    __tablename__ = "messages"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    role: str = Field(max_length=16)  # user | assistant | system
    content: str = Field(sa_type=sa.Text)
    planner: str | None = Field(default=None, max_length=64)
    revision_id: int | None = Field(default=None, foreign_key="plan_revisions.id")
    status: str = Field(default="ok", max_length=16)  # ok | pending | error
    prompt_tokens: int = Field(default=0)
    completion_tokens: int = Field(default=0)
    cost_usd: float = Field(default=0.0)
    created_at: datetime = Field(default_factory=utcnow)


class PlanRevision(SQLModel, table=True):
    __tablename__ = "plan_revisions"
    __table_args__ = (sa.UniqueConstraint("conversation_id", "number", name="uq_plan_revisions_number"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    number: int
    parent_number: int | None = Field(default=None)
    plan: dict[str, Any] = _json_field()
    content_hash: str = Field(max_length=64, index=True)
    planner: str = Field(max_length=64)
    prompt_versions: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))
    note: str = Field(default="", sa_type=sa.Text)
    # Segment sizes measured when the revision was made (SizingReport.to_dict()).
    sizing: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class FindingRow(SQLModel, table=True):
    __tablename__ = "findings"
    __table_args__ = (
        sa.CheckConstraint("severity IN ('block','warn','info')", name="ck_findings_severity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    revision_id: int = Field(foreign_key="plan_revisions.id", index=True)
    guard: str = Field(max_length=32)
    code: str = Field(max_length=64)
    severity: str = Field(max_length=8)
    segment: str | None = Field(default=None, max_length=200)
    variant: str | None = Field(default=None, max_length=64)
    message_key: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=16)  # a variant's language other than the brand's default
    field: str | None = Field(default=None, max_length=32)
    span_start: int | None = Field(default=None)
    span_end: int | None = Field(default=None)
    message: str = Field(sa_type=sa.Text)
    evidence: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))
    fix: str | None = Field(default=None, sa_type=sa.Text)
    fingerprint: str = Field(max_length=64)


class Review(SQLModel, table=True):
    """A campaign draft on its way through review. One per conversation.

    Migration 0004 adds triggers that hold the state machine in the database too
    (allowed transitions, approval bound to the revision hash, no approval over an
    unresolved block, an immutable scheduled snapshot); see copilot.services.review.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        sa.CheckConstraint(
            "state IN ('draft','in_review','changes_requested','rejected','approved',"
            "'scheduled','cancelled','sending','sent')",
            name="ck_reviews_state",
        ),
        # Invariant 1, held by the database too: nobody approves their own draft,
        # and an approved or scheduled draft always names the exact revision hash.
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
        # The review queue: one state, longest waiting first (migration 0006).
        sa.Index("ix_reviews_state_submitted", "state", "submitted_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", unique=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    author_id: int = Field(foreign_key="users.id", index=True)
    state: str = Field(default="draft", max_length=24, index=True)
    version: int = Field(default=1)
    revision_id: int = Field(foreign_key="plan_revisions.id")
    revision_hash: str = Field(max_length=64)
    block_count: int = Field(default=0)
    warn_count: int = Field(default=0)
    approved_hash: str | None = Field(default=None, max_length=64)
    approved_by_id: int | None = Field(default=None, foreign_key="users.id")
    approved_at: datetime | None = Field(default=None)
    scheduled_for: datetime | None = Field(default=None)
    schedule_timezone: str | None = Field(default=None, max_length=64)
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    snapshot_hash: str | None = Field(default=None, max_length=64)
    # A scheduled or sending campaign on hold: delivery skips it until resumed (who: audit log).
    paused_at: datetime | None = Field(default=None)
    paused_by_id: int | None = Field(default=None)
    submitted_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FindingOverride(SQLModel, table=True):
    """A reviewer's written override of a blocking finding, or acknowledgement of a warning."""

    __tablename__ = "finding_overrides"
    __table_args__ = (sa.CheckConstraint("kind IN ('override','acknowledge')", name="ck_overrides_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="reviews.id", index=True)
    revision_hash: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    code: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    reason: str = Field(sa_type=sa.Text)
    actor_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Append-only: database triggers refuse UPDATE and DELETE on this table."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    workspace_id: int | None = Field(default=None, foreign_key="workspaces.id")
    entity_type: str = Field(max_length=32)
    entity_id: int | None = Field(default=None)
    action: str = Field(max_length=48)
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str | None = Field(default=None, max_length=24)
    revision_hash: str | None = Field(default=None, max_length=64)
    comment: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] = _json_field(server_default=sa.text("'{}'"))


class ApiToken(SQLModel, table=True):
    """A JSON API client's credential: only the token's SHA-256 is kept (the token is shown once)."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    label: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = Field(default=None)
    revoked_at: datetime | None = Field(default=None)


class AnswerClaim(SQLModel, table=True):
    """A marketer's message being answered now, by whom, and the reply so far.

    The primary key makes "answer each message once" hold across processes: the first claim
    wins; a claim whose heartbeat went quiet (its process died) may be taken over.
    """

    __tablename__ = "answer_claims"

    message_id: int = Field(foreign_key="messages.id", primary_key=True)
    conversation_id: int = Field(foreign_key="conversations.id", index=True)
    owner: str = Field(max_length=128)
    claimed_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    reply: str = Field(default="", sa_type=sa.Text)


class LoginThrottle(SQLModel, table=True):
    """Failed log-ins for one key ("account:NAME" or "address:IP") in the current window.

    Kept in the database, not in memory, so every app process counts the same attempts.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=300)
    failures: int
    window_started_at: datetime
    blocked_until: datetime | None = Field(default=None)
    expires_at: datetime = Field(index=True)  # when the row can be forgotten


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Delivery(SQLModel, table=True):
    """One scheduled review's delivery: the approved snapshot (by hash) being sent.

    One row per (review, snapshot hash): rescheduling the same approved content reuses it, so its
    send ledger still holds and nobody gets the same step twice.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "snapshot_hash", name="uq_deliveries_review_snapshot"),
        sa.CheckConstraint(_in("state", DELIVERY_STATES), name="ck_deliveries_state"),
        sa.CheckConstraint("kind IN ('schedule','event','recurring')", name="ck_deliveries_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="reviews.id", index=True)
    workspace_id: int = Field(foreign_key="workspaces.id", index=True)
    snapshot_hash: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    state: str = Field(default="running", max_length=16, index=True)
    # The review's scheduled moment: the send time (schedule) or when journeys open (event, recurring).
    starts_at: datetime
    schedule_timezone: str = Field(default="UTC", max_length=64)
    control_percent: float = Field(default=10.0)
    # Schedule and recurring runs freeze the audience in chunks of contact ids; after_id is the
    # last contact written, so a freeze cut short resumes where it stopped.
    run_no: int = Field(default=0)
    run_at: datetime | None = Field(default=None)
    freeze_after_id: int = Field(default=0)
    frozen_at: datetime | None = Field(default=None)
    next_run_at: datetime | None = Field(default=None)
    # Event journeys: the last events.id looked at for entries, waits and exits.
    event_watermark: int = Field(default=0)
    # One worker at a time freezes, enters and advances a delivery: it holds this lease.
    lease_owner: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = Field(default=None)
    state_changed_by_id: int | None = Field(default=None, foreign_key="users.id")
    state_changed_at: datetime | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = Field(default=None)


class DeliveryEntry(SQLModel, table=True):
    """One contact's way through a delivery's steps: where they are (``pc``) and when to look again."""

    __tablename__ = "delivery_entries"
    __table_args__ = (
        sa.UniqueConstraint("delivery_id", "contact_id", "entry_no", name="uq_delivery_entries_contact_entry"),
        sa.CheckConstraint(_in("state", ENTRY_STATES), name="ck_delivery_entries_state"),
        # The advancer's work list: active entries whose next step is due.
        sa.Index("ix_delivery_entries_due", "delivery_id", "state", "next_at"),
        sa.Index("ix_delivery_entries_contact", "contact_id", "delivery_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id")
    contact_id: int = Field(foreign_key="contacts.id")
    # 0 for a one-off send; the run number for recurring sends; 1, 2, ... per journey entry.
    entry_no: int = Field(default=0)
    entry_key: str = Field(default="", max_length=200)  # the journey's match property (e.g. the cart id)
    event_id: int | None = Field(default=None)
    entered_at: datetime
    segment: str | None = Field(default=None, max_length=80)
    arm: str | None = Field(default=None, max_length=1)
    control: bool = Field(default=False)
    state: str = Field(default="active", max_length=16)
    reason: str | None = Field(default=None, max_length=200)
    pc: int = Field(default=0)
    step_at: datetime
    next_at: datetime | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow)


class SendRecord(SQLModel, table=True):
    """The send ledger: one row per (delivery, step, contact, entry), written in the same transaction
    as the decision it records. The unique key is what makes a step go out at most once; ``status``
    and ``reason`` answer "why did (or didn't) this person get it"."""

    __tablename__ = "send_ledger"
    __table_args__ = (
        sa.UniqueConstraint("delivery_id", "step", "contact_id", "entry_no", name="uq_send_ledger_step_contact"),
        sa.CheckConstraint(_in("status", SEND_STATUSES), name="ck_send_ledger_status"),
        # The sender's work list and the live counts.
        sa.Index("ix_send_ledger_work", "delivery_id", "status", "due_at"),
        sa.Index("ix_send_ledger_contact", "contact_id", "delivery_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id")
    entry_id: int = Field(foreign_key="delivery_entries.id")
    contact_id: int = Field(foreign_key="contacts.id")
    entry_no: int = Field(default=0)
    step: str = Field(max_length=40)  # "<position>:<message key>", e.g. "1:email_1"
    message: str = Field(max_length=64)
    segment: str | None = Field(default=None, max_length=80)
    arm: str | None = Field(default=None, max_length=1)
    status: str = Field(default="queued", max_length=16)
    reason: str | None = Field(default=None, max_length=40)
    detail: str | None = Field(default=None, sa_type=sa.Text)
    due_at: datetime
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = Field(default=None)
    message_id: str | None = Field(default=None, max_length=250)
    decided_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = Field(default=None)


class SuppressedAddress(SQLModel, table=True):
    """A workspace's suppression list: addresses never sent to (bounces, complaints, by hand)."""

    __tablename__ = "suppression_list"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "email", name="uq_suppression_list_email"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspaces.id")
    email: str = Field(max_length=320)
    reason: str = Field(max_length=32)  # bounce | complaint | manual
    detail: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)


class SectionApproval(SQLModel, table=True):
    """A reviewer's approval of one section of a draft (audience, trigger or copy), bound to that section's
    hash: it stands while the section is unchanged and is void once it changes (or ``voided_at`` is set,
    when the whole approval was withdrawn)."""

    __tablename__ = "section_approvals"
    __table_args__ = (
        sa.CheckConstraint(_in("section", REVIEW_SECTIONS), name="ck_section_approvals_section"),
        sa.Index("ix_section_approvals_review", "review_id", "section"),
    )

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="reviews.id")
    section: str = Field(max_length=16)
    section_hash: str = Field(max_length=64)
    revision_hash: str = Field(max_length=64)  # the whole plan's hash when it was approved (for the record)
    actor_id: int = Field(foreign_key="users.id")
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    voided_at: datetime | None = Field(default=None)


class Notification(SQLModel, table=True):
    """Something a person is told in the app: a draft was submitted, sent back, approved or scheduled."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="ck_notifications_kind"),
        # The badge: one person's unread count.
        sa.Index("ix_notifications_user_read", "user_id", "read_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    review_id: int = Field(foreign_key="reviews.id", index=True)
    kind: str = Field(max_length=24)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = Field(default=None)
