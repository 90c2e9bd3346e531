"""The daily digest: yesterday per brand (Shanghai day), once per day and receiver.

Mention volume, negative and complaint share with the change from the day before,
incidents opened and resolved, top complaints by spread, and a chart of negative share
per brand (competitors beside our brands).
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, text

from alerts.routing import receivers_for
from alerts.stage import queue_notice
from warehouse.views import render as render_sql
from yujing.clock import Clock
from yujing.config import Config

log = logging.getLogger(__name__)

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


def _top_complaints(conn, config: Config, day: dt.date) -> list[dict]:
    """The day's five most reposted complaints about our own brands: `brands` holds the
    codes of every one of ours the post names (a post naming two is one line, not two
    of the five), never a brand whose own official account wrote it (its statement).

    v_top_complaints holds every tracked post of every day (scored or not), so the
    digest narrows it to complaints posted that Shanghai day (the same local_day the
    daily views use); the brands come from the post's mentions, whichever brand the view
    files it under."""
    from alerts.responses import own_statement

    ours = [b.code for b in config.brands if not b.competitor]
    if not ours:
        return []
    query = text(
        render_sql(
            "SELECT DISTINCT t.platform, t.post_id, t.excerpt, t.observed, t.p_viral, "
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
    return list(top.values())


def digest_payload(engine: Engine, config: Config, day: dt.date) -> dict:
    before = (day - dt.timedelta(days=1)).isoformat()
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT day, brand, MAX(is_competitor) AS is_competitor, "
                    "SUM(mentions) AS mentions, SUM(scored) AS scored, "
                    "SUM(negative) AS negative, SUM(complaints) AS complaints "
                    "FROM v_mentions_daily WHERE day IN (:d, :b) GROUP BY day, brand"
                ),
                {"d": day.isoformat(), "b": before},
            )
            .mappings()
            .all()
        )
        top = _top_complaints(conn, config, day)
        incidents = (
            conn.execute(text("SELECT brand, level, status FROM incidents")).mappings().all()
        )
        benchmark = (
            conn.execute(
                text("SELECT brand, share_of_voice FROM v_brand_benchmark_daily WHERE day = :d"),
                {"d": day.isoformat()},
            )
            .mappings()
            .all()
        )
        categories = (
            conn.execute(
                text(
                    "SELECT brand, is_competitor, category, complaints, complaint_share "
                    "FROM v_category_benchmark_daily WHERE day = :d"
                ),
                {"d": day.isoformat()},
            )
            .mappings()
            .all()
        )
        responses = (
            conn.execute(
                text(
                    "SELECT brand, answered, minutes_to_response FROM v_complaint_responses "
                    "WHERE day = :d"
                ),
                {"d": day.isoformat()},
            )
            .mappings()
            .all()
        )
    # SUM() is an integer on SQLite and a Decimal on PostgreSQL: make both plain numbers
    stats = {
        (r["day"], r["brand"]): {
            k: (v if k in ("day", "brand") else float(v or 0)) for k, v in r.items()
        }
        for r in rows
    }
    lines, labels, codes, shares = [], [], [], []
    for brand in config.brands:
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
            f"{brand.name}{tag}: {mentions} mentions ({voice:.0%} share of voice), "
            f"negative {share:.0%}{change}, "
            f"{complaints} complaints{_response_text(responses, brand.code)}"
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
    lines += worse_than_competitors(config, categories, competitor_scored)
    open_incidents = [i for i in incidents if i["status"] == "open"]
    lines.append(
        f"open incidents: {len(open_incidents)} "
        f"({sum(1 for i in open_incidents if i['level'] == 'critical')} critical)"
    )
    names = {b.code: b.name for b in config.brands}
    for t in top:
        lines.append(
            f"top: {', '.join(names.get(b, b) for b in t['brands'])} {t['observed']} reposts, "
            f"P(viral) {float(t['p_viral'] or 0):.0%}: {t['excerpt'][:50]}"
        )
    return {
        "event": "digest",
        "has_data": bool(rows) or bool(open_incidents),
        "day": day.isoformat(),
        "lines": lines,
        # ascii_labels: the brand codes, drawn instead of the names without a CJK font
        "bars": {
            "labels": labels,
            "ascii_labels": codes,
            "values": shares,
            "title": f"negative share % {day}",
        },
    }


def queue_digest(
    engine: Engine, config: Config, clock: Clock, scheduled_for: dt.datetime | None = None
) -> int:
    """Queue yesterday's digest for every receiver the routing tree reaches; once a day.

    "Yesterday" is the day before the run was scheduled for (`scheduled_for`, the DAG run's
    logical date), not before the clock: a failed run cleared a day later must still
    report its own day, not the next one (whose digest may already be out)."""
    now = clock.now()
    at = scheduled_for or now
    day = at.astimezone(ZoneInfo(config.timezone)).date() - dt.timedelta(days=1)
    payload = digest_payload(engine, config, day)
    if not payload["has_data"]:  # a fresh install: no day to report on, no open incident
        log.info("digest %s: nothing to report; not sent", day)
        return 0
    receivers = set()
    for brand in config.brands:
        for level in ("watch", "warning", "critical"):
            receivers.update(receivers_for(config, {"brand": brand.code, "level": level}))
    with engine.begin() as conn:
        return queue_notice(
            conn, config, receivers, f"digest:{day.isoformat()}", "digest", payload, now
        )
