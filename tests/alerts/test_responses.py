"""Brand response tracking: the first official reply under a complaint is found in its
comments (over a real socket, against the simulator), look-alike accounts never count, and
the escalation stage says "no response" once per level past the target and "answered"
once, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from alert_fixtures import OFFICIAL, T0, CommentsAPI, mechanics_config, seed_response, weibo_comment
from sqlalchemy import select, text

from alerts.responses import check_responses, first_official_reply, response_events
from alerts.stage import run_escalation
from ingest.weibo import WeiboClient
from simulator.server import Simulator
from warehouse.schema import brand_responses, mentions, scores, tracked_posts
from warehouse.writes import upsert
from yujing.clock import ManualClock

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
TARGETS = {"warning": 240, "critical": 30}


def _comment(uid: str, name: str, at: dt.datetime, cid: str = "1") -> dict:
    return {
        "idstr": cid,
        "created_at": at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime(
            "%a %b %d %H:%M:%S %z %Y"
        ),
        "text": "您好，已私信您&amp;处理",
        "user": {"idstr": uid, "screen_name": name},
    }


def test_the_uid_counts_not_the_screen_name():
    name = "沐沐奶粉官方微博"
    comments = [
        _comment("7100000001", name, T0 + dt.timedelta(minutes=5), "a"),  # impostor, earliest
        _comment(OFFICIAL, name, T0 + dt.timedelta(minutes=20), "b"),
        _comment(OFFICIAL, name, T0 + dt.timedelta(minutes=9), "c"),
        {"user": "broken"},
        {"user": {"idstr": OFFICIAL}, "created_at": "5分钟前"},  # unreadable time: skipped
    ]
    reply = first_official_reply(comments, frozenset({OFFICIAL}))
    assert reply.comment_id == "c" and reply.at == T0 + dt.timedelta(minutes=9)
    assert reply.text == "您好，已私信您&处理"
    assert first_official_reply(comments[:1], frozenset({OFFICIAL})) is None


def test_the_response_rule_over_a_timeline():
    since = T0
    at = [since + dt.timedelta(minutes=m) for m in (0, 29, 30, 500)]

    def rule(level, responded, now, checked):
        return response_events(level, since, responded, TARGETS, now, checked_at=checked)

    assert rule("critical", None, at[0], at[0]) == []
    assert rule("critical", None, at[1], at[1]) == []
    assert rule("critical", None, at[2], at[2]) == ["noresponse"]
    assert rule("watch", None, at[3], at[3]) == []  # no target for watch
    assert rule("warning", at[1], at[3], at[0]) == ["answered"]
    # the last complete read of the comments was before the target (the checks since were
    # rate-limited, failed or skipped), or there was none: wait for one after it
    assert rule("critical", None, at[3], at[1]) == []
    assert rule("critical", None, at[3], None) == []


def test_check_responses_against_the_simulator(warehouse):
    clock = ManualClock(dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    with Simulator(CONFIG, seed=0, clock=clock) as sim:
        weibo = WeiboClient(sim.weibo_url, sim.token, sleep=lambda s: None)
        incidents = {p.scenario: p for p in sim.posts if p.kind == "incident"}
        viral, fizzle = incidents["viral"], incidents["fizzle"]
        with warehouse.begin() as conn:
            for post in (viral, fizzle):  # both scored as complaints, both tracked
                conn.execute(
                    mentions.insert().values(
                        platform="weibo",
                        post_id=post.post_id,
                        brand=post.brand_code,
                        text=post.text,
                        created_at=sim.at(post.story_at),
                        raw="{}",
                        ingested_at=sim.at(post.story_at),
                        author_verified=False,
                        is_competitor=False,
                    )
                )
                conn.execute(
                    scores.insert().values(
                        platform="weibo", post_id=post.post_id, model_version="m1",
                        sentiment=0.05, negative=True, complaint=True,
                        categories='["safety"]', signals="[]", scored_at=sim.at(post.story_at),
                    )
                )  # fmt: skip
                upsert(
                    conn,
                    tracked_posts,
                    [
                        {
                            "platform": "weibo",
                            "post_id": post.post_id,
                            "brand": post.brand_code,
                            "state": "hot",
                            "created_at": sim.at(post.story_at),
                            "tracked_since": sim.at(post.story_at),
                            "next_check_at": sim.at(post.story_at),
                        }
                    ],
                    keys=["platform", "post_id"],
                )
        # 10 story minutes after the fizzle incident: nobody has answered yet
        clock.advance(dt.timedelta(seconds=fizzle.story_at + 600))
        first = check_responses(warehouse, CONFIG, clock, weibo)
        assert first["checked"] == 2 and first["answered"] == 0
        # an hour later: the brand answered the fizzle (at 15 min); under the viral post
        # only a look-alike account has commented
        clock.advance(dt.timedelta(hours=1))
        second = check_responses(warehouse, CONFIG, clock, weibo)
        assert second["answered"] == 1
        with warehouse.connect() as conn:
            rows = {r.post_id: r for r in conn.execute(select(brand_responses)).mappings().all()}
        answered = rows[fizzle.post_id]
        assert answered["responder_uid"] == "6120087532"
        replied = sim.at(fizzle.story_at + 15 * 60)  # the API reports whole seconds
        assert abs((answered["responded_at"] - replied).total_seconds()) <= 1
        assert rows[viral.post_id]["responded_at"] is None
        assert rows[viral.post_id]["comments_seen"] > 0
        # answered posts are not read again; a rerun changes nothing
        third = check_responses(warehouse, CONFIG, clock, weibo)
        assert third["checked"] == 1 and third["answered"] == 0


class _SlowWeibo:
    """A requests session for WeiboClient: each call moves the clock by `seconds` and, while
    `down`, times out like a slow Weibo; else answers with no comments. Records post ids."""

    def __init__(self, clock, seconds, down=False):
        self.clock, self.seconds, self.down, self.ids = clock, seconds, down, []

    def request(self, method, url, timeout=None, params=None, **kw):
        self.clock.advance(self.seconds)
        self.ids.append(params["id"])
        if self.down:
            raise requests.Timeout("read timed out")
        response = requests.Response()
        response.status_code, response._content = 200, b'{"comments": [], "total_number": 0}'
        return response


def test_check_responses_stops_at_its_budget_and_reads_the_skipped_first_next_run(world):
    for i in range(6):  # "0" is the newest
        world.post(str(i), at=T0 - dt.timedelta(minutes=i))
    clock = ManualClock(T0)
    session = _SlowWeibo(clock, seconds=60)
    weibo = WeiboClient("https://api.weibo.com/2", "tok", session=session, sleep=lambda s: None)
    budget = dt.timedelta(minutes=3)
    first = check_responses(world.engine, CONFIG, clock, weibo, budget=budget)
    assert (first["checked"], first["skipped"]) == (3, 3) and session.ids == ["0", "1", "2"]
    session.ids.clear()
    second = check_responses(world.engine, CONFIG, clock, weibo, budget=budget)
    assert (second["checked"], second["skipped"]) == (3, 3) and session.ids == ["3", "4", "5"]
    session.ids.clear()
    check_responses(world.engine, CONFIG, clock, weibo, budget=budget)
    assert session.ids == ["0", "1", "2"]  # then round again, least recently checked first


def test_check_responses_gives_up_when_weibo_keeps_failing(world):
    for i in range(40):  # an incident: many live unanswered complaints
        world.post(str(i), at=T0 - dt.timedelta(minutes=i))
    clock = ManualClock(T0)
    session = _SlowWeibo(clock, seconds=0, down=True)  # the clock stays: only the breaker
    weibo = WeiboClient("https://api.weibo.com/2", "tok", session=session, sleep=lambda s: None)
    stats = check_responses(world.engine, CONFIG, clock, weibo, max_failures=3)
    assert (stats["failed"], stats["skipped"], stats["checked"]) == (3, 37, 0)
    assert len(session.ids) == 3 * 5  # three posts, each with the client's 4 retries


def _events(world) -> list[str]:
    return [r["dedupe_key"].split(":", 2)[1] for r in world.rows()]


@pytest.mark.parametrize("answer_after", [None, 12, 45])
def test_no_response_once_per_level_and_an_answer_noted_once(world, clock, answer_after):
    world.post("1")  # a critical safety complaint (critical target: 30 min)
    run_escalation(world.engine, CONFIG, clock)
    assert run_escalation(world.engine, CONFIG, clock)["noresponse"] == 0  # not checked yet
    for minute in range(5, 90, 5):
        clock.advance(300)
        # each run's check reads the comments; the check after the reply finds it
        answered = answer_after is not None and minute >= answer_after + 3
        replied = T0 + dt.timedelta(minutes=answer_after) if answered else None
        seed_response(world.engine, "1", replied, checked_at=clock.now())
        run_escalation(world.engine, CONFIG, clock)
    events = _events(world)
    receivers = 2  # critical → pr-slack and pr-email
    assert events.count("open") == receivers
    if answer_after is None:
        assert events.count("noresponse") == receivers and "answered" not in events
    elif answer_after < 30:  # answered before the target: no escalation, one note
        assert "noresponse" not in events and events.count("answered") == receivers
    else:  # answered late: the escalation went out, then the answer is noted
        assert events.count("noresponse") == events.count("answered") == receivers
        assert events.index("noresponse") < events.index("answered")
    notice = next((r for r in world.rows() if ":noresponse:" in r["dedupe_key"]), None)
    if notice is not None:
        assert "no response" in notice["payload"] and "target 30 min" in notice["payload"]


def _first_minute(timeline, event):
    return next((minute for minute, events in timeline if event in events), None)


@pytest.mark.parametrize("fault", ["rate_limited", "down"])
@pytest.mark.parametrize("replied", [True, False])
def test_no_response_only_on_a_check_at_or_after_the_target(world, clock, fault, replied):
    """The comment check runs every 5 minutes and finds no reply until T+20; from T+25 to
    T+40 Weibo rate-limits it or fails, while (`replied`) the brand answered at T+22. The
    escalation runs anyway (all_done): the last good check, from before the 30-minute
    target, proves nothing about after it, so nothing is said until a check at or after
    the target has read the comments (T+45): then "answered", or "no response"."""
    world.post("1")  # critical at T0 (target 30 min)
    api = CommentsAPI()
    api.threads["1"] = [weibo_comment("111", "网友", T0 - dt.timedelta(minutes=5), "u1")]
    run_escalation(world.engine, CONFIG, clock)
    timeline = []
    for minute in range(5, 65, 5):
        clock.advance(300)
        if replied and minute == 25:
            reply = weibo_comment(OFFICIAL, "沐沐奶粉官方微博", T0 + dt.timedelta(minutes=22), "b1")
            api.threads["1"].insert(0, reply)
        api.fault = fault if 25 <= minute < 45 else None
        stats = check_responses(world.engine, CONFIG, clock, api.client())
        assert (stats["rate_limited"], stats["failed"]) == (
            api.fault == "rate_limited",
            int(api.fault == "down"),
        )
        run_escalation(world.engine, CONFIG, clock)
        timeline.append((minute, _events(world)))
    if replied:
        assert _first_minute(timeline, "noresponse") is None
        assert _first_minute(timeline, "answered") == 45
    else:
        assert _first_minute(timeline, "noresponse") == 45


def _crowd(start: dt.datetime, n: int, first: int = 1) -> list[dict]:
    """`n` comments by the public, one a second from `start`, newest first."""
    return [
        weibo_comment(f"9{i:06d}", f"网友{i}", start + dt.timedelta(seconds=i), f"c{i}")
        for i in reversed(range(first, first + n))
    ]


def test_a_reply_buried_under_more_comments_than_a_check_reads_is_found_later(world, clock):
    """The brand answered 5 minutes after the post; 2,400 newer comments bury the reply past
    the 10 pages of 200 one check reads. That check is inconclusive (its last page was
    full; total_number says 2,401): no "no response". The next run goes on from where it
    stopped, after reading the 300 comments added since (the pages have shifted), and
    finds the reply, reading a handful of pages rather than the thread again."""
    world.post("1")  # critical at T0; posted at T0 - 1 h
    posted = T0 - dt.timedelta(hours=1)
    run_escalation(world.engine, CONFIG, clock)
    reply = weibo_comment(OFFICIAL, "沐沐奶粉官方微博", posted + dt.timedelta(minutes=5), "c0")
    api = CommentsAPI()
    api.threads["1"] = _crowd(posted + dt.timedelta(minutes=5), 2400) + [reply]
    clock.advance(dt.timedelta(minutes=35))  # past the 30-minute target
    first = check_responses(world.engine, CONFIG, clock, api.client())
    assert first["answered"] == 0 and len(api.calls) == CONFIG.responses.max_comment_pages
    run_escalation(world.engine, CONFIG, clock)
    assert "noresponse" not in _events(world)
    with world.engine.connect() as conn:  # no verdict recorded on a partial read
        assert conn.execute(select(brand_responses.c.responded_at)).scalars().all() in ([], [None])
    api.threads["1"] = _crowd(T0, 300, first=5000) + api.threads["1"]
    api.calls.clear()
    clock.advance(300)
    second = check_responses(world.engine, CONFIG, clock, api.client())
    assert second["answered"] == 1 and len(api.calls) <= 6
    with world.engine.connect() as conn:
        row = conn.execute(select(brand_responses)).mappings().one()
    assert row["response_id"] == "c0"
    assert abs((row["responded_at"] - (posted + dt.timedelta(minutes=5))).total_seconds()) <= 1
    run_escalation(world.engine, CONFIG, clock)
    events = _events(world)
    assert "noresponse" not in events and "answered" in events


def test_the_following_checks_read_only_the_new_comments(world, clock):
    """Once a thread has been read to its end, a check reads only what was added since
    (one page here), and still decides: 2,500 comments and no reply is "no response"."""
    world.post("1")
    run_escalation(world.engine, CONFIG, clock)
    api = CommentsAPI()
    api.threads["1"] = _crowd(T0 - dt.timedelta(minutes=50), 2500)
    clock.advance(dt.timedelta(minutes=25))
    check_responses(world.engine, CONFIG, clock, api.client())  # pages 1-10 of 13
    clock.advance(300)
    check_responses(world.engine, CONFIG, clock, api.client())  # the rest: complete
    run_escalation(world.engine, CONFIG, clock)  # T+30, checked at T+30: past the target
    assert _events(world).count("noresponse") == 2
    api.threads["1"] = _crowd(T0, 50, first=9000) + api.threads["1"]
    api.calls.clear()
    clock.advance(300)
    assert check_responses(world.engine, CONFIG, clock, api.client())["checked"] == 1
    assert api.calls == [("1", 1)]


def test_a_total_number_running_high_holds_the_verdict_one_check_only(world, clock):
    """Weibo's total_number counts comments it no longer shows. The check that reads fewer
    than the total is inconclusive; the next one finds nothing further back and decides."""
    world.post("1")
    run_escalation(world.engine, CONFIG, clock)
    api = CommentsAPI()
    api.threads["1"] = _crowd(T0 - dt.timedelta(minutes=50), 3)
    api.totals["1"] = 5
    clock.advance(dt.timedelta(minutes=30))
    check_responses(world.engine, CONFIG, clock, api.client())
    run_escalation(world.engine, CONFIG, clock)
    assert "noresponse" not in _events(world)
    clock.advance(300)
    check_responses(world.engine, CONFIG, clock, api.client())
    run_escalation(world.engine, CONFIG, clock)
    assert _events(world).count("noresponse") == 2


def test_a_deleted_post_is_recorded_gone_and_read_again_when_it_comes_back(world, clock):
    """Weibo hides a post (error 20101), then restores it. The check records it gone, as a
    check (so the stage stops waiting for one), keeps what earlier checks saw, and clears
    `gone_at` when the post can be read again; a rerun in the same minute changes nothing."""
    world.post("1")
    api = CommentsAPI()
    api.threads["1"] = _crowd(T0 - dt.timedelta(minutes=50), 3)

    def row():
        with world.engine.connect() as conn:
            return conn.execute(select(brand_responses)).mappings().one()

    assert check_responses(world.engine, CONFIG, clock, api.client())["checked"] == 1
    assert (row()["comments_seen"], row()["gone_at"]) == (3, None)
    api.gone.add("1")
    first_found = T0 + dt.timedelta(minutes=5)
    for _ in range(2):  # gone_at: since when it is gone; checked_at: the last check
        clock.advance(300)
        stats = check_responses(world.engine, CONFIG, clock, api.client())
        assert (stats["gone"], stats["checked"]) == (1, 0)
        assert (row()["gone_at"], row()["checked_at"], row()["comments_seen"]) == (
            first_found,
            clock.now(),
            3,
        )
    before = dict(row())
    check_responses(world.engine, CONFIG, clock, api.client())  # a retry: no change
    assert dict(row()) == before
    api.gone.clear()
    clock.advance(300)
    assert check_responses(world.engine, CONFIG, clock, api.client())["checked"] == 1
    assert row()["gone_at"] is None and row()["checked_at"] == clock.now()


def test_a_post_deleted_before_its_first_check_gets_no_row(world, clock):
    """Whether the brand answered a post nobody read is unknown: no row, so the response
    views (v_complaint_responses and those built on it) do not count it as unanswered."""
    world.post("1")
    api = CommentsAPI()
    api.gone.add("1")
    assert check_responses(world.engine, CONFIG, clock, api.client())["gone"] == 1
    with world.engine.connect() as conn:
        assert conn.execute(select(brand_responses)).all() == []
        assert conn.execute(text("SELECT count(*) FROM v_complaint_responses")).scalar() == 0


def test_competitors_and_brands_without_official_accounts_get_no_response_notices(world, clock):
    world.post("9", brand="kuaixian")  # a competitor: never alerted on
    world.post("7", brand="xingche")
    cfg = CONFIG.model_copy(
        update={
            "brands": [
                b.model_copy(update={"official_accounts": {}}) if b.code == "xingche" else b
                for b in CONFIG.brands
            ]
        }
    )
    for _ in range(20):
        clock.advance(300)
        seed_response(world.engine, "9", brand="kuaixian", checked_at=clock.now())
        seed_response(world.engine, "7", brand="xingche", checked_at=clock.now())
        run_escalation(world.engine, cfg, clock)
    assert "noresponse" not in _events(world)


def test_the_digest_reports_answered_share_and_median_response_time(world):
    from alerts.digest import digest_payload

    world.post("1")
    world.post("2")
    posted = T0 - dt.timedelta(hours=1)  # world.post's created_at
    seed_response(world.engine, "1", posted + dt.timedelta(minutes=45))
    seed_response(world.engine, "2")
    lines = digest_payload(world.engine, CONFIG, dt.date(2026, 5, 1))["lines"]
    mumu = next(line for line in lines if line.startswith("沐沐奶粉"))
    assert mumu.endswith("answered 1/2 (median 45 min)")


def test_the_digest_top_lists_only_that_days_complaints_about_our_brands(world):
    from alerts.digest import digest_payload

    march = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    world.post("old", text="三月的旧投诉", observed=50000, at=march)
    # posted (world.post: an hour before `at`) 00:30 Shanghai on 05-01, still 04-30 in UTC;
    # "late" was posted at 23:30 Shanghai the day before: the day is the local one
    early = dt.datetime(2026, 4, 30, 17, 30, tzinfo=dt.UTC)
    world.post("rival", brand="kuaixian", text="竞品的帖子", observed=40000, at=early)
    world.post("sad", text="看电影哭了", observed=30000, complaint=False, at=early)
    world.post("late", text="前一天深夜的投诉", observed=20000, at=early - dt.timedelta(hours=1))
    world.post("today", text="当天的投诉", observed=100, at=early)
    lines = digest_payload(world.engine, CONFIG, dt.date(2026, 5, 1))["lines"]
    assert [line for line in lines if line.startswith("top")] == [
        "top: 沐沐奶粉 100 reposts, P(viral) 70%: 当天的投诉"
    ]


def test_the_digest_flags_categories_where_we_are_clearly_worse():
    from alerts.digest import worse_than_competitors

    rows = [
        {"brand": "mumu", "is_competitor": 0, "category": "safety", "complaints": 6,
         "complaint_share": 0.12},
        {"brand": "mumu", "is_competitor": 0, "category": "refund", "complaints": 4,
         "complaint_share": 0.05},
        {"brand": "mumu", "is_competitor": 0, "category": "delivery", "complaints": 2,
         "complaint_share": 0.30},  # too few complaints to flag
        {"brand": "kuaixian", "is_competitor": 1, "category": "safety", "complaints": 3,
         "complaint_share": 0.04},
        {"brand": "kuaixian", "is_competitor": 1, "category": "refund", "complaints": 4,
         "complaint_share": 0.05},
    ]  # fmt: skip
    # the competitors' pooled share: 3 / 75 scored mentions = 4% safety, 4 / 75 = 5% refund
    lines = worse_than_competitors(CONFIG, rows, competitor_scored=75)
    assert lines == ["⚠ 沐沐奶粉 worse than competitors on 安全健康隐患 safety: 12% of mentions "
                     "are such complaints vs 4%"]  # fmt: skip


def test_no_digest_about_a_day_with_no_data(warehouse):
    from alerts.digest import queue_digest

    assert queue_digest(warehouse, CONFIG, ManualClock(T0)) == 0  # a fresh install


def _with_competitor(code: str, name: str):
    from yujing.config import parse_config

    raw = CONFIG.model_dump(by_alias=True, exclude_none=True)
    raw["brands"].append({"code": code, "name": name, "aliases": [name], "competitor": True})
    return parse_config(raw)


def _posts(world, brand, total, safety, start):
    """`total` scored mentions of `brand`, the first `safety` of them safety complaints."""
    for i in range(total):
        world.post(f"{brand}{start + i}", brand=brand, text=f"{brand} 帖子 {i}",
                   complaint=i < safety, categories=("safety",) if i < safety else (),
                   signals=(), competitor=brand != "mumu")  # fmt: skip


def test_the_digest_benchmark_is_the_competitors_pooled_share(world):
    """Our safety share 3/10 = 30% against the competitors' pooled 2/44 = 4.5% (one with
    2 of 4, one with 0 of 40): clearly worse, flagged. The mean share of only the
    competitors that had such complaints (50%) hid it."""
    from alerts.digest import digest_payload

    config = _with_competitor("tianyu", "天羽乳业")
    _posts(world, "mumu", 10, 3, 0)
    _posts(world, "kuaixian", 4, 2, 0)
    _posts(world, "tianyu", 40, 0, 0)
    lines = digest_payload(world.engine, config, dt.date(2026, 5, 1))["lines"]
    assert [line for line in lines if line.startswith("⚠")] == [
        "⚠ 沐沐奶粉 worse than competitors on 安全健康隐患 safety: 30% of mentions "
        "are such complaints vs 5%"
    ]


def test_no_competitor_benchmark_without_competitor_mentions(world):
    """A day without a scored competitor mention has no benchmark: nothing is flagged
    (there is nobody to be worse than)."""
    from alerts.digest import digest_payload

    _posts(world, "mumu", 10, 5, 0)
    lines = digest_payload(world.engine, CONFIG, dt.date(2026, 5, 1))["lines"]
    assert not [line for line in lines if line.startswith("⚠")]
