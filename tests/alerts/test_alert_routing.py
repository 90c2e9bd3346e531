"""Routing with `continue`, silences and acknowledgements (library and command line)."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from alert_fixtures import T0
from sqlalchemy import func, select, update

from alerts.cli import ack_main, parse_duration, silence_main
from alerts.routing import receivers_for
from alerts.silences import active_silences, add_silence, matches, silenced_by
from warehouse.schema import incidents, silences
from yujing.config import load_config, parse_config


def test_default_routing_with_continue():
    config = load_config()

    def route(level, brand="mumu"):
        return receivers_for(config, {"brand": brand, "level": level, "category": "safety"})

    assert route("watch") == ["outbox"]  # no route matches: the root's receiver
    assert route("warning") == ["pr-slack"]  # matched; continue, nothing else matches
    assert route("critical") == ["pr-slack", "pr-email"]  # continue: true → both
    assert route("critical", brand="kuaixian") == []  # a competitor never alerts


def test_nested_routes_first_match_wins_unless_continue():
    config = parse_config(
        {
            "brands": [
                {"code": "mumu", "name": "沐沐"},
                {"code": "xc", "name": "星辰"},
                {"code": "rival", "name": "对手", "competitor": True},
            ],
            "receivers": [{"name": n, "outbox": {}} for n in "abcdef"],
            "routing": {
                "receiver": "a",
                "routes": [
                    # the ops notices' route: a receiver nothing reaches is refused
                    {"match": {"category": ["ops"]}, "receiver": "e"},
                    {
                        "match": {"brand": ["xc"]},
                        "receiver": "b",
                        "routes": [
                            {"match": {"category": ["safety"]}, "receiver": "c", "continue": True},
                            {"match": {"level": ["critical"]}, "receiver": "d"},
                            {"match": {"level": ["critical"]}, "receiver": "e"},  # never reached
                        ],
                    },
                    {"match": {"platform": ["wechat"]}},  # inherits the root's receiver
                    {"match": {"level": ["critical"]}, "receiver": "f"},
                ],
            },
        }
    )

    def route(**labels):
        return receivers_for(config, labels)

    assert route(brand="xc", category="safety", level="watch") == ["c"]
    assert route(brand="xc", category="safety", level="critical") == ["c", "d"]
    assert route(brand="xc", category="refund", level="critical") == ["d"]
    assert route(brand="xc", category="refund", level="watch") == ["b"]
    assert route(brand="mumu", platform="wechat", level="critical") == ["a"]  # first match
    assert route(brand="mumu", platform="weibo", level="critical") == ["f"]
    assert route(brand="mumu", platform="weibo", level="watch") == ["a"]
    assert route(brand="rival", level="critical") == []


def test_silence_matchers():
    alert = {
        "brand": "mumu",
        "brand_name": "沐沐奶粉",
        "author_name": "宝妈",
        "post_ids": {"100", "101"},
        "text": "沐沐奶粉里有 Foreign 异物",
    }
    assert matches({"brand": "mumu"}, alert) and matches({"brand": "沐沐奶粉"}, alert)
    assert not matches({"brand": "xingche"}, alert)
    assert matches({"author": "宝妈", "post": "101"}, alert)
    assert not matches({"author": "宝妈", "post": "999"}, alert)  # every matcher must match
    assert matches({"keyword": "foreign"}, alert) and matches({"keyword": "异物"}, alert)
    assert not matches({"keyword": "退款"}, alert)
    assert silenced_by([{"silence_id": "s1", "matchers": {"keyword": "异物"}}], alert) == "s1"


def test_silences_expire(warehouse):
    with warehouse.begin() as conn:
        sid = add_silence(conn, {"brand": "mumu"}, T0 + dt.timedelta(hours=2), T0, "lin", "known")
        assert [s["silence_id"] for s in active_silences(conn, T0)] == [sid]
        assert active_silences(conn, T0 + dt.timedelta(hours=2)) == []


def test_silence_command_line(warehouse, clock, capsys):
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    assert parse_duration("1.5d") == dt.timedelta(hours=36)
    args = ["add", "--brand", "mumu", "--author", "水军", "--post", "42", "--keyword", "异物"]
    assert (
        silence_main(args + ["--for", "2h", "--comment", "spam"], clock=clock, engine=warehouse)
        == 0
    )
    sid = capsys.readouterr().out.split()[0]
    assert (
        silence_main(["add", "--comment", "nothing to match"], clock=clock, engine=warehouse) == 2
    )
    assert "at least one of" in capsys.readouterr().err

    assert silence_main(["list"], clock=clock, engine=warehouse) == 0
    out = capsys.readouterr().out
    assert sid in out and "author=水军" in out and "keyword=异物" in out and "active" in out
    assert "until 2026-05-01 12:00 Asia/Shanghai" in out  # T0 + 2h on the config's clock

    clock.advance(60)
    assert silence_main(["expire", sid], clock=clock, engine=warehouse) == 0
    assert silence_main(["expire", sid], clock=clock, engine=warehouse) == 1
    assert silence_main(["list"], clock=clock, engine=warehouse) == 0
    assert "no active silences" in capsys.readouterr().out
    silence_main(["list", "--all"], clock=clock, engine=warehouse)
    assert "expired" in capsys.readouterr().out
    with warehouse.connect() as conn:
        expires = conn.execute(select(silences.c.expires_at)).scalar_one()
    assert expires == clock.now()


def test_silences_that_could_never_match_or_never_end_are_refused(warehouse, clock, capsys):
    """An unknown brand would be a silence that mutes nothing; an absurd --for used to
    overflow datetime with a traceback."""
    add = ["add", "--comment", "x"]
    assert silence_main([*add, "--brand", "nope"], clock=clock, engine=warehouse) == 2
    err = capsys.readouterr().err
    assert "unknown brand 'nope'" in err and "mumu" in err and err.count("\n") == 1
    assert silence_main([*add, "--brand", "沐沐奶粉"], clock=clock, engine=warehouse) == 0
    for duration in ("5000000d", "366d", "53w", "1" + "0" * 400 + "m"):
        with pytest.raises(argparse.ArgumentTypeError, match="longer than 365 days"):
            parse_duration(duration)
        with pytest.raises(SystemExit) as exit_:
            silence_main([*add, "--brand", "mumu", "--for", duration], clock=clock)
        assert exit_.value.code == 2
    assert parse_duration("365d") == dt.timedelta(days=365)
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(silences)).scalar_one() == 1


def test_ack_command_line(world, clock, capsys):
    from alerts.stage import run_escalation

    world.post("1")
    run_escalation(world.engine, load_config(), clock)
    with world.engine.connect() as conn:
        iid = conn.execute(select(incidents.c.incident_id)).scalar_one()
    assert ack_main([iid[:8], "--by", "lin"], clock=clock, engine=world.engine) == 0  # prefix
    assert "acknowledged" in capsys.readouterr().out
    first_ack = clock.now()
    clock.advance(180)
    # a second person pasting the same command: done already, says by whom; the first
    # acknowledgement stands
    assert ack_main([iid, "--by", "wang"], clock=clock, engine=world.engine) == 0
    assert f"already acknowledged by lin at {first_ack:%Y-%m-%d %H:%M} UTC" in (
        capsys.readouterr().out
    )
    assert ack_main(["nope"], clock=clock, engine=world.engine) == 1
    with world.engine.connect() as conn:
        row = conn.execute(select(incidents.c.acked_at, incidents.c.acked_by)).one()
    assert row == (first_ack, "lin")
    # a --by with terminal escapes is shown without them
    with world.engine.begin() as conn:
        conn.execute(update(incidents).values(acked_by="lin\x1b[2J\x1b[31m"))
    assert ack_main([iid], clock=clock, engine=world.engine) == 0
    assert "\x1b" not in capsys.readouterr().out
