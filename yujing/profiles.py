"""Run profiles: what `make run` (local) and `make run PROFILE=prod` start.

- `local`: `airflow standalone` with the LocalExecutor on SQLite, an SQLite warehouse.
- `prod`: Airflow's metadata database on PostgreSQL, the CeleryExecutor with Redis as the
  broker (results in PostgreSQL), the warehouse on PostgreSQL, and each component started
  on its own (api-server, scheduler, dag-processor, triggerer, Celery worker), as they
  would run on separate machines. More workers (`airflow celery worker` elsewhere, same
  settings) means more tasks at once: ingest is mapped per brand.

The PostgreSQL server and Redis come from `YUJING_PROD_PG` (a SQLAlchemy URL without a
database, default `postgresql+psycopg2://postgres@127.0.0.1:5432`) and `YUJING_PROD_REDIS`
(default `redis://127.0.0.1:6379/0`); the databases are created when missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class ProdSettings:
    pg: str = DEFAULT_PG
    redis: str = DEFAULT_REDIS
    airflow_db: str = "yujing_airflow"
    warehouse_db: str = "yujing"
    queue: str = "default"

    @classmethod
    def from_env(cls) -> ProdSettings:
        return cls(
            pg=os.environ.get("YUJING_PROD_PG", DEFAULT_PG).rstrip("/"),
            redis=os.environ.get("YUJING_PROD_REDIS", DEFAULT_REDIS),
        )

    @property
    def airflow_url(self) -> str:
        return f"{self.pg}/{self.airflow_db}"

    @property
    def warehouse_url(self) -> str:
        return f"{self.pg}/{self.warehouse_db}"

    def env(self) -> dict[str, str]:
        """The AIRFLOW__*/YUJING_* settings every component and CLI call gets."""
        result_backend = "db+" + self.airflow_url.replace("postgresql+psycopg2", "postgresql")
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
            "YUJING_WAREHOUSE_URL": self.warehouse_url,
        }

    def components(self) -> list[list[str]]:
        """`airflow …` commands, one per process."""
        return [
            ["api-server"],
            ["scheduler"],
            ["dag-processor"],
            ["triggerer"],
            ["celery", "worker", "--concurrency", "4", "--queues", self.queue],
        ]


def ensure_database(server_url: str, name: str) -> bool:
    """CREATE DATABASE `name` on the server unless it exists; True when created."""
    from sqlalchemy import create_engine, text

    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists:
                return False
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        admin.dispose()


def drop_database(server_url: str, name: str) -> None:
    """DROP DATABASE (tests clean up after themselves); connections are terminated first."""
    from sqlalchemy import create_engine, text

    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
