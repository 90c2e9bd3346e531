"""The production profile's settings, without starting it (tests/e2e starts it for real).

- A worker started "with the same AIRFLOW__* settings" on another machine must either
  reach the shared warehouse or fail at once naming the missing setting: never write to a
  local SQLite file of its own.
- `make run PROFILE=prod` never prints a password (PostgreSQL or Redis).
- Server URLs may carry connection options (`?sslmode=require`): every database URL the
  profile builds keeps them.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, make_url, text

from yujing import profiles
from yujing.connections import MissingConnection
from yujing.profiles import ProdSettings, drop_database, ensure_database

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "S3cret-pr0d-pw"


def _missing(conn_id):
    raise MissingConnection(f"Airflow Connection {conn_id!r} is not defined")


# --- the warehouse a task uses ---------------------------------------------------------


def test_a_celery_worker_without_the_warehouse_setting_fails_naming_it(monkeypatch):
    from yujing.resources import Resources

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.delenv("YUJING_WAREHOUSE_URL", raising=False)
    with pytest.raises(Exception) as info:
        Resources.from_airflow(lookup=_missing)
    message = str(info.value)
    assert "YUJING_WAREHOUSE_URL" in message and "yujing_warehouse" in message, message


@pytest.mark.parametrize(
    "executor",
    [
        "airflow.providers.celery.executors.celery_executor.CeleryExecutor",
        "LocalExecutor,celery:CeleryExecutor",
    ],
)
def test_any_distributed_executor_refuses_the_local_file(monkeypatch, executor):
    from yujing.resources import warehouse_url_for_tasks

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", executor)
    monkeypatch.delenv("YUJING_WAREHOUSE_URL", raising=False)
    with pytest.raises(Exception, match="YUJING_WAREHOUSE_URL"):
        warehouse_url_for_tasks(_missing)


def test_the_local_executor_keeps_the_local_sqlite_warehouse(monkeypatch):
    from yujing.resources import Resources

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    monkeypatch.delenv("YUJING_WAREHOUSE_URL", raising=False)
    res = Resources.from_airflow(lookup=_missing)
    assert res.engine.dialect.name == "sqlite"
    assert res.engine.url.database.endswith("warehouse.db")


def test_the_warehouse_url_can_come_from_an_airflow_connection(monkeypatch):
    from yujing.resources import Resources

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.delenv("YUJING_WAREHOUSE_URL", raising=False)
    seen = []

    def lookup(conn_id):
        seen.append(conn_id)
        return SimpleNamespace(
            conn_type="postgres",
            host="db.internal",
            port=6432,
            login="yujing",
            password=PASSWORD,
            schema="yujing",
            extra_dejson={"sslmode": "require"},
        )

    res = Resources.from_airflow(lookup=lookup)
    url = res.engine.url
    assert seen == ["yujing_warehouse"]
    assert (url.drivername, url.host, url.port, url.username, url.database) == (
        "postgresql+psycopg2",
        "db.internal",
        6432,
        "yujing",
        "yujing",
    )
    assert url.password == PASSWORD and dict(url.query) == {"sslmode": "require"}
    assert PASSWORD not in repr(res.engine)


def test_yujing_warehouse_url_still_wins(monkeypatch):
    from yujing.resources import warehouse_url_for_tasks

    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("YUJING_WAREHOUSE_URL", "postgresql+psycopg2://u@h/yujing")
    assert warehouse_url_for_tasks(_missing) == "postgresql+psycopg2://u@h/yujing"


def test_the_profile_gives_workers_everything_they_need():
    settings = ProdSettings(api_url="http://10.0.0.5:8080")
    env = settings.env()
    # a worker elsewhere calls the API server it is told, not its own localhost
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://10.0.0.5:8080/execution/"
    # the scheduler's cap on running tasks is not airflow.cfg's 8 for one machine
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) >= 4 * int(
        env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]
    )
    assert env["YUJING_WAREHOUSE_URL"].endswith("/yujing")


def test_the_readme_lists_a_remote_workers_whole_environment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Production profile", 1)[1].split("\n## ", 1)[0]
    needed = set(ProdSettings().env()) | set(profiles.WORKER_SETTINGS)
    missing = sorted(name for name in needed if name not in section)
    assert not missing, missing


# --- passwords are never printed -------------------------------------------------------


def test_make_run_prod_prints_no_password(monkeypatch, capsys):
    from yujing import local_stack

    monkeypatch.setenv(
        "YUJING_PROD_PG", f"postgresql+psycopg2://postgres:{PASSWORD}@127.0.0.1:5432"
    )
    monkeypatch.setenv("YUJING_PROD_REDIS", f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    monkeypatch.setattr("yujing.profiles.ensure_database", lambda *a, **k: False)
    monkeypatch.setattr("warehouse.db.make_engine", lambda *a, **k: None)
    monkeypatch.setattr("warehouse.db.upgrade", lambda *a, **k: "head")
    monkeypatch.setattr(local_stack, "_wait_for", lambda *a, **k: True)
    monkeypatch.setattr(local_stack, "ports_in_use", lambda ports: [])
    monkeypatch.setattr(local_stack.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(local_stack.signal, "signal", lambda *a, **k: None)

    class Children:
        def __init__(self, home, env, say):
            self.say = say

        def start(self, *a, **k):
            return None

        def exited(self):
            return ["airflow-scheduler.log"]

        def stop(self):
            self.say("[yujing] stopped.")

    monkeypatch.setattr("yujing.children.ChildProcesses", Children)
    local_stack.main(["--profile", "prod"])
    out = capsys.readouterr()
    printed = out.out + out.err
    assert "Warehouse" in printed and "127.0.0.1:5432" in printed  # the banner was printed
    assert PASSWORD not in printed, [line for line in printed.splitlines() if PASSWORD in line]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg2://postgres:{PASSWORD}@db:5432/yujing?sslmode=require",
        f"redis://:{PASSWORD}@127.0.0.1:6379/0",
        f"rediss://default:{PASSWORD}@cache:6380/1",
        f"redis+socket:///run/redis.sock?password={PASSWORD}&db=0",
        f"db+postgresql://postgres:{PASSWORD}@db/yujing_airflow",
        f"not a url but :{PASSWORD}@somewhere",
    ],
)
def test_mask_url_hides_the_password(url):
    shown = profiles.mask_url(url)
    assert PASSWORD not in shown and "***" in shown, shown


# --- connection options ----------------------------------------------------------------

OPTIONS_PG = "postgresql+psycopg2://postgres:pw@db.internal:5432?sslmode=require&connect_timeout=5"


def test_every_database_url_keeps_the_servers_connection_options():
    settings = ProdSettings(pg=OPTIONS_PG)
    for url, database in [
        (settings.airflow_url, "yujing_airflow"),
        (settings.warehouse_url, "yujing"),
        (settings.env()["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"), "yujing_airflow"),
    ]:
        parsed = make_url(url)
        assert parsed.database == database, url
        assert dict(parsed.query) == {"sslmode": "require", "connect_timeout": "5"}, url
        assert (parsed.host, parsed.port, parsed.password) == ("db.internal", 5432, "pw")
    backend = settings.env()["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert backend.startswith("db+postgresql://")


def test_from_env_accepts_options(monkeypatch):
    monkeypatch.setenv("YUJING_PROD_PG", OPTIONS_PG)
    settings = ProdSettings.from_env()
    assert make_url(settings.warehouse_url).database == "yujing"
    assert dict(make_url(settings.warehouse_url).query)["sslmode"] == "require"


def test_ensure_database_on_a_server_url_with_options(pg_available):
    server = re.sub(r"/[^/?]*$", "", pg_available) + "?sslmode=disable&connect_timeout=5"
    name = f"yj_prof_{uuid.uuid4().hex[:8]}"
    try:
        assert ensure_database(server, name) is True
        assert ensure_database(server, name) is False
        url = ProdSettings(pg=server, warehouse_db=name).warehouse_url
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() == name
        engine.dispose()
    finally:
        drop_database(server, name)
    admin = create_engine(pg_available)
    with admin.connect() as conn:
        gone = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        assert gone.first() is None
    admin.dispose()


def test_the_worker_env_file_is_complete_and_private(tmp_path):
    from yujing.local_stack import write_worker_env

    settings = ProdSettings(pg=f"postgresql+psycopg2://postgres:{PASSWORD}@10.0.0.2:5432")
    env = {
        **settings.env(),
        "AIRFLOW__API_AUTH__JWT_SECRET": "jwt",
        "AIRFLOW__API__SECRET_KEY": "session-only",
        "AIRFLOW__CORE__DAGS_FOLDER": "/here/dags",
        "AIRFLOW_CONN_WEIBO_DEFAULT": "http://:tok@10.0.0.3:8765/2",
        "YUJING_HOME": "/here/.yujing",
        "PATH": "/usr/bin",
    }
    path = write_worker_env(tmp_path / "prod-worker.env", env)
    assert path.stat().st_mode & 0o777 == 0o600
    lines = path.read_text().splitlines()
    written = dict(line.split("=", 1) for line in lines if not line.startswith("#"))
    for key in [*settings.env(), "AIRFLOW__API_AUTH__JWT_SECRET", "YUJING_CONFIG"]:
        assert key in written, key
    assert written["AIRFLOW_CONN_WEIBO_DEFAULT"] == env["AIRFLOW_CONN_WEIBO_DEFAULT"]
    assert not {"PATH", "YUJING_HOME", "AIRFLOW__CORE__DAGS_FOLDER"} & set(written)


@pytest.mark.parametrize("fallback", ["1", "0"])
def test_the_worker_env_file_says_the_outbox_fallback_is_for_the_rehearsal(tmp_path, fallback):
    """A production worker copied from the rehearsal's file kept the outbox fallback with no
    word about it: the line now comes with a note to delete it (a strict rehearsal,
    `YUJING_OUTBOX_FALLBACK=0`, needs none). The file still reads as KEY=value lines for a
    shell `. file` and systemd's EnvironmentFile (# lines are comments to both)."""
    from yujing.local_stack import write_worker_env

    env = {**ProdSettings().env(), "YUJING_OUTBOX_FALLBACK": fallback}
    lines = write_worker_env(tmp_path / "w.env", env).read_text().splitlines()
    at = lines.index(f"YUJING_OUTBOX_FALLBACK={fallback}")
    notes = [line for line in lines if line.startswith("#")]
    if fallback == "1":
        assert notes == lines[at - len(notes) : at] and "delete the next line" in " ".join(notes)
    else:
        assert notes == []
    out = subprocess.run(
        ["bash", "-c", f"set -a; . {tmp_path / 'w.env'}; echo $YUJING_OUTBOX_FALLBACK"],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert out.stdout.strip() == fallback
