"""Follow-up fixes of the escalation stage, on SQLite and PostgreSQL: the brand-response
verdict is about the post the alerts show (the incident's lead post), reminders carry the
current reasons, an incident of a brand that left the watchlist is closed (never a false
"resolved"), a receiver that left the config is reported, excerpts show their cut, rate-limit
summaries link each post, and an answer already known when an incident opens is said in the
opening alert instead of in a second message."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from alert_fixtures import OFFICIAL, T0, CommentsAPI, mechanics_config, seed_response, weibo_comment
from sqlalchemy import select

from alerts.responses import check_responses
from alerts.stage import EXCERPT, deliver_pending, queue_notice, run_escalation
from warehouse.schema import notifications
from yujing.config import parse_config

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
A, B = "4950000000000010", "4950000000000011"


def _raw(**receiver_overrides) -> dict:
    return mechanics_config(**receiver_overrides).model_dump(by_alias=True, exclude_none=True)


def _rows(world, event):
    return [r for r in world.rows() if r["event"] == event]


def _incident_with_a_new_lead(world, clock):
    """Post A opens a warning incident; ten minutes later post B (same brand, same
    category) joins it at critical and becomes the post the alerts show."""
    world.post(A, observed=400, p=0.4, velocity=5, categories=("quality",), signals=())
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(600)
    world.post(B, observed=500, p=0.7, velocity=90, categories=("quality",), signals=(),
               at=clock.now())  # fmt: skip
    stats = run_escalation(world.engine, CONFIG, clock)
    assert stats["escalated"] == 1
    (escalate, *_) = _rows(world, "escalate")
    assert json.loads(escalate["payload"])["post_id"] == B
    return clock.now()  # when it became critical (target 30 min)


def _keep_growing(world, clock, minutes, step=5):
    for i in range(minutes // step):
        clock.advance(step * 60)
        world.estimate(A, clock.now(), 420 + i, 0.4, 5)
        world.estimate(B, clock.now(), 600 + 10 * i, 0.7, 60)
        yield clock.now()


# --- 1. the brand-response verdict is about the lead post -------------------------------


def test_a_reply_under_the_lead_post_is_an_answer_not_a_no_response(world, clock):
    critical_at = _incident_with_a_new_lead(world, clock)
    for now in _keep_growing(world, clock, 45):
        seed_response(world.engine, A, None, checked_at=now)  # nobody answered under A
        seed_response(world.engine, B, critical_at + dt.timedelta(minutes=5), checked_at=now)
        run_escalation(world.engine, CONFIG, clock)
    assert _rows(world, "noresponse") == []
    answered = _rows(world, "answered")
    assert answered and {r["receiver"] for r in answered} == {"pr-slack", "pr-email"}
    payload = json.loads(answered[0]["payload"])
    assert payload["post_id"] == B and B in " ".join(payload["reasons"])


def test_a_reply_under_an_earlier_post_does_not_answer_the_lead_post(world, clock):
    critical_at = _incident_with_a_new_lead(world, clock)
    for now in _keep_growing(world, clock, 45):
        seed_response(world.engine, A, critical_at + dt.timedelta(minutes=5), checked_at=now)
        seed_response(world.engine, B, None, checked_at=now)  # checked, no reply under B
        run_escalation(world.engine, CONFIG, clock)
    assert _rows(world, "answered") == []
    noresponse = _rows(world, "noresponse")
    assert {r["receiver"] for r in noresponse} == {"pr-slack", "pr-email"}
    payload = json.loads(noresponse[0]["payload"])
    text = " ".join(payload["reasons"])
    assert payload["post_id"] == B and B in text
    assert A in text  # it says the brand did answer another post of the incident


def test_no_verdict_until_the_lead_post_itself_was_checked(world, clock):
    _incident_with_a_new_lead(world, clock)
    for now in _keep_growing(world, clock, 45):
        seed_response(world.engine, A, None, checked_at=now)  # only A is checked (no reply)
        run_escalation(world.engine, CONFIG, clock)
    assert _rows(world, "noresponse") == [] and _rows(world, "answered") == []


def test_the_roots_answer_is_not_announced_again_when_a_repost_takes_the_lead(world, clock):
    # a repost B of A leads the incident; the brand's reply is found under A, the original
    # it reposts. Before an upgrade, that answer was announced under the key without a
    # post (`incident:answered:receiver`): the same reply must not be announced again
    world.post(A, observed=400, p=0.4, velocity=5, categories=("quality",), signals=())
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(300)
    world.post(B, observed=500, p=0.7, velocity=90, categories=("quality",), signals=(),
               at=clock.now(), root_id=A)  # fmt: skip
    run_escalation(world.engine, CONFIG, clock)
    (escalate, *_) = _rows(world, "escalate")
    incident = escalate["incident_id"]
    assert json.loads(escalate["payload"])["post_id"] == B
    with world.engine.begin() as conn:  # what the code before the upgrade had sent
        for receiver in ("pr-slack", "pr-email"):
            conn.execute(notifications.insert().values(
                dedupe_key=f"{incident}:answered:{receiver}", incident_id=incident,
                event="answered", level="critical", receiver=receiver, channel="outbox",
                status="sent", attempts=1, created_at=clock.now(), payload="{}"))  # fmt: skip
    for now in _keep_growing(world, clock, 30):
        seed_response(world.engine, A, T0 + dt.timedelta(minutes=8), checked_at=now)
        seed_response(world.engine, B, None, checked_at=now)
        run_escalation(world.engine, CONFIG, clock)
    assert [r["status"] for r in _rows(world, "answered")] == ["sent", "sent"]
    assert _rows(world, "noresponse") == []  # the reply under the original counts


def _checked_every_5_minutes(world, clock, api, minutes, at_minute=None):
    """Grow the incident of `_incident_with_a_new_lead` for `minutes`, each 5 minutes
    reading the comments over the Weibo client (`api`) and running the escalation stage;
    `at_minute(minute)` changes the world first."""
    for i, _now in enumerate(_keep_growing(world, clock, minutes)):
        if at_minute:
            at_minute(5 * (i + 1))
        check_responses(world.engine, CONFIG, clock, api.client())
        run_escalation(world.engine, CONFIG, clock)


def _comments_on_both() -> CommentsAPI:
    """Weibo's comments API with a few public comments under A and under B."""
    api = CommentsAPI()
    api.threads = {A: _crowd(A), B: _crowd(B)}
    return api


def _official_reply(at: dt.datetime) -> dict:
    return weibo_comment(OFFICIAL, "沐沐奶粉官方微博", at, "r1", "您好，已私信")


def _crowd(post_id: str) -> list[dict]:
    return [weibo_comment(f"9{i}", f"网友{i}", T0 - dt.timedelta(minutes=i), f"{post_id}-{i}")
            for i in range(1, 4)]  # fmt: skip


def test_a_deleted_lead_post_is_judged_under_the_incident_post_still_up(world, clock):
    """The lead post B is deleted 10 minutes after it took the lead; nobody from the brand
    replied under A, the incident's other post, still up and spreading. Before, B's last
    check stayed from before the 30-minute target and "no response" never came; now it
    comes once the target passes, about A, and says B was deleted."""
    critical_at = _incident_with_a_new_lead(world, clock)
    api = _comments_on_both()
    _checked_every_5_minutes(world, clock, api, 45, lambda m: m == 10 and api.gone.add(B))
    noresponse = _rows(world, "noresponse")
    assert {r["receiver"] for r in noresponse} == {"pr-slack", "pr-email"}
    assert min(r["created_at"] for r in noresponse) >= critical_at + dt.timedelta(minutes=30)
    reasons = " ".join(json.loads(noresponse[0]["payload"])["reasons"])
    assert f"{B}, was deleted or hidden" in reasons and f"under post {A}" in reasons
    assert json.loads(noresponse[0]["payload"])["response"]["post_id"] == A
    assert _rows(world, "answered") == []


def test_a_reply_under_the_post_still_up_answers_after_the_lead_is_deleted(world, clock):
    critical_at = _incident_with_a_new_lead(world, clock)
    api = _comments_on_both()

    def world_changes(minute):
        if minute == 10:
            api.gone.add(B)
        if minute == 20:  # the brand answers under the post still up
            api.threads[A].insert(0, _official_reply(critical_at + dt.timedelta(minutes=18)))

    _checked_every_5_minutes(world, clock, api, 45, world_changes)
    assert _rows(world, "noresponse") == []
    answered = _rows(world, "answered")
    assert {r["receiver"] for r in answered} == {"pr-slack", "pr-email"}
    reasons = " ".join(json.loads(answered[0]["payload"])["reasons"])
    assert f"{B}, was deleted or hidden" in reasons and f"this post {A}" in reasons


def test_a_restored_lead_post_does_not_turn_an_announced_answer_into_no_response(world, clock):
    """B (the lead) is deleted at minute 10; the brand answers under A, the post the
    "answered" note then names; Weibo restores B at minute 30, still unanswered. The team
    did what it was told: no urgent "no response" about B follows at that level."""
    critical_at = _incident_with_a_new_lead(world, clock)
    api = _comments_on_both()

    def world_changes(minute):
        if minute == 10:
            api.gone.add(B)
        if minute == 20:
            api.threads[A].insert(0, _official_reply(critical_at + dt.timedelta(minutes=18)))
        if minute == 30:
            api.gone.clear()

    _checked_every_5_minutes(world, clock, api, 60, world_changes)
    assert {r["receiver"] for r in _rows(world, "answered")} == {"pr-slack", "pr-email"}
    assert _rows(world, "noresponse") == []


def test_no_response_verdict_about_an_incident_whose_posts_are_all_deleted(world, clock):
    _incident_with_a_new_lead(world, clock)
    api = _comments_on_both()
    _checked_every_5_minutes(world, clock, api, 45, lambda m: m == 10 and api.gone.update({A, B}))
    assert _rows(world, "noresponse") == [] and _rows(world, "answered") == []


# --- 2. reminders carry the current reasons ---------------------------------------------


def test_a_reminder_carries_the_current_reasons(world, clock):
    world.post(A, observed=400, p=0.65, velocity=5, categories=("quality",), signals=())
    run_escalation(world.engine, CONFIG, clock)  # critical at P(viral) 65%
    for i in range(13):  # 65 minutes, still growing, nobody acknowledges
        clock.advance(300)
        world.estimate(A, clock.now(), 500 + 50 * i, 0.86, 90)
        run_escalation(world.engine, CONFIG, clock)
    reminders = _rows(world, "remind")
    assert reminders
    payload = json.loads(reminders[0]["payload"])
    assert payload["p_viral"] == 0.86
    assert "P(viral) 86%" in payload["reasons"][0]
    assert not any("65%" in r for r in payload["reasons"])


def test_reasons_say_when_the_level_stays_above_what_the_post_warrants_now(world, clock):
    world.post(A, observed=400, p=0.65, velocity=5, categories=("quality",), signals=())
    run_escalation(world.engine, CONFIG, clock)
    for i in range(13):
        clock.advance(300)
        world.estimate(A, clock.now(), 500 + 50 * i, 0.2, 5)  # fell to watch, still growing
        run_escalation(world.engine, CONFIG, clock)
    payload = json.loads(_rows(world, "remind")[0]["payload"])
    assert payload["level"] == "critical"
    assert "P(viral) 20%" in payload["reasons"][0] and "→ watch" in payload["reasons"][0]
    assert any("critical" in r for r in payload["reasons"][1:])


# --- 3. a brand that left the watchlist ---------------------------------------------------


def _without_xingche(how: str):
    raw = _raw()
    if how == "removed":
        raw["brands"] = [b for b in raw["brands"] if b["code"] != "xingche"]
    elif how == "competitor":
        next(b for b in raw["brands"] if b["code"] == "xingche")["competitor"] = True
    else:  # renamed code
        next(b for b in raw["brands"] if b["code"] == "xingche")["code"] = "xingche2"
    return parse_config(raw)


def _brand_left(world, clock, how, caplog):
    world.post("900", brand="xingche", observed=300, p=0.7, velocity=200.0,
               text="星辰S7刹车失灵 4S店不管", categories=("safety",), signals=())  # fmt: skip
    assert run_escalation(world.engine, CONFIG, clock)["opened"] == 1
    config = _without_xingche(how)
    caplog.set_level(logging.WARNING, logger="alerts.stage")
    observed = 300
    for _ in range(36):  # three hours, the post spreading all along
        clock.advance(300)
        observed += 60
        world.estimate("900", clock.now(), observed, 0.9, 120.0)
        stats = run_escalation(world.engine, config, clock)
        assert stats["resolved"] == 0
    return config


@pytest.mark.parametrize("how", ["removed", "competitor", "renamed"])
def test_an_incident_of_a_brand_that_left_the_watchlist_is_closed_not_resolved(
    world, clock, caplog, how
):
    _brand_left(world, clock, how, caplog)
    (incident,) = world.incidents()
    assert incident["status"] == "closed" and incident["resolved_at"] is None
    assert "watchlist" in incident["evidence"]
    assert {r["event"] for r in world.rows()} == {"open"}  # no "resolved" page, nothing else
    closed = [r for r in caplog.records if "xingche" in r.getMessage()]
    assert len(closed) == 1 and closed[0].levelno == logging.WARNING
    assert incident["incident_id"] in closed[0].getMessage()


def test_a_closed_incident_reopens_as_a_new_occurrence_when_the_brand_comes_back(
    world, clock, caplog
):
    _brand_left(world, clock, "removed", caplog)
    clock.advance(300)
    world.estimate("900", clock.now(), 5000, 0.9, 120.0)
    stats = run_escalation(world.engine, CONFIG, clock)  # the brand is back and it grew
    assert stats["opened"] == 1 and stats["resolved"] == 0
    first, second = world.incidents()
    assert (first["status"], second["status"]) == ("closed", "open")
    assert second["incident_id"] == first["incident_id"] + "-2"
    assert _rows(world, "resolve") == []


# --- 4. a receiver that left the config ---------------------------------------------------


def test_notifications_for_a_receiver_that_left_the_config_are_reported(world, clock, caplog):
    with world.engine.begin() as conn:
        queue_notice(conn, CONFIG, ["pr-email"], "ops:test", "ops",
                     {"event": "ops", "title": "t", "lines": ["x"]}, clock.now(),
                     level="critical")  # fmt: skip
        queue_notice(conn, CONFIG, ["pr-email"], "ops:test2", "ops",
                     {"event": "ops", "title": "t2", "lines": ["y"]}, clock.now(),
                     level="critical")  # fmt: skip
    raw = _raw()
    for receiver in raw["receivers"]:
        if receiver["name"] == "pr-email":
            receiver["name"] = "pr-team-email"
    for route in raw["routing"]["routes"]:
        if route.get("receiver") == "pr-email":
            route["receiver"] = "pr-team-email"
    renamed = parse_config(raw)
    caplog.set_level(logging.WARNING, logger="alerts.stage")
    stats = deliver_pending(world.engine, renamed, clock, {})
    assert stats["orphaned"] == 2 and stats["sent"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("pr-email" in w and "2" in w for w in warnings), warnings
    assert sorted(world.statuses().values()) == ["pending", "pending"]  # kept


# --- 5. the excerpt shows its cut ---------------------------------------------------------


def test_a_long_post_is_quoted_with_an_ellipsis_within_the_limit(world, clock):
    long_text = "沐沐奶粉罐子里有黑色颗粒，宝宝喝了一直拉肚子，" * 20
    world.post(A, text=long_text)
    world.post(B, text="沐沐奶粉有异物", categories=("quality",))
    run_escalation(world.engine, CONFIG, clock)
    excerpts = {}
    for row in _rows(world, "open"):
        payload = json.loads(row["payload"])
        excerpts[payload["post_id"]] = payload["excerpt"]
    assert excerpts[A].endswith("…") and len(excerpts[A]) <= EXCERPT
    assert excerpts[A][:-1] == long_text[: len(excerpts[A]) - 1]
    assert excerpts[B] == "沐沐奶粉有异物"


# --- 6. rate-limit summaries link each post -----------------------------------------------


def test_summary_lines_carry_the_post_id_and_link(world, clock):
    config = mechanics_config(max_per_hour=1)
    categories = ("quality", "service", "price", "delivery")
    for i, category in enumerate(categories):  # four unrelated warning incidents
        world.post(f"49500000000001{i:02d}", observed=400 + i, p=0.4, velocity=5,
                   categories=(category,), signals=(), at=clock.now())  # fmt: skip
        run_escalation(world.engine, config, clock)
        clock.advance(120)
    (summary,) = [
        r for r in world.rows() if r["event"] == "summary" and r["receiver"] == "pr-slack"
    ]
    payload = json.loads(summary["payload"])
    assert payload["count"] == 3 and len(payload["lines"]) == 3
    assert len(payload["links"]) == 3
    for i, (line, link) in enumerate(zip(payload["lines"], payload["links"], strict=True), 1):
        post_id = f"49500000000001{i:02d}"
        assert post_id in line and link == f"https://weibo.com/1/{post_id}"


# --- 7. an answer known when the incident opens ---------------------------------------------


def test_an_answer_known_at_opening_is_in_the_opening_alert_not_a_second_message(world, clock):
    world.post(A, categories=("quality",), signals=())  # critical: pr-slack and pr-email
    seed_response(world.engine, A, T0 - dt.timedelta(minutes=20), checked_at=T0)
    run_escalation(world.engine, CONFIG, clock)
    opens = _rows(world, "open")
    assert {r["receiver"] for r in opens} >= {"pr-slack", "pr-email"}
    for row in opens:
        payload = json.loads(row["payload"])
        assert payload["response"]["responded_at"] is not None
        assert any("replied" in r for r in payload["reasons"])
    for _ in range(3):
        clock.advance(300)
        world.estimate(A, clock.now(), 400, 0.7, 90)
        run_escalation(world.engine, CONFIG, clock)
    assert [r for r in _rows(world, "answered") if r["status"] != "superseded"] == []
    sent = deliver_pending(world.engine, CONFIG, clock, {})
    assert sent["failed"] == len(opens)  # only the opens are due (no channels here)
    with world.engine.connect() as conn:
        assert conn.execute(
            select(notifications.c.dedupe_key).where(notifications.c.event == "answered",
                                                     notifications.c.status == "pending")
        ).all() == []  # fmt: skip


def test_an_answer_known_when_a_new_lead_escalates_is_in_the_escalation(world, clock):
    world.post(A, observed=400, p=0.4, velocity=5, categories=("quality",), signals=())
    run_escalation(world.engine, CONFIG, clock)  # warning, about A (never checked)
    clock.advance(600)
    world.post(B, observed=500, p=0.7, velocity=90, categories=("quality",), signals=(),
               at=clock.now())  # fmt: skip
    seed_response(world.engine, B, clock.now() - dt.timedelta(minutes=3), checked_at=clock.now())
    run_escalation(world.engine, CONFIG, clock)  # B takes the lead at critical, answered
    escalations = _rows(world, "escalate")
    assert {r["receiver"] for r in escalations} == {"pr-slack", "pr-email"}
    for row in escalations:
        payload = json.loads(row["payload"])
        assert payload["post_id"] == B and payload["response"]["post_id"] == B
        assert any("already answered" in r and B in r for r in payload["reasons"])
    for _ in range(3):
        clock.advance(300)
        world.estimate(B, clock.now(), 600, 0.7, 90)
        run_escalation(world.engine, CONFIG, clock)
    answered = _rows(world, "answered")
    assert answered and all(r["status"] == "superseded" for r in answered)
