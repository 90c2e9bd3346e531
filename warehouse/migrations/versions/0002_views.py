"""Analyst views from sql/views (see warehouse/views.py).

A later change to a view file gets a new revision that calls `create_views` again; this
revision creates only the views numbered before 080 (the later ones read tables that later
revisions add).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from warehouse.views import create_views, drop_views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind(), below="080")


def downgrade() -> None:
    drop_views(op.get_bind(), below="080")
