"""The scoring stage: score every stored mention the current model has not scored yet.

Scores are keyed by (platform, post_id, model_version), so a rerun or retry rescores
nothing and a new model version rescores everything once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine, and_, select, tuple_

from warehouse.schema import mentions, scores
from warehouse.writes import upsert
from yujing.clock import Clock

log = logging.getLogger(__name__)


class BatchScorer(Protocol):
    model_version: str

    def score_batch(self, texts: list[str]) -> Sequence: ...


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

    A post naming two brands is two mention rows with the same text: they are merged here,
    not by SELECT DISTINCT, whose sort on the text made PostgreSQL read every unscored
    mention after `after` for each batch instead of stopping at `limit` (scoring cost per
    post grew 4x from 10k to 1M mentions in `bench/load.py`)."""
    query = (
        select(mentions.c.platform, mentions.c.post_id, mentions.c.text)
        .select_from(
            mentions.outerjoin(
                scores,
                and_(
                    scores.c.platform == mentions.c.platform,
                    scores.c.post_id == mentions.c.post_id,
                    scores.c.model_version == model_version,
                ),
            )
        )
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


def score_new_mentions(
    engine: Engine,
    scorer: BatchScorer,
    clock: Clock,
    batch_size: int = 1000,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
    brand: str | None = None,
    on_scored: Callable[[Connection, list[dict], dt.datetime], object] | None = None,
) -> dict:
    """Score unscored mentions (of `brand`, when given) batch by batch; each batch commits
    on its own. Partitions may overlap (a post naming two brands): the score is the same
    and the upsert keeps one row. `on_scored(conn, score_rows, now)` runs inside each
    batch's transaction (the pipeline passes spread tracking's enrolment)."""
    scored = errors = negatives = complaints = batches = 0
    after = None
    while max_batches is None or batches < max_batches:
        rows = unscored(engine, scorer.model_version, batch_size, brand, after)
        if not rows:
            break
        after = (rows[-1][0], rows[-1][1])
        results = scorer.score_batch([text for _, _, text in rows])
        now = clock.now()
        records = []
        for (platform, post_id, _), result in zip(rows, results, strict=True):
            records.append(
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
            )
            errors += result.error is not None
            negatives += bool(result.negative)
            complaints += bool(result.complaint)
        with engine.begin() as conn:
            upsert(conn, scores, records, keys=["platform", "post_id", "model_version"])
            if on_scored:
                on_scored(conn, records, now)
        scored += len(records)
        batches += 1
        if progress:
            progress(scored)
        log.info("scored %d posts so far (%s)", scored, scorer.model_version)
    return {
        "model_version": scorer.model_version,
        "scored": scored,
        "negative": negatives,
        "complaint": complaints,
        "unusable": errors,
    }
