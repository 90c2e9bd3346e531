"""The escalation stage: evidence → incidents → routed notifications → delivery, once.

Two steps, like Alertmanager's pipeline with its notification log:

`run_escalation` reads each tracked post's latest spread estimate, score and mention,
groups the evidence into incidents (`alerts.engine.group_evidence`), runs the engine, saves
the incidents, and queues one row per (incident, event, level, receiver) in the
notification log (`notifications`, primary key `dedupe_key`; a reminder's key carries its
time bucket). INSERT ... ON CONFLICT DO NOTHING makes a rerun, a retried task or an
overlapping run queue nothing twice. Stages, in order: routing (competitors never alert),
silences (recorded as `silenced`; matched against the post that caused the event, the
incident's lead post, with its whole live text: `alerts.silences`), and the per-receiver
hourly rate limit (overflow recorded as `folded` and added to one summary per receiver and
hour, sent when the hour is over; urgent alerts, `is_urgent`, are never folded but do
count). A silenced notification about an incident still open at the same level when no
silence covers it any more is released: the same row goes back to `pending` (with the
incident as it stands), so it is sent once, late, like Alertmanager does once a silence
expires; one about a resolved incident, or a lower level, stays muted.

`deliver_pending` sends what is queued. Quiet hours defer every notification that is not
urgent (critical open/escalate/remind/no-response and ops notices are): it stays queued
and goes out when they end; it is never dropped. Each row is claimed by
a compare-and-set UPDATE to `sending` that stores a fresh claim token (in `external_id`
until the row is sent) and a lease; only the holder of the token can mark the row `sent`
or `failed`, so two overlapping runs never send the same row. A failed send goes back to
`failed` with `last_error` and is retried by the next run, forever (never lost). A
send that reached only some of its recipients (`PartialDelivery`) is `sent` with the
refusal in `last_error`: resending would repeat it to those who got it.

The honest residual: a crash after the channel accepted a message but before the row
was marked leaves it `sending`; after the lease (`LEASE`) another run takes it over.
Before resending any row that was attempted before, the stage asks the channel whether it
already delivered it (`find_sent`): the outbox checks for its file (named by the dedupe
key: exactly once), Slack looks for the message carrying the dedupe key in its metadata
(exactly once as long as the history is readable); SMTP and plain webhooks cannot be asked,
so they may deliver a second copy in that window only (at-least-once), with the same
Message-ID / Idempotency-Key so the far side can drop it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Collection
from dataclasses import asdict, fields, replace

from sqlalchemy import Connection, Engine, and_, func, or_, select, text, update

from alerts.channels import PartialDelivery
from alerts.engine import (
    Evidence,
    IncidentState,
    PostState,
    close,
    current_reasons,
    evaluate,
    group_evidence,
    incident_id,
    remind_bucket,
    strength,
    viral_crossing,
)
from alerts.render import local_time, related_count
from alerts.routing import receivers_for
from alerts.silences import active_silences, silenced_by
from warehouse.db import IN_CHUNK
from warehouse.schema import (
    brand_responses,
    incidents,
    mentions,
    metric_snapshots,
    notifications,
    spread_estimates,
)
from warehouse.writes import insert_ignore, upsert
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
EXCERPT = 140
SERIES_POINTS = 200  # points of a chart series in a payload (`thin`)
SUMMARY_LINES = 50
RESOLVED_LOOKBACK = dt.timedelta(days=2)
OCCURRENCE_PROBE = 8  # incident ids per label set looked up at once (`_latest_by_labels`)
EVENT_ORDER = {
    "open": 0,
    "escalate": 1,
    "joined": 1,
    "remind": 2,
    "resolve": 3,
    "summary": 4,
    "digest": 5,
    "ops": 6,
    "noresponse": 2,
    "answered": 2,
}
INCIDENT_EVENTS = ("open", "escalate", "joined", "remind", "resolve")
URGENT_EVENTS = ("open", "escalate", "joined", "remind", "noresponse")  # at critical
RELEASABLE = ("open", "escalate", "noresponse", "answered")  # sent late after a silence
STAT_FOR_EVENT = {
    "open": "opened",
    "escalate": "escalated",
    "joined": "joined",
    "resolve": "resolved",
    "remind": "reminded",
    "noresponse": "noresponse",
    "answered": "answered",
}
_KEY_LIMIT = 200  # notifications.dedupe_key is String(200)
_ONLY_COUNTED = f" (past its {SUMMARY_LINES} lines: counted, not shown)"


# --- evidence ---------------------------------------------------------------------------


def _json_list(value) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return ()
    return tuple(str(x) for x in items) if isinstance(items, list) else ()


def _utc(value) -> dt.datetime | None:
    """A timestamp column as an aware UTC datetime (SQLite views give strings)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _excerpt(body: str) -> str:
    """The post's text as quoted in alerts: at most `EXCERPT` characters, and a cut one
    ends with "…" so nobody reads it as the whole post."""
    return body if len(body) <= EXCERPT else body[: EXCERPT - 1] + "…"


def latest_evidence(conn: Connection, config: Config) -> list[Evidence]:
    """Every tracked complaint's latest estimate with its mention and latest score, once
    for each of our brands the post names (a post is tracked under one brand, but a
    complaint naming two of ours, or ours and a competitor, is about each of ours).

    Only complaints alert (a post that is merely negative, like a sad film review naming
    the brand, is tracked and shown to analysts but pages nobody). Competitors (and brands
    no longer in the config) are watched but never alerted on, and a post by one of the
    brand's own official accounts (its apology, its recall notice) is its statement, not a
    complaint against it (`alerts.responses.own_statement`).
    """
    from alerts.responses import own_statement

    ours = {b.code for b in config.brands if not b.competitor}
    rows = conn.execute(
        text(
            "SELECT t.platform, t.post_id, m.brand, e.observed, e.predicted, e.low, e.high, "
            "e.p_viral, e.velocity_per_10min, e.estimated_at, t.last_checked_at, "
            "s.categories, s.signals, "
            "s.complaint, m.author_id, "
            "m.author_name, m.author_followers, m.author_verified, m.verified_type, m.text, "
            "m.url, m.created_at, m.root_id, m.is_competitor "
            "FROM tracked_posts t "
            "JOIN v_latest_estimates e ON e.platform = t.platform AND e.post_id = t.post_id "
            "JOIN mentions m ON m.platform = t.platform AND m.post_id = t.post_id "
            "LEFT JOIN v_latest_scores s ON s.platform = t.platform AND s.post_id = t.post_id "
            "WHERE t.state != :dead "
            "ORDER BY t.platform, t.post_id, m.brand"
        ),
        {"dead": "dead"},
    ).mappings()
    out = []
    for r in rows:
        if r["brand"] not in ours or r["is_competitor"] or not r["complaint"]:
            continue  # (filtered here: in SQL it would make the planner scan every score)
        if own_statement(config, r["brand"], r["platform"], r["author_id"]):
            continue
        body = r["text"] or ""
        root = r["root_id"] if r["root_id"] and r["root_id"] != r["post_id"] else None
        estimated = _utc(r["estimated_at"])
        checked = _utc(r["last_checked_at"])
        out.append(
            Evidence(
                brand=r["brand"],
                platform=r["platform"],
                post_id=r["post_id"],
                observed=int(r["observed"]),
                predicted=float(r["predicted"]),
                low=float(r["low"]),
                high=float(r["high"]),
                p_viral=float(r["p_viral"]),
                velocity_per_10min=float(r["velocity_per_10min"]),
                categories=_json_list(r["categories"]),
                signals=_json_list(r["signals"]),
                author_name=r["author_name"],
                author_followers=int(r["author_followers"])
                if r["author_followers"] is not None
                else None,
                author_verified=bool(r["author_verified"]),
                author_verified_type=r["verified_type"],
                excerpt=_excerpt(body),
                text=body[:2000],
                url=r["url"],
                root_id=root,
                created_at=_utc(r["created_at"]),
                estimated_at=estimated,
                # checked after its newest estimate: that check could not get counts (the
                # platform failed or a rate limit kept it from being asked; the spread stage
                # estimates every other post it checks, stamped like the check)
                measured=checked is None or estimated is None or checked <= estimated,
            )
        )
    return out


def with_crossings(
    conn: Connection,
    config: Config,
    evidence: list[Evidence],
    known: list[IncidentState],
    now: dt.datetime,
) -> list[Evidence]:
    """`evidence` with, for each post at or over the viral line, when it crossed it
    (`alerts.engine.viral_crossing`): kept from an incident that already holds the post,
    else worked out once from its counts up to `now`: its count snapshots (在看 for WeChat,
    reposts otherwise, as the spread stage counts) and the counts its spread estimates read
    (a repost timeline's, where the snapshots lag). Only posts newly over the line are
    read, so a run costs nothing more for the posts below it."""
    line = config.thresholds.viral_reposts
    found: dict[str, tuple[dt.datetime, bool | None]] = {}
    for state in known:
        for key, post in state.posts.items():
            if post.evidence.crossed_at is not None:
                found.setdefault(key, (post.evidence.crossed_at, post.evidence.crossed_before_seen))
    todo = sorted({(ev.platform, ev.post_id) for ev in evidence if ev.observed >= line
                   and ev.key not in found})  # fmt: skip
    points: dict[str, list[tuple[dt.datetime, int]]] = {}
    m, e = metric_snapshots.c, spread_estimates.c
    for platform in sorted({p for p, _ in todo}):
        count = m.looks if platform == "wechat" else m.reposts
        ids = [pid for p, pid in todo if p == platform]
        for i in range(0, len(ids), IN_CHUNK):
            for pid, at, n in conn.execute(
                select(m.post_id, m.observed_at, count)
                .where(
                    m.platform == platform,
                    m.post_id.in_(ids[i : i + IN_CHUNK]),
                    m.observed_at <= now,
                    count.is_not(None),
                )
                .order_by(m.post_id, m.observed_at)
            ):
                points.setdefault(f"{platform}:{pid}", []).append((_utc(at), int(n)))
            for pid, at, n in conn.execute(
                select(e.post_id, e.estimated_at, e.observed).where(
                    e.platform == platform,
                    e.post_id.in_(ids[i : i + IN_CHUNK]),
                    e.estimated_at <= now,
                )
            ):
                points.setdefault(f"{platform}:{pid}", []).append((_utc(at), int(n)))
    out = []
    for ev in evidence:
        if ev.observed >= line and ev.key not in found:
            seen = points.get(ev.key, [])
            if ev.estimated_at is not None:  # the evidence's own count, if not stored yet
                seen = [*seen, (min(ev.estimated_at, now), ev.observed)]
            crossing = viral_crossing(seen, line)
            if crossing is not None:
                found[ev.key] = crossing
        if ev.observed >= line and ev.key in found:
            crossed_at, before_seen = found[ev.key]
            ev = replace(ev, crossed_at=crossed_at, crossed_before_seen=before_seen)
        out.append(ev)
    return out


# --- incident rows ----------------------------------------------------------------------

_COLUMNS = (
    "incident_id",
    "brand",
    "platform",
    "root_post_id",
    "category",
    "level",
    "status",
    "opened_at",
    "updated_at",
    "level_changed_at",
    "last_growth_at",
    "resolved_at",
    "acked_at",
    "acked_by",
    "last_reminded_at",
    "crossed_viral_at",
    "crossed_before_seen",
    "peak_p_viral",
)
_EVIDENCE_FIELDS = {f.name for f in fields(Evidence)}
_DATETIME_FIELDS = ("created_at", "estimated_at", "crossed_at")


def _evidence_to_json(ev: Evidence) -> dict:
    d = asdict(ev)
    d.pop("text", None)  # the excerpt is enough to store; silences read the live text
    for k in _DATETIME_FIELDS:
        d[k] = d[k].isoformat() if d[k] else None
    d["categories"], d["signals"] = list(ev.categories), list(ev.signals)
    return d


def _evidence_from_json(d: dict) -> Evidence:
    d = {k: v for k, v in d.items() if k in _EVIDENCE_FIELDS}
    for k in _DATETIME_FIELDS:
        if d.get(k):
            d[k] = dt.datetime.fromisoformat(d[k])
    d["categories"] = tuple(d.get("categories") or ())
    d["signals"] = tuple(d.get("signals") or ())
    return Evidence(**d)


def state_to_row(state: IncidentState) -> dict:
    row = {c: getattr(state, c) for c in _COLUMNS}
    lead = state.lead
    row["evidence"] = json.dumps(
        {
            # the lead post's facts at the top level (analysts and `yujing report` read
            # categories and signals here), then the incident's own state
            **(_evidence_to_json(lead) if lead else {}),
            "version": 2,
            "observed": state.last_observed,
            "reasons": list(state.reasons),
            "previous_level": state.previous_level,
            "lead_post": state.lead_post,
            "occurrence": state.occurrence,
            "posts": {
                key: {
                    "evidence": _evidence_to_json(p.evidence),
                    "peak_observed": p.peak_observed,
                    "last_growth_at": p.last_growth_at.isoformat(),
                    "level": p.level,
                }
                for key, p in state.posts.items()
            },
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    return row


def state_from_row(row) -> IncidentState:
    data = json.loads(row["evidence"] or "{}")
    posts = {}
    for key, p in (data.get("posts") or {}).items():
        posts[key] = PostState(
            evidence=_evidence_from_json(p["evidence"]),
            peak_observed=int(p["peak_observed"]),
            last_growth_at=dt.datetime.fromisoformat(p["last_growth_at"]),
            level=p.get("level"),
        )
    lead_post = data.get("lead_post") or ""
    if not posts and data.get("post_id"):  # a row written before incidents held posts
        ev = _evidence_from_json(data)
        posts = {ev.key: PostState(ev, int(data.get("observed", 0)), row["last_growth_at"], None)}
        lead_post = ev.key
    return IncidentState(
        **{c: row[c] for c in _COLUMNS},
        last_observed=int(data.get("observed", 0)),
        reasons=tuple(data.get("reasons") or ()),
        previous_level=data.get("previous_level"),
        posts=posts,
        lead_post=lead_post,
        occurrence=int(data.get("occurrence") or 1),
    )


def _load_incidents(conn: Connection, now: dt.datetime) -> list[IncidentState]:
    """The open incidents and those resolved within `RESOLVED_LOOKBACK` (the working set;
    older ones are read by labels when needed: `_latest_by_labels`)."""
    rows = conn.execute(
        select(incidents).where(
            or_(
                incidents.c.status == "open",
                incidents.c.resolved_at >= now - RESOLVED_LOOKBACK,
            )
        )
    ).mappings()
    return [state_from_row(r) for r in rows]


def _latest_by_labels(conn: Connection, labels: set[tuple[str, str, str]]) -> list[IncidentState]:
    """The latest stored occurrence of each (brand, platform, root post) in `labels`,
    however long ago it resolved. With it the engine treats a re-flare like any other
    regrowth of a resolved incident (the next occurrence, past every stored one) instead
    of opening occurrence 1 again: that id is taken, so its row would be overwritten and
    its alerts skipped as already queued.

    Incident ids are the labels' hash and occurrence (`<id>`, `<id>-2`, ...), one after
    the other, so one query by primary key over the first `OCCURRENCE_PROBE` ids of every
    label set finds them (another only for a label set with that many occurrences)."""
    latest: dict[tuple[str, str, str], tuple[int, dict]] = {}
    probe = dict.fromkeys(labels, 1)  # label set -> first occurrence to look for
    while probe:
        ids = {
            incident_id(*key, n): (key, n)
            for key, first in probe.items()
            for n in range(first, first + OCCURRENCE_PROBE)
        }
        for row in conn.execute(
            select(incidents).where(incidents.c.incident_id.in_(sorted(ids)))
        ).mappings():
            key, n = ids[row["incident_id"]]
            if n > latest.get(key, (0, None))[0]:
                latest[key] = (n, row)
        probe = {
            key: first + OCCURRENCE_PROBE
            for key, first in probe.items()
            if latest.get(key, (0, None))[0] == first + OCCURRENCE_PROBE - 1
        }
    out = []
    for n, row in latest.values():
        state = state_from_row(row)
        out.append(replace(state, occurrence=max(n, state.occurrence)))  # the id decides
    return out


def _group(conn: Connection, config: Config, known: list[IncidentState], evidence, now):
    """`group_evidence`, with the history of the labels a new incident would take."""
    groups = group_evidence(config, known, evidence, now)
    loaded = {s.incident_id for s in known}
    labels = {
        (ev.brand, ev.platform, ev.root_post_id)
        for before, evs in groups
        if before is None
        for ev in evs
    }
    earlier = [s for s in _latest_by_labels(conn, labels) if s.incident_id not in loaded]
    return group_evidence(config, known + earlier, evidence, now) if earlier else groups


def _save(conn: Connection, state: IncidentState) -> None:
    row = state_to_row(state)
    # acknowledgements come from `yujing ack`; never overwrite them from here
    upsert(
        conn,
        incidents,
        [row],
        keys=["incident_id"],
        update=[c for c in row if c not in ("incident_id", "acked_at", "acked_by")],
    )


# --- payloads ---------------------------------------------------------------------------


def thin(points: list, limit: int = SERIES_POINTS) -> list:
    """At most `limit` of `points` ((time, count, ...) in time order) covering their whole
    span: the first and the newest, half the rest spread evenly over time, then the steps
    where the count changes most (both ends, so a burst stays a burst). Keeping only the
    newest points drew a post tracked over ~17 h from a dotted line from 0, hiding the
    early growth the PR team looks at; payloads are stored and sent, so they stay small."""
    if len(points) <= limit:
        return list(points)
    last = len(points) - 1
    keep = {0, last}
    seconds = [p[0].timestamp() for p in points]
    even = (limit - 2) // 2
    start, span = seconds[0], seconds[-1] - seconds[0]
    for k in range(1, even + 1):
        target = start + span * k / (even + 1)
        i = bisect.bisect_left(seconds, target)
        if i > 0 and target - seconds[i - 1] <= seconds[i] - target:
            i -= 1  # the nearest point to the target time
        keep.add(i)
    steps = sorted(range(1, last + 1), key=lambda i: (-abs(points[i][1] - points[i - 1][1]), i))
    for i in steps:
        if len(keep) >= limit:
            break
        keep.update((i - 1, i) if len(keep | {i - 1, i}) <= limit else (i,))
    return [points[i] for i in sorted(keep)]


def _series(conn: Connection, platform: str, post_id: str) -> list[list]:
    """The spread estimates made of the post, [[iso time, observed, predicted, low, high],
    ...] over its whole tracking, thinned to SERIES_POINTS (`thin`)."""
    e = spread_estimates.c
    rows = conn.execute(
        select(e.estimated_at, e.observed, e.predicted, e.low, e.high)
        .where(e.platform == platform, e.post_id == post_id)
        .order_by(e.estimated_at)
    ).all()
    return [
        [r[0].isoformat(), int(r[1]), float(r[2]), float(r[3]), float(r[4])] for r in thin(rows)
    ]


def _curve(conn: Connection, platform: str, post_id: str) -> list[list]:
    """The measured repost curve: [[iso time, reposts], ...] from the metric snapshots,
    from the first to the newest, thinned to SERIES_POINTS (`thin`)."""
    m = metric_snapshots.c
    rows = conn.execute(
        select(m.observed_at, m.reposts)
        .where(m.platform == platform, m.post_id == post_id, m.reposts.is_not(None))
        .order_by(m.observed_at)
    ).all()
    return [[r[0].isoformat(), int(r[1])] for r in thin(rows)]


def _counts(conn: Connection, platform: str, post_id: str) -> dict:
    m = metric_snapshots.c
    row = (
        conn.execute(
            select(m.reposts, m.comments, m.likes, m.reads)
            .where(m.platform == platform, m.post_id == post_id)
            .order_by(m.observed_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return {k: (int(v) if v is not None else None) for k, v in (row or {}).items()}


def build_payload(
    config: Config,
    state: IncidentState,
    event: str,
    now: dt.datetime,
    series: list | None = None,
    counts: dict | None = None,
    curve: list | None = None,
) -> dict:
    """Everything a renderer shows, as plain JSON (stored in the notification log)."""
    ev = state.lead
    if ev is None:  # an incident always has a lead post; be defensive for old rows
        ev = Evidence(state.brand, state.platform, state.root_post_id, state.last_observed,
                      0.0, 0.0, 0.0, state.peak_p_viral, 0.0)  # fmt: skip
    try:
        brand_name = config.brand(state.brand).name
    except StopIteration:
        brand_name = state.brand
    counts = counts or {}
    related = [
        {
            "platform": p.evidence.platform,
            "post_id": p.evidence.post_id,
            "observed": p.peak_observed,
            "url": p.evidence.url,
            "author_name": p.evidence.author_name,
        }
        for key, p in sorted(state.posts.items(), key=lambda kv: -kv[1].peak_observed)
        if key != state.lead_post
    ][:5]
    return {
        "incident_id": state.incident_id,
        "event": event,
        "level": state.level,
        "previous_level": state.previous_level if event == "escalate" else None,
        "status": state.status,
        "brand": state.brand,
        "brand_name": brand_name,
        "platform": ev.platform,
        "post_id": ev.post_id,
        "root_post_id": state.root_post_id,
        "category": state.category,
        "categories": list(ev.categories),
        "signals": list(ev.signals),
        "excerpt": ev.excerpt,
        "text": ev.excerpt,
        "author_name": ev.author_name,
        "author_followers": ev.author_followers,
        "author_verified": ev.author_verified,
        "author_verified_type": ev.author_verified_type,
        "observed": ev.observed,
        "comments": counts.get("comments"),
        "likes": counts.get("likes"),
        "reads": counts.get("reads"),
        "predicted": round(ev.predicted, 1),
        "low": round(ev.low, 1),
        "high": round(ev.high, 1),
        "p_viral": round(ev.p_viral, 4),
        # the highest P(viral) any of its posts reached: past the model's horizon the lead's
        # own reads 0, which alone told a reminder's reader the danger had been small
        "peak_p_viral": round(state.peak_p_viral, 4),
        "velocity_per_10min": round(ev.velocity_per_10min, 1),
        "url": ev.url,
        "reasons": list(state.reasons),
        "posts": len(state.posts),
        "related": related,
        # when the lead post was published: the chart draws its curve from 0 there
        "posted_at": ev.created_at.isoformat() if ev.created_at else None,
        "opened_at": state.opened_at.isoformat(),
        "resolved_at": state.resolved_at.isoformat() if state.resolved_at else None,
        "at": now.isoformat(),
        # when the figures shown were measured (the lead's estimate; a message held by quiet
        # hours or retried says so), on the config's clock; a reminder's number
        "measured_at": min(ev.estimated_at, now).isoformat() if ev.estimated_at else None,
        "timezone": config.timezone,
        "reminder": (
            remind_bucket(config, state.level_changed_at, state.last_reminded_at)
            if event == "remind"
            else None
        ),
        "viral_line": config.thresholds.viral_reposts,
        "series": series or [],
        "observed_curve": curve or [],
    }


def dedupe_key(
    state: IncidentState, event: str, receiver: str, config: Config, answered: str | None = None
) -> str:
    """`{incident}:{event}:{level}:{receiver}`; a reminder's event carries its time bucket
    (`remind#2`: the second reminder interval since the incident became critical);
    "answered" is `{incident}:answered:{receiver}`, with the id of the post the reply was
    found under (`answered`) after the event when that is not the incident's root post: a
    reply under a later lead post is news, while the root's reply, announced once, is not
    announced again when a repost of it takes the lead (nor re-sent by an upgrade from
    keys without the post)."""
    if event == "remind":
        bucket = remind_bucket(config, state.level_changed_at, state.last_reminded_at)
        event = f"remind#{bucket}"
    key = f"{state.incident_id}:{event}:{state.level}:{receiver}"
    if event == "joined":  # once per post, whatever the level
        key = f"{state.incident_id}:{event}:{state.lead_post}:{receiver}"
    if event == "answered":  # once per post answered under, whatever the level
        post = f":{answered}" if answered and answered != state.root_post_id else ""
        key = f"{state.incident_id}:{event}{post}:{receiver}"
    if len(key) > _KEY_LIMIT:
        key = key[: _KEY_LIMIT - 17] + "~" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return key


# --- the rate limit ---------------------------------------------------------------------


def _this_hours_alerts(conn: Connection, receiver: str, now: dt.datetime, *, waiting: bool) -> int:
    """The receiver's incident alerts sent in the hour before `now`, plus (`waiting`) those
    queued and not tried yet (held by quiet hours, or due this run; not those that failed:
    a message refused every run would hold a slot of the limit for good; the send-time
    limit folds what a receiver back from an outage would get too many of).
    Both limits count on the sending clock: the send-time one (`_fold_at_send`) what went
    out, the queue-time one (`_admit`) that and what will go out before a new alert. (The
    queue-time limit used to count rows by creation: an alert admitted a minute before
    the hour could then fold at send time, and alerts held by quiet hours never counted.)"""
    n = notifications.c
    sent = (n.status == "sent") & (n.sent_at > now - dt.timedelta(hours=1))
    # nor those waiting behind a failed message of their incident (delivery sends an
    # incident's messages in order): they go when it does, and would pile up meanwhile
    failed = notifications.alias("failed")
    behind_a_failure = (
        select(failed.c.dedupe_key)
        .where(
            failed.c.incident_id == n.incident_id,
            failed.c.receiver == n.receiver,
            failed.c.status == "failed",
        )
        .exists()
    )
    waiting_rows = n.status.in_(["pending", "sending"]) & ~behind_a_failure
    counted = sent | waiting_rows if waiting else sent
    return conn.execute(
        select(func.count())
        .select_from(notifications)
        .where(n.receiver == receiver, n.event.in_(INCIDENT_EVENTS), counted)
    ).scalar_one()


def _summary_line(payload: dict) -> str:
    excerpt = " ".join(str(payload.get("excerpt") or "").split())[:60]
    post = f"帖子 post {payload['post_id']}, " if payload.get("post_id") else ""
    return (
        f"[{payload['level']}] {payload['brand_name']} {payload['event']}: {excerpt} "
        f"(P(viral) {payload['p_viral']:.0%}, {related_count(payload)}, "
        f"{post}{payload['incident_id']})"
    )


def _fold(conn: Connection, config: Config, receiver: str, payload: dict, now) -> tuple:
    """Add an alert over the receiver's hourly limit to its summary for this hour (sent
    once the hour is over). Returns the summary's dedupe key and whether the alert's line
    is in it (past `SUMMARY_LINES` an alert is only counted: "and N more")."""
    entry = {
        "count": 1,
        "lines": [_summary_line(payload)],
        # the lead post's link beside its line, as a single alert carries it
        "links": [payload.get("url")],
        "incidents": [payload["incident_id"]],
    }
    key, shown = _add_to_summary(conn, config, receiver, entry, now)
    return key, shown == 1


def _add_to_summary(conn: Connection, config: Config, receiver: str, entry: dict, now) -> tuple:
    """Add `entry` (count, lines, links, incidents: an alert's line, or a whole earlier
    summary's) to the receiver's summary for this hour. Returns its dedupe key and how
    many of the entry's lines it shows."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    n = notifications.c
    for attempt in range(1, 20):
        key = f"summary:{receiver}:{hour:%Y%m%dT%H}" + (f":{attempt}" if attempt > 1 else "")
        insert_ignore(
            conn,
            notifications,
            [
                {
                    "dedupe_key": key,
                    "incident_id": None,
                    "event": "summary",
                    "level": None,
                    "receiver": receiver,
                    "channel": config.receiver(receiver).channel,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "payload": json.dumps(
                        {
                            "event": "summary",
                            "receiver": receiver,
                            "window_start": hour.isoformat(),
                            "not_before": (hour + dt.timedelta(hours=1)).isoformat(),
                            "count": 0,
                            "lines": [],
                            "links": [],
                            "incidents": [],
                        },
                        ensure_ascii=False,
                    ),
                }
            ],
            keys=["dedupe_key"],
        )
        row = conn.execute(
            select(n.payload, n.status).where(n.dedupe_key == key).with_for_update()
        ).first()
        if row.status != "pending":
            continue  # already going out: start another summary
        summary = json.loads(row.payload)
        summary["count"] += entry["count"]
        links = summary.setdefault("links", [])
        links += [None] * (len(summary["lines"]) - len(links))
        given = entry.get("links") or []
        shown = 0
        for i, line in enumerate(entry["lines"]):
            if len(summary["lines"]) >= SUMMARY_LINES:
                break
            summary["lines"].append(line)
            links.append(given[i] if i < len(given) else None)
            shown += 1
        for incident in entry["incidents"]:
            if incident not in summary["incidents"]:
                summary["incidents"].append(incident)
        conn.execute(
            update(notifications)
            .where(n.dedupe_key == key, n.status == "pending")
            .values(payload=json.dumps(summary, ensure_ascii=False))
        )
        return key, shown
    raise RuntimeError(f"could not fold into a summary for {receiver}")


# --- run_escalation ---------------------------------------------------------------------


def run_escalation(engine: Engine, config: Config, clock: Clock) -> dict:
    """Update incidents from the latest evidence and queue their notifications.

    Returns counts: evidence, opened, escalated, joined, reminded, resolved, noresponse,
    answered,
    queued (rows to send), silenced, folded, released (silenced rows sent after all once
    their silence ended; counted in queued or folded too), closed (open incidents of a
    brand no longer ours: `_close_unwatched`).
    """
    now = clock.now()
    stats = dict.fromkeys(
        ("evidence", "opened", "escalated", "joined", "reminded", "resolved", "noresponse",
         "answered", "queued", "silenced", "folded", "released", "closed"),
        0,
    )  # fmt: skip
    with engine.begin() as conn:
        evidence = latest_evidence(conn, config)
        stats["evidence"] = len(evidence)
        known = _close_unwatched(conn, config, _load_incidents(conn, now), now, stats)
        evidence = with_crossings(conn, config, evidence, known, now)
        current = {s.incident_id: s for s in known}  # the incidents as this run leaves them
        silences = active_silences(conn, now)
        for before, items in _group(conn, config, known, evidence, now):
            state, events = evaluate(config, before, items, now)
            if state is None or (state == before and not events):
                continue
            _save(conn, state)
            current[state.incident_id] = state
            if not events:
                continue
            lead = state.lead
            series = _series(conn, lead.platform, lead.post_id) if lead else []
            counts = _counts(conn, lead.platform, lead.post_id) if lead else {}
            curve = _curve(conn, lead.platform, lead.post_id) if lead else []
            for event in events:
                stats[STAT_FOR_EVENT[event]] += 1
                if event == "joined":
                    _queue_joined(conn, config, state, now, silences, stats)
                    continue
                payload = build_payload(config, state, event, now, series, counts, curve)
                told = event in ("open", "escalate") and _with_known_answer(
                    conn, config, state, payload
                )
                _queue(conn, config, state, event, payload, silences, now, stats)
                if told:
                    answered = payload["response"]["answered_post_id"]
                    _answer_told(conn, config, state, event, answered, now)
        _response_notices(conn, config, list(current.values()), now, silences, stats)
        _release_after_silences(conn, config, list(current.values()), silences, now, stats)
    log.info("escalation: %s", stats)
    return stats


def _queue_joined(conn, config: Config, state: IncidentState, now, silences, stats) -> None:
    """Announce the post that joined the incident standing out: the alert is about that
    post (its text, author, figures and chart; the dedupe key and silences match it), in
    the incident's thread, with the incident's lead among the related posts."""
    (key,) = state.joined
    ev = state.posts[key].evidence
    lead = state.lead
    why = f"加入事件 joined incident {state.incident_id} ({state.level})" + (
        f", likelier to go viral than its lead post {lead.post_id}" if lead else ""
    )
    shown = replace(state, lead_post=key, reasons=(*current_reasons(config, ev, state.level), why))
    payload = build_payload(
        config,
        shown,
        "joined",
        now,
        _series(conn, ev.platform, ev.post_id),
        _counts(conn, ev.platform, ev.post_id),
        _curve(conn, ev.platform, ev.post_id),
    )
    _queue(conn, config, shown, "joined", payload, silences, now, stats)


def _close_unwatched(conn, config: Config, states, now: dt.datetime, stats: dict) -> list:
    """Close the open incidents of brands we no longer alert on (removed from the config,
    made a competitor, or their code renamed): their posts are not evidence any more, so
    the engine would take the silence for calm and page "resolved" while they may still
    be spreading. Closed instead (`alerts.engine.close`: status "closed", no resolved_at,
    no notification), their unsent notifications superseded, with a WARNING each.
    Returns `states` with those closed."""
    ours = {b.code for b in config.brands if not b.competitor}
    out = []
    for state in states:
        if not state.is_open or state.brand in ours:
            out.append(state)
            continue
        try:
            config.brand(state.brand)  # in the config but not ours: a competitor now
            why = "is now a competitor"
        except StopIteration:
            why = "is no longer in the config (removed, or its code renamed)"
        closed = close(
            state,
            now,
            f"closed, not resolved: brand {state.brand} left the watchlist ({why}); its "
            f"posts are no longer followed for alerts",
        )
        _save(conn, closed)
        n = notifications.c
        dropped = conn.execute(
            update(notifications)
            .where(n.incident_id == state.incident_id, n.status.in_(["pending", "failed"]))
            .values(status="superseded", last_error=f"brand {state.brand} left the watchlist")
        ).rowcount
        log.warning(
            "incident %s closed without resolving: brand %r %s; no alert is sent about it "
            "any more (%d unsent notification(s) superseded), and nobody was told it resolved",
            state.incident_id,
            state.brand,
            why,
            dropped,
        )
        stats["closed"] += 1
        out.append(closed)
    return out


def _lead_response(conn, config: Config, state: IncidentState) -> dict | None:
    """The brand's response to the post the alerts show (the incident's lead post), or
    None when there is nothing to say: no official accounts, the post it reposts is the
    brand's own statement, or the lead post was never checked.

    A reply under the lead post, or under the original it reposts, answers it; replies
    under the incident's other posts do not (the lead is the post the PR team is shown and
    asked to answer) but are listed (`others`) so a "no response" says they exist.
    `checked_at` is the lead post's last complete check (for "no response").

    A lead post found deleted or hidden (`gone`: its id) cannot be answered under, and its
    check no longer moves on: the verdict is about the incident's strongest post still up
    that has been checked (`post_id`), or, when none is, there is none (`checked_at` None:
    no "no response" about a complaint no longer to be seen)."""
    from alerts.responses import official_uids, own_statement

    if not official_uids(config, state.brand, state.platform):
        return None
    lead = state.lead
    post_id = lead.post_id if lead else state.root_post_id
    original = lead.root_post_id if lead else state.root_post_id
    r, m = brand_responses.c, mentions.c
    author = conn.execute(
        select(m.author_id).where(
            m.platform == state.platform, m.post_id == original, m.brand == state.brand
        )
    ).scalar_one_or_none()
    if own_statement(config, state.brand, state.platform, author):
        return None  # under its own statement the brand has nothing to answer
    posts = sorted(
        (p.evidence for p in state.posts.values() if p.evidence.platform == state.platform),
        key=lambda ev: strength(config, ev),
        reverse=True,
    )
    ids = {post_id, original, state.root_post_id} | {ev.post_id for ev in posts}
    rows = {
        row.post_id: row
        for row in conn.execute(
            select(r.post_id, r.responded_at, r.checked_at, r.responder_name,
                   r.response_text, r.gone_at).where(
                r.platform == state.platform, r.brand == state.brand, r.post_id.in_(sorted(ids))
            )
        )
    }  # fmt: skip

    def answers_to(pid: str, orig: str) -> list:
        return [
            rows[p] for p in dict.fromkeys((pid, orig))
            if p in rows and rows[p].responded_at is not None
        ]  # fmt: skip

    answers, gone = answers_to(post_id, original), None
    if not answers and post_id in rows and rows[post_id].gone_at is not None:
        gone = post_id
        up = [ev for ev in posts if ev.post_id in rows and rows[ev.post_id].gone_at is None]
        if up:
            post_id, original = up[0].post_id, up[0].root_post_id
            answers = answers_to(post_id, original)
    if not answers and post_id not in rows:
        return None  # the lead post not checked yet: say nothing rather than guess
    answer = min(answers, key=lambda row: row.responded_at) if answers else None
    return {
        "post_id": post_id,
        "answer": answer,
        "under": (
            None
            if answer is None
            else f"this post {post_id}"
            if answer.post_id == post_id
            else f"the original post {answer.post_id} it reposts"
        ),
        "checked_at": (
            answer.checked_at if answer else None if post_id == gone else rows[post_id].checked_at
        ),
        "gone": gone,
        "gone_at": rows[gone].gone_at if gone else None,
        "others": sorted(
            pid
            for pid, row in rows.items()
            if row.responded_at is not None and pid not in (post_id, original)
        ),
    }


def _gone_reason(config: Config, found: dict) -> list[str]:
    """Why a response verdict is about another post than the one the alerts show."""
    if not found["gone"] or found["post_id"] == found["gone"]:
        return []
    at = local_time(found["gone_at"], config.timezone)
    return [
        f"the post the alerts show, {found['gone']}, was deleted or hidden (found {at}): "
        f"the brand's response is judged under {found['post_id']}, the incident's most "
        f"spread post still up"
    ]


def _answered_reason(state: IncidentState, found: dict) -> str:
    answer = found["answer"]
    account = answer.responder_name or "官方账号 official account"
    minutes = (answer.responded_at - state.opened_at).total_seconds() / 60
    when = f"{minutes:.0f} min after the alert" if minutes >= 0 else "before the alert"
    return f"@{account} replied under {found['under']} {when}: “{answer.response_text or ''}”"


def _response_field(found: dict) -> dict:
    answer = found["answer"]
    return {
        "post_id": found["post_id"],
        "responded_at": answer.responded_at.isoformat() if answer else None,
        "responder_name": answer.responder_name if answer else None,
        # where the reply was found: the lead post or the original it reposts
        "answered_post_id": answer.post_id if answer else None,
    }


def _with_known_answer(conn, config: Config, state: IncidentState, payload: dict) -> bool:
    """An opening (or escalating) alert about a post the brand has already answered says
    so (and then no separate "answered" note about that post follows: `_answer_told`).
    True when it did."""
    found = _lead_response(conn, config, state)
    if found is None or found["answer"] is None:
        return False
    payload["reasons"] = [*payload.get("reasons", []), *_gone_reason(config, found),
                          "已回应 already answered: " + _answered_reason(state, found)]  # fmt: skip
    payload["response"] = _response_field(found)
    return True


def _answer_told(
    conn, config: Config, state: IncidentState, event: str, answered: str, now
) -> None:
    """The alert (`event`: open or escalate) just queued to a receiver carried the brand's
    answer: record that receiver's "answered" note about the lead post as `superseded`, so
    it is never sent as well (a receiver whose alert was silenced or folded still gets it)."""
    n = notifications.c
    receivers = conn.execute(
        select(n.receiver).where(
            n.incident_id == state.incident_id,
            n.event == event,
            n.level == state.level,
            n.status == "pending",
        )
    ).scalars()
    rows = [
        {
            "dedupe_key": dedupe_key(state, "answered", receiver, config, answered),
            "incident_id": state.incident_id,
            "event": "answered",
            "level": state.level,
            "receiver": receiver,
            "channel": config.receiver(receiver).channel,
            "status": "superseded",
            "attempts": 0,
            "created_at": now,
            "last_error": f"the {event} alert said the brand had answered",
            "payload": "{}",
        }
        for receiver in sorted(set(receivers))
    ]
    if rows:
        insert_ignore(conn, notifications, rows, keys=["dedupe_key"])


def _answer_announced(conn, state: IncidentState) -> bool:
    """Whether the team was told at this level that the brand answered (an "answered" note,
    or an alert that carried the answer). No "no response" contradicts it at that level: a
    lead post deleted, answered under the post the notice named instead, then restored by
    Weibo, would otherwise page the team urgently for doing what it was told."""
    n = notifications.c
    return (
        conn.execute(
            select(n.dedupe_key)
            .where(
                n.incident_id == state.incident_id, n.event == "answered", n.level == state.level
            )
            .limit(1)
        ).first()
        is not None
    )


def _response_notices(
    conn, config: Config, states, now: dt.datetime, silences, stats: dict
) -> None:
    """ "No response from the brand" / "the brand answered" for open incidents of brands
    with official accounts, about the post the alerts show (`_lead_response`;
    alerts/responses.py has the rule: "no response" only on a complete check of that post
    made at or after the target; this stage also runs when the check was rate-limited or
    failed, and then waits)."""
    from alerts.responses import response_events

    targets = config.responses.targets_minutes
    for state in states:
        if state.status != "open":
            continue
        found = _lead_response(conn, config, state)
        if found is None:
            continue
        answer = found["answer"]
        responded_at = answer.responded_at if answer else None
        for event in response_events(
            state.level,
            state.level_changed_at,
            responded_at,
            targets,
            now,
            checked_at=found["checked_at"],
        ):
            if event == "noresponse" and _answer_announced(conn, state):
                continue
            payload = build_payload(config, state, event, now)
            if event == "answered":
                payload["reasons"] = [*_gone_reason(config, found), _answered_reason(state, found)]
            else:
                waited = (now - state.level_changed_at).total_seconds() / 60
                payload["reasons"] = [
                    *_gone_reason(config, found),
                    f"no response from the brand's official accounts under "
                    f"{'this post' if not found['gone'] else 'post'} "
                    f"{found['post_id']} after {waited:.0f} min at {state.level} "
                    f"(target {targets[state.level]} min), still spreading",
                ]
                if found["others"]:
                    payload["reasons"].append(
                        "the brand did reply under other posts of this incident: "
                        + ", ".join(found["others"])
                    )
            payload["response"] = _response_field(found)
            rows = ("queued", "silenced", "folded")
            before = [stats[k] for k in rows]
            _queue(conn, config, state, event, payload, silences, now, stats)
            # counted when it queued something (each run re-derives the notice; the log's
            # keys send it once, and a count every run would read as news every run)
            stats[STAT_FOR_EVENT[event]] += [stats[k] for k in rows] != before


def is_urgent(event: str | None, level: str | None) -> bool:
    """News that must reach someone now: a critical incident opening, escalating, still
    unacknowledged or still unanswered, and ops notices. Urgent notifications go through
    quiet hours and are never folded by the rate limit; "resolved" and "answered" notes,
    digests and summaries wait."""
    return event == "ops" or (level == "critical" and event in URGENT_EVENTS)


def _silence_alert(conn, state: IncidentState, payload: dict, silences) -> dict:
    """What a silence is matched against: the post that caused the event (the incident's
    lead post: the one that opened it or caused its latest escalation) and the post it
    reposts, its author, and its whole text as stored (`mentions.text`; read only while a
    keyword silence is active), not the other posts grouped into the incident."""
    lead = state.lead
    platform = lead.platform if lead else state.platform
    post_id = lead.post_id if lead else state.root_post_id
    text_ = None
    if any("keyword" in s["matchers"] for s in silences):
        m = mentions.c
        text_ = conn.execute(
            select(m.text)
            .where(m.platform == platform, m.post_id == post_id, m.brand == state.brand)
            .limit(1)
        ).scalar_one_or_none()
    if text_ is None:
        text_ = (lead.text or lead.excerpt) if lead else payload.get("excerpt")
    return {
        "brand": state.brand,
        "brand_name": payload["brand_name"],
        "author_name": lead.author_name if lead else None,
        "post_ids": {post_id, lead.root_post_id if lead else state.root_post_id},
        "text": text_,
    }


def _admit(conn, config, receiver: str, urgent: bool, payload: dict, now) -> tuple:
    """The rate limit: ("pending", None, None), or ("folded", note, summary key) past the
    hourly limit (a folded row keeps its summary's key in `external_id`: when the summary
    goes out, its `sent_at` is set too, so the views count the alert as delivered; not
    when its line did not fit and it was only counted)."""
    limit = config.receiver(receiver).max_per_hour
    if not urgent and _this_hours_alerts(conn, receiver, now, waiting=True) >= limit:
        summary, shown = _fold(conn, config, receiver, payload, now)
        note = f"folded into {summary}" + ("" if shown else _ONLY_COUNTED)
        return "folded", note, summary if shown else None
    return "pending", None, None


def _release(conn, config, state, key, receiver, event, payload, created, now, stats) -> None:
    """Send a silenced notification after all, once: no silence covers it any more and
    its incident is still open at the same level. The same row (so never twice), with the
    incident as it stands now, queued now (or folded, like any other alert)."""
    muted = local_time(_utc(created), config.timezone)
    payload = {**payload, "reasons": [*payload.get("reasons", []), f"静音已结束 silence "
               f"ended: muted since {muted}, still open"]}  # fmt: skip
    urgent = is_urgent(event, state.level)
    status, note, summary = _admit(conn, config, receiver, urgent, payload, now)
    released = conn.execute(
        update(notifications)
        .where(notifications.c.dedupe_key == key, notifications.c.status == "silenced")
        .values(
            status=status,
            external_id=summary,
            created_at=now,
            last_error=note or f"silenced since {muted}; released when the silence ended",
            payload=json.dumps(payload, ensure_ascii=False, default=str),
        )
    ).rowcount
    if released:
        stats["released"] += 1
        stats["queued" if status == "pending" else status] += 1


def _queue(conn, config, state, event, payload, silences, now, stats) -> None:
    labels = {
        "brand": state.brand,
        "level": state.level,
        "category": state.category,
        "platform": state.platform,
    }
    silence = silenced_by(silences, _silence_alert(conn, state, payload, silences))
    urgent = is_urgent(event, state.level)
    body = json.dumps(payload, ensure_ascii=False, default=str)
    for receiver in receivers_for(config, labels):
        answered = (payload.get("response") or {}).get("answered_post_id")
        key = dedupe_key(state, event, receiver, config, answered)
        exists = conn.execute(
            select(notifications.c.status, notifications.c.created_at).where(
                notifications.c.dedupe_key == key
            )
        ).first()
        if exists:  # a rerun: already queued (or sent); a notice due again after its silence
            if exists.status == "silenced" and not silence and event in RELEASABLE:
                _release(conn, config, state, key, receiver, event, payload,
                         exists.created_at, now, stats)  # fmt: skip
            continue
        status, note, summary = "pending", None, None
        if silence:
            status, note = "silenced", f"silenced by {silence}"
        else:
            status, note, summary = _admit(conn, config, receiver, urgent, payload, now)
        added = insert_ignore(
            conn,
            notifications,
            [
                {
                    "dedupe_key": key,
                    "incident_id": state.incident_id,
                    "event": event,
                    "level": state.level,
                    "receiver": receiver,
                    "channel": config.receiver(receiver).channel,
                    "status": status,
                    "attempts": 0,
                    "created_at": now,
                    "last_error": note,
                    "external_id": summary,
                    "payload": body,
                }
            ],
            keys=["dedupe_key"],
        )
        stats["queued" if status == "pending" else status] += added


def _release_after_silences(conn, config: Config, states, silences, now, stats) -> None:
    """Open incidents whose open/escalate at their current level was only ever silenced,
    and that no silence covers now (it expired, or was expired): announce them now, once
    per receiver (`_release`). One query, through the notification log's incident index."""
    current = {s.incident_id: s for s in states if s.is_open}
    if not current:
        return
    n, i = notifications.c, incidents.c
    rows = conn.execute(
        select(n.dedupe_key, n.incident_id, n.event, n.receiver, n.created_at)
        .select_from(notifications.join(incidents, i.incident_id == n.incident_id))
        .where(
            i.status == "open",
            n.status == "silenced",
            n.event.in_(["open", "escalate"]),
            n.level == i.level,
        )
        .order_by(n.created_at, n.dedupe_key)
    ).all()
    for row in rows:
        state = current.get(row.incident_id)
        if state is None or row.receiver not in receivers_for(
            config,
            {"brand": state.brand, "level": state.level, "category": state.category,
             "platform": state.platform},
        ):  # fmt: skip
            continue
        lead = state.lead
        payload = build_payload(
            config,
            state,
            row.event,
            now,
            _series(conn, lead.platform, lead.post_id) if lead else [],
            _counts(conn, lead.platform, lead.post_id) if lead else {},
            _curve(conn, lead.platform, lead.post_id) if lead else [],
        )
        if silenced_by(silences, _silence_alert(conn, state, payload, silences)):
            continue
        _with_known_answer(conn, config, state, payload)
        _release(conn, config, state, row.dedupe_key, row.receiver, row.event, payload,
                 row.created_at, now, stats)  # fmt: skip


def notice_key(key_prefix: str, receiver: str) -> str:
    """The dedupe key of a notice (`queue_notice`) for one receiver."""
    return f"{key_prefix}:{receiver}"


def queue_notice(
    conn: Connection,
    config: Config,
    receivers,
    key_prefix: str,
    event: str,
    payload: dict,
    now: dt.datetime,
    level: str | None = None,
) -> int:
    """Queue one notification that is not about an incident (a digest, an ops notice) for
    each receiver, keyed `{key_prefix}:{receiver}` so it is queued once; returns new rows."""
    body = json.dumps(payload, ensure_ascii=False, default=str)
    rows = [
        {
            "dedupe_key": notice_key(key_prefix, name),
            "incident_id": None,
            "event": event,
            "level": level,
            "receiver": name,
            "channel": config.receiver(name).channel,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "payload": body,
        }
        for name in sorted(receivers)
    ]
    return insert_ignore(conn, notifications, rows, keys=["dedupe_key"])


# --- deliver_pending --------------------------------------------------------------------


def in_quiet_hours(receiver, now: dt.datetime, tz: str) -> bool:
    """True inside the receiver's quiet hours (local time in `tz`; may span midnight)."""
    if receiver.quiet_hours is None:
        return False
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(tz)).strftime("%H:%M")
    start, end = receiver.quiet_hours.start, receiver.quiet_hours.end
    if start == end:
        return False
    return start <= local < end if start < end else (local >= start or local < end)


def _thread(conn: Connection, incident: str | None, receiver: str) -> str | None:
    """The external id of the incident's first message to this receiver (its thread)."""
    if incident is None:
        return None
    n = notifications.c
    return conn.execute(
        select(n.external_id)
        .where(
            n.incident_id == incident,
            n.receiver == receiver,
            n.status == "sent",
            n.external_id.is_not(None),
        )
        .order_by(n.sent_at, n.created_at)
        .limit(1)
    ).scalar_one_or_none()


def _finish(engine: Engine, key: str, token: str, **values) -> bool:
    """Update a row only while we still hold its claim."""
    n = notifications.c
    with engine.begin() as conn:
        return (
            conn.execute(
                update(notifications)
                .where(n.dedupe_key == key, n.status == "sending", n.external_id == token)
                .values(**values)
            ).rowcount
            == 1
        )


def _supersede(engine: Engine, row, key: str) -> None:
    """A newer alert about the incident went out: older ones still deferred (quiet hours)
    are stale now; mark them superseded instead of sending them late."""
    if row["incident_id"] is None or row["event"] not in ("open", "escalate"):
        return
    n = notifications.c
    with engine.begin() as conn:
        conn.execute(
            update(notifications)
            .where(
                n.incident_id == row["incident_id"],
                n.receiver == row["receiver"],
                n.status == "pending",
                n.event.in_(["open", "escalate"]),
                n.created_at <= row["created_at"],
                n.dedupe_key != key,
            )
            .values(status="superseded", last_error=f"superseded by {key}")
        )


def _fold_at_send(engine: Engine, config: Config, row, payload: dict, now: dt.datetime) -> bool:
    """The hourly limit, again at send time: a non-urgent alert not yet tried goes into the
    receiver's summary for this hour instead when the receiver was already sent its
    `max_per_hour` alerts in the last hour, and so does a summary held past the hour after
    its own (its lines join this hour's). The limit is first applied when an alert is queued (`_admit`),
    but alerts and summaries held by quiet hours were each admitted in their own hour and
    all came out when the quiet hours ended (24 messages in one minute, "new" beside
    "resolved"). True when folded."""
    summary = row["event"] == "summary"
    if row["attempts"] != 0 or not (
        summary or (row["event"] in INCIDENT_EVENTS and not is_urgent(row["event"], row["level"]))
    ):
        return False
    receiver = row["receiver"]
    hour = now.replace(minute=0, second=0, microsecond=0)
    if summary and (
        "window_start" not in payload
        or dt.datetime.fromisoformat(payload["window_start"]) >= hour - dt.timedelta(hours=1)
    ):
        return False  # the last hour's summary, due now, or this hour's: never pushed on
    n = notifications.c
    with engine.begin() as conn:
        sent = _this_hours_alerts(conn, receiver, now, waiting=False)
        if sent < config.receiver(receiver).max_per_hour:
            return False
        took = conn.execute(
            update(notifications)
            .where(n.dedupe_key == row["dedupe_key"], n.status == row["status"], n.attempts == 0)
            .values(status="folded")
        ).rowcount
        if took != 1:  # another run took it first
            return False
        if summary:  # its latest payload: alerts may have joined it since it was read
            latest = json.loads(
                conn.execute(
                    select(n.payload).where(n.dedupe_key == row["dedupe_key"])
                ).scalar_one()
            )
            into, _ = _add_to_summary(conn, config, receiver, latest, now)
            conn.execute(  # its alerts now go out with that one
                update(notifications)
                .where(n.status == "folded", n.external_id == row["dedupe_key"])
                .values(external_id=into)
            )
            shown = True
        else:
            into, shown = _fold(conn, config, receiver, payload, now)
        conn.execute(
            update(notifications)
            .where(n.dedupe_key == row["dedupe_key"])
            .values(
                external_id=into if shown else None,
                last_error=f"folded into {into} (hourly limit reached when it was due)"
                + ("" if shown else _ONLY_COUNTED),
            )
        )
    return True


# a receiver whose failed sends took this long in one delivery run is not tried again in
# it: a hanging SMTP server costs a timeout (30 s) per message, and rows go out oldest
# first, so a backlog of emails held the newer Slack alerts back for minutes. Counted in
# time, not failures: a message that fails at once every run (refused for its content)
# must not stop the receiver's other messages behind it.
GIVE_UP_AFTER_SECONDS = 20.0


def deliver_pending(
    engine: Engine,
    config: Config,
    clock: Clock,
    channels: dict,
    give_up_after: float = GIVE_UP_AFTER_SECONDS,
    keys: Collection[str] | None = None,
) -> dict:
    """Send every queued notification that is due, once (only the rows with these dedupe
    `keys` when given: the ingest task sends its ops notice and nothing another stage
    queued). `channels` maps receiver names to channels (`alerts.channels`). Returns counts: sent, recovered (found already
    delivered after a crash), failed (queued for the next run), deferred (quiet hours,
    a summary's hour not over, or waiting for an earlier message of the same incident),
    skipped (claimed by another run, or orphaned), and, only when there are any, orphaned
    (of the skipped, rows for a receiver no longer in the config: kept, never sent, with a
    WARNING naming each receiver and its count), folded (alerts over the receiver's hourly
    limit when they were due, added to its summary instead: `_fold_at_send`) and failures (this run's failed sends by
    receiver: {receiver: {"count": n, "last_error": text, "not_tried": n}}, for the task's
    failure message). Once a receiver's failed sends took `give_up_after` seconds in all
    (wall time), its other rows wait for the next run untried (`not_tried`, counted as
    deferred), so the other receivers go first.

    The clock is read again for each row: a slow run (channel timeouts) must stamp a
    late claim with the time it was made, or a concurrent run would see an already
    expired lease and send the row a second time."""
    stats = {"sent": 0, "recovered": 0, "failed": 0, "deferred": 0, "skipped": 0}
    n = notifications.c
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(
                    n.dedupe_key,
                    n.incident_id,
                    n.event,
                    n.level,
                    n.receiver,
                    n.status,
                    n.attempts,
                    n.claimed_at,
                    n.created_at,
                    n.payload,
                ).where(
                    n.status.in_(["pending", "failed", "sending"]),
                    *([n.dedupe_key.in_(list(keys))] if keys is not None else []),
                )
            )
            .mappings()
            .all()
        )
    rows = sorted(
        rows, key=lambda r: (r["created_at"], EVENT_ORDER.get(r["event"], 9), r["dedupe_key"])
    )
    blocked: set[tuple[str, str]] = set()  # (incident, receiver) with an earlier unsent row
    orphaned: dict[str, int] = {}  # receiver no longer in the config -> its unsent rows
    failures: dict[str, dict] = {}  # receiver -> this run's failed sends and the last error
    failing_for: dict[str, float] = {}  # receiver -> seconds its failed sends took this run
    for row in rows:
        now = clock.now()
        key, receiver_name = row["dedupe_key"], row["receiver"]
        pair = (row["incident_id"], receiver_name) if row["incident_id"] else None
        if failing_for.get(receiver_name, 0.0) >= give_up_after:  # hanging: others first
            given_up = failures[receiver_name]
            given_up["not_tried"] = given_up.get("not_tried", 0) + 1
            stats["deferred"] += 1
            if pair:
                blocked.add(pair)
            continue
        in_flight = (
            row["status"] == "sending"
            and row["claimed_at"] is not None
            and row["claimed_at"] > now - LEASE
        )
        if in_flight:  # another run holds it
            if pair:
                blocked.add(pair)
            stats["skipped"] += 1
            continue
        try:
            receiver = config.receiver(receiver_name)
        except StopIteration:  # the receiver left the config: keep the row, send nothing
            orphaned[receiver_name] = orphaned.get(receiver_name, 0) + 1
            stats["skipped"] += 1
            continue
        payload = json.loads(row["payload"])
        not_before = payload.get("not_before")
        if (
            (not_before and dt.datetime.fromisoformat(not_before) > now)
            or (
                not is_urgent(row["event"], row["level"])
                and in_quiet_hours(receiver, now, config.timezone)
            )
            or (pair in blocked)
        ):
            stats["deferred"] += 1
            continue
        if _fold_at_send(engine, config, row, payload, now):
            stats["folded"] = stats.get("folded", 0) + 1
            continue
        token = f"claim:{uuid.uuid4().hex}"
        claim = [
            n.dedupe_key == key,
            n.status == row["status"],
            n.attempts == row["attempts"],
        ]
        if row["status"] == "sending":
            claim.append(or_(n.claimed_at.is_(None), n.claimed_at <= now - LEASE))
        with engine.begin() as conn:
            claimed = conn.execute(
                update(notifications)
                .where(and_(*claim))
                .values(
                    status="sending",
                    claimed_at=now,
                    attempts=row["attempts"] + 1,
                    external_id=token,
                )
            ).rowcount
            thread = _thread(conn, row["incident_id"], receiver_name)
            if claimed == 1:  # re-read under the claim: a summary may have grown since
                payload = json.loads(
                    conn.execute(select(n.payload).where(n.dedupe_key == key)).scalar_one()
                )
        if claimed != 1:
            stats["skipped"] += 1  # another run claimed it between our read and now
            if pair:
                blocked.add(pair)
            continue
        note = {
            "dedupe_key": key,
            "receiver": receiver_name,
            "event": row["event"],
            "level": row["level"],
            "incident_id": row["incident_id"],
            "created_at": row["created_at"].isoformat(),
            "attempt": row["attempts"] + 1,
            "thread": thread if row["event"] != "open" else None,
            "payload": payload,
        }
        channel = channels.get(receiver_name)
        external, partial = None, None
        started = time.monotonic()
        try:
            if channel is None:
                raise LookupError(f"no channel for receiver {receiver_name!r}")
            if row["attempts"] > 0 and hasattr(channel, "find_sent"):
                try:
                    external = channel.find_sent(note)
                except Exception as exc:  # noqa: BLE001 - cannot tell: send (at-least-once)
                    log.warning("could not check whether %s was delivered: %s", key, exc)
                if external:
                    stats["recovered"] += 1
                    log.info("notification %s was already delivered (%s)", key, external)
            if not external:
                try:
                    external = channel.send(note)
                except PartialDelivery as exc:  # resending would repeat it to the others
                    external, partial = exc.external_id, str(exc)[:1000]
                    log.warning(
                        "notification %s to %s only partly delivered: %s",
                        key,
                        receiver_name,
                        partial,
                    )
                stats["sent"] += 1
        except Exception as exc:  # noqa: BLE001 - any failure keeps the row queued
            error = f"{type(exc).__name__}: {exc}"[:1000]
            _finish(engine, key, token, status="failed", last_error=error, external_id=None)
            log.warning(
                "notification %s to %s failed (attempt %d), retried next run: %s",
                key,
                receiver_name,
                row["attempts"] + 1,
                error,
            )
            stats["failed"] += 1
            failed = failures.setdefault(receiver_name, {"count": 0, "last_error": ""})
            failed["count"] += 1
            failed["last_error"] = error
            failing_for[receiver_name] = (
                failing_for.get(receiver_name, 0.0) + time.monotonic() - started
            )
            if pair:
                blocked.add(pair)
            continue
        sent_at = clock.now()
        if not _finish(
            engine,
            key,
            token,
            status="sent",
            sent_at=sent_at,
            external_id=str(external)[:200],
            last_error=partial,
        ):
            log.error("notification %s: lost its claim while sending (lease %s)", key, LEASE)
        elif row["event"] == "summary":  # the alerts folded into it reached the receiver now
            with engine.begin() as conn:
                conn.execute(
                    update(notifications)
                    .where(n.status == "folded", n.external_id == key, n.sent_at.is_(None))
                    .values(sent_at=sent_at)
                )
        _supersede(engine, row, key)
    for name, count in sorted(orphaned.items()):
        log.warning(
            "delivery: %d notification(s) for receiver %r are stranded: it is no longer in "
            "the config (renamed or removed?). They stay queued in the notifications table "
            "and go out if a receiver of that name comes back",
            count,
            name,
        )
    if orphaned:
        stats["orphaned"] = sum(orphaned.values())
    if failures:
        stats["failures"] = dict(sorted(failures.items()))
    log.info("delivery: %s", stats)
    return stats
