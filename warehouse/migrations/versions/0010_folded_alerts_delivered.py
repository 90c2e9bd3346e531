"""An alert folded into an hourly summary counts as delivered when the summary is sent
(docs/warehouse.md, "Views").

Past a receiver's `max_per_hour` an alert is folded into that hour's summary; the
summary reaches the receiver, the alert's own row stays `folded`. v_alert_outcomes and
v_incident_timeline read only `sent` rows, so an incident the PR team heard of in a
summary showed alerted = 0 with no first_alert_at: precision, recall and lead times were
wrong, most of all in alert storms. A folded row now keeps its summary's key in
`external_id` and gets the summary's `sent_at` when it goes out; both views count folded
rows with a `sent_at`. No column changes; rows folded before this revision have no
`sent_at` and stay uncounted.

The upgrade recreates every view from sql/views. The downgrade restores the views as
revision 0009 had them (the files this revision changed are kept as they were in
warehouse/migrations/views_before/0010/).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from warehouse.views import (
    create_views,
    drop_views,
    render,
    restore_views,
    view_sources_before,
)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_views(op.get_bind())
    create_views(op.get_bind())


def downgrade() -> None:
    restore_views(op.get_bind(), view_sources_before("0010"), render)
