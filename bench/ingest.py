"""Ingest throughput, measured in one run on SQLite and (when reachable) PostgreSQL:

1. a full simulated day through `ingest_source` over real HTTP (288 five-minute runs);
2. the warehouse write path: batched idempotent INSERT … ON CONFLICT vs row-by-row
   check-then-insert (the baseline), and a rerun where every row is a duplicate;
3. scaling: real Weibo status JSON from the simulator (cloned with fresh ids) through the
   production page path (parse → brand match → mentions + snapshots, one transaction per
   page) into one growing warehouse, at each size of `--scale`; the cost per mention at the
   largest size over the smallest says whether it grows linearly (≈1.0x).

    python bench/ingest.py [--rows 20000] [--scale 10000,100000,1000000]
                           [--pg postgresql+psycopg2://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rows(n: int) -> list[dict]:
    now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    return [
        {
            "platform": "weibo",
            "post_id": str(10**15 + i),
            "brand": "mumu",
            "text": f"沐沐奶粉 {i}",
            "created_at": now,
            "raw": "{}",
            "ingested_at": now,
            "author_verified": False,
            "is_competitor": False,
        }
        for i in range(n)
    ]


def write_batched(engine, data) -> float:
    from warehouse.schema import mentions
    from warehouse.writes import insert_ignore

    started = time.perf_counter()
    for i in range(0, len(data), 50):  # one page of search results per transaction
        with engine.begin() as conn:
            insert_ignore(conn, mentions, data[i : i + 50], keys=["platform", "post_id", "brand"])
    return time.perf_counter() - started


def write_naive(engine, data) -> float:
    from sqlalchemy import select

    from warehouse.schema import mentions

    started = time.perf_counter()
    for row in data:
        with engine.begin() as conn:
            exists = conn.execute(
                select(mentions.c.id).where(
                    mentions.c.platform == row["platform"],
                    mentions.c.post_id == row["post_id"],
                    mentions.c.brand == row["brand"],
                )
            ).first()
            if exists is None:
                conn.execute(mentions.insert().values(**row))
    return time.perf_counter() - started


SCHEMAS: list[tuple[str, str]] = []
TEMP_DIRS: list[str] = []


def fresh(url: str | None):
    from sqlalchemy import create_engine, text

    from warehouse.db import make_engine, upgrade

    if url is None:
        TEMP_DIRS.append(tempfile.mkdtemp(prefix="yujing-bench-"))
        engine = make_engine(f"sqlite:///{TEMP_DIRS[-1]}/bench.db")
    else:
        schema = f"bench_{int(time.time() * 1000)}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        SCHEMAS.append((url, schema))
        engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    return engine


def drop_schemas() -> None:
    """Remove the PostgreSQL schemas and SQLite files this run created."""
    import shutil

    from sqlalchemy import create_engine, text

    while TEMP_DIRS:
        shutil.rmtree(TEMP_DIRS.pop(), ignore_errors=True)
    while SCHEMAS:
        url, schema = SCHEMAS.pop()
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def simulated_day() -> None:
    from ingest.run import ingest_source
    from ingest.weibo import WeiboClient
    from simulator.server import Simulator
    from yujing.clock import ManualClock
    from yujing.config import load_config

    config = load_config()
    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    engine = fresh(None)
    with Simulator(config, clock=clock, speed=1.0) as sim:
        client = WeiboClient(sim.weibo_url, sim.token)
        started, stored = time.perf_counter(), 0
        for _ in range(288):  # a day of 5-minute runs
            clock.advance(300)
            stored += ingest_source(engine, config, client, "weibo", clock)["stored"]
        elapsed = time.perf_counter() - started
    print(
        f"simulated day: 288 runs, {stored} mentions, {client.http.calls} API calls in "
        f"{elapsed:.1f} s ({elapsed / 288 * 1000:.0f} ms per run)"
    )


def sample_statuses() -> list[dict]:
    """One real page of search results (Weibo status JSON) from the simulator."""
    from ingest.weibo import WeiboClient
    from simulator.server import Simulator
    from yujing.clock import ManualClock
    from yujing.config import load_config

    config = load_config()
    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    with Simulator(config, clock=clock, speed=1.0, rate=60) as sim:
        clock.advance(6 * 3600)
        client = WeiboClient(sim.weibo_url, sim.token)
        now = clock.now()
        items = client.search(config.brands[0].name, now - dt.timedelta(hours=6), now, count=50)
    return [dict(i) for i in items if not i.get("deleted")]


def scaling(url: str | None, sizes: list[int], statuses: list[dict]) -> list[tuple[int, float]]:
    """(size, seconds per 1,000 mentions) for each cumulative size, through _Run.store_page."""
    from ingest.run import _Run
    from ingest.weibo import WeiboClient
    from yujing.config import load_config

    config = load_config()
    engine = fresh(url)
    client = WeiboClient("http://127.0.0.1:9/2", "unused")  # parse only, never called
    now = dt.datetime(2026, 5, 2, tzinfo=dt.UTC)
    run = _Run(engine, config, client, "weibo", now, None)
    out, done, page = [], 0, 50
    for size in sizes:
        started = time.perf_counter()
        while done < size:
            batch = []
            for k in range(page):
                item = dict(statuses[(done + k) % len(statuses)])
                pid = str(5 * 10**15 + done + k)
                item.update(id=int(pid), idstr=pid, mid=pid)
                batch.append(item)
            run.store_page(batch)
            done += page
        elapsed = time.perf_counter() - started
        step = size - (out[-1][0] if out else 0)
        out.append((size, elapsed / step * 1000))
        print(
            f"  {'sqlite' if url is None else 'postgresql':10} up to {size:>9,} mentions: "
            f"{step / elapsed:>7.0f} mentions/s for the last {step:,}",
            flush=True,
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument(
        "--scale",
        default="10000,100000,1000000",
        help="cumulative warehouse sizes for the scaling run (comma-separated)",
    )
    parser.add_argument("--pg", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    simulated_day()
    data = rows(args.rows)
    targets = [("sqlite", None)]
    try:
        fresh(args.pg)
        targets.append(("postgresql", args.pg))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"(PostgreSQL skipped: {type(exc).__name__})")
    for name, url in targets:
        batched = write_batched(fresh(url), data)
        naive_rows = data[: max(1, args.rows // 5)]
        naive = write_naive(fresh(url), naive_rows) * len(data) / len(naive_rows)
        engine = fresh(url)
        write_batched(engine, data)
        rerun = write_batched(engine, data)  # everything already there: all ignored
        print(
            f"{name:10} batched {len(data) / batched:>8.0f} rows/s   row-by-row "
            f"{len(data) / naive:>7.0f} rows/s   ratio {naive / batched:.1f}x   "
            f"rerun (all duplicates) {len(data) / rerun:>8.0f} rows/s"
        )
    sizes = sorted(int(x) for x in args.scale.split(",") if x.strip())
    statuses = sample_statuses()
    print(f"scaling: {len(statuses)} real status payloads, cloned with fresh ids")
    try:
        for name, url in targets:
            steps = scaling(url, sizes, statuses)
            (first, first_cost), (last, last_cost) = steps[0], steps[-1]
            print(
                f"{name:10} cost per mention at {last:,} vs at {first:,}: "
                f"{last_cost / first_cost:.2f}x (1.0x = linear growth of the total)"
            )
    finally:
        drop_schemas()
    return 0


if __name__ == "__main__":
    sys.exit(main())
