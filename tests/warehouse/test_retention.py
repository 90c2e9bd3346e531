"""Retention on SQLite and PostgreSQL: old snapshots keep the last of each bucket, recent
ones all stay, old raw payloads are emptied, and a rerun changes nothing."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from warehouse.retention import downsample_snapshots, prune_raw_payloads
from warehouse.schema import mentions, metric_snapshots

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
CUT = NOW - dt.timedelta(days=7)


def _snapshots(engine, post_id: str, start: dt.datetime, n: int, every_min: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            metric_snapshots.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": post_id,
                    "observed_at": start + dt.timedelta(minutes=every_min * i),
                    "reposts": i,
                }
                for i in range(n)
            ],
        )


def _kept(engine, post_id: str) -> list[int]:
    s = metric_snapshots.c
    with engine.connect() as conn:
        return [
            r.reposts
            for r in conn.execute(
                select(s.reposts).where(s.post_id == post_id).order_by(s.observed_at)
            )
        ]


def test_old_snapshots_keep_the_last_of_each_hour(warehouse):
    old_start = CUT - dt.timedelta(hours=3)  # 36 five-minute snapshots, all before the cut
    _snapshots(warehouse, "old", old_start, 36, 5)
    _snapshots(warehouse, "straddles", CUT - dt.timedelta(minutes=30), 12, 5)
    _snapshots(warehouse, "recent", NOW - dt.timedelta(days=1), 24, 5)
    deleted = downsample_snapshots(warehouse, CUT, dt.timedelta(hours=1))
    assert _kept(warehouse, "old") == [11, 23, 35]  # the last of each of the three hours
    # before the cut only the last of its hour bucket stays; after it, everything
    assert _kept(warehouse, "straddles") == [5, 6, 7, 8, 9, 10, 11]
    assert _kept(warehouse, "recent") == list(range(24))
    assert deleted == 33 + 5
    assert downsample_snapshots(warehouse, CUT, dt.timedelta(hours=1)) == 0  # idempotent


def test_a_night_reads_only_the_posts_with_something_to_downsample(warehouse):
    # every post downsampled before still has several old snapshots (one per hour): they
    # were all read again every night, for nothing
    from sqlalchemy import event

    for n in range(5):
        _snapshots(warehouse, f"done{n}", CUT - dt.timedelta(days=3), 48, 60)  # one an hour
    _snapshots(warehouse, "due", CUT - dt.timedelta(hours=2), 24, 5)
    # 22:59:59.5 and 23:00:00.5: two buckets, though the same whole second apart
    _snapshots(warehouse, "edge", CUT - dt.timedelta(hours=1, seconds=0.5), 2, 1 / 60)
    read: list = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith(
            "SELECT metric_snapshots.platform, metric_snapshots.post_id, metric_snapshots.observed_at"
        ):
            read.append(parameters)

    event.listen(warehouse, "before_cursor_execute", record)
    try:
        assert downsample_snapshots(warehouse, CUT, dt.timedelta(hours=1)) == 22
    finally:
        event.remove(warehouse, "before_cursor_execute", record)
    assert len(read) == 1 and "done0" not in str(read) and "'due'" in str(read)
    assert "edge" not in str(read) and len(_kept(warehouse, "edge")) == 2
    assert all(len(_kept(warehouse, f"done{n}")) == 48 for n in range(5))


def test_old_raw_payloads_are_emptied_and_nothing_else_changes(warehouse):
    rows = [
        {
            "platform": "weibo",
            "post_id": str(i),
            "brand": "mumu",
            "text": f"沐沐奶粉 {i}",
            "created_at": NOW - dt.timedelta(days=days),
            "raw": json.dumps({"idstr": str(i)}),
            "ingested_at": NOW - dt.timedelta(days=days),
            "author_verified": False,
            "is_competitor": False,
        }
        for i, days in enumerate([40, 31, 29, 1])
    ]
    with warehouse.begin() as conn:
        conn.execute(mentions.insert(), rows)
    assert prune_raw_payloads(warehouse, NOW - dt.timedelta(days=30), batch=1) == 2
    assert prune_raw_payloads(warehouse, NOW - dt.timedelta(days=30)) == 0
    with warehouse.connect() as conn:
        raw = dict(conn.execute(select(mentions.c.post_id, mentions.c.raw)).all())
        assert conn.execute(select(func.count()).select_from(mentions)).scalar_one() == 4
    assert raw == {"0": "", "1": "", "2": '{"idstr": "2"}', "3": '{"idstr": "3"}'}
