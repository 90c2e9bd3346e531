"""Real delivery: Slack through slack-sdk to the local Web API stub over a socket, email
to a real SMTP server (aiosmtpd) on 127.0.0.1, webhooks and robots to a local HTTP server,
channels built from the config and Connection URIs."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

import pytest
from alert_fixtures import HOSTILE, T0, Recorder, SMTPServer, mechanics_config

from alerts.channels import (
    DeliveryError,
    EmailChannel,
    OutboxChannel,
    SlackChannel,
    UnavailableChannel,
    WebhookChannel,
    channels_for_config,
    lookup_from_uris,
)
from alerts.stage import LEASE, deliver_pending, queue_notice, run_escalation
from warehouse.schema import notifications
from yujing.tasks import _fail_for_undelivered

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
WARNING = {"p": 0.4, "velocity": 5.0, "categories": (), "signals": ()}  # → pr-slack only


def slack_channels(stub, **kw):
    slack = SlackChannel.from_token(stub.token, "#pr-alerts", stub.base_url, **kw)
    return {"pr-slack": slack, "pr-email": Recorder(), "outbox": Recorder()}


def test_slack_thread_broadcast_update_chart_and_inert_text(world, clock, slack_stub):
    channels = slack_channels(slack_stub)
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    assert deliver_pending(world.engine, CONFIG, clock, channels)["sent"] == 1
    clock.advance(300)
    world.estimate("1", clock.now(), 900, 0.9, 200)  # critical: escalate in the thread
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, channels)
    clock.advance(dt.timedelta(minutes=61))
    world.estimate("1", clock.now(), 950, 0.9, 10)
    run_escalation(world.engine, CONFIG, clock)  # unacknowledged critical: a reminder
    deliver_pending(world.engine, CONFIG, clock, channels)

    first, second, third = slack_stub.messages
    assert first["thread_ts"] is None and first["channel_name"] == "#pr-alerts"
    assert second["thread_ts"] == first["ts"] and second["reply_broadcast"] is True
    assert third["thread_ts"] == first["ts"] and third["reply_broadcast"] is True
    assert second["metadata"]["event_payload"]["event"] == "escalate"
    # the first message now shows the current level
    assert slack_stub.updates and "CRITICAL" in json.dumps(slack_stub.updates[-1]["blocks"])
    # the chart went into the thread, twice (open, escalate), as a real PNG
    assert [u["thread_ts"] for u in slack_stub.uploads] == [first["ts"], first["ts"]]
    assert slack_stub.uploads[0]["bytes"].startswith(b"\x89PNG")
    for message in slack_stub.messages:
        flat = json.dumps([message["text"], message["blocks"]], ensure_ascii=False)
        assert "<!channel>" not in flat and "<!here>" not in flat and "<script>" not in flat
        assert "<https://evil" not in flat and "*买*" not in flat
    external = [r["external_id"] for r in world.rows(notifications.c.status == "sent")]
    assert external[0] == f"{first['channel']}:{first['ts']}"


def test_slack_429_retry_after_is_honoured(world, clock, slack_stub):
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    slack_stub.rate_limit(calls=1, retry_after=1)
    began = time.monotonic()
    assert deliver_pending(world.engine, CONFIG, clock, slack_channels(slack_stub))["sent"] == 1
    assert time.monotonic() - began >= 1.0  # waited Retry-After, then posted once
    assert slack_stub.rate_limited == 1 and len(slack_stub.messages) == 1


def test_slack_rate_limited_beyond_retries_delays_but_never_drops(world, clock, slack_stub):
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    channels = slack_channels(slack_stub, max_rate_limit_retries=0)
    slack_stub.rate_limit(calls=1, retry_after=30)
    assert deliver_pending(world.engine, CONFIG, clock, channels)["failed"] == 1
    (row,) = world.rows()
    assert row["status"] == "failed" and "ratelimited" in row["last_error"]
    clock.advance(300)
    result = deliver_pending(world.engine, CONFIG, clock, channels)
    assert result["sent"] == 1 and len(slack_stub.messages) == 1


def test_slack_lost_response_is_found_in_history_not_reposted(world, clock, slack_stub):
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    channels = slack_channels(slack_stub)
    slack_stub.drop_after_post = 1  # Slack posts it, the answer is lost (HTTP 500)
    assert deliver_pending(world.engine, CONFIG, clock, channels)["failed"] == 1
    assert len(slack_stub.messages) == 1
    clock.advance(300)
    fresh = slack_channels(slack_stub)  # a new worker process: knows no channel ids
    result = deliver_pending(world.engine, CONFIG, clock, fresh)
    assert result["recovered"] == 1 and result["sent"] == 0
    assert len(slack_stub.messages) == 1  # exactly once in the channel
    (row,) = world.rows()
    assert row["status"] == "sent" and row["external_id"].endswith(slack_stub.messages[0]["ts"])


def test_slack_lost_response_is_found_past_the_first_page_of_a_busy_channel(
    world, clock, slack_stub
):
    # one page of 200 was read: with more chatter since, the message went unseen and a
    # retry posted the alert a second time
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    slack_stub.drop_after_post = 1  # Slack posts it, the answer is lost (HTTP 500)
    assert deliver_pending(world.engine, CONFIG, clock, slack_channels(slack_stub))["failed"] == 1
    (ours,) = slack_stub.messages
    for k in range(450):  # the channel's people talk on
        slack_stub.messages.append({**ours, "ts": slack_stub._ts(), "text": f"msg {k}",
                                    "blocks": None, "metadata": None, "user": "U0PEOPLE"})  # fmt: skip
    clock.advance(300)
    result = deliver_pending(world.engine, CONFIG, clock, slack_channels(slack_stub))
    assert result["recovered"] == 1 and result["sent"] == 0
    assert sum(m["user"] == "U0YUJING" for m in slack_stub.messages) == 1


class Crash(BaseException):
    pass


def test_slack_crash_before_marking_is_recovered_after_the_lease(world, clock, slack_stub):
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    channels = slack_channels(slack_stub)
    real_send = channels["pr-slack"].send

    def send_then_die(note):
        real_send(note)
        raise Crash

    channels["pr-slack"].send = send_then_die
    with pytest.raises(Crash):
        deliver_pending(world.engine, CONFIG, clock, channels)
    clock.advance(LEASE + dt.timedelta(seconds=1))
    result = deliver_pending(world.engine, CONFIG, clock, slack_channels(slack_stub))
    assert result["recovered"] == 1 and len(slack_stub.messages) == 1


def email_note(payload, key="mumu-1:open:critical:pr-email", thread=None, event="open"):
    return {"dedupe_key": key, "receiver": "pr-email", "event": event, "thread": thread,
            "payload": payload}  # fmt: skip


PAYLOAD = {
    "event": "open",
    "level": "critical",
    "brand_name": "沐沐奶粉",
    "brand": "mumu",
    "excerpt": HOSTILE,
    "author_name": "宝妈",
    "incident_id": "mumu-1",
    "url": "https://weibo.com/1/1",
    "series": [
        ["2026-05-01T02:00:00+00:00", 1, 5, 2, 9],
        ["2026-05-01T02:10:00+00:00", 30, 400, 200, 900],
    ],
}


def test_email_to_a_real_smtp_server_with_the_chart_inline(smtp_server):
    channel = EmailChannel("127.0.0.1", smtp_server.port, ["pr@example.com"], "yujing@example.com")
    message_id = channel.send(email_note(PAYLOAD))
    later = channel.send(
        email_note(
            {**PAYLOAD, "event": "escalate"},
            key="mumu-1:escalate:x",
            thread=message_id,
            event="escalate",
        )  # fmt: skip
    )
    first, second = smtp_server.messages
    assert first.rcpt_tos == ["pr@example.com"] and first.mail_from == "yujing@example.com"
    message = message_from_bytes(first.content, policy=policy.default)
    assert message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in message.walk()]
    assert types == ["multipart/alternative", "text/plain", "multipart/related", "text/html",
                     "image/png"]  # fmt: skip
    html = message.get_body(("html",)).get_content()
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert image.get_content().startswith(b"\x89PNG")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<!channel>" not in html
    assert "沐沐奶粉" in message["Subject"] and message["Message-ID"] == message_id
    plain = message.get_body(("plain",)).get_content()
    assert "https://weibo.com/1/1" in plain and "yujing ack mumu-1" in plain
    reply = message_from_bytes(second.content, policy=policy.default)
    assert reply["In-Reply-To"] == message_id and later != message_id
    # a resend of the same notification carries the same Message-ID (receivers can dedupe)
    assert channel.message_id("mumu-1:open:critical:pr-email") == message_id


def test_an_smtp_outage_delays_but_never_drops(world, clock, smtp_server):
    world.post("1", categories=("quality",))  # critical → slack + email
    run_escalation(world.engine, CONFIG, clock)
    email = EmailChannel("127.0.0.1", smtp_server.port, ["pr@example.com"], "yujing@example.com",
                         timeout=2)  # fmt: skip
    channels = {"pr-slack": Recorder(), "pr-email": email, "outbox": Recorder()}
    smtp_server.stop()
    result = deliver_pending(world.engine, CONFIG, clock, channels)
    assert {k: v for k, v in result.items() if k != "failures"} == {
        "sent": 1,
        "recovered": 0,
        "failed": 1,
        "deferred": 0,
        "skipped": 0,
    }
    assert list(result["failures"]) == ["pr-email"] and result["failures"]["pr-email"]["count"] == 1
    (failed,) = world.rows(notifications.c.status == "failed")
    assert "ConnectionRefused" in failed["last_error"]
    smtp_server.start()
    clock.advance(300)
    assert deliver_pending(world.engine, CONFIG, clock, channels)["sent"] == 1
    assert deliver_pending(world.engine, CONFIG, clock, channels)["sent"] == 0
    assert len(smtp_server.messages) == 1


def test_a_hanging_mail_server_does_not_hold_back_the_other_receivers(world, clock):
    # rows go out oldest first; a mail server that accepts connections and never answers
    # cost a timeout per email, so five incidents' emails held the newer Slack alerts back.
    # Once its failed sends took `give_up_after` seconds the receiver waits for the next
    # run, untried (0.8 s here: two sends of a 0.5 s timeout; 20 s by default).
    import socket

    for n, category in enumerate(("quality", "refund", "delivery", "pricing", "counterfeit")):
        world.post(str(n), categories=(category,), author=f"u{n}")  # critical: slack + email
        run_escalation(world.engine, CONFIG, clock)
        clock.advance(60)
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)  # connects, never greets
    tried = []

    class Counted(EmailChannel):
        def send(self, note):
            tried.append(note["dedupe_key"])
            return super().send(note)

    port = hanging.getsockname()[1]
    email = Counted("127.0.0.1", port, ["pr@example.com"], "yujing@example.com", timeout=0.5)
    channels = {"pr-slack": Recorder(), "pr-email": email, "outbox": Recorder()}
    try:
        result = deliver_pending(world.engine, CONFIG, clock, channels, give_up_after=0.8)
    finally:
        hanging.close()
    # two sends take 1 s or more (> 0.8 s); on a loaded machine one may already take 0.8 s
    k = len(tried)
    assert k in (1, 2) and result["sent"] == 5 and result["failed"] == k
    assert result["failures"]["pr-email"]["not_tried"] == 5 - k and result["deferred"] == 5 - k
    emails = world.rows(notifications.c.receiver == "pr-email")
    assert sorted((r["status"], r["attempts"]) for r in emails) == [("failed", 1)] * k + [
        ("pending", 0)
    ] * (5 - k)
    with pytest.raises(
        RuntimeError, match=rf"pr-email \({k}: .*; {5 - k} more not tried this run\)"
    ):
        _fail_for_undelivered(channels, result)


def test_a_message_refused_at_once_every_run_does_not_stop_the_ones_behind_it(world, clock):
    # a fast failure is the message, not a hanging receiver: the receiver's other messages
    # still go out in the same run
    for n, category in enumerate(("quality", "refund", "delivery", "pricing")):
        world.post(str(n), categories=(category,), author=f"u{n}")
        run_escalation(world.engine, CONFIG, clock)
        clock.advance(60)

    class RefusesTheOldest(Recorder):
        def send(self, note):
            if note["payload"]["post_id"] in ("0", "1"):
                raise ValueError("invalid_blocks")
            return super().send(note)

    slack = RefusesTheOldest()
    channels = {"pr-slack": slack, "pr-email": Recorder(), "outbox": Recorder()}
    for _ in range(2):
        result = deliver_pending(world.engine, CONFIG, clock, channels)
        clock.advance(300)
    assert sorted(n["payload"]["post_id"] for n in slack.sent) == ["2", "3"]
    assert "not_tried" not in result["failures"]["pr-slack"]


class RefusingSMTPServer(SMTPServer):
    """A real SMTP server that refuses the recipients it is told to (a full mailbox)."""

    def __init__(self, refuse):
        super().__init__()
        self.refuse = set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.2.2 mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_is_recorded_and_the_others_get_it_once(world, clock, caplog):
    """smtplib raises only when every recipient is refused; one refusal among several
    must still show up (log, last_error) without resending to those who got it."""
    server = RefusingSMTPServer({"oncall@example.com"}).start()
    try:
        to = ["pr@example.com", "oncall@example.com"]
        email = EmailChannel("127.0.0.1", server.port, to, "yujing@example.com", timeout=2)
        with world.engine.begin() as conn:
            queue_notice(conn, CONFIG, ["pr-email"], "ops:x", "ops",
                         {"event": "ops", "title": "t", "lines": ["l"]}, T0, level="critical")  # fmt: skip
        with caplog.at_level(logging.WARNING, logger="alerts.stage"):
            result = deliver_pending(world.engine, CONFIG, clock, {"pr-email": email})
        assert result["sent"] == 1 and result["failed"] == 0
        (row,) = world.rows()
        assert row["status"] == "sent" and row["external_id"].startswith("<")
        assert "oncall@example.com" in row["last_error"] and "550" in row["last_error"]
        assert "pr@example.com" not in row["last_error"]
        assert "oncall@example.com" in caplog.text and "ops:x:pr-email" in caplog.text
        clock.advance(LEASE * 2)
        assert deliver_pending(world.engine, CONFIG, clock, {"pr-email": email})["sent"] == 0
        assert [m.rcpt_tos for m in server.messages] == [["pr@example.com"]]
        # every recipient refused: nothing went out, so it fails and is retried
        server.refuse.add("pr@example.com")
        with world.engine.begin() as conn:
            queue_notice(conn, CONFIG, ["pr-email"], "ops:y", "ops",
                         {"event": "ops", "title": "t", "lines": ["l"]}, T0, level="critical")  # fmt: skip
        assert deliver_pending(world.engine, CONFIG, clock, {"pr-email": email})["failed"] == 1
        assert "Refused" in world.rows(notifications.c.status == "failed")[0]["last_error"]
    finally:
        server.stop()


class HookServer:
    """A local HTTP endpoint that records POSTs and answers like a robot."""

    def __init__(self, answer=None, status=200):
        self.requests, self.answer, self.status = [], answer or {"errcode": 0}, status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                data = json.dumps(hook.answer).encode()
                self.send_response(hook.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = HookServer()
    yield server
    server.stop()


def test_json_webhook_with_idempotency_key(hook):
    channel = WebhookChannel(hook.url + "/alerts", "json", token="s3cret")
    channel.send({"dedupe_key": "k1", "receiver": "hook", "payload": PAYLOAD})
    (request,) = hook.requests
    assert request["headers"]["Idempotency-Key"] == "k1"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["body"]["excerpt"] == HOSTILE and request["body"]["level"] == "critical"


def test_dingtalk_robot_is_signed_and_its_error_codes_fail_the_send(hook):
    secret = "SECabc123"
    channel = WebhookChannel(hook.url + "/robot/send?access_token=tok", "dingtalk", secret=secret)
    channel.send({"dedupe_key": "k1", "receiver": "ding", "payload": PAYLOAD})
    (request,) = hook.requests
    query = parse_qs(urlparse(request["path"]).query)
    stamp, sign = query["timestamp"][0], query["sign"][0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["access_token"] == ["tok"] and sign == expected
    assert request["body"]["msgtype"] == "markdown"
    hook.answer = {"errcode": 130101, "errmsg": "send too fast"}
    with pytest.raises(RuntimeError, match="130101") as failure:
        channel.send({"dedupe_key": "k2", "receiver": "ding", "payload": PAYLOAD})
    assert "tok" not in str(failure.value) and "tok" not in repr(channel)


def test_a_webhook_password_in_its_url_is_in_no_error_or_repr(hook):
    # the channel named its host by the URL's netloc, user:password@ included, in the
    # errors that land in notifications.last_error, the log and the task's failure
    from alert_fixtures import free_port

    note = {"dedupe_key": "k1", "receiver": "hook", "payload": PAYLOAD}
    with_auth = hook.url.replace("http://", "http://ops:S3cretPass@")
    hook.status = 500
    channel = WebhookChannel(with_auth + "/alerts", "json")
    with pytest.raises(DeliveryError) as refused:
        channel.send(note)
    down = WebhookChannel(f"http://ops:S3cretPass@127.0.0.1:{free_port()}/alerts", "json")
    with pytest.raises(DeliveryError) as unreachable:
        down.send(note)
    for shown in (str(refused.value), str(unreachable.value), repr(channel), repr(down)):
        assert "S3cretPass" not in shown and "ops" not in shown and "127.0.0.1:" in shown


def test_channels_from_the_config_and_connection_uris(slack_stub, smtp_server, tmp_path, caplog):
    token = slack_stub.token
    lookup = lookup_from_uris(
        {
            "slack_default": f"slack://:{token}@/?base_url={quote(slack_stub.base_url, safe='')}",
            "smtp_default": f"smtp://127.0.0.1:{smtp_server.port}?from_email=yujing%40example.com",
        }
    )
    caplog.set_level(logging.DEBUG)
    channels = channels_for_config(CONFIG, lookup)
    assert isinstance(channels["pr-slack"], SlackChannel)
    assert isinstance(channels["pr-email"], EmailChannel)
    assert isinstance(channels["outbox"], OutboxChannel)
    assert channels["pr-email"].sender == "yujing@example.com" and not channels["pr-email"].ssl
    channels["pr-slack"].send(email_note(PAYLOAD, key="a:open:critical:pr-slack"))
    channels["pr-email"].send(email_note(PAYLOAD))
    assert len(slack_stub.messages) == 1 and len(smtp_server.messages) == 1
    assert token not in caplog.text and all(token not in repr(c) for c in channels.values())
    # no Connection at all under `make run`: everything still arrives, in the outbox
    fallback = channels_for_config(CONFIG, lookup_from_uris({}), fallback=True)
    assert {type(c) for c in fallback.values()} == {OutboxChannel}
    assert "delivering to the local outbox" in caplog.text
    # anywhere else the receiver cannot deliver, and says why
    strict = channels_for_config(CONFIG, lookup_from_uris({}))
    assert isinstance(strict["outbox"], OutboxChannel)
    assert isinstance(strict["pr-slack"], UnavailableChannel)
    assert "'slack_default' is not defined" in strict["pr-slack"].reason


def test_a_mistyped_connection_keeps_alerts_queued_and_fails_the_task_until_fixed(
    world, clock, slack_stub, smtp_server, monkeypatch
):
    # a conn_id typo in production used to page nobody while every run stayed green
    from yujing.resources import Resources
    from yujing.tasks import deliver_notifications

    monkeypatch.delenv("YUJING_OUTBOX_FALLBACK", raising=False)
    world.post("1", **WARNING)  # warning → pr-slack
    run_escalation(world.engine, CONFIG, clock)
    broken = Resources(CONFIG, world.engine, clock, lookup_from_uris({}))
    with pytest.raises(RuntimeError, match=r"pr-slack: .*'slack_default' is not defined"):
        deliver_notifications(broken)
    rows = [r for r in world.rows() if r["receiver"] == "pr-slack"]
    assert rows and all(r["status"] == "failed" for r in rows) and not slack_stub.messages
    clock.advance(300)
    token, base = slack_stub.token, quote(slack_stub.base_url, safe="")
    fixed = Resources(
        CONFIG,
        world.engine,
        clock,
        lookup_from_uris(
            {
                "slack_default": f"slack://:{token}@/?base_url={base}",
                "smtp_default": f"smtp://127.0.0.1:{smtp_server.port}?from_email=y%40example.com",
            }
        ),
    )
    assert deliver_notifications(fixed)["sent"] == len(rows)
    deliver_notifications(fixed)  # a second run sends nothing more
    assert len(slack_stub.messages) == len(rows)
    assert all(r["status"] == "sent" for r in world.rows() if r["receiver"] == "pr-slack")


def test_a_failing_send_fails_the_task_naming_the_receiver_and_is_sent_once_later(
    world, clock, slack_stub, smtp_server, monkeypatch
):
    # Slack unreachable (a real socket: nothing listens on the port) used to leave every
    # run green while the PR team heard nothing; found with an outbox dir that was a file
    from alert_fixtures import free_port

    from yujing.resources import Resources
    from yujing.tasks import deliver_notifications

    monkeypatch.delenv("YUJING_OUTBOX_FALLBACK", raising=False)
    world.post("1", **WARNING)  # warning → pr-slack
    run_escalation(world.engine, CONFIG, clock)
    smtp = f"smtp://127.0.0.1:{smtp_server.port}?from_email=y%40example.com"
    down = quote(f"http://127.0.0.1:{free_port()}/api/", safe="")
    broken = Resources(CONFIG, world.engine, clock, lookup_from_uris(
        {"slack_default": f"slack://:xoxb-1@/?base_url={down}", "smtp_default": smtp}))  # fmt: skip
    with pytest.raises(
        RuntimeError, match=r"sends that failed \(retried next run\): pr-slack \(1: "
    ):
        deliver_notifications(broken)
    assert [r["status"] for r in world.rows() if r["receiver"] == "pr-slack"] == ["failed"]
    clock.advance(300)
    base = quote(slack_stub.base_url, safe="")
    fixed = Resources(CONFIG, world.engine, clock, lookup_from_uris(
        {"slack_default": f"slack://:{slack_stub.token}@/?base_url={base}",
         "smtp_default": smtp}))  # fmt: skip
    assert deliver_notifications(fixed)["sent"] == 1
    assert deliver_notifications(fixed)["sent"] == 0 and len(slack_stub.messages) == 1


def test_the_failure_message_names_only_this_runs_failed_sends(
    world, clock, slack_stub, smtp_server, monkeypatch
):
    # it used to list every failed row in the table: after Slack came back, a run whose
    # email failed also blamed Slack for an old warning that was only waiting (quiet hours)
    from alert_fixtures import free_port

    from yujing.resources import Resources
    from yujing.tasks import deliver_notifications

    monkeypatch.delenv("YUJING_OUTBOX_FALLBACK", raising=False)
    world.post("1", **WARNING)  # warning → pr-slack
    run_escalation(world.engine, CONFIG, clock)
    smtp = f"smtp://127.0.0.1:{smtp_server.port}?from_email=y%40example.com"
    down = quote(f"http://127.0.0.1:{free_port()}/api/", safe="")
    with pytest.raises(RuntimeError, match=r"pr-slack \(1: URLError"):
        deliver_notifications(Resources(CONFIG, world.engine, clock, lookup_from_uris(
            {"slack_default": f"slack://:xoxb-1@/?base_url={down}", "smtp_default": smtp})))  # fmt: skip
    clock.advance(300)  # 10:05, inside the quiet hours below: the warning waits
    quiet = mechanics_config(quiet_hours={"start": "09:00", "end": "11:00"})
    world.post("2", at=clock.now())  # critical → pr-slack and pr-email, quiet hours or not
    run_escalation(world.engine, quiet, clock)
    smtp_server.stop()  # now email is down and Slack is back
    base = quote(slack_stub.base_url, safe="")
    back = lookup_from_uris(
        {"slack_default": f"slack://:{slack_stub.token}@/?base_url={base}", "smtp_default": smtp}
    )
    with pytest.raises(RuntimeError) as failed:
        deliver_notifications(Resources(quiet, world.engine, clock, back))
    message = str(failed.value)
    assert "sends that failed (retried next run): pr-email (1: " in message
    assert "pr-slack" not in message and len(slack_stub.messages) == 1
    slack_rows = [r["status"] for r in world.rows() if r["receiver"] == "pr-slack"]
    assert sorted(slack_rows) == ["failed", "sent"]  # the warning still waits, queued


def test_outbox_console_lines_tell_incidents_apart_and_carry_no_escape_codes(tmp_path, capsys):
    # make run's console showed two incidents as the same "🔴 [紧急 CRITICAL] 沐沐奶粉 · 新事件"
    outbox = OutboxChannel(tmp_path)
    first = {**PAYLOAD, "excerpt": "奶粉里有异物\x1b[2J\x1b[31m清屏", "category": "safety"}
    second = {**PAYLOAD, "incident_id": "mumu-2", "excerpt": "客服态度太差", "category": None}
    for key, payload in (("mumu-1:open:critical:o", first), ("mumu-2:open:critical:o", second)):
        outbox.send({"dedupe_key": key, "receiver": "o", "event": "open", "payload": payload})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] != lines[1]
    assert "mumu-1" in lines[0] and "异物" in lines[0] and "mumu-2" in lines[1]
    assert not any("\x1b" in line for line in lines)
    files = sorted(tmp_path.glob("*.json"))
    summaries = [json.loads(f.read_text(encoding="utf-8"))["summary"] for f in files]
    assert len(set(summaries)) == 2 and not any("\x1b" in s for s in summaries)


def test_outbox_files_are_named_by_dedupe_key_and_written_once(tmp_path, capsys):
    outbox = OutboxChannel(tmp_path)
    note = {"dedupe_key": "mumu-1:remind#2:critical:pr team/甲", "receiver": "pr team/甲",
            "event": "open", "payload": {**PAYLOAD, "event": "open"}}  # fmt: skip
    path = outbox.send(note)
    assert outbox.send(note) == path == outbox.find_sent(note)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len([f for f in files if f.endswith(".json")]) == 1 and any(
        f.endswith(".png") for f in files
    )
    assert "/" not in files[0] and "%2F" in files[0]
    record = json.loads((tmp_path / files[0]).read_text(encoding="utf-8"))
    assert record["dedupe_key"] == note["dedupe_key"] and record["excerpt"] == HOSTILE
    assert "ALERT" in capsys.readouterr().out
    assert T0  # the same fixture clock as the other tests


def test_slack_and_smtp_down_for_an_hour_then_every_due_notification_goes_out_once(
    world, clock, slack_stub, smtp_server
):
    """Both channels are unreachable for an hour while incidents open and escalate; each
    5-minute delivery run fails and keeps everything queued; when they come back, every
    notification goes out exactly once (Slack's own history and the SMTP server agree)."""
    slack = SlackChannel.from_token(
        slack_stub.token, "#pr-alerts", slack_stub.base_url, max_rate_limit_retries=0
    )
    email = EmailChannel("127.0.0.1", smtp_server.port, ["pr@example.com"], "yujing@example.com",
                         timeout=2)  # fmt: skip
    channels = {"pr-slack": slack, "pr-email": email, "outbox": Recorder()}
    smtp_server.stop()
    for minute in range(0, 60, 5):
        if minute == 0:
            world.post("1", **WARNING)  # warning → Slack
        if minute == 20:
            world.post("2", categories=("quality",))  # critical → Slack + email
        slack_stub.fail_next = 10**6  # every Slack call answers 500
        run_escalation(world.engine, CONFIG, clock)
        result = deliver_pending(world.engine, CONFIG, clock, channels)
        assert result["sent"] == 0
        clock.advance(300)
    queued = world.rows()
    assert queued and all(r["status"] in ("failed", "pending") for r in queued)
    slack_stub.fail_next = 0
    smtp_server.start()
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, channels)
    clock.advance(300)
    deliver_pending(world.engine, CONFIG, clock, channels)  # a second run sends nothing more
    rows = world.rows()
    assert all(r["status"] == "sent" for r in rows), [(r["dedupe_key"], r["status"]) for r in rows]
    slack_rows = [r for r in rows if r["receiver"] == "pr-slack"]
    email_rows = [r for r in rows if r["receiver"] == "pr-email"]
    assert len(slack_stub.messages) == len(slack_rows) >= 2
    assert len(smtp_server.messages) == len(email_rows) >= 1


def test_the_smtp_password_never_goes_out_in_clear_text(smtp_server):
    # the local server offers no STARTTLS: logging in there would send AUTH PLAIN over
    # plain TCP, so the channel refuses before any AUTH (the server saw no message either)
    channel = EmailChannel(
        "127.0.0.1", smtp_server.port, ["pr@example.com"], "yujing@example.com",
        login="yujing", password="PASSWORD123", timeout=5,
    )  # fmt: skip
    with pytest.raises(DeliveryError, match="clear text") as info:
        channel.send(email_note(PAYLOAD))
    assert "PASSWORD123" not in str(info.value)
    assert smtp_server.messages == []


def test_smtp_connections_choose_encryption_like_airflow():
    from types import SimpleNamespace

    from alerts.channels import channel_for_receiver

    def channel(port, **extra):
        conn = SimpleNamespace(host="smtp.example.com", port=port, login="u", password="p",
                               extra_dejson=extra)  # fmt: skip
        email = SimpleNamespace(conn_id="smtp", to=["a@b.c"])
        receiver = SimpleNamespace(outbox=None, slack=None, email=email)
        return channel_for_receiver(receiver, lambda conn_id: conn)

    assert (channel(465).ssl, channel(465).starttls) == (True, False)
    assert (channel(587).ssl, channel(587).starttls) == (False, True)
    assert (channel(2525).ssl, channel(2525).starttls) == (False, None)  # when offered
    assert channel(2525, disable_tls="true").starttls is False
    assert not channel(2525).allow_plaintext_auth
    assert channel(2525, allow_plaintext_auth="true").allow_plaintext_auth


def test_an_outbox_standing_in_for_slack_email_or_a_robot_keeps_what_it_would_have_sent(
    tmp_path, monkeypatch
):
    """Under `make run` a receiver without its Connection writes to the outbox; the file
    also holds the message its channel would have sent (it held the payload and plain text
    only), escaped as that channel escapes it."""
    from alerts import render
    from yujing.config import parse_config

    monkeypatch.setenv("YUJING_HOME", str(tmp_path))
    raw = CONFIG.model_dump(by_alias=True, exclude_none=True)
    raw["receivers"].append(
        {"name": "robot", "webhook": {"kind": "dingtalk", "conn_id": "dingtalk_default"}}
    )
    raw["routing"]["routes"].insert(
        0, {"match": {"level": ["critical"]}, "receiver": "robot", "continue": True}
    )
    channels = channels_for_config(parse_config(raw), lookup_from_uris({}), fallback=True)
    records = {}
    for name in ("pr-slack", "pr-email", "robot", "outbox"):
        note = {**email_note(PAYLOAD, key=f"mumu-1:open:critical:{name}"), "receiver": name}
        path = channels[name].send(note)
        records[name] = json.loads(open(path, encoding="utf-8").read())
    slack = records["pr-slack"]["slack"]
    assert (slack["text"], slack["blocks"]) == render.slack_blocks(PAYLOAD)
    assert "<!channel>" not in json.dumps(slack["blocks"], ensure_ascii=False)
    page = tmp_path / "outbox" / records["pr-email"]["email_html"]
    html_text = page.read_text(encoding="utf-8")
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    chart = records["pr-email"]["chart"]
    assert f'src="{quote(chart)}"' in html_text and (page.parent / chart).exists()
    assert records["robot"]["webhook_body"] == render.robot_message("dingtalk", PAYLOAD)
    assert not {"slack", "email_html", "webhook_body"} & set(records["outbox"])
    assert '<meta charset="utf-8">' in html_text  # opened from disk: no MIME header


def test_an_outbox_stand_in_writes_the_alert_even_when_its_rendering_fails(tmp_path, monkeypatch):
    from alerts import render

    json_hook = OutboxChannel(tmp_path / "a", echo=False, stands_in_for="json")
    note = email_note(PAYLOAD, key="mumu-1:open:critical:hook")
    record = json.loads(open(json_hook.send(note), encoding="utf-8").read())
    assert record["webhook_body"] == render.webhook_json(note)

    def broken(p, **kwargs):
        raise ValueError("no blocks today")

    monkeypatch.setattr(render, "slack_blocks", broken)
    slack = OutboxChannel(tmp_path / "b", echo=False, stands_in_for="slack")
    record = json.loads(open(slack.send(note), encoding="utf-8").read())
    assert record["message"] == render.plain_text(PAYLOAD)  # the alert itself landed
    assert record["rendering_error"] == "ValueError: no blocks today" and "slack" not in record
