"""The spread stage: refresh what tracked posts are doing, predict, store estimates.

Weibo posts are followed through their repost timeline (who reposted, when, with how many
followers) and count snapshots; WeChat articles through read and 在看 (looks) snapshots,
where 在看 stands in for reposts. Estimates are append-only, keyed by the time they were
made, so a retry at the same clock time writes nothing new. A platform that fails during
the refresh (an outage past the client's retries, a refused token) stalls nothing: every
due post is still estimated and rescheduled from the counts stored so far, and the DAG's
next step fails, naming the platform, so ops see it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import Connection, Engine, func, select

from ingest.errors import SourceError
from spread.tracking import (
    HOT,
    TrackedPost,
    due_posts,
    next_state,
    reschedule_many,
    unmeasured_state,
)
from warehouse.db import IN_CHUNK
from warehouse.schema import mentions, metric_snapshots, reposts, spread_estimates
from warehouse.writes import insert_ignore
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def _aware(value) -> dt.datetime:
    """A stored time as an aware UTC datetime (an aggregate may come back as text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def build_observations(conn: Connection, posts: list[TrackedPost], now: dt.datetime) -> list:
    """Everything known about each post's spread up to `now` (never after it): three
    queries per chunk of posts (authors, repost timelines, count snapshots)."""
    from spread.model import Observation

    authors: dict[tuple, tuple] = {}
    timelines: dict[tuple, list] = {}
    snapshots: dict[tuple, list] = {}
    for platform in sorted({p.platform for p in posts}):
        ids = [p.post_id for p in posts if p.platform == platform]
        count_column = (
            metric_snapshots.c.looks if platform == "wechat" else metric_snapshots.c.reposts
        )
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i : i + IN_CHUNK]
            for pid, followers, verified in conn.execute(
                select(
                    mentions.c.post_id, mentions.c.author_followers, mentions.c.author_verified
                ).where(mentions.c.platform == platform, mentions.c.post_id.in_(chunk))
            ):
                authors.setdefault((platform, pid), (followers, verified))
            for pid, at, followers in conn.execute(
                select(reposts.c.root_post_id, reposts.c.created_at, reposts.c.followers)
                .where(
                    reposts.c.platform == platform,
                    reposts.c.root_post_id.in_(chunk),
                    reposts.c.created_at <= now,
                )
                .order_by(reposts.c.root_post_id, reposts.c.created_at)
            ):
                timelines.setdefault((platform, pid), []).append((at, followers))
            for pid, at, count in conn.execute(
                select(metric_snapshots.c.post_id, metric_snapshots.c.observed_at, count_column)
                .where(
                    metric_snapshots.c.platform == platform,
                    metric_snapshots.c.post_id.in_(chunk),
                    metric_snapshots.c.observed_at <= now,
                    count_column.is_not(None),
                )
                .order_by(metric_snapshots.c.post_id, metric_snapshots.c.observed_at)
            ):
                snapshots.setdefault((platform, pid), []).append((at, count))
    out = []
    for post in posts:
        key = (post.platform, post.post_id)
        followers, verified = authors.get(key, (None, False))
        timeline = timelines.get(key, [])
        out.append(
            Observation(
                created_at=_ts(post.created_at),
                observe_at=_ts(now),
                author_followers=followers,
                author_verified=bool(verified),
                repost_times=[_ts(t) for t, _ in timeline],
                repost_followers=[int(f or 0) for _, f in timeline],
                count_snapshots=[(_ts(t), int(c)) for t, c in snapshots.get(key, [])],
            )
        )
    return out


def _last_measured_many(
    conn: Connection, posts: list[TrackedPost], now: dt.datetime
) -> list[dt.datetime | None]:
    """When each post's counts were last fetched (its newest snapshot up to `now`)."""
    newest: dict[tuple, dt.datetime] = {}
    for platform in sorted({p.platform for p in posts}):
        ids = [p.post_id for p in posts if p.platform == platform]
        for i in range(0, len(ids), IN_CHUNK):
            for pid, at in conn.execute(
                select(metric_snapshots.c.post_id, func.max(metric_snapshots.c.observed_at))
                .where(
                    metric_snapshots.c.platform == platform,
                    metric_snapshots.c.post_id.in_(ids[i : i + IN_CHUNK]),
                    metric_snapshots.c.observed_at <= now,
                )
                .group_by(metric_snapshots.c.post_id)
            ):
                newest[(platform, pid)] = _aware(at)
    return [newest.get((p.platform, p.post_id)) for p in posts]


def _last_observed_many(conn: Connection, posts: list[TrackedPost]) -> list[int | None]:
    """The observed count of each post's newest estimate (None when it has none)."""
    e = spread_estimates.alias("e")
    newer = spread_estimates.alias("newer")
    latest: dict[tuple, int] = {}
    for platform in sorted({p.platform for p in posts}):
        ids = [p.post_id for p in posts if p.platform == platform]
        for i in range(0, len(ids), IN_CHUNK):
            newest = (
                select(func.max(newer.c.estimated_at))
                .where(newer.c.platform == e.c.platform, newer.c.post_id == e.c.post_id)
                .scalar_subquery()
            )
            for pid, observed in conn.execute(
                select(e.c.post_id, e.c.observed).where(
                    e.c.platform == platform,
                    e.c.post_id.in_(ids[i : i + IN_CHUNK]),
                    e.c.estimated_at == newest,
                )
            ):
                latest[(platform, pid)] = observed
    return [latest.get((p.platform, p.post_id)) for p in posts]


def refresh_metrics(
    engine: Engine,
    posts: list[TrackedPost],
    clock: Clock,
    weibo=None,
    wechat=None,
    unreached: set | None = None,
) -> dict:
    """Ask the platforms for fresh counts (and Weibo repost timelines of hot posts).

    A platform whose calls still fail after the client's retries (SourceError: an
    outage, a refused token) is logged and named in `failed`, its refresh ends there and
    the other platform's goes on: one vendor's outage must not stop the other's counts.
    What was stored before the failure stays. Posts a rate limit kept from being asked
    about are added to `unreached` as (platform, post_id)."""
    from ingest.refresh import fetch_repost_timeline, refresh_wechat_metrics, refresh_weibo_counts

    done: dict = {"weibo_counts": 0, "weibo_reposts": 0, "wechat_metrics": 0, "failed": {}}
    weibo_posts = [p for p in posts if p.platform == "weibo"]
    if weibo is not None and weibo_posts:
        try:
            missed: set = set()
            done["weibo_counts"] = refresh_weibo_counts(
                engine, weibo, [p.post_id for p in weibo_posts], clock, missed
            )
            if unreached is not None:
                unreached.update(("weibo", pid) for pid in missed)
            for post in weibo_posts:
                if post.state == HOT:
                    done["weibo_reposts"] += fetch_repost_timeline(
                        engine, weibo, post.post_id, clock
                    )
        except SourceError as exc:
            _refresh_failed(done, "weibo", exc)
    wechat_posts = [p for p in posts if p.platform == "wechat"]
    if wechat is not None and wechat_posts:
        with engine.connect() as conn:
            urls = dict(
                conn.execute(
                    select(mentions.c.post_id, mentions.c.url).where(
                        mentions.c.platform == "wechat",
                        mentions.c.post_id.in_([p.post_id for p in wechat_posts]),
                    )
                ).all()
            )
        try:
            missed = set()
            done["wechat_metrics"] = refresh_wechat_metrics(engine, wechat, urls, clock, missed)
            if unreached is not None:
                unreached.update(("wechat", pid) for pid in missed)
        except SourceError as exc:
            _refresh_failed(done, "wechat", exc)
    return done


def _refresh_failed(done: dict, platform: str, exc: SourceError) -> None:
    # the clients' messages carry no secret (ingest.http)
    log.error(
        "spread: refreshing %s failed: %s; its posts keep their last estimates until it answers",
        platform,
        exc,
    )
    done["failed"][platform] = f"{type(exc).__name__}: {exc}"


def track_spread(
    engine: Engine,
    config: Config,
    clock: Clock,
    predictor,
    weibo=None,
    wechat=None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """One spread run: refresh due posts, predict, reschedule (negatives were enrolled
    when they were scored). Estimates and checks are stamped with the clock after the
    refresh, so each estimate includes the counts its own run fetched.

    A platform failing during the refresh is named in `refreshed["failed"]`; the other
    platform's posts are estimated as usual. A due post its platform was asked about and
    could not give new counts for (an outage, a rate limit) gets no estimate this
    run (`unmeasured` in the result): its latest one stands with its own time, and it is
    tried again (`unmeasured_state`). Estimated at `now` from old counts it read as a
    stalled cascade: a viral post's P(viral) fell from 0.77 to 0.12 over a 2 h outage,
    and alerts showed hours-old counts "as of" now (`raise_for_failed_refresh` makes the
    DAG run red for ops)."""
    started = clock.now()
    due = due_posts(engine, started)
    unreached: set = set()
    refreshed = (
        refresh_metrics(engine, due, clock, weibo=weibo, wechat=wechat, unreached=unreached)
        if due
        else {}
    )
    # Read after the refresh: it stamps what it fetched with the clock then, and the
    # estimate sees nothing after `now`, so a `now` from before it would drop the fresh
    # counts (every estimate and state one check late; a growing post could die).
    now = clock.now()
    t = config.thresholds
    quiet = dt.timedelta(hours=t.track_quiet_hours)
    horizon = dt.timedelta(hours=t.horizon_hours)
    # A post whose platform was asked and gave nothing new (down, rate-limited) is not
    # estimated: at `now` the model would read the missing counts as the
    # cascade stalling (a viral post's P(viral) fell from 0.77 to 0.12 in a 2 h outage)
    # and the alert would show old counts as current. Its latest estimate stands, with
    # its own time; it is tried again next run (`unmeasured_state`).
    # A post its platform answered without (deleted or hidden) is estimated from its
    # stored counts: they are final, and it reads as the stalled cascade it is (held as
    # unmeasured, its incident stayed open a day, a critical one reminding every hour).
    asked = {p for p, client in (("weibo", weibo), ("wechat", wechat)) if client is not None}
    failed = set(refreshed.get("failed", {}))
    with engine.connect() as conn:
        measured = _last_measured_many(conn, due, now)
        unmeasured = [
            post.platform in asked
            and (at is None or at < started)
            and (post.platform in failed or (post.platform, post.post_id) in unreached)
            for post, at in zip(due, measured, strict=True)
        ]
        fresh = [post for post, skip in zip(due, unmeasured, strict=True) if not skip]
        observations = build_observations(conn, fresh, now)
        previous = _last_observed_many(conn, fresh)
    estimates = iter(predictor.predict_many(observations) if observations else [])
    previous = iter(previous)
    rows, outcomes = [], []
    states = {"hot": 0, "cooling": 0, "dead": 0, "unmeasured": 0}
    for post, skip, at in zip(due, unmeasured, measured, strict=True):
        if skip:
            states["unmeasured"] += 1
            outcome = unmeasured_state(post, now, at or post.created_at, quiet, horizon=horizon)
            outcomes.append(outcome)
            continue
        estimate, before = next(estimates), next(previous)
        rows.append(
            {
                "platform": post.platform,
                "post_id": post.post_id,
                "estimated_at": now,
                "model_version": estimate.model_version,
                "observed": int(estimate.observed),
                "predicted": float(estimate.predicted),
                "low": float(estimate.low),
                "high": float(estimate.high),
                "p_viral": float(estimate.p_viral),
                "velocity_per_10min": float(estimate.velocity_per_10min),
            }
        )
        grew = estimate.observed > (before if before is not None else 0)
        viral = estimate.observed >= t.viral_reposts
        outcome = next_state(post, grew, estimate.p_viral, now, quiet, horizon=horizon, viral=viral)
        states[outcome[0]] += 1
        outcomes.append(outcome)
    # Estimates and the tracking schedule commit together: a crash leaves both undone.
    with engine.begin() as conn:
        written = insert_ignore(
            conn,
            spread_estimates,
            rows,
            keys=["platform", "post_id", "estimated_at", "model_version"],
        )
        checked = [(post, *outcome) for post, outcome in zip(due, outcomes, strict=True)]
        for start in range(0, len(checked), IN_CHUNK):
            reschedule_many(conn, checked[start : start + IN_CHUNK], now)
            if progress:
                progress(min(start + IN_CHUNK, len(checked)), len(due))
    log.info("spread run: %d due, %d estimates written, states %s", len(due), written, states)
    return {
        "due": len(due),
        "estimates": written,
        "refreshed": refreshed,
        **states,
    }


def raise_for_failed_refresh(result: dict) -> None:
    """Fail (SourceError naming the platform) when a spread run's refresh failed.

    A separate step from `track_spread`, so that run still succeeds and announces its
    estimates (escalation reads them at once) while the DAG run turns red for ops."""
    failed = (result.get("refreshed") or {}).get("failed")
    if failed:
        raise SourceError(
            f"spread: refreshing {' and '.join(failed)} failed ({'; '.join(failed.values())}); "
            f"{result.get('unmeasured', 0)} of {result['due']} due posts got no new counts and "
            "keep their last estimates (with their own time); they are tried again next run"
        )
