"""Renderers: every fact is there, and nothing a stranger wrote survives as markup."""

from __future__ import annotations

import json
import re

import pytest
from alert_fixtures import HOSTILE

from alerts import render
from alerts.chart import spread_chart

PAYLOAD = {
    "incident_id": "mumu-0123456789",
    "event": "escalate",
    "level": "critical",
    "previous_level": "warning",
    "status": "open",
    "brand": "mumu",
    "brand_name": "沐沐奶粉",
    "platform": "weibo",
    "post_id": "5012345",
    "category": "safety",
    "categories": ["safety", "quality"],
    "signals": ["regulator_legal", "media"],
    "excerpt": HOSTILE + "\n\n# 新段落\n> 引用",
    "author_name": "<b>坏人</b> *KOL*",
    "author_followers": 1_250_000,
    "author_verified": True,
    "observed": 1234,
    "comments": 321,
    "likes": 4567,
    "predicted": 8800.0,
    "low": 5200.0,
    "high": 15000.0,
    "p_viral": 0.83,
    "velocity_per_10min": 212.0,
    "url": "https://weibo.com/1234/AbCdE",
    "reasons": ["P(viral) 83% <!here>"],
    "posts": 3,
    "related": [{"platform": "weibo", "post_id": "2", "observed": 10, "url": "javascript:x"}],
}
DANGEROUS = [
    "<!channel>",
    "<!here>",
    "<script>",
    "<https://evil",
    "*买*",
    "_它_",
    "~删~",
    "`code`",
    "<@all>",
    "<at ",
    "<b>",
]
ROBOT_DANGEROUS = DANGEROUS + ["[点我](", "# 新段落", "\\n> 引用"]  # markdown links, blocks


def test_slack_block_kit_has_the_facts_and_nothing_live():
    text, blocks = render.slack_blocks(PAYLOAD)
    flat = json.dumps(blocks, ensure_ascii=False)
    for bad in DANGEROUS:
        assert bad not in flat and bad not in text, bad
    assert "&lt;!channel&gt;" in flat and "&amp;" in flat
    for fact in ("沐沐奶粉", "critical", "warning", "安全健康隐患", "Safety", "1,250,000", "1,234",
                 "212", "8,800", "5,200", "15,000", "83%", "监管/法律", "媒体曝光"):  # fmt: skip
        assert fact in flat, fact
    assert "<https://weibo.com/1234/AbCdE|查看原帖 Open post>" in flat  # the only link
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    user_text = [b["text"] for b in blocks if b.get("type") == "section" and "text" in b]
    assert all(t["verbatim"] is True for t in user_text)  # no auto-linking of user text
    fields = next(b["fields"] for b in blocks if "fields" in b)
    assert len(fields) <= 10 and all(len(f["text"]) <= 2000 for f in fields)
    assert "\n" not in user_text[0]["text"]  # one line: no quote/heading breakout


def test_slack_text_is_cut_cleanly_within_limits():
    long = {**PAYLOAD, "excerpt": "&<>" * 5000}
    _, blocks = render.slack_blocks(long)
    excerpt = blocks[1]["text"]["text"]
    assert len(excerpt) <= render.SLACK_SECTION_LIMIT
    assert re.fullmatch(r"> (&amp;&lt;&gt;)*(&amp;|&amp;&lt;)?…", excerpt)  # never "&am"


def test_email_html_escapes_everything():
    html = render.email_html(PAYLOAD, "chart123@yujing")
    assert "<script>" not in html and "<b>坏人" not in html and "javascript:" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;坏人&lt;/b&gt;" in html
    assert 'src="cid:chart123@yujing"' in html
    assert '<a href="https://weibo.com/1234/AbCdE">' in html
    assert "\n" not in render.email_subject(PAYLOAD) and "沐沐奶粉" in render.email_subject(PAYLOAD)
    text = render.plain_text(PAYLOAD)
    assert "https://weibo.com/1234/AbCdE" in text and "javascript" not in text


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://weibo.com/1/2", "https://weibo.com/1/2"),
        (
            "http://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1#rd",
            "http://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1#rd",
        ),
        ("https://weibo.com/搜索", "https://weibo.com/%E6%90%9C%E7%B4%A2"),
        ("javascript:alert(1)", None),
        ("https://evil.example|官方通知", None),
        ('https://x.example/"><script>', None),
        ("https://x.example/a)(b", None),
        ("ftp://x.example/", None),
        (None, None),
    ],
)
def test_only_plain_http_links(url, safe):
    assert render.safe_url(url) == safe


@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "feishu"])
def test_robot_messages_are_inert_and_within_their_limits(kind):
    body = render.robot_message(kind, PAYLOAD)
    flat = json.dumps(body, ensure_ascii=False)
    for bad in ROBOT_DANGEROUS:
        assert bad not in flat, bad
    assert "沐沐奶粉" in flat and "83%" in flat
    huge = render.robot_message(kind, {**PAYLOAD, "excerpt": "沐" * 100_000, "reasons": []})
    size = len(json.dumps(huge, ensure_ascii=False, separators=(",", ":")).encode())
    if kind == "wecom":
        assert len(huge["markdown"]["content"].encode()) <= render.WECOM_LIMIT
    else:
        assert size <= render.ROBOT_LIMITS[kind]
    assert "…" in json.dumps(huge, ensure_ascii=False)
    digest = render.robot_message(
        kind, {"event": "summary", "count": 500, "lines": ["<@all> 很长的一行" * 50] * 500}
    )
    limit_bytes = (
        len(digest["markdown"]["content"].encode())
        if kind == "wecom"
        else len(json.dumps(digest, ensure_ascii=False, separators=(",", ":")).encode())
    )
    assert limit_bytes <= render.ROBOT_LIMITS[kind]
    # even five rows are too much when each line is huge: rows are cut by bytes too
    huge_lines = render.robot_message(kind, {"event": "digest", "lines": ["沐" * 20_000] * 80})
    size = (
        len(huge_lines["markdown"]["content"].encode())
        if kind == "wecom"
        else len(json.dumps(huge_lines, ensure_ascii=False, separators=(",", ":")).encode())
    )
    assert size <= render.ROBOT_LIMITS[kind] and "…" in json.dumps(huge_lines, ensure_ascii=False)


def test_dingtalk_markdown_shape():
    body = render.robot_message("dingtalk", PAYLOAD)
    assert body["msgtype"] == "markdown" and body["at"] == {"isAtAll": False}
    assert body["markdown"]["text"].startswith("### ") and len(body["markdown"]["title"]) <= 64
    assert "[查看原帖 Open post](https://weibo.com/1234/AbCdE)" in body["markdown"]["text"]
    feishu = render.robot_message("feishu", PAYLOAD)
    rows = feishu["content"]["post"]["zh_cn"]["content"]
    assert {"tag": "a", "text": "查看原帖 Open post", "href": "https://weibo.com/1234/AbCdE"} in [
        r[0] for r in rows
    ]


def test_webhook_json_keeps_raw_facts():
    body = render.webhook_json({"dedupe_key": "k", "receiver": "hook", "payload": PAYLOAD})
    assert body["dedupe_key"] == "k" and body["excerpt"] == PAYLOAD["excerpt"]  # data, raw
    assert body["title"] and body["text"] and "series" not in body


def test_the_spread_chart_is_a_png_with_or_without_a_cjk_font():
    series = [
        ["2026-05-01T02:00:00+00:00", 10, 300, 150, 900],
        ["2026-05-01T02:10:00+00:00", 80, 1500, 900, 4000],
        ["2026-05-01T02:20:00+00:00", 300, 3000, 2000, 6000],
    ]
    curve = [["2026-05-01T02:00:00+00:00", 10], ["2026-05-01T02:05:00+00:00", 40]]
    png = spread_chart(series, 1000, "沐沐奶粉 · weibo 5012345", observed=curve)
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert spread_chart(series[:1], 1000, "").startswith(b"\x89PNG")
    assert spread_chart([], 1000, "").startswith(b"\x89PNG")


def test_the_repost_curve_starts_at_publication_when_the_post_was_first_seen_later():
    from alerts.chart import repost_curve

    curve = [["2026-05-01T02:00:00+00:00", 353], ["2026-05-01T02:00:03+00:00", 355]]
    times, counts, from_publication = repost_curve([], curve, "2026-05-01T01:15:00+00:00")
    assert from_publication and counts == [0, 353, 355]
    assert times[0].isoformat() == "2026-05-01T01:15:00+00:00"
    # a naive publication time is UTC, as the warehouse stores it
    assert repost_curve([], curve, "2026-05-01T01:15:00")[1] == [0, 353, 355]
    # unknown or not earlier: the measured curve alone
    assert repost_curve([], curve, None) == repost_curve([], curve, "2026-05-01T02:00:00+00:00")
    assert repost_curve([], curve, None)[1:] == ([353, 355], False)
    # without snapshots, the estimates' observed counts
    series = [["2026-05-01T02:00:00+00:00", 10, 300, 150, 900]]
    assert repost_curve(series, None, "2026-05-01T01:00:00+00:00")[1] == [0, 10]
    png = spread_chart(series, 1000, "沐沐奶粉 · weibo 1", posted_at="2026-05-01T01:00:00+00:00")
    assert png.startswith(b"\x89PNG")


def test_a_title_without_a_cjk_font_loses_its_chinese_and_the_separator_it_leaves():
    from alerts.chart import _safe

    assert _safe("沐沐奶粉 · weibo 5012345", None) == "weibo 5012345"
    assert _safe("沐沐奶粉 · weibo 5012345", "Noto Sans CJK SC") == "沐沐奶粉 · weibo 5012345"


FONTS = "/tmp/review_alerts/debs/x/usr/share/fonts/truetype"  # unpacked by the review repro


def _font_entry(path):
    """matplotlib's FontEntry for a real font file (name, file, face) as its font manager
    would list it."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    return font_manager.ttfFontProperty(FT2Font(str(path)))


def _matplotlib_font(name):
    from pathlib import Path

    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def test_a_font_counts_as_chinese_only_if_its_file_draws_chinese():
    """Chosen by glyphs, not by name: DejaVu Sans (matplotlib's own, no 中) is rejected
    even when listed under a CJK font's name, and so is matplotlib's Last Resort font,
    which maps every character to one placeholder box."""
    from dataclasses import replace

    from alerts.chart import _known_cjk_font, has_chinese_glyphs

    dejavu = _font_entry(_matplotlib_font("DejaVuSans.ttf"))
    assert dejavu.name == "DejaVu Sans" and not has_chinese_glyphs(dejavu.fname)
    assert _known_cjk_font([replace(dejavu, name="Noto Sans CJK SC")]) is None
    last_resort = _font_entry(_matplotlib_font("LastResortHE-Regular.ttf"))
    assert not has_chinese_glyphs(last_resort.fname)
    assert _known_cjk_font([dejavu, last_resort]) is None


def test_a_font_named_like_kai_without_chinese_glyphs_is_rejected():
    """Debian's fonts-noto-core has "Noto Sans Kaithi" (an Indic script) and no CJK font:
    its name contains "Kai" (as in 楷体) but it draws no 中, so the charts must not use it."""
    from pathlib import Path

    from alerts.chart import _known_cjk_font, has_chinese_glyphs

    kaithi = Path(FONTS) / "noto" / "NotoSansKaithi-Regular.ttf"
    if not kaithi.exists():
        pytest.skip(f"{kaithi} not unpacked (the review repro unpacks fonts-noto-core there)")
    entry = _font_entry(kaithi)
    assert entry.name == "Noto Sans Kaithi" and not has_chinese_glyphs(entry.fname)
    dejavu = _font_entry(_matplotlib_font("DejaVuSans.ttf"))
    assert _known_cjk_font([entry, dejavu]) is None
    zenhei = Path(FONTS) / "wqy" / "wqy-zenhei.ttc"
    if zenhei.exists():  # a real CJK font beside it is found
        assert has_chinese_glyphs(str(zenhei))
        assert _known_cjk_font([entry, _font_entry(zenhei)]) == "WenQuanYi Zen Hei"


def _tick_labels(fig) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_without_a_cjk_font_the_digest_bars_are_labelled_with_brand_codes(world):
    """No CJK font (the choice injected, matplotlib real): the digest's bars carry the
    brand codes and are labelled with them, not with "?" left by stripped Chinese."""
    import datetime as dt

    from alerts.chart import bar_figure
    from alerts.digest import digest_payload
    from yujing.config import load_config

    world.post("1")
    bars = digest_payload(world.engine, load_config(), dt.date(2026, 5, 1))["bars"]
    assert bars["labels"] == ["沐沐奶粉", "星辰汽车", "快鲜外卖 (竞品)"]
    assert bars["ascii_labels"] == ["mumu", "xingche", "kuaixian (competitor)"]
    args = (bars["labels"], bars["values"], bars["title"])
    fig = bar_figure(*args, ascii_labels=bars["ascii_labels"], font=None)
    assert _tick_labels(fig) == ["mumu", "xingche", "kuaixian (competitor)"]
    assert fig.axes[0].get_title() == bars["title"]
    # with a CJK font the names are the labels (not drawn here: this machine may have none)
    cjk = bar_figure(*args, ascii_labels=bars["ascii_labels"], font="Noto Sans CJK SC")
    assert [t.get_text() for t in cjk.axes[0].get_xticklabels()] == bars["labels"]
    # a digest queued before the codes were (no ascii_labels): still one distinct ascii
    # label per bar
    old = _tick_labels(
        bar_figure(["沐沐奶粉", "星辰汽车", "Acme 奶粉", "Acme"], [1, 2, 3, 4], "t", font=None)
    )
    assert old == ["#1", "#2", "Acme #3", "Acme #4"] and all(s.isascii() for s in old)


def test_the_digest_bars_start_at_zero_and_carry_their_values():
    # a day of zeros drew empty bars on an axis from -0.04 to 0.04
    from alerts.chart import bar_figure

    zeros = bar_figure(["a", "b"], [0.0, 0.0], "t", font=None).axes[0]
    assert zeros.get_ylim() == (0.0, 1.0)
    some = bar_figure(["a", "b"], [12.5, 40.0], "t", font=None).axes[0]
    assert some.get_ylim()[0] == 0.0 and some.get_ylim()[1] >= 40.0
    assert [t.get_text() for t in some.texts] == ["12.5", "40"]


BIDI = "\u202e\u2066\u200f\u061c"  # right-to-left override, isolate, marks


@pytest.mark.parametrize("channel", ["slack", "email", "dingtalk", "wecom", "feishu", "text"])
def test_bidirectional_controls_in_user_text_reach_no_channel(channel):
    # an unclosed U+202E in a post or an author name showed the rest of the email subject
    # (the incident id to ack) or the follower count reversed
    payload = {
        **PAYLOAD,
        "excerpt": f"宝宝喝了{BIDI}官方已回应，无需处理",
        "author_name": f"宝妈{BIDI[0]}",
        "reasons": [f"P(viral) 83%{BIDI[0]}"],
    }
    shown = {
        "slack": lambda: json.dumps(render.slack_blocks(payload), ensure_ascii=False),
        "email": lambda: render.email_subject(payload) + render.email_html(payload, None),
        "text": lambda: render.plain_text(payload),
    }.get(channel, lambda: json.dumps(render.robot_message(channel, payload), ensure_ascii=False))()
    assert not any(ch in shown for ch in BIDI)
    assert "官方已回应" in shown and "宝妈" in shown


def test_a_huge_post_link_is_left_out_and_every_slack_element_fits():
    # the post's own link had no length check: a 2,900-character WeChat URL made the
    # context element longer than Slack's 3,000 and every retry of the alert failed
    url = "https://mp.weixin.qq.com/s?__biz=MzA&mid=1&" + "x=1&" * 720
    text, blocks = render.slack_blocks({**PAYLOAD, "url": url})
    flat = json.dumps(blocks, ensure_ascii=False)
    assert "mp.weixin.qq.com" not in flat
    for block in blocks:
        for element in block.get("elements", []) + [block.get("text") or {}]:
            assert len(element.get("text", "")) <= render.SLACK_SECTION_LIMIT
    assert render.safe_url(url) is None and render.safe_url(url[:900]) == url[:900]


def test_a_post_tracked_for_30_hours_is_charted_from_its_first_snapshot(world):
    """A snapshot and an estimate every 5 min for 30 h (361 of each): the alert's chart
    series cover the whole history, first snapshot to newest, within the payload's bound,
    keeping the early growth and the biggest jump (the newest 200 started 13 h in and the
    chart drew a dotted line from publication over the part the PR team looks at)."""
    import datetime as dt

    from alert_fixtures import T0, mechanics_config

    from alerts.stage import SERIES_POINTS, run_escalation
    from warehouse.schema import notifications
    from yujing.clock import ManualClock

    times = [T0 + dt.timedelta(minutes=5 * i) for i in range(361)]  # 30 h
    # fast early growth, then a slow tail with one burst of 400 reposts at 20 h
    counts = [min(10 * i, 1200) + (400 if i >= 240 else 0) + i for i in range(361)]
    world.post("1", observed=counts[0], p=0.7, at=times[0])
    for at, n in zip(times[1:], counts[1:], strict=True):
        world.estimate("1", at, n, 0.7)
    run_escalation(world.engine, mechanics_config(), ManualClock(times[-1]))
    (row,) = world.rows(notifications.c.event == "open")[:1]
    payload = json.loads(row["payload"])
    for points in (payload["observed_curve"], payload["series"]):
        assert 2 < len(points) <= SERIES_POINTS
        stamps = [dt.datetime.fromisoformat(p[0]) for p in points]
        assert stamps[0] == times[0] and stamps[-1] == times[-1]
        assert stamps == sorted(set(stamps))
        assert [p[1] for p in points] == [counts[times.index(t)] for t in stamps]
        # the early growth is drawn (not a line from 0), and the burst's step is kept
        assert sum(1 for t in stamps if t < times[0] + dt.timedelta(hours=2)) >= 5
        assert times[240] in stamps


def test_thinning_keeps_the_ends_and_the_bound_whatever_the_spacing():
    import datetime as dt

    from alerts.stage import thin

    t0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    # dense for an hour (every 10 s), then every 30 min for a day; one jump in the dense part
    points = [(t0 + dt.timedelta(seconds=10 * i), i + (500 if i >= 100 else 0)) for i in range(360)]
    points += [(t0 + dt.timedelta(hours=1, minutes=30 * i), 900 + i) for i in range(1, 49)]
    kept = thin(points, 50)
    assert len(kept) == 50 and kept[0] == points[0] and kept[-1] == points[-1]
    assert kept == sorted(set(kept)) and points[99] in kept and points[100] in kept
    assert thin(points[:50], 50) == points[:50] and thin([], 50) == []
