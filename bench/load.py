"""Load: the whole pipeline's warehouse work at growing size, on SQLite and PostgreSQL.

    python bench/load.py [--sizes 10000,100000,1000000] [--snapshots 10]
                         [--pg postgresql+psycopg2://postgres@127.0.0.1:5432/test]
                         [--no-pg | --no-sqlite] [--profile] [--probe 30]

Real Weibo status JSON from the simulator (cloned with fresh ids) goes through the stages
the DAGs run, into one growing warehouse, up to each cumulative size in `--sizes`:

- ingest: the production page path (parse, brand match, mentions + first snapshot, one
  transaction per page);
- snapshots: `--snapshots - 1` more metric snapshots per mention, in the spread stage's
  write path (insert-or-ignore, one transaction per batch): 10 per mention by default,
  so 1M mentions means 10M snapshots;
- score: `score_new_mentions` with the production scorer (negatives enrolled for
  tracking in the same transaction, as in the DAG);
- spread: `track_spread` runs, a second apart, until every tracked post has been checked
  once (build observations from the stored snapshots, predict, store estimates; no API
  refresh: the clones are not on any server); items are the posts checked, including
  hot ones that came due again;
- escalate: `run_escalation` over the latest evidence.
- score/run: then, as in production every 5 minutes, one scoring run (a task per brand)
  finds `--probe` (30) posts ingested since the last run among the whole history (the
  bulk above is one call, which hides a per-run cost that grows with history). Printed,
  the median of 5 such runs: a run's time, and the same posts' lookups bounded by the
  scoring cursor beside the old unbounded lookup (every mention anti-joined against every
  score), measured in the same run on the same posts. The history is first made older than the cursor's settle
  time (clock advanced, one untimed run), as it is in a warehouse that has run for days.

On PostgreSQL the planner statistics are refreshed (ANALYZE, untimed) before each reading
stage, as autovacuum would on a production server: the local server runs with it off.

Prints seconds and items/s per stage at each size, the process's peak memory so far, and
per stage the cost per item at the largest size over the smallest (1.0x = linear growth).
The baseline is the same stage at the smallest size, measured in the same run. For the
per-run scoring cost it prints the cost at the largest size over the smallest (1.0x =
independent of history) for the run, its bounded lookups and the old lookup.

`--profile` runs spread and escalate under cProfile (slower: read its ratios, not its
rates) and prints, per size, Python function calls per item and the functions with the
most own time: a cost that grows with the warehouse shows as more calls per item, or as
one function's share growing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import resource
import sys
import time
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGES = ("ingest", "snapshots", "score", "spread", "escalate")
PROBE_PARTS = ("run", "bounded lookups", "old unbounded lookups")


@cache
def _ingest_bench():
    """bench/ingest.py as a module (its warehouse setup, sample payloads and cleanup)."""
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _analyze(engine) -> None:
    """Refresh PostgreSQL's planner statistics, as autovacuum does on a production server.

    The local test server runs with autovacuum off, so without this the planner never
    learns that every mention is `platform = 'weibo'` and answers the spread stage's
    `post_id IN (...)` lookups by scanning the whole platform (seconds per chunk at 1M).
    Not timed: it is the database's upkeep, not a pipeline stage. SQLite plans by its
    own heuristics without statistics, as the product runs it, so it is left alone.
    """
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    from warehouse.schema import metadata

    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"ANALYZE {names}"))


def _never_checked(engine) -> int:
    """Live tracked posts not yet checked once (the spread loop's stop test, not timed)."""
    from sqlalchemy import func, select

    from warehouse.schema import tracked_posts

    query = select(func.count()).where(
        tracked_posts.c.last_checked_at.is_(None), tracked_posts.c.state.in_(("hot", "cooling"))
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


class _Profiles:
    """cProfile around chosen calls, one profile per (stage, size); off unless enabled."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.current: dict[str, object] = {}

    def call(self, stage: str, fn, *args, **kwargs):
        if not self.enabled:
            return fn(*args, **kwargs)
        import cProfile

        profile = self.current.setdefault(stage, cProfile.Profile())
        return profile.runcall(fn, *args, **kwargs)

    def report(self, stage: str, items: int, top: int = 8) -> None:
        import pstats

        profile = self.current.pop(stage, None)
        if profile is None or not items:
            return
        stats = pstats.Stats(profile)
        print(f"    {stage} profile: {stats.total_calls / items:,.0f} Python calls per item")
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
        total = stats.total_tt or 1.0
        for (path, line, name), (_, calls, own, _cum, _) in rows:
            where = f"{Path(path).name}:{line}({name})" if line else name
            print(f"      {own / total:5.1%} own time  {calls / items:8.2f} calls/item  {where}")


def _score_probe(
    engine, config, client, scorer, clock, statuses, n: int, first_id: int, rounds: int = 5
):
    """Steady-state scoring runs, 5 minutes apart, each over `n` freshly ingested posts:
    the median seconds of a run (a task per brand, enrolment included), of its bounded
    lookups, and of the old unbounded lookups of the same posts (measured first,
    read-only); the posts a run scored, and whether any run was a daily sweep."""
    import statistics

    from ingest.run import _Run
    from nlp.stage import CURSOR_SOURCE, SETTLE, score_new_mentions, unscored, unscored_since
    from spread.tracking import enroll_scored
    from warehouse.cursors import get_cursor

    brands = [b.code for b in config.brands]
    version = scorer.model_version
    clock.advance(SETTLE + dt.timedelta(minutes=10))  # the bulk is history now
    for brand in brands:  # untimed: the run that found the bulk's last posts
        score_new_mentions(engine, scorer, clock, brand=brand, on_scored=enroll_scored)
    _analyze(engine)
    runs, bounded, old, found, sweep = [], [], [], 0, False
    for r in range(rounds):
        batch = []
        for k in range(n):
            item = dict(statuses[(first_id + r * n + k) % len(statuses)])
            pid = str(6 * 10**15 + first_id + r * n + k)
            item.update(id=int(pid), idstr=pid, mid=pid)
            batch.append(item)
        _Run(engine, config, client, "weibo", clock.now(), None).store_page(batch)
        clock.advance(dt.timedelta(minutes=5))
        started = time.perf_counter()
        for brand in brands:
            unscored(engine, version, 1000, brand)
        old.append(time.perf_counter() - started)
        with engine.connect() as conn:
            since = {b: get_cursor(conn, CURSOR_SOURCE, f"{b} {version}") for b in brands}
        started = time.perf_counter()
        for brand in brands:
            unscored_since(engine, version, 1000, since[brand], brand)
        bounded.append(time.perf_counter() - started)
        started = time.perf_counter()
        results = [
            score_new_mentions(engine, scorer, clock, brand=b, on_scored=enroll_scored)
            for b in brands
        ]
        runs.append(time.perf_counter() - started)
        found = sum(x["scored"] for x in results)
        sweep = sweep or any(x["sweep"] for x in results)
    median = statistics.median
    return median(runs), median(bounded), median(old), found, sweep


def run(
    url: str | None,
    sizes: list[int],
    per_mention: int,
    statuses: list[dict],
    profile: bool = False,
    probe: int = 30,
) -> tuple[dict, dict]:
    from alerts.stage import run_escalation
    from ingest.run import _Run
    from ingest.weibo import WeiboClient
    from nlp.scorer import scorer_for_config
    from nlp.stage import score_new_mentions
    from spread.model import Predictor
    from spread.stage import track_spread
    from spread.tracking import enroll_scored
    from warehouse.schema import metric_snapshots
    from warehouse.writes import insert_ignore
    from yujing.clock import ManualClock
    from yujing.config import load_config

    bench_ingest = _ingest_bench()
    config = load_config()
    engine = bench_ingest.fresh(url)
    name = "sqlite" if url is None else "postgresql"
    clock = ManualClock(dt.datetime(2026, 5, 1, 6, tzinfo=dt.UTC))
    client = WeiboClient("http://127.0.0.1:9/2", "unused")  # parse only, never called
    scorer, predictor = scorer_for_config(config), Predictor.load()
    costs: dict[str, list[tuple[int, float]]] = {s: [] for s in STAGES}
    runs: dict[str, list[tuple[int, float]]] = {s: [] for s in PROBE_PARTS}
    profiles = _Profiles(profile)
    done = 0
    for size in sizes:
        step = size - done
        timings: dict[str, float] = {}
        counts: dict[str, int] = {}

        started = time.perf_counter()
        ingest = _Run(engine, config, client, "weibo", clock.now(), None)
        ids = []
        while done < size:
            batch = []
            for k in range(min(50, size - done)):
                item = dict(statuses[(done + k) % len(statuses)])
                pid = str(5 * 10**15 + done + k)
                item.update(id=int(pid), idstr=pid, mid=pid)
                batch.append(item)
                ids.append(pid)
            ingest.store_page(batch)
            done += len(batch)
        timings["ingest"], counts["ingest"] = time.perf_counter() - started, step

        started = time.perf_counter()
        first = clock.now()
        rows = []
        written = 0
        for pid in ids:
            for j in range(1, per_mention):
                rows.append(
                    {
                        "platform": "weibo",
                        "post_id": pid,
                        "observed_at": first + dt.timedelta(minutes=5 * j),
                        "reposts": j * 3,
                        "comments": j,
                        "likes": j * 2,
                    }
                )
            if len(rows) >= 5000:
                with engine.begin() as conn:
                    written += insert_ignore(
                        conn, metric_snapshots, rows, keys=["platform", "post_id", "observed_at"]
                    )
                rows = []
        if rows:
            with engine.begin() as conn:
                written += insert_ignore(
                    conn, metric_snapshots, rows, keys=["platform", "post_id", "observed_at"]
                )
        timings["snapshots"], counts["snapshots"] = time.perf_counter() - started, written

        _analyze(engine)
        clock.advance(dt.timedelta(minutes=5 * per_mention))
        started = time.perf_counter()
        scored = score_new_mentions(
            engine, scorer, clock, batch_size=2000, on_scored=enroll_scored
        )["scored"]
        timings["score"], counts["score"] = time.perf_counter() - started, scored

        _analyze(engine)
        checked, seconds = 0, 0.0  # posts observed and predicted (hot ones come due again)
        while _never_checked(engine):  # runs of up to 5,000 due posts (the per-run budget)
            clock.advance(dt.timedelta(seconds=1))  # a later run: hot posts are due again
            started = time.perf_counter()
            result = profiles.call("spread", track_spread, engine, config, clock, predictor)
            seconds += time.perf_counter() - started
            checked += result["due"]
            if not result["due"]:
                break
        timings["spread"], counts["spread"] = seconds, checked

        _analyze(engine)
        started = time.perf_counter()
        result = profiles.call("escalate", run_escalation, engine, config, clock)
        timings["escalate"], counts["escalate"] = time.perf_counter() - started, result["evidence"]

        print(f"{name} at {size:,} mentions (peak memory so far {_peak_mb():.0f} MB):", flush=True)
        for stage in STAGES:
            n, seconds = counts[stage], timings[stage]
            rate = n / seconds if seconds > 0 else float("inf")
            print(f"  {stage:10} {seconds:8.1f} s  {n:>10,} items  {rate:>9,.0f}/s", flush=True)
            if n:
                costs[stage].append((size, seconds / n))
            profiles.report(stage, n)
        if probe:
            seconds, bounded, old, found, sweep = _score_probe(
                engine, config, client, scorer, clock, statuses, probe, size
            )
            print(
                f"  score/run  {seconds:8.3f} s  {found:>10,} new posts among {size:,}+"
                f"{' (a daily sweep)' if sweep else ''}: lookups {bounded:.4f} s bounded, "
                f"{old:.4f} s old unbounded ({old / max(bounded, 1e-9):,.0f}x)",
                flush=True,
            )
            for part, value in zip(PROBE_PARTS, (seconds, bounded, old), strict=True):
                runs[part].append((size, value))
        clock.advance(dt.timedelta(minutes=5))
    return costs, runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--snapshots", type=int, default=10, help="snapshots per mention")
    parser.add_argument("--pg", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--profile", action="store_true", help="profile spread and escalate (see above)"
    )
    parser.add_argument(
        "--probe", type=int, default=30, help="new posts per steady-state scoring run (0: off)"
    )
    args = parser.parse_args(argv)
    sizes = sorted(int(x) for x in args.sizes.split(",") if x.strip())
    bench_ingest = _ingest_bench()
    statuses = bench_ingest.sample_statuses()
    print(f"{len(statuses)} real status payloads, cloned; sizes {sizes}; {args.snapshots} "
          f"snapshots per mention\n")  # fmt: skip
    targets = [] if args.no_sqlite else [("sqlite", None)]
    if not args.no_pg:
        try:
            bench_ingest.fresh(args.pg)
            targets.append(("postgresql", args.pg))
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            print(f"(PostgreSQL skipped: {type(exc).__name__})")
    try:
        for name, url in targets:
            costs, runs = run(url, sizes, args.snapshots, statuses, args.profile, args.probe)
            print(f"{name}: cost per item at the largest size vs the smallest (1.0x = linear)")
            for stage, points in costs.items():
                if len(points) >= 2:
                    (s0, c0), (s1, c1) = points[0], points[-1]
                    print(f"  {stage:10} {c1 / c0:5.2f}x  ({s0:,} → {s1:,} mentions)")
            print(f"{name}: a scoring run after {args.probe} posts ingested, largest size vs smallest "
                  "(1.0x = independent of history)")  # fmt: skip
            for part, points in runs.items():
                if len(points) >= 2:
                    (s0, c0), (s1, c1) = points[0], points[-1]
                    print(f"  {part:22} {c1 / max(c0, 1e-9):7.2f}x  ({s0:,} → {s1:,} mentions)")
            print()
    finally:
        bench_ingest.drop_schemas()
    return 0


if __name__ == "__main__":
    sys.exit(main())
