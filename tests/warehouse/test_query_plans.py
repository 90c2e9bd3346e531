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


# --- the scoring lookup reads what is new, not the whole history --------------------------


class _Fixed:
    """A stand-in scorer: the lookup's cost is under test, not the model's."""

    model_version = "plan-test"

    def score_batch(self, texts):
        from nlp.scorer import Score

        return [Score(0.5) for _ in texts]


def _mention_row(i: int, brand: str, at: dt.datetime) -> dict:
    return {
        "platform": "weibo",
        "post_id": str(7 * 10**15 + i),
        "brand": brand,
        "text": "沐沐奶粉结块了",
        "created_at": at,
        "raw": "{}",
        "ingested_at": at,
        "author_verified": False,
        "is_competitor": False,
    }


def _add_mentions(engine, start: int, n: int, at, spread_s: float, model: str | None) -> None:
    from warehouse.schema import mentions, scores

    brands = ("mumu", "xingchen", "kuaixian")
    rows = [
        _mention_row(start + k, brands[k % 3], at + dt.timedelta(seconds=k * spread_s / max(n, 1)))
        for k in range(n)
    ]
    with engine.begin() as conn:
        for i in range(0, n, 5000):
            conn.execute(mentions.insert(), rows[i : i + 5000])
            if model:
                conn.execute(
                    scores.insert(),
                    [
                        {"platform": r["platform"], "post_id": r["post_id"],
                         "model_version": model, "sentiment": 0.5, "negative": False,
                         "complaint": False, "categories": "[]", "signals": "[]",
                         "scored_at": r["ingested_at"]}
                        for r in rows[i : i + 5000]
                    ],
                )  # fmt: skip


def _work(conn, statement: str, params) -> int:
    """What running `statement` costs the database, a count that grows with what it reads:
    on PostgreSQL the rows its scans of mentions and scores produce or filter out (EXPLAIN
    ANALYZE, real statistics, sequential scans allowed); on SQLite the virtual machine
    instructions it executes (a progress handler called at every one)."""
    if conn.dialect.name == "postgresql":
        (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).one()
        total, stack = 0, [plan[0]["Plan"]]
        while stack:
            node = stack.pop()
            stack += node.get("Plans", [])
            if node.get("Relation Name") in ("mentions", "scores"):
                read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
                total += read * node["Actual Loops"]
        return total
    raw = conn.connection.driver_connection
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0

    raw.set_progress_handler(step, 1)
    try:
        raw.execute(statement, params).fetchall()
    finally:
        raw.set_progress_handler(None, 1)
    return steps[0]


def _lookup_work(engine, run) -> tuple[object, int]:
    """`run()`'s result and the summed work of every mentions lookup it issued, each
    measured just before it ran."""
    work = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def measure(conn, cursor, statement, parameters, context, executemany):
        flat = re.sub(r"\s+", " ", statement).upper()
        if flat.lstrip().startswith("SELECT") and "FROM MENTIONS" in flat and not executemany:
            work[0] += _work(conn, statement, parameters)

    try:
        return run(), work[0]
    finally:
        event.remove(engine, "before_cursor_execute", measure)


def _score_run(engine, clock) -> int:
    """One scoring run as the DAG makes it (a task per brand): the posts scored."""
    from nlp.stage import score_new_mentions

    return sum(
        score_new_mentions(engine, _Fixed(), clock, brand=b)["scored"]
        for b in ("mumu", "xingchen", "kuaixian")
    )


def _analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE mentions; ANALYZE scores")


def test_a_scoring_run_reads_what_is_new_not_the_history(warehouse):
    """Every 5 minutes a scoring run finds a few dozen new posts among all the history. What
    it reads must not grow with the history: 10x more stored (and scored) mentions, the
    same 30 new ones, about the same work. A first run (no cursor yet: a new model version)
    reads everything once, and the measurement sees that growth."""
    from nlp.stage import unscored

    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    work, unbounded, done = {}, {}, 0
    for size in (2_000, 20_000):
        # history: ingested over the past 30 days, already scored by this model version
        _add_mentions(
            warehouse,
            done,
            size - done,
            clock.now() - dt.timedelta(days=30),
            29 * 86400,
            "plan-test",
        )
        done = size
        _analyze(warehouse)
        # steady state: runs every 5 minutes, each finding the posts ingested since the last
        for _ in range(3):
            clock.advance(300)
            _add_mentions(warehouse, done, 30, clock.now() - dt.timedelta(seconds=60), 50, None)
            done += 30
            # what the old lookup read (every run's, now a daily sweep's or a new model's)
            _, unbounded[size] = _lookup_work(
                warehouse, lambda: unscored(warehouse, "plan-test", 1000, "mumu")
            )
            scored, work[size] = _lookup_work(warehouse, lambda: _score_run(warehouse, clock))
            assert scored == 30
        clock.advance(3 * 3600)  # what the next size's runs find is theirs alone
    growth = work[20_000] / work[2_000]
    assert unbounded[20_000] / unbounded[2_000] > 4, (unbounded, "the measure sees history")
    assert growth < 1.5, (work, unbounded)


def test_a_batch_of_a_large_backlog_reads_one_batch(warehouse):
    """After an outage the window holds a backlog: each batch must read about its own
    rows (the window in index order), not sort the whole backlog again for every batch."""
    from nlp.stage import score_new_mentions

    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    score_new_mentions(warehouse, _Fixed(), clock, brand="mumu")  # the cursor
    first_batch, done = {}, 0
    for backlog in (300, 3_000):
        clock.advance(3 * 3600)  # the earlier backlog is behind the cursor after this run
        score_new_mentions(warehouse, _Fixed(), clock, brand="mumu")
        clock.advance(300)
        _add_mentions(warehouse, done, backlog, clock.now() - dt.timedelta(seconds=200), 100, None)
        done += backlog
        _analyze(warehouse)
        seen = []

        @event.listens_for(warehouse, "before_cursor_execute")
        def measure(conn, cursor, statement, parameters, context, executemany, seen=seen):
            flat = re.sub(r"\s+", " ", statement).upper()
            if flat.startswith("SELECT") and "FROM MENTIONS" in flat and not seen:
                seen.append(_work(conn, statement, parameters))

        try:
            score_new_mentions(warehouse, _Fixed(), clock, brand="mumu", batch_size=50)
        finally:
            event.remove(warehouse, "before_cursor_execute", measure)
        first_batch[backlog] = seen[0]
    assert first_batch[3_000] < 2 * first_batch[300], first_batch
