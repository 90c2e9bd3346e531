"""When an incident crossed the viral line is read from its post's snapshots, not from the
run that first noticed it.

A reviewer found `crossed_viral_at` set to the evaluation's `now`: a post already past the
line when first seen counted as "alerted 0 min after going viral", and a post that crossed
between two snapshots had its crossing moved to the next run, adding up to a run's worth
of lead time to every alert in v_alert_outcomes. The crossing is now interpolated between
the last snapshot below the line and the first at or above it; a post over the line at its
first snapshot crossed before it was seen: its crossing is that snapshot's time, flagged,
and the views give it no lead time (an unknown, not a small number)."""

from __future__ import annotations

import datetime as dt

import pytest
from alert_fixtures import T0, Recorder, mechanics_config
from sqlalchemy import select, text

from alerts.digest import lead_time_text
from alerts.engine import Evidence, evaluate, viral_crossing
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import incidents

CONFIG = mechanics_config()  # watch p≥0.15, warning p≥0.35, critical p≥0.6; line 1,000
LINE = CONFIG.thresholds.viral_reposts
MIN = dt.timedelta(minutes=1)


def _crossing(world):
    with world.engine.connect() as conn:
        return conn.execute(
            select(incidents.c.crossed_viral_at, incidents.c.crossed_before_seen)
        ).one()


def _outcome(world):
    with world.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT went_viral, lead_minutes, crossed_before_seen, first_alert_at "
            "FROM v_alert_outcomes"
        )).one()  # fmt: skip
    return int(row[0]), row[1], row[2], row[3]


def _deliver(world, clock):
    deliver_pending(world.engine, CONFIG, clock, {r.name: Recorder() for r in CONFIG.receivers})


def test_viral_crossing_interpolates_between_the_snapshots_around_the_line():
    points = [(T0, 200), (T0 + 10 * MIN, 600), (T0 + 30 * MIN, 1400), (T0 + 40 * MIN, 1800)]
    assert viral_crossing(points, 1000) == (T0 + 20 * MIN, False)
    assert viral_crossing(points, 1400) == (T0 + 30 * MIN, False)  # a snapshot on the line
    assert viral_crossing(points, 5000) is None
    # already over the line at the first snapshot: that snapshot, crossed before seen
    assert viral_crossing([(T0, 1200), (T0 + 5 * MIN, 1300)], 1000) == (T0, True)
    # unordered input, and a recount dipping below the line after crossing
    shuffled = [(T0 + 30 * MIN, 1400), (T0, 600), (T0 + 40 * MIN, 990)]
    assert viral_crossing(shuffled, 1000) == (T0 + 15 * MIN, False)
    assert viral_crossing([], 1000) is None


def _ev(observed, **kw):
    return Evidence("mumu", "weibo", "1", observed, observed * 3.0, observed * 2.0,
                    observed * 5.0, 0.7, 100.0, categories=("safety",), **kw)  # fmt: skip


def test_the_engine_takes_the_posts_crossing_not_its_own_clock():
    now = T0 + 60 * MIN
    state, _ = evaluate(CONFIG, None, _ev(500), T0)
    assert state.crossed_viral_at is None and state.crossed_before_seen is None
    crossed = _ev(1400, crossed_at=T0 + 42 * MIN, crossed_before_seen=False)
    state, _ = evaluate(CONFIG, state, crossed, now)
    assert (state.crossed_viral_at, state.crossed_before_seen) == (T0 + 42 * MIN, False)
    later, _ = evaluate(CONFIG, state, _ev(1500, crossed_at=now), now + 5 * MIN)
    assert later.crossed_viral_at == T0 + 42 * MIN  # crossed once
    opened, _ = evaluate(CONFIG, None, _ev(1500, crossed_at=T0, crossed_before_seen=True), now)
    assert (opened.crossed_viral_at, opened.crossed_before_seen) == (T0, True)


def test_a_post_crossing_between_two_runs_crossed_between_its_snapshots(world, clock):
    world.post("1", observed=600, p=0.7, velocity=100)  # a snapshot and an estimate at T0
    run_escalation(world.engine, CONFIG, clock)
    _deliver(world, clock)  # the first alert: T0
    clock.advance(30 * MIN)
    world.estimate("1", clock.now(), 1400, 1.0, velocity=150)
    run_escalation(world.engine, CONFIG, clock)
    at, before_seen = _crossing(world)
    assert (at, before_seen) == (T0 + 15 * MIN, False)  # 600 → 1,400: 1,000 half way
    went_viral, lead, flag, first = _outcome(world)
    assert (went_viral, flag) == (1, 0)
    assert lead == pytest.approx(15.0)  # alerted at T0, 15 minutes before it crossed
    clock.advance(5 * MIN)  # crossed once: a later run does not move it
    world.estimate("1", clock.now(), 1600, 1.0, velocity=40)
    run_escalation(world.engine, CONFIG, clock)
    assert _crossing(world) == (T0 + 15 * MIN, False)


def test_a_post_over_the_line_when_first_seen_has_no_lead_time(world, clock):
    world.post("1", observed=1500, p=1.0, velocity=200)  # first seen at T0, over the line
    clock.advance(5 * MIN)  # the escalation run that notices it comes later
    run_escalation(world.engine, CONFIG, clock)
    _deliver(world, clock)
    at, before_seen = _crossing(world)
    assert (at, bool(before_seen)) == (T0, True)  # its first snapshot, not the run's clock
    went_viral, lead, flag, first = _outcome(world)
    assert (went_viral, flag, lead) == (1, 1, None)  # went viral; lead time unknown
    assert first is not None
    with world.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT event, lead_minutes, crossed_before_seen FROM v_incident_timeline "
            "WHERE event IN ('opened', 'crossed_viral')"
        )).all()  # fmt: skip
    assert sorted((r[0], r[1], r[2]) for r in rows) == [
        ("crossed_viral", None, 1),
        ("opened", None, 1),
    ]


def test_the_digest_says_a_post_crossed_before_it_was_seen():
    incident = {
        "platform": "weibo",
        "first_alert_at": T0 + 5 * MIN,
        "crossed_viral_at": T0,
        "crossed_before_seen": True,
    }
    said = lead_time_text(incident, LINE, "Asia/Shanghai")
    assert "min after" not in said and "before" in said and "first seen" in said
    incident["crossed_before_seen"] = False
    assert lead_time_text(incident, LINE, "Asia/Shanghai").startswith("alerted 5 min after")
