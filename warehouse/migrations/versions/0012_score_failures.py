"""Scoring failures are retried, not stored as permanent error rows (docs/warehouse.md,
`score_failures`).

A post the model raised on, or gave no score for, used to get a `scores` row with an error
("model returned no score") for that model version, and was never scored again, even when
the failure was transient; a model failing for every post wrote such rows for the whole
batch. nlp/stage.py now records the failure in the new table `score_failures` (attempts,
last reason, when) and retries the post on later runs; after `MAX_ATTEMPTS` it gives up
and writes the error row with the exception's reason. No view changes: they read `scores`,
which holds a post only once it is scored or given up.

The upgrade creates the table (revision 0001 leaves it to this one); the downgrade drops it (posts still being retried then have
no row in `scores`, so the next scoring run scores them, as revision 0011's code does).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from warehouse.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "score_failures"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("first_failed_at", UTCDateTime(), nullable=False),
        sa.Column("last_failed_at", UTCDateTime(), nullable=False),
        sa.Column("gave_up_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("platform", "post_id", "model_version", name="pk_score_failures"),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
