"""Connecting to the warehouse and migrating it.

The warehouse is SQLite by default (a file under the project's state directory) and any
SQLAlchemy URL in `YUJING_WAREHOUSE_URL` in production (PostgreSQL). Where a local file
cannot be the warehouse (a Celery worker on another machine) callers pass
`local_fallback=False` and get `WarehouseNotConfigured` instead of an empty SQLite file.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect

from yujing.paths import state_dir

VERSION_TABLE = "yujing_alembic_version"  # not Airflow's alembic_version, should they share a DB
MIGRATIONS = Path(__file__).with_name("migrations")
# keys per `IN (...)` query: under SQLite's bound-parameter limit, and small plans on PostgreSQL
IN_CHUNK = 500


class WarehouseNotConfigured(RuntimeError):
    """No warehouse URL where the local SQLite file would be the wrong database."""


def warehouse_url(url: str | None = None, *, local_fallback: bool = True) -> str:
    """The URL to use: the argument, else $YUJING_WAREHOUSE_URL, else the local SQLite file
    (only when `local_fallback`: otherwise WarehouseNotConfigured)."""
    if url:
        return url
    if os.environ.get("YUJING_WAREHOUSE_URL"):
        return os.environ["YUJING_WAREHOUSE_URL"]
    if not local_fallback:
        raise WarehouseNotConfigured(
            "no warehouse URL: set YUJING_WAREHOUSE_URL (a SQLAlchemy URL) or the Airflow "
            "Connection yujing_warehouse (AIRFLOW_CONN_YUJING_WAREHOUSE)"
        )
    return f"sqlite:///{state_dir() / 'warehouse.db'}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the scheduler's parallel tasks read while one writes; busy_timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """A new engine for the warehouse (SQLite gets WAL and a busy timeout)."""
    resolved = warehouse_url(url)
    if resolved.startswith("sqlite"):
        path = resolved.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(resolved, pool_pre_ping=True)


@cache
def shared_engine(url: str | None = None) -> Engine:
    """One engine per URL per process (tasks and CLI commands reuse its pool)."""
    return make_engine(url)


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply every migration up to `revision`; idempotent. Returns the revision now in force."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table(VERSION_TABLE) and current_revision(engine) is not None


def missing_sqlite_file(url) -> str | None:
    """Why a SQLite warehouse URL names no warehouse (its file does not exist), or None:
    checked before an engine is made, since making one creates the file's folder."""
    from sqlalchemy import make_url

    url = make_url(url)
    path = url.database
    if url.get_backend_name() != "sqlite" or path in (None, "", ":memory:"):
        return None
    if Path(path).exists():
        return None
    return f"no warehouse at {path}: check YUJING_WAREHOUSE_URL (the pipeline's is used)"


def not_ready(engine: Engine) -> str | None:
    """Why a command that only reads and writes rows (`yujing silence`, `yujing ack`) should
    not use this warehouse, or None. It never creates or migrates one: a mistyped SQLite
    path would get a new empty file the pipeline never reads, and migrating production is
    `yujing db upgrade`'s job, not a side effect of acknowledging an incident. A warehouse
    behind this checkout is used as it is (the rows these commands touch are in every
    revision; refusing would block an ack mid-incident after a deploy); one migrated by a
    newer checkout is refused. The URL is shown with its password hidden."""
    shown = engine.url.render_as_string(hide_password=True)
    missing = missing_sqlite_file(engine.url)
    if missing:
        return missing
    if not is_migrated(engine):
        return f"the warehouse {shown} has no tables yet: run `yujing db upgrade`"
    from alembic.script import ScriptDirectory

    found = current_revision(engine)
    script = ScriptDirectory.from_config(_alembic_config(None))
    if found not in {s.revision for s in script.walk_revisions()}:
        return (
            f"the warehouse {shown} is at migration {found}, which this checkout does not "
            "have: it was upgraded by a newer Yujing; update this checkout"
        )
    return None
