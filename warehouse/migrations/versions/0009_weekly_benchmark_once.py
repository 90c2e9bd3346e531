"""v_brand_benchmark_weekly counts each day's complaint responses once (docs/warehouse.md,
"Views").

On the day a brand becomes (or stops being) a competitor, v_mentions_daily has two rows
for it and a platform, one per is_competitor; the weekly view joined each of them to that
day's complaint responses, so complaints_tracked and complaints_answered counted them
twice. The view now sums v_mentions_daily per (day, brand, platform) before the join. No
column changes.

The upgrade recreates every view from sql/views. The downgrade restores the views as
revision 0008 had them (the file this revision changed is kept as it was in
warehouse/migrations/views_before/0009/), rendered with today's macros (unchanged since
0008).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from warehouse.views import (
    create_views,
    drop_views,
    render,
    restore_views,
    view_sources_before,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    create_views(op.get_bind())


def downgrade() -> None:
    restore_views(op.get_bind(), view_sources_before("0009"), render)
