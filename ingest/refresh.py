"""Fresh counts for tracked posts (append-only snapshots) and Weibo repost timelines.

Called by the spread stage (spread/stage.py) with these exact signatures. Each returns
how many rows it stored; a rerun at the same clock time stores nothing again (snapshots
are keyed by observed_at, reposts by id). A rate limit ends the refresh early, keeping
what was stored (the spread stage carries on with what it has); an invalid token
raises TokenExpired, and calls still failing after the client's retries SourceError,
each after the batches before it were stored (the spread stage catches both per
platform). An item that cannot be read, for any reason, is quarantined alone
(`_quarantine`) and the others are stored. WeChat reads are read as `read_count`: the
"10万+" cap is 100001, as the number form says.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from ingest.errors import PostGone, RateLimited
from ingest.wechat import read_count
from ingest.weibo_parse import ParseError, parse_count, parse_repost, quarantine_reason, storable
from warehouse.quarantine import quarantine_item, raw_text
from warehouse.schema import metric_snapshots, reposts
from warehouse.writes import insert_ignore
from yujing.clock import Clock

log = logging.getLogger(__name__)

COUNTS_BATCH = 100
METRICS_BATCH = 50
REPOST_PAGE = 200
MAX_REPOST_PAGES = 50  # 10,000 new reposts per post per refresh


def _quarantine(conn, source: str, what: str, exc: Exception, item, now) -> None:
    """Set one unreadable item aside: any exception, not only ParseError (a field of an
    unexpected type raises whatever it raises), and its payload made storable (a NUL or
    a lone surrogate would fail the quarantine insert itself)."""
    reason = f"{what}: {quarantine_reason(exc)}"
    quarantine_item(conn, source, reason, storable(raw_text(item)), now)


def _store_snapshots(engine: Engine, rows: list[dict]) -> int:
    with engine.begin() as conn:
        return insert_ignore(
            conn, metric_snapshots, rows, keys=["platform", "post_id", "observed_at"]
        )


def refresh_weibo_counts(engine: Engine, client, post_ids: list[str], clock: Clock) -> int:
    """One snapshot per post from `statuses/count` (100 ids a call); returns rows stored.
    Posts the platform no longer returns (deleted) get no snapshot."""
    now = clock.now()
    ids = list(dict.fromkeys(str(i) for i in post_ids))
    stored = 0
    for i in range(0, len(ids), COUNTS_BATCH):
        try:
            items = client.counts(ids[i : i + COUNTS_BATCH])
        except RateLimited as exc:
            log.warning("weibo counts: %s; %d of %d posts refreshed", exc, i, len(ids))
            break
        rows, asked = [], set(ids[i : i + COUNTS_BATCH])
        for item in items:
            try:
                post_id = str(item.get("idstr") or item["id"])
                if post_id not in asked:
                    raise ParseError(f"count for a post not asked for ({post_id})")
                rows.append(
                    {
                        "platform": "weibo",
                        "post_id": post_id,
                        "observed_at": now,
                        "reposts": parse_count(item.get("reposts"), "reposts"),
                        "comments": parse_count(item.get("comments"), "comments"),
                        "likes": parse_count(item.get("attitudes"), "attitudes"),
                        "reads": None,
                        "looks": None,
                    }
                )
            except Exception as exc:  # noqa: BLE001 - whatever broke, it is this item's
                with engine.begin() as conn:
                    _quarantine(conn, "weibo", "statuses/count item", exc, item, now)
        stored += _store_snapshots(engine, rows)
    return stored


def _newest_repost_id(engine: Engine, post_id: str) -> int | None:
    with engine.connect() as conn:
        ids = conn.execute(
            select(reposts.c.repost_id).where(
                reposts.c.platform == "weibo", reposts.c.root_post_id == post_id
            )
        ).scalars()
        return max((int(i) for i in ids if str(i).isdigit()), default=None)


def fetch_repost_timeline(engine: Engine, client, post_id: str, clock: Clock) -> int:
    """Reposts of `post_id` newer than the newest one stored (`since_id`), each with its
    time, reposter and followers; returns new rows stored.

    The pages (newest first) are collected and then stored in one transaction: a crash or
    a rate limit mid-way stores nothing, and the next call asks again from the same
    since_id, so no gap can open between stored reposts.
    """
    now = clock.now()
    since = _newest_repost_id(engine, post_id)
    items: list = []
    for page in range(1, MAX_REPOST_PAGES + 1):
        try:
            batch = client.repost_timeline(post_id, page=page, count=REPOST_PAGE, since_id=since)
        except RateLimited as exc:
            log.warning("weibo reposts of %s: %s; retried next refresh", post_id, exc)
            return 0
        except PostGone as exc:
            log.info("weibo reposts of %s: %s (deleted or hidden); nothing to fetch", post_id, exc)
            return 0
        items += batch
        if len(batch) < REPOST_PAGE:
            break
    else:
        log.warning(
            "weibo reposts of %s: over %d new since the last refresh; storing the newest",
            post_id,
            MAX_REPOST_PAGES * REPOST_PAGE,
        )
    rows = []
    with engine.begin() as conn:
        for item in items:
            try:
                rows.append(parse_repost(item, post_id, now))
            except Exception as exc:  # noqa: BLE001 - whatever broke, it is this item's
                _quarantine(conn, "weibo", f"repost of {post_id}", exc, item, now)
        return insert_ignore(conn, reposts, rows, keys=["platform", "root_post_id", "repost_id"])


def refresh_wechat_metrics(engine: Engine, client, urls: dict[str, str], clock: Clock) -> int:
    """Reads, 在看 (looks) and 点赞 (likes) of tracked articles, by URL; returns rows
    stored. `urls` maps post_id → article URL."""
    now = clock.now()
    by_url = {url: post_id for post_id, url in urls.items() if url}
    wanted = list(by_url)
    stored = 0
    for i in range(0, len(wanted), METRICS_BATCH):
        try:
            items = client.metrics(wanted[i : i + METRICS_BATCH])
        except RateLimited as exc:
            log.warning("wechat metrics: %s; %d of %d articles refreshed", exc, i, len(wanted))
            break
        rows = []
        for item in items:
            url = item.get("url")
            post_id = by_url.get(url) if isinstance(url, str) else None  # a list: unhashable
            if post_id is None:
                continue
            try:
                rows.append(
                    {
                        "platform": "wechat",
                        "post_id": post_id,
                        "observed_at": now,
                        "reposts": None,
                        "comments": None,
                        "likes": parse_count(item.get("old_like_num"), "old_like_num"),
                        "reads": read_count(item.get("read_num")),
                        "looks": parse_count(item.get("like_num"), "like_num"),
                    }
                )
            except Exception as exc:  # noqa: BLE001 - whatever broke, it is this item's
                with engine.begin() as conn:
                    _quarantine(conn, "wechat", f"metrics of {post_id}", exc, item, now)
        stored += _store_snapshots(engine, rows)
    return stored
