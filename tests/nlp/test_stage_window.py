"""The scoring cursor bounds what a run reads and never loses a post.

A run reads mentions ingested since the cursor (its last complete run's start minus
`SETTLE`), and all of them once a day or for a new model version. Each case here is a
way a post could slip behind the cursor; each must still be scored.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from nlp.scorer import Score
from nlp.stage import SETTLE, SWEEP_EVERY, score_new_mentions
from warehouse.schema import mentions, scores
from yujing.clock import ManualClock

T0 = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)
NEVER = dt.timedelta(days=3650)  # sweeps off: the cursor alone must carry the case


class Fixed:
    model_version = "window-1"

    def __init__(self, fail: bool = False):
        self.fail = fail

    def score_batch(self, texts):
        if self.fail:
            raise RuntimeError("the model crashed")
        return [Score(0.5) for _ in texts]


class Newer(Fixed):
    model_version = "window-2"


def _add(engine, ids, ingested_at, brand="mumu") -> None:
    with engine.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                {"platform": "weibo", "post_id": str(i), "brand": brand, "text": "沐沐奶粉",
                 "created_at": ingested_at - dt.timedelta(days=400), "raw": "{}",
                 "ingested_at": ingested_at, "author_verified": False, "is_competitor": False}
                for i in ids
            ],
        )  # fmt: skip


def _scored(engine, model="window-1") -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(scores.c.post_id).where(scores.c.model_version == model))
        return set(rows.scalars())


def _run(engine, clock, scorer=None, **kw):
    return score_new_mentions(engine, scorer or Fixed(), clock, brand="mumu", **kw)


def test_first_run_reads_everything_then_only_the_window(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, range(5), T0 - dt.timedelta(days=90))
    first = _run(warehouse, clock)
    assert first["sweep"] and first["scored"] == 5
    clock.advance(300)
    _add(warehouse, [100], clock.now() - dt.timedelta(seconds=30))
    second = _run(warehouse, clock)
    assert not second["sweep"] and second["scored"] == 1


def test_a_mention_committed_after_a_run_that_started_later_is_scored(warehouse):
    """An ingest attempt stamps its start and may commit up to its 30-minute timeout later:
    a scoring run in between does not see the rows, the next one must."""
    clock = ManualClock(T0)
    _run(warehouse, clock, sweep_every=NEVER)
    ingest_started = clock.now() + dt.timedelta(minutes=1)
    clock.advance(dt.timedelta(minutes=5))
    assert _run(warehouse, clock, sweep_every=NEVER)["scored"] == 0  # not committed yet
    clock.advance(dt.timedelta(minutes=25))
    _add(warehouse, [1, 2], ingest_started)  # committed 29 minutes after its stamp
    clock.advance(dt.timedelta(minutes=5))
    assert _run(warehouse, clock, sweep_every=NEVER)["scored"] == 2
    assert _scored(warehouse) == {"1", "2"}


def test_settle_covers_an_ingest_attempts_timeout():
    from yujing.dag_support import DEFAULT_ARGS

    assert SETTLE >= 2 * DEFAULT_ARGS["execution_timeout"]


@pytest.mark.parametrize("how", ["the scorer fails", "max_batches stops the run"])
def test_a_run_that_does_not_finish_keeps_the_cursor(warehouse, how):
    """Scoring down for ten hours (or cut short): the posts from before are still read."""
    clock = ManualClock(T0)
    _run(warehouse, clock, sweep_every=NEVER)
    clock.advance(300)
    _add(warehouse, range(10), clock.now() - dt.timedelta(seconds=10))
    if how == "the scorer fails":
        with pytest.raises(RuntimeError):
            _run(warehouse, clock, Fixed(fail=True), sweep_every=NEVER)
    else:
        done = _run(warehouse, clock, batch_size=3, max_batches=1, sweep_every=NEVER)
        assert done["scored"] == 3
    clock.advance(dt.timedelta(hours=10))
    assert _run(warehouse, clock, sweep_every=NEVER)["scored"] == (10 if "fails" in how else 7)
    assert len(_scored(warehouse)) == 10


def test_a_long_backfill_behind_the_cursor_is_scored_by_the_daily_sweep(warehouse):
    """`yujing backfill` stamps its start: rows it commits hours later are behind the
    cursor. The bounded runs miss them; the next daily sweep scores them."""
    clock = ManualClock(T0)
    _run(warehouse, clock)
    backfill_started = clock.now()
    for _ in range(6):  # six hours of 5-minute runs while the backfill loads
        clock.advance(dt.timedelta(hours=1))
        _run(warehouse, clock)
    _add(warehouse, range(500, 520), backfill_started)  # its last batch commits now
    clock.advance(300)
    assert _run(warehouse, clock)["scored"] == 0  # behind the cursor
    clock.advance(SWEEP_EVERY)
    swept = _run(warehouse, clock)
    assert swept["sweep"] and swept["scored"] == 20
    assert len(_scored(warehouse)) == 20


def test_a_new_model_version_rescores_the_whole_history(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, range(8), T0 - dt.timedelta(days=200))
    _run(warehouse, clock)
    clock.advance(dt.timedelta(hours=5))
    result = _run(warehouse, clock, Newer())
    assert result["sweep"] and result["scored"] == 8
    assert _scored(warehouse, "window-2") == {str(i) for i in range(8)}


def test_partitions_keep_their_own_cursors(warehouse):
    """A brand's run moving its cursor does not hide another brand's posts."""
    clock = ManualClock(T0)
    _add(warehouse, [1], T0 - dt.timedelta(hours=1), brand="xingchen")
    _run(warehouse, clock)  # mumu only
    clock.advance(dt.timedelta(hours=5))
    other = score_new_mentions(warehouse, Fixed(), clock, brand="xingchen")
    assert other["scored"] == 1
    everything = score_new_mentions(warehouse, Fixed(), clock)
    assert everything["scored"] == 0
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(scores)).scalar_one() == 1


def test_a_rescoring_sweep_scores_fresh_posts_before_the_history(warehouse):
    """A new model version or `thresholds.negative_below` rescores the history in key
    order, where the newest Weibo ids sort last: fresh posts, and the alerts they would
    raise, waited behind all of it (a 30-minute attempt that times out starts over)."""
    clock = ManualClock(T0)
    history = [4_900_000_000_000_000 + i for i in range(40)]
    _add(warehouse, history, T0 - dt.timedelta(days=200))
    _run(warehouse, clock)
    clock.advance(dt.timedelta(hours=5))
    fresh = [5_100_000_000_000_000 + i for i in range(3)]
    _add(warehouse, fresh, clock.now() - dt.timedelta(minutes=2))
    first = _run(warehouse, clock, Newer(), batch_size=10, max_batches=1)
    assert first["sweep"] and first["scored"] == 3
    assert _scored(warehouse, "window-2") == {str(i) for i in fresh}
    rest = _run(warehouse, clock, Newer(), batch_size=10)
    assert rest["sweep"] and rest["scored"] == 40
    assert len(_scored(warehouse, "window-2")) == 43
    clock.advance(300)
    assert not _run(warehouse, clock, Newer())["sweep"]  # the cursor moved: done


def test_fresh_first_covers_every_post_that_can_still_be_enrolled():
    from nlp.stage import RECENT_FIRST
    from spread.tracking import ENROLL_WINDOW

    assert RECENT_FIRST >= ENROLL_WINDOW
