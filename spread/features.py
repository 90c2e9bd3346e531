"""What a tracker can know about a post's spread at the observation time, as model features.

Everything here starts from an `Observation` and drops whatever is later than
`observe_at` first, so no feature can see the future. Three kinds of evidence are handled
by the same code, so the one trained model serves them all:

- a Weibo repost timeline with each reposter's followers;
- a timeline without followers (e.g. DeepHawkes-style data: reach features are missing);
- count snapshots alone (WeChat 在看, or Weibo when the timeline is unavailable): arrival
  times are reconstructed by spreading each snapshot's increment evenly over its interval
  and reach features are missing. The training script feeds the model all three.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spread import seismic
from spread.kernel import Kernel

KOL_FOLLOWERS = 100_000
BIG_FOLLOWERS = 10_000
DEFAULT_FOLLOWERS = 300.0  # a typical reposter (the corpus median is about 200)
LOCAL_UTC_OFFSET = 8 * 3600  # China Standard Time: the circadian rhythm of Weibo
MIN_AGE = 60.0  # an observation younger than a minute (or before posting) is treated as 1 min
# Snapshot-only posts are rebuilt as at most this many arrivals, each standing for
# `View.weight` reposts: one float per repost ran out of memory at 2e7 (ingest takes counts
# up to 1e10). Far above the largest training cascade (4,263 reposts), so every count the
# model was fitted on is rebuilt exactly as before (weight 1).
MAX_REBUILT = 100_000


@dataclass(frozen=True)
class View:
    """An observation reduced to arrays relative to the post's creation (seconds)."""

    age: float  # seconds since posting, at least MIN_AGE
    observed: int  # reposts seen (timeline length or the last snapshot count)
    arrivals: np.ndarray  # sorted arrival ages of the reposts (reconstructed for snapshots)
    followers: np.ndarray | None  # each reposter's followers, None when unknown
    timeline: bool  # arrivals are real (False: rebuilt from snapshots)
    root_followers: float | None
    verified: bool
    created_at: float
    last10: float  # reposts in the last 10 minutes (the velocity the stage stores)
    weight: float = 1.0  # reposts each arrival stands for (> 1 only for huge rebuilt counts)


def _snapshots(obs, observe_at: float) -> tuple[np.ndarray, np.ndarray]:
    """Snapshot times and counts, non-decreasing, the latest trusted count last.

    A count below the peak so far is one of two things. A platform recount (reposts
    removed) stays below the old peak: once a later reading confirms it, it is a new
    baseline, earlier counts are lowered to it and growth after it shows as growth
    (holding the old peak hid every repost below it). A glitch (a 0 from a hiccup) is
    followed by a reading back at or above the peak: it is dropped, or it would read as a
    burst of reposts. A drop in the latest reading is not confirmed yet and is left out
    until the next one. Non-decreasing counts are returned unchanged.
    """
    snaps = [
        (float(t), float(c))
        for t, c in (obs.count_snapshots or [])
        if t is not None and c is not None and math.isfinite(float(t)) and float(t) <= observe_at
    ]
    if not snaps:
        return np.zeros(0), np.zeros(0)
    snaps.sort()
    ts = np.array([s[0] for s in snaps])
    cs = np.maximum(np.array([s[1] for s in snaps]), 0.0)
    if np.all(np.diff(cs) >= 0):
        return ts, cs
    later_max = np.r_[np.maximum.accumulate(cs[::-1])[::-1][1:], -np.inf]
    kept_t: list[float] = []
    kept_c: list[float] = []
    for t, c, later in zip(ts, cs, later_max, strict=True):
        peak = kept_c[-1] if kept_c else 0.0
        if c < peak:
            if later >= peak or later == -np.inf:  # a glitch, or a drop not yet confirmed
                continue
            kept_c = [min(k, c) for k in kept_c]  # a recount: the new baseline
        kept_t.append(t)
        kept_c.append(c)
    return np.array(kept_t), np.array(kept_c)


def _rebuild_arrivals(ts: np.ndarray, cs: np.ndarray, origin: float) -> tuple[np.ndarray, float]:
    """(arrival times spread evenly over each snapshot interval, reposts per arrival).

    Times are relative to `origin`. Above MAX_REBUILT reposts the counts are scaled down
    (rounded cumulatively, so no increment is lost) and each arrival stands for several.
    """
    weight = 1.0
    if len(cs) and cs[-1] > MAX_REBUILT:
        weight = float(cs[-1]) / MAX_REBUILT
        cs = np.floor(cs / weight + 0.5)
    out = []
    prev_t, prev_c = origin, 0.0
    for t, c in zip(ts, cs, strict=True):
        new = int(round(c - prev_c))
        if new > 0:
            start = min(prev_t, t)
            # the k-th new repost lands at (k + 0.5) / new of the interval
            out.append(start + (t - start) * (np.arange(new) + 0.5) / new)
        prev_t, prev_c = max(prev_t, t), max(prev_c, c)
    if not out:
        return np.zeros(0), weight
    return np.concatenate(out) - origin, weight


def view(obs) -> View:
    """Reduce an Observation to what was visible at `observe_at` (never anything later)."""
    created = float(obs.created_at)
    observe_at = float(obs.observe_at)
    age = max(observe_at - created, MIN_AGE)
    times = np.asarray(obs.repost_times if obs.repost_times is not None else [], dtype=float)
    raw_followers = obs.repost_followers if obs.repost_followers is not None else []
    known = len(times) > 0 and len(raw_followers) == len(times)
    followers = np.asarray(raw_followers, dtype=float) if known else None
    keep = np.isfinite(times) & (times <= observe_at)
    times = times[keep]
    if followers is not None:
        followers = np.maximum(np.nan_to_num(followers[keep], nan=DEFAULT_FOLLOWERS), 0.0)
    order = np.argsort(times, kind="stable")
    rel = np.clip(times[order] - created, 0.0, None)
    if followers is not None:
        followers = followers[order]
    snap_t, snap_c = _snapshots(obs, observe_at)
    snap_count = int(snap_c[-1]) if len(snap_c) else 0
    window = observe_at - 600.0
    weight = 1.0

    # the timeline is used when it is there and not clearly behind the counters
    if len(rel) and snap_count <= max(1.1 * len(rel), len(rel) + 5):
        observed = max(len(rel), snap_count)
        last10 = float(np.sum(times > window))
        arrivals, timeline = rel, True
    elif len(snap_t):
        observed = snap_count
        # a platform clock ahead of ours can put created_at after the first snapshots
        origin = min(created, float(snap_t[0]))
        before = float(np.interp(window, np.r_[origin, snap_t], np.r_[0.0, snap_c], left=0.0))
        last10 = max(observed - before, 0.0)
        (arrivals, weight), timeline = _rebuild_arrivals(snap_t, snap_c, created), False
        arrivals = np.clip(arrivals, 0.0, None)
        if followers is not None and len(followers) != len(arrivals):
            followers = None
    else:
        observed, last10, arrivals, timeline = 0, 0.0, np.zeros(0), True
    root = obs.author_followers
    return View(
        age=age,
        observed=int(observed),
        arrivals=arrivals,
        followers=followers if timeline else None,
        timeline=timeline,
        root_followers=float(root) if root is not None and root >= 0 else None,
        verified=bool(obs.author_verified),
        created_at=created,
        last10=last10,
        weight=weight,
    )


FEATURES = (
    "age_h",
    "log_observed",
    "log_last5",
    "log_last10",
    "log_last30",
    "log_last60",
    "accel_30",
    "share_second_half",
    "share_last_quarter",
    "hours_since_last",
    "first_delay_h",
    "tenth_delay_h",
    "log_root_followers",
    "verified",
    "followers_known",
    "timeline",
    "log_reach",
    "log_max_follower",
    "kols",
    "big_accounts",
    "mean_log_follower",
    "log_recent_reach",
    "log_p_hat",
    "log_p_recent",
    "log_seismic",
    "log_seismic_recent",
    "log_exposure",
    "log_remaining_exposure",
    "branching",
    "hour_posted",
    "hour_observed",
    "weekday_observed",
)


def seismic_inputs(v: View) -> tuple[np.ndarray, np.ndarray]:
    """Event times and exposures for SEISMIC: the original post first, then the reposts."""
    root = v.root_followers if v.root_followers is not None else DEFAULT_FOLLOWERS
    fol = v.followers if v.followers is not None else np.full(len(v.arrivals), DEFAULT_FOLLOWERS)
    return np.r_[0.0, v.arrivals], np.r_[max(root, 1.0), fol]


def feature_row(
    v: View, kernel: Kernel, n_star: float, horizon: float
) -> tuple[list[float], float]:
    """(features in FEATURES order, plain SEISMIC prediction at `horizon`)."""
    nan = float("nan")
    a = v.arrivals
    n = v.observed
    age = v.age
    w = v.weight

    def count_after(start: float) -> float:
        if v.timeline:
            return float(len(a) - np.searchsorted(a, start, side="right"))
        return float(np.sum(a > start)) * w

    last5, last30, last60 = count_after(age - 300), count_after(age - 1800), count_after(age - 3600)
    prev30 = max(last60 - last30, 0.0)
    half = count_after(age / 2)
    quarter = count_after(age * 3 / 4)
    times, fol = seismic_inputs(v)
    sz = seismic.summary(kernel, times, fol, age, horizon, n_star)
    if v.followers is not None and len(v.followers):
        f = v.followers
        reach = math.log1p(float(f.sum()))
        top = math.log1p(float(f.max()))
        kols = float(np.sum(f >= KOL_FOLLOWERS))
        big = float(np.sum(f >= BIG_FOLLOWERS))
        mean_log = float(np.mean(np.log1p(f)))
        recent = math.log1p(float(f[a > age - 3600].sum()))
    elif v.followers is not None:
        reach = top = mean_log = recent = 0.0
        kols = big = 0.0
    else:
        reach = top = kols = big = mean_log = recent = nan
    local_created = (v.created_at + LOCAL_UTC_OFFSET) % 86400 / 3600
    local_observed = (v.created_at + age + LOCAL_UTC_OFFSET) % 86400 / 3600
    weekday = ((v.created_at + age + LOCAL_UTC_OFFSET) // 86400 + 3) % 7  # 0 = Monday
    row = [
        age / 3600.0,
        math.log1p(n),
        math.log1p(last5),
        math.log1p(v.last10),
        math.log1p(last30),
        math.log1p(last60),
        math.log1p(last30) - math.log1p(prev30),
        half / n if n else nan,
        quarter / n if n else nan,
        (age - float(a[-1])) / 3600.0 if len(a) else age / 3600.0,
        float(a[0]) / 3600.0 if len(a) else nan,
        float(a[max(math.ceil(10 / w) - 1, 0)]) / 3600.0 if len(a) * w >= 10 else nan,
        math.log1p(v.root_followers) if v.root_followers is not None else nan,
        float(v.verified),
        float(v.followers is not None),
        float(v.timeline),
        reach,
        top,
        kols,
        big,
        mean_log,
        recent,
        math.log(sz.p_hat + 1e-9),
        math.log(sz.p_recent + 1e-9),
        # SEISMIC ran on the rebuilt arrivals: its counts and exposures scale with the weight
        math.log1p(sz.predicted * w),
        math.log1p(sz.predicted_recent * w),
        math.log1p(sz.exposure * w),
        math.log1p(sz.remaining * w),
        sz.branching,
        local_created,
        local_observed,
        float(weekday),
    ]
    return row, max(sz.predicted * w, float(n))
