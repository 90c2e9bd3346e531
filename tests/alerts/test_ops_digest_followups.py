"""Ops notices reach a real receiver under any routing; every receiver that gets alerts
gets its digest; the digest's day, counts and incidents agree whatever the config's
timezone; its top complaints are cut with "…", linked, and their counts readable."""

from __future__ import annotations

import datetime as dt
import json

from alert_fixtures import mechanics_config
from sqlalchemy import select

from alerts.digest import digest_payload, digest_scopes, queue_digest
from alerts.ops import token_outage
from alerts.routing import receivers_for
from warehouse.schema import incidents, notifications
from yujing.clock import ManualClock
from yujing.config import parse_config

CONFIG = mechanics_config()


def ops_receivers(config, platform):
    from alerts.routing import ops_receivers  # new: imported here so the file loads on HEAD

    return ops_receivers(config, platform)


def _config(routes, extra_receivers=(), **top):
    raw = CONFIG.model_dump(by_alias=True, exclude_none=True)
    raw["receivers"] += list(extra_receivers)
    raw["routing"] = {"receiver": "outbox", "routes": routes}
    raw.update(top)
    return parse_config(raw)


BRAND_ROUTES = [
    {
        "match": {"brand": ["mumu"]},
        "receiver": "pr-slack",
        "routes": [{"match": {"level": ["critical"]}, "receiver": "pr-email"}],
    },
    {"match": {"brand": ["xingche"], "level": ["warning", "critical"]}, "receiver": "pr-slack"},
]


# --- 1. ops notices --------------------------------------------------------------------


def test_ops_notice_under_brand_routes_pages_whoever_critical_alerts_page(world, clock):
    config = _config(BRAND_ROUTES)
    assert receivers_for(config, {"level": "critical"}) == ["outbox"]  # what it used to get
    assert len(token_outage(world.engine, config, clock, "weibo", "weibo_default", "expired")) >= 2
    got = {r["receiver"] for r in world.rows(notifications.c.event == "ops")}
    assert {"pr-email", "pr-slack"} <= got


def test_ops_notice_with_the_default_routes_goes_to_the_paging_receivers():
    assert ops_receivers(CONFIG, "weibo") == ["pr-slack", "pr-email"]


def test_a_dedicated_ops_route_takes_the_ops_notices_alone():
    config = _config(
        [{"match": {"category": ["ops"]}, "receiver": "ops-team"}, *BRAND_ROUTES],
        [{"name": "ops-team", "slack": {"channel": "#yujing-ops"}}],
    )
    assert ops_receivers(config, "weibo") == ["ops-team"]
    assert ops_receivers(config, "wechat") == ["ops-team"]
    # and no alert reaches that route
    labels = {"brand": "mumu", "level": "critical", "category": "safety", "platform": "weibo"}
    assert receivers_for(config, labels) == ["pr-email"]


def test_ops_notice_follows_platform_routes():
    config = _config(
        [
            {"match": {"platform": ["wechat"]}, "receiver": "wechat-team"},
            {"match": {"brand": ["mumu"]}, "receiver": "pr-slack"},
        ],
        [{"name": "wechat-team", "slack": {"channel": "#wechat-pr"}}],
        receivers=[
            {"name": "outbox", "outbox": {}},
            {"name": "pr-slack", "slack": {"channel": "#pr-alerts"}},
            {"name": "wechat-team", "slack": {"channel": "#wechat-pr"}},
        ],
    )
    assert ops_receivers(config, "wechat") == ["wechat-team"]
    assert "pr-slack" in ops_receivers(config, "weibo")


# --- 5. digest scopes ------------------------------------------------------------------


def test_a_receiver_routed_by_platform_or_uncategorised_gets_its_digest():
    config = _config(
        [
            {"match": {"platform": ["wechat"]}, "receiver": "wechat-team"},
            {
                "match": {"category": ["negative"], "level": ["warning", "critical"]},
                "receiver": "pr-email",
            },  # fmt: skip
            {"match": {"level": ["warning", "critical"]}, "receiver": "pr-slack"},
        ],
        [{"name": "wechat-team", "slack": {"channel": "#wechat-pr"}}],
    )
    scopes = digest_scopes(config)
    assert scopes["wechat-team"] == {"mumu", "xingche"}
    assert scopes["pr-email"] == {"mumu", "xingche"}


# --- 8. the digest's day ---------------------------------------------------------------

LATE = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)  # 12-01 in UTC, 12-02 04:00 Shanghai


def _late_incident(world):
    world.post("p0", brand="mumu", at=LATE + dt.timedelta(hours=1))  # created_at = LATE
    with world.engine.begin() as conn:
        conn.execute(
            incidents.insert().values(
                incident_id="mumu-late", brand="mumu", platform="weibo", root_post_id="p0",
                category="safety", level="critical", status="open", opened_at=LATE,
                updated_at=LATE, level_changed_at=LATE, last_growth_at=LATE, peak_p_viral=0.7,
                evidence=json.dumps({"url": "https://weibo.com/1/p0", "observed": 500}),
            )
        )  # fmt: skip


def test_with_timezone_utc_the_incident_and_its_complaint_share_one_day(world):
    config = _config(CONFIG.model_dump(by_alias=True)["routing"]["routes"], timezone="UTC")
    _late_incident(world)
    for day in (dt.date(2026, 12, 1), dt.date(2026, 12, 2)):
        lines = digest_payload(world.engine, config, day)["lines"]
        mumu = next(line for line in lines if line.startswith("沐沐奶粉:"))
        listed = any("mumu-late" in line for line in lines)
        counted = "1 complaints" in mumu
        assert listed == counted, (day, lines)
    lines = digest_payload(world.engine, config, dt.date(2026, 12, 2))["lines"]
    assert any("mumu-late" in line and "opened 04:00" in line for line in lines)
    assert any("Asia/Shanghai" in line for line in lines)


def test_with_timezone_utc_the_morning_digest_reports_the_views_day(world):
    config = _config(CONFIG.model_dump(by_alias=True)["routing"]["routes"], timezone="UTC")
    _late_incident(world)
    # a run at 18:00 UTC on 12-02 (02:00 Shanghai, 12-03): yesterday is the views' 12-02
    run = dt.datetime(2026, 12, 2, 18, 0, tzinfo=dt.UTC)
    assert queue_digest(world.engine, config, ManualClock(run)) > 0
    with world.engine.connect() as conn:
        rows = conn.execute(select(notifications.c.payload)).scalars().all()
    assert {json.loads(p)["day"] for p in rows} == {"2026-12-02"}


# --- 9. top complaint lines ------------------------------------------------------------


def test_top_complaints_are_cut_with_an_ellipsis_linked_and_readable(world):
    long_text = "沐沐奶粉喝出异物" + "孩子喝完一直吐，客服一直不回复，" * 6
    day_start = dt.datetime(2026, 5, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 Shanghai, May 1
    world.post(
        "77", brand="mumu", observed=12345, text=long_text, at=day_start + dt.timedelta(hours=3)
    )
    payload = digest_payload(world.engine, CONFIG, dt.date(2026, 5, 1))
    (i,) = [n for n, line in enumerate(payload["lines"]) if line.startswith("top:")]
    line = payload["lines"][i]
    assert "12,345 reposts" in line
    assert line.endswith("…") and len(line.split(": ", 1)[1].split(": ", 1)[1]) == 51
    assert payload["links"][i] == "https://weibo.com/1/77"
    assert len(payload["links"]) == len(payload["lines"])


def test_top_complaints_past_the_horizon_show_their_peak_or_the_viral_line(world):
    """Past the spread model's 24 h horizon P(viral) is 0 (its answer there is moot): the
    digest showed "P(viral) 0%" for a post that had been at 80%, or that went viral. It
    shows the peak past the horizon, the viral line once crossed, the peak beside a lower
    P(viral) before the horizon."""
    # first seen 10:00 Shanghai, May 1 (world.post: published an hour before)
    posted = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)
    for post_id, early in (("80", 600), ("81", 700), ("82", 300)):
        world.post(
            post_id, brand="mumu", observed=early, p=0.8, at=posted, text=f"沐沐奶粉{post_id}"
        )
    world.estimate("80", posted + dt.timedelta(hours=24), 900, 0.0)  # 25 h old: past it
    world.estimate("81", posted + dt.timedelta(hours=24), 1500, 0.0)
    world.estimate("82", posted + dt.timedelta(hours=12), 400, 0.3)  # 13 h old: before it
    lines = digest_payload(world.engine, CONFIG, dt.date(2026, 5, 1))["lines"]
    top = {line.rsplit("沐沐奶粉", 1)[1]: line for line in lines if line.startswith("top:")}
    assert top == {
        "81": "top: 沐沐奶粉 1,500 reposts, past the viral line of 1,000 reposts: 沐沐奶粉81",
        "80": "top: 沐沐奶粉 900 reposts, peak P(viral) 80%: 沐沐奶粉80",
        "82": "top: 沐沐奶粉 400 reposts, P(viral) 30% (peak 80%): 沐沐奶粉82",
    }
    assert not any("P(viral) 0%" in line for line in lines)
