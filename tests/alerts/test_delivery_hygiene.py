"""Quiet hours hold back everything but urgent news, and robot tokens stay out of logs."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from alert_fixtures import Recorder, mechanics_config

from alerts.channels import channel_for_receiver, lookup_from_uris
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import brand_responses
from warehouse.writes import upsert
from yujing.clock import ManualClock
from yujing.config import parse_config

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
EVENING = dt.datetime(2026, 5, 1, 13, 30, tzinfo=dt.UTC)  # 21:30 Shanghai


class TimedRecorder(Recorder):
    def __init__(self, clock):
        super().__init__()
        self.clock = clock

    def send(self, note):
        return super().send({**note, "at": self.clock.now().astimezone(SHANGHAI)})


def _answered(engine, at):
    with engine.begin() as conn:
        upsert(conn, brand_responses, [{
            "platform": "weibo", "post_id": "1", "brand": "mumu", "checked_at": at,
            "comments_seen": 1, "responded_at": at, "response_id": "c1",
            "responder_uid": "5503128761", "responder_name": "沐沐奶粉官微",
            "response_text": "已私信您",
        }], keys=["platform", "post_id", "brand"])  # fmt: skip


def test_quiet_hours_hold_resolved_and_answered_notes_about_critical_incidents(world):
    """Quiet 22:00-08:00. A critical incident opened at 21:30 pages at once, its reminder
    at 22:30 too (urgent); the brand's answer (22:10) and the resolution (23:30) are
    news, not emergencies: they wait for the morning, and go out then, once each."""
    clock = ManualClock(EVENING)
    config = mechanics_config(quiet_hours={"start": "22:00", "end": "08:00"})
    recorder = TimedRecorder(clock)
    channels = {r.name: recorder for r in config.receivers}
    world.post("1", categories=("quality",), at=EVENING)
    for _ in range(12 * 11):  # 11 hours of five-minute runs
        if clock.now() == EVENING + dt.timedelta(minutes=40):
            _answered(world.engine, clock.now())
        run_escalation(world.engine, config, clock)
        deliver_pending(world.engine, config, clock, channels)
        clock.advance(300)
    sent = [(n["event"], n["receiver"], n["at"].strftime("%H:%M")) for n in recorder.sent]
    slack = [(e, t) for e, r, t in sent if r == "pr-slack"]
    assert slack[:2] == [("open", "21:30"), ("remind", "22:30")], slack
    later = {e: t for e, t in slack[2:]}
    assert set(later) == {"answered", "resolve"} and all(
        "08:00" <= t < "09:00" for t in later.values()
    ), slack
    assert len(sent) == len(set((e, r) for e, r, _ in sent))  # nothing twice


@pytest.fixture
def robot_server():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps({"errcode": 0, "errmsg": "ok", "code": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_robot_tokens_never_reach_the_debug_log(robot_server, caplog):
    secrets = {
        "dingtalk": "DINGTALK-ROBOT-TOKEN-0123456789",
        "wecom": "WECOM-ROBOT-KEY-693a91f6",
        "feishu": "FEISHU-HOOK-6d0f3c1e-77aa",
    }
    uris = {
        "dingtalk": f"{robot_server}/robot/send?access_token={secrets['dingtalk']}"
        "&secret=SECsigningsecret",
        "wecom": f"{robot_server}/cgi-bin/webhook/send?key={secrets['wecom']}",
        "feishu": f"{robot_server}/open-apis/bot/v2/hook/{secrets['feishu']}",
    }
    raw = mechanics_config().model_dump(by_alias=True, exclude_none=True)
    raw["receivers"] += [
        {"name": kind, "webhook": {"conn_id": f"{kind}_default", "kind": kind}} for kind in secrets
    ]
    # a receiver no route reaches is refused: give the robots the ops notices
    raw["routing"]["routes"][:0] = [
        {"match": {"category": ["ops"]}, "receiver": kind, "continue": True} for kind in secrets
    ]
    config = parse_config(raw)
    lookup = lookup_from_uris({f"{kind}_default": uri for kind, uri in uris.items()})
    payload = {"event": "open", "level": "critical", "brand_name": "沐沐奶粉", "excerpt": "x",
               "incident_id": "i", "post_id": "1"}  # fmt: skip
    caplog.set_level(logging.DEBUG)
    for kind in secrets:
        channel = channel_for_receiver(config.receiver(kind), lookup)
        channel.send({"dedupe_key": f"k-{kind}", "receiver": kind, "payload": payload})
    requests_logged = [r for r in caplog.records if r.name.startswith("urllib3")]
    assert len([r for r in requests_logged if "POST" in r.getMessage()]) == 3
    for kind, secret in secrets.items():
        assert secret not in caplog.text, kind
    assert "sign=" not in caplog.text or "sign=***" in caplog.text
