"""The resources a pipeline run uses, built once per environment and injected everywhere.

As in Dagster's resources: production builds them from the config, the warehouse URL and
Airflow Connections (`Resources.from_airflow`); tests and the demo build them with their
own engine, clock and connection lookup (`Resources(...)`). Library code never reaches for
a global client or `datetime.now()`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import Engine

from yujing.clock import Clock, SystemClock
from yujing.config import Config, load_config
from yujing.connections import ConnectionLookup, MissingConnection, airflow_lookup, endpoint

# `make run` sets it: receivers without their Connection deliver to the local outbox
OUTBOX_FALLBACK = "YUJING_OUTBOX_FALLBACK"

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "yujing_warehouse"
# executors whose tasks run on this machine, where the local SQLite file is the warehouse
_LOCAL_EXECUTORS = {"LocalExecutor", "SequentialExecutor", "DebugExecutor"}
_DRIVERS = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2"}
# libpq options a PostgreSQL Connection's extras may carry (Airflow's own extras such as
# `cursor` or `iam` are not connection options: psycopg2 would refuse them)
_LIBPQ_OPTIONS = {
    "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "connect_timeout",
    "options", "application_name", "target_session_attrs", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "gssencmode", "channel_binding",
}  # fmt: skip


def _executors() -> list[str]:
    """The configured executors' class names (`core.executor` may list several, each
    maybe `alias:module.path.Class`)."""
    value = os.environ.get("AIRFLOW__CORE__EXECUTOR")
    if value is None:
        try:
            from airflow.configuration import conf

            value = conf.get("core", "executor", fallback="LocalExecutor")
        except ImportError:  # no Airflow here: a library caller, on this machine
            value = "LocalExecutor"
    names = [part.strip().split(":")[-1].rsplit(".", 1)[-1] for part in value.split(",")]
    return [name for name in names if name]


def _connection_url(conn) -> str:
    """A SQLAlchemy URL from an Airflow Connection: type, host, port, login, password,
    schema (the database) and extras as connection options (`sslmode` …)."""
    from sqlalchemy import URL

    conn_type = (getattr(conn, "conn_type", None) or "postgres").lower()
    extra = {
        k: v
        for k, v in (getattr(conn, "extra_dejson", None) or {}).items()
        if isinstance(v, str | int) and not isinstance(v, bool)
        and (conn_type not in _DRIVERS or k in _LIBPQ_OPTIONS)
    }  # fmt: skip
    return URL.create(
        _DRIVERS.get(conn_type, conn_type),
        username=getattr(conn, "login", None) or None,
        password=getattr(conn, "password", None) or None,
        host=getattr(conn, "host", None) or None,
        port=getattr(conn, "port", None) or None,
        database=getattr(conn, "schema", None) or None,
        query={str(k): str(v) for k, v in extra.items()},
    ).render_as_string(hide_password=False)


def warehouse_url_for_tasks(lookup: ConnectionLookup = airflow_lookup) -> str:
    """The warehouse a task writes to: $YUJING_WAREHOUSE_URL, else the Airflow Connection
    `yujing_warehouse` (a secret, so it may live in a secrets backend), else the local SQLite
    file, but only when the executor runs tasks on this machine. A Celery worker started
    elsewhere without either setting fails here, naming them, instead of writing to an empty
    local file of its own ("no such table" on every task)."""
    from warehouse.db import WarehouseNotConfigured, warehouse_url

    if os.environ.get("YUJING_WAREHOUSE_URL"):
        return warehouse_url()
    try:
        return _connection_url(lookup(WAREHOUSE_CONN_ID))
    except MissingConnection:
        pass
    remote = [name for name in _executors() if name not in _LOCAL_EXECUTORS]
    try:
        return warehouse_url(local_fallback=not remote)
    except WarehouseNotConfigured as exc:
        raise WarehouseNotConfigured(
            f"{exc}: the executor ({', '.join(remote)}) runs tasks on other machines, where "
            "a local SQLite file is not the warehouse. Give every worker the same warehouse "
            "setting as the scheduler (README, production profile)."
        ) from None


@cache
def _scorer(extra_words: tuple[str, ...], negative_below: float):
    from nlp.scorer import Scorer

    return Scorer.load(extra_words=list(extra_words), negative_below=negative_below)


@cache
def _predictor(horizon_s: float, viral: int):
    from spread.model import Predictor

    return Predictor.load(horizon_s=horizon_s, viral=viral)


@dataclass
class Resources:
    config: Config
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    lookup: ConnectionLookup = airflow_lookup

    @classmethod
    def from_airflow(cls, lookup: ConnectionLookup = airflow_lookup) -> Resources:
        """Production: the active config, the shared warehouse engine (see
        `warehouse_url_for_tasks`), the system clock."""
        from warehouse.db import shared_engine

        engine = shared_engine(warehouse_url_for_tasks(lookup))
        return cls(config=load_config(), engine=engine, clock=SystemClock(), lookup=lookup)

    def source_client(self, platform: str):
        """The API client for a platform, or None when the config disables it."""
        source = getattr(self.config.sources, platform)
        if not source.enabled:
            return None
        ep = endpoint(source.conn_id, self.lookup)
        if not ep.token:
            raise MissingConnection(
                f"Airflow Connection {source.conn_id!r} has no access token "
                "(set it as the connection's password)"
            )
        if platform == "weibo":
            from ingest.weibo import WeiboClient

            return WeiboClient(ep.base_url, ep.token, conn_id=source.conn_id, clock=self.clock)
        from ingest.wechat import WeChatClient

        return WeChatClient(ep.base_url, ep.token, conn_id=source.conn_id, clock=self.clock)

    def scorer(self):
        """The production sentiment/complaint scorer, with the brands in its dictionary
        (the same words `yujing score` protects: nlp.scorer.brand_words)."""
        from nlp.scorer import brand_words

        words = brand_words(self.config)
        return _scorer(tuple(words), self.config.thresholds.negative_below)

    def predictor(self):
        """The spread predictor for the configured horizon and viral line."""
        t = self.config.thresholds
        return _predictor(t.horizon_hours * 3600.0, t.viral_reposts)

    def channels(self) -> dict:
        """One delivery channel per receiver. A receiver whose Connection is missing falls
        back to the local outbox only where `YUJING_OUTBOX_FALLBACK=1` (`make run` sets it,
        so a fresh install shows its alerts); elsewhere its notifications wait for it."""
        from alerts.channels import channels_for_config

        fallback = os.environ.get(OUTBOX_FALLBACK) == "1"
        return channels_for_config(self.config, self.lookup, fallback=fallback)
