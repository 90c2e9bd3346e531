"""SQLite views read a time's whole seconds exactly (docs/warehouse.md, "Views").

SQLite's date() and strftime('%s') round a time to the millisecond before they drop the
fraction, so a stored time .9995 s or more past a second counted as the next second: a
post at 15:59:59.999999 UTC fell on the next Shanghai day in the daily views (PostgreSQL
put it on the right one), and minutes_between, which adds the stored microseconds to
strftime's whole seconds, was a second too long (00:00 to 00:29:59.999600 gave 30.0167
minutes instead of 29.99999). The SQLite macros `local_day` and `minutes_between` now give
date() and strftime() the time cut to its seconds (`substr(x, 1, 19)`, warehouse/views.py).
PostgreSQL's views render the same as before; no view file changed.

The upgrade recreates every view from sql/views. The downgrade restores the views as
revision 0007 had them (`view_sources_before("0008")`), rendered with the macros of that
time (`render_0007`).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from warehouse.views import (
    create_views,
    drop_views,
    render_0007,
    restore_views,
    view_sources_before,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    create_views(op.get_bind())


def downgrade() -> None:
    restore_views(op.get_bind(), view_sources_before("0008"), render_0007)
