"""`yujing demo`: a simulated incident of several hours, replayed in accelerated time.

The simulator serves Weibo and WeChat over real HTTP on loopback; a manual clock moves
five minutes per step; each step runs exactly what the DAGs run (ingest both platforms,
score, track spread, then the escalate DAG's tasks in its order: check the brand's replies,
update incidents, deliver) on a throwaway SQLite warehouse, and the timeline
is printed: posts seen, scores, the incident's spread and each alert with its level and
its lead time before the post crossed the viral line. No Airflow scheduler needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace


def demo_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yujing demo", description=__doc__)
    parser.add_argument("--hours", type=float, default=6.0, help="story hours to replay")
    parser.add_argument("--step-minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the demo warehouse")
    args = parser.parse_args(argv)
    # 0 steps a zero division; NaN and inf fail these comparisons too
    if not (0 < args.step_minutes <= 24 * 60 and 0 < args.hours <= 24 * 30):
        print(
            "yujing demo: --step-minutes must be in (0, 1440] and --hours in (0, 720]",
            file=sys.stderr,
        )
        return 2

    import os

    workdir = Path(tempfile.mkdtemp(prefix="yujing-demo-"))
    os.environ["YUJING_HOME"] = str(workdir)  # the outbox and warehouse of this demo only
    try:
        return _run(args, workdir)
    finally:
        if args.keep:
            print(f"kept the demo warehouse and outbox in {workdir}")
        else:  # a throwaway warehouse per run would otherwise pile up in /tmp
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, workdir: Path) -> int:
    """The replay, on a warehouse and outbox in `workdir`; 0 when an alert was sent."""
    from sqlalchemy import select, text

    from alerts.channels import OutboxChannel
    from alerts.stage import deliver_pending
    from ingest.run import ingest_source
    from nlp.stage import score_new_mentions
    from simulator.server import Simulator
    from spread.stage import track_spread
    from spread.tracking import enroll_scored
    from warehouse.db import make_engine, upgrade
    from warehouse.schema import notifications
    from yujing.clock import ManualClock
    from yujing.config import load_config
    from yujing.resources import Resources
    from yujing.tasks import check_responses, update_incidents

    config = load_config()
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    clock = ManualClock(start)
    sim = Simulator(config, seed=args.seed, clock=clock, speed=1.0).start()
    engine = make_engine(f"sqlite:///{workdir / 'warehouse.db'}")
    upgrade(engine)

    def lookup(conn_id: str):
        url = sim.weibo_url if conn_id == config.sources.weibo.conn_id else sim.wechat_url
        host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
        return SimpleNamespace(
            conn_type="http",
            host=host,
            port=int(port),
            schema=url.rsplit("/", 1)[-1],
            password=sim.token,
            login=None,
            extra_dejson={},
        )

    res = Resources(config=config, engine=engine, clock=clock, lookup=lookup)
    outbox = OutboxChannel(workdir / "outbox", echo=False)
    channels = {r.name: outbox for r in config.receivers}
    scorer, predictor = res.scorer(), res.predictor()
    weibo, wechat = res.source_client("weibo"), res.source_client("wechat")
    incident = next(p for p in sim.posts if p.kind == "incident")
    viral = config.thresholds.viral_reposts
    crossed_at = (
        sim.at(incident.repost_story_times[viral - 1])
        if len(incident.repost_story_times) >= viral
        else None
    )

    def local(t: dt.datetime) -> str:
        return t.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M")

    print(
        f"预警 Yujing demo — {args.hours:g} simulated hours, a step every "
        f"{args.step_minutes:g} minutes (times are Asia/Shanghai)"
    )
    print(f"brands: {', '.join(b.name for b in config.brands)}; warehouse {workdir}\n")
    print(
        f"{'time':>5} {'new posts':>9} {'negative':>8} {'complaints':>10} {'tracked':>7} "
        f"{'incident reposts':>16} {'P(viral)':>8}  alerts"
    )
    began = time.monotonic()
    sent_alerts = []
    steps = int(args.hours * 60 / args.step_minutes)
    for _ in range(steps):
        clock.advance(dt.timedelta(minutes=args.step_minutes))
        a = ingest_source(engine, config, weibo, "weibo", clock)
        b = ingest_source(engine, config, wechat, "wechat", clock)
        s = score_new_mentions(engine, scorer, clock, on_scored=enroll_scored)
        sp = track_spread(engine, config, clock, predictor, weibo=weibo, wechat=wechat)
        # the yujing_escalate DAG: check_responses >> update_incidents >> deliver, the
        # later tasks running even when the check failed (trigger_rule all_done)
        try:
            check_responses(res)
        except Exception as exc:  # noqa: BLE001 - the DAG's alerts go out regardless
            print(f"brand-response check failed: {exc}", file=sys.stderr)
        update_incidents(res)
        deliver_pending(engine, config, clock, channels)
        with engine.connect() as conn:
            est = conn.execute(
                text("SELECT observed, p_viral FROM v_latest_estimates WHERE post_id = :p"),
                {"p": incident.post_id},
            ).first()
            n = notifications.c
            new_alerts = conn.execute(
                select(n.level, n.event, n.receiver, n.sent_at)
                .where(n.status == "sent", n.sent_at == clock.now())
                .order_by(n.dedupe_key)
            ).all()
        alerts = []
        for level, event, receiver, _ in new_alerts:
            lead = ""
            if crossed_at is not None and event in ("open", "escalate"):
                minutes = (crossed_at - clock.now()).total_seconds() / 60
                lead = (
                    f", {minutes:.0f} min before {viral:,} reposts"
                    if minutes > 0
                    else f", {-minutes:.0f} min after {viral:,} reposts"
                )
            alerts.append(f"{event} {level} → {receiver}{lead}")
            sent_alerts.append((clock.now(), level, event, receiver))
        observed, p = (est.observed, est.p_viral) if est else (0, 0.0)
        print(
            f"{local(clock.now()):>5} {a['stored'] + b['stored']:>9} {s['negative']:>8} "
            f"{s['complaint']:>10} {sp['due']:>7} {observed:>16} {p:>8.0%}  "
            f"{'; '.join(alerts)}",
            flush=True,
        )
    sim.stop()
    engine.dispose()
    print(
        f"\n{len(sent_alerts)} notifications sent in {time.monotonic() - began:.0f} s of wall time"
    )
    if crossed_at is not None:
        first = next((t for t, _, e, _ in sent_alerts if e == "open"), None)
        if first is not None and first < crossed_at:
            print(
                f"first alert {local(first)}, the post crossed {viral:,} reposts at "
                f"{local(crossed_at)}: {(crossed_at - first).total_seconds() / 60:.0f} minutes "
                "of warning"
            )
    return 0 if sent_alerts else 1


if __name__ == "__main__":
    sys.exit(demo_main())
