"""`yujing backfill FILE --brand CODE`: load real Weibo cascades into the warehouse.

    yujing backfill ../shared/data/cascades/weibo_rumdect_dev.jsonl.gz --brand mumu
    yujing backfill ../shared/data/cascades/deephawkes_weibo_sample.txt --brand mumu

Formats (detected from the first line; gzip detected from the name):
- JSONL events (`weibo_rumdect_dev.jsonl.gz`): `{"event_id", "root": {"mid", "uid",
  "created_at", "text", "followers", "verified", "verified_type", "reposts_count", …},
  "posts": [[seconds after the root, reposter followers, parent mid, own mid, text], …]}`;
- DeepHawkes text: `message_id TAB root_user_id TAB publish_time TAB retweet_number TAB
  retweets`, retweets being space-separated `uid/uid/…:seconds` repost paths.

Each cascade becomes one `mentions` row for the brand (the original post, raw payload
kept without its repost list), one `reposts` row per repost (time, parent, reposter's
followers), and `metric_snapshots` of the repost count every `--every` minutes over the
first `--horizon` hours (what a tracker polling the post would have seen). Everything is
insert-or-ignore on its key, so loading a file twice changes nothing. Lines that cannot
be read go to `quarantine` (source `backfill`) with the reason; the first few are named
on stderr with their line numbers (a warning), and a file with no readable line at all is
an error (exit 1): "0 cascades" with exit 0 read as a finished backfill.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import gzip
import io
import json
import math
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.weibo_parse import ParseError, mid_to_bid, storable
from spread.cascades import finite_number

BATCH = 200  # cascades per transaction
SHOWN_BAD_LINES = 3  # unreadable lines named on stderr (all of them are quarantined)


class CascadeError(ValueError):
    """A line that is not a cascade in either format (the quarantine reason)."""


@dataclass
class Cascade:
    post_id: str
    created_at: dt.datetime
    author_id: str | None
    author_followers: int | None
    author_verified: bool
    verified_type: int | None
    text: str
    raw: str
    # (repost id, parent id, seconds after the post, reposter id, reposter followers)
    reposts: list[tuple[str, str, float, str | None, int | None]] = field(default_factory=list)


# Every time in a cascade falls in this window: a value outside it (NaN, inf, 1e20, a
# millisecond stamp read as seconds) is a corrupt field, and would otherwise crash the
# load in datetime arithmetic instead of quarantining the line.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
SKEW = 86400.0  # a repost at most this many seconds "before" its post is crawl clock skew


def _number(value: object, what: str) -> float:
    """A finite number (or numeric text), else CascadeError."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return value  # the usual case, checked first: the load reads millions of these
    return finite_number(value, what, CascadeError)


def _utc(seconds: object, what: str = "created_at") -> dt.datetime:
    """Unix seconds as UTC, within EARLIEST..LATEST, else CascadeError."""
    number = _number(seconds, what)
    try:
        when = dt.datetime.fromtimestamp(number, dt.UTC)
    except (ValueError, OverflowError, OSError):
        when = None
    if when is None or not EARLIEST <= when < LATEST:
        raise CascadeError(f"{what} {seconds!r} is not a time between 1970 and 2100")
    return when


def _delay(value: object, room: float) -> float:
    """Seconds after the post (small clock skew clamped to 0), at most `room` (the seconds
    from the post to LATEST), else CascadeError."""
    delay = float(_number(value, "delay"))
    if delay < -SKEW:
        raise CascadeError(f"a day before its post ({delay} s)")
    if delay >= room:
        raise CascadeError(f"delay {delay} s is past 2100")
    return max(delay, 0.0)  # crawl clock skew: a few seconds "before" the post


def _id(value: object, what: str) -> str:
    """A post or user id as stored (non-blank, printable, fits the 64-character columns),
    else CascadeError: a null mid would otherwise be stored as the post "None", and a NUL
    or a lone surrogate would fail its whole batch's insert."""
    if (
        type(value) is str
        and 0 < len(value) <= 64
        and value == value.strip()
        and value.isprintable()
    ):
        return value  # the usual case
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        raise CascadeError(f"{what} is missing or not an id: {value!r}")
    text = str(value).strip()
    if len(text) > 64:
        raise CascadeError(f"{what} is longer than 64 characters: {text[:70]!r}…")
    if not text.isprintable():
        raise CascadeError(f"{what} holds a character no id has: {text!r}")
    return text


def _followers(value: object, what: str = "followers") -> int | None:
    """A follower count (null allowed) that fits the BIGINT column, else CascadeError."""
    if value is None:
        return None
    number = _number(value, what)
    if not 0 <= number < 2**63:
        raise CascadeError(f"{what} is not a count: {value!r}")
    return int(number)


def parse_jsonl(line: str) -> Cascade:
    try:
        event = json.loads(line)
        root = event["root"]
        mid = _id(root["mid"], "root mid")
        created = _utc(root["created_at"])
        room = (LATEST - created).total_seconds()
        reposts = []
        for post in event["posts"]:
            try:
                own, parent = _id(post[3], "mid"), _id(post[2], "parent mid")
                delay, followers = _delay(post[0], room), _followers(post[1])
            except CascadeError as exc:
                raise CascadeError(f"repost {post[3]!r}: {exc}") from None
            reposts.append((own, parent, delay, None, followers))
        summary = {k: v for k, v in event.items() if k != "posts"}
        summary["posts_count"] = len(reposts)
        vtype = root.get("verified_type")
        return Cascade(
            post_id=mid,
            created_at=created,
            author_id=_id(root["uid"], "root uid") if root.get("uid") is not None else None,
            author_followers=_followers(root.get("followers"), "root followers"),
            author_verified=bool(root.get("verified")),
            verified_type=vtype if isinstance(vtype, int) else None,  # a bool, 2**40: _fits
            text=storable(str(root.get("text") or "")),
            raw=storable(json.dumps(summary, ensure_ascii=False)),
            reposts=reposts,
        )
    except CascadeError:
        raise
    except json.JSONDecodeError as exc:  # its "line 2 column 1" would read as the file's
        raise CascadeError(
            f"not a JSONL cascade: JSONDecodeError: {exc.msg} at character {exc.pos + 1}"
        ) from None
    except (ValueError, KeyError, TypeError, IndexError, OverflowError, RecursionError) as exc:
        raise CascadeError(f"not a JSONL cascade: {type(exc).__name__}: {exc}") from None


def parse_deephawkes(line: str) -> Cascade:
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 5:
        raise CascadeError(f"not a DeepHawkes line: {len(parts)} tab-separated fields, expected 5")
    message_id, root_user, publish, _count, paths = parts
    try:
        created = _utc(int(publish), "publish time")
        post_id = _id(f"dh{int(message_id)}", "message id")
        author = _id(root_user, "root user id") if root_user else None
    except CascadeError:
        raise
    except (ValueError, OverflowError, OSError):
        raise CascadeError(
            f"unreadable message id or publish time ({message_id!r}, {publish!r})"
        ) from None
    room = (LATEST - created).total_seconds()
    reposts = []
    first_repost_by: dict[str, str] = {}
    for k, entry in enumerate(paths.split()):
        path, _, seconds = entry.rpartition(":")
        users = path.split("/")
        repost_id = f"{post_id}-{k}"
        try:
            delay = _delay(seconds, room)
            user = _id(users[-1], "user id")
            _id(repost_id, "repost id")
        except CascadeError as exc:
            raise CascadeError(f"unreadable repost {entry!r}: {exc}") from None
        if len(users) < 2:  # the original post itself (`uid:0`)
            continue
        parent = first_repost_by.get(users[-2], post_id)
        first_repost_by.setdefault(user, repost_id)
        reposts.append((repost_id, parent, delay, user, None))
    return Cascade(
        post_id=post_id,
        created_at=created,
        author_id=author,
        author_followers=None,
        author_verified=False,
        verified_type=None,
        text="",
        raw=json.dumps(
            {
                "format": "deephawkes",
                "message_id": message_id,
                "root_user_id": root_user,
                "publish_time": int(publish),
                "retweet_number": _count,
                "posts_count": len(reposts),
            }
        ),
        reposts=reposts,
    )


def open_lines(path: Path) -> tuple[Iterator[bytes], io.BufferedReader]:
    """(byte lines, the raw file whose position measures progress). Lines are decoded one
    by one, so an undecodable line is quarantined instead of ending the load."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if path.suffix == ".gz":
        return gzip.GzipFile(fileobj=raw), raw
    return raw, raw


def detect_format(path: Path) -> str:
    lines, raw = open_lines(path)
    with raw:
        for line in lines:
            if line.strip():
                return "jsonl" if line.lstrip().startswith(b"{") else "deephawkes"
    return "jsonl"


def cascades(
    path: Path, fmt: str = "auto"
) -> Iterator[tuple[int, Cascade | CascadeError, str, int]]:
    """(line number, cascade or the error, the line, bytes of the file read so far) per
    non-blank line; the number counts blank lines too, as an editor shows it."""
    fmt = detect_format(path) if fmt == "auto" else fmt
    parse = parse_jsonl if fmt == "jsonl" else parse_deephawkes
    lines, raw = open_lines(path)
    with raw:
        for number, data in enumerate(lines, 1):
            if not data.strip():
                continue
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not UTF-8 text: {exc}"
                yield number, CascadeError(reason), data.decode("utf-8", "replace"), raw.tell()
                continue
            try:
                yield number, parse(line), line, raw.tell()
            except CascadeError as exc:
                yield number, exc, line, raw.tell()


def cascade_rows(
    c: Cascade, brand, platform: str, now: dt.datetime, every: dt.timedelta, horizon: dt.timedelta
) -> tuple[dict, list[dict], list[dict]]:
    """(mention, reposts, snapshots) rows of one cascade."""
    url = None
    if platform == "weibo" and c.author_id and c.post_id.isdigit() and len(c.post_id) <= 16:
        url = f"https://weibo.com/{c.author_id}/{mid_to_bid(c.post_id)}"
    mention = {
        "platform": platform,
        "post_id": c.post_id,
        "brand": brand.code,
        "author_id": c.author_id,
        "author_name": None,
        "author_followers": c.author_followers,
        "author_verified": c.author_verified,
        "verified_type": c.verified_type,
        "title": None,
        "text": c.text,
        "created_at": c.created_at,
        "url": url,
        "root_id": None,
        "parent_id": None,
        "is_competitor": brand.competitor,
        "raw": c.raw,
        "ingested_at": now,
    }
    repost_rows = [
        {
            "platform": platform,
            "root_post_id": c.post_id,
            "repost_id": rid,
            "parent_id": parent,
            "created_at": c.created_at + dt.timedelta(seconds=delay),
            "user_id": uid,
            "followers": followers,
            "verified": None,
        }
        for rid, parent, delay, uid, followers in c.reposts
    ]
    delays = sorted(d for _, _, d, _, _ in c.reposts)
    last = delays[-1] if delays else 0.0
    step, limit = every.total_seconds(), horizon.total_seconds()
    snapshots, t = [], step
    while t <= limit:
        snapshots.append(
            {
                "platform": platform,
                "post_id": c.post_id,
                "observed_at": c.created_at + dt.timedelta(seconds=t),
                "reposts": bisect.bisect_right(delays, t),
                "comments": None,
                "likes": None,
                "reads": None,
                "looks": None,
            }
        )
        if t > last:  # one snapshot after the last repost, then the count is flat
            break
        t += step
    return mention, repost_rows, snapshots


def _fits(rows: tuple[dict, list[dict], list[dict]]) -> tuple[dict, list[dict], list[dict]]:
    """A cascade's (mention, reposts, snapshots) rows if every value fits its column on
    every warehouse (`ingest.run.check_fits`), else ParseError naming the column: one such
    value would fail its whole batch's insert on PostgreSQL."""
    from ingest.run import check_fits
    from warehouse.schema import mentions, metric_snapshots, reposts

    mention, repost_rows, snapshots = rows
    check_fits(mentions, [mention])
    check_fits(reposts, repost_rows)
    check_fits(metric_snapshots, snapshots)
    return rows


def backfill(
    engine,
    path: Path,
    brand,
    now: dt.datetime,
    platform: str = "weibo",
    fmt: str = "auto",
    every: dt.timedelta = dt.timedelta(minutes=10),
    horizon: dt.timedelta = dt.timedelta(hours=24),
    limit: int | None = None,
    progress: bool = True,
) -> dict:
    """Load one file; returns counts of cascades read, unreadable lines and rows newly
    stored, and `first_bad` (line number, reason) of the first unreadable lines."""
    from tqdm import tqdm

    from warehouse.quarantine import quarantine_item
    from warehouse.schema import mentions, metric_snapshots, reposts
    from warehouse.writes import insert_ignore

    stats = dict.fromkeys(("cascades", "bad_lines", "mentions", "reposts", "snapshots"), 0)
    first_bad: list[tuple[int, str]] = []
    stats["first_bad"] = first_bad
    pending: list[tuple[dict, list[dict], list[dict]]] = []
    bad: list[tuple[str, str]] = []

    def flush() -> None:
        with engine.begin() as conn:
            stats["mentions"] += insert_ignore(
                conn, mentions, [m for m, _, _ in pending], keys=["platform", "post_id", "brand"]
            )
            stats["reposts"] += insert_ignore(
                conn,
                reposts,
                [r for _, rs, _ in pending for r in rs],
                keys=["platform", "root_post_id", "repost_id"],
            )
            stats["snapshots"] += insert_ignore(
                conn,
                metric_snapshots,
                [s for _, _, ss in pending for s in ss],
                keys=["platform", "post_id", "observed_at"],
            )
            for reason, line in bad:  # a NUL or a lone surrogate would fail the insert
                quarantine_item(conn, "backfill", storable(f"{path.name}: {reason}"), line, now)
        pending.clear()
        bad.clear()

    bar = tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        desc=path.name,
        disable=not progress,
        file=sys.stderr,
    )
    position = 0
    with bar:
        for number, item, line, read in cascades(path, fmt):
            bar.update(read - position)
            position = read
            if not isinstance(item, CascadeError):
                try:
                    rows = _fits(cascade_rows(item, brand, platform, now, every, horizon))
                except ParseError as exc:  # parsed, but a warehouse column cannot hold it
                    item = CascadeError(str(exc))
                else:
                    stats["cascades"] += 1
                    pending.append(rows)
            if isinstance(item, CascadeError):
                stats["bad_lines"] += 1
                if len(first_bad) < SHOWN_BAD_LINES:
                    first_bad.append((number, str(item)))
                bad.append((str(item), storable(line.rstrip("\r\n"))))
            if len(pending) + len(bad) >= BATCH:
                flush()
                bar.set_postfix(cascades=stats["cascades"], reposts=stats["reposts"])
            if limit and stats["cascades"] >= limit:
                break
        flush()
    return stats


def _bad_lines_shown(stats: dict) -> str:
    """The first unreadable lines with their reasons, for one line on stderr."""
    shown = "; ".join(
        f"line {number}: {reason if len(reason) <= 120 else reason[:119] + '…'}"
        for number, reason in stats["first_bad"]
    )
    return shown + ("; …" if stats["bad_lines"] > len(stats["first_bad"]) else "")


def _bad_interval(every: float, horizon: float, observe: float | None) -> str | None:
    """Why the snapshot options are unusable, or None: `--every 0` would never advance
    the snapshot loop (and fill memory); NaN and inf fail these comparisons too."""
    century = 100 * 365 * 24.0  # hours: more would overflow datetime, and means nothing here
    if not 0 < every <= century * 60:
        return f"--every must be a positive number of minutes, not {every:g}"
    if not 0 <= horizon <= century:
        return f"--horizon must be a number of hours from 0 to {century:.0f}, not {horizon:g}"
    if observe is not None and not 0 < observe <= century * 3600:
        return f"--observe must be a positive number of seconds, not {observe:g}"
    return None


def backfill_main(argv: list[str], engine=None, clock=None) -> int:
    """The CLI; `engine` and `clock` let tests and scripts inject their own."""
    parser = argparse.ArgumentParser(prog="yujing backfill", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--brand", required=True, help="brand code the cascades are filed under")
    parser.add_argument("--platform", default="weibo")
    parser.add_argument("--format", choices=("auto", "jsonl", "deephawkes"), default="auto")
    parser.add_argument("--every", type=float, default=10.0, help="snapshot interval, minutes")
    parser.add_argument("--horizon", type=float, default=24.0, help="snapshot horizon, hours")
    parser.add_argument(
        "--observe", type=float, help="snapshot horizon in seconds (overrides --horizon)"
    )
    parser.add_argument("--limit", type=int, help="stop after this many cascades per file")
    parser.add_argument(
        "--url", help="warehouse URL (default: $YUJING_WAREHOUSE_URL or local SQLite)"
    )
    parser.add_argument("--config", help="config file (default: the active one)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    problem = _bad_interval(args.every, args.horizon, args.observe)
    if problem:
        print(f"yujing backfill: {problem}", file=sys.stderr)
        return 2

    from sqlalchemy.exc import SQLAlchemyError

    from warehouse.db import make_engine, upgrade
    from yujing.clock import SystemClock
    from yujing.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    brand = next((b for b in config.brands if b.code == args.brand), None)
    if brand is None:
        codes = ", ".join(b.code for b in config.brands)
        print(
            f"yujing backfill: unknown brand {args.brand!r} (configured: {codes})", file=sys.stderr
        )
        return 2
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"yujing backfill: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if engine is None:
        engine = make_engine(args.url)
        upgrade(engine)
    now = (clock or SystemClock()).now()
    horizon = (
        dt.timedelta(seconds=args.observe) if args.observe else dt.timedelta(hours=args.horizon)
    )
    for path in args.files:
        try:
            stats = backfill(
                engine,
                path,
                brand,
                now,
                platform=args.platform,
                fmt=args.format,
                every=dt.timedelta(minutes=args.every),
                horizon=horizon,
                limit=args.limit,
                progress=not args.no_progress,
            )
        except (OSError, EOFError, zlib.error) as exc:  # not gzip, truncated, unreadable
            # what was read before is stored; loading the file again after a fix is safe
            print(f"yujing backfill: cannot read {path}: {exc}", file=sys.stderr)
            return 2
        except SQLAlchemyError as exc:  # the warehouse went away or refused a batch
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"yujing backfill: cannot store {path}: {first}", file=sys.stderr)
            return 1
        print(
            f"{path}: {stats['cascades']} cascades ({stats['bad_lines']} unreadable lines "
            f"quarantined); new rows: {stats['mentions']} mentions, {stats['reposts']} reposts, "
            f"{stats['snapshots']} snapshots"
        )
        if not stats["cascades"]:
            # the wrong file, format or a broken export: stop, as for an unreadable file
            sys.stdout.flush()
            why = (
                f"all {stats['bad_lines']} lines are unreadable (quarantined, source "
                f"backfill): {_bad_lines_shown(stats)}"
                if stats["bad_lines"]
                else "it holds no lines"
            )
            print(f"yujing backfill: nothing loaded from {path}: {why}", file=sys.stderr)
            return 1
        if stats["bad_lines"]:
            sys.stdout.flush()
            print(
                f"warning: {path}: {stats['bad_lines']} unreadable lines quarantined "
                f"({_bad_lines_shown(stats)})",
                file=sys.stderr,
            )
    return 0
