"""Brand responses: the first public reply from a brand's official account under each
tracked complaint (issue 9), plus the views that read it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from warehouse.schema import UTCDateTime
from warehouse.views import create_views, drop_views

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand_responses",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(32), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("comments_seen", sa.Integer(), nullable=False),
        sa.Column("responded_at", UTCDateTime()),
        sa.Column("response_id", sa.String(64)),
        sa.Column("responder_uid", sa.String(32)),
        sa.Column("responder_name", sa.String(100)),
        sa.Column("response_text", sa.Text()),
        sa.PrimaryKeyConstraint("platform", "post_id", "brand", name="pk_brand_responses"),
    )
    op.create_index(
        "ix_brand_responses_brand_responded_at", "brand_responses", ["brand", "responded_at"]
    )
    drop_views(op.get_bind())
    create_views(op.get_bind())


def downgrade() -> None:
    """Back to revision 0002: every view goes (some read brand_responses), then the ones
    0002 created come back, or a downgraded warehouse would have no views at all."""
    drop_views(op.get_bind())
    op.drop_index("ix_brand_responses_brand_responded_at", "brand_responses")
    op.drop_table("brand_responses")
    create_views(op.get_bind(), below="080")
