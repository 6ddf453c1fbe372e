"""Answer claims: which process is answering a marketer's message now (one answer per message).

The web UI kept this in a per-process set, lost on restart and wrong with two workers.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_claims",
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"),
                  nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reply", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_answer_claims_conversation_id", "answer_claims", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_answer_claims_conversation_id", table_name="answer_claims")
    op.drop_table("answer_claims")
