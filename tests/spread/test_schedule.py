"""The check schedule: which tracked posts a spread run takes, and how it records them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from spread.model import Estimate
from spread.stage import track_spread
from spread.tracking import COOLING, DEAD, HOT, due_posts, reschedule_many
from warehouse.schema import metric_snapshots, spread_estimates, tracked_posts
from yujing.clock import ManualClock
from yujing.config import load_config

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def _row(post_id: str, state: str, due_minutes_ago: int) -> dict:
    return {
        "platform": "weibo",
        "post_id": post_id,
        "brand": "acme",
        "state": state,
        "created_at": NOW - dt.timedelta(hours=2),
        "tracked_since": NOW - dt.timedelta(hours=2),
        "next_check_at": NOW - dt.timedelta(minutes=due_minutes_ago),
    }


def test_oldest_due_first_across_states_within_the_budget(warehouse):
    rows = [
        _row("hot-old", HOT, 50),
        _row("cool-older", COOLING, 60),
        _row("hot-new", HOT, 5),
        _row("cool-mid", COOLING, 30),
        _row("dead", DEAD, 90),  # never checked again
        _row("hot-future", HOT, -10),  # not due yet
        _row("cool-future", COOLING, -1),
    ]
    with warehouse.begin() as conn:
        conn.execute(insert(tracked_posts), rows)

    every = [p.post_id for p in due_posts(warehouse, NOW)]
    assert every == ["cool-older", "hot-old", "cool-mid", "hot-new"]
    # A budget smaller than the backlog takes the oldest due, whichever state they are in.
    assert [p.post_id for p in due_posts(warehouse, NOW, limit=3)] == every[:3]
    assert [p.post_id for p in due_posts(warehouse, NOW, limit=1)] == ["cool-older"]


def test_reschedule_many_records_each_outcome_and_nothing_else(warehouse):
    with warehouse.begin() as conn:
        conn.execute(insert(tracked_posts), [_row(f"p{i}", HOT, 10) for i in range(4)])
    due = due_posts(warehouse, NOW)
    later = NOW + dt.timedelta(minutes=30)
    outcomes = [
        (due[0], HOT, NOW, NOW),
        (due[1], COOLING, later, None),
        (due[2], DEAD, later, NOW - dt.timedelta(hours=1)),
    ]
    with warehouse.begin() as conn:
        reschedule_many(conn, outcomes, NOW)
        reschedule_many(conn, [], NOW)  # an empty run writes nothing

    with warehouse.connect() as conn:
        got = {
            r.post_id: (r.state, r.next_check_at, r.last_checked_at, r.last_growth_at)
            for r in conn.execute(select(tracked_posts))
        }
    assert got[due[0].post_id] == (HOT, NOW, NOW, NOW)
    assert got[due[1].post_id] == (COOLING, later, NOW, None)
    assert got[due[2].post_id] == (DEAD, later, NOW, NOW - dt.timedelta(hours=1))
    untouched = due[3].post_id
    assert got[untouched] == (HOT, NOW - dt.timedelta(minutes=10), None, None)
    # The hot post is due again at once; the others are not.
    assert [p.post_id for p in due_posts(warehouse, NOW)] == [untouched, due[0].post_id]


class TickingClock(ManualClock):
    """Moves a second at every reading, as a real clock does between two reads
    (ManualClock never moves, which hid a run reading `now` before its own refresh)."""

    def now(self) -> dt.datetime:
        return self.advance(1.0)


class SlowWeibo:
    """Stand-in for the platform: each call takes `call_s` seconds of the shared clock (as
    a real API call does), and returns the repost counts in `reposts`."""

    def __init__(self, clock: TickingClock, reposts: dict[str, int], call_s: float = 2.0):
        self.clock, self.reposts, self.call_s = clock, reposts, call_s
        self.calls: dict[str, int] = {}

    def _call(self, post_id: str) -> None:
        self.clock.advance(self.call_s)
        self.calls[post_id] = self.calls.get(post_id, 0) + 1

    def counts(self, ids):
        for i in ids:
            self._call(i)
        return [
            {"idstr": i, "reposts": self.reposts[i], "comments": 0, "attitudes": 0} for i in ids
        ]

    def repost_timeline(self, post_id, **kwargs):
        self._call(post_id)
        return []


class LastCount:
    """Stand-in for the model: observes the newest count it is given; viral at 1,000."""

    model_version = "last-count"

    def predict_many(self, observations):
        out = []
        for obs in observations:
            n = obs.count_snapshots[-1][1] if obs.count_snapshots else 0
            p = 1.0 if n >= 1000 else 0.0
            out.append(Estimate(n, float(n), float(n), float(n), p, 0.0, self.model_version))
        return out


def _seed(engine, post_id, state, created_at, last_growth_at, count, at):
    with engine.begin() as conn:
        conn.execute(
            insert(tracked_posts),
            {
                **_row(post_id, state, 1),
                "created_at": created_at,
                "tracked_since": created_at,
                "last_growth_at": last_growth_at,
            },
        )
        conn.execute(
            insert(metric_snapshots),
            {"platform": "weibo", "post_id": post_id, "observed_at": at, "reposts": count},
        )
        conn.execute(
            insert(spread_estimates),
            {
                "platform": "weibo",
                "post_id": post_id,
                "estimated_at": at,
                "model_version": "last-count",
                "observed": count,
                "predicted": count,
                "low": count,
                "high": count,
                "p_viral": 0.0,
                "velocity_per_10min": 0.0,
            },
        )


def _states(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(tracked_posts.c.post_id, tracked_posts.c.state)).all())


def test_a_run_estimates_from_the_counts_it_just_fetched(warehouse):
    """The refresh stamps its snapshots with its own reading of the clock; a `now` read
    before it hid them, so the post below (quiet for 25 h, now at 500) was declared dead."""
    clock = TickingClock(NOW)
    ago = NOW - dt.timedelta(minutes=30)
    _seed(warehouse, "p1", COOLING, NOW - dt.timedelta(hours=30), NOW - dt.timedelta(hours=25),
          10, ago)  # fmt: skip
    weibo = SlowWeibo(clock, {"p1": 500})

    result = track_spread(warehouse, load_config(), clock, LastCount(), weibo=weibo)

    assert clock.now() > NOW  # the refresh took time
    assert result["refreshed"]["weibo_counts"] == 1 and result["hot"] == 1
    with warehouse.connect() as conn:
        fetched = conn.execute(
            select(metric_snapshots.c.observed_at).where(metric_snapshots.c.reposts == 500)
        ).scalar_one()
        latest = conn.execute(
            select(spread_estimates.c.estimated_at, spread_estimates.c.observed)
            .order_by(spread_estimates.c.estimated_at.desc())
            .limit(1)
        ).one()
        growth = conn.execute(select(tracked_posts.c.last_growth_at)).scalar_one()
    assert latest.observed == 500 and latest.estimated_at >= fetched
    assert _states(warehouse) == {"p1": HOT} and growth == latest.estimated_at


def test_old_viral_posts_are_dropped_young_ones_stay_hot(warehouse):
    """Past the horizon plus the margin a post is checked once more, then never again
    (a 10-day-old viral post trickling reposts stayed hot, 2 API calls every run);
    a young viral post that keeps growing is checked every run."""
    clock = TickingClock(NOW)
    ago = NOW - dt.timedelta(minutes=5)
    _seed(warehouse, "old", HOT, NOW - dt.timedelta(days=10), NOW - dt.timedelta(hours=20),
          5000, ago)  # fmt: skip
    _seed(warehouse, "young", HOT, NOW - dt.timedelta(hours=3), ago, 1500, ago)
    weibo = SlowWeibo(clock, {"old": 5001, "young": 1500})

    for _ in range(4):
        weibo.reposts["young"] += 50
        track_spread(warehouse, load_config(), clock, LastCount(), weibo=weibo)
        clock.advance(300)

    assert _states(warehouse) == {"old": DEAD, "young": HOT}
    assert weibo.calls["old"] == 2  # one check (counts + timeline), then dropped
    assert weibo.calls["young"] == 8  # every run
