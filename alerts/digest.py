"""The daily digest: yesterday per brand (Shanghai day), once per day and receiver.

The day is the warehouse views' day (warehouse/views.py LOCAL_TIMEZONE, Asia/Shanghai)
whatever `timezone` the config sets, and the digest's incident list and times use it too:
its counts come from those views, so a day cut at another zone's midnight would list an
incident beside counts of a different day.

Each receiver gets the digest of the brands the routing tree sends it alerts about (at any
level, category, including uncategorised `negative`, and platform), with
the competitors beside them as the benchmark (one brand's team never reads another's
complaints). Per brand: mention volume, negative and complaint share with the change from
the day before, share of voice and answered share, the incidents opened or resolved that
day with their level, category, reach, lead time (first paging alert before the incident
crossed the viral line) and a link to the post, the incidents open now, the top
complaints by spread, and a chart of negative share per brand.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, bindparam, func, or_, select, text

from alerts.render import higher_peak, related_count
from alerts.routing import brand_receivers
from alerts.stage import queue_notice
from warehouse.schema import incidents, mentions, notifications, spread_estimates
from warehouse.views import LOCAL_TIMEZONE
from warehouse.views import render as render_sql
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)

# the digest's day and times: the day the warehouse views count in (see the docstring)
DIGEST_TIMEZONE = LOCAL_TIMEZONE
EXCERPT_CHARS = 50  # of a top complaint's text, then "…"
# a run reports at most this many days: its own and those missed since the last digest
CATCHUP_DAYS = 7

# a category is flagged when our complaint share is at least this many times the
# competitors' pooled share, with at least this many complaints behind it
WORSE_RATIO = 2.0
WORSE_MIN_COMPLAINTS = 3


def worse_than_competitors(config: Config, rows, competitor_scored: float) -> list[str]:
    """Lines flagging categories where one of our brands clearly does worse than the
    competitors that day (complaint share of scored mentions).

    `rows` are the day's v_category_benchmark_daily rows; `competitor_scored` is every
    competitor's scored mentions that day, together. The benchmark is the competitors'
    pooled share: all their complaints in the category over all their scored mentions,
    so a competitor with no such complaint counts with its mentions (it is the best
    benchmark, not a missing one). Without a scored competitor mention there is no
    benchmark and nothing is flagged."""
    from nlp.lexicon import category_label

    if not any(b.competitor for b in config.brands) or not competitor_scored:
        return []
    theirs: dict[str, float] = {}
    for r in rows:
        if r["is_competitor"]:
            theirs[r["category"]] = theirs.get(r["category"], 0.0) + float(r["complaints"])
    names = {b.code: b.name for b in config.brands}
    out = []
    for r in sorted(rows, key=lambda r: (r["brand"], r["category"])):
        if r["is_competitor"] or int(r["complaints"]) < WORSE_MIN_COMPLAINTS:
            continue
        ours = float(r["complaint_share"] or 0)
        benchmark = theirs.get(r["category"], 0.0) / float(competitor_scored)
        if ours >= WORSE_RATIO * benchmark and ours > 0:
            out.append(
                f"⚠ {names.get(r['brand'], r['brand'])} worse than competitors on "
                f"{category_label(r['category'])} {r['category']}: {ours:.0%} of mentions "
                f"are such complaints vs {benchmark:.0%}"
            )
    return out


def _response_text(rows, brand: str) -> str:
    """ ", answered 3/5 (median 42 min)" for the brand's tracked complaints of the day."""
    mine = [r for r in rows if r["brand"] == brand]
    if not mine:
        return ""
    minutes = sorted(float(r["minutes_to_response"]) for r in mine if r["answered"])
    text_ = f", answered {len(minutes)}/{len(mine)}"
    if minutes:
        text_ += f" (median {statistics.median(minutes):.0f} min)"
    return text_


def _top_complaints(conn, config: Config, day: dt.date, brands=None) -> list[dict]:
    """The day's five most reposted complaints about our own brands (`brands`: only these
    codes of ours; None: all of them): `brands` of each line holds the codes of every one
    of those the post names (a post naming two is one line, not two of the five), never a
    brand whose own official account wrote it (its statement).

    v_top_complaints holds every tracked post of every day (scored or not), so the
    digest narrows it to complaints posted that Shanghai day (the same local_day the
    daily views use); the brands come from the post's mentions, whichever brand the view
    files it under."""
    from alerts.responses import own_statement

    ours = [
        b.code for b in config.brands if not b.competitor and (brands is None or b.code in brands)
    ]
    if not ours:
        return []
    query = text(
        render_sql(
            "SELECT DISTINCT t.platform, t.post_id, t.excerpt, t.url, t.observed, t.p_viral, "
            "m.brand, m.author_id, m.is_competitor "
            "FROM v_top_complaints t "
            "JOIN mentions m ON m.platform = t.platform AND m.post_id = t.post_id "
            "WHERE t.observed IS NOT NULL AND t.complaint "
            "AND {{ local_day(t.created_at) }} = :d AND m.brand IN :brands "
            "ORDER BY t.observed DESC, t.platform, t.post_id, m.brand",
            conn.dialect.name,
        )
    ).bindparams(bindparam("brands", expanding=True))
    top: dict[tuple[str, str], dict] = {}
    for r in conn.execute(query, {"d": day.isoformat(), "brands": ours}).mappings():
        if r["is_competitor"] or own_statement(config, r["brand"], r["platform"], r["author_id"]):
            continue
        key = (r["platform"], r["post_id"])
        if key not in top:
            if len(top) == 5:
                break
            top[key] = {**r, "brands": []}
        top[key]["brands"].append(r["brand"])
    _spread_history(conn, config, top)
    return list(top.values())


def _spread_history(conn, config: Config, top: dict) -> None:
    """Add to each top complaint its peak P(viral) over its estimates (`peak_p_viral`) and
    whether its latest estimate was past the spread model's horizon (`past_horizon`):
    there the model's P(viral) is 0 whatever happened before, so the digest showed
    "P(viral) 0%" for a post that had been at 80%."""
    if not top:
        return
    e, m = spread_estimates.c, mentions.c
    rows = conn.execute(
        select(
            e.platform,
            e.post_id,
            func.max(e.p_viral).label("peak"),
            func.max(e.estimated_at).label("latest"),
            func.min(m.created_at).label("posted"),
        )
        .join(mentions, and_(m.platform == e.platform, m.post_id == e.post_id))
        .where(or_(*(and_(e.platform == p, e.post_id == i) for p, i in top)))
        .group_by(e.platform, e.post_id)
    ).mappings()
    horizon = dt.timedelta(hours=config.thresholds.horizon_hours)
    for r in rows:
        line = top[(r["platform"], r["post_id"])]
        line["peak_p_viral"] = float(r["peak"] or 0)
        line["past_horizon"] = _utc(r["latest"]) - _utc(r["posted"]) >= horizon


def spread_text(top: dict, config: Config) -> str:
    """What a top complaint's spread came to: past the viral line, that line; past the
    model's horizon (its P(viral) 0 there), the peak P(viral); else P(viral), with a
    higher peak beside it."""
    viral = config.thresholds.viral_reposts
    if int(top.get("observed") or 0) >= viral:
        return f"past the viral line of {related_count({**top, 'observed': viral})}"
    now, peak = float(top.get("p_viral") or 0), float(top.get("peak_p_viral") or 0)
    if top.get("past_horizon"):
        return f"peak P(viral) {max(peak, now):.0%}"
    higher = higher_peak(now, peak)
    return f"P(viral) {now:.0%}" + (f" (peak {higher})" if higher else "")


def _utc(value) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _day_incidents(conn, config: Config, day: dt.date) -> list[dict]:
    """Incidents opened or resolved on `day` (the views' local day), each with its lead
    post's URL and reposts, and its first alert that paged someone (an open or escalate
    sent to a receiver that is not the outbox: as v_alert_outcomes counts alerts)."""
    tz = ZoneInfo(DIGEST_TIMEZONE)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    i, n = incidents.c, notifications.c
    rows = (
        conn.execute(
            select(i.incident_id, i.brand, i.platform, i.category, i.level, i.status,
                   i.opened_at, i.resolved_at, i.crossed_viral_at, i.crossed_before_seen,
                   i.evidence)
            .where(
                or_(
                    and_(i.opened_at >= start, i.opened_at < end),
                    and_(i.resolved_at >= start, i.resolved_at < end),
                )
            )
            .order_by(i.opened_at, i.incident_id)
        )
        .mappings()
        .all()
    )  # fmt: skip
    ids = [r["incident_id"] for r in rows]
    first: dict[str, dt.datetime] = {}
    for chunk in range(0, len(ids), 500):
        first.update(
            conn.execute(
                select(n.incident_id, func.min(n.sent_at))
                .where(
                    n.incident_id.in_(ids[chunk : chunk + 500]),
                    # as v_alert_outcomes: an alert folded into a summary reached the team
                    # when that summary went out (its sent_at)
                    or_(n.status == "sent", and_(n.status == "folded", n.sent_at.is_not(None))),
                    n.event.in_(["open", "escalate"]),
                    n.channel != "outbox",
                )
                .group_by(n.incident_id)
            ).all()
        )
    out = []
    for r in rows:
        try:
            evidence = json.loads(r["evidence"] or "{}")
        except ValueError:
            evidence = {}
        out.append(
            {
                **{k: v for k, v in r.items() if k != "evidence"},
                "opened_at": _utc(r["opened_at"]),
                "resolved_at": _utc(r["resolved_at"]),
                "crossed_viral_at": _utc(r["crossed_viral_at"]),
                "first_alert_at": _utc(first.get(r["incident_id"])),
                "url": evidence.get("url"),
                "observed": evidence.get("observed"),
                "posts": len(evidence.get("posts") or {}) or 1,
            }
        )
    return out


def lead_time_text(incident: dict, viral: int, tz: str) -> str:
    """The lead time of an incident's first paging alert before it crossed the viral
    line (when it crossed), as the digest says it. A post already over the line when first
    seen has no lead time to tell (its crossing time is only that first sighting)."""
    first, crossed = incident.get("first_alert_at"), incident.get("crossed_viral_at")
    line = related_count({"platform": incident.get("platform"), "observed": viral})
    if crossed is not None and incident.get("crossed_before_seen"):
        when = f"alerted {_clock(first, tz)}" if first is not None else "nobody paged"
        seen = _clock(crossed, tz)
        return f"already past {line} when first seen ({seen}), before any alert; {when}"
    if crossed is not None and first is not None:
        minutes = (crossed - first).total_seconds() / 60
        if minutes >= 0:
            return f"alerted {minutes:.0f} min before it crossed {line}"
        return f"alerted {-minutes:.0f} min after it crossed {line}"
    if crossed is not None:
        return f"crossed {line} at {_clock(crossed, tz)} without a paging alert"
    if first is not None:
        return f"alerted {_clock(first, tz)}, did not cross {line}"
    return f"did not cross {line}, nobody paged"


def _clock(when: dt.datetime, tz: str, day: dt.date | None = None) -> str:
    local = when.astimezone(ZoneInfo(tz))
    return local.strftime("%H:%M" if day is None or local.date() == day else "%m-%d %H:%M")


def _incident_line(incident: dict, name: str, day: dt.date, config: Config) -> str:
    from nlp.lexicon import category_label

    tz, category = DIGEST_TIMEZONE, incident["category"]
    opened, resolved = incident["opened_at"], incident["resolved_at"]
    resolved_that_day = resolved is not None and _clock(resolved, tz, day) == _clock(resolved, tz)
    if _clock(opened, tz, day) == _clock(opened, tz):  # opened that day
        head = f"opened {_clock(opened, tz)}"
        head += f", resolved {_clock(resolved, tz)}" if resolved_that_day else ""
    else:
        head = f"resolved {_clock(resolved, tz)} (opened {_clock(opened, tz, day)})"
    label = category_label(category)
    category_text = category if label == category else f"{label} {category}"
    reach = f"{related_count(incident)}, " if incident.get("observed") else ""
    posts = f"{incident['posts']} posts, " if incident.get("posts", 1) > 1 else ""
    lead = lead_time_text(incident, config.thresholds.viral_reposts, tz)
    return (
        f"{head}: {name} {incident['level']} {category_text}, {reach}{posts}{lead} "
        f"({incident['incident_id']})"
    )


def _fetch(engine: Engine, config: Config, day: dt.date, scopes) -> dict:
    """Everything the day's digests read (every brand), and each scope's top complaints."""
    before = (day - dt.timedelta(days=1)).isoformat()
    with engine.connect() as conn:

        def rows(sql: str, **params) -> list:
            return conn.execute(text(sql), params).mappings().all()

        data = {
            "rows": rows(
                "SELECT day, brand, MAX(is_competitor) AS is_competitor, "
                "SUM(mentions) AS mentions, SUM(scored) AS scored, "
                "SUM(negative) AS negative, SUM(complaints) AS complaints "
                "FROM v_mentions_daily WHERE day IN (:d, :b) GROUP BY day, brand",
                d=day.isoformat(),
                b=before,
            ),
            "open": conn.execute(
                select(incidents.c.brand, incidents.c.level).where(incidents.c.status == "open")
            )
            .mappings()
            .all(),
            "day_incidents": _day_incidents(conn, config, day),
            "benchmark": rows(
                "SELECT brand, share_of_voice FROM v_brand_benchmark_daily WHERE day = :d",
                d=day.isoformat(),
            ),
            "categories": rows(
                "SELECT brand, is_competitor, category, complaints, complaint_share "
                "FROM v_category_benchmark_daily WHERE day = :d",
                d=day.isoformat(),
            ),
            "responses": rows(
                "SELECT brand, answered, minutes_to_response FROM v_complaint_responses "
                "WHERE day = :d",
                d=day.isoformat(),
            ),
            "top": {scope: _top_complaints(conn, config, day, scope) for scope in scopes},
        }
    return data


def _excerpt(text_: str | None) -> str:
    """A complaint's text on one line, cut at EXCERPT_CHARS with "…" when it goes on."""
    flat = " ".join((text_ or "").split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS].rstrip() + "…"


def _payload(config: Config, day: dt.date, data: dict, scope: frozenset | None) -> dict:
    """The digest of the brands in `scope` (codes of ours; None: all), with every
    competitor beside them as the benchmark."""
    before = (day - dt.timedelta(days=1)).isoformat()
    shown = [b for b in config.brands if b.competitor or scope is None or b.code in scope]
    ours = {b.code for b in shown if not b.competitor}
    codes_shown = {b.code for b in shown}
    # SUM() is an integer on SQLite and a Decimal on PostgreSQL: make both plain numbers
    stats = {
        (r["day"], r["brand"]): {
            k: (v if k in ("day", "brand") else float(v or 0)) for k, v in r.items()
        }
        for r in data["rows"]
    }
    responses, benchmark = data["responses"], data["benchmark"]
    lines, labels, codes, shares = [], [], [], []
    for brand in shown:
        today = stats.get((day.isoformat(), brand.code))
        prev = stats.get((before, brand.code))
        mentions = int(today["mentions"]) if today else 0
        share = (today["negative"] / today["scored"]) if today and today["scored"] else 0.0
        prev_share = (prev["negative"] / prev["scored"]) if prev and prev["scored"] else None
        change = "" if prev_share is None else f" ({(share - prev_share) * 100:+.0f} pts)"
        tag = " [competitor]" if brand.competitor else ""
        complaints = int(today["complaints"]) if today else 0
        voice = next((float(b["share_of_voice"]) for b in benchmark if b["brand"] == brand.code), 0)
        lines.append(
            f"{brand.name}{tag}: {mentions:,} mentions ({voice:.0%} share of voice), "
            f"negative {share:.0%}{change}, "
            f"{complaints:,} complaints{_response_text(responses, brand.code)}"
        )
        labels.append(f"{brand.name}{' (竞品)' if brand.competitor else ''}")
        codes.append(f"{brand.code}{' (competitor)' if brand.competitor else ''}")
        shares.append(round(share * 100, 1))
    # the pooled benchmark's denominator: every competitor's scored mentions that day,
    # those with no complaint in a category included (competitor as v_category_benchmark_daily
    # says: any of the brand's mentions that day flagged is_competitor)
    competitor_scored = sum(
        s["scored"] for (d, _), s in stats.items() if d == day.isoformat() and s["is_competitor"]
    )
    categories = [r for r in data["categories"] if r["is_competitor"] or r["brand"] in ours]
    lines += worse_than_competitors(config, categories, competitor_scored)
    names = {b.code: b.name for b in config.brands}
    open_now = [i for i in data["open"] if i["brand"] in ours]
    per_brand = [
        f"{names[b.code]} {n}"
        for b in shown
        if (n := sum(1 for i in open_now if i["brand"] == b.code))
    ]
    lines.append(
        f"open incidents now: {len(open_now)} "
        f"({sum(1 for i in open_now if i['level'] == 'critical')} critical)"
        + (f": {', '.join(per_brand)}" if len(per_brand) > 1 else "")
    )
    links: list[str | None] = [None] * len(lines)
    order = {b.code: n for n, b in enumerate(shown)}
    for incident in sorted(
        (i for i in data["day_incidents"] if i["brand"] in ours),
        key=lambda i: (order[i["brand"]], i["opened_at"], i["incident_id"]),
    ):
        lines.append(_incident_line(incident, names[incident["brand"]], day, config))
        links.append(incident["url"])
    for t in data["top"][scope]:
        lines.append(
            f"top: {', '.join(names.get(b, b) for b in t['brands'])} "
            f"{related_count(t)}, {spread_text(t, config)}: {_excerpt(t['excerpt'])}"
        )
        links.append(t.get("url"))
    if ZoneInfo(config.timezone).utcoffset(dt.datetime.combine(day, dt.time(12))) != ZoneInfo(
        DIGEST_TIMEZONE
    ).utcoffset(dt.datetime.combine(day, dt.time(12))):
        lines.append(f"(day and times in {DIGEST_TIMEZONE}, as the warehouse counts days)")
        links.append(None)
    has_data = bool(data["rows"]) or bool(data["open"]) or bool(data["day_incidents"])
    return {
        "event": "digest",
        "has_data": has_data,
        "day": day.isoformat(),
        "brands": sorted(codes_shown),
        "lines": lines,
        "links": links,  # beside `lines`: the post an incident line is about (alerts.render)
        # ascii_labels: the brand codes, drawn instead of the names without a CJK font
        "bars": {
            "labels": labels,
            "ascii_labels": codes,
            "values": shares,
            "title": f"negative share % {day}",
        },
    }


def digest_payload(engine: Engine, config: Config, day: dt.date, brands=None) -> dict:
    """The digest of `day` for our brands in `brands` (codes; None: every brand), with the
    competitors beside them as the benchmark. `has_data` is False only when the warehouse
    has nothing at all to report (a fresh install), whatever the scope."""
    scope = None if brands is None else frozenset(brands)
    return _payload(config, day, _fetch(engine, config, day, [scope]), scope)


def digest_scopes(config: Config) -> dict[str, frozenset]:
    """{receiver: codes of our brands whose alerts the routing tree sends it, at any level,
    category (uncategorised `negative` included) or platform}: a receiver's digest is about
    those brands only."""
    scopes: dict[str, set[str]] = {}
    for brand in config.brands:
        for receiver in brand_receivers(config, brand.code):
            scopes.setdefault(receiver, set()).add(brand.code)
    return {name: frozenset(codes) for name, codes in scopes.items()}


def last_digest_day(conn, before: dt.date) -> dt.date | None:
    """The latest day before `before` whose digest was queued for any receiver, read from
    the notification log's keys (`digest:DAY:RECEIVER`); None when there was none."""
    n = notifications.c
    day = func.substr(n.dedupe_key, len("digest:") + 1, 10)
    found = None
    for value in conn.execute(select(day).where(n.event == "digest").distinct()).scalars():
        try:
            queued = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            continue
        if queued < before and (found is None or queued > found):
            found = queued
    return found


def digest_days(last: dt.date | None, day: dt.date) -> list[dt.date]:
    """The days a run for `day` reports: every day after the last digest queued (`last`)
    up to `day`, at most CATCHUP_DAYS of them; `day` alone when there was none before (a
    first digest is not a week of history)."""
    if last is None:
        return [day]
    first = max(last + dt.timedelta(days=1), day - dt.timedelta(days=CATCHUP_DAYS - 1))
    return [first + dt.timedelta(days=n) for n in range((day - first).days + 1)]


def queue_digest(
    engine: Engine, config: Config, clock: Clock, scheduled_for: dt.datetime | None = None
) -> int:
    """Queue yesterday's digest for every receiver the routing tree reaches, each about the
    brands routed to it (competitors beside them); once a day and receiver (dedupe key
    `digest:DAY:RECEIVER`).

    "Yesterday" is the day before the run was scheduled for (`scheduled_for`, the DAG run's
    logical date), not before the clock: a failed run cleared a day later must still
    report its own day, not the next one (whose digest may already be out).

    The days before it since the last digest queued are sent too, oldest first (at most
    CATCHUP_DAYS in all, `digest_days`): the DAG has no catchup, so with the scheduler
    down across two 09:00s the one run made afterwards lost a day. The notification log
    is the record of what went out, so a rerun queues nothing twice."""
    now = clock.now()
    at = scheduled_for or now
    day = at.astimezone(ZoneInfo(DIGEST_TIMEZONE)).date() - dt.timedelta(days=1)
    scopes = digest_scopes(config)
    with engine.connect() as conn:
        days = digest_days(last_digest_day(conn, day), day)
    queued = 0
    for each in days:
        data = _fetch(engine, config, each, set(scopes.values()))
        payloads = {scope: _payload(config, each, data, scope) for scope in set(scopes.values())}
        if not any(p["has_data"] for p in payloads.values()):
            log.info("digest %s: nothing to report; not sent", each)  # a fresh install
            continue
        with engine.begin() as conn:
            for receiver, scope in sorted(scopes.items()):
                queued += queue_notice(
                    conn, config, [receiver], f"digest:{each.isoformat()}", "digest",
                    payloads[scope], now,
                )  # fmt: skip
    return queued
