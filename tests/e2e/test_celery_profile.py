"""The production profile for real: Airflow's metadata on PostgreSQL, the CeleryExecutor with
Redis as the broker, the warehouse on PostgreSQL, and each component its own process
(api-server, scheduler, dag-processor, a Celery worker), as yujing/profiles.py starts them.

One Weibo ingest run is triggered; the asset chain (score → spread → escalate) follows on
its own; every run must succeed, its tasks must have been executed by the Celery worker
(which reads the warehouse URL from the `yujing_warehouse` Connection, as a worker on
another machine may), and the warehouse must hold the mentions and their scores. Uses throwaway databases and
its own Celery queue, so it never touches a `make run PROFILE=prod` on the same machine.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from simulator.server import Simulator
from yujing.config import load_config
from yujing.profiles import ProdSettings, drop_database, ensure_database

pytestmark = pytest.mark.timeout(900)
BIN = Path(sys.executable).parent
CHAIN = ("yujing_weibo_ingest", "yujing_score", "yujing_spread", "yujing_escalate")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=3).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def prod(tmp_path_factory, pg_available):
    tag = uuid.uuid4().hex[:8]
    pg = pg_available.rsplit("/", 1)[0]  # the server, without the test database
    settings = ProdSettings(
        pg=pg,
        redis=os.environ.get("YUJING_TEST_REDIS", "redis://127.0.0.1:6379/0"),
        airflow_db=f"yj_af_{tag}",
        warehouse_db=f"yj_wh_{tag}",
        queue=f"yujing_test_{tag}",
    )
    if not _redis_reachable(settings.redis):
        reason = f"Redis not reachable at {settings.redis}"
        if os.environ.get("YUJING_REQUIRE_POSTGRES"):
            pytest.fail(reason + " (required in CI)")
        pytest.skip(reason)
    for name in (settings.airflow_db, settings.warehouse_db):
        ensure_database(settings.pg, name)
    home = tmp_path_factory.mktemp("prod")
    sim = Simulator(load_config(), seed=3, speed=600).start()
    port = sim.weibo_url.rsplit(":", 1)[1].split("/")[0]
    api_port = _free_port()
    env = dict(os.environ)
    env.update(settings.env())
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home / "airflow"),
            "YUJING_HOME": str(home / "yujing"),
            "YUJING_OUTBOX_FALLBACK": "1",  # no Slack/SMTP here: the outbox, as `make run`
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(16),
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__CELERY__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW_CONN_WEIBO_DEFAULT": f"http://:{sim.token}@127.0.0.1:{port}/2",
            "AIRFLOW_CONN_WECHAT_DEFAULT": f"http://:{sim.token}@127.0.0.1:{port}/wechat",
        }
    )
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True
    )
    subprocess.run([str(BIN / "yujing"), "db", "upgrade"], env=env, check=True, capture_output=True)
    # the worker finds the warehouse the way a worker on another machine may: through the
    # Airflow Connection `yujing_warehouse`, without YUJING_WAREHOUSE_URL (with neither, its
    # tasks would fail: a Celery worker never falls back to a local SQLite file)
    worker_env = {k: v for k, v in env.items() if k != "YUJING_WAREHOUSE_URL"}
    worker_env["AIRFLOW_CONN_YUJING_WAREHOUSE"] = (
        make_url(settings.warehouse_url).set(drivername="postgresql").render_as_string(False)
    )
    procs, logs = [], {}
    for command in settings.components():
        if command[0] == "triggerer":
            continue  # no deferrable tasks in the pipeline
        name = "celery-worker" if command[0] == "celery" else command[0]
        logs[name] = home / f"{name}.log"
        procs.append(
            subprocess.Popen(
                [str(BIN / "airflow"), *command],
                env=worker_env if command[0] == "celery" else env,
                stdout=open(logs[name], "wb"),  # noqa: SIM115 - closed with the process
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        yield settings, env, logs, sim
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 15)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
        sim.stop()
        for name in (settings.airflow_db, settings.warehouse_db):
            drop_database(settings.pg, name)


def _runs(metadata, dag_id: str) -> list[str]:
    with metadata.connect() as conn:
        rows = conn.execute(
            text("SELECT state FROM dag_run WHERE dag_id = :d ORDER BY id"), {"d": dag_id}
        )
        return [r.state for r in rows]


def _wait(predicate, seconds: float, what: str, logs: dict) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(3)
    tails = {n: p.read_text(errors="replace")[-3000:] for n, p in logs.items() if p.exists()}
    raise AssertionError(f"timed out waiting for {what}; logs:\n{tails}")


def test_the_pipeline_runs_on_celery_workers_over_postgres_and_redis(prod):
    settings, env, logs, sim = prod
    metadata = create_engine(settings.airflow_url)
    warehouse = create_engine(settings.warehouse_url)

    def parsed() -> bool:
        with metadata.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM dag WHERE dag_id LIKE 'yujing_%'")
            ).scalar_one()
        return found >= len(CHAIN)

    _wait(parsed, 240, "the dag-processor to register the DAGs", logs)
    time.sleep(5)  # the story runs at 600x: ten story-minutes of posts to find
    trigger = subprocess.run(
        [str(BIN / "airflow"), "dags", "trigger", "yujing_weibo_ingest"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert trigger.returncode == 0, trigger.stderr[-2000:]

    def chain_done() -> bool:
        states = {d: _runs(metadata, d) for d in CHAIN}
        failed = {d: s for d, s in states.items() if "failed" in s}
        assert not failed, f"failed runs: {failed}"
        if not all("success" in s for s in states.values()):
            return False
        with warehouse.connect() as conn:  # and the asset chain has carried the data along
            return conn.execute(text("SELECT count(*) FROM scores")).scalar_one() > 0

    _wait(chain_done, 480, "ingest → score → spread → escalate to succeed", logs)

    with metadata.connect() as conn:
        executors = {
            r.queue
            for r in conn.execute(
                text("SELECT DISTINCT queue FROM task_instance WHERE state = 'success'")
            )
        }
    assert executors == {settings.queue}  # every task went through our Celery queue
    worker_log = logs["celery-worker"].read_text(errors="replace")
    assert "yujing_weibo_ingest" in worker_log or "ingest_weibo" in worker_log

    with warehouse.connect() as conn:
        mentions = conn.execute(text("SELECT count(*) FROM mentions")).scalar_one()
        scored = conn.execute(text("SELECT count(DISTINCT post_id) FROM scores")).scalar_one()
    assert mentions > 0 and scored > 0
    metadata.dispose()
    warehouse.dispose()
