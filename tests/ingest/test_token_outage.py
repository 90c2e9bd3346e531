"""An expired token: the ingest task fails every run, ops are notified once per outage.

Real parts: the simulator on loopback (token-expiry fault switch), the warehouse, the
notification log and the outbox channel; no Airflow (the task function is called as the
DAG calls it, with injected resources).
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from alerts.channels import OutboxChannel
from alerts.ops import outage_since
from ingest.errors import TokenExpired
from warehouse.schema import notifications
from yujing.resources import Resources
from yujing.tasks import ingest_source


class _Resources(Resources):
    outbox: OutboxChannel | None = None

    def channels(self) -> dict:
        return {r.name: self.outbox for r in self.config.receivers}


def _resources(sim, warehouse, config, clock, tmp_path) -> _Resources:
    def lookup(conn_id: str):
        url = sim.weibo_url if conn_id == config.sources.weibo.conn_id else sim.wechat_url
        return SimpleNamespace(password=sim.token, extra_dejson={"base_url": url})

    res = _Resources(config=config, engine=warehouse, clock=clock, lookup=lookup)
    res.outbox = OutboxChannel(tmp_path / "outbox", echo=False)
    return res


def _ops_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(notifications).where(notifications.c.event == "ops"))
        return [dict(r) for r in rows.mappings()]


def test_one_notice_per_outage_and_the_task_fails_every_run(
    sim, warehouse, config, clock, tmp_path
):
    res = _resources(sim, warehouse, config, clock, tmp_path)
    clock.advance(dt.timedelta(hours=1))
    assert ingest_source("weibo", res)["stored"] > 0
    sim.set_faults(token_expired=True)
    for _ in range(3):  # three scheduled runs during the outage
        clock.advance(dt.timedelta(minutes=5))
        with pytest.raises(TokenExpired, match="Airflow Connection 'weibo_default'"):
            ingest_source("weibo", res)
    rows = _ops_rows(warehouse)
    receivers = {r["receiver"] for r in rows}
    assert len(rows) == len(receivers) >= 1  # one notice per receiver, not one per run
    assert all(r["status"] == "sent" for r in rows)
    files = sorted((tmp_path / "outbox").glob("ops*.json"))
    assert len(files) == len(rows)
    notice = json.loads(files[0].read_text(encoding="utf-8"))
    assert "weibo_default" in notice["message"] and "token" in notice["message"]
    assert sim.token not in files[0].read_text(encoding="utf-8")  # never the secret
    began = outage_since(warehouse, "weibo")
    assert began is not None

    # the token is renewed: the run succeeds, the outage closes, nothing was lost
    sim.clear_faults()
    clock.advance(dt.timedelta(minutes=5))
    ingest_source("weibo", res)
    assert outage_since(warehouse, "weibo") is None

    # a later outage is a new one: notified again, once
    clock.advance(dt.timedelta(hours=2))
    sim.set_faults(token_expired=True)
    for _ in range(2):
        clock.advance(dt.timedelta(minutes=5))
        with pytest.raises(TokenExpired):
            ingest_source("weibo", res)
    assert len(_ops_rows(warehouse)) == 2 * len(receivers)


def test_the_task_clients_read_time_from_the_injected_clock(
    sim, warehouse, config, clock, tmp_path
):
    # Retry-After dates are read against it: a replay under a manual clock agrees with itself
    res = _resources(sim, warehouse, config, clock, tmp_path)
    for platform in ("weibo", "wechat"):
        assert res.source_client(platform).http.clock is clock


def test_the_outage_notice_goes_out_alone_other_queued_messages_wait_for_delivery(
    sim, warehouse, config, clock, tmp_path
):
    """The ingest task sends the ops notice it queued and nothing else: an incident alert
    or a digest queued by the escalate or digest DAG (held by quiet hours, by the hourly
    limit, or simply not due yet) is theirs to send, with their own failure reporting."""
    from alerts.stage import queue_notice
    from yujing.tasks import deliver_notifications

    res = _resources(sim, warehouse, config, clock, tmp_path)
    with warehouse.begin() as conn:
        queue_notice(conn, config, ["outbox"], "open:mumu-1", "open",
                     {"event": "open", "title": "t", "lines": ["l"]}, clock.now(),
                     level="watch")  # fmt: skip
    sim.set_faults(token_expired=True)
    clock.advance(dt.timedelta(minutes=5))
    with pytest.raises(TokenExpired):
        ingest_source("weibo", res)
    rows = _ops_rows(warehouse)
    assert rows and all(r["status"] == "sent" for r in rows)
    with warehouse.connect() as conn:
        alert = conn.execute(
            select(notifications.c.status).where(notifications.c.dedupe_key == "open:mumu-1:outbox")
        ).scalar_one()
    assert alert == "pending"  # not sent from inside the ingest task
    assert not list((tmp_path / "outbox").glob("open*.json"))
    assert deliver_notifications(res)["sent"] == 1  # the delivery stage sends it
    assert len(list((tmp_path / "outbox").glob("*.json"))) == len(rows) + 1
