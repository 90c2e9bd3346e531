"""Analyst views, corrected (docs/warehouse.md, "Views"):

- v_complaint_responses / v_response_summary: a complaint without an incident of its brand
  takes its own category from its latest score (safety first, else the first) instead of
  'uncategorised', and only the same brand's incident counts;
- v_alert_outcomes / v_incident_timeline: the first alert is the first open/escalate
  notification that paged someone (not the watch level's outbox records, nor the
  answered/noresponse notes); new columns first_recorded_at, alerted, paged, is_alert;
- minutes_between is exact on SQLite (whole microseconds, not julianday) and a double
  precision float on both backends;
- v_top_complaints lists a tracked post under every brand it mentions (new is_competitor);
- `-- column types:` declarations for `yujing export`.

The upgrade recreates every view from sql/views. The downgrade restores the views exactly
as revision 0004 left them (VIEWS_0004: the files this revision changed are kept as they
were in warehouse/migrations/views_before/0005/, see warehouse/views.py), rendered with
the macros of that time (minutes_between by julianday).

Revision ID: 0005
Revises: 0004
"""

import re

from alembic import op

from warehouse.views import (
    create_views,
    drop_views,
    render_0007,
    restore_views,
    sql_view_name,
    view_sources_before,
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    create_views(op.get_bind())


_MINUTES_BETWEEN = re.compile(r"\{\{\s*minutes_between\(([^,()]+),([^()]+)\)\s*\}\}")
_MINUTES_0004 = {
    "sqlite": "((julianday({0}) - julianday({1})) * 1440.0)",
    "postgresql": "(EXTRACT(EPOCH FROM ({0} - {1})) / 60.0)",
}


def render_0004(sql: str, dialect: str) -> str:
    """A 0004-era view for this dialect: minutes_between as it was then, the other macros
    as revisions up to 0007 expanded them (SQLite's local_day changed in 0008)."""
    old = _MINUTES_0004[dialect]
    sql = _MINUTES_BETWEEN.sub(lambda m: old.format(m.group(1).strip(), m.group(2).strip()), sql)
    return render_0007(sql, dialect)


_name = sql_view_name

# sql/views/*.sql as revision 0004 created them (in creation order)
VIEWS_0004 = view_sources_before("0005")


def downgrade() -> None:
    restore_views(op.get_bind(), VIEWS_0004, render_0004)
