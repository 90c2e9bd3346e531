"""The check schedule: which tracked posts a spread run takes, and how it records them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from spread.tracking import COOLING, DEAD, HOT, due_posts, reschedule_many
from warehouse.schema import tracked_posts

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
