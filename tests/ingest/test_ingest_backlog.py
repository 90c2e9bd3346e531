"""Backlogs: a window that takes more calls than the platform allows a run (a first run,
a token outage over a night, a brand back in the config) is caught up over later runs,
newest posts first, without re-reading what earlier runs stored."""

from __future__ import annotations

import datetime as dt

from conftest import make_clients, stored

from ingest.run import BACKLOG_QUERY, ingest_source, search_terms
from simulator.server import Simulator
from warehouse.cursors import cursor_queries


def test_a_backlog_bigger_than_a_runs_quota_is_caught_up_over_later_runs(warehouse, config, clock):
    """A day of posts, and the platform answers 20 searches a run before rate-limiting
    it: more than every term's new posts take, far less than the stalest term's day.
    The cursor moved only when a whole window was stored, so every run re-read the
    newest pages of that same term until the limit, and neither it nor any term after it
    (the other brands too) ever caught up: nothing new was stored for hours. Now what a
    cut-short window stored is kept and the rest is a backlog span, fetched after every
    term's new posts, run by run."""
    with Simulator(config, seed=2, clock=clock, search_cap=60, rate=30) as sim:
        weibo, _ = make_clients(sim)
        weibo.page_size, weibo.search_cap = 20, 60
        clock.advance(dt.timedelta(hours=24))
        runs = []
        for _ in range(20):
            sim.set_faults(rate_limit=1, after=20, only="search", retry_after=1)
            result = ingest_source(
                warehouse, config, weibo, "weibo", clock, lookback=dt.timedelta(days=2)
            )
            runs.append(result)
            if stored(warehouse, "weibo") == sim.expected_mentions("weibo"):
                break
            clock.advance(dt.timedelta(minutes=5))
        assert stored(warehouse, "weibo") == sim.expected_mentions("weibo")
        assert len(runs) < 20 and runs[0]["rate_limited"] and runs[0]["backlog_added"]
        # while the backlog was fetched, every term's new posts came first
        caught_up = next(i for i, r in enumerate(runs) if r["queries"] == len(search_terms(config)))
        assert all(r["queries"] == r["queries_total"] for r in runs[caught_up:])
        assert any(r["rate_limited"] for r in runs[caught_up:])  # the backlog took the rest
        with warehouse.connect() as conn:
            assert cursor_queries(conn, "weibo", BACKLOG_QUERY) == []
