"""Alembic environment: runs on the connection that `warehouse.db.upgrade` hands over."""

from alembic import context

from warehouse.db import VERSION_TABLE
from warehouse.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
