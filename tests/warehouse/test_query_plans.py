"""The queries the DAGs run every few minutes stay indexed as the warehouse grows.

Runs an hour of the real pipeline stages (ingest → score → spread → responses → escalate
→ deliver) against the simulator on loopback, captures every SELECT they issue, and asks
the database for its plan: on SQLite no full `SCAN` of a table, on PostgreSQL (with
sequential scans discouraged) no `Seq Scan`, except on tables that stay small by design.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import event

from alerts.channels import OutboxChannel
from alerts.responses import check_responses
from alerts.stage import deliver_pending, run_escalation
from ingest.run import ingest_source
from ingest.wechat import WeChatClient
from ingest.weibo import WeiboClient
from nlp.scorer import scorer_for_config
from nlp.stage import score_new_mentions
from simulator.server import Simulator
from spread.model import Predictor
from spread.stage import track_spread
from spread.tracking import enroll_scored
from yujing.clock import ManualClock
from yujing.config import load_config

# a handful of rows each, by design: silences ops add by hand, one cursor per search term
SMALL_TABLES = {"silences", "ingest_cursors"}


def _hot_selects(engine, tmp_path) -> list[tuple[str, object]]:
    config = load_config()
    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    seen: dict[str, tuple[str, object]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.setdefault(re.sub(r"\s+", " ", statement), (statement, parameters))

    outbox = OutboxChannel(tmp_path, echo=False)
    with Simulator(config, clock=clock) as sim:
        weibo = WeiboClient(sim.weibo_url, sim.token, sleep=lambda s: None)
        wechat = WeChatClient(sim.wechat_url, sim.token, sleep=lambda s: None)
        scorer, predictor = scorer_for_config(config), Predictor.load()
        for _ in range(12):
            clock.advance(300)
            ingest_source(engine, config, weibo, "weibo", clock)
            ingest_source(engine, config, wechat, "wechat", clock)
            score_new_mentions(engine, scorer, clock, on_scored=enroll_scored)
            track_spread(engine, config, clock, predictor, weibo=weibo, wechat=wechat)
            check_responses(engine, config, clock, weibo)
            run_escalation(engine, config, clock)
            deliver_pending(engine, config, clock, {r.name: outbox for r in config.receivers})
    event.remove(engine, "before_cursor_execute", capture)
    return list(seen.values())


def test_hot_queries_use_indexes(warehouse, tmp_path):
    selects = _hot_selects(warehouse, tmp_path)
    assert len(selects) > 10  # the stages really ran
    unindexed = []
    with warehouse.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in selects:
            if postgres:
                plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params)]
                scans = re.findall(r"Seq Scan on (\w+)", "\n".join(plan))
            else:
                plan = [
                    r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
                ]
                scans = [
                    m.group(1)
                    for line in plan
                    if (m := re.match(r"SCAN (\w+)", line)) and "USING" not in line
                ]
            big = [t for t in scans if t not in SMALL_TABLES]
            if big:
                unindexed.append((big, statement[:200]))
    assert not unindexed, unindexed
