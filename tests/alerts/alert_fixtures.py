"""Helpers and fixtures for the alert tests: a warehouse seeded directly (mentions, scores, tracked
posts, spread estimates), a manual clock, channels that record or fail, a real local SMTP
server (aiosmtpd) and the Slack Web API stub."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading

import pytest
import requests
from sqlalchemy import select

from warehouse.schema import (
    brand_responses,
    incidents,
    mentions,
    metric_snapshots,
    notifications,
    scores,
    spread_estimates,
    tracked_posts,
)
from warehouse.writes import upsert
from yujing.clock import ManualClock
from yujing.config import load_config, parse_config

# 10:00 in Shanghai
T0 = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
HOSTILE = (
    "<!channel> <!here> *买* _它_ ~删~ `code` <script>alert(1)</script> & "
    "<https://evil.example|官方通知> [点我](https://evil.example) <@all> "
    '<at user_id="all">所有人</at> # 标题'
)


# Level rules driven by P(viral) and velocity alone, so a test of the engine's or the
# delivery's mechanics says "warning" with one number (p 0.4) whatever the shipped
# config's warning rule is (the predicted-reach operating point, tested on its own).
MECHANICS_LEVELS = {
    "watch": {"p_viral": 0.15, "velocity_per_10min": 20},
    "warning": {"p_viral": 0.35, "velocity_per_10min": 60},
    "critical": {"p_viral": 0.6, "velocity_per_10min": 150},
}


def mechanics_config(**receiver_overrides):
    """The default config with MECHANICS_LEVELS and, if given, receiver overrides."""
    raw = load_config().model_dump(by_alias=True, exclude_none=True)
    raw["levels"].update(MECHANICS_LEVELS)
    for receiver in raw["receivers"]:
        receiver.update(receiver_overrides)
    return parse_config(raw)


def config_with(**receiver_overrides):
    """mechanics_config with every receiver's settings overridden."""
    return mechanics_config(**receiver_overrides)


class Warehouse:
    """Seeds the tables the escalation stage reads, and reads back what it wrote."""

    def __init__(self, engine):
        self.engine = engine

    def post(
        self,
        post_id="1",
        brand="mumu",
        *,
        observed=300,
        p=0.7,
        velocity=80.0,
        text=None,
        author="宝妈",
        followers=500,
        verified=False,
        at=T0,
        categories=("safety",),
        signals=("regulator_legal",),
        root_id=None,
        platform="weibo",
        complaint=True,
        competitor=None,
    ):
        with self.engine.begin() as conn:
            conn.execute(
                mentions.insert().values(
                    platform=platform,
                    post_id=post_id,
                    brand=brand,
                    author_name=author,
                    author_followers=followers,
                    author_verified=verified,
                    text=text if text is not None else f"沐沐奶粉有异物 {HOSTILE}",
                    created_at=at - dt.timedelta(hours=1),
                    url=f"https://weibo.com/1/{post_id}",
                    root_id=root_id,
                    raw="{}",
                    ingested_at=at,
                    is_competitor=brand == "kuaixian" if competitor is None else competitor,
                )
            )
            conn.execute(
                scores.insert().values(
                    platform=platform,
                    post_id=post_id,
                    model_version="m",
                    sentiment=0.05,
                    negative=True,
                    complaint=complaint,
                    categories=json.dumps(list(categories)),
                    signals=json.dumps(list(signals)),
                    scored_at=at,
                )
            )
            conn.execute(
                tracked_posts.insert().values(
                    platform=platform,
                    post_id=post_id,
                    brand=brand,
                    state="hot",
                    created_at=at - dt.timedelta(hours=1),
                    tracked_since=at,
                    next_check_at=at,
                )
            )
        self.estimate(post_id, at, observed, p, velocity, platform=platform)

    def estimate(self, post_id, at, observed, p, velocity=10.0, platform="weibo"):
        with self.engine.begin() as conn:
            conn.execute(
                spread_estimates.insert().values(
                    platform=platform,
                    post_id=post_id,
                    estimated_at=at,
                    model_version="s",
                    observed=observed,
                    predicted=observed * 3.0,
                    low=observed * 2.0,
                    high=observed * 5.0,
                    p_viral=p,
                    velocity_per_10min=velocity,
                )
            )
            conn.execute(
                metric_snapshots.insert().values(
                    platform=platform,
                    post_id=post_id,
                    observed_at=at,
                    reposts=observed,
                    comments=observed // 2,
                    likes=observed * 3,
                )
            )

    def rows(self, *where):
        n = notifications.c
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(notifications).where(*where).order_by(n.created_at, n.dedupe_key)
                )
                .mappings()
                .all()
            )

    def sent(self):
        return sorted(r["dedupe_key"] for r in self.rows(notifications.c.status == "sent"))

    def statuses(self):
        return {r["dedupe_key"]: r["status"] for r in self.rows()}

    def incidents(self):
        with self.engine.connect() as conn:
            return conn.execute(select(incidents).order_by(incidents.c.opened_at)).mappings().all()


@pytest.fixture
def world(warehouse):
    return Warehouse(warehouse)


@pytest.fixture
def clock():
    return ManualClock(T0)


class Recorder:
    """A channel that records what it sends, fails the first `fails` sends, and can
    check whether it sent something already (like Slack/outbox)."""

    name = "recorder"

    def __init__(self, fails=0, idempotent=False):
        self.fails = fails
        self.sent: list[dict] = []
        self.idempotent = idempotent
        self._lock = threading.Lock()

    def send(self, note):
        with self._lock:
            if self.fails:
                self.fails -= 1
                raise ConnectionError("channel down")
            self.sent.append(note)
            return f"ext-{len(self.sent)}"

    @property
    def keys(self):
        return [n["dedupe_key"] for n in self.sent]


@pytest.fixture
def recorder():
    return Recorder()


def weibo_comment(uid: str, name: str, at: dt.datetime, cid: str, text: str = "同问") -> dict:
    """A comment as comments/show returns it (Weibo's time format, Beijing time)."""
    return {
        "idstr": cid,
        "created_at": at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime(
            "%a %b %d %H:%M:%S %z %Y"
        ),
        "text": text,
        "user": {"idstr": uid, "screen_name": name},
    }


class CommentsAPI:
    """A requests session for WeiboClient that answers comments/show like Weibo: each
    post's comments (`threads[post_id]`, newest first) by page and count, with
    `total_number` (`totals[post_id]` overrides it: Weibo's runs high when comments are
    hidden). `fault` makes every call fail: "rate_limited" (error 10023) or "down"
    (HTTP 502, so the client's retries run out); a post in `gone` is deleted (error
    20101). Records (post id, page) of each call."""

    def __init__(self):
        self.threads: dict[str, list[dict]] = {}
        self.totals: dict[str, int] = {}
        self.fault: str | None = None
        self.gone: set[str] = set()
        self.calls: list[tuple[str, int]] = []

    def request(self, method, url, timeout=None, params=None, **kw):
        post_id, page, count = params["id"], int(params["page"]), int(params["count"])
        self.calls.append((post_id, page))
        response = requests.Response()
        if self.fault == "rate_limited":
            body, response.status_code = {"error_code": 10023, "error": "out of rate limit"}, 403
        elif self.fault == "down":
            body, response.status_code = {"error": "bad gateway"}, 502
        elif post_id in self.gone:
            body, response.status_code = (
                {"error_code": 20101, "error": "target weibo does not exist!"},
                400,
            )
        else:
            items = self.threads.get(post_id, [])
            total = self.totals.get(post_id, len(items))
            page_items = items[(page - 1) * count : page * count]
            body, response.status_code = {"comments": page_items, "total_number": total}, 200
        response._content = json.dumps(body, ensure_ascii=False).encode()
        return response

    def client(self):
        from ingest.weibo import WeiboClient

        return WeiboClient("https://api.weibo.com/2", "tok", session=self, sleep=lambda s: None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), collecting every message."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def slack_stub():
    from simulator.slack_stub import SlackStub

    stub = SlackStub().start()
    yield stub
    stub.stop()


OFFICIAL = "5503128761"  # 沐沐奶粉's official Weibo uid in config/yujing.yaml


def seed_response(engine, post_id: str, responded_at=None, brand="mumu", checked_at=T0) -> None:
    """A brand_responses row as the comment check writes it: checked at `checked_at`,
    answered by the official account at `responded_at` (None: no reply found)."""
    with engine.begin() as conn:
        upsert(
            conn,
            brand_responses,
            [
                {
                    "platform": "weibo",
                    "post_id": post_id,
                    "brand": brand,
                    "checked_at": checked_at,
                    "comments_seen": 3,
                    "responded_at": responded_at,
                    "response_id": "c1" if responded_at else None,
                    "responder_uid": OFFICIAL if responded_at else None,
                    "responder_name": "沐沐奶粉官方微博" if responded_at else None,
                    "response_text": "已私信 <@all>" if responded_at else None,
                }
            ],
            keys=["platform", "post_id", "brand"],
        )
