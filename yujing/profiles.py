"""Run profiles: what `make run` (local) and `make run PROFILE=prod` start.

- `local`: `airflow standalone` with the LocalExecutor on SQLite, an SQLite warehouse.
- `prod`: Airflow's metadata database on PostgreSQL, the CeleryExecutor with Redis as the
  broker (results in PostgreSQL), the warehouse on PostgreSQL, and each component started
  on its own (api-server, scheduler, dag-processor, triggerer, Celery worker), as they
  would run on separate machines. More workers (`airflow celery worker` elsewhere, same
  settings) means more tasks at once: ingest is mapped per brand.

The PostgreSQL server and Redis come from `YUJING_PROD_PG` (a SQLAlchemy URL without a
database, default `postgresql+psycopg2://postgres@127.0.0.1:5432`; connection options such
as `?sslmode=require` are kept in every URL built from it) and `YUJING_PROD_REDIS`
(default `redis://127.0.0.1:6379/0`); the databases are created when missing. Workers
reach the API server at `YUJING_PROD_API_URL` (default `http://127.0.0.1:8080`).

These URLs hold passwords: anything printed goes through `mask_url`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

DEFAULT_PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_API = "http://127.0.0.1:8080"

# What a Celery worker on another machine needs besides `ProdSettings.env()` (the README's
# scale-out section lists them all; a test keeps it honest): the JWT secret every component
# shares, the config file, the Airflow config and DAGs of its own checkout.
WORKER_SETTINGS = (
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW_CONFIG",
    "AIRFLOW__CORE__DAGS_FOLDER",
    "YUJING_CONFIG",
)

_SECRET_QUERY = re.compile(r"(?i)(password|passwd|secret|token)")


def mask_url(url: str) -> str:
    """`url` fit to print: the password (and any password-like query option) as ***.

    Works for SQLAlchemy, Celery `db+…` and Redis URLs; a string that does not parse has
    everything from a `:` to the last `@` masked instead, so a typo never prints a secret."""
    from sqlalchemy import make_url

    prefix, rest = ("db+", url[3:]) if url.startswith("db+") else ("", url)
    try:
        parsed = make_url(rest)
        query = {k: ("***" if _SECRET_QUERY.search(k) else v) for k, v in parsed.query.items()}
        shown = parsed.set(query=query).render_as_string(hide_password=True)
        shown = shown.replace("%2A%2A%2A", "***")  # the masked options, unescaped
    except Exception:  # noqa: BLE001 - any unparseable string: mask by pattern instead
        shown = re.sub(r":\S*@", ":***@", rest)  # greedy: a password may hold : / @
        shown = re.sub(r"(?i)((?:password|secret|token)=)[^&\s]*", r"\1***", shown)
    return prefix + shown


def _with_database(server_url: str, database: str, drivername: str | None = None) -> str:
    """`server_url` pointed at `database`, its connection options kept (not f"{url}/{db}",
    which turned `…:5432?sslmode=require` into an option value `require/yujing`)."""
    from sqlalchemy import make_url

    url = make_url(server_url).set(database=database)
    if drivername:
        url = url.set(drivername=drivername)
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class ProdSettings:
    pg: str = DEFAULT_PG
    redis: str = DEFAULT_REDIS
    airflow_db: str = "yujing_airflow"
    warehouse_db: str = "yujing"
    queue: str = "default"
    api_url: str = DEFAULT_API
    concurrency: int = 4
    # the scheduler runs at most this many tasks at once over every worker: airflow.cfg's 8
    # is for one machine; 32 leaves room for eight 4-slot workers (raise it for more)
    parallelism: int = 32

    @classmethod
    def from_env(cls) -> ProdSettings:
        return cls(
            pg=os.environ.get("YUJING_PROD_PG", DEFAULT_PG),
            redis=os.environ.get("YUJING_PROD_REDIS", DEFAULT_REDIS),
            api_url=os.environ.get("YUJING_PROD_API_URL", DEFAULT_API).rstrip("/"),
        )

    @property
    def airflow_url(self) -> str:
        return _with_database(self.pg, self.airflow_db)

    @property
    def warehouse_url(self) -> str:
        return _with_database(self.pg, self.warehouse_db)

    @property
    def result_backend(self) -> str:
        """Celery's `db+<SQLAlchemy URL>`; psycopg2 is its default PostgreSQL driver."""
        from sqlalchemy import make_url

        driver = make_url(self.pg).drivername
        plain = "postgresql" if driver == "postgresql+psycopg2" else None
        return "db+" + _with_database(self.pg, self.airflow_db, plain)

    def env(self) -> dict[str, str]:
        """The AIRFLOW__*/YUJING_* settings every component and CLI call gets, workers on
        other machines included (they also need `WORKER_SETTINGS`)."""
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.airflow_url,
            "AIRFLOW__CELERY__BROKER_URL": self.redis,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "YUJING_WAREHOUSE_URL": self.warehouse_url,
        }

    def components(self) -> list[list[str]]:
        """`airflow …` commands, one per process."""
        return [
            ["api-server"],
            ["scheduler"],
            ["dag-processor"],
            ["triggerer"],
            ["celery", "worker", "--concurrency", str(self.concurrency), "--queues", self.queue],
        ]


def ensure_database(server_url: str, name: str) -> bool:
    """CREATE DATABASE `name` on the server unless it exists; True when created."""
    from sqlalchemy import create_engine, text

    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain database name: {name!r}")
    admin = create_engine(_with_database(server_url, "postgres"), isolation_level="AUTOCOMMIT")
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
    admin = create_engine(_with_database(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
