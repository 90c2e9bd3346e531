"""Which brands a complaint alerts: every one of our brands it names gets its incident, its
response check against its own official accounts and its line in the digest's top list,
whichever brand spread tracking files the post under; a competitor's reply never answers
for us; and a brand's own statement (posted by one of its official accounts) is no
complaint against it. On SQLite and PostgreSQL, through the real enrolment and stages."""

from __future__ import annotations

import datetime as dt
import json

from alert_fixtures import T0, CommentsAPI, mechanics_config, weibo_comment
from sqlalchemy import select

from alerts.digest import digest_payload
from alerts.responses import check_responses
from alerts.stage import run_escalation
from spread.tracking import enroll_scored
from warehouse.schema import brand_responses, incidents, mentions, scores, tracked_posts

CONFIG = mechanics_config()  # critical at P(viral) ≥ 0.6; critical response target 30 min
UIDS = {"mumu": "5503128761", "xingche": "6120087532", "kuaixian": "7012345678"}
POSTED = T0 - dt.timedelta(minutes=30)
DAY = dt.date(2026, 5, 1)  # POSTED is 09:30 in Shanghai


def _complaint(world, post_id, brands, text, *, author_id="1000001", author="宝妈"):
    """A post naming `brands`, scored a safety complaint and enrolled as the scoring stage
    does, with a critical spread estimate."""
    competitors = {b.code for b in CONFIG.brands if b.competitor}
    score = {
        "platform": "weibo",
        "post_id": post_id,
        "model_version": "m",
        "sentiment": 0.05,
        "negative": True,
        "complaint": True,
        "categories": json.dumps(["safety"]),
        "signals": "[]",
        "scored_at": T0,
    }
    with world.engine.begin() as conn:
        conn.execute(
            mentions.insert(),
            [
                {
                    "platform": "weibo",
                    "post_id": post_id,
                    "brand": brand,
                    "author_id": author_id,
                    "author_name": author,
                    "author_followers": 500,
                    "author_verified": False,
                    "text": text,
                    "created_at": POSTED,
                    "url": f"https://weibo.com/1/{post_id}",
                    "raw": "{}",
                    "ingested_at": POSTED,
                    "is_competitor": brand in competitors,
                }
                for brand in brands
            ],
        )
        conn.execute(scores.insert().values(**score))
        enroll_scored(conn, [score], T0)
    world.estimate(post_id, T0, 300, 0.7, 80.0)


def _incidents(world) -> dict[str, str]:
    with world.engine.connect() as conn:
        return {r.brand: r.root_post_id for r in conn.execute(select(incidents))}


def _answered(world) -> dict[tuple[str, str], bool]:
    with world.engine.connect() as conn:
        rows = conn.execute(select(brand_responses)).mappings().all()
    return {(r["post_id"], r["brand"]): r["responded_at"] is not None for r in rows}


def _notices(world) -> set[tuple[str, str]]:
    """(brand, event) of every response notice queued."""
    out = set()
    for r in world.rows():
        if r["event"] in ("noresponse", "answered"):
            out.add((json.loads(r["payload"])["brand"], r["event"]))
    return out


def _runs(world, clock, api, minutes):
    """The escalate DAG every 5 minutes: the response check, then the incidents."""
    for _ in range(0, minutes, 5):
        clock.advance(300)
        check_responses(world.engine, CONFIG, clock, api.client())
        run_escalation(world.engine, CONFIG, clock)


def _top(world) -> list[str]:
    lines = digest_payload(world.engine, CONFIG, DAY)["lines"]
    return [line for line in lines if line.startswith("top")]


def test_a_complaint_naming_a_competitor_too_alerts_our_brand(world, clock):
    text = "沐沐奶粉喝了宝宝拉肚子住院了，快鲜外卖配送还超时，强烈要求退款！"
    _complaint(world, "P1", ["kuaixian", "mumu"], text)
    with world.engine.connect() as conn:  # tracked once, under our brand
        assert conn.execute(select(tracked_posts.c.brand)).scalars().all() == ["mumu"]
    run_escalation(world.engine, CONFIG, clock)
    assert _incidents(world) == {"mumu": "P1"}  # the competitor never alerts
    api = CommentsAPI()  # only the competitor's official account answered
    api.threads["P1"] = [
        weibo_comment(UIDS["kuaixian"], "快鲜外卖官方", T0 + dt.timedelta(minutes=3), "c2"),
        weibo_comment("123", "网友", T0, "c1"),
    ]
    check_responses(world.engine, CONFIG, clock, api.client())
    assert _answered(world) == {("P1", "mumu"): False, ("P1", "kuaixian"): True}
    _runs(world, clock, api, 40)  # past mumu's 30-minute target
    assert _notices(world) == {("mumu", "noresponse")}
    assert _top(world) == [f"top: 沐沐奶粉 300 reposts, P(viral) 70%: {text[:50]}"]


def test_a_complaint_naming_two_of_our_brands_alerts_each(world, clock):
    text = "沐沐奶粉的赠品送到星辰汽车4S店就坏了，两家都不管，要求退款"
    _complaint(world, "P2", ["mumu", "xingche"], text)
    run_escalation(world.engine, CONFIG, clock)
    assert _incidents(world) == {"mumu": "P2", "xingche": "P2"}
    api = CommentsAPI()  # xingche answered under the post; mumu did not
    api.threads["P2"] = [
        weibo_comment(UIDS["xingche"], "星辰汽车", T0 + dt.timedelta(minutes=2), "c2"),
        weibo_comment("123", "网友", T0, "c1"),
    ]
    _runs(world, clock, api, 40)
    assert _answered(world) == {("P2", "mumu"): False, ("P2", "xingche"): True}
    assert _notices(world) == {("mumu", "noresponse"), ("xingche", "answered")}
    assert _top(world) == [f"top: 沐沐奶粉, 星辰汽车 300 reposts, P(viral) 70%: {text[:50]}"]


def test_the_brands_own_statement_is_no_complaint_against_it(world, clock):
    statement = (
        "【致歉声明】近日有消费者反映沐沐一段部分批次奶粉罐内有异物，我们深表歉意，"
        "已立即封存该批次并启动召回，购买该批次的消费者可全额退款。"
    )
    _complaint(world, "S", ["mumu"], statement, author_id=UIDS["mumu"], author="沐沐奶粉官方微博")
    # the same account's post that names another of our brands is about that brand
    _complaint(world, "S2", ["mumu", "xingche"], "沐沐奶粉官方：星辰汽车送来的样品有异味，要求退款",
               author_id=UIDS["mumu"], author="沐沐奶粉官方微博")  # fmt: skip
    api = CommentsAPI()
    api.threads["S"] = [weibo_comment("123", "网友", T0, "c1", "早干嘛去了")]
    check_responses(world.engine, CONFIG, clock, api.client())
    run_escalation(world.engine, CONFIG, clock)
    _runs(world, clock, api, 40)
    assert _incidents(world) == {"xingche": "S2"}
    assert ("S", "mumu") not in _answered(world) and ("S2", "mumu") not in _answered(world)
    assert _notices(world) == {("xingche", "noresponse")}
    assert [line.split(":")[1] for line in _top(world)] == [" 星辰汽车 300 reposts, P(viral) 70%"]
    with world.engine.connect() as conn:  # kept, and its spread still followed
        assert {r.post_id for r in conn.execute(select(tracked_posts))} == {"S", "S2"}


def test_no_response_notice_under_the_brands_own_statement(world, clock):
    """An incident opened on the statement before its account was listed in the config (or
    before this rule) stays open a while: the brand still has nothing to answer under its
    own post, whatever an older check recorded."""
    unlisted = CONFIG.model_copy(
        update={
            "brands": [
                b.model_copy(update={"official_accounts": {}}) if b.code == "mumu" else b
                for b in CONFIG.brands
            ]
        }
    )
    _complaint(
        world, "S", ["mumu"], "【声明】沐沐奶粉召回部分批次，可全额退款", author_id=UIDS["mumu"]
    )
    run_escalation(world.engine, unlisted, clock)
    assert _incidents(world) == {"mumu": "S"}
    for _ in range(8):  # the account is listed now; a check recorded no reply back then
        clock.advance(300)
        with world.engine.begin() as conn:
            conn.execute(brand_responses.delete())
            conn.execute(
                brand_responses.insert().values(
                    platform="weibo", post_id="S", brand="mumu", checked_at=clock.now(),
                    comments_seen=1,
                )
            )  # fmt: skip
        run_escalation(world.engine, CONFIG, clock)
    assert _notices(world) == set()
