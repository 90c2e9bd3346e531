"""What each Airflow task runs: build the production resources, call one library function.

DAG files import this module inside their tasks only, so parsing a DAG never loads the
NLP or spread models. Every function here is a thin adapter; the logic lives in the
Airflow-free packages (`ingest`, `nlp`, `spread`, `alerts`), which take their clients
and clock as arguments and are tested without Airflow.
"""

from __future__ import annotations

import logging

from yujing.resources import Resources

log = logging.getLogger(__name__)


def _progress(label: str, every: int = 1000):
    """A progress callback that logs every `every` items (shown in the task log)."""
    state = {"last": 0}

    def report(done: int, total: int | None = None) -> None:
        if done - state["last"] >= every or (total is not None and done == total):
            state["last"] = done
            log.info("%s: %d%s", label, done, f"/{total}" if total else "")

    return report


def ingest_source(
    platform: str, resources: Resources | None = None, *, brand: str | None = None
) -> dict:
    """Pull new mentions from one platform into the warehouse (one brand's search terms
    when `brand` is given: the DAG maps this task over the brands)."""
    from ingest.run import ingest_source as run

    res = resources or Resources.from_airflow()
    client = res.source_client(platform)
    if client is None:
        log.info("source %s is disabled in the config; nothing to do", platform)
        return {"platform": platform, "disabled": True}
    from alerts.ops import source_recovered, token_outage
    from ingest.errors import TokenExpired

    try:
        result = run(
            res.engine,
            res.config,
            client,
            platform,
            res.clock,
            progress=_progress("stored"),
            brands=None if brand is None else [brand],
        )
    except TokenExpired as exc:
        # fail the task every run (the UI shows it), notify ops once per outage: send that
        # notice now, and only it (the delivery stage sends what the other DAGs queued)
        keys = token_outage(res.engine, res.config, res.clock, platform, client.conn_id, str(exc))
        if keys:
            from alerts.stage import deliver_pending

            deliver_pending(res.engine, res.config, res.clock, res.channels(), keys=keys)
        raise
    if source_recovered(res.engine, platform):
        log.info("%s: the token works again; outage closed", platform)
    return result


def score_mentions(resources: Resources | None = None, *, brand: str | None = None) -> dict:
    """Score every mention (of `brand`, when given) the current model has not scored yet."""
    from nlp.stage import score_new_mentions
    from spread.tracking import enroll_scored

    res = resources or Resources.from_airflow()
    return score_new_mentions(
        res.engine,
        res.scorer(),
        res.clock,
        progress=lambda n: log.info("scored %d", n),
        brand=brand,
        on_scored=enroll_scored,
    )


def track_spread(resources: Resources | None = None) -> dict:
    """Refresh tracked negative posts, predict their 24 h reach, store the estimates."""
    from spread.stage import track_spread as run

    res = resources or Resources.from_airflow()
    return run(
        res.engine,
        res.config,
        res.clock,
        res.predictor(),
        weibo=res.source_client("weibo"),
        wechat=res.source_client("wechat"),
        progress=_progress("posts checked", every=100),
    )


def check_responses(resources: Resources | None = None) -> dict:
    """Copy the config's official accounts into the warehouse (the analyst views tell a
    brand's own statement from a complaint by them), then record the brand's first public
    reply under each unanswered tracked complaint."""
    from alerts.responses import check_responses as run
    from warehouse.official_accounts import sync_official_accounts

    res = resources or Resources.from_airflow()
    synced = sync_official_accounts(res.engine, res.config, res.clock.now())
    if synced["added"] or synced["removed"]:
        log.info("official accounts: %(added)d added, %(removed)d removed", synced)
    return run(
        res.engine,
        res.config,
        res.clock,
        res.source_client("weibo"),
        progress=_progress("complaints checked for a brand reply", every=50),
    )


def update_incidents(resources: Resources | None = None) -> dict:
    """Open, escalate, remind and resolve incidents; queue their notifications."""
    from alerts.stage import run_escalation

    res = resources or Resources.from_airflow()
    return run_escalation(res.engine, res.config, res.clock)


def deliver_notifications(resources: Resources | None = None) -> dict:
    """Send every queued notification once; failures stay queued for the next run. The task
    fails, after sending everything else, while a receiver has no Connection or a send
    failed: the PR team not being reached must not look like a green run."""
    from alerts.stage import deliver_pending

    res = resources or Resources.from_airflow()
    channels = res.channels()
    stats = deliver_pending(res.engine, res.config, res.clock, channels)
    _fail_for_undelivered(channels, stats)
    return stats


def _fail_for_undelivered(channels: dict, stats: dict) -> None:
    """Raise, naming each receiver and why, when this run left notifications undelivered
    (a receiver without its Connection, or a send that failed in this run: Slack down, an
    SMTP refusal, an outbox directory that cannot be written). They stay queued: the next
    run sends them, once. Rows that failed in an earlier run and were not tried in this one
    (quiet hours, waiting behind another) are not this run's failure."""
    from alerts.channels import UnavailableChannel, unavailable

    missing = unavailable(channels)
    problems = []
    if missing:
        problems.append(
            "receivers that cannot deliver (their notifications go out once the Connection "
            f"exists): {'; '.join(missing)}"
        )
    cannot = {name for name, c in channels.items() if isinstance(c, UnavailableChannel)}
    failing = [
        f"{receiver} ({failed['count']}: {failed['last_error']}"
        + (f"; {failed['not_tried']} more not tried this run" if failed.get("not_tried") else "")
        + ")"
        for receiver, failed in stats.get("failures", {}).items()
        if receiver not in cannot
    ]
    if failing:
        problems.append("sends that failed (retried next run): " + "; ".join(failing)[:2000])
    if problems:
        counts = {k: v for k, v in stats.items() if k != "failures"}
        raise RuntimeError(f"delivery {counts}; " + "; ".join(problems))


def send_digest(resources: Resources | None = None, scheduled_for=None) -> dict:
    """Queue and send the daily digest (once per day and receiver) for the day before the
    run's scheduled time (`scheduled_for`; the clock's now when it has none), and for the
    days missed since the last digest queued (at most a week: `alerts.digest.queue_digest`)."""
    from alerts.digest import queue_digest
    from alerts.stage import deliver_pending

    res = resources or Resources.from_airflow()
    queued = queue_digest(res.engine, res.config, res.clock, scheduled_for)
    channels = res.channels()
    sent = deliver_pending(res.engine, res.config, res.clock, channels)
    _fail_for_undelivered(channels, sent)
    return {"queued": queued, **sent}


def apply_retention(resources: Resources | None = None) -> dict:
    """Downsample old metric snapshots and prune old raw payloads (config `retention`)."""
    import datetime as dt

    from warehouse.retention import downsample_snapshots, prune_raw_payloads

    res = resources or Resources.from_airflow()
    r, now = res.config.retention, res.clock.now()
    return {
        "snapshots_deleted": downsample_snapshots(
            res.engine,
            now - dt.timedelta(days=r.snapshots_full_days),
            dt.timedelta(minutes=r.downsample_minutes),
            progress=_progress("posts downsampled", every=5000),
        ),
        "raw_pruned": prune_raw_payloads(res.engine, now - dt.timedelta(days=r.raw_payload_days)),
    }


def enroll_missed_posts(resources: Resources | None = None) -> dict:
    """Track any recent negative post that was scored without being enrolled (safety net)."""
    from spread.tracking import enroll_negative_posts

    res = resources or Resources.from_airflow()
    # only the current scorer's verdicts count (scores keep every model version's rows)
    enrolled = enroll_negative_posts(res.engine, res.clock.now(), res.scorer().model_version)
    if enrolled:
        log.warning("%d negative posts were not tracked yet; enrolled now", enrolled)
    return {"enrolled": enrolled}
