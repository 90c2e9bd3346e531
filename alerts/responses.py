"""Brand responses: did the brand answer a complaint in public, and how fast?

In China a complaint that the brand answers quickly rarely goes viral, so the PR team wants
to know which complaints are still unanswered. For each tracked complaint post on Weibo,
and each brand it names that lists `official_accounts` in the config (a post naming two
brands is checked for each, each against its own accounts: a competitor's reply never
answers for us), `check_responses` reads the post's comments (`comments/show`, on from
where the last check stopped: alerts/comments.py) and records the first reply from one of
those uids in `brand_responses`. Identity is the uid, never the screen name: a look-alike
account ("沐沐奶粉官方微博" with another uid) does not count. A post by one of the brand's
own official accounts is its statement, not a complaint against it: not checked.

`checked_at` is when a check last read the whole thread (or found the reply, or found the
post deleted or hidden: `gone_at`): a check that read only part of it (a long thread, the
time budget) records nothing but how far it got, so a stale or partial check never reads
as "no reply yet". A gone post is no "no reply yet" either: the stage judges its incident
on the posts still up (alerts/stage.py `_lead_response`).

`response_events` is the pure rule the escalation stage applies to an open incident: once
the brand has replied, one `answered` note (into the incident's thread); while it has not,
one `noresponse` notification per level when the level's target (`responses.targets_minutes`,
counted from when the incident reached that level) has passed and a complete check at or
after that moment found no reply (one before it, or a rate-limited, failed or skipped
check since, proves nothing: the stage waits for a later run).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, and_, bindparam, case, func, select, text, update

from alerts.comments import load_spans, read_comments, save_span
from ingest.errors import PostGone, RateLimited, SourceError
from ingest.weibo_parse import ParseError, clean_html, parse_weibo_time
from warehouse.schema import brand_responses, mentions, tracked_posts
from warehouse.writes import upsert
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)

# A slow Weibo must not hold up the escalate run: one run reads comments for at most this
# long, and stops after this many posts in a row failed (each failure already cost the
# client's retries, ~1 min at 10 s timeouts). The rest are checked next run, first.
CHECK_BUDGET = dt.timedelta(minutes=3)
MAX_CONSECUTIVE_FAILURES = 3


@dataclass(frozen=True)
class Reply:
    comment_id: str
    uid: str
    name: str
    text: str
    at: dt.datetime


def official_uids(config: Config, brand: str, platform: str = "weibo") -> frozenset[str]:
    try:
        accounts = config.brand(brand).official_accounts
    except StopIteration:
        return frozenset()
    return frozenset(str(uid) for uid in accounts.get(platform, []))


def own_statement(config: Config, brand: str, platform: str, author_id) -> bool:
    """True for a post by one of `brand`'s official accounts (its apology, its recall
    notice): the brand speaking, never a complaint against it."""
    return author_id is not None and str(author_id) in official_uids(config, brand, platform)


def first_official_reply(
    comments: Iterable[dict], uids: frozenset[str], now: dt.datetime | None = None
) -> Reply | None:
    """The earliest comment written by one of `uids` (comments as the API sends them;
    unreadable ones are skipped)."""
    best: Reply | None = None
    for c in comments:
        user = c.get("user") if isinstance(c, dict) else None
        if not isinstance(user, dict):
            continue
        uid = str(user.get("idstr") or user.get("id") or "")
        if uid not in uids:
            continue
        try:
            at = parse_weibo_time(c.get("created_at"), now)
        except ParseError:
            continue
        if best is None or at < best.at:
            best = Reply(
                comment_id=str(c.get("idstr") or c.get("id") or ""),
                uid=uid,
                name=str(user.get("screen_name") or ""),
                text=clean_html(str(c.get("text") or ""))[:500],
                at=at,
            )
    return best


def response_events(
    level: str,
    level_changed_at: dt.datetime,
    responded_at: dt.datetime | None,
    targets: dict[str, int],
    now: dt.datetime,
    *,
    checked_at: dt.datetime | None,
) -> list[str]:
    """What an open incident announces about the brand's response right now; the
    notification log's keys make each of them go out once (`noresponse` once per level).
    `checked_at`: the last complete check (None: none yet); "no response" needs one at or
    after the target's deadline, else it would be a guess from before it."""
    if responded_at is not None:
        return ["answered"]
    target = targets.get(level)
    if target is None:
        return []
    deadline = level_changed_at + dt.timedelta(minutes=target)
    if now >= deadline and checked_at is not None and checked_at >= deadline:
        return ["noresponse"]
    return []


def _candidates(engine: Engine, config: Config) -> list[tuple[str, str]]:
    """(post_id, brand) of live tracked Weibo complaints not yet answered by that brand,
    for every brand the post names that has official accounts (not the post's author:
    its own statement), our brands first, then competitors (benchmarked, never alerted),
    each least recently checked first: never checked (newest first), then by last
    complete check, so posts a run skipped, failed on or read only in part come first
    next run and none starve behind the ones read every run. (Tracked posts that are
    merely negative have nothing to answer.)"""
    brands = [b.code for b in config.brands if official_uids(config, b.code)]
    if not brands:
        return []
    competitors = [b.code for b in config.brands if b.competitor]
    t, m, r = tracked_posts.c, mentions.c, brand_responses.c
    query = (
        select(t.post_id, m.brand, m.author_id)
        .select_from(
            tracked_posts.join(
                mentions, and_(m.platform == t.platform, m.post_id == t.post_id)
            ).outerjoin(
                brand_responses,
                and_(r.platform == t.platform, r.post_id == t.post_id, r.brand == m.brand),
            )
        )
        .where(
            t.platform == "weibo",
            t.state != "dead",
            m.brand.in_(brands),
            r.responded_at.is_(None),
        )
        .order_by(
            case((m.brand.in_(competitors), 1), else_=0),
            case((r.checked_at.is_(None), 0), else_=1),
            r.checked_at,
            t.created_at.desc(),
            m.brand,
        )
    )
    with engine.connect() as conn:
        tracked = [
            (row.post_id, row.brand)
            for row in conn.execute(query)
            if not own_statement(config, row.brand, "weibo", row.author_id)
        ]
        complaints: set[str] = set()
        ids = sorted({pid for pid, _ in tracked})
        for i in range(0, len(ids), 500):  # the latest score of each, by key
            complaints.update(
                row.post_id
                for row in conn.execute(
                    text(
                        "SELECT post_id, complaint FROM v_latest_scores "
                        "WHERE platform = 'weibo' AND post_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"ids": ids[i : i + 500]},
                )
                if row.complaint
            )
    return [(pid, brand) for pid, brand in tracked if pid in complaints]


def _record_gone(conn, post_id: str, brand: str, now: dt.datetime) -> None:
    """The post is deleted or hidden: no reply can come under it. On a post checked
    before, recorded (`gone_at`: since when, and as the last check) so the stage judges its
    incident on the posts still up instead of waiting for a check of this one; what the
    earlier check saw stays. A post never read gets no row: whether the brand answered it
    is unknown, and the response views would count it as unanswered."""
    r = brand_responses.c
    conn.execute(
        update(brand_responses)
        .where(r.platform == "weibo", r.post_id == post_id, r.brand == brand)
        .values(checked_at=now, gone_at=func.coalesce(r.gone_at, now))  # since first found
    )


def check_responses(
    engine: Engine,
    config: Config,
    clock: Clock,
    weibo,
    progress: Callable[[int], None] | None = None,
    *,
    budget: dt.timedelta = CHECK_BUDGET,
    max_failures: int = MAX_CONSECUTIVE_FAILURES,
) -> dict:
    """Read on in the comments of every unanswered tracked complaint; record first
    official replies, and "no reply" only after reading a whole thread. Returns counts:
    checked (comments read), incomplete (of those, read only in part: no verdict yet),
    answered (new), gone, failed, skipped, rate_limited.

    Stops early, leaving the rest (`skipped`) for the next run, at `budget` (by `clock`)
    or after `max_failures` posts in a row failed: the escalate DAG runs every few minutes,
    one run at a time, and a slow Weibo must not hold it up."""
    stats = {
        "checked": 0,
        "incomplete": 0,
        "answered": 0,
        "gone": 0,
        "failed": 0,
        "skipped": 0,
        "rate_limited": False,
    }
    if weibo is None:
        return stats
    now = clock.now()
    deadline = now + budget
    candidates = _candidates(engine, config)
    wanted = set(candidates)
    with engine.begin() as conn:
        spans = load_spans(conn)
        for key in [key for key in spans if key not in wanted]:  # answered, dead, ...
            save_span(conn, *key, spans.pop(key), None, now)
    failures_in_a_row = 0

    def stop(done: int, why: str) -> None:
        stats["skipped"] = len(candidates) - done
        log.warning(
            "responses: %s; %d of %d complaints skipped, checked first next run",
            why,
            stats["skipped"],
            len(candidates),
        )

    for done, (post_id, brand) in enumerate(candidates):
        if clock.now() >= deadline:
            stop(done, f"time budget of {budget.total_seconds():.0f} s used")
            break
        if failures_in_a_row >= max_failures:
            stop(done, f"{failures_in_a_row} posts in a row failed")
            break
        span = spans.get((post_id, brand))
        try:
            reading = read_comments(
                weibo,
                post_id,
                span,
                config.responses.max_comment_pages,
                lambda: clock.now() >= deadline,
            )
        except RateLimited as exc:
            stats["rate_limited"] = True
            stats["skipped"] = len(candidates) - done
            log.warning("responses: %s; the rest are checked next run", exc)
            break
        except PostGone:
            stats["gone"] += 1
            failures_in_a_row = 0
            with engine.begin() as conn:
                _record_gone(conn, post_id, brand, now)
            continue
        except SourceError as exc:
            stats["failed"] += 1
            failures_in_a_row += 1
            log.warning("responses: comments of %s: %s", post_id, exc)
            continue
        failures_in_a_row = 0
        reply = first_official_reply(reading.comments, official_uids(config, brand), now)
        with engine.begin() as conn:
            if reply is not None or reading.complete:  # else no verdict: only the span
                row = {
                    "platform": "weibo",
                    "post_id": post_id,
                    "brand": brand,
                    "checked_at": now,
                    "comments_seen": len(reading.comments),
                    "responded_at": reply.at if reply else None,
                    "response_id": reply.comment_id if reply else None,
                    "responder_uid": reply.uid if reply else None,
                    "responder_name": reply.name if reply else None,
                    "response_text": reply.text if reply else None,
                    "gone_at": None,  # read again: a hidden post can come back
                }
                upsert(conn, brand_responses, [row], keys=["platform", "post_id", "brand"])
            save_span(conn, post_id, brand, span, None if reply else reading.span, now)
        stats["checked"] += 1
        stats["incomplete"] += reply is None and not reading.complete
        stats["answered"] += reply is not None
        if progress:
            progress(stats["checked"])
    log.info("responses: %s", stats)
    return stats
