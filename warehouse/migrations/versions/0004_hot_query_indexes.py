"""Indexes for the hot queries that scanned whole tables (found by EXPLAIN in
tests/warehouse/test_query_plans.py): the escalation stage's incident load (open OR
recently resolved) and the per-receiver rate-limit count over notifications.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incidents_resolved_at", "incidents", ["resolved_at"])
    op.create_index(
        "ix_notifications_receiver_created_at", "notifications", ["receiver", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_receiver_created_at", "notifications")
    op.drop_index("ix_incidents_resolved_at", "incidents")
