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


def test_a_brand_back_in_the_config_after_days_does_not_fetch_its_whole_absence(
    warehouse, config, clock
):
    """星辰汽车 watched for an hour, taken out of the config, put back five days later:
    its terms' cursors were five days old, so the first run fetched every post of the
    five days (months, for a brand back after months: the search quota, and old posts
    stored as new mentions). No window reaches further back than
    `thresholds.ingest_max_catchup_hours` (72); the run says so in a WARNING."""
    with Simulator(config, seed=4, clock=clock, span_hours=24 * 6, rate=3) as sim:
        weibo, _ = make_clients(sim)
        clock.advance(dt.timedelta(hours=1))
        ingest_source(warehouse, config, weibo, "weibo", clock, brands=["xingche"])
        first = stored(warehouse, "weibo")
        clock.advance(dt.timedelta(days=5))
        result = ingest_source(warehouse, config, weibo, "weibo", clock, brands=["xingche"])
        cutoff = clock.now() - dt.timedelta(hours=config.thresholds.ingest_max_catchup_hours)
        got = {m for m in stored(warehouse, "weibo") - first if m[2] == "xingche"}
        expected = {m for m in sim.expected_mentions("weibo") if m[2] == "xingche"}
        when = {m: sim.at(sim.by_id[m[1]].story_at) for m in expected}
        assert got and all(when[m] >= cutoff - dt.timedelta(seconds=1) for m in got)
        assert {m for m in expected if when[m] >= cutoff} <= got | first
        assert any(when[m] < cutoff for m in expected - got - first)  # the absence: not fetched
        assert result["caught_up_from"] == cutoff.isoformat()
