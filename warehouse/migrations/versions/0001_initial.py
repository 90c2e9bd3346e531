"""Initial warehouse schema.

The baseline revision creates the tables as `warehouse.schema` first defined them; every
later change to the schema gets its own revision with explicit `op.*` calls, and
tests/warehouse/test_migrations.py checks that migrating to head gives exactly the schema
the code queries.

Revision ID: 0001
Revises:
"""

from alembic import op

from warehouse.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# tables that later revisions add (they create them themselves)
ADDED_LATER = frozenset({"brand_responses", "score_failures"})


def _baseline_tables():
    return [t for t in metadata.sorted_tables if t.name not in ADDED_LATER]


# indexes that later revisions add (create_all makes them from today's schema)
INDEXES_ADDED_LATER = ("ix_incidents_resolved_at", "ix_notifications_receiver_created_at")


def upgrade() -> None:
    metadata.create_all(bind=op.get_bind(), tables=_baseline_tables())
    for name in INDEXES_ADDED_LATER:
        op.drop_index(name)


def downgrade() -> None:
    metadata.drop_all(bind=op.get_bind(), tables=_baseline_tables())
