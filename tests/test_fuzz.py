"""Property-based fuzzing of what strangers and ops type: text normalisation, the scorer,
the config loader and the message renderers never crash, and user text never comes out
live (no Slack mention or link, no HTML tag, no robot @all)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts import render
from nlp.normalize import MAX_CHARS, normalize
from nlp.scorer import Scorer
from yujing.config import Config, ConfigError, load_config, parse_config

HOSTILE = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "<https://evil.example|官方通知>",
        "<script>alert(1)</script>",
        '<img src=x onerror="1">',
        "[点我](https://evil.example)",
        "@all",
        '<at user_id="all">所有人</at>',
        "&lt;!channel&gt;",
        "{%#话题#%}",
        "//@某人:",
        "[怒]",
        "\u200b\u202e",
        "\udcff",
    ]
)
USER_TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=30)), max_size=6).map("".join)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def scorer():
    return Scorer.load(extra_words=["沐沐奶粉"])


@FUZZ
@given(USER_TEXT)
def test_normalise_never_raises_and_stays_bounded(text):
    n = normalize(text)
    assert isinstance(n.full, str) and len(n.own_text) <= MAX_CHARS
    assert "\u200b" not in n.full and "\u202e" not in n.full


@FUZZ
@given(st.lists(st.one_of(USER_TEXT, st.none(), st.binary(max_size=40)), max_size=8))
def test_the_scorer_scores_every_line_or_says_why(scorer, lines):
    scores = scorer.score_batch(lines)
    assert len(scores) == len(lines)
    for s in scores:
        assert (s.sentiment is None) == (s.error is not None)
        if s.sentiment is not None:
            assert 0.0 <= s.sentiment <= 1.0
        json.dumps(s.to_json_dict())


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)


@FUZZ
@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries({}, optional={"brands": JSONISH, "levels": JSONISH, "routing": JSONISH,
                                            "schedules": JSONISH, "responses": JSONISH}),
    )
)  # fmt: skip
def test_any_config_is_accepted_or_refused_with_reasons(data):
    try:
        assert isinstance(parse_config(data), Config)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


BASE = {
    "incident_id": "mumu-1",
    "event": "open",
    "level": "critical",
    "brand": "mumu",
    "platform": "weibo",
    "post_id": "1",
    "observed": 12,
    "predicted": 900.0,
    "low": 300.0,
    "high": 2000.0,
    "p_viral": 0.7,
    "velocity_per_10min": 30.0,
    "url": "https://weibo.com/1/1",
    "posts": 1,
    "related": [],
    "categories": ["safety"],
    "signals": [],
}


def _mrkdwn_texts(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for v in node.values() for t in _mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _mrkdwn_texts(v)]
    return []


@FUZZ
@given(USER_TEXT, USER_TEXT, USER_TEXT, USER_TEXT)
def test_user_text_is_inert_in_every_channel(excerpt, author, brand_name, reason):
    p = {**BASE, "excerpt": excerpt, "text": excerpt, "author_name": author,
         "brand_name": brand_name, "reasons": [reason]}  # fmt: skip
    fallback, blocks = render.slack_blocks(p)
    # Slack parses mentions and links in mrkdwn text and the fallback, never in plain_text
    slack = "\n".join([fallback, *_mrkdwn_texts(blocks)])
    for live in ("<!", "<@", "<https://evil"):
        assert live not in slack
    html = render.email_html(p, None)
    for live in ("<script", "<img", "<at ", 'href="https://evil'):
        assert live not in html
    for kind in ("dingtalk", "wecom", "feishu"):
        robot = json.dumps(render.robot_message(kind, p), ensure_ascii=False)
        assert "@all" not in robot and "<at" not in robot and "](https://evil" not in robot
    assert "\n" not in render.email_subject(p)
    # every channel can encode what it sends (a lone surrogate must not jam the queue)
    for out in (slack, html, render.plain_text(p), render.email_subject(p)):
        out.encode("utf-8")


def test_the_shipped_config_is_valid():
    assert load_config().brands
