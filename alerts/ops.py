"""Notices to ops about the pipeline itself (not about a brand): a source whose token
expired or was revoked.

An expired token fails every ingest run until someone renews the Connection, so the task
fails loudly every run (the Airflow UI shows it), but ops are *notified* once per outage:
the first failure records when the outage began (an `ingest_cursors` row under the query
`__token_outage__`), the notice's dedupe key names that moment, and the first successful
run afterwards clears it, so the next outage notifies again. The notice goes through the
notification log like any alert (once per receiver, retried until it goes out), to
`alerts.routing.ops_receivers`: where a dedicated ops route (`match: {category: [ops]}`)
sends it, else where the tree sends its labels (level critical, its platform) and to every
receiver a critical alert on that platform can reach, so per-brand routes still page
someone. The ingest task sends the notice it queued at once (`token_outage` returns its
keys) and nothing else: alerts and digests queued by the other DAGs are their delivery
stage's to send, with its quiet hours, limits and failure reporting.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete

from alerts.render import local_time
from alerts.routing import ops_receivers
from alerts.stage import notice_key, queue_notice
from warehouse.cursors import get_cursor, set_cursor
from warehouse.schema import ingest_cursors
from yujing.clock import Clock
from yujing.config import Config

OUTAGE_QUERY = "__token_outage__"


def token_outage(
    engine: Engine, config: Config, clock: Clock, platform: str, conn_id: str, error: str
) -> list[str]:
    """Record a token failure; queue the ops notice if this outage has none yet.
    Returns the notification keys of the notice when this call queued it (one per
    receiver), else none (every run after the first)."""
    now = clock.now()
    with engine.begin() as conn:
        began = get_cursor(conn, platform, OUTAGE_QUERY)
        if began is None:
            began = now
            set_cursor(conn, platform, OUTAGE_QUERY, began, now)
        payload = {
            "event": "ops",
            "title": f"Yujing 运维 ops: {platform} 授权失效 token expired or invalid",
            "lines": [
                f"{platform} 采集已停止 ingest has stopped since "
                f"{local_time(began, config.timezone)}",
                f"原因 Reason: {error}",
                f"处理 Fix: renew the access token of Airflow Connection {conn_id!r}; "
                "the next run resumes from the stored cursors, nothing is lost",
            ],
            "platform": platform,
            "conn_id": conn_id,
            "since": began.isoformat(),
            "at": now.isoformat(),
        }
        receivers = ops_receivers(config, platform)
        prefix = f"ops:token:{platform}:{began.strftime('%Y%m%dT%H%M%S')}"
        queued = queue_notice(
            conn,
            config,
            receivers,
            prefix,
            "ops",
            payload,
            now,
            level="critical",  # as urgent as a critical alert: quiet hours do not hold it
        )
        return [notice_key(prefix, name) for name in sorted(receivers)] if queued else []


def source_recovered(engine: Engine, platform: str) -> bool:
    """A run succeeded: close the outage (if any), so a later one notifies again."""
    with engine.begin() as conn:
        result = conn.execute(
            delete(ingest_cursors).where(
                ingest_cursors.c.source == platform, ingest_cursors.c.query == OUTAGE_QUERY
            )
        )
        return result.rowcount > 0


def outage_since(engine: Engine, platform: str) -> dt.datetime | None:
    with engine.connect() as conn:
        return get_cursor(conn, platform, OUTAGE_QUERY)
