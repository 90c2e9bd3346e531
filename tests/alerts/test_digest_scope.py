"""The daily digest, on SQLite and PostgreSQL: each receiver gets the brands the routing
sends it (competitors beside them as the benchmark), once a day; and per brand the
incidents opened or resolved that day with their level, category, lead time and post."""

from __future__ import annotations

import datetime as dt
import json

from alert_fixtures import T0, Recorder, mechanics_config
from sqlalchemy import select

from alerts import render
from alerts.digest import digest_payload, queue_digest
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import notifications
from yujing.clock import ManualClock
from yujing.config import parse_config

CONFIG = mechanics_config()
DAY = dt.date(2026, 5, 1)
MORNING = dt.datetime(2026, 5, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 Shanghai, May 2


def _team_config():
    """The mumu team on one receiver, the xingche team on another."""
    raw = CONFIG.model_dump(by_alias=True, exclude_none=True)
    # only the receivers these routes reach (one no route reaches is refused)
    raw["receivers"] = [r for r in raw["receivers"] if r["name"] == "outbox"] + [
        {"name": "mumu-team", "outbox": {}},
        {"name": "xingche-team", "outbox": {}},
    ]
    raw["routing"] = {
        "receiver": "outbox",
        "routes": [
            {"match": {"brand": ["mumu"]}, "receiver": "mumu-team"},
            {"match": {"brand": ["xingche"]}, "receiver": "xingche-team"},
        ],
    }
    return parse_config(raw)


def _digests(world) -> dict[str, dict]:
    return {
        r["receiver"]: {**json.loads(r["payload"]), "key": r["dedupe_key"]}
        for r in world.rows(notifications.c.event == "digest")
    }


def test_each_team_gets_the_digest_of_its_own_brands(world):
    config = _team_config()
    world.post("1", brand="mumu", text="沐沐奶粉里有虫子，孩子喝完拉肚子")
    world.post("2", brand="xingche", text="星辰S7刹车失灵差点出事，4S店不认账")
    world.post("3", brand="kuaixian", text="快鲜外卖送来的饭是馊的")
    clock = ManualClock(MORNING)
    assert queue_digest(world.engine, config, clock) == 2  # nobody routes to "outbox"
    assert queue_digest(world.engine, config, clock) == 0  # once a day and receiver
    digests = _digests(world)
    assert set(digests) == {"mumu-team", "xingche-team"}
    mumu, xingche = ("\n".join(digests[r]["lines"]) for r in ("mumu-team", "xingche-team"))
    assert "沐沐奶粉" in mumu and "虫子" in mumu and "快鲜外卖 [competitor]" in mumu
    assert "星辰" not in mumu and "刹车" not in mumu
    assert "星辰汽车" in xingche and "刹车" in xingche and "快鲜外卖 [competitor]" in xingche
    assert "沐沐" not in xingche and "虫子" not in xingche
    assert "馊" not in mumu + xingche  # a competitor's complaint is no top complaint of ours
    assert digests["mumu-team"]["bars"]["ascii_labels"] == ["mumu", "kuaixian (competitor)"]
    assert [d["key"] for d in digests.values()] == [
        "digest:2026-05-01:mumu-team",
        "digest:2026-05-01:xingche-team",
    ]
    assert {d["day"] for d in digests.values()} == {"2026-05-01"}


def test_a_late_run_still_reports_its_scheduled_day_per_team(world):
    config = _team_config()
    world.post("1", brand="mumu")
    clock = ManualClock(MORNING + dt.timedelta(days=2))
    assert queue_digest(world.engine, config, clock, MORNING) == 2
    assert queue_digest(world.engine, config, clock, MORNING) == 0
    assert {d["key"] for d in _digests(world).values()} == {
        "digest:2026-05-01:mumu-team",
        "digest:2026-05-01:xingche-team",
    }


def _replay(world, clock, recorder, posts):
    """Five-minute escalate runs that deliver, until every incident has resolved."""
    for _ in range(60):
        run_escalation(world.engine, CONFIG, clock)
        deliver_pending(world.engine, CONFIG, clock, {r.name: recorder for r in CONFIG.receivers})
        clock.advance(300)
        for grow in posts.values():
            grow(clock.now())


def test_the_digest_lists_the_days_incidents_with_their_lead_times(world):
    clock = ManualClock(T0)  # 10:00 Shanghai, May 1
    recorder = Recorder()
    # "1": paged at 10:00 (critical), crossed 1,000 reposts 17.5 minutes later (900 at
    # 10:15, 1,100 at 10:20: the run that saw it at 10:20 is not when it crossed), resolved
    world.post("1", categories=("safety",), observed=300)
    counts = {"1": 300}

    def grow_1(at):
        if at < T0 + dt.timedelta(minutes=40):
            counts["1"] += 200
            world.estimate("1", at, counts["1"], 0.9, 300.0)

    # "x": a xingche warning that never crosses the line, opened 10:00, still open at night
    world.post("x", brand="xingche", p=0.4, velocity=5.0, categories=("quality",), signals=(),
               text="星辰S7异响")  # fmt: skip

    def grow_x(at):
        counts["x"] = counts.get("x", 300) + 1
        world.estimate("x", at, counts["x"], 0.4, 5.0)

    _replay(world, clock, recorder, {"1": grow_1, "x": grow_x})
    payload = digest_payload(world.engine, CONFIG, DAY)
    lines = payload["lines"]
    text = "\n".join(lines)
    opened = [line for line in lines if line.startswith(("opened", "resolved"))]
    assert any(
        "沐沐奶粉" in line and "critical" in line and "safety" in line
        and "alerted 18 min before" in line for line in opened
    ), opened  # fmt: skip
    assert any("星辰汽车" in line and "warning" in line and "did not cross" in line
               for line in opened), opened  # fmt: skip
    assert any("resolved 12:35" in line and "沐沐奶粉" in line for line in opened), opened
    assert "open incidents now: 1 (0 critical)" in text
    # each incident line links to its post (a real link, not user text)
    links = payload["links"]
    assert len(links) == len(lines)
    linked = {links[i] for i, line in enumerate(lines) if line in opened}
    assert linked == {"https://weibo.com/1/1", "https://weibo.com/1/x"}
    # (a top complaint links to its post too; every other line links nothing)
    top = [i for i, line in enumerate(lines) if line.startswith("top:")]
    assert all(links[i] and links[i].startswith("https://weibo.com/1/") for i in top)
    assert all(
        links[i] is None for i, line in enumerate(lines) if line not in opened and i not in top
    )
    # the next day lists none of them (the xingche incident is still open: counted)
    later = digest_payload(world.engine, CONFIG, DAY + dt.timedelta(days=1))["lines"]
    assert not [x for x in later if x.startswith(("opened", "resolved"))]
    assert "open incidents now: 1 (0 critical)" in "\n".join(later)


def test_an_alert_delivered_in_a_summary_counts_as_the_digests_alert(world):
    # the digest said "without a paging alert" for an incident whose alert went out in
    # an hourly summary (its row folded), while v_alert_outcomes counted it
    from sqlalchemy import update

    from warehouse.schema import notifications

    clock = ManualClock(T0)
    world.post("1", categories=("safety",), observed=300)
    counts = {"1": 300}

    def grow_1(at):
        if at < T0 + dt.timedelta(minutes=40):
            counts["1"] += 200
            world.estimate("1", at, counts["1"], 0.9, 300.0)

    _replay(world, clock, Recorder(), {"1": grow_1})
    n = notifications.c
    with world.engine.begin() as conn:  # as if the limit folded it into a summary
        folded = conn.execute(
            update(notifications)
            .where(n.event == "open", n.status == "sent", n.channel != "outbox")
            .values(status="folded", external_id="summary:pr-slack:20260501T02")
        ).rowcount
    assert folded
    lines = digest_payload(world.engine, CONFIG, DAY)["lines"]
    assert any("沐沐奶粉" in line and "alerted 18 min before" in line for line in lines), lines


def test_digest_links_render_as_links_and_nothing_else_does():
    payload = {
        "event": "digest",
        "day": "2026-05-01",
        "lines": ["top: <!channel> <https://evil.example|官方通知> *x*", "opened 10:00: 沐沐奶粉"],
        "links": [None, "https://weibo.com/1/1"],
    }
    _, blocks = render.slack_blocks(payload)
    body = blocks[1]["text"]["text"]
    assert "<https://weibo.com/1/1|" in body and "<!channel>" not in body
    assert "<https://evil" not in body and body.count("<") == 1
    html_ = render.email_html(payload, None)
    assert '<a href="https://weibo.com/1/1">' in html_ and "<https://evil" not in html_
    assert "https://weibo.com/1/1" in render.plain_text(payload)
    for kind in ("dingtalk", "wecom"):
        content = json.dumps(render.robot_message(kind, payload), ensure_ascii=False)
        assert "(https://weibo.com/1/1)" in content and "[点我]" not in content
    feishu = render.robot_message("feishu", payload)
    rows = feishu["content"]["post"]["zh_cn"]["content"]
    assert {"tag": "a", "text": "原帖 post", "href": "https://weibo.com/1/1"} in rows[1]
    # a javascript: link is no link anywhere
    bad = {**payload, "links": [None, "javascript:alert(1)"]}
    assert "javascript" not in json.dumps(render.slack_blocks(bad)[1]) + render.email_html(
        bad, None
    )


def test_the_digest_queued_per_team_still_has_its_chart(world):
    config = _team_config()
    world.post("1", brand="mumu")
    queue_digest(world.engine, config, ManualClock(MORNING))
    with world.engine.connect() as conn:
        payload = json.loads(
            conn.execute(
                select(notifications.c.payload).where(notifications.c.receiver == "mumu-team")
            ).scalar_one()
        )
    assert payload["bars"]["labels"] == ["沐沐奶粉", "快鲜外卖 (竞品)"]
    assert len(payload["bars"]["values"]) == 2


def _posts_daily(world, first: dt.date, last: dt.date) -> None:
    """A complaint about mumu at 10:00 Shanghai on each day from `first` to `last`."""
    day = first
    while day <= last:
        at = dt.datetime.combine(day, dt.time(2, 0), tzinfo=dt.UTC)
        world.post(f"p{day:%m%d}", brand="mumu", at=at)
        day += dt.timedelta(days=1)


def test_a_run_after_the_scheduler_was_down_sends_every_missed_day_once(world):
    # the scheduler was down across two 09:00s (catchup is off: Airflow makes one run):
    # the last digest was of 05-02 (sent 05-03); the run at 05-05 09:05 sends 05-03 too
    config = _team_config()
    _posts_daily(world, dt.date(2026, 5, 1), dt.date(2026, 5, 4))
    assert (
        queue_digest(
            world.engine, config, ManualClock(dt.datetime(2026, 5, 3, 1, 0, tzinfo=dt.UTC))
        )
        == 2
    )
    late = ManualClock(dt.datetime(2026, 5, 5, 1, 5, tzinfo=dt.UTC))  # 09:05 Shanghai, 05-05
    assert queue_digest(world.engine, config, late) == 4
    assert queue_digest(world.engine, config, late) == 0  # a rerun: nothing twice
    digests = world.rows(notifications.c.event == "digest")
    assert sorted(r["dedupe_key"] for r in digests) == [
        f"digest:2026-05-0{d}:{team}" for d in (2, 3, 4) for team in ("mumu-team", "xingche-team")
    ]
    assert {r["dedupe_key"].split(":")[1]: json.loads(r["payload"])["day"] for r in digests} == {
        d: d for d in ("2026-05-02", "2026-05-03", "2026-05-04")
    }
    # the next morning, as usual: its own day only
    assert (
        queue_digest(
            world.engine, config, ManualClock(dt.datetime(2026, 5, 6, 1, 0, tzinfo=dt.UTC))
        )
        == 2
    )


def test_catching_up_goes_back_a_week_at_most_and_a_first_digest_sends_one_day(world):
    config = _team_config()
    _posts_daily(world, dt.date(2026, 5, 1), dt.date(2026, 5, 20))
    # the first digest ever: its day only, not a week of history
    assert (
        queue_digest(
            world.engine, config, ManualClock(dt.datetime(2026, 5, 3, 1, 0, tzinfo=dt.UTC))
        )
        == 2
    )
    # down for 12 days: the week before the run, not all of them
    assert (
        queue_digest(
            world.engine, config, ManualClock(dt.datetime(2026, 5, 15, 1, 0, tzinfo=dt.UTC))
        )
        == 14
    )
    days = {r["dedupe_key"].split(":")[1] for r in world.rows(notifications.c.event == "digest")}
    assert sorted(days) == ["2026-05-02"] + [f"2026-05-{d:02}" for d in range(8, 15)]
