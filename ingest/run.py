"""Incremental ingest of one platform: every search term, from its cursor to now, once.

Per (source, query) cursors live in `ingest_cursors`. A run fixes `now`, and for each
search term (stalest cursor first) fetches the window [cursor − overlap, now] (a first
run: [now − lookback, now]), page by page, newest first. Each page is stored in one
transaction (mentions and snapshots with insert-or-ignore on their keys, bad items to
`quarantine` with the reason); only when the whole window is stored does the term's
cursor advance to `now`. So a retry, a rerun, a crash between pages or an overlap
between runs stores nothing twice and loses nothing: whatever was not covered by a
completed window is fetched again and duplicates are ignored by key.

Backlogs: a window the platform cuts short (a rate limit, a call that keeps failing)
after some pages keeps what they stored: results come newest first, so everything newer
than the oldest second seen is complete, and the rest, [window start, that second], is
remembered as a backlog span (an `ingest_cursors` row `*backlog* START TERM` whose
`cursor_at` is the span's end) while the term's cursor moves to `now`. A run fetches
every term's new window first, then the backlog spans newest first, each shrinking from
the top as it is read and deleted once done. Without this, a window bigger than what the
platform answers between rate limits (a day of a busy term; a night's token outage) was
re-read from its newest page every run and never finished, and the terms after it were
never reached. No window or span reaches further back than
`thresholds.ingest_max_catchup_hours` (a WARNING names the terms): the cursor of a brand
put back in the config after months is months old, and its whole absence was fetched.

An item that cannot be read, whatever the reason, is quarantined alone: the rest of its
page is stored and the cursor moves on (else that one item would fail every retry and
stall the term). It is quarantined once per post and reason (`rejected_post_id`), not
again each time an overlapping run reads it with grown counts.

Search caps: Weibo search returns at most ~1,000 results per query and window. When a
window hits the cap (every page full up to the cap, or `total_number` says there is
more than the pages gave, even of a short first page: a cap below one page), the run
splits it: since results come newest first, the part newer than the oldest result seen
is complete, and the window shrinks to [start, oldest] (that second re-read) until it
fits; if the results were not in time order it bisects instead. More posts than the
cap in a single second cannot be split; that is logged. A re-read whose short first
page brings fewer than the capped one did shows no cap (a `total_number` running high)
and ends the splitting.

Faults: a rate limit stops the run cleanly (terms already done keep their cursor, what
the cut-short one stored is kept as above, the rest are fetched next run; a Retry-After is remembered and later runs skip the platform
until then); an invalid token raises TokenExpired (the task fails with a message naming
the Connection); 5xx/timeouts are retried inside the client. A term whose calls still
fail (a response that stays malformed, which is quarantined; a 4xx the platform keeps
answering for that query; 5xx past the retries) is counted in `failed_queries`, logged,
and retried next run, while the other terms go on: a term that always fails stays the
stalest and would otherwise starve every term after it. When every term fails, nothing
got through, so the run raises SourceError and the task fails for ops to see.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable, Sequence

from sqlalchemy import BigInteger, Engine, Integer, String, Table

from ingest.errors import MalformedResponse, RateLimited, SourceError, TokenExpired
from ingest.wechat import FieldMap, article_id, dig
from ingest.weibo_parse import Mention, ParseError, quarantine_reason, status_id, storable
from warehouse.cursors import cursor_queries, delete_cursor, get_cursor, put_cursor, set_cursor
from warehouse.quarantine import quarantine_item
from warehouse.schema import mentions, metric_snapshots
from warehouse.writes import insert_ignore
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)

FIRST_RUN_LOOKBACK = dt.timedelta(days=1)
BACKOFF_QUERY = "*rate-limited-until*"  # ingest_cursors row: don't call before cursor_at
BACKLOG_QUERY = "*backlog*"  # ingest_cursors rows: spans a cut-short window left to fetch
PLATFORMS = ("weibo", "wechat")


def search_terms(config: Config, brands: Sequence[str] | None = None) -> list[str]:
    """Every search term of every watched brand (competitors included), once; or only
    those of `brands` (codes), for a run partitioned by brand."""
    wanted = None if brands is None else set(brands)
    return list(
        dict.fromkeys(
            t for b in config.brands if wanted is None or b.code in wanted for t in b.search_terms
        )
    )


queries = search_terms  # the first version's name


def mention_rows(config: Config, post: Mention, raw: str, now: dt.datetime) -> list[dict]:
    """One row per brand the post is about (none when it hits an excluded word). Every
    text is made storable, whichever field a platform slipped a NUL or a lone surrogate
    into: one such character would fail the whole page's insert."""
    haystack = f"{post.title or ''} {post.text}"
    brands = [brand for brand in config.brands if brand.matches(haystack)]
    if not brands:
        return []
    row = {
        "platform": post.platform,
        "post_id": post.post_id,
        "author_id": post.author_id,
        "author_name": (post.author_name or "")[:200] or None,
        "author_followers": post.author_followers,
        "author_verified": post.author_verified,
        "verified_type": post.verified_type,
        "title": post.title,
        "text": post.text,
        "created_at": post.created_at,
        "url": post.url,
        "root_id": post.root_id,
        "parent_id": post.parent_id,
        "raw": raw,
        "ingested_at": now,
    }
    row = {k: storable(v) if isinstance(v, str) else v for k, v in row.items()}
    return [{**row, "brand": b.code, "is_competitor": b.competitor} for b in brands]


def snapshot_row(post: Mention, now: dt.datetime) -> dict:
    return {
        "platform": post.platform,
        "post_id": post.post_id,
        "observed_at": now,
        "reposts": post.reposts,
        "comments": post.comments,
        "likes": post.likes,
        "reads": post.reads,
        "looks": post.looks,
    }


def check_fits(table: Table, rows: list[dict]) -> list[dict]:
    """`rows`, if every value fits its column on every warehouse; else ParseError naming
    the column. PostgreSQL refuses a string longer than its VARCHAR or an integer past
    its column's range (SQLite stores them), and a refused row fails its whole page's
    insert: checked per item, before the insert, such an item is quarantined alone on
    every backend, whichever parser let the value through."""
    for row in rows:
        for name, value in row.items():
            kind = table.c[name].type
            if value is None:
                continue
            if isinstance(kind, String):  # Text too
                if not isinstance(value, str):
                    raise ParseError(f"{name} is {type(value).__name__}, not text")
                if kind.length and len(value) > kind.length:
                    raise ParseError(
                        f"{name} of {len(value)} characters, over the {kind.length} "
                        f"{table.name}.{name} holds"
                    )
            elif isinstance(kind, Integer):
                bound = 2**63 if isinstance(kind, BigInteger) else 2**31
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ParseError(f"{name} is {type(value).__name__}, not an integer")
                if not -bound <= value < bound:
                    raise ParseError(f"{name} {value} is out of {table.name}.{name}'s range")
    return rows


def rejected_post_id(platform: str, client, item) -> str | None:
    """The post id of an item that could not be stored, when it has a usable one (Weibo:
    its `idstr`/`id`/`mid`; WeChat: the id of its article URL), else None. The quarantine
    keeps an item with an id once per reason: re-read by the next run's overlap with
    other counts, it is the same bad post."""
    if not isinstance(item, dict):
        return None
    try:
        if platform == "weibo":
            return status_id(item, "status")
        if platform == "wechat":
            url = dig(item, (getattr(client, "fields", None) or FieldMap()).url)
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                return article_id(url)
    except Exception:  # noqa: BLE001 - no usable id: the whole payload keys it
        return None
    return None


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _newest_first(times: list[dt.datetime]) -> bool:
    return all(a >= b for a, b in zip(times, times[1:], strict=False))


def backlog_query(term: str, lo: int) -> str:
    """The `ingest_cursors` row of a span of `term` still to fetch, from `lo` (unix
    seconds) up to its `cursor_at`: what a window cut short did not reach."""
    return f"{BACKLOG_QUERY} {lo} {term}"


def _backlogs(conn, platform: str, terms: Sequence[str]) -> list[tuple[str, str, int, int]]:
    """(row query, term, lo, hi) of each span still to fetch for `terms`, newest first."""
    wanted, spans = set(terms), []
    for query in cursor_queries(conn, platform, BACKLOG_QUERY + " "):
        _, lo, term = query.split(" ", 2)
        if term in wanted and lo.lstrip("-").isdigit():
            hi = get_cursor(conn, platform, query)
            spans.append((query, term, int(lo), math.floor(hi.timestamp())))
    return sorted(spans, key=lambda s: (-s[3], s[1]))


class _Run:
    def __init__(self, engine, config, client, platform, now, progress):
        self.engine, self.config, self.client = engine, config, client
        self.platform, self.now, self.progress = platform, now, progress
        self.page_size = int(getattr(client, "page_size", 50))
        self.max_pages = max(
            1, math.ceil(int(getattr(client, "search_cap", 1000)) / self.page_size)
        )
        # the newest second of the window being fetched not known complete: everything
        # newer is stored (results come newest first), so a run cut short leaves only
        # [window start, todo_hi] to fetch (see `fetch`)
        self.todo_hi = 0
        self.stats = dict.fromkeys(
            (
                "fetched",
                "stored",
                "snapshots",
                "quarantined",
                "deleted",
                "no_brand",
                "pages",
                "splits",
                "over_cap_seconds",
                "failed_queries",
                "backlog_added",
                "backlog_done",
            ),
            0,
        )

    def store_page(self, items: list) -> list[dt.datetime]:
        """Store one page in one transaction; returns the created times, in page order.

        Any exception while reading an item or building its rows (not only ParseError: a
        field of an unexpected type raises whatever it raises) quarantines that item with
        the reason; it must not abort the page, or the term's cursor never moves.
        """
        rows, snaps, times = [], [], []
        with self.engine.begin() as conn:
            for item in items:
                raw = storable(json.dumps(item, ensure_ascii=False, default=str))
                try:
                    post = self.client.parse(item, self.now)
                    found = [] if post.deleted else mention_rows(self.config, post, raw, self.now)
                    check_fits(mentions, found)
                    snap = check_fits(metric_snapshots, [snapshot_row(post, self.now)])[0]
                except Exception as exc:  # noqa: BLE001 - whatever broke, it is this item's
                    self.stats["quarantined"] += quarantine_item(
                        conn,
                        self.platform,
                        quarantine_reason(exc),
                        raw,
                        self.now,
                        post_id=rejected_post_id(self.platform, self.client, item),
                    )
                    continue
                times.append(post.created_at)
                if post.deleted:
                    self.stats["deleted"] += 1
                    continue
                if not found:  # an excluded word, or the term matched only loosely
                    self.stats["no_brand"] += 1
                    continue
                rows += found
                snaps.append(snap)
            stored = insert_ignore(conn, mentions, rows, keys=["platform", "post_id", "brand"])
            self.stats["snapshots"] += insert_ignore(
                conn, metric_snapshots, snaps, keys=["platform", "post_id", "observed_at"]
            )
        self.stats["stored"] += stored
        self.stats["fetched"] += len(items)
        self.stats["pages"] += 1
        if self.progress and stored:
            self.progress(self.stats["stored"])
        return times

    def pages(
        self, query: str, lo: int, hi: int, shown: int = 1
    ) -> tuple[bool, list[dt.datetime], int]:
        """Page through [lo, hi] (unix seconds, inclusive); (hit the cap?, created times,
        items on the first page).

        The platform says when the pages end: a `has_more` (WeChat vendors) is believed,
        so a vendor serving fewer per page than asked is still read to the end; without
        one (Weibo) a short page is the last. An empty page always ends (a vendor saying
        `has_more` for ever cannot keep us paging), and so does `max_pages`. Then the
        window hit the cap if `total` says there were more than the pages gave; when it
        says so of the first page, the cap is below one page (a server capping at 30
        while we ask 50), if that page brought at least the `shown` items the cap was
        seen to be: a total that runs high, as Weibo's estimate may, is found out at the
        next, smaller read instead of splitting the window down to single seconds.
        """
        times: list[dt.datetime] = []
        fetched = first = 0
        for page in range(1, self.max_pages + 1):
            items = self.client.search(query, _utc(lo), _utc(hi), page=page, count=self.page_size)
            times += self.store_page(items)
            fetched += len(items)
            first = first or len(items)
            more = getattr(items, "has_more", None)
            oldest = math.floor(min(times).timestamp()) if times else None
            if oldest is not None and lo <= oldest <= hi and _newest_first(times):
                self.todo_hi = min(self.todo_hi, oldest)  # (oldest, hi] is stored
            if not items or not (len(items) >= self.page_size if more is None else more):
                total = getattr(items, "total", None)
                capped = total is not None and total > fetched
                return capped and (page > 1 or fetched >= shown), times, first
        return True, times, first

    def fetch_window(self, query: str, lo: int, hi: int, shown: int = 1) -> None:
        """Fetch [lo, hi], split while capped; `shown`: the least a capped first page of
        this window brought (see `pages`)."""
        while lo <= hi:
            self.todo_hi = min(self.todo_hi, hi)
            capped, times, first = self.pages(query, lo, hi, shown)
            if not capped:
                return
            if first < self.page_size:  # a cap below one page: the next read must reach it
                shown = max(shown, first)
            self.stats["splits"] += 1
            ordered = _newest_first(times)
            oldest = math.floor(min(times).timestamp()) if times else None
            if not ordered or oldest is None or not lo <= oldest <= hi:
                if hi <= lo:
                    self._over_cap(query, lo)
                    return
                middle = (lo + hi) // 2
                log.info("%s %r: unordered capped window, bisecting", self.platform, query)
                # the newer half first, so what is stored is always the window's top
                self.fetch_window(query, middle + 1, hi, shown)
                self.fetch_window(query, lo, middle, shown)
                return
            if oldest == hi:  # the whole cap within one second: cannot split further
                self._over_cap(query, hi)
                hi -= 1
            else:
                hi = oldest  # (oldest, hi] is complete; re-read the oldest second

    def fetch(self, query: str, lo: int, hi: int) -> None:
        """Fetch [lo, hi]. When the platform cuts the run
        short (a rate limit, a call that keeps failing) after some of it was stored,
        the exception gets `todo`: the newest second still to fetch (the rest of the
        window is [lo, todo]), so the caller can keep what was done instead of reading
        the same newest pages again next run."""
        self.todo_hi = hi
        try:
            self.fetch_window(query, lo, hi)
        except SourceError as exc:
            exc.todo = self.todo_hi if lo <= self.todo_hi < hi else None
            raise

    def _over_cap(self, query: str, second: int) -> None:
        self.stats["over_cap_seconds"] += 1
        log.warning(
            "%s %r: more posts than the search cap within the second %s; some may be missed",
            self.platform,
            query,
            _utc(second).isoformat(),
        )


def ingest_source(
    engine: Engine,
    config: Config,
    client,
    platform: str,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
    lookback: dt.timedelta = FIRST_RUN_LOOKBACK,
    brands: Sequence[str] | None = None,
) -> dict:
    """Fetch every search term's new mentions from one platform; returns counts for the
    task log: queries done, mentions stored (new rows), snapshots, quarantined items, …"""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r} (expected one of {PLATFORMS})")
    now = clock.now()
    overlap = dt.timedelta(minutes=config.thresholds.ingest_overlap_minutes)
    terms = search_terms(config, brands)
    run = _Run(engine, config, client, platform, now, progress)
    result = {
        "platform": platform,
        "queries": 0,
        "queries_total": len(terms),
        "rate_limited": False,
        "backoff_until": None,
        "caught_up_from": None,
    }
    with engine.connect() as conn:
        until = get_cursor(conn, platform, BACKOFF_QUERY)
        cursors = {t: get_cursor(conn, platform, t) for t in terms}
        backlog = _backlogs(conn, platform, terms)
    if until is not None and until > now:
        log.warning("%s: rate limited until %s; skipping this run", platform, until.isoformat())
        return {**result, **run.stats, "rate_limited": True, "backoff_until": until.isoformat()}
    end = math.floor(now.timestamp())
    failure: SourceError | None = None

    def failed(exc: SourceError, term: str) -> bool:
        """Count and report a window that failed; True when the run must stop."""
        nonlocal failure
        if isinstance(exc, TokenExpired):
            raise exc  # nothing works until ops renew the token: fail, naming the Connection
        if isinstance(exc, RateLimited):
            result["rate_limited"] = True
            if exc.retry_after:
                until = now + dt.timedelta(seconds=exc.retry_after)
                result["backoff_until"] = until.isoformat()
                with engine.begin() as conn:
                    set_cursor(conn, platform, BACKOFF_QUERY, until, now)
            log.warning(
                "%s: %s; %d of %d search terms done, the rest resume next run",
                platform,
                exc,
                result["queries"],
                len(terms),
            )
            return True
        failure = exc
        if isinstance(exc, MalformedResponse):
            with engine.begin() as conn:
                run.stats["quarantined"] += quarantine_item(
                    conn,
                    platform,
                    f"malformed response for {term!r}: {exc}",
                    storable(exc.raw),
                    now,
                )
        # the clients' messages carry no secret (ingest.http)
        log.error("%s %r: %s; retried next run", platform, term, exc)
        return False

    # a cursor (or backlog) older than this is a term that was out of the config, or an
    # ingest stopped for days: its whole absence is not fetched (months, for a brand back
    # after months), only the catch-up limit
    oldest = now - dt.timedelta(hours=config.thresholds.ingest_max_catchup_hours)
    floor = math.floor(oldest.timestamp())
    stale = [t for t in terms if cursors[t] is not None and cursors[t] - overlap < oldest]
    if stale:
        result["caught_up_from"] = oldest.isoformat()
        log.warning(
            "%s: %d search term(s) last fetched before %s (out of the config, or ingest "
            "stopped): fetching from then; older posts are not fetched (%s)",
            platform,
            len(stale),
            oldest.isoformat(),
            ", ".join(repr(t) for t in stale[:5]),
        )
    expired = [b for b in backlog if b[3] < floor]
    if expired:
        with engine.begin() as conn:
            for row, *_ in expired:
                delete_cursor(conn, platform, row)
        log.warning("%s: %d backlog span(s) older than %s dropped", platform, len(expired), oldest)
    backlog = [(row, t, max(lo, floor), hi) for row, t, lo, hi in backlog if hi >= floor]
    stop, broken = False, set()
    # the stalest terms first, so a run cut short by a rate limit never starves a term
    for term in sorted(terms, key=lambda t: (cursors[t] is not None, cursors[t] or now)):
        start = (cursors[term] - overlap) if cursors[term] else now - lookback
        lo = max(math.floor(start.timestamp()), floor)
        try:
            run.fetch(term, lo, end)
        except SourceError as exc:
            if not isinstance(exc, RateLimited | TokenExpired):
                run.stats["failed_queries"] += 1
            todo = getattr(exc, "todo", None)
            if todo is not None:  # the newest part is stored: the rest is a backlog span
                with engine.begin() as conn:
                    put_cursor(conn, platform, backlog_query(term, lo), _utc(todo), now)
                    set_cursor(conn, platform, term, now, now)
                run.stats["backlog_added"] += 1
            broken.add(term)
            if failed(exc, term):
                stop = True
                break
            continue
        with engine.begin() as conn:
            set_cursor(conn, platform, term, now, now)
        result["queries"] += 1
    # then what earlier runs were cut short before reaching, newest first: every term's
    # new posts come before old ones
    for row, term, lo, hi in [] if stop else backlog:
        if term in broken:  # failing now: its backlog waits for a run where it works
            continue
        try:
            run.fetch(term, lo, hi)
        except SourceError as exc:
            todo = getattr(exc, "todo", None)
            if todo is not None:
                with engine.begin() as conn:
                    put_cursor(conn, platform, row, _utc(todo), now)
            if failed(exc, term):
                break
            continue
        with engine.begin() as conn:
            delete_cursor(conn, platform, row)
        run.stats["backlog_done"] += 1
    result.update(run.stats)
    log.info("ingest %s: %s", platform, result)
    if terms and run.stats["failed_queries"] == len(terms):
        raise SourceError(
            f"{platform}: every search term failed ({len(terms)} of {len(terms)}); "
            f"the last: {failure}"
        ) from failure
    return result
