"""A post joining an open incident at its level and clearly likelier to go viral than every
post it held is announced, once, as itself (the incident's lead post stays).

A reviewer found the most dangerous post invisible: a journalist's post about the same
defect, far bigger than the acknowledged incident it joined, raised no level and so sent
nothing, on that run or any later one. A second review found the first fix a flood: every
similar post joining was its own message, pushing a new incident's page into the hourly
summary."""

from __future__ import annotations

import datetime as dt
import json

from alert_fixtures import Recorder, mechanics_config
from sqlalchemy import select

from alerts.cli import ack_main
from alerts.stage import deliver_pending, run_escalation
from warehouse.schema import incidents

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
SAFETY = {"categories": ("safety",), "signals": ()}


def _joined(world):
    return [r for r in world.rows() if r["event"] == "joined"]


def test_a_bigger_post_joining_an_acknowledged_incident_is_announced_once(world, clock):
    world.post("1", observed=400, p=0.7, velocity=200, text="沐沐奶粉罐里有异物", **SAFETY)
    assert run_escalation(world.engine, CONFIG, clock)["opened"] == 1
    with world.engine.connect() as conn:
        (iid,) = conn.execute(select(incidents.c.incident_id)).scalars()
    assert ack_main([iid, "--by", "pr-lin"], clock=clock, engine=world.engine) == 0
    clock.advance(dt.timedelta(minutes=30))
    world.estimate("1", clock.now(), 401, 0.7, velocity=0)
    world.post("2", observed=3000, p=0.95, velocity=900, at=clock.now(), author="大V记者",
               text="沐沐奶粉喝完宝宝住院了，记者已联系", followers=2_000_000, verified=True,
               categories=("safety",), signals=("media",))  # fmt: skip
    stats = run_escalation(world.engine, CONFIG, clock)
    assert (stats["joined"], stats["opened"], stats["escalated"]) == (1, 0, 0)
    rows = _joined(world)
    assert {r["receiver"] for r in rows} == {"pr-slack", "pr-email"}  # critical routes
    assert all(r["incident_id"] == iid for r in rows)  # in the incident's thread
    payload = json.loads(rows[0]["payload"])
    assert (payload["event"], payload["post_id"], payload["author_name"]) == (
        "joined",
        "2",
        "大V记者",
    )
    assert any("joined incident" in r and "lead post 1" in r for r in payload["reasons"])
    assert [p["post_id"] for p in payload["related"]] == ["1"]
    for _ in range(6):  # it keeps growing: nothing more about it
        clock.advance(dt.timedelta(minutes=5))
        world.estimate("2", clock.now(), 3100 + _ * 50, 0.95, velocity=900)
        world.estimate("1", clock.now(), 402 + _, 0.7, velocity=1)
        run_escalation(world.engine, CONFIG, clock)
    assert len(_joined(world)) == 2
    recorder = Recorder()
    sent = deliver_pending(
        world.engine, CONFIG, clock, {r.name: recorder for r in CONFIG.receivers}
    )
    assert sent["failed"] == 0
    assert sorted(n["receiver"] for n in recorder.sent if n["event"] == "joined") == [
        "pr-email",
        "pr-slack",
    ]
    with world.engine.connect() as conn:  # the incident is as it was: its lead, the ack
        lead, acked = conn.execute(select(incidents.c.evidence, incidents.c.acked_by)).one()
    assert json.loads(lead)["lead_post"] == "weibo:1" and acked == "pr-lin"


def test_a_post_joining_below_the_incidents_level_or_below_warning_stays_quiet(world, clock):
    world.post("1", observed=400, p=0.7, velocity=200, **SAFETY)  # critical
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(dt.timedelta(minutes=10))
    world.estimate("1", clock.now(), 450, 0.7, velocity=50)
    world.post("2", observed=50, p=0.4, velocity=5, at=clock.now(), categories=("quality",),
               signals=())  # fmt: skip  # warning, a critical incident: only its posts list
    world.post("3", observed=20, p=0.2, velocity=1, at=clock.now(), **SAFETY)
    stats = run_escalation(world.engine, CONFIG, clock)
    assert stats["joined"] == 0 and _joined(world) == []


def test_a_post_silence_does_not_mute_another_post_joining(world, clock):
    from alerts.cli import silence_main

    world.post("1", observed=400, p=0.7, velocity=200, **SAFETY)
    run_escalation(world.engine, CONFIG, clock)
    assert silence_main(["add", "--post", "1", "--for", "1d",
                         "--comment", "handled"], clock=clock, engine=world.engine) == 0  # fmt: skip
    clock.advance(dt.timedelta(minutes=10))
    world.estimate("1", clock.now(), 450, 0.7, velocity=50)
    world.post("2", observed=900, p=0.9, velocity=300, at=clock.now(), **SAFETY)
    run_escalation(world.engine, CONFIG, clock)
    assert {r["status"] for r in _joined(world)} == {"pending"}


def test_a_flood_of_similar_posts_joining_announces_nothing(world, clock):
    # each joining post was its own message: 18 in 15 minutes, and a new incident's page
    # went into the hourly summary behind them
    world.post("lead", observed=60, p=0.4, velocity=5, **SAFETY)  # warning
    run_escalation(world.engine, CONFIG, clock)
    n = 0
    for _ in range(3):
        clock.advance(dt.timedelta(minutes=5))
        for _ in range(6):
            n += 1
            world.post(f"s{n}", observed=50, p=0.42, velocity=5, at=clock.now(), **SAFETY)
        assert run_escalation(world.engine, CONFIG, clock)["joined"] == 0
    assert _joined(world) == []
    clock.advance(dt.timedelta(minutes=5))  # one clearly likelier than all: announced
    world.post("big", observed=400, p=0.55, velocity=40, at=clock.now(), **SAFETY)
    assert run_escalation(world.engine, CONFIG, clock)["joined"] == 1
    clock.advance(dt.timedelta(minutes=5))  # one like it next: not above all before it
    world.post("big2", observed=420, p=0.58, velocity=40, at=clock.now(), **SAFETY)
    assert run_escalation(world.engine, CONFIG, clock)["joined"] == 0
    assert {json.loads(r["payload"])["post_id"] for r in _joined(world)} == {"big"}


def test_a_critical_post_joining_goes_through_quiet_hours(world, clock):
    config = mechanics_config(quiet_hours={"start": "09:00", "end": "11:00"})  # T0 is 10:00
    world.post("1", observed=400, p=0.7, velocity=200, **SAFETY)
    run_escalation(world.engine, config, clock)
    recorder = Recorder()
    channels = {r.name: recorder for r in config.receivers}
    deliver_pending(world.engine, config, clock, channels)
    clock.advance(dt.timedelta(minutes=10))
    world.estimate("1", clock.now(), 450, 0.7, velocity=50)
    world.post("2", observed=3000, p=0.95, velocity=900, at=clock.now(), **SAFETY)
    run_escalation(world.engine, config, clock)
    deliver_pending(world.engine, config, clock, channels)
    assert {n["receiver"] for n in recorder.sent if n["event"] == "joined"} == {
        "pr-slack",
        "pr-email",
    }
