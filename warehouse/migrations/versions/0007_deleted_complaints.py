"""Deleted complaints: `brand_responses.gone_at` records that the last comment check found
the post deleted or hidden (Weibo errors 20101/20112/20132).

Before, a check that found the post gone recorded nothing, so an incident whose lead post
was deleted never got its "no response" verdict: the last check of it stayed from before
the deadline. alerts/stage.py now judges such an incident on its posts still up. A post
found again (Weibo restores hidden posts) gets `gone_at` NULL at its next complete check;
a post deleted before its first check gets no row. The views do not change.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

from warehouse.schema import UTCDateTime
from warehouse.views import drop_views, render_0007, restore_views, view_sources_before

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE, COLUMN = "brand_responses", "gone_at"


def upgrade() -> None:
    columns = {c["name"] for c in inspect(op.get_bind()).get_columns(TABLE)}
    if COLUMN not in columns:
        op.add_column(TABLE, sa.Column(COLUMN, UTCDateTime()))


def downgrade() -> None:
    """SQLite drops a column by rebuilding the table, which its views would block: the
    views go first and come back as revision 0006 had them (its macros: `render_0007`)."""
    conn = op.get_bind()
    views_0006 = view_sources_before("0007")
    drop_views(conn)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column(COLUMN)
    restore_views(conn, views_0006, render_0007)
