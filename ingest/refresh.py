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

import bisect
import logging

from sqlalchemy import Engine, select

from ingest.errors import PostGone, RateLimited
from ingest.run import check_fits, rejected_post_id
from ingest.wechat import read_count
from ingest.weibo_parse import (
    ParseError,
    parse_count,
    parse_repost,
    quarantine_reason,
    status_id,
    storable,
)
from warehouse.cursors import cursor_queries, delete_cursor, set_cursor
from warehouse.quarantine import quarantine_item, raw_text
from warehouse.schema import metric_snapshots, reposts
from warehouse.writes import insert_ignore
from yujing.clock import Clock

log = logging.getLogger(__name__)

COUNTS_BATCH = 100
METRICS_BATCH = 50
REPOST_PAGE = 200
MAX_REPOST_PAGES = 50  # 10,000 reposts per post per refresh; more wait for the next
REPOST_GAP = "*reposts-missing-above*"  # ingest_cursors query prefix (see fetch_repost_timeline)


def _quarantine(conn, source: str, what: str, exc: Exception, item, now, post_id=None) -> None:
    """Set one unreadable item aside: any exception, not only ParseError (a field of an
    unexpected type raises whatever it raises), and its payload made storable (a NUL or
    a lone surrogate would fail the quarantine insert itself). Once per post and reason
    (`post_id`, or the item's own id): every refresh re-reads a tracked post with grown
    counts, and keyed on the whole payload it was quarantined again each time."""
    if post_id is None and source == "weibo":
        post_id = rejected_post_id("weibo", None, item)
    reason = f"{what}: {quarantine_reason(exc)}"
    quarantine_item(conn, source, reason, storable(raw_text(item)), now, post_id=post_id)


def _store_snapshots(engine: Engine, rows: list[dict]) -> int:
    with engine.begin() as conn:
        return insert_ignore(
            conn, metric_snapshots, rows, keys=["platform", "post_id", "observed_at"]
        )


def refresh_weibo_counts(
    engine: Engine, client, post_ids: list[str], clock: Clock, unreached: set | None = None
) -> int:
    """One snapshot per post from `statuses/count` (100 ids a call); returns rows stored.
    Posts the platform no longer returns (deleted) get no snapshot; those a rate limit
    kept from being asked about are added to `unreached` (their counts are unknown, not
    gone)."""
    now = clock.now()
    ids = list(dict.fromkeys(str(i) for i in post_ids))
    stored = 0
    for i in range(0, len(ids), COUNTS_BATCH):
        try:
            items = client.counts(ids[i : i + COUNTS_BATCH])
        except RateLimited as exc:
            log.warning("weibo counts: %s; %d of %d posts refreshed", exc, i, len(ids))
            if unreached is not None:
                unreached.update(ids[i:])
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


def _gap(post_id: str, since: int | str = "") -> str:
    """The cursor query of the gap in `post_id`'s reposts above the repost id `since`
    (without one: the prefix of every gap of the post)."""
    return f"{REPOST_GAP} {post_id} {since}"


def _repost_spans(engine: Engine, post_id: str) -> list[tuple[int, int | None]]:
    """The repost ids still to fetch, as (since, below) spans, newest first: reposts
    newer than the newest stored (below None), then each remembered gap: newer than its
    `since` and older than the oldest repost stored above it (filled from the top down,
    so that one moves down as the gap fills). Ids compare as numbers."""
    with engine.connect() as conn:
        stored = conn.execute(
            select(reposts.c.repost_id).where(
                reposts.c.platform == "weibo", reposts.c.root_post_id == post_id
            )
        ).scalars()
        ids = sorted(int(i) for i in stored if i.isdigit())
        gaps = cursor_queries(conn, "weibo", _gap(post_id))
    newest = ids[-1] if ids else 0
    spans: list[tuple[int, int | None]] = [(newest, None)]
    for since in sorted({int(q.rsplit(" ", 1)[1]) for q in gaps}, reverse=True):
        above = bisect.bisect_right(ids, since)
        if since < newest and above < len(ids):  # else it is the newest span's
            spans.append((since, ids[above]))
    return spans


def _paging_id(item) -> int | None:
    """A repost's id to page on (unusable ones are quarantined by the parse)."""
    try:
        return int(status_id(item, "repost")) if isinstance(item, dict) else None
    except ParseError:
        return None


def _store_reposts(engine: Engine, post_id: str, items: list, gap: str, done: bool, now) -> int:
    """One page of a post's reposts and what is left of its span, in one transaction:
    the gap below the page is remembered unless the page ended the span. Each item is
    parsed and checked against the columns alone: one that cannot be stored (a 70-digit
    parent id fails the whole insert on PostgreSQL) is quarantined with the reason."""
    rows = []
    with engine.begin() as conn:
        for item in items:
            try:
                rows.append(check_fits(reposts, [parse_repost(item, post_id, now)])[0])
            except Exception as exc:  # noqa: BLE001 - whatever broke, it is this item's
                _quarantine(conn, "weibo", f"repost of {post_id}", exc, item, now)
        stored = insert_ignore(conn, reposts, rows, keys=["platform", "root_post_id", "repost_id"])
        if done:
            delete_cursor(conn, "weibo", gap)
        else:
            set_cursor(conn, "weibo", gap, now, now)
        return stored


def fetch_repost_timeline(engine: Engine, client, post_id: str, clock: Clock) -> int:
    """Reposts of `post_id` not stored yet, each with its time, reposter and followers;
    returns new rows stored.

    Pages are read by id, newest first: `since_id` the newest stored, then `max_id` one
    below the oldest read, so a repost deleted (or added) while paging shifts nothing.
    At most MAX_REPOST_PAGES pages a refresh: when a burst has more, the gap below the
    newest read is remembered (an `ingest_cursors` row `REPOST_GAP post since`) and
    filled by the next refreshes, after the newer reposts, from its top down. Each page
    is stored with what is left of its span in one transaction, so a crash or a rate
    limit mid-way keeps what was stored and the gap that remains, and no gap can open
    between stored reposts unremembered.
    """
    now = clock.now()
    stored = pages = 0
    for since, below in _repost_spans(engine, post_id):
        gap, top = _gap(post_id, since), (None if below is None else below - 1)
        while True:
            if pages == MAX_REPOST_PAGES:
                log.warning(
                    "weibo reposts of %s: %d pages read, the limit; the rest next refresh",
                    post_id,
                    pages,
                )
                return stored
            try:
                batch = client.repost_timeline(
                    post_id, count=REPOST_PAGE, since_id=since or None, max_id=top
                )
            except RateLimited as exc:
                log.warning("weibo reposts of %s: %s; the rest next refresh", post_id, exc)
                return stored
            except PostGone as exc:
                log.info(
                    "weibo reposts of %s: %s (deleted or hidden); nothing to fetch", post_id, exc
                )
                return stored
            pages += 1
            ids = [
                i
                for i in map(_paging_id, batch)
                if i is not None and since < i and (top is None or i <= top)
            ]
            done = len(batch) < REPOST_PAGE
            stored += _store_reposts(engine, post_id, batch, gap, done, now)
            if done or not ids:  # not one usable id on a full page: kept for the next refresh
                break
            top = ids[-1] - 1  # below the page's last (oldest), as Weibo's next_cursor
    return stored


def refresh_wechat_metrics(
    engine: Engine, client, urls: dict[str, str], clock: Clock, unreached: set | None = None
) -> int:
    """Reads, 在看 (looks) and 点赞 (likes) of tracked articles, by URL; returns rows
    stored. `urls` maps post_id → article URL. Articles a rate limit kept from being
    asked about are added to `unreached`."""
    now = clock.now()
    by_url = {url: post_id for post_id, url in urls.items() if url}
    wanted = list(by_url)
    stored = 0
    for i in range(0, len(wanted), METRICS_BATCH):
        try:
            items = client.metrics(wanted[i : i + METRICS_BATCH])
        except RateLimited as exc:
            log.warning("wechat metrics: %s; %d of %d articles refreshed", exc, i, len(wanted))
            if unreached is not None:
                unreached.update(by_url[url] for url in wanted[i:])
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
                    _quarantine(conn, "wechat", f"metrics of {post_id}", exc, item, now, post_id)
        stored += _store_snapshots(engine, rows)
    return stored
