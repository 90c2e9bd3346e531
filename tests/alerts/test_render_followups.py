"""Follow-ups to the renderers: WeChat counts labelled as what they are, the time the figures
were measured, pasteable commands, Slack's related posts, and subjects that tell alerts apart."""

from __future__ import annotations

import datetime as dt
import json
import re

from alert_fixtures import HOSTILE, T0, Recorder, config_with
from sqlalchemy import update

from alerts import render
from alerts.cli import ack_main
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import metric_snapshots

BASE = {
    "incident_id": "mumu-0123456789",
    "event": "open",
    "level": "critical",
    "status": "open",
    "brand": "mumu",
    "brand_name": "沐沐奶粉",
    "platform": "weibo",
    "post_id": "5012345",
    "category": "safety",
    "categories": ["safety"],
    "signals": [],
    "excerpt": "沐沐奶粉一段检出异物，我们送检了三罐",
    "author_name": "宝妈",
    "author_followers": 500,
    "observed": 400,
    "comments": 20,
    "likes": 1300,
    "predicted": 1200.0,
    "low": 800.0,
    "high": 2000.0,
    "p_viral": 0.7,
    "velocity_per_10min": 160.0,
    "url": "https://weibo.com/1/5012345",
    "reasons": [],
    "posts": 1,
    "related": [],
}
WECHAT = {
    **BASE,
    "platform": "wechat",
    "post_id": "wx_MzA5NjQ2_2247483901_1",
    "url": "https://mp.weixin.qq.com/s/AbCdEf",
    "comments": None,
    "reads": 100001,
}


def everything(p: dict) -> dict[str, str]:
    """Every rendering of an incident payload, by channel."""
    fallback, blocks = render.slack_blocks(p)
    out = {
        "slack": fallback + json.dumps(blocks, ensure_ascii=False),
        "email": render.email_subject(p) + render.email_html(p, None),
        "text": render.plain_text(p),
    }
    for kind in ("dingtalk", "wecom", "feishu"):
        out[kind] = json.dumps(render.robot_message(kind, p), ensure_ascii=False)
    return out


# --- 1. WeChat counts -------------------------------------------------------------------------


def test_wechat_alerts_say_looks_and_reads_not_reposts():
    for channel, text in everything(WECHAT).items():
        assert "转发" not in text and "repost" not in text, channel
        assert "在看 looks 400" in text, channel
        assert "阅读 reads 10万+" in text, channel  # 100001 is WeChat's "10万+" cap
        assert "160 在看/10 min" in text, channel
    below_cap = everything({**WECHAT, "reads": 86000})["slack"]
    assert "阅读 reads 86,000" in below_cap and "10万+" not in below_cap
    for channel, text in everything(BASE).items():  # Weibo unchanged
        assert "转发 reposts 400" in text and "160 转发/10 min" in text, channel
        assert "阅读" not in text and "在看" not in text, channel


def test_wechat_related_posts_are_counted_in_looks():
    p = {
        **BASE,
        "posts": 2,
        "related": [
            {"platform": "wechat", "post_id": "Ab_Cd", "observed": 12,
             "url": "https://mp.weixin.qq.com/s/Ab_Cd"},
        ],
    }  # fmt: skip
    for channel in ("slack", "email", "text"):
        assert "12 在看 looks" in everything(p)[channel], channel


def test_the_spread_chart_of_a_wechat_article_counts_looks():
    from alerts.chart import spread_figure

    series = [
        ["2026-05-01T02:00:00+00:00", 10, 300, 150, 900],
        ["2026-05-01T02:10:00+00:00", 80, 1500, 900, 4000],
    ]
    # the title as alerts.channels.chart_png builds it: "{brand} · {platform} {post id}"
    wechat = spread_figure(series, 1000, "沐沐奶粉 · wechat wx_MzA5NjQ2_2247483901_1")
    assert "looks" in wechat.axes[0].get_ylabel() and "repost" not in wechat.axes[0].get_ylabel()
    legend = [t.get_text() for t in wechat.axes[0].get_legend().get_texts()]
    assert not any("repost" in t for t in legend) and any("looks" in t for t in legend)
    explicit = spread_figure(series, 1000, "anything", platform="wechat")
    assert "looks" in explicit.axes[0].get_ylabel()
    weibo = spread_figure(series, 1000, "沐沐奶粉 · weibo 5012345")
    assert "reposts" in weibo.axes[0].get_ylabel()


def test_a_wechat_alert_from_the_pipeline_shows_looks_and_reads(world, clock):
    pid = "wx_MzA5NjQ2_2247483901_1"
    world.post(pid, platform="wechat", observed=400, p=0.7, velocity=160.0, signals=())
    with world.engine.begin() as conn:  # what the WeChat refresh stores: no reposts
        conn.execute(
            update(metric_snapshots)
            .where(metric_snapshots.c.post_id == pid)
            .values(reposts=None, comments=None, looks=400, reads=100001, likes=1300)
        )
    config = config_with()
    run_escalation(world.engine, config, clock)
    rec = Recorder()
    deliver_pending(world.engine, config, clock, {r.name: rec for r in config.receivers})
    assert rec.sent
    for note in rec.sent:
        for channel, text in everything(note["payload"]).items():
            assert "阅读 reads 10万+" in text and "在看 looks 400" in text, channel
        # the reasons count what WeChat has too (velocity is 在看 per 10 minutes)
        reasons = " ".join(note["payload"]["reasons"])
        assert "在看 looks/10 min" in reasons and "repost" not in reasons, reasons


# --- 2. when the figures were measured ----------------------------------------------------------


TIMED = {
    **BASE,
    "posted_at": "2026-05-01T01:12:00+00:00",  # 09:12 in Shanghai
    "measured_at": "2026-05-01T02:00:00+00:00",  # 10:00
    "at": "2026-05-01T02:01:00+00:00",
    "timezone": "Asia/Shanghai",
}


def test_every_channel_says_when_the_figures_were_measured_and_the_post_published():
    for channel, text in everything(TIMED).items():
        assert "截至 As of 05-01 10:00" in text, channel
        assert "发布 Posted" in text and "05-01 09:12" in text, channel
        assert "48 min" in text, channel  # its age when the figures were measured
        assert "当前 Now" not in text, channel
    # another configured clock
    tokyo = everything({**TIMED, "timezone": "Asia/Tokyo"})["slack"]
    assert "05-01 11:00" in tokyo and "Asia/Tokyo" in tokyo


def test_old_payloads_without_the_new_fields_still_show_a_time():
    old = {k: v for k, v in TIMED.items() if k not in ("measured_at", "timezone")}
    for channel, text in everything(old).items():
        assert "截至 As of 05-01 10:01" in text and "Asia/Shanghai" in text, channel
    bare = {k: v for k, v in old.items() if k not in ("at", "posted_at")}
    for channel, text in everything(bare).items():  # nothing known: still renders
        assert "沐沐奶粉" in text, channel


def test_an_alert_held_by_quiet_hours_shows_the_time_of_its_figures(world, clock):
    config = config_with(quiet_hours={"start": "09:00", "end": "12:00"})
    world.post("4950000000000002", observed=350, p=0.45, velocity=50.0, signals=(),
               categories=("quality",))  # fmt: skip
    run_escalation(world.engine, config, clock)
    rec = Recorder()
    channels = {r.name: rec for r in config.receivers}
    deliver_pending(world.engine, config, clock, channels)
    clock._now = T0 + dt.timedelta(hours=2)  # 12:00: quiet hours over
    world.estimate("4950000000000002", clock.now(), 2400, 0.55, 140.0)
    run_escalation(world.engine, config, clock)
    deliver_pending(world.engine, config, clock, channels)
    opened = [n for n in rec.sent if ":open:" in n["dedupe_key"]]
    assert opened
    _, blocks = render.slack_blocks(opened[0]["payload"])
    shown = json.dumps(blocks, ensure_ascii=False)
    # the figures are 10:00's (350 reposts), and say so; the post is an hour old then
    assert "截至 As of 05-01 10:00" in shown and "350" in shown
    assert "05-01 09:00" in shown and "1 h" in shown


# --- 3. pasteable commands ----------------------------------------------------------------------


def test_commands_in_code_spans_paste_verbatim(world, clock):
    raw = config_with().model_dump(by_alias=True, exclude_none=True)
    raw["brands"][0]["code"] = "mumu_milk"
    from yujing.config import parse_config

    config = parse_config(raw)
    world.post("4950000000000001", brand="mumu_milk", observed=300, p=0.7, velocity=200.0)
    run_escalation(world.engine, config, clock)
    rec = Recorder()
    deliver_pending(world.engine, config, clock, {r.name: rec for r in config.receivers})
    note = rec.sent[0]
    iid = note["incident_id"]
    assert "_" in iid
    _, blocks = render.slack_blocks(note["payload"])
    context = blocks[-1]["elements"][0]["text"]
    assert f"`yujing ack {iid}`" in context and f"incident `{iid}`" in context
    for kind in ("dingtalk", "wecom"):
        text = render.robot_message(kind, note["payload"])["markdown"]
        text = text.get("text") or text.get("content")
        assert f"`yujing ack {iid}`" in text, kind
    feishu = json.dumps(render.robot_message("feishu", note["payload"]), ensure_ascii=False)
    assert f"yujing ack {iid}" in feishu
    assert f"yujing ack {iid}" in render.plain_text(note["payload"])
    copied = re.search(r"`yujing ack ([^`]+)`", context).group(1)
    assert ack_main([copied], clock=clock, engine=world.engine) == 0


def test_ack_takes_the_full_width_form_an_older_alert_showed(world, clock):
    raw = config_with().model_dump(by_alias=True, exclude_none=True)
    raw["brands"][0]["code"] = "mumu_milk"
    from yujing.config import parse_config

    config = parse_config(raw)
    world.post("4950000000000001", brand="mumu_milk", observed=300, p=0.7, velocity=200.0)
    run_escalation(world.engine, config, clock)
    iid = world.incidents()[0]["incident_id"]
    assert ack_main([iid.replace("_", "＿")], clock=clock, engine=world.engine) == 0
    assert world.incidents()[0]["acked_at"] is not None


def test_a_hostile_post_id_cannot_break_out_of_a_code_span():
    p = {**BASE, "post_id": "1`<!channel>`*x*_y_[a](https://evil)", "incident_id": "a_b-1"}
    fallback, blocks = render.slack_blocks(p)
    flat = json.dumps(blocks, ensure_ascii=False)
    assert "<!channel>" not in flat and "`<" not in flat
    assert "`yujing ack a_b-1`" in flat
    for kind in ("dingtalk", "wecom", "feishu"):
        body = json.dumps(render.robot_message(kind, p), ensure_ascii=False)
        assert "<!channel>" not in body and "](https://evil)" not in body, kind
        assert "yujing ack a_b-1" in body, kind


# --- 4. related posts on Slack ------------------------------------------------------------------


def test_slack_lists_the_related_posts_with_links():
    related = [
        {"platform": "weibo", "post_id": f"49500000000000{n:02d}", "observed": 100 - n,
         "url": f"https://weibo.com/1/49500000000000{n:02d}?a=1&b=2"}
        for n in range(5)
    ]  # fmt: skip
    related[1]["url"] = "javascript:alert(1)"
    related[2]["post_id"] = HOSTILE
    p = {**BASE, "posts": 9, "related": related}
    _, blocks = render.slack_blocks(p)
    flat = json.dumps(blocks, ensure_ascii=False)
    assert "<https://weibo.com/1/4950000000000000?a=1&amp;b=2|" in flat
    assert "4950000000000001" in flat and "javascript" not in flat  # shown, not linked
    assert "<!channel>" not in flat and "&lt;!channel&gt;" in flat
    assert "还有 and 3 more" in flat  # 8 related posts, 5 listed
    fields = next(b["fields"] for b in blocks if "fields" in b)
    assert len(fields) <= 10


# --- 5. subjects and notification text ------------------------------------------------------------


def test_subjects_and_slack_notifications_tell_alerts_apart():
    one = {**BASE, "event": "remind", "reminder": 2}
    other = {**one, "incident_id": "mumu-9999999999", "excerpt": "罐底有虫子"}
    third = {**one, "reminder": 3}
    subjects = [render.email_subject(p) for p in (one, other, third)]
    fallbacks = [render.slack_blocks(p)[0] for p in (one, other, third)]
    for texts in (subjects, fallbacks):
        assert len(set(texts)) == 3
        assert all("安全健康隐患" in t for t in texts)
        assert "#2" in texts[0] and "#3" in texts[2]
        assert "mumu-0123456789" in texts[0] and "罐底有虫子" in texts[1]
    assert all(len(s) <= 200 for s in subjects)
    hostile = {**BASE, "excerpt": HOSTILE}
    fallback = render.slack_blocks(hostile)[0]
    assert "<!channel>" not in fallback and "*买*" not in fallback
    assert "\n" not in render.email_subject({**BASE, "excerpt": "a\nBcc: x@y"})


def test_summaries_and_digest_lines_count_wechat_looks_not_reposts():
    from alerts.digest import _incident_line
    from alerts.stage import _summary_line
    from yujing.config import load_config

    wechat = {**BASE, "platform": "wechat", "observed": 12, "p_viral": 0.3, "event": "open"}
    line = _summary_line(wechat)
    assert "12 在看 looks" in line and "repost" not in line
    assert "1,500 reposts" in _summary_line({**wechat, "platform": "weibo", "observed": 1500})
    opened = dt.datetime(2026, 5, 1, 2, tzinfo=dt.UTC)
    incident = {
        "incident_id": "mumu-0123456789", "brand": "mumu", "platform": "wechat",
        "category": "safety", "level": "warning", "status": "open", "opened_at": opened,
        "resolved_at": None, "crossed_viral_at": None, "first_alert_at": opened,
        "url": None, "observed": 40, "posts": 1,
    }  # fmt: skip
    text = _incident_line(incident, "沐沐奶粉", opened.date(), load_config())
    assert "40 在看 looks" in text and "repost" not in text


def test_an_incident_past_the_horizon_shows_its_peak_beside_a_zero_p_viral():
    # past the spread model's 24 h horizon the lead's P(viral) reads 0: a reminder about a
    # post that had been at 80% said only "0%"
    late = {**BASE, "event": "remind", "p_viral": 0.0, "peak_p_viral": 0.8}
    for channel, text in everything(late).items():
        # (robot markdown shows brackets full-width: robot_escape)
        assert re.search(r"0% [(（]事件峰值 incident peak 80%[)）]", text), channel
    for same in ({**BASE, "peak_p_viral": 0.7}, {**BASE, "peak_p_viral": 0.702}, BASE):
        for channel, text in everything(same).items():
            assert "峰值" not in text, channel
