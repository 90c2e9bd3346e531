"""A changed `thresholds.negative_below` rescores: `negative` is decided when a post is
scored, so old rows would keep the old threshold and the negative shares would jump for
no reason in the posts (the docs promise `negative` means sentiment below the setting)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from nlp.scorer import Scorer, threshold_suffix
from nlp.stage import score_new_mentions
from warehouse.schema import mentions
from yujing.clock import ManualClock

T0 = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)


def test_the_default_threshold_keeps_the_old_version_name():
    # versions scored before the suffix existed stay valid: no rescoring on upgrade
    assert threshold_suffix(0.4) == ""
    assert threshold_suffix(0.3) == "-neg0.3"


def test_a_new_threshold_is_a_new_version_that_rescores_the_history(warehouse):
    from warehouse.schema import scores

    with warehouse.begin() as conn:
        conn.execute(
            mentions.insert(),
            [{"platform": "weibo", "post_id": "1", "brand": "mumu",
              "text": "沐沐奶粉客服一直不回消息，等了三天了", "created_at": T0,
              "raw": "{}", "ingested_at": T0, "author_verified": False,
              "is_competitor": False}],
        )  # fmt: skip
    clock = ManualClock(T0 + dt.timedelta(hours=1))
    strict, lenient = Scorer.load(negative_below=0.4), Scorer.load(negative_below=0.001)
    assert strict.model_version != lenient.model_version
    assert score_new_mentions(warehouse, strict, clock, brand="mumu")["scored"] == 1
    clock.advance(dt.timedelta(minutes=10))
    # the same post again under the new threshold, with the new answer
    assert score_new_mentions(warehouse, lenient, clock, brand="mumu")["scored"] == 1
    with warehouse.connect() as conn:
        rows = dict(conn.execute(select(scores.c.model_version, scores.c.negative)).all())
    assert rows[strict.model_version] and not rows[lenient.model_version]
