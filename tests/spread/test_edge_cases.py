"""Inputs real tracking produces but training never did: old posts, recounts, huge counts, skew."""

from __future__ import annotations

import numpy as np
import pytest

from spread.features import FEATURES, MAX_REBUILT, view
from spread.model import Observation, Predictor

H = 3600.0


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def _steady(age_h: float, n: int) -> Observation:
    """n reposts over the last 6 hours before `age_h`: still spreading when observed."""
    times = list(np.linspace((age_h - 6) * H, age_h * H - 1, n))
    return Observation(
        created_at=0.0,
        observe_at=age_h * H,
        author_followers=50_000,
        repost_times=times,
        repost_followers=[500] * n,
    )


def _snapshots(snaps, observe_at: float, created_at: float = 0.0) -> Observation:
    return Observation(created_at=created_at, observe_at=observe_at, count_snapshots=snaps)


@pytest.mark.parametrize("age_h", [24.0, 30.0, 72.0])
def test_past_the_horizon_the_reach_is_what_was_seen(predictor, age_h):
    # the tree model used to add growth (900 -> 1280 at 30 h) while P(viral) was 0
    below = predictor.predict(_steady(age_h, 900))
    assert below.predicted == below.low == below.high == 900
    assert below.p_viral == 0.0
    above = predictor.predict(_steady(age_h, 1200))
    assert above.predicted == above.low == above.high == 1200
    assert above.p_viral == 1.0


def test_past_a_shorter_horizon_the_reach_is_what_was_seen():
    short = Predictor.load(horizon_s=12 * H)
    e = short.predict(_steady(13.0, 900))
    assert (e.predicted, e.low, e.high, e.p_viral) == (900, 900, 900, 0.0)
    assert short.predict(_steady(11.0, 900)).predicted > 900  # before it, growth is still added


def test_a_recount_is_a_new_baseline(predictor):
    # 500 -> 200 (bots removed) -> 450: the 250 new reposts are real growth, not hidden
    # below the old peak
    recount = _snapshots([(1 * H, 500), (2 * H, 200), (2 * H + 600, 450)], 2 * H + 600)
    plain = _snapshots([(1 * H, 200), (2 * H, 200), (2 * H + 600, 450)], 2 * H + 600)
    e, same = predictor.predict(recount), predictor.predict(plain)
    assert e.observed == 450 and e.velocity_per_10min == 250
    assert (e.predicted, e.p_viral) == (same.predicted, same.p_viral)
    np.testing.assert_array_equal(predictor.features(recount), predictor.features(plain))


def test_a_glitch_reading_is_not_a_burst(predictor):
    # a one-off 0 (an API hiccup) followed by a reading back above the peak: 10 new
    # reposts, not 510
    glitch = _snapshots([(1 * H, 500), (2 * H, 0), (2 * H + 600, 510)], 2 * H + 600)
    e = predictor.predict(glitch)
    assert e.observed == 510 and e.velocity_per_10min <= 10
    # a drop in the latest reading waits for the next one to confirm it
    pending = predictor.predict(_snapshots([(1 * H, 500), (2 * H, 200)], 2 * H))
    assert pending.observed == 500 and pending.velocity_per_10min == 0


def test_non_decreasing_snapshots_are_rebuilt_as_before():
    v = view(_snapshots([(600, 0), (1200, 30), (1800, 30), (2400, 90)], 2400))
    assert v.observed == 90 and v.weight == 1.0 and len(v.arrivals) == 90
    assert np.all(np.diff(v.arrivals) >= 0)
    # each increment spread evenly over its own interval
    assert np.sum(v.arrivals <= 1200) == 30 and np.sum(v.arrivals > 1800) == 60


def test_a_huge_count_is_rebuilt_within_the_cap(predictor):
    # 3e8 (ingest accepts up to 1e10) used to allocate a float per repost and crash the run
    huge = _snapshots([(1800, 300_000_000)], 3600)
    v = view(huge)
    assert v.observed == 300_000_000 and len(v.arrivals) <= MAX_REBUILT
    e = predictor.predict(huge)
    assert e.observed <= e.low <= e.predicted <= e.high and np.isfinite(e.high)
    assert e.p_viral == 1.0


def test_rebuilt_counts_at_the_cap_are_exact():
    v = view(_snapshots([(1800, MAX_REBUILT)], 3600))
    assert v.weight == 1.0 and len(v.arrivals) == MAX_REBUILT


def test_weighted_arrivals_keep_the_shape_of_the_counts(predictor):
    # the same cascade at 100x: its shares and timing features are those at 1x
    shape = [(1200, 100), (2400, 400), (3000, 1000)]
    small = predictor.features(_snapshots([(t, c * 100) for t, c in shape], 3600))
    big = predictor.features(_snapshots([(t, c * 10_000) for t, c in shape], 3600))
    for name in ("share_second_half", "share_last_quarter", "hours_since_last"):
        i = FEATURES.index(name)
        assert big[i] == pytest.approx(small[i], rel=1e-6)
    for name in ("log_last30", "log_last60", "log_seismic"):
        i = FEATURES.index(name)
        assert big[i] == pytest.approx(small[i] + np.log(100), abs=0.01)


@pytest.mark.parametrize("skew", [0, 600, 1400, 1700])
def test_a_platform_clock_ahead_of_ours_keeps_the_velocity(predictor, skew):
    # created_at inside the last 10 minutes used to count every repost as recent (400)
    now = 100_000.0
    snaps = [(now - 1500, 50), (now - 600, 150), (now, 400)]
    e = predictor.predict(_snapshots(snaps, now, created_at=now - 1800 + skew))
    assert e.observed == 400 and e.velocity_per_10min == 250
