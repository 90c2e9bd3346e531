"""Shared fixtures: temporary warehouses on SQLite and on the local PostgreSQL.

PostgreSQL tests use a fresh schema each, dropped afterwards. In CI (CI or
YUJING_REQUIRE_POSTGRES set) an unreachable PostgreSQL fails the suite; on a user's
machine without it those tests skip with a one-line reason.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

# Before anything imports Airflow or touches local state: tests never use the checkout's
# .yujing/ or ~/airflow, and DAGs come from this checkout.
_REPO = Path(__file__).resolve().parents[1]
_SCRATCH = Path(tempfile.mkdtemp(prefix="yujing-tests-"))
os.environ["YUJING_HOME"] = str(_SCRATCH / "yujing")
os.environ["AIRFLOW_HOME"] = str(_SCRATCH / "airflow")
os.environ["AIRFLOW_CONFIG"] = str(_REPO / "airflow.cfg")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ.pop("YUJING_CONFIG", None)
os.environ.pop("YUJING_WAREHOUSE_URL", None)

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from warehouse.db import make_engine, upgrade  # noqa: E402

PG_URL = os.environ.get("YUJING_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def _postgres_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("YUJING_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def pg_available() -> str:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        reason = f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}"
        if _postgres_required():
            pytest.fail(reason + " (required in CI)")
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def pg_engine(pg_available):
    """A migrated warehouse in a throwaway PostgreSQL schema."""
    schema = f"yj_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(
        PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path):
    """A migrated warehouse in a temporary SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request):
    """The same test on both warehouse backends."""
    name = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    return request.getfixturevalue(name)
