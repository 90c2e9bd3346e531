"""The scoring stage: score every stored mention the current model has not scored yet.

Scores are keyed by (platform, post_id, model_version), so a rerun or retry rescores
nothing and a new model version rescores everything once.

A run reads only recent mentions, not the whole history (an anti-join of every mention
against every score cost 1.4 s per run at 1M mentions, for 30 new posts). A scoring
cursor per (brand, model version), in `ingest_cursors` (source `score`), holds a time W:
every mention ingested before W has a score from that version. A run looks at mentions
with `ingested_at >= W` (the `ingested_at` index) and, only when it has scored all it
found, moves W to its own start minus `SETTLE`. Why that is safe:

- A mention is stamped with its ingest run's start and committed at most one task
  `execution_timeout` (30 min) later; `SETTLE` (2 h) covers that and clock differences
  between workers. A run that fails (scorer or database error) or stops at `max_batches`
  leaves W where it was: the next run reads the same mentions again, however long scoring
  was down.
- A late post (created long ago, found now) is stamped when it is ingested: it is new.
- `yujing backfill` stamps its start too; a backfill longer than `SETTLE` may commit
  behind W. So once a day (`SWEEP_EVERY`) a run reads every mention (the old query, in
  key-ordered batches), scoring whatever a window missed, and the first run of a new
  model version (no cursor) is such a sweep: it rescores the whole history once.
- A sweep first reads what a bounded run would (from the cursor, or for a new version the
  last `RECENT_FIRST`), then the history: rescoring a million posts after a model or
  threshold change takes minutes to hours, and in key order the newest Weibo ids come
  last, so fresh posts (and their alerts) waited behind all of it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine, and_, select, tuple_

from warehouse.cursors import get_cursor, set_cursor
from warehouse.schema import mentions, scores
from warehouse.writes import upsert
from yujing.clock import Clock

log = logging.getLogger(__name__)

CURSOR_SOURCE = "score"  # ingest_cursors rows of the scoring stage (no platform's name)
SETTLE = dt.timedelta(hours=2)  # > an ingest attempt's execution_timeout, plus clock skew
SWEEP_EVERY = dt.timedelta(days=1)  # how often a run reads the whole history anyway
# what a sweep of a new model version scores before the history: at least the posts spread
# tracking still enrols (spread.tracking.ENROLL_WINDOW), the ones that can still alert
RECENT_FIRST = dt.timedelta(hours=48)


class BatchScorer(Protocol):
    model_version: str

    def score_batch(self, texts: list[str]) -> Sequence: ...


def _anti_join(model_version: str):
    return mentions.outerjoin(
        scores,
        and_(
            scores.c.platform == mentions.c.platform,
            scores.c.post_id == mentions.c.post_id,
            scores.c.model_version == model_version,
        ),
    )


def unscored(
    engine: Engine,
    model_version: str,
    limit: int,
    brand: str | None = None,
    after: tuple[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """(platform, post_id, text) of mentions without a score from this model version
    (only mentions of `brand` when given: a scoring run partitioned by brand), in key
    order, after the key `after` (so a run's batches never rescan what it has passed).
    It reads the whole history: a sweep's lookup (`unscored_since` is the everyday one).

    A post naming two brands is two mention rows with the same text: they are merged here,
    not by SELECT DISTINCT, whose sort on the text made PostgreSQL read every unscored
    mention after `after` for each batch instead of stopping at `limit` (scoring cost per
    post grew 4x from 10k to 1M mentions in `bench/load.py`)."""
    query = (
        select(mentions.c.platform, mentions.c.post_id, mentions.c.text)
        .select_from(_anti_join(model_version))
        .where(
            scores.c.post_id.is_(None),
            *([mentions.c.brand == brand] if brand else []),
            *([tuple_(mentions.c.platform, mentions.c.post_id) > after] if after else []),
        )
        .order_by(mentions.c.platform, mentions.c.post_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    # key order puts a post's rows together; the next batch starts after the last key
    return [row for i, row in enumerate(rows) if i == 0 or row[:2] != rows[i - 1][:2]]


def unscored_since(
    engine: Engine,
    model_version: str,
    limit: int,
    since: dt.datetime,
    brand: str | None = None,
    after: tuple[dt.datetime, int] | None = None,
) -> tuple[list[tuple[str, str, str]], tuple[dt.datetime, int] | None]:
    """Like `unscored`, for mentions ingested at or after `since` only, in
    (ingested_at, id) order after `after`: the `ingested_at` index gives both the range and
    the order, so a batch stops after `limit` rows even in a large backlog (ordering the
    window by key instead sorted all of it for every batch). Returns the rows (a post's
    rows merged: same text) and the `after` of the next batch (None when done).

    On SQLite, which plans without statistics and preferred the (brand, created_at) index
    for `brand = ?` (reading the brand's whole history), brand is written `brand || ''`,
    SQLite's documented way to keep a term off an index."""
    brand_col = mentions.c.brand.concat("") if engine.dialect.name == "sqlite" else mentions.c.brand
    query = (
        select(
            mentions.c.platform,
            mentions.c.post_id,
            mentions.c.text,
            mentions.c.ingested_at,
            mentions.c.id,
        )
        .select_from(_anti_join(model_version))
        .where(
            scores.c.post_id.is_(None),
            mentions.c.ingested_at >= since,
            *([brand_col == brand] if brand else []),
            *([tuple_(mentions.c.ingested_at, mentions.c.id) > after] if after else []),
        )
        .order_by(mentions.c.ingested_at, mentions.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    if not rows:
        return [], None
    # a post's rows are one score: keep one per key (upserting both in one statement fails
    # on PostgreSQL); a row of it in the next batch is already scored by then
    unique: dict[tuple[str, str], tuple[str, str, str]] = {}
    for platform, post_id, text, _at, _id in rows:
        unique.setdefault((platform, post_id), (platform, post_id, text))
    return list(unique.values()), (rows[-1][3], rows[-1][4])


def _score_and_store(engine: Engine, scorer: BatchScorer, rows, clock: Clock, on_scored) -> list:
    """Score one batch of (platform, post_id, text) and upsert its score rows in one
    transaction with `on_scored`; returns the rows."""
    results = scorer.score_batch([text for _, _, text in rows])
    now = clock.now()
    records = [
        {
            "platform": platform,
            "post_id": post_id,
            "model_version": scorer.model_version,
            "sentiment": result.sentiment,
            "negative": bool(result.negative),
            "complaint": bool(result.complaint),
            "categories": json.dumps(list(result.categories)),
            "signals": json.dumps(list(result.signals)),
            "error": result.error,
            "scored_at": now,
        }
        for (platform, post_id, _), result in zip(rows, results, strict=True)
    ]
    with engine.begin() as conn:
        upsert(conn, scores, records, keys=["platform", "post_id", "model_version"])
        if on_scored:
            on_scored(conn, records, now)
    return records


def score_new_mentions(
    engine: Engine,
    scorer: BatchScorer,
    clock: Clock,
    batch_size: int = 1000,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
    brand: str | None = None,
    on_scored: Callable[[Connection, list[dict], dt.datetime], object] | None = None,
    settle: dt.timedelta = SETTLE,
    sweep_every: dt.timedelta = SWEEP_EVERY,
) -> dict:
    """Score unscored mentions (of `brand`, when given) batch by batch; each batch commits
    on its own. Partitions may overlap (a post naming two brands): the score is the same
    and the upsert keeps one row. `on_scored(conn, score_rows, now)` runs inside each
    batch's transaction (the pipeline passes spread tracking's enrolment). Reads mentions
    from the scoring cursor on, or all of them in a sweep (module docstring)."""
    scored = errors = negatives = complaints = batches = 0
    started = clock.now()
    key = f"{brand or '*'} {scorer.model_version}"
    with engine.connect() as conn:
        since = get_cursor(conn, CURSOR_SOURCE, key)
        swept = get_cursor(conn, CURSOR_SOURCE, f"{key} sweep")
    sweep = since is None or swept is None or started - swept >= sweep_every
    # the window since the cursor first, then (a sweep) the history (module docstring)
    passes = [since if since is not None else started - RECENT_FIRST] + ([None] if sweep else [])
    finished = False
    for window in passes:
        after, finished = None, False
        while max_batches is None or batches < max_batches:
            if window is None:
                rows = unscored(engine, scorer.model_version, batch_size, brand, after)
                after = (rows[-1][0], rows[-1][1]) if rows else None
            else:
                rows, after = unscored_since(
                    engine, scorer.model_version, batch_size, window, brand, after
                )
            if not rows:
                finished = True
                break
            records = _score_and_store(engine, scorer, rows, clock, on_scored)
            errors += sum(r["error"] is not None for r in records)
            negatives += sum(r["negative"] for r in records)
            complaints += sum(r["complaint"] for r in records)
            scored += len(records)
            batches += 1
            if progress:
                progress(scored)
            log.info("scored %d posts so far (%s)", scored, scorer.model_version)
        if not finished:
            break
    if finished:  # everything ingested before `started - settle` is scored now
        with engine.begin() as conn:
            set_cursor(conn, CURSOR_SOURCE, key, started - settle, started)
            if sweep:
                set_cursor(conn, CURSOR_SOURCE, f"{key} sweep", started, started)
    return {
        "model_version": scorer.model_version,
        "scored": scored,
        "negative": negatives,
        "complaint": complaints,
        "unusable": errors,
        "sweep": sweep,
    }
