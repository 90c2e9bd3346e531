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

When the model fails (nlp/isolate.py finds the posts behind a batch that raises; the
scorer marks a post it raised on or gave no score for as `failed`), two cases:

- A few posts of a batch: a fault of those posts, or a passing one. Each gets a row in
  `score_failures` (attempts, the exception's reason) and no score, so later runs read it
  again (it is still unscored): it is tried again once `RETRY_AFTER` has passed (a rerun
  or an Airflow retry right after changes nothing), by the bounded runs while it is in
  their window (two hours after its ingest: three tries fit) and by the daily sweep after
  that. After `MAX_ATTEMPTS` failed tries it gets its `scores` row with the error and the
  reason, never a made-up score; a try that works replaces the failure with the score.
- Most of a batch's first tries (at least `SYSTEMIC_AT_LEAST` posts; a post failing
  again is its own fault), or a few while the model also fails on a plain post (`CANARY`):
  a fault of the model or its machine (memory, a broken model file). The run raises
  `ScoringFailed`, the batch stores nothing (no attempts counted) and the cursor stays
  where it was, as for any failed run: the next run (or the Airflow retry) tries the same
  posts again, and the run is red until it works.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import Connection, Engine, and_, delete, or_, select, tuple_

from nlp.isolate import Failed, isolate
from nlp.scorer import Score
from warehouse.cursors import get_cursor, set_cursor
from warehouse.schema import mentions, score_failures, scores
from warehouse.writes import upsert
from yujing.clock import Clock

log = logging.getLogger(__name__)

CURSOR_SOURCE = "score"  # ingest_cursors rows of the scoring stage (no platform's name)
SETTLE = dt.timedelta(hours=2)  # > an ingest attempt's execution_timeout, plus clock skew
SWEEP_EVERY = dt.timedelta(days=1)  # how often a run reads the whole history anyway
# what a sweep of a new model version scores before the history: at least the posts spread
# tracking still enrols (spread.tracking.ENROLL_WINDOW), the ones that can still alert
RECENT_FIRST = dt.timedelta(hours=48)
# what a run reports (score_new_mentions)
COUNTS = ("scored", "negative", "complaint", "unusable", "failed", "gave_up")
MAX_ATTEMPTS = 3  # failed tries of a post (each on a later run) before it is given up
RETRY_AFTER = dt.timedelta(minutes=30)  # between two tries of a post the model failed on
# a batch where at least this many posts failed, and most of those the model was asked
# about, shows a fault of the model or its machine, not of the posts
SYSTEMIC_AT_LEAST = 5
# a plain post any working model scores: posts failed and this fails too: the model is broken
CANARY = "沐沐奶粉宝宝很爱喝，物流也很快，已经回购三次了"


class ScoringFailed(RuntimeError):
    """The model failed on most of a batch, or on a plain post: nothing of the batch is
    stored and the scoring cursor stays, so the next run tries the same posts again."""


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


def _failed_keys(model_version: str, keys):
    """`score_failures` rows of these (platform, post_id) keys and model version: a post id
    list per platform, which both databases look up in the key's index (a row-value IN
    made SQLite scan it)."""
    f = score_failures.c
    ids: dict[str, list[str]] = {}
    for platform, post_id, *_ in keys:
        ids.setdefault(platform, []).append(post_id)
    return and_(
        f.model_version == model_version,
        or_(*(and_(f.platform == p, f.post_id.in_(i)) for p, i in sorted(ids.items()))),
    )


def _failures(engine: Engine, model_version: str, rows) -> dict:
    """The `score_failures` rows of these posts under this model version, by key."""
    f = score_failures.c
    with engine.connect() as conn:
        found = conn.execute(
            select(f.platform, f.post_id, f.attempts, f.first_failed_at, f.last_failed_at).where(
                _failed_keys(model_version, rows)
            )
        )
        return {(r.platform, r.post_id): r for r in found}


def _check_model(scorer: BatchScorer, failed: int, asked: int, again: int, first: str) -> None:
    """Raise ScoringFailed when `failed` of the `asked` posts tried for the first time (and
    `again` that failed before and failed again) show a fault of the model, not of the
    posts (module docstring). Posts tried again do not count toward "most of a batch": the
    model scored the rest of the batch they first failed in, and in the daily sweep's
    history pass they are all a batch holds, so they would fail every run for good."""
    what = f"{scorer.model_version} failed on {failed} of {asked} posts of a batch"
    what += f" and {again} it failed on before ({first})" if again else f" ({first})"
    after = "; nothing of the batch is stored and the cursor stays: the next run tries again"
    if failed >= SYSTEMIC_AT_LEAST and 2 * failed > asked:
        raise ScoringFailed(what + after)
    (canary,) = isolate(scorer.score_batch, [CANARY])
    if isinstance(canary, Failed) or getattr(canary, "error", None) is not None:
        why = canary.reason if isinstance(canary, Failed) else canary.error
        raise ScoringFailed(f"{what} and on a plain post ({why}){after}")


def _record(platform: str, post_id: str, model_version: str, result, now) -> dict:
    """A `scores` row."""
    return {
        "platform": platform,
        "post_id": post_id,
        "model_version": model_version,
        "sentiment": result.sentiment,
        "negative": bool(result.negative),
        "complaint": bool(result.complaint),
        "categories": json.dumps(list(result.categories)),
        "signals": json.dumps(list(result.signals)),
        "error": result.error,
        "scored_at": now,
    }


def _score_and_store(
    engine: Engine, scorer: BatchScorer, rows, clock: Clock, on_scored, failed_now: set
) -> dict:
    """Score one batch of (platform, post_id, text) and store it in one transaction with
    `on_scored`: the score rows, and the failures of posts the model failed on (module
    docstring). Posts in `failed_now` (failed earlier in this run) and posts that failed
    less than `RETRY_AFTER` ago are left for a later run. Returns the batch's counts."""
    now = clock.now()
    known = _failures(engine, scorer.model_version, rows)
    due = [
        row
        for row in rows
        if row[:2] not in failed_now
        and (row[:2] not in known or known[row[:2]].last_failed_at <= now - RETRY_AFTER)
    ]
    counts = dict.fromkeys(COUNTS, 0)
    if not due:
        return counts
    # a batch the scorer raises on is bisected: only the posts behind it fail
    results = isolate(scorer.score_batch, [text for _, _, text in due])
    reasons = {
        i: f"scorer raised {r.reason}" if isinstance(r, Failed) else r.error or "model failed"
        for i, r in enumerate(results)
        if isinstance(r, Failed) or getattr(r, "failed", False)
    }
    if reasons:
        fresh = [
            i
            for i, row in enumerate(due)
            if row[:2] not in known and (i in reasons or getattr(results[i], "error", None) is None)
        ]
        failed = sum(i in reasons for i in fresh)
        first = next(iter(reasons.values()))
        _check_model(scorer, failed, len(fresh), len(reasons) - failed, first)
    records, failures, cleared = [], [], []
    for i, ((platform, post_id, _), result) in enumerate(zip(due, results, strict=True)):
        key = (platform, post_id)
        if i in reasons:
            before = known.get(key)
            attempts = (before.attempts if before else 0) + 1
            gave_up = attempts >= MAX_ATTEMPTS
            failures.append(
                {
                    "platform": platform,
                    "post_id": post_id,
                    "model_version": scorer.model_version,
                    "attempts": attempts,
                    "error": reasons[i][:1000],
                    "first_failed_at": before.first_failed_at if before else now,
                    "last_failed_at": now,
                    "gave_up_at": now if gave_up else None,
                }
            )
            log.warning(
                "%s %s: %s (attempt %d of %d%s)",
                platform,
                post_id,
                reasons[i],
                attempts,
                MAX_ATTEMPTS,
                "; given up" if gave_up else "; tried again on a later run",
            )
            if not gave_up:
                failed_now.add(key)
                continue
            counts["gave_up"] += 1
            result = Score(None, error=f"model failed {attempts} times; last: {reasons[i]}")
        elif key in known:
            cleared.append(key)
        records.append(_record(platform, post_id, scorer.model_version, result, now))
    with engine.begin() as conn:
        upsert(conn, scores, records, keys=["platform", "post_id", "model_version"])
        upsert(conn, score_failures, failures, keys=["platform", "post_id", "model_version"],
               update=["attempts", "error", "last_failed_at", "gave_up_at"])  # fmt: skip
        if cleared:  # scored at last: no longer a failure
            conn.execute(delete(score_failures).where(_failed_keys(scorer.model_version, cleared)))
        if on_scored:
            on_scored(conn, records, now)
    counts["scored"] = len(records)
    counts["failed"] = len(failures) - counts["gave_up"]
    counts["unusable"] = sum(r["error"] is not None for r in records) - counts["gave_up"]
    counts["negative"] = sum(r["negative"] for r in records)
    counts["complaint"] = sum(r["complaint"] for r in records)
    return counts


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
    from the scoring cursor on, or all of them in a sweep (module docstring). Returns
    counts: scored (score rows written), negative, complaint, unusable (texts that cannot
    be scored), failed (left for a later run), gave_up (stored with the model's error);
    raises ScoringFailed when the model, not a post, is at fault."""
    totals = dict.fromkeys(COUNTS, 0)
    batches = 0
    failed_now: set[tuple[str, str]] = set()  # failed in this run: not tried again in it
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
            counts = _score_and_store(engine, scorer, rows, clock, on_scored, failed_now)
            for name, n in counts.items():
                totals[name] += n
            batches += 1
            if progress:
                progress(totals["scored"])
            log.info("scored %d posts so far (%s)", totals["scored"], scorer.model_version)
        if not finished:
            break
    if finished:  # everything ingested before `started - settle` is scored now (or failed:
        # a failed post is read again by the daily sweep once the window has passed it)
        with engine.begin() as conn:
            set_cursor(conn, CURSOR_SOURCE, key, started - settle, started)
            if sweep:
                set_cursor(conn, CURSOR_SOURCE, f"{key} sweep", started, started)
    if totals["failed"] or totals["gave_up"]:
        log.warning(
            "%s: %d posts failed (tried again on a later run), %d given up after %d tries "
            "(score_failures has the reasons)",
            scorer.model_version,
            totals["failed"],
            totals["gave_up"],
            MAX_ATTEMPTS,
        )
    return {"model_version": scorer.model_version, **totals, "sweep": sweep}
