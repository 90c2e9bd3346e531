"""Which negative posts to follow, how often, and when to stop (the API budget is finite).

A post enters tracking once it is scored negative or a complaint: in the scoring
transaction itself (`enroll_scored`, passed to the scoring stage), so enrolment costs
nothing per spread run however large the warehouse; `enroll_negative_posts` is the
nightly safety net for anything scored without it. Each spread run
refreshes the posts that are due; hot posts (growing, or likely to go viral) are due
again next run, cooling posts less often, and a post that has not grown for
`thresholds.track_quiet_hours`, or is older than the horizon plus `TRACK_MARGIN`, is
dropped (state `dead`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, case, func, or_, select, update

from warehouse.schema import mentions, scores, tracked_posts
from warehouse.writes import insert_ignore

HOT, COOLING, DEAD = "hot", "cooling", "dead"
COOLING_INTERVAL = dt.timedelta(minutes=30)
HOT_P_VIRAL = 0.05  # above this a post stays hot whatever its current velocity
# Followed this long past the prediction horizon, for the record, then dropped: an old
# post trickling one repost a day would otherwise cost API calls every run forever.
TRACK_MARGIN = dt.timedelta(hours=24)


@dataclass(frozen=True)
class TrackedPost:
    platform: str
    post_id: str
    brand: str
    state: str
    created_at: dt.datetime
    last_growth_at: dt.datetime | None


ENROLL_WINDOW = dt.timedelta(hours=48)


def _enroll(conn: Connection, flagged, now: dt.datetime) -> int:
    """Insert (or leave) a hot tracking row for each (platform, post_id, brand, created_at)."""
    rows = [
        {
            "platform": r.platform,
            "post_id": r.post_id,
            "brand": r.brand,
            "state": HOT,
            "created_at": r.created_at,
            "tracked_since": now,
            "next_check_at": now,
            "last_growth_at": r.created_at,
        }
        for r in conn.execute(flagged)
    ]
    return insert_ignore(conn, tracked_posts, rows, keys=["platform", "post_id"])


def _mention_keys():
    """One row per post. A post naming several brands is tracked once (its spread is the
    post's) under one of our brands when it names one (the first by code), else the first
    competitor: the alert stage reads every brand the post names, but views that join
    `tracked_posts.brand` (v_top_complaints) should show the post on our side."""
    ours = case((mentions.c.is_competitor.is_(False), mentions.c.brand), else_=None)
    return select(
        mentions.c.platform,
        mentions.c.post_id,
        func.coalesce(func.min(ours), func.min(mentions.c.brand)).label("brand"),
        func.min(mentions.c.created_at).label("created_at"),
    ).group_by(mentions.c.platform, mentions.c.post_id)


def enroll_scored(
    conn: Connection, records: list[dict], now: dt.datetime, window: dt.timedelta = ENROLL_WINDOW
) -> int:
    """Start tracking the negative or complaint posts among a batch of fresh score rows, in
    the scoring transaction (`score_new_mentions(on_scored=...)`): a retried batch enrols
    nothing twice, and a crash leaves neither the scores nor the enrolment."""
    by_platform: dict[str, list[str]] = {}
    for r in records:
        if r["negative"] or r["complaint"]:
            by_platform.setdefault(r["platform"], []).append(r["post_id"])
    enrolled = 0
    for platform, post_ids in by_platform.items():  # one key lookup per post (indexed)
        flagged = _mention_keys().where(
            mentions.c.platform == platform,
            mentions.c.post_id.in_(post_ids),
            mentions.c.ingested_at >= now - window,
        )
        enrolled += _enroll(conn, flagged, now)
    return enrolled


def enroll_negative_posts(
    engine: Engine,
    now: dt.datetime,
    model_version: str,
    window: dt.timedelta = ENROLL_WINDOW,
) -> int:
    """Safety net: track every post ingested in the last `window` and scored negative or
    complaint by `model_version` (the current scorer's: a verdict only an older version
    gave is stale) that is not tracked yet (e.g. scored by a path without
    `enroll_scored`). It scans the window's mentions, so it runs nightly, not every spread
    run. (Older posts have stopped spreading.)"""
    flagged = (
        _mention_keys()
        .join(
            scores,
            (scores.c.platform == mentions.c.platform)
            & (scores.c.post_id == mentions.c.post_id)
            & (scores.c.model_version == model_version),
        )
        .outerjoin(
            tracked_posts,
            (tracked_posts.c.platform == mentions.c.platform)
            & (tracked_posts.c.post_id == mentions.c.post_id),
        )
        .where(mentions.c.ingested_at >= now - window)
        .where(or_(scores.c.negative.is_(True), scores.c.complaint.is_(True)))
        .where(tracked_posts.c.post_id.is_(None))
    )
    with engine.begin() as conn:
        return _enroll(conn, flagged, now)


def due_posts(engine: Engine, now: dt.datetime, limit: int = 5000) -> list[TrackedPost]:
    """Tracked posts whose next check is due, oldest due first.

    One ordered, limited query per live state, merged here: each walks the
    (state, next_check_at) index and stops after `limit` rows, whereas
    `state IN (hot, cooling) ORDER BY next_check_at` makes PostgreSQL read and sort every
    due post on every run (cost growing with the backlog, not the budget).
    """
    columns = (
        tracked_posts.c.platform,
        tracked_posts.c.post_id,
        tracked_posts.c.brand,
        tracked_posts.c.state,
        tracked_posts.c.created_at,
        tracked_posts.c.last_growth_at,
    )
    due: list[tuple[dt.datetime, TrackedPost]] = []
    with engine.connect() as conn:
        for state in (HOT, COOLING):
            query = (
                select(tracked_posts.c.next_check_at, *columns)
                .where(tracked_posts.c.state == state, tracked_posts.c.next_check_at <= now)
                .order_by(tracked_posts.c.next_check_at)
                .limit(limit)
            )
            due.extend((row[0], TrackedPost(*row[1:])) for row in conn.execute(query))
    due.sort(key=lambda item: item[0])
    return [post for _, post in due[:limit]]


def next_state(
    post: TrackedPost,
    grew: bool,
    p_viral: float,
    now: dt.datetime,
    quiet: dt.timedelta,
    *,
    horizon: dt.timedelta,
    viral: bool = False,
) -> tuple[str, dt.datetime, dt.datetime | None]:
    """(state, next_check_at, last_growth_at) after a check; pure, so it is unit-tested.

    P(viral) keeps a flat post hot only before the horizon and below the viral line
    (`viral`): past the horizon it is moot, over the line it is 1 forever, so such a post
    is hot only while it grows. Past `horizon + TRACK_MARGIN` every post is dropped."""
    last_growth = now if grew else (post.last_growth_at or post.created_at)
    age = now - post.created_at
    if age >= horizon + TRACK_MARGIN:
        return DEAD, now + quiet, last_growth
    if not grew and now - last_growth >= quiet:
        return DEAD, now + quiet, last_growth
    if grew or (p_viral >= HOT_P_VIRAL and age < horizon and not viral):
        return HOT, now, last_growth
    return COOLING, now + COOLING_INTERVAL, last_growth


def unmeasured_state(
    post: TrackedPost,
    now: dt.datetime,
    measured_at: dt.datetime,
    quiet: dt.timedelta,
    *,
    horizon: dt.timedelta,
) -> tuple[str, dt.datetime, dt.datetime | None]:
    """(state, next_check_at, last_growth_at) for a due post its refresh did not reach (the
    platform down or rate-limited): not a check, so not "no growth". It
    keeps its state and is tried again at its usual pace, until it has gone unmeasured for
    `quiet` or is past `horizon + TRACK_MARGIN`: then dropped."""
    last_growth = post.last_growth_at or post.created_at
    if now - post.created_at >= horizon + TRACK_MARGIN or now - measured_at >= quiet:
        return DEAD, now + quiet, last_growth
    if post.state == HOT:
        return HOT, now, last_growth
    return COOLING, now + COOLING_INTERVAL, last_growth


def reschedule_many(conn: Connection, outcomes: list[tuple], now: dt.datetime) -> None:
    """Record checks' outcomes, `(post, state, next_check_at, last_growth_at)` each, in the
    caller's transaction (with the estimates): one statement executed for many rows."""
    if not outcomes:
        return
    statement = (
        update(tracked_posts)
        .where(
            tracked_posts.c.platform == bindparam("b_platform"),
            tracked_posts.c.post_id == bindparam("b_post_id"),
        )
        .values(
            state=bindparam("b_state"),
            next_check_at=bindparam("b_next_at"),
            last_checked_at=now,
            last_growth_at=bindparam("b_growth_at"),
        )
    )
    conn.execute(
        statement,
        [
            {
                "b_platform": post.platform,
                "b_post_id": post.post_id,
                "b_state": state,
                "b_next_at": next_at,
                "b_growth_at": growth_at,
            }
            for post, state, next_at, growth_at in outcomes
        ],
    )
