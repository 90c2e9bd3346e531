"""`yujing silence add/list/expire` and `yujing ack INCIDENT` (like Alertmanager's amtool).

    yujing silence add --brand mumu --author 某某 --post 5012345 --keyword 异物 --for 2h \\
        --comment "known issue, PR handling it"
    yujing silence list [--all]
    yujing silence expire SILENCE_ID
    yujing ack INCIDENT_ID [--by NAME]      (a unique prefix of the id is enough; full-width
                                            look-alikes are read as their plain forms)

Both work on the warehouse at $YUJING_WAREHOUSE_URL (default: the local SQLite file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import re
import sys
import unicodedata

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


_LONGEST = dt.timedelta(days=365)  # longer is a typo, and far enough overflows datetime


def parse_duration(value: str) -> dt.timedelta:
    """`30m`, `2h`, `1.5d`, `1w`, at most a year (a longer mute should be a config change)."""
    match = _DURATION.match(str(value).strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 30m, 2h or 1d")
    days = float(match.group(1)) * {"m": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7}[match.group(2)]
    if days > _LONGEST.days:
        raise argparse.ArgumentTypeError(f"{value!r} is longer than {_LONGEST.days} days")
    return dt.timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


class WarehouseNotReady(Exception):
    """The warehouse a command would use is missing, empty or at another migration."""


def _engine():
    """The pipeline's warehouse, as it is: never created or migrated here (`silence add`
    on a mistyped SQLite path used to report success into a new empty file the pipeline
    never reads, and `silence list` migrated production)."""
    from warehouse.db import missing_sqlite_file, not_ready, shared_engine, warehouse_url

    problem = missing_sqlite_file(warehouse_url())  # before shared_engine makes its folder
    if problem:
        raise WarehouseNotReady(problem)
    engine = shared_engine()
    problem = not_ready(engine)
    if problem:
        raise WarehouseNotReady(problem)
    return engine


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


_WEIBO_URL = re.compile(r"^https?://(?:www\.|m\.)?weibo\.(?:com|cn)/(?:\d+|status|detail)/(\w+)")


def _known_post_id(engine, value: str) -> str:
    """The post id a silence should match, from what a person pastes: the id an alert
    shows, a weibo.com link, or the base62 id in one (NkYJa2fRN is post 4950000000537651).
    An id the warehouse has never seen is kept as given, with a warning on stderr."""
    from sqlalchemy import select

    from ingest.weibo_parse import bid_to_mid
    from warehouse.schema import mentions

    link = _WEIBO_URL.match(value)
    candidates = [link.group(1)] if link else [value]
    try:
        if not candidates[0].isdigit():
            candidates.append(bid_to_mid(candidates[0]))
    except ValueError:
        pass
    with engine.connect() as conn:
        for candidate in candidates:
            query = select(mentions.c.post_id).where(mentions.c.post_id == candidate).limit(1)
            if conn.execute(query).first() is not None:
                if candidate != value:
                    print(f"yujing silence: {value} is post {candidate}", file=sys.stderr)
                return candidate
    # unseen: a weibo.com link surely names a Weibo post; a bare id is kept as given
    # (a WeChat article's id may look like base62 too)
    chosen = candidates[-1] if link else value
    print(
        f"yujing silence: no post {chosen} in the warehouse (yet); the silence will match it "
        "if it comes",
        file=sys.stderr,
    )
    return chosen


def silence_main(argv: list[str], clock=None, engine=None, config=None) -> int:
    parser = argparse.ArgumentParser(prog="yujing silence", description="mute alerts")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a silence (every given matcher must match)")
    add.add_argument("--brand", help="brand code or name")
    add.add_argument("--author", help="author name (as an alert shows it)")
    add.add_argument("--post", help="post id, as an alert shows it (or the post it reposts)")
    add.add_argument("--keyword", help="a word in the post's text")
    add.add_argument("--for", dest="duration", type=parse_duration, default="2h")
    add.add_argument("--comment", required=True, help="why (shown to the team)")
    add.add_argument("--by", default=None, help="who (default: your login)")
    listing = sub.add_parser("list", help="list silences (active ones, or --all)")
    listing.add_argument("--all", action="store_true", help="include expired silences")
    expire = sub.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id")
    args = parser.parse_args(argv)

    from alerts.render import local_time
    from alerts.silences import add_silence, all_silences, expire_silence
    from yujing.clock import SystemClock
    from yujing.config import load_config

    config = config or load_config()
    tz = config.timezone  # times on the team's clock, not the warehouse's UTC
    if args.action == "add" and args.brand and args.brand.strip():
        # a silence for a brand the config does not know could never match anything
        from alerts.silences import normalize

        brands = {normalize(b.code) for b in config.brands} | {
            normalize(b.name) for b in config.brands
        }
        if normalize(args.brand) not in brands:
            known = ", ".join(f"{b.code} ({b.name})" for b in config.brands)
            print(
                f"yujing silence: unknown brand {args.brand!r}; configured: {known}",
                file=sys.stderr,
            )
            return 2
    now = (clock or SystemClock()).now()
    try:
        engine = engine or _engine()
    except WarehouseNotReady as exc:
        print(f"yujing silence: {exc}", file=sys.stderr)
        return 1
    if args.action == "add":
        post = args.post
        if post and post.strip():
            post = _known_post_id(engine, post.strip())
        matchers = {
            "brand": args.brand,
            "author": args.author,
            "post": post,
            "keyword": args.keyword,
        }
        until = now + args.duration
        try:
            with engine.begin() as conn:
                sid = add_silence(conn, matchers, until, now, args.by or _user(), args.comment)
        except ValueError as exc:
            print(f"yujing silence: {exc}", file=sys.stderr)
            return 2
        print(f"{sid} active until {local_time(until, tz)}")
        return 0
    if args.action == "list":
        with engine.connect() as conn:
            rows = all_silences(conn)
        shown = 0
        for s in rows:
            active = s["starts_at"] <= now < s["expires_at"]
            if not active and not args.all:
                continue
            shown += 1
            matchers = " ".join(f"{k}={v}" for k, v in sorted(s["matchers"].items()))
            print(
                f"{s['silence_id']}  {'active' if active else 'expired':7}  until "
                f"{local_time(s['expires_at'], tz)}  {matchers}  "
                f"by {s['created_by']}: {s['comment']}"
            )
        if not shown:
            print("no active silences" if not args.all else "no silences")
        return 0
    with engine.begin() as conn:
        if expire_silence(conn, args.silence_id, now):
            print(f"{args.silence_id} expired")
            return 0
    print(f"yujing silence: no active silence {args.silence_id!r}", file=sys.stderr)
    return 1


def ack_main(argv: list[str], clock=None, engine=None) -> int:
    """Acknowledge an incident: no more reminders at its current level (an escalation
    later is a new level, and reminds again until acknowledged)."""
    parser = argparse.ArgumentParser(prog="yujing ack", description="acknowledge an incident")
    parser.add_argument("incident_id", help="the incident id (or a unique prefix)")
    parser.add_argument("--by", default=None, help="who (default: your login)")
    args = parser.parse_args(argv)
    # as a person copies it: full-width look-alikes (an older alert showed `mumu＿milk-…`)
    # are their plain characters, as `yujing silence add` compares values; and in lower
    # case, as every incident id is (a brand code, a hex digest): LIKE ignores case on
    # SQLite and not on PostgreSQL, so `MUMU-3F` matched on one backend only
    args.incident_id = unicodedata.normalize("NFKC", args.incident_id).strip().lower()

    from sqlalchemy import or_, select, update

    from alerts.render import printable  # --by is anyone's text: no terminal escapes
    from warehouse.schema import incidents
    from yujing.clock import SystemClock

    now = (clock or SystemClock()).now()
    try:
        engine = engine or _engine()
    except WarehouseNotReady as exc:
        print(f"yujing ack: {exc}", file=sys.stderr)
        return 1
    i = incidents.c
    shown = select(i.incident_id, i.level, i.status, i.acked_at, i.acked_by, i.level_changed_at)
    with engine.begin() as conn:
        # the typed text is a plain prefix: LIKE's wildcards and the escape are literal
        prefix = re.sub(r"([\\%_])", r"\\\1", args.incident_id)
        found = conn.execute(
            shown.where(
                or_(
                    i.incident_id == args.incident_id, i.incident_id.like(prefix + "%", escape="\\")
                )
            )
        ).all()
        exact = [r for r in found if r.incident_id == args.incident_id]
        rows = exact or found
        if len(rows) != 1:
            problem = "no incident" if not rows else f"{len(rows)} incidents match"
            print(f"yujing ack: {problem} {args.incident_id!r}", file=sys.stderr)
            return 1
        row = rows[0]
        # only an unacknowledged level is acknowledged: of two people pasting the alert's
        # command at once, the first stands and the second is told so
        acked = conn.execute(
            update(incidents)
            .where(
                i.incident_id == row.incident_id,
                or_(i.acked_at.is_(None), i.acked_at < i.level_changed_at),
            )
            .values(acked_at=now, acked_by=(args.by or _user())[:100])
        ).rowcount
        if not acked:
            row = conn.execute(shown.where(i.incident_id == row.incident_id)).one()
            print(
                f"{row.incident_id} ({row.level}, {row.status}) was already acknowledged by "
                f"{printable(row.acked_by or 'someone')} at {row.acked_at:%Y-%m-%d %H:%M} UTC: "
                "no more reminders"
            )
            return 0
    print(f"{row.incident_id} ({row.level}, {row.status}) acknowledged: no more reminders")
    return 0
