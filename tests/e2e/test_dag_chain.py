"""The real DAGs, run by Airflow (`airflow dags test`) on a temporary Airflow home and
SQLite warehouse, against the simulator on loopback: mentions are stored, scored,
tracked, and an alert lands in the outbox — once, however often escalation reruns."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from simulator.server import Simulator
from yujing.config import load_config

pytestmark = pytest.mark.timeout(900)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e")
    sim = Simulator(load_config(), seed=3, speed=600).start()  # 10 story-minutes a second
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home / "airflow"),
            "YUJING_HOME": str(home / "yujing"),
            "YUJING_OUTBOX_FALLBACK": "1",  # no Slack/SMTP here: the outbox, as `make run`
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(16),
            "AIRFLOW_CONN_WEIBO_DEFAULT": f"http://:{sim.token}@127.0.0.1:"
            f"{sim.weibo_url.rsplit(':', 1)[1]}",
            "AIRFLOW_CONN_WECHAT_DEFAULT": f"http://:{sim.token}@127.0.0.1:"
            f"{sim.wechat_url.rsplit(':', 1)[1]}",
        }
    )
    subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True
    )
    subprocess.run([str(BIN / "yujing"), "db", "upgrade"], env=env, check=True, capture_output=True)
    yield env, home, sim
    sim.stop()


def dags_test(env, dag_id: str, logical_date: str | None = None) -> None:
    run = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", dag_id, *([logical_date] if logical_date else [])],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "state=success" in run.stdout + run.stderr, (
        f"{dag_id} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    )


def test_the_dag_chain_turns_a_simulated_incident_into_one_outbox_alert(stack):
    env, home, sim = stack
    for dag_id in (
        "yujing_weibo_ingest",
        "yujing_wechat_ingest",
        "yujing_score",
        "yujing_spread",
        "yujing_escalate",
    ):
        dags_test(env, dag_id)

    engine = create_engine(f"sqlite:///{home / 'yujing' / 'warehouse.db'}")
    with engine.connect() as conn:
        count = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        assert count("SELECT COUNT(*) FROM mentions") > 0
        assert count("SELECT COUNT(*) FROM scores") == count(
            "SELECT COUNT(DISTINCT platform || post_id) FROM mentions"
        )
        assert count("SELECT COUNT(*) FROM tracked_posts") > 0
        assert count("SELECT COUNT(*) FROM spread_estimates") > 0
        incident = next(p for p in sim.posts if p.kind == "incident")
        level = conn.execute(
            text("SELECT level FROM incidents WHERE root_post_id = :p"),
            {"p": incident.post_id},
        ).scalar_one()
        assert level in ("warning", "critical")
        sent = count("SELECT COUNT(*) FROM notifications WHERE status = 'sent'")
    outbox = sorted((home / "yujing" / "outbox").glob("*.json"))
    assert outbox, "no alert in the outbox"
    alerts = [json.loads(p.read_text(encoding="utf-8")) for p in outbox]
    about_incident = [a for a in alerts if a.get("post_id") == incident.post_id]
    assert about_incident and about_incident[0]["brand"] == "mumu"
    assert "safety" in about_incident[0]["categories"]
    assert len(outbox) == sent

    dags_test(env, "yujing_escalate")  # a rerun sends nothing again
    assert sorted((home / "yujing" / "outbox").glob("*.json")) == outbox
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM notifications WHERE status = 'sent'")
            ).scalar_one()
            == sent
        )


def test_a_digest_run_reports_the_day_it_was_scheduled_for_when_rerun_later(stack):
    # a failed digest run cleared days later must report its own day, not yesterday's
    # (whose digest may already be out), and a second run for that day sends nothing more
    import datetime as dt
    from urllib.parse import quote

    env, home, _ = stack
    dags_test(env, "yujing_escalate")  # an open incident: there is something to report
    scheduled = dt.datetime.now(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    scheduled -= dt.timedelta(days=3)  # 09:00 Asia/Shanghai, three days ago
    day = (scheduled + dt.timedelta(hours=8)).date() - dt.timedelta(days=1)
    dags_test(env, "yujing_digest", scheduled.isoformat())
    outbox = home / "yujing" / "outbox"
    digests = sorted(p.name for p in outbox.glob("digest*.json"))
    assert digests and all(quote(f"digest:{day.isoformat()}:") in n for n in digests), digests
    dags_test(env, "yujing_digest", (scheduled + dt.timedelta(minutes=1)).isoformat())
    assert sorted(p.name for p in outbox.glob("digest*.json")) == digests
