"""Enrolment: a negative post starts being tracked when it is scored, exactly once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from nlp.stage import score_new_mentions
from spread.tracking import HOT, enroll_negative_posts, enroll_scored
from warehouse.schema import mentions, scores, tracked_posts
from yujing.clock import ManualClock
from yujing.config import load_config
from yujing.resources import Resources
from yujing.tasks import enroll_missed_posts

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


@dataclass
class _Result:
    sentiment: float | None
    negative: bool
    complaint: bool
    categories: tuple = ()
    signals: tuple = ()
    error: str | None = None


class KeywordScorer:
    """Deterministic stand-in for the model: 差 is negative, 退款 a complaint."""

    model_version = "keyword-test"

    def score_batch(self, texts):
        return [_Result(0.5, "差" in t, "退款" in t) for t in texts]


def _mention(post_id, brand, text, ingested_at):
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": brand,
        "text": text,
        "created_at": ingested_at - dt.timedelta(minutes=3),
        "raw": "{}",
        "ingested_at": ingested_at,
        "author_verified": False,
        "is_competitor": False,
    }


def _tracked(engine) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(tracked_posts.c.post_id, tracked_posts.c.brand, tracked_posts.c.state)
        )
        return {r.post_id: (r.brand, r.state) for r in rows}


def test_scoring_enrols_negatives_and_complaints_once(warehouse):
    old = NOW - dt.timedelta(days=5)
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("1", "mumu", "质量太差", NOW),
                _mention("1", "xingchen", "质量太差", NOW),  # one post naming two brands
                _mention("2", "mumu", "要求退款", NOW),
                _mention("3", "mumu", "很好", NOW),
                _mention("4", "mumu", "太差了", old),  # ingested long ago (a rescore)
            ],
        )
    clock = ManualClock(NOW)
    for brand in ("mumu", "xingchen", "mumu"):  # overlapping partitions, then a rerun
        score_new_mentions(warehouse, KeywordScorer(), clock, batch_size=1, brand=brand,
                           on_scored=enroll_scored)  # fmt: skip
    assert _tracked(warehouse) == {"1": ("mumu", HOT), "2": ("mumu", HOT)}
    # the nightly safety net finds nothing more to do
    assert enroll_negative_posts(warehouse, NOW, KeywordScorer.model_version) == 0


def test_the_safety_net_enrols_what_was_scored_without_enrolment(warehouse):
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention("7", "mumu", "太差", NOW)])
    score_new_mentions(warehouse, KeywordScorer(), ManualClock(NOW))  # no on_scored
    assert _tracked(warehouse) == {}
    assert enroll_negative_posts(warehouse, NOW, KeywordScorer.model_version) == 1
    assert enroll_negative_posts(warehouse, NOW, KeywordScorer.model_version) == 0
    assert _tracked(warehouse) == {"7": ("mumu", HOT)}


class NewerScorer(KeywordScorer):
    """A newer model that finds nothing negative."""

    model_version = "keyword-test-2"

    def score_batch(self, texts):
        return [_Result(0.9, False, False) for _ in texts]


class _Resources(Resources):
    def scorer(self):
        return NewerScorer()


def test_the_safety_net_follows_the_current_model_only(warehouse):
    """Scores keep every model version's rows: a post only an old version called negative
    was enrolled every night, after the current model had cleared it."""
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), [_mention("7", "mumu", "太差", NOW)])
    score_new_mentions(warehouse, KeywordScorer(), ManualClock(NOW))  # old: negative
    score_new_mentions(warehouse, NewerScorer(), ManualClock(NOW))  # current: not
    res = _Resources(config=load_config(), engine=warehouse, clock=ManualClock(NOW))
    assert enroll_missed_posts(res) == {"enrolled": 0}
    assert _tracked(warehouse) == {}
    # the old version's verdict still enrols when that version is the current one
    assert enroll_negative_posts(warehouse, NOW, KeywordScorer.model_version) == 1


class CountingScorer(KeywordScorer):
    """Records every text it is asked to score."""

    def __init__(self):
        self.seen: list[str] = []

    def score_batch(self, texts):
        self.seen.extend(texts)
        return super().score_batch(texts)


def test_a_post_naming_two_brands_is_scored_once_whatever_the_batch_size(warehouse):
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                _mention("1", "mumu", "质量太差", NOW),
                _mention("2", "mumu", "要求退款", NOW),
                _mention("2", "xingchen", "要求退款", NOW),  # its rows are adjacent in key order
                _mention("3", "xingchen", "很好", NOW),
            ],
        )
    for batch_size in (1, 2, 3):  # a batch may end between post 2's two rows
        with warehouse.begin() as conn:
            conn.execute(scores.delete())
        scorer = CountingScorer()
        result = score_new_mentions(warehouse, scorer, ManualClock(NOW), batch_size=batch_size)
        assert sorted(scorer.seen) == sorted(["质量太差", "要求退款", "很好"]), batch_size
        assert result["scored"] == 3
        with warehouse.connect() as conn:
            assert sorted(conn.execute(select(scores.c.post_id)).scalars()) == ["1", "2", "3"]


def test_a_post_naming_a_competitor_is_tracked_under_our_brand(warehouse):
    """One tracking row per post (its spread is the post's): filed under one of our brands
    when it names one, not under whichever code sorts first (快鲜外卖 `kuaixian` < `mumu`).
    The alert stage reads every brand the post names; this keeps v_top_complaints and the
    analysts' views on our side too."""
    rival = {**_mention("8", "kuaixian", "沐沐奶粉太差，快鲜外卖也差", NOW), "is_competitor": True}
    rival_only = {**_mention("9", "kuaixian", "快鲜外卖太差", NOW), "is_competitor": True}
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [rival, _mention("8", "mumu", "沐沐奶粉太差，快鲜外卖也差", NOW), rival_only],
        )
        conn.execute(
            mentions.insert(),
            [{**_mention("10", brand, "太差", NOW), "is_competitor": brand == "kuaixian"}
             for brand in ("xingche", "kuaixian", "mumu")],
        )  # fmt: skip
    score_new_mentions(warehouse, KeywordScorer(), ManualClock(NOW), on_scored=enroll_scored)
    assert _tracked(warehouse) == {
        "8": ("mumu", HOT),
        "9": ("kuaixian", HOT),  # a competitor's own complaint is still followed
        "10": ("mumu", HOT),  # two of ours: the first of them
    }
    with warehouse.begin() as conn:  # the nightly safety net chooses the same way
        conn.execute(tracked_posts.delete())
    assert enroll_negative_posts(warehouse, NOW, KeywordScorer.model_version) == 3
    assert _tracked(warehouse)["8"] == ("mumu", HOT)
