"""Official accounts: a brand's own post is no complaint against it (docs/warehouse.md,
"official_accounts" and "Views").

A post by one of the brand's official accounts (its apology, its recall notice) counted as
a negative post and a complaint against the brand in the analyst views, while the alerting
code already took it for the brand's statement (alerts/responses.py `own_statement`). The
new table `official_accounts` (brand, platform, uid) holds the config's accounts, kept in
sync by warehouse/official_accounts.py, and the views read it: such a post still counts as
a mention (and as scored) of the brand, but not as negative nor as a complaint of that
brand in v_mentions_daily and v_complaint_categories_daily (and so in the benchmarks built
on them), and v_top_complaints no longer lists it under that brand. Another brand it names
counts it as before. No column changes.

The upgrade creates the table (unless revision 0001 already made it: on a new warehouse
0001 creates today's tables, this one among them) and recreates every view from
sql/views. The downgrade drops the table and restores the views exactly as revision 0005
left them (VIEWS_0005: the files this revision changed are kept as they were in
warehouse/migrations/views_before/0006/), rendered with the macros of 0005 to 0007
(`render_0007`; the new `official_author` macro is not in them).

The views of the older revisions (0002, 0003 create them from today's sql/views) render
`official_author` as false while the table does not exist (warehouse/views.py), so
upgrading an older warehouse and downgrading below 0006 keep working.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

from warehouse.schema import UTCDateTime
from warehouse.views import (
    create_views,
    drop_views,
    render_0007,
    restore_views,
    sql_view_name,
    view_sources_before,
)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "official_accounts"


def upgrade() -> None:
    conn = op.get_bind()
    if not inspect(conn).has_table(TABLE):
        op.create_table(
            TABLE,
            sa.Column("brand", sa.String(32), nullable=False),
            sa.Column("platform", sa.String(16), nullable=False),
            sa.Column("uid", sa.String(64), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("brand", "platform", "uid", name="pk_official_accounts"),
        )
    drop_views(conn)
    create_views(conn)


_name = sql_view_name

# sql/views/*.sql as revision 0005 created them (in creation order)
VIEWS_0005 = view_sources_before("0006")


def downgrade() -> None:
    conn = op.get_bind()
    restore_views(conn, VIEWS_0005, render_0007)
    op.drop_table(TABLE)
