"""When the model fails: a bad post costs no other post its score, a failed post is tried
again on later runs and then kept with its reason, and a broken model fails the run and
stores nothing (nlp/stage.py's docstring)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from nlp.isolate import Failed, isolate
from nlp.scorer import Score, _BaseScorer
from nlp.stage import (
    MAX_ATTEMPTS,
    RETRY_AFTER,
    ScoringFailed,
    score_new_mentions,
)
from warehouse.cursors import get_cursor
from warehouse.schema import mentions, score_failures, scores
from yujing.clock import ManualClock

T0 = dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC)
POISON = "毒"  # a post holding it makes the fake models below raise
NEVER = dt.timedelta(days=3650)  # sweeps off


class PoisonScorer:
    """A scorer whose whole batch raises when one post in it holds POISON (as a bug in
    reading one odd post would); while `broken` it raises on every batch; while
    `transient` a poison post raises a MemoryError, and scores once it is cleared."""

    model_version = "fail-1"

    def __init__(self, broken: bool = False, transient: bool | None = None):
        self.broken, self.transient, self.calls = broken, transient, 0

    def score_batch(self, texts):
        self.calls += 1
        if self.broken:
            raise MemoryError("cannot allocate")
        if any(POISON in t for t in texts):
            if self.transient is None:
                raise ValueError(f"cannot read {POISON}")
            if self.transient:
                raise MemoryError("cannot allocate")
        return [Score(0.2, negative=True) for _ in texts]


class ModelScorer(_BaseScorer):
    """The production scorer's own path (prepare, the complaint rule) over a fake model
    that raises on a chunk holding a poison post, or on every chunk while `broken`."""

    model_version = "fail-model-1"

    def __init__(self, broken: bool = False):
        self.broken = broken

    def _probabilities(self, items):
        if self.broken or any(POISON in i.text for i in items):
            raise RuntimeError("model crashed")
        return np.full((len(items), 2), 0.9)


def _add(engine, texts: dict[str, str], at: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                {"platform": "weibo", "post_id": pid, "brand": "mumu", "text": text,
                 "created_at": at, "raw": "{}", "ingested_at": at,
                 "author_verified": False, "is_competitor": False}
                for pid, text in texts.items()
            ],
        )  # fmt: skip


def _scores(engine, version) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(scores).where(scores.c.model_version == version))
        return {r["post_id"]: dict(r) for r in rows.mappings()}


def _failures(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r["post_id"]: dict(r) for r in conn.execute(select(score_failures)).mappings()}


def _posts(n: int, poison: set[int] = frozenset()) -> dict[str, str]:
    return {
        str(i): f"沐沐奶粉第{i}罐{POISON if i in poison else ''}，宝宝喝了拉肚子" for i in range(n)
    }


def test_a_post_that_makes_its_batch_raise_costs_no_other_post_its_score(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, _posts(40, poison={17}), T0 - dt.timedelta(minutes=1))
    scorer = PoisonScorer()
    result = score_new_mentions(warehouse, scorer, clock, brand="mumu", sweep_every=NEVER)
    assert result["scored"] == 39 and result["failed"] == 1
    stored = _scores(warehouse, "fail-1")
    assert set(stored) == {str(i) for i in range(40)} - {"17"}
    assert all(r["error"] is None and r["negative"] for r in stored.values())
    (failure,) = _failures(warehouse).values()
    assert failure["post_id"] == "17" and failure["attempts"] == 1
    assert failure["error"] == f"scorer raised ValueError: cannot read {POISON}"
    assert failure["gave_up_at"] is None
    assert scorer.calls <= 1 + 2 * 6 + 1  # bisected (and the plain-post check), not one by one
    # the run finished: the cursor moved
    with warehouse.connect() as conn:
        assert get_cursor(conn, "score", "mumu fail-1") is not None


def test_a_failed_post_is_tried_again_on_later_runs_then_kept_with_its_reason(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, _posts(3, poison={1}), T0 - dt.timedelta(minutes=1))
    scorer = PoisonScorer()

    def run():
        return score_new_mentions(warehouse, scorer, clock, brand="mumu", sweep_every=NEVER)

    assert run()["failed"] == 1
    clock.advance(dt.timedelta(minutes=5))
    before = (_scores(warehouse, "fail-1"), _failures(warehouse))
    assert run()["scored"] == 0  # a rerun (or retry) right after changes nothing
    assert (_scores(warehouse, "fail-1"), _failures(warehouse)) == before
    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(RETRY_AFTER)
        result = run()
        assert _failures(warehouse)["1"]["attempts"] == attempt
    assert result["gave_up"] == 1 and result["scored"] == 1
    row = _scores(warehouse, "fail-1")["1"]
    assert row["sentiment"] is None and not row["negative"] and not row["complaint"]
    assert row["error"] == (
        f"model failed {MAX_ATTEMPTS} times; last: scorer raised ValueError: cannot read {POISON}"
    )
    assert _failures(warehouse)["1"]["gave_up_at"] == clock.now()
    clock.advance(dt.timedelta(days=2))  # given up: no later run or sweep tries it again
    assert score_new_mentions(warehouse, scorer, clock, brand="mumu")["scored"] == 0


def test_a_post_that_failed_once_is_scored_when_the_failure_passes(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, _posts(3, poison={2}), T0 - dt.timedelta(minutes=1))
    scorer = PoisonScorer(transient=True)
    first = score_new_mentions(warehouse, scorer, clock, brand="mumu", sweep_every=NEVER)
    assert first["failed"] == 1
    assert _failures(warehouse)["2"]["error"] == "scorer raised MemoryError: cannot allocate"
    scorer.transient = False
    clock.advance(RETRY_AFTER)
    again = score_new_mentions(warehouse, scorer, clock, brand="mumu", sweep_every=NEVER)
    assert again["scored"] == 1 and again["failed"] == 0
    assert _scores(warehouse, "fail-1")["2"]["error"] is None
    assert _failures(warehouse) == {}  # scored: no longer a failure


def test_a_failed_post_behind_the_cursor_is_tried_again_by_the_daily_sweep(warehouse):
    """A post first tried late (scoring was behind) fails, and the next run, too soon to
    try it again, moves the cursor past it: the daily sweep reads it again."""
    clock = ManualClock(T0)
    _add(warehouse, _posts(2, poison={0}), T0 - dt.timedelta(minutes=110))
    scorer = PoisonScorer(transient=True)
    assert score_new_mentions(warehouse, scorer, clock, brand="mumu")["failed"] == 1
    clock.advance(dt.timedelta(minutes=15))
    assert score_new_mentions(warehouse, scorer, clock, brand="mumu")["scored"] == 0
    scorer.transient = False
    clock.advance(dt.timedelta(hours=1))
    assert score_new_mentions(warehouse, scorer, clock, brand="mumu")["scored"] == 0  # behind
    clock.advance(dt.timedelta(days=1))
    swept = score_new_mentions(warehouse, scorer, clock, brand="mumu")
    assert swept["sweep"] and swept["scored"] == 1 and _failures(warehouse) == {}


@pytest.mark.parametrize("posts", [2, 30])
@pytest.mark.parametrize("scorer_kind", ["batch", "model"])
def test_a_model_that_fails_on_every_post_fails_the_run_and_stores_nothing(
    warehouse, posts, scorer_kind
):
    """A broken model (or a machine out of memory) is not a reason to give up on posts:
    nothing of the batch is stored, the cursor stays, and the run after the fix scores
    everything. With two posts, too few for "most of a batch", the plain-post check tells
    the model's fault from the posts'."""
    clock = ManualClock(T0)
    working = PoisonScorer() if scorer_kind == "batch" else ModelScorer()
    broken = PoisonScorer(broken=True) if scorer_kind == "batch" else ModelScorer(broken=True)
    version = working.model_version
    score_new_mentions(warehouse, working, clock, brand="mumu", sweep_every=NEVER)
    with warehouse.connect() as conn:
        cursor = get_cursor(conn, "score", f"mumu {version}")
    clock.advance(dt.timedelta(minutes=5))
    _add(warehouse, _posts(posts), clock.now() - dt.timedelta(minutes=1))
    with pytest.raises(ScoringFailed, match=f"failed on {posts} of {posts} posts"):
        score_new_mentions(warehouse, broken, clock, brand="mumu", sweep_every=NEVER)
    assert _scores(warehouse, version) == {} and _failures(warehouse) == {}
    with warehouse.connect() as conn:
        assert get_cursor(conn, "score", f"mumu {version}") == cursor
    clock.advance(dt.timedelta(minutes=5))
    fixed = score_new_mentions(warehouse, working, clock, brand="mumu", sweep_every=NEVER)
    assert fixed["scored"] == posts and fixed["failed"] == 0
    assert all(r["error"] is None for r in _scores(warehouse, version).values())


def test_the_scorer_isolates_a_post_the_model_raises_on_and_says_why():
    texts = ["沐沐奶粉很好喝", f"沐沐奶粉{POISON}很难喝", "沐沐奶粉宝宝爱喝", ""]
    good, bad, other, empty = ModelScorer().score_batch(texts)
    assert good.sentiment == other.sentiment == 0.9 and not good.failed
    assert bad.sentiment is None and bad.failed
    assert bad.error == "model failed: model raised RuntimeError: model crashed"
    assert empty.error == "empty text" and not empty.failed  # the text's fault: no retry


def test_bisection_finds_the_bad_items_in_few_calls():
    calls = []

    def call(items):
        calls.append(len(items))
        if 37 in items:
            raise KeyError(37)
        return [i * 2 for i in items]

    out = isolate(call, list(range(64)))
    assert out[37] == Failed("KeyError: 37")
    assert [v for i, v in enumerate(out) if i != 37] == [i * 2 for i in range(64) if i != 37]
    assert len(calls) == 1 + 2 * 6  # each level: the half holding it raises, the other scores
    with pytest.raises(ValueError, match="1 results for 2 items"):
        isolate(lambda items: [0], [1, 2])


def test_posts_that_keep_failing_are_given_up_even_when_they_are_most_of_a_batch(warehouse):
    """A few posts of a big batch fail; on their retries they are all a batch holds (the
    daily sweep's history pass reads nothing else): the model still works (it scores
    every other post), so they are counted and given up, not a reason to fail every run."""
    clock = ManualClock(T0)
    _add(warehouse, _posts(40, poison={3, 9, 17, 25, 31, 38}), T0 - dt.timedelta(minutes=1))
    scorer = PoisonScorer()

    def run():
        return score_new_mentions(warehouse, scorer, clock, brand="mumu", sweep_every=NEVER)

    assert run()["failed"] == 6
    for _ in range(2, MAX_ATTEMPTS + 1):
        clock.advance(RETRY_AFTER)
        result = run()
    assert result["gave_up"] == 6
    assert len(_scores(warehouse, "fail-1")) == 40


def test_a_broken_model_still_fails_a_run_of_posts_tried_again(warehouse):
    clock = ManualClock(T0)
    _add(warehouse, _posts(40, poison={3, 9, 17, 25, 31, 38}), T0 - dt.timedelta(minutes=1))
    score_new_mentions(warehouse, PoisonScorer(), clock, brand="mumu", sweep_every=NEVER)
    clock.advance(RETRY_AFTER)
    with pytest.raises(ScoringFailed, match="0 of 0 posts of a batch and 6 it failed on before"):
        score_new_mentions(
            warehouse, PoisonScorer(broken=True), clock, brand="mumu", sweep_every=NEVER
        )
    assert {r["attempts"] for r in _failures(warehouse).values()} == {1}
