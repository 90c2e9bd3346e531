"""The brand words the scorer protects are part of its version: an edit of the config's
brand list rescores the history once, as a new model or threshold does (nlp.scorer.
brand_suffix has the measurement behind it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from nlp import lexicon
from nlp.scorer import Scorer, brand_suffix, brand_words
from nlp.stage import score_new_mentions
from warehouse.schema import mentions, scores
from yujing.clock import ManualClock
from yujing.config import load_config

T0 = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)
WORDS = brand_words(load_config())


def test_the_version_names_the_protected_words_and_nothing_else():
    assert brand_suffix(WORDS) != brand_suffix([*WORDS, "无忧快递"])  # a brand added
    assert brand_suffix(WORDS) != brand_suffix([w for w in WORDS if w != "沐沐"])  # an alias less
    # what protects the same words is the same version: order, repeats, and a search
    # phrase made of a brand word and a problem (protected_pattern leaves it out)
    assert brand_suffix(WORDS) == brand_suffix([*reversed(WORDS), WORDS[0]])
    assert brand_suffix(WORDS) == brand_suffix([*WORDS, "沐沐质量问题"])
    assert brand_suffix([]) == ""


def test_a_bare_alias_changes_a_stored_verdict(scorer):
    """Why every protected word counts, not only those holding a lexicon term: a brand
    named beside a symptom makes it a product problem."""

    def protecting(words):
        return Scorer(scorer.model, "v", 0.4, lexicon.protected_pattern(words))

    post = "刚换了沐沐，宝宝就过敏了"
    (with_alias,) = protecting(WORDS).score_batch([post])
    (without,) = protecting([w for w in WORDS if w != "沐沐"]).score_batch([post])
    assert with_alias.complaint and with_alias.categories == ["safety"]
    assert not without.complaint and without.categories == []


def test_an_added_brand_word_rescores_the_history_under_its_protection(warehouse):
    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [{"platform": "weibo", "post_id": "1", "brand": "mumu",
              "text": "沐沐奶粉用无忧快递寄来的，包装太差了",
              "created_at": T0 - dt.timedelta(days=30), "raw": "{}",
              "ingested_at": T0 - dt.timedelta(days=30), "author_verified": False,
              "is_competitor": False}],
        )  # fmt: skip
    clock = ManualClock(T0)
    before, after = Scorer.load(extra_words=WORDS), Scorer.load(extra_words=[*WORDS, "无忧快递"])
    assert before.model_version != after.model_version
    assert score_new_mentions(warehouse, before, clock, brand="mumu")["scored"] == 1
    clock.advance(dt.timedelta(minutes=5))
    rescored = score_new_mentions(warehouse, after, clock, brand="mumu")
    assert rescored["sweep"] and rescored["scored"] == 1  # the 30-day-old post too
    with warehouse.connect() as conn:
        rows = dict(conn.execute(select(scores.c.model_version, scores.c.sentiment)).all())
        latest = conn.execute(text("SELECT model_version FROM v_latest_scores")).scalar_one()
    assert rows[before.model_version] != rows[after.model_version]  # 快递 is no evidence now
    assert latest == after.model_version  # the analyst views read the new score
