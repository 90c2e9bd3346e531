"""`yujing report INCIDENT [--out FILE.html]`: a crisis report a PR lead can forward.

One self-contained HTML file in the shape Chinese PR teams use: 事件溯源 (origin),
传播趋势 (spread curve with the prediction), 关键传播节点 (key reposters), 网民情绪
(sentiment of the brand's mentions over the incident), 类别与信号 (categories and
escalation signals) and 预警记录 (the alerts sent and their lead time). The first alert
(首次预警) is the first open or escalate notification that paged someone (Slack, email,
webhook); the watch level's outbox records page nobody, so they are listed as records
only and the first of them is shown apart (首次记录). Charts are inline
SVG with their text kept as text, so the reader's browser draws the Chinese labels with
its own fonts. Every value taken from a post is HTML-escaped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import sys
import warnings
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text

from warehouse.schema import incidents, mentions, notifications, reposts, spread_estimates

TZ = ZoneInfo("Asia/Shanghai")


def _local(t: dt.datetime | None) -> str:
    return "—" if t is None else t.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


ALERT_EVENTS = ("open", "escalate")  # the answered/noresponse/remind/resolve notes are not


def is_page(note) -> bool:
    """The notification paged a person: it went to a receiver that reaches one (not the
    outbox, which the watch level routes to: a record, nobody is paged)."""
    return note["channel"] != "outbox"


def first_alert_at(sent) -> dt.datetime | None:
    """When the incident first paged someone: as v_alert_outcomes.first_alert_at."""
    return next((s["sent_at"] for s in sent if s["event"] in ALERT_EVENTS and is_page(s)), None)


def first_record_at(sent) -> dt.datetime | None:
    """The first open/escalate notification, outbox records included (first_recorded_at)."""
    return next((s["sent_at"] for s in sent if s["event"] in ALERT_EVENTS), None)


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import logging

    import matplotlib.pyplot as plt

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: the browser renders CJK
    plt.rcParams["font.sans-serif"] = [
        "Noto Sans CJK SC",
        "PingFang SC",
        "Microsoft YaHei",
        "DejaVu Sans",
    ]
    return plt.subplots(figsize=(8, 3.2), dpi=100)


def gather(engine: Engine, incident_id: str) -> dict | None:
    with engine.connect() as conn:
        inc = (
            conn.execute(select(incidents).where(incidents.c.incident_id == incident_id))
            .mappings()
            .first()
        )
        if inc is None:
            return None
        root = (
            conn.execute(
                select(mentions).where(
                    mentions.c.platform == inc["platform"],
                    mentions.c.post_id == inc["root_post_id"],
                    mentions.c.brand == inc["brand"],
                )
            )
            .mappings()
            .first()
        )
        estimates = (
            conn.execute(
                select(spread_estimates)
                .where(
                    spread_estimates.c.platform == inc["platform"],
                    spread_estimates.c.post_id == inc["root_post_id"],
                )
                .order_by(spread_estimates.c.estimated_at)
            )
            .mappings()
            .all()
        )
        repost_rows = (
            conn.execute(
                select(reposts)
                .where(
                    reposts.c.platform == inc["platform"],
                    reposts.c.root_post_id == inc["root_post_id"],
                )
                .order_by(reposts.c.created_at)
            )
            .mappings()
            .all()
        )
        sent = (
            conn.execute(
                select(notifications)
                .where(notifications.c.incident_id == incident_id, notifications.c.status == "sent")
                .order_by(notifications.c.sent_at)
            )
            .mappings()
            .all()
        )
        start = (root["created_at"] if root else inc["opened_at"]) - dt.timedelta(hours=1)
        end = inc["resolved_at"] or inc["updated_at"]
        mood = conn.execute(
            text(
                "SELECT m.created_at, s.negative, s.complaint FROM mentions m "
                "JOIN v_latest_scores s ON s.platform = m.platform AND s.post_id = m.post_id "
                "WHERE m.brand = :brand"
            ),
            {"brand": inc["brand"]},
        ).all()
    from warehouse.schema import UTCDateTime

    conv = UTCDateTime()
    mood = [
        (
            conv.process_result_value(t, engine.dialect)
            if isinstance(t, dt.datetime)
            else dt.datetime.fromisoformat(str(t)).replace(tzinfo=dt.UTC),
            bool(n),
            bool(c),
        )
        for t, n, c in mood
    ]
    mood = [m for m in mood if start <= m[0] <= end + dt.timedelta(hours=1)]
    return {
        "incident": dict(inc),
        "root": dict(root) if root else None,
        "estimates": [dict(e) for e in estimates],
        "reposts": [dict(r) for r in repost_rows],
        "sent": [dict(s) for s in sent],
        "mood": mood,
    }


def _time_axis(ax) -> None:
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=TZ))
    ax.set_xlabel("北京时间 Asia/Shanghai")


def spread_svg(data: dict, viral: int) -> str:
    fig, ax = _figure()
    reps = data["reposts"]
    if reps:
        ax.step(
            [r["created_at"] for r in reps],
            range(1, len(reps) + 1),
            where="post",
            color="#c0392b",
            label="转发 reposts",
        )
    est = data["estimates"]
    if est:
        times = [e["estimated_at"] for e in est]
        ax.plot(
            times,
            [e["predicted"] for e in est],
            "--",
            color="#2c3e50",
            label="24小时预测 predicted at 24 h",
        )
        ax.fill_between(
            times,
            [e["low"] for e in est],
            [e["high"] for e in est],
            color="#2c3e50",
            alpha=0.15,
            label="80% 区间 interval",
        )
    ax.axhline(viral, color="#e67e22", lw=1, label=f"爆发线 viral line {viral:,}")
    for s in data["sent"]:
        ax.axvline(s["sent_at"], color="#8e44ad", lw=0.8, alpha=0.6)
    ax.set_ylabel("转发数 reposts")
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _svg(fig)


def mood_svg(data: dict) -> str:
    fig, ax = _figure()
    buckets: dict[dt.datetime, list] = {}
    for t, negative, complaint in data["mood"]:
        hour = t.replace(minute=0, second=0, microsecond=0)
        buckets.setdefault(hour, []).append((negative, complaint))
    hours = sorted(buckets)
    ax.plot(
        hours,
        [sum(n for n, _ in buckets[h]) / len(buckets[h]) for h in hours],
        "o-",
        color="#c0392b",
        label="负面占比 negative share",
    )
    ax.plot(
        hours,
        [sum(c for _, c in buckets[h]) / len(buckets[h]) for h in hours],
        "s--",
        color="#e67e22",
        label="投诉占比 complaint share",
    )
    ax.set_ylim(0, 1)
    if len(hours) == 1:
        ax.set_xlim(hours[0] - dt.timedelta(hours=2), hours[0] + dt.timedelta(hours=2))
    ax.legend(loc="upper left", fontsize=8)
    _time_axis(ax)
    fig.autofmt_xdate()
    fig.tight_layout()
    return _svg(fig)


def render_report(data: dict, config) -> str:
    from nlp.lexicon import category_label, signal_label

    e = html.escape
    inc, root = data["incident"], data["root"] or {}
    viral = config.thresholds.viral_reposts
    brand = (
        config.brand(inc["brand"]).name
        if inc["brand"] in {b.code for b in config.brands}
        else inc["brand"]
    )
    evidence = json.loads(inc.get("evidence") or "{}")
    categories = evidence.get("categories") or [inc["category"]]
    signals = evidence.get("signals") or []
    last = data["estimates"][-1] if data["estimates"] else {}
    key_nodes = sorted(data["reposts"], key=lambda r: -(r["followers"] or 0))[:10]
    crossed = inc.get("crossed_viral_at")
    # over the line when first seen: the crossing is only that sighting, no lead time
    unseen = bool(inc.get("crossed_before_seen"))
    unseen_note = " (首次发现时已超过 already past it when first seen)" if unseen else ""
    alerts_rows = "".join(
        f"<tr><td>{e(_local(s['sent_at']))}</td><td>{e(s['event'])}</td><td>{e(s['level'] or '')}"
        f"</td><td>{e(s['receiver'])}{'' if is_page(s) else ' (仅记录 record only)'}</td><td>"
        + (
            e(f"{(crossed - s['sent_at']).total_seconds() / 60:.0f} 分钟 min")
            if crossed and not unseen
            else "—"
        )
        + "</td></tr>"
        for s in data["sent"]
    )
    node_rows = "".join(
        f"<tr><td>{e(str(r['user_id'] or '?'))}</td><td>{r['followers'] or 0:,}</td>"
        f"<td>{'认证 V' if r['verified'] else ''}</td><td>{e(_local(r['created_at']))}</td></tr>"
        for r in key_nodes
    )
    # Without a CJK font matplotlib warns while measuring text; the SVG keeps the text and
    # the browser draws it with its own fonts, so the warning is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        spread_chart, mood_chart = spread_svg(data, viral), mood_svg(data)
    url = root.get("url") or ""
    link = f'<a href="{e(url)}">{e(url)}</a>' if url.startswith(("http://", "https://")) else "—"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>舆情事件报告 {e(inc["incident_id"])}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       max-width: 900px; margin: 2em auto; color: #222; }}
h1 {{ border-bottom: 3px solid #c0392b; }} h2 {{ color: #c0392b; margin-top: 1.6em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; text-align: left; }}
blockquote {{ background: #f7f7f7; border-left: 4px solid #c0392b; padding: .6em 1em; }}
.level {{ font-weight: bold; text-transform: uppercase; }}
</style></head><body>
<h1>舆情事件报告 Incident report: {e(brand)}</h1>
<p>事件 <code>{e(inc["incident_id"])}</code> · 级别 <span class="level">{e(inc["level"])}</span>
 · 状态 {e(inc["status"])} · 平台 {e(inc["platform"])} · 生成于 {e(_local(dt.datetime.now(dt.UTC)))}</p>

<h2 id="origin">事件溯源 Origin</h2>
<blockquote>{e(root.get("text") or "")}</blockquote>
<table>
<tr><th>作者 Author</th><td>{e(str(root.get("author_name") or "?"))}
 ({(root.get("author_followers") or 0):,} 粉丝{" · 认证" if root.get("author_verified") else ""})</td></tr>
<tr><th>发布时间 Posted</th><td>{e(_local(root.get("created_at")))}</td></tr>
<tr><th>原帖 Link</th><td>{link}</td></tr>
<tr><th>首次预警 First alert</th><td>{e(_local(first_alert_at(data["sent"])))}</td></tr>
<tr><th>首次记录 First record</th><td>{e(_local(first_record_at(data["sent"])))}</td></tr>
<tr><th>越过爆发线 Crossed {viral:,}</th><td>{e(_local(crossed))}{unseen_note}</td></tr>
</table>

<h2 id="spread">传播趋势 Spread</h2>
<p>当前转发 {last.get("observed", 0):,} · 24小时预测 {last.get("predicted", 0):,.0f}
 (80%: {last.get("low", 0):,.0f}–{last.get("high", 0):,.0f}) · 爆发概率 P(viral)
 {last.get("p_viral", 0):.0%} · 速度 {last.get("velocity_per_10min", 0):.0f}/10 min</p>
<figure>{spread_chart}</figure>

<h2 id="nodes">关键传播节点 Key reposters</h2>
<table><tr><th>用户 User</th><th>粉丝 Followers</th><th>认证 Verified</th><th>转发时间 Reposted</th></tr>
{node_rows or '<tr><td colspan="4">—</td></tr>'}</table>

<h2 id="mood">网民情绪 Sentiment</h2>
<p>{e(brand)} 相关帖子每小时的负面与投诉占比 (negative and complaint share of the brand's
mentions per hour).</p>
<figure>{mood_chart}</figure>

<h2 id="categories">类别与信号 Categories and signals</h2>
<p>{e("、".join(f"{category_label(c)} ({c})" for c in categories))}</p>
<p>{e("、".join(f"{signal_label(s)} ({s})" for s in signals) or "无 none")}</p>

<h2 id="alerts">预警记录 Alerts sent</h2>
<table><tr><th>时间 Time</th><th>事件 Event</th><th>级别 Level</th><th>接收 Receiver</th>
<th>提前量 Lead time</th></tr>
{alerts_rows or '<tr><td colspan="5">—</td></tr>'}</table>
</body></html>
"""


def report_main(argv: list[str], engine=None) -> int:
    parser = argparse.ArgumentParser(prog="yujing report", description=__doc__)
    parser.add_argument("incident_id")
    parser.add_argument("--out", help="HTML file (default: report-INCIDENT.html)")
    args = parser.parse_args(argv)

    from warehouse.db import make_engine
    from yujing.config import load_config
    from yujing.export import not_upgraded, output_problem

    out = args.out or f"report-{args.incident_id}.html"
    problem = output_problem(out)  # before the queries and charts, not after
    if problem:
        print(f"yujing report: cannot write {out}: {problem}", file=sys.stderr)
        return 2
    config = load_config()  # an invalid config fails here, before a file is opened
    engine = engine or make_engine()
    problem = not_upgraded(engine)
    if problem:
        print(f"yujing report: {problem}", file=sys.stderr)
        return 2
    data = gather(engine, args.incident_id)
    if data is None:
        print(f"yujing report: no incident {args.incident_id!r}", file=sys.stderr)
        return 1
    try:
        with open(out, "w", encoding="utf-8") as f:
            f.write(render_report(data, config))
    except OSError as exc:  # e.g. no permission to write, disk full
        print(f"yujing report: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(out)
    return 0
