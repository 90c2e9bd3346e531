"""Faults in the middle of a run, counted against the simulator's ground truth.

- An ingest task killed with SIGKILL mid-batch (a real child process, killed while it
  pages through slowed-down search results), then retried: every mention the simulator
  published is stored exactly once, and each post has one snapshot per run that saw it.
- The PostgreSQL backend terminated mid-run (`pg_terminate_backend` from another session):
  the run fails with a database error and the retry completes, nothing lost or doubled.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from ingest.run import ingest_source
from ingest.weibo import WeiboClient
from simulator.server import Simulator
from warehouse.schema import mentions, metric_snapshots
from yujing.clock import ManualClock
from yujing.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_config()

CHILD = r"""
import json, sys
sys.path.insert(0, {root!r})
from sqlalchemy import create_engine
from ingest.run import ingest_source
from ingest.weibo import WeiboClient
from yujing.clock import SystemClock
from yujing.config import load_config
args = json.loads(sys.argv[1])
engine = create_engine(args["url"], connect_args=args["connect_args"])
client = WeiboClient(args["base_url"], args["token"])
client.page_size = 20
ingest_source(engine, load_config(), client, "weibo", SystemClock())
"""


def _stored(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(select(mentions.c.platform, mentions.c.post_id, mentions.c.brand))
        ]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _story_until_now():
    """A simulator whose story ran for the last 4 hours and stands still at now."""
    now = dt.datetime.now(dt.UTC)
    clock = ManualClock(now - dt.timedelta(hours=4))
    sim = Simulator(CONFIG, seed=5, clock=clock, rate=20)
    clock.advance(dt.timedelta(hours=4))
    return sim, clock


def _engine_args(engine) -> dict:
    """How a child process reaches the same warehouse (PostgreSQL: the same schema)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return {"url": url, "connect_args": {}}
    with engine.connect() as conn:
        search_path = conn.execute(text("SHOW search_path")).scalar_one()
    return {"url": url, "connect_args": {"options": f"-csearch_path={search_path}"}}


def test_sigkill_mid_batch_then_retry_stores_everything_once(warehouse):
    sim, clock = _story_until_now()
    with sim:
        sim.set_faults(slow=0.15)  # every API call takes a while: the kill lands mid-run
        args = {**_engine_args(warehouse), "base_url": sim.weibo_url, "token": sim.token}
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD.format(root=str(ROOT)), json.dumps(args)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.time() + 60
        while _count(warehouse, mentions) < 5 and time.time() < deadline:
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
        partial = _count(warehouse, mentions)
        expected = sim.expected_mentions("weibo")
        assert 0 < partial < len(expected)  # it really died mid-run

        # the retry (Airflow's, here by hand) from the cursors the killed run left
        sim.clear_faults()
        retry_clock = ManualClock(dt.datetime.now(dt.UTC))
        client = WeiboClient(sim.weibo_url, sim.token, sleep=lambda s: None)
        ingest_source(warehouse, CONFIG, client, "weibo", retry_clock)
        stored = _stored(warehouse)
        assert len(stored) == len(set(stored))
        assert set(stored) == expected
        # a snapshot is an observation at a run's time: each post has one per run that saw
        # it (the killed run's and the retry's), never two from the same run
        s = metric_snapshots.c
        with warehouse.connect() as conn:
            per_post = dict(conn.execute(select(s.post_id, func.count()).group_by(s.post_id)).all())
        assert set(per_post) == {pid for _, pid, _ in stored}
        assert set(per_post.values()) <= {1, 2}
        assert clock.now() <= retry_clock.now()


def test_a_terminated_postgres_backend_fails_the_run_and_the_retry_completes(pg_engine):
    sim, clock = _story_until_now()
    with sim:
        client = WeiboClient(sim.weibo_url, sim.token, sleep=lambda s: None)
        client.page_size = 20
        writes = {"n": 0}

        def kill_backend_on_the_fifth_page(conn, cursor, statement, params, context, many):
            if statement.lstrip().upper().startswith("INSERT INTO MENTIONS"):
                writes["n"] += 1
                if writes["n"] == 5:
                    pid = conn.connection.dbapi_connection.get_backend_pid()
                    with pg_engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    ) as admin:
                        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        event.listen(pg_engine, "before_cursor_execute", kill_backend_on_the_fifth_page)
        try:
            from sqlalchemy.exc import DBAPIError

            with pytest.raises(DBAPIError):
                ingest_source(pg_engine, CONFIG, client, "weibo", clock)
        finally:
            event.remove(pg_engine, "before_cursor_execute", kill_backend_on_the_fifth_page)
        partial = len(_stored(pg_engine))
        expected = sim.expected_mentions("weibo")
        assert partial < len(expected)
        ingest_source(pg_engine, CONFIG, client, "weibo", clock)  # the retry
        stored = _stored(pg_engine)
        assert len(stored) == len(set(stored)) and set(stored) == expected
