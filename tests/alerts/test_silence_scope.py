"""What a silence covers, on SQLite and PostgreSQL, through the real stage: the post that
caused the event (not every post grouped into its incident), the post's whole live text,
values as a person copies them from an alert, and nothing after it ends (an incident
still open then is announced once, like Alertmanager's notification log)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shlex

import pytest
from alert_fixtures import T0, Recorder, mechanics_config
from sqlalchemy import select, update

from alerts.cli import silence_main
from alerts.silences import add_silence, matches
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import brand_responses, mentions, silences
from warehouse.writes import upsert

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
WARNING = {"p": 0.4, "velocity": 5.0, "categories": ("quality",), "signals": ()}  # → pr-slack
DAY = dt.timedelta(days=1)


def everywhere(channel):
    return {r.name: channel for r in CONFIG.receivers}


def _silence(world, matchers, until=T0 + DAY):
    with world.engine.begin() as conn:
        return add_silence(conn, matchers, until, T0, "lin", "handled")


def _by_event(world) -> dict[str, str]:
    """{"event:level:receiver": status} of the one incident's notifications."""
    return {k.split(":", 1)[1]: s for k, s in world.statuses().items()}


# --- 1: a post or keyword silence covers the post that caused the event ----------------


@pytest.mark.parametrize("matchers", [{"post": "1"}, {"keyword": "已联系客服"}])
def test_silencing_one_post_does_not_hide_another_posts_escalation(world, clock, matchers):
    """Post 1 is handled (silenced); post 2, a different and critical complaint about the
    same brand and category, joins its incident and escalates it: that pages."""
    _silence(world, matchers)
    world.post("1", **WARNING, text="沐沐奶粉结块了，已联系客服处理")
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(600)
    world.post("2", p=0.9, velocity=300.0, observed=2000, categories=("quality",), signals=(),
               at=clock.now(), author="另一个宝妈", text="沐沐奶粉罐里有玻璃碴！！孩子嘴都划破了")  # fmt: skip
    assert run_escalation(world.engine, CONFIG, clock)["escalated"] == 1
    assert _by_event(world) == {
        "open:warning:pr-slack": "silenced",
        "escalate:critical:pr-email": "pending",
        "escalate:critical:pr-slack": "pending",
    }
    recorder = Recorder()
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert {n["payload"]["post_id"] for n in recorder.sent} == {"2"}


def test_the_silenced_posts_own_escalation_and_its_reposts_stay_silenced(world, clock):
    _silence(world, {"post": "1"})
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(600)
    world.estimate("1", clock.now(), 900, 0.9, 300.0)  # the silenced post itself goes critical
    assert run_escalation(world.engine, CONFIG, clock)["silenced"] == 2
    clock.advance(dt.timedelta(hours=4))  # resolved; a repost of it flares up: still post 1
    run_escalation(world.engine, CONFIG, clock)
    world.post("r", root_id="1", at=clock.now(), p=0.9, velocity=300.0)
    run_escalation(world.engine, CONFIG, clock)
    assert set(world.statuses().values()) == {"silenced"}


# --- 4: a keyword silence reads the lead post's whole live text --------------------------


@pytest.mark.parametrize("filler", [10, 130])  # keyword at ~170 and ~2,200 characters
def test_a_keyword_past_the_excerpt_silences_every_notice_about_the_post(world, clock, filler):
    text = "沐沐奶粉" + "今天买的奶粉喝了以后宝宝一直哭闹，" * filler + "内部测试帖请忽略"
    assert text.index("内部测试帖") > 140
    _silence(world, {"keyword": "内部测试帖"})
    world.post("1", text=text)  # critical: pr-slack + pr-email
    run_escalation(world.engine, CONFIG, clock)
    for _ in range(11):  # a complete check every run finds no reply: "no response" is due
        clock.advance(300)
        with world.engine.begin() as conn:
            upsert(conn, brand_responses, [{
                "platform": "weibo", "post_id": "1", "brand": "mumu", "checked_at": clock.now(),
                "comments_seen": 3, "responded_at": None, "response_id": None,
                "responder_uid": None, "responder_name": None, "response_text": None,
            }], keys=["platform", "post_id", "brand"])  # fmt: skip
        run_escalation(world.engine, CONFIG, clock)
    events = _by_event(world)
    assert {"open:critical:pr-slack", "noresponse:critical:pr-slack"} <= events.keys()
    assert set(events.values()) == {"silenced"}, events


# --- 2: an incident still open when its silence ends is announced, once ------------------


def test_an_incident_opened_during_a_silence_is_notified_once_when_it_ends(world, clock):
    _silence(world, {"brand": "mumu"}, until=T0 + dt.timedelta(hours=1))
    world.post("1", **WARNING, observed=300)
    run_escalation(world.engine, CONFIG, clock)
    recorder = Recorder()
    reposts = 300
    for minute in range(5, 181, 5):  # three more hours, still growing, still a warning
        clock.advance(300)
        reposts += 40
        world.estimate("1", clock.now(), reposts, 0.45, 40.0)
        run_escalation(world.engine, CONFIG, clock)
        if minute == 55:  # the silence ends at 60: nothing goes out before it
            assert recorder.sent == [] and _by_event(world) == {"open:warning:pr-slack": "silenced"}
        deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
        run_escalation(world.engine, CONFIG, clock)  # a rerun of the same run
        deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert [(n["event"], n["receiver"]) for n in recorder.sent] == [("open", "pr-slack")]
    (note,) = recorder.sent
    assert note["payload"]["observed"] == 300 + 40 * 12  # the incident as it stood then
    assert _by_event(world) == {"open:warning:pr-slack": "sent"}


def test_an_incident_that_resolved_under_its_silence_is_never_announced(world, clock):
    _silence(world, {"brand": "mumu"}, until=T0 + dt.timedelta(hours=3))
    world.post("1", **WARNING)
    run_escalation(world.engine, CONFIG, clock)
    recorder = Recorder()
    for _ in range(48):  # quiet: resolves after two hours, the silence ends after three
        clock.advance(300)
        run_escalation(world.engine, CONFIG, clock)
        deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert recorder.sent == []
    assert _by_event(world) == {
        "open:warning:pr-slack": "silenced",
        "resolve:warning:pr-slack": "silenced",
    }


# --- 6: what an alert shows can be copied into `yujing silence add` ---------------------


def test_silence_values_compare_as_people_copy_them():
    alert = {"brand": "mumu", "brand_name": "沐沐奶粉", "author_name": "维权_小王 *KOL*",
             "post_ids": {"4950000000537651"}, "text": "MuMu奶粉 有异物 a_b"}  # fmt: skip
    assert matches({"author": "维权＿小王 ＊KOL＊"}, alert)  # as Slack shows it
    assert matches({"author": " 维权_小王  *kol* "}, alert)
    assert matches({"brand": "ＭＵＭＵ"}, alert) and matches({"keyword": "ｍｕｍｕ奶粉"}, alert)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in "4950000000537651")  # full-width digits
    assert matches({"keyword": "a＿b"}, alert) and matches({"post": wide}, alert)
    assert not matches({"author": "维权小王"}, alert)


def _slack(stub):
    from alerts.channels import SlackChannel

    slack = SlackChannel.from_token(stub.token, "#pr-alerts", stub.base_url, upload_charts=False)
    return {"pr-slack": slack, "pr-email": Recorder(), "outbox": Recorder()}


def test_the_author_name_copied_from_slack_silences_that_author(world, clock, slack_stub):
    world.post("1", **WARNING, author="维权_小王")
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, _slack(slack_stub))
    fields = [f["text"] for b in slack_stub.messages[0]["blocks"] for f in b.get("fields", [])]
    shown = next(f for f in fields if "Author" in f).split("\n")[1].split(" · ")[0]
    assert "_" not in shown  # still inert in Slack
    args = ["add", "--author", shown, "--for", "1d", "--comment", "troll", "--by", "lin"]
    assert silence_main(args, config=CONFIG, clock=clock, engine=world.engine) == 0
    clock.advance(600)
    world.post("2", author="维权_小王", p=0.9, velocity=300.0, categories=("safety",),
               signals=(), at=clock.now())  # fmt: skip
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["opened"] == 1 and result["silenced"] == 2 and result["queued"] == 0


def test_the_slack_alert_gives_a_silence_command_that_works(world, clock, slack_stub):
    """The post id is shown (Weibo's link carries only its base62 id), in a ready-made
    `yujing silence add --post` line; pasted as it is, it mutes that post."""
    from ingest.weibo_parse import mid_to_bid

    mid = "4950000000537651"
    world.post(mid, **WARNING)
    with world.engine.begin() as conn:  # the URL as ingest/weibo_parse.py builds it
        conn.execute(update(mentions).values(url=f"https://weibo.com/1234567/{mid_to_bid(mid)}"))
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, _slack(slack_stub))
    shown = "\n".join(
        e["text"]
        for b in slack_stub.messages[0]["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
    )
    command = re.search(r"`(yujing silence add [^`]*)`", shown).group(1)
    argv = shlex.split(html.unescape(command))  # as Slack displays it
    assert argv[:4] == ["yujing", "silence", "add", "--post"] and argv[4] == mid
    assert silence_main(argv[2:], config=CONFIG, clock=clock, engine=world.engine) == 0
    clock.advance(600)
    world.estimate(mid, clock.now(), 900, 0.9, 300.0)  # the same post goes critical
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["escalated"] == 1 and result["silenced"] == 2 and result["queued"] == 0


def test_a_silence_takes_the_post_as_weibo_shows_it(world, clock, capsys):
    """The link in an alert carries Weibo's base62 id; pasting it, or the whole link, mutes
    the post. An id the warehouse has never seen is kept as given, with a warning."""
    from ingest.weibo_parse import bid_to_mid, mid_to_bid

    mid = "4950000000537651"
    assert mid_to_bid(mid) == "NkYJa2fRN" and bid_to_mid("NkYJa2fRN") == mid
    world.post(mid, **WARNING)
    for pasted in ("NkYJa2fRN", "https://weibo.com/1234567/NkYJa2fRN?type=comment"):
        argv = ["add", "--post", pasted, "--for", "1h", "--comment", "legal"]
        assert silence_main(argv, config=CONFIG, clock=clock, engine=world.engine) == 0
        assert f"is post {mid}" in capsys.readouterr().err
    with world.engine.connect() as conn:
        posts = {json.loads(m)["post"] for m in conn.execute(select(silences.c.matchers)).scalars()}
    assert posts == {mid}
    argv = ["add", "--post", "a1b2c3d4", "--for", "1h", "--comment", "not yet seen"]
    assert silence_main(argv, config=CONFIG, clock=clock, engine=world.engine) == 0
    assert "no post a1b2c3d4 in the warehouse" in capsys.readouterr().err
