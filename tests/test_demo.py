"""`yujing demo` replays an incident through the library functions the DAGs call."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


def test_demo_prints_a_timeline_with_an_early_alert():
    yujing = str(Path(sys.executable).with_name("yujing"))
    run = subprocess.run(
        [yujing, "demo", "--hours", "2.5"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "incident reposts" in out
    assert re.search(r"open (watch|warning|critical) → \S+, \d+ min before 1,000 reposts", out)
    assert "minutes of warning" in out
    warehouse = Path(re.search(r"warehouse (\S+)", out).group(1))
    assert warehouse.name.startswith("yujing-demo-") and not warehouse.exists()  # no --keep


def test_demo_keeps_its_warehouse_only_when_asked_and_refuses_a_zero_step(tmp_path, capsys):
    from yujing.demo import demo_main

    yujing = str(Path(sys.executable).with_name("yujing"))
    run = subprocess.run(
        [yujing, "demo", "--hours", "0.1", "--keep"], capture_output=True, text=True, timeout=300
    )
    kept = Path(re.search(r"kept the demo warehouse and outbox in (\S+)", run.stdout).group(1))
    try:
        assert (kept / "warehouse.db").is_file()
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    for option in (["--step-minutes", "0"], ["--step-minutes", "-5"], ["--hours", "nan"]):
        assert demo_main(option) == 2  # was a ZeroDivisionError traceback
        assert capsys.readouterr().err.count("\n") == 1


def test_demo_runs_the_escalate_dags_brand_response_check(tmp_path):
    """The escalate DAG first reads the comments of tracked complaints for the brand's
    reply (check_responses): the demo runs it too, so its warehouse records who answered
    and the outbox carries the "no response" notice for the never-answered viral post."""
    import sqlalchemy as sa

    yujing = str(Path(sys.executable).with_name("yujing"))
    run = subprocess.run(
        [yujing, "demo", "--hours", "6", "--keep"], capture_output=True, text=True, timeout=600
    )
    kept = Path(re.search(r"kept the demo warehouse and outbox in (\S+)", run.stdout).group(1))
    try:
        assert run.returncode == 0, run.stderr[-2000:]
        assert re.search(r"noresponse (warning|critical) → ", run.stdout), run.stdout[-3000:]
        engine = sa.create_engine(f"sqlite:///{kept / 'warehouse.db'}")
        try:
            with engine.connect() as conn:
                responses = conn.execute(
                    sa.text("SELECT brand, answered FROM v_complaint_responses")
                ).all()
                events = set(
                    conn.execute(sa.text("SELECT DISTINCT event FROM notifications")).scalars()
                )
        finally:
            engine.dispose()
        assert responses, "v_complaint_responses is empty: the response check never ran"
        assert "noresponse" in events
    finally:
        shutil.rmtree(kept, ignore_errors=True)
