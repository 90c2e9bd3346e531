"""Retention: keep the warehouse from growing without bound.

- Metric snapshots older than `retention.snapshots_full_days` are downsampled to the last
  snapshot of each post in each `retention.downsample_minutes` bucket (the spread model
  needs the fine grain only while a post is young; analysts' curves of old posts keep
  their shape).
- Raw API payloads (`mentions.raw`) older than `retention.raw_payload_days` are pruned to
  an empty string: every parsed field stays, the original JSON goes.

Both are idempotent (a rerun deletes or changes nothing more) and work in batches so a
large backlog never holds one long transaction. Called by the `yujing_maintenance` DAG.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Engine, Integer, and_, cast, delete, func, select, tuple_, update

from warehouse.schema import mentions, metric_snapshots

log = logging.getLogger(__name__)
BATCH_POSTS = 500


def _bucket(dialect: str, column, seconds: float):
    """The `seconds`-long bucket of a time, in SQL, as Python's `int(t.timestamp() //
    seconds)` counts it (whole-second bucket lengths, times after 1970)."""
    if dialect == "postgresql":
        return func.floor(func.extract("epoch", column) / seconds)
    # SQLite stores the UTC time as text; %s is its whole seconds (a bucket starts on one)
    return cast(cast(func.strftime("%s", column), Integer) / seconds, Integer)


def downsample_snapshots(
    engine: Engine,
    older_than: dt.datetime,
    every: dt.timedelta,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Delete all but the last snapshot per post and `every` bucket before `older_than`;
    returns the number of snapshots deleted."""
    s = metric_snapshots.c
    bucket_s = every.total_seconds()
    with engine.connect() as conn:
        # only posts with two snapshots in one old bucket: "more than one old snapshot"
        # matched every post ever downsampled, and each night re-read all of them
        bucket = _bucket(conn.dialect.name, s.observed_at, bucket_s)
        posts = conn.execute(
            select(s.platform, s.post_id)
            .where(s.observed_at < older_than)
            .group_by(s.platform, s.post_id)
            .having(func.count() > func.count(bucket.distinct()))
        ).all()
    deleted = 0
    for i in range(0, len(posts), BATCH_POSTS):
        batch = [tuple(p) for p in posts[i : i + BATCH_POSTS]]
        with engine.begin() as conn:
            rows = conn.execute(
                select(s.platform, s.post_id, s.observed_at)
                .where(tuple_(s.platform, s.post_id).in_(batch), s.observed_at < older_than)
                .order_by(s.platform, s.post_id, s.observed_at)
            ).all()
            keep: dict[tuple, dt.datetime] = {}
            for platform, post_id, at in rows:
                keep[(platform, post_id, int(at.timestamp() // bucket_s))] = at  # the last
            kept = set(keep.items())
            doomed = [
                (p, pid, at)
                for p, pid, at in rows
                if ((p, pid, int(at.timestamp() // bucket_s)), at) not in kept
            ]
            for j in range(0, len(doomed), 1000):
                chunk = doomed[j : j + 1000]
                deleted += conn.execute(
                    delete(metric_snapshots).where(
                        tuple_(s.platform, s.post_id, s.observed_at).in_(chunk)
                    )
                ).rowcount
        if progress:
            progress(min(i + BATCH_POSTS, len(posts)))
    log.info("retention: %d snapshots downsampled away (before %s)", deleted, older_than)
    return deleted


def prune_raw_payloads(engine: Engine, older_than: dt.datetime, batch: int = 5000) -> int:
    """Empty `mentions.raw` for mentions ingested before `older_than`; returns how many."""
    m = mentions.c
    pruned = 0
    while True:
        with engine.begin() as conn:
            ids = [
                row.id
                for row in conn.execute(
                    select(m.id).where(and_(m.ingested_at < older_than, m.raw != "")).limit(batch)
                )
            ]
            if not ids:
                break
            pruned += conn.execute(update(mentions).where(m.id.in_(ids)).values(raw="")).rowcount
    log.info("retention: %d raw payloads pruned (ingested before %s)", pruned, older_than)
    return pruned
