"""When an incident crossed the viral line, estimated from its post's snapshots
(docs/warehouse.md, `incidents` and "Views").

`incidents.crossed_viral_at` was the time of the escalation run that first saw the post at
or over the line: up to a run after it crossed, and, for a post already over the line when
first seen, the run that found it, so v_alert_outcomes read such an incident as "alerted 0
minutes after it went viral". alerts/stage.py now interpolates the crossing between the
post's last snapshot below the line and its first at or above it; a post over the line at
its first snapshot gets that snapshot's time and the new column
`incidents.crossed_before_seen` true. v_alert_outcomes and v_incident_timeline give such an
incident no lead time (NULL) and show the flag as a new last column `crossed_before_seen`
(1, 0, or NULL when it never crossed or was recorded before this revision, whose times
keep their old meaning). No other column changes.

The upgrade adds the column (unless revision 0001 already made it: on a new warehouse 0001
creates today's tables) and recreates every view from sql/views. The downgrade restores the
views as revision 0010 had them (the files this revision changed are kept as they were in
warehouse/migrations/views_before/0011/) and drops the column; SQLite drops a column by
rebuilding the table, which its views would block, so the views go first.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

from warehouse.views import (
    create_views,
    drop_views,
    render,
    restore_views,
    view_sources_before,
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE, COLUMN = "incidents", "crossed_before_seen"


def upgrade() -> None:
    conn = op.get_bind()
    columns = {c["name"] for c in inspect(conn).get_columns(TABLE)}
    if COLUMN not in columns:
        op.add_column(TABLE, sa.Column(COLUMN, sa.Boolean()))
    drop_views(conn)
    create_views(conn)


def downgrade() -> None:
    conn = op.get_bind()
    views_0010 = view_sources_before("0011")
    drop_views(conn)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column(COLUMN)
    restore_views(conn, views_0010, render)
