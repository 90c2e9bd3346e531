"""Reading a post's comments across checks, on from where the last check stopped.

comments/show pages a post's comments newest first, by page number, 200 a page, and one
check reads at most `responses.max_comment_pages` pages: a brand reply buried deeper
under newer comments was out of reach, and the post was recorded "unanswered" for good.
So what the checks have read is remembered as a span of positions counted from the
thread's oldest comment (1), which new comments (arriving on top) do not shift. Each
check reads the comments added above the span since the last one (from the bottom of
them up, so the span stays one piece), then goes on below it, until its page budget or
time runs out. Only a complete reading (the span reaches the thread's end and nothing
newer is unread) may conclude "no reply"; anything less is inconclusive.

Positions come from `total_number`. When it runs high (Weibo counts comments it no
longer shows) the end turns up short of position 1: inconclusive, and the next check,
finding nothing further back either, concludes. A comment deleted inside the span shifts
the newer ones by one: the first page below them overlaps the span and absorbs that.
Spans live in `ingest_cursors` (query `*comments-read* <post id> <brand> <low> <high>`,
one per post and brand), dropped once the brand answered or the post is not checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from warehouse.cursors import cursor_queries, delete_cursor, set_cursor

COMMENTS_PER_PAGE = 200  # the most comments/show returns per call
SPAN_QUERY = "*comments-read*"  # ingest_cursors query prefix (source `weibo`)


@dataclass(frozen=True)
class Span:
    """Comments read so far: positions `low`..`high`, counted from the oldest (1)."""

    low: int
    high: int


@dataclass(frozen=True)
class Reading:
    comments: list[dict]
    span: Span | None  # None: no total_number, so no positions (nothing to remember)
    complete: bool


def read_comments(
    weibo,
    post_id: str,
    span: Span | None,
    max_pages: int,
    out_of_time: Callable[[], bool],
) -> Reading:
    """Read on from `span` (None: never read), at most `max_pages` pages."""
    per = COMMENTS_PER_PAGE
    pages: dict[int, list] = {}

    def fetch(n: int) -> list:
        if n not in pages:
            pages[n] = weibo.comments(post_id, page=n, count=per)
        return pages[n]

    def room() -> bool:
        return len(pages) < max_pages and not out_of_time()

    total = getattr(fetch(1), "total", None)
    if total is None:  # no positions: from the top as far as allowed, remembering nothing
        n = 1
        while len(pages[n]) == per and room():
            n += 1
            fetch(n)
        return Reading(_comments(pages), None, len(pages[n]) < per)

    low, high = (span.low, span.high) if span else (total + 1, total)
    # the comments added since the last check, from the bottom of them up
    n = max(total - high, 0) // per + 1
    while n > 1 and room():
        fetch(n)
        n -= 1
    high = total if n <= 1 else max(high, total - n * per)
    # then on below the span, to the thread's end
    n = (total - low + 1) // per + 1 if low > 1 else 0
    while n and (n in pages or room()):
        page = fetch(n)
        below = total - ((n - 1) * per + len(page)) + 1  # the page's oldest comment
        if len(page) == per:  # a full page is never the end
            low, n = max(min(low, below), 2), n + 1
            continue
        # the end: short of position 1 only when total_number runs high; a second check
        # that finds nothing further back than the span settles it
        settled = below <= 1 or (span is not None and below >= low)
        low = 1 if settled else min(low, below)
        break
    return Reading(_comments(pages), Span(low, high), low <= 1 and high >= total)


def _comments(pages: dict[int, list]) -> list[dict]:
    return [c for n in sorted(pages) for c in pages[n] if isinstance(c, dict)]


def _query(post_id: str, brand: str, span: Span) -> str:
    return f"{SPAN_QUERY} {post_id} {brand} {span.low} {span.high}"


def load_spans(conn: Connection) -> dict[tuple[str, str], Span]:
    """Every remembered span, by (post id, brand)."""
    spans = {}
    for query in cursor_queries(conn, "weibo", f"{SPAN_QUERY} "):
        try:
            post_id, brand, low, high = query[len(SPAN_QUERY) + 1 :].rsplit(" ", 3)
            spans[(post_id, brand)] = Span(int(low), int(high))
        except ValueError:
            continue  # not ours to read
    return spans


def save_span(
    conn: Connection,
    post_id: str,
    brand: str,
    before: Span | None,
    after: Span | None,
    now: dt.datetime,
) -> None:
    """Replace the remembered span (`after` None: forget it)."""
    if before == after:
        return
    if before is not None:
        delete_cursor(conn, "weibo", _query(post_id, brand, before))
    if after is not None:
        set_cursor(conn, "weibo", _query(post_id, brand, after), now, now)
