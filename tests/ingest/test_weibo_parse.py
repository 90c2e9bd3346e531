"""Parsing statuses as Weibo sends them, and refusing what cannot be stored."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ingest.weibo_parse import (
    ParseError,
    clean_html,
    mid_to_bid,
    parse_count,
    parse_repost,
    parse_status,
    parse_weibo_time,
    storable,
)
from simulator.server import count_text, weibo_html, weibo_time

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def status(**over):
    """A search hit shaped like the real v2 API answer (trimmed of display-only fields)."""
    base = {
        "created_at": "Tue May 31 17:46:55 +0800 2011",
        "id": 3317352863,
        "idstr": "3317352863",
        "mid": "3317352863",
        "can_edit": False,
        "text": '沐沐奶粉&amp;客服 &lt;差评&gt; <a href="https://s.weibo.com/weibo?q=%23沐沐%23">#沐沐#</a>'
        ' <a href="http://t.cn/A6xYz12" title="http://t.cn/A6xYz12" target="_blank">网页链接</a>',
        "source": '<a href="http://app.weibo.com/t/feed/6vtZb0" rel="nofollow">iPhone客户端</a>',
        "favorited": False,
        "truncated": False,
        "pic_urls": [],
        "geo": None,
        "reposts_count": "100万+",
        "comments_count": 12,
        "attitudes_count": "1.2万",
        "isLongText": False,
        "visible": {"type": 0, "list_id": 0},
        "user": {
            "id": 1404376560,
            "idstr": "1404376560",
            "screen_name": "宝妈",
            "followers_count": 3456,
            "verified": True,
            "verified_type": 3,
        },
    }
    base.update(over)
    return base


def test_a_status_as_the_platform_sends_it():
    post = parse_status(status(), NOW)
    assert post.platform == "weibo" and post.post_id == "3317352863"
    assert post.created_at == dt.datetime(2011, 5, 31, 9, 46, 55, tzinfo=dt.UTC)
    assert post.text == "沐沐奶粉&客服 <差评> #沐沐# 网页链接"
    assert (post.reposts, post.comments, post.likes) == (1_000_000, 12, 12_000)
    assert (post.author_id, post.author_name, post.author_followers) == ("1404376560", "宝妈", 3456)
    assert post.author_verified and post.verified_type == 3
    assert post.url == f"https://weibo.com/1404376560/{mid_to_bid('3317352863')}"
    assert post.root_id is None and post.parent_id is None and not post.deleted


def test_a_repost_points_at_its_root_and_parent():
    post = parse_status(status(retweeted_status=status(idstr="42", id=42, mid="42"), pid=41))
    assert (post.root_id, post.parent_id) == ("42", "41")
    no_pid = parse_status(status(retweeted_status={"idstr": "42"}))
    assert (no_pid.root_id, no_pid.parent_id) == ("42", "42")
    deleted_root = parse_status(
        status(retweeted_status={"idstr": "43", "deleted": "1", "text": "此微博已被作者删除。"})
    )
    assert deleted_root.root_id == "43"
    row = parse_repost(status(retweeted_status={"idstr": "42"}, pid=41), "42", NOW)
    assert row["root_post_id"] == "42" and row["parent_id"] == "41" and row["followers"] == 3456


def test_long_texts_and_deleted_posts():
    truncated = parse_status(status(isLongText=True, text="很长的投诉…"))
    assert truncated.is_long_text and truncated.text == "很长的投诉…"
    full = parse_status(
        status(
            isLongText=True,
            text="很长的投诉…",
            longText={"longTextContent": "很长的投诉，全文<br/>第二段"},
        )
    )
    assert full.text == "很长的投诉，全文\n第二段"
    gone = parse_status(
        {
            "created_at": "Tue May 31 17:46:55 +0800 2011",
            "id": 9,
            "idstr": "9",
            "mid": "9",
            "deleted": "1",
            "text": "此微博已被作者删除。",
        }
    )
    assert gone.deleted and gone.post_id == "9" and gone.author_id is None


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("not a dict", "not an object"),
        ({"idstr": "abc", "created_at": "Tue May 31 17:46:55 +0800 2011"}, "usable id"),
        (status(idstr="1", id=2), "conflicting ids"),
        (status(created_at="5分钟前"), "unreadable created_at"),
        (status(created_at="Tue May 31 17:46:55 +0800 2005"), "before Weibo existed"),
        (status(created_at="Tue May 31 17:46:55 +0800 2033"), "in the future"),
        (status(user=None), "without a user"),
        (status(user={"screen_name": "无名"}), "user without a usable id"),
        (status(reposts_count="lots"), "unreadable reposts_count"),
        (status(reposts_count=-3), "negative reposts_count"),
        (status(attitudes_count=10**13), "absurd attitudes_count"),
        (status(comments_count=True), "boolean"),
        ({k: v for k, v in status().items() if k != "text"}, "without text"),
        # a field of the wrong type is refused here, not left to fail the page's insert
        (status(text=12345), "text is int, not text"),
        (status(user={"idstr": "7", "screen_name": ["小明"]}), "user.screen_name is list"),
        (
            status(isLongText=True, longText={"longTextContent": {"a": 1}}),
            "longText.longTextContent is dict",
        ),
    ],
)
def test_bad_statuses_say_why(item, reason):
    with pytest.raises(ParseError, match=reason):
        parse_status(item, NOW)


def test_count_forms():
    forms = (5, "5", "1,234", "3万", "1.2万", "3.5w", "100万+", "10万+", "2亿", 7.0, None, "")
    assert [parse_count(v) for v in forms] == [
        5,
        5,
        1234,
        30_000,
        12_000,
        35_000,
        1_000_000,
        100_000,
        200_000_000,
        7,
        None,
        None,
    ]


def test_weibo_time_and_base62_ids():
    assert parse_weibo_time("Fri May 01 10:57:16 +0800 2026") == dt.datetime(
        2026, 5, 1, 2, 57, 16, tzinfo=dt.UTC
    )
    assert mid_to_bid("3501756485200075") == "z0JH2lOMb"  # the URL id Weibo shows
    assert clean_html("a&amp;b <a href='x'>@某人</a>\u3000") == "a&b @某人"


@settings(database=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_counts_as_the_web_shows_them_parse_back_close(n):
    parsed = parse_count(count_text(n))
    if n < 10_000:
        assert parsed == n
    elif n < 1_000_000:
        assert abs(parsed - n) <= 500  # "1.2万" keeps one decimal of 万
    else:
        assert parsed == 1_000_000  # "100万+": the web only says "a million or more"


@settings(database=None)
@given(st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2035, 1, 1)))
def test_created_at_round_trips(when):
    when = when.replace(microsecond=0, tzinfo=dt.UTC)
    assert parse_weibo_time(weibo_time(when)) == when


@settings(database=None)
@given(st.text(max_size=60))
def test_html_text_round_trips_storable(text):
    assume("http://t.cn/" not in text)  # links come back as their anchor text, 网页链接
    cleaned = clean_html(weibo_html(text))
    assert cleaned == re.sub(r"[ \t\r\f\v]+", " ", storable(text)).strip()
    assert "\x00" not in cleaned  # PostgreSQL refuses NUL in text


def test_storable_drops_nul_and_mends_what_a_cut_split():
    assert storable("差\x00评") == "差评"
    assert storable("结块\ud83d") == "结块\ufffd"  # half an emoji left by the 140-char cut
    assert storable("\ud83d\ude00 \ude00") == "\U0001f600 \ufffd"
    assert storable("沐沐奶粉 😀") == "沐沐奶粉 😀"
    assert clean_html("<a>@宝妈</a> 奶粉结\x00块 \ud83d") == "@宝妈 奶粉结块 \ufffd"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(database=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": _json,
            "idstr": _json,
            "mid": _json,
            "created_at": st.sampled_from(["Tue May 31 17:46:55 +0800 2011", "昨天", ""]) | _json,
            "text": _json,
            "user": _json,
            "reposts_count": _json,
            "deleted": _json,
            "retweeted_status": _json,
            "isLongText": _json,
            "longText": _json,
        },
    )
)
def test_anything_the_api_might_send_parses_or_says_why(item):
    try:
        post = parse_status(item, NOW)
    except ParseError as exc:
        assert str(exc)
    else:
        assert post.post_id.isdigit() and post.created_at.tzinfo is not None
