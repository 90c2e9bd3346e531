"""A platform outage is not quiet: an incident resolves only on counts that show it calmed
down, never because its platform stopped answering (the spread stage then makes no new
estimate and the old one stands). The spread stage and the escalation stage run for real
on the warehouse; the platform is a stand-in whose API calls fail while it is "down" (the
refresh's own handling of a real failing API is tested against the simulator in
tests/ingest/test_vendor_answers.py)."""

from __future__ import annotations

import datetime as dt

from alert_fixtures import mechanics_config

from alerts.stage import run_escalation
from ingest.errors import RateLimited, SourceError
from spread.model import Estimate
from spread.stage import track_spread

CONFIG = mechanics_config()  # warning: P(viral) ≥ 0.35
RUN = dt.timedelta(minutes=10)


class Weibo:
    """Repost counts by post id; every call fails while `down`."""

    def __init__(self, reposts: dict[str, int]):
        self.reposts, self.down = reposts, False

    def _answer(self):
        if self.down:
            raise SourceError("weibo answered HTTP 503 three times")

    def counts(self, ids):
        self._answer()
        return [  # a deleted post is left out, as statuses/count.json does
            {"idstr": i, "reposts": self.reposts[i], "comments": 0, "attitudes": 0}
            for i in ids
            if i in self.reposts
        ]

    def repost_timeline(self, post_id, **kwargs):
        self._answer()
        return []


class Steady:
    """Stand-in for the spread model: the newest count, at a warning-level P(viral)."""

    model_version = "steady"

    def predict_many(self, observations):
        out = []
        for obs in observations:
            n = obs.count_snapshots[-1][1] if obs.count_snapshots else 0
            out.append(Estimate(n, 3.0 * n, 2.0 * n, 5.0 * n, 0.4, 0.0, self.model_version))
        return out


def _run(world, clock, weibo) -> dict:
    clock.advance(RUN)
    spread = track_spread(world.engine, CONFIG, clock, Steady(), weibo=weibo)
    return {"spread": spread, **run_escalation(world.engine, CONFIG, clock)}


def test_an_incident_stays_open_while_its_platform_is_down(world, clock):
    world.post("1", p=0.4, observed=300, velocity=5.0, categories=(), signals=())
    assert run_escalation(world.engine, CONFIG, clock)["opened"] == 1
    weibo = Weibo({"1": 300})
    weibo.down = True
    for _ in range(18):  # three hours of outage, past the 120 quiet minutes
        result = _run(world, clock, weibo)
        assert result["spread"]["unmeasured"] == 1 and result["resolved"] == 0
    assert world.incidents()[0]["status"] == "open"

    weibo.down = False  # back, and the counts show it did not grow: quiet, as measured
    assert _run(world, clock, weibo)["resolved"] == 1
    (incident,) = world.incidents()  # one incident, not "resolved" then a new one
    assert incident["status"] == "resolved" and not incident["incident_id"].endswith("-2")
    assert world.incidents()[0]["status"] == "resolved"


def test_counts_that_stay_flat_resolve_it_after_the_quiet_time(world, clock):
    world.post("1", p=0.4, observed=300, velocity=5.0, categories=(), signals=())
    run_escalation(world.engine, CONFIG, clock)
    weibo = Weibo({"1": 300})
    resolved_after = None
    for run in range(1, 19):
        if _run(world, clock, weibo)["resolved"]:
            resolved_after = run * RUN
            break
    assert resolved_after == dt.timedelta(minutes=120)


def test_growth_seen_after_the_outage_keeps_it_open(world, clock):
    world.post("1", p=0.4, observed=300, velocity=5.0, categories=(), signals=())
    run_escalation(world.engine, CONFIG, clock)
    weibo = Weibo({"1": 300})
    weibo.down = True
    for _ in range(15):
        _run(world, clock, weibo)
    weibo.down, weibo.reposts["1"] = False, 420  # it grew while nobody could see
    assert _run(world, clock, weibo)["resolved"] == 0
    for _ in range(11):  # quiet again, as measured, for less than 120 minutes
        assert _run(world, clock, weibo)["resolved"] == 0
    assert _run(world, clock, weibo)["resolved"] == 1
    (incident,) = world.incidents()  # one incident, not "resolved" then a new one
    assert incident["status"] == "resolved" and not incident["incident_id"].endswith("-2")


def test_a_deleted_post_is_quiet(world, clock):
    # a deleted post gets no counts either, but its platform answered (without it): it is
    # gone, not unknown, and its incident resolves after the quiet time as before (held as
    # unmeasured it stayed open a day, a critical one reminding every hour)
    world.post("1", p=0.4, observed=300, velocity=5.0, categories=(), signals=())
    run_escalation(world.engine, CONFIG, clock)
    weibo = Weibo({})
    resolved_after = None
    for run in range(1, 19):
        result = _run(world, clock, weibo)
        assert result["spread"]["unmeasured"] == 0
        if result["resolved"]:
            resolved_after = run * RUN
            break
    assert resolved_after == dt.timedelta(minutes=120)


def test_a_post_a_rate_limit_kept_from_being_asked_about_is_unmeasured(world, clock):
    world.post("1", p=0.4, observed=300, velocity=5.0, categories=(), signals=())
    run_escalation(world.engine, CONFIG, clock)

    class Limited(Weibo):
        def counts(self, ids):
            raise RateLimited("weibo: user requests out of rate limit")

    for _ in range(18):
        result = _run(world, clock, Limited({"1": 300}))
        assert result["spread"]["unmeasured"] == 1 and result["resolved"] == 0
