"""The escalation stage and the notification log, on SQLite and PostgreSQL: reruns,
retries, crashes and overlapping runs never send twice and never lose a notification;
silences, quiet hours, acks and the rate limit behave."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter

import pytest
from alert_fixtures import T0, Recorder, config_with, mechanics_config
from sqlalchemy import func, select, text

from alerts.channels import OutboxChannel
from alerts.cli import ack_main, silence_main
from alerts.digest import queue_digest
from alerts.stage import LEASE, deliver_pending, queue_notice, run_escalation
from warehouse.schema import incidents, notifications
from yujing.config import load_config, parse_config

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150
WATCH = {"p": 0.2, "velocity": 5.0, "categories": (), "signals": ()}  # → outbox only


def everywhere(channel):
    return {r.name: channel for r in CONFIG.receivers}


def test_reruns_queue_once_and_deliver_once(world, clock, tmp_path):
    world.post("1")  # critical: safety + regulator signal, P(viral) 0.7
    world.post("9", brand="kuaixian")  # a competitor: watched, never alerted on
    outbox = OutboxChannel(tmp_path, echo=False)
    first = run_escalation(world.engine, CONFIG, clock)
    assert first["opened"] == 1 and first["queued"] == 2  # critical → slack + email
    again = run_escalation(world.engine, CONFIG, clock)
    assert again["queued"] == 0 and again["opened"] == 0
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(outbox))["sent"] == 2
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(outbox))["sent"] == 0
    assert [k.split(":", 1)[1] for k in world.sent()] == [
        "open:critical:pr-email",
        "open:critical:pr-slack",
    ]
    assert len(list(tmp_path.glob("*.json"))) == 2
    assert [i["brand"] for i in world.incidents()] == ["mumu"]
    record = json.loads(next(tmp_path.glob("*pr-slack.json")).read_text(encoding="utf-8"))
    assert record["post_id"] == "1" and record["level"] == "critical"
    assert "safety" in record["categories"] and "P(viral)" in record["message"]


def test_the_predicted_reach_rule_reads_the_post_age_from_the_warehouse(world, clock):
    """Two posts whose only warning sign is a predicted reach of 1,050 (the fixture
    predicts 3x the 350 observed): one estimated an hour after posting, one 17 h after (the limit is 16 h)."""
    from alerts.stage import latest_evidence

    quiet = {"p": 0.05, "velocity": 5.0, "categories": (), "signals": (), "observed": 350}
    world.post("young", **quiet)  # created 1 h before its estimate
    world.post("old", **quiet)
    world.estimate("old", T0 + dt.timedelta(hours=16), 350, 0.05, 5.0)
    with world.engine.connect() as conn:
        ages = {
            e.post_id: (e.estimated_at - e.created_at).total_seconds() / 3600
            for e in latest_evidence(conn, CONFIG)
        }
    assert ages == {"young": 1.0, "old": 17.0}
    clock.set(T0 + dt.timedelta(hours=16))
    assert run_escalation(world.engine, load_config(), clock)["opened"] == 1
    assert [i["root_post_id"] for i in world.incidents()] == ["young"]


def test_a_failed_send_is_retried_each_run_until_it_goes_out_once(world, clock):
    world.post("1")
    run_escalation(world.engine, CONFIG, clock)
    flaky = Recorder(fails=3)
    result = deliver_pending(world.engine, CONFIG, clock, everywhere(flaky))
    assert result["failed"] == 2 and result["sent"] == 0
    failed = world.rows(notifications.c.status == "failed")
    assert len(failed) == 2 and all("channel down" in r["last_error"] for r in failed)
    clock.advance(300)
    result = deliver_pending(world.engine, CONFIG, clock, everywhere(flaky))
    assert result.pop("failures") == {
        "pr-email": {"count": 1, "last_error": "ConnectionError: channel down"}
    }
    assert result == {"sent": 1, "recovered": 0, "failed": 1, "deferred": 0, "skipped": 0}
    clock.advance(300)
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(flaky))["sent"] == 1
    clock.advance(300)
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(flaky))["sent"] == 0
    assert sorted(flaky.keys) == world.sent() and len(flaky.keys) == 2
    attempts = sorted(r["attempts"] for r in world.rows())
    assert attempts == [2, 3]
    assert all(
        r["last_error"] is None and r["external_id"].startswith("ext-") for r in world.rows()
    )


def test_a_missing_channel_keeps_the_notification_queued(world, clock, recorder):
    world.post("1", p=0.4, velocity=5.0, categories=(), signals=())  # warning → pr-slack only
    run_escalation(world.engine, CONFIG, clock)
    assert deliver_pending(world.engine, CONFIG, clock, {})["failed"] == 1
    assert deliver_pending(world.engine, CONFIG, clock, {"pr-slack": recorder})["sent"] == 1


class Crash(BaseException):
    """The worker dies (SIGKILL, OOM) right after the channel accepted the message."""


def test_a_crash_after_sending_is_recovered_without_resending(world, clock, tmp_path):
    world.post("1", **WATCH)  # watch → outbox only
    run_escalation(world.engine, CONFIG, clock)

    class CrashingOutbox(OutboxChannel):
        def send(self, note):
            super().send(note)
            raise Crash

    with pytest.raises(Crash):
        deliver_pending(
            world.engine, CONFIG, clock, everywhere(CrashingOutbox(tmp_path, echo=False))
        )
    assert list(world.statuses().values()) == ["sending"]
    outbox = OutboxChannel(tmp_path, echo=False)
    clock.advance(LEASE / 2)  # the claim still holds: another run leaves it alone
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(outbox))["skipped"] == 1
    clock.advance(LEASE)  # the lease ran out: taken over, found delivered, not rewritten
    mtime = next(tmp_path.glob("*.json")).stat().st_mtime_ns
    result = deliver_pending(world.engine, CONFIG, clock, everywhere(outbox))
    assert result["recovered"] == 1 and result["sent"] == 0
    assert list(world.statuses().values()) == ["sent"]
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert next(tmp_path.glob("*.json")).stat().st_mtime_ns == mtime


def test_overlapping_delivery_runs_never_double_send(world, clock):
    for i in range(6):
        world.post(str(i + 1), categories=(f"c{i}",))  # six separate critical incidents
    assert run_escalation(world.engine, CONFIG, clock)["queued"] == 12
    delivered, lock = [], threading.Lock()

    class Slow:
        def send(self, note):
            time.sleep(0.02)
            with lock:
                delivered.append(note["dedupe_key"])
            return "ok"

    channels = everywhere(Slow())
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        results.append(deliver_pending(world.engine, CONFIG, clock, channels))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delivered) == sorted(set(delivered)) == world.sent()
    assert len(delivered) == 12 == sum(r["sent"] for r in results)


def test_a_claim_late_in_a_slow_run_holds_its_lease_from_when_it_was_made(world, clock):
    """Each claim is stamped with the clock at the claim, not the run's start: a row
    claimed 12 minutes into a slow run is still leased when a second run starts."""
    with world.engine.begin() as conn:
        for i in range(5):
            queue_notice(conn, CONFIG, ["outbox"], f"ops:n{i}", "ops",
                         {"event": "ops", "title": f"n{i}", "lines": []}, T0, level="critical")  # fmt: skip
    sends, nested = [], []

    class Slow:  # each send takes 3 minutes (SMTP/Slack timeouts and retries)
        def send(self, note):
            sends.append(note["dedupe_key"])
            clock.advance(dt.timedelta(minutes=3))
            if note["dedupe_key"] == "ops:n4:outbox" and not nested:
                nested.append(deliver_pending(world.engine, CONFIG, clock, {"outbox": Slow()}))
            return "ok"

    assert deliver_pending(world.engine, CONFIG, clock, {"outbox": Slow()})["sent"] == 5
    assert nested[0]["sent"] == 0 and nested[0]["skipped"] == 1
    assert sorted(sends) == sorted(set(sends)) == world.sent()


def test_a_summary_grown_before_its_claim_goes_out_with_every_folded_alert(world):
    """The delivery run reads its rows at the start; an escalation run that folds another
    alert into the summary before the summary is claimed must not be lost from it."""
    from yujing.clock import ManualClock

    config = config_with(max_per_hour=1)
    at = T0 + dt.timedelta(minutes=5)
    world.post("1", at=at, **WATCH)
    world.post("2", at=at, **WATCH)
    assert run_escalation(world.engine, config, ManualClock(at))["folded"] == 1
    world.post("3", at=at, **WATCH)
    late = ManualClock(T0 + dt.timedelta(minutes=59, seconds=50))
    sent = []

    class Outbox:
        def send(self, note):
            if not sent:  # the 10:59:50 escalation run commits while we deliver
                assert run_escalation(world.engine, config, late)["folded"] == 1
            sent.append(note)
            return "x"

    after_the_hour = ManualClock(T0 + dt.timedelta(hours=1, seconds=1))
    assert deliver_pending(world.engine, config, after_the_hour, {"outbox": Outbox()})["sent"] == 2
    (summary,) = [n["payload"] for n in sent if n["event"] == "summary"]
    (row,) = world.rows(notifications.c.event == "summary")
    assert row["status"] == "sent" and json.loads(row["payload"]) == summary
    assert summary["count"] == 2 and len(summary["lines"]) == len(summary["incidents"]) == 2


@pytest.mark.postgres
def test_two_overlapping_runs_on_postgresql_send_once(pg_engine, clock):
    from alert_fixtures import Warehouse

    world = Warehouse(pg_engine)
    for i in range(10):
        world.post(str(i + 1), **WATCH)  # ten watch incidents
    run_escalation(pg_engine, CONFIG, clock)
    delivered, lock = [], threading.Lock()

    class Slow:
        def send(self, note):
            time.sleep(0.01)
            with lock:
                delivered.append(note["dedupe_key"])
            return "ok"

    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        deliver_pending(pg_engine, CONFIG, clock, everywhere(Slow()))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(delivered) == len(set(delivered)) == 10 == len(world.sent())


def test_reminders_are_keyed_by_interval_and_an_ack_stops_them(world, clock, recorder):
    world.post("1")
    world.post("2", categories=("quality",))
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    iid = {i["root_post_id"]: i["incident_id"] for i in world.incidents()}
    assert ack_main([iid["2"], "--by", "lin"], clock=clock, engine=world.engine) == 0

    for minutes in (30, 61, 62, 121):
        clock.set(T0 + dt.timedelta(minutes=minutes))
        world.estimate("1", clock.now(), 300 + minutes, 0.8)
        world.estimate("2", clock.now(), 300 + minutes, 0.8)
        run_escalation(world.engine, CONFIG, clock)
        run_escalation(world.engine, CONFIG, clock)  # a retried task: nothing new
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    reminders = [k for k in world.sent() if ":remind" in k]
    assert sorted(k.split(":", 1)[1] for k in reminders) == [
        "remind#1:critical:pr-email",
        "remind#1:critical:pr-slack",
        "remind#2:critical:pr-email",
        "remind#2:critical:pr-slack",
    ]
    assert all(k.startswith(iid["1"]) for k in reminders)  # not the acknowledged one


def test_resolve_notifies_once_after_the_quiet_time(world, clock, recorder):
    world.post("1", **WATCH)  # watch → outbox
    run_escalation(world.engine, CONFIG, clock)
    clock.advance(dt.timedelta(minutes=119))
    assert run_escalation(world.engine, CONFIG, clock)["resolved"] == 0
    clock.advance(dt.timedelta(minutes=1))
    assert run_escalation(world.engine, CONFIG, clock)["resolved"] == 1
    clock.advance(dt.timedelta(minutes=30))
    assert run_escalation(world.engine, CONFIG, clock)["resolved"] == 0
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert [(n["event"], n["receiver"]) for n in recorder.sent] == [
        ("open", "outbox"),
        ("resolve", "outbox"),
    ]
    assert world.incidents()[0]["status"] == "resolved"


def test_related_posts_join_the_incident_thread(world, clock, recorder):
    world.post("a", p=0.2, velocity=5.0, signals=())  # safety: watch bumped to warning → pr-slack
    run_escalation(world.engine, CONFIG, clock)
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    clock.advance(dt.timedelta(hours=1))
    world.post("b", p=0.7, observed=900, at=clock.now(), signals=())  # same brand + category
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["opened"] == 0 and result["escalated"] == 1
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    (incident,) = world.incidents()
    assert incident["level"] == "critical" and json.loads(incident["evidence"])["posts"].keys() == {
        "weibo:a",
        "weibo:b",
    }
    slack = [n for n in recorder.sent if n["receiver"] == "pr-slack"]
    assert [(n["event"], n["thread"]) for n in slack] == [("open", None), ("escalate", "ext-1")]
    assert slack[1]["payload"]["post_id"] == "b" and slack[1]["payload"]["posts"] == 2
    email = [n for n in recorder.sent if n["receiver"] == "pr-email"]
    assert [(n["event"], n["thread"]) for n in email] == [("escalate", None)]


def test_silences_mute_notifications_not_incidents(world, clock, recorder):
    world.post("1", author="水军", categories=("quality",))
    world.post("2", author="宝妈", categories=("refund",))
    assert (
        silence_main(
            ["add", "--author", "水军", "--for", "1h", "--comment", "spam"],
            clock=clock,
            engine=world.engine,
        )
        == 0
    )
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["opened"] == 2 and result["silenced"] == 2 and result["queued"] == 2
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert all(n["payload"]["author_name"] == "宝妈" for n in recorder.sent)
    silenced = world.rows(notifications.c.status == "silenced")
    assert len(silenced) == 2 and all(r["last_error"].startswith("silenced by") for r in silenced)
    clock.advance(dt.timedelta(hours=2))  # the silence expired: a silenced event stays muted
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    assert len(recorder.sent) == 2


def test_quiet_hours_defer_but_critical_goes_through(world, clock, recorder):
    config = config_with(quiet_hours={"start": "09:00", "end": "11:00"})  # T0 is 10:00
    world.post("1", **WATCH)  # watch → outbox: deferred
    world.post("2", categories=("quality",))  # critical → slack + email: now
    run_escalation(world.engine, config, clock)
    result = deliver_pending(world.engine, config, clock, everywhere(recorder))
    assert result["deferred"] == 1 and result["sent"] == 2
    clock.advance(dt.timedelta(minutes=30))
    assert deliver_pending(world.engine, config, clock, everywhere(recorder))["sent"] == 0
    clock.advance(dt.timedelta(minutes=35))  # 11:05: quiet hours over
    assert deliver_pending(world.engine, config, clock, everywhere(recorder))["sent"] == 1
    assert [n["level"] for n in recorder.sent] == ["critical", "critical", "watch"]


def test_quiet_hours_across_midnight_and_a_deferred_alert_overtaken(world, recorder):
    from yujing.clock import ManualClock

    config = parse_config(
        {
            "brands": [{"code": "mumu", "name": "沐沐奶粉"}],
            "receivers": [
                {"name": "ops", "outbox": {}, "quiet_hours": {"start": "22:00", "end": "08:00"}}
            ],
            "routing": {"receiver": "ops"},
        }
    )
    night = ManualClock(dt.datetime(2026, 5, 1, 16, 0, tzinfo=dt.UTC))  # 00:00 Shanghai
    world.post("1", **WATCH, at=night.now())
    run_escalation(world.engine, config, night)
    assert deliver_pending(world.engine, config, night, {"ops": recorder})["deferred"] == 1
    night.advance(600)
    world.estimate("1", night.now(), 900, 0.9, 200)  # now critical: goes out at night
    run_escalation(world.engine, config, night)
    assert deliver_pending(world.engine, config, night, {"ops": recorder})["sent"] == 1
    night.advance(dt.timedelta(hours=9))  # morning: the stale watch alert is not sent late
    assert deliver_pending(world.engine, config, night, {"ops": recorder})["sent"] == 0
    assert [n["event"] for n in recorder.sent] == ["escalate"]
    assert sorted(world.statuses().values()) == ["sent", "superseded"]


def test_the_rate_limit_folds_overflow_into_one_summary(world, clock, tmp_path):
    config = config_with(max_per_hour=2)
    for i in range(5):  # five separate watch incidents → outbox
        world.post(str(i + 1), **WATCH)
    result = run_escalation(world.engine, config, clock)
    assert result["queued"] == 2 and result["folded"] == 3
    world.post("9", categories=("quality",))  # critical is never folded (but counts)
    assert run_escalation(world.engine, config, clock)["queued"] == 2
    outbox = OutboxChannel(tmp_path, echo=False)
    channels = {r.name: outbox for r in config.receivers}
    result = deliver_pending(world.engine, config, clock, channels)
    assert result["sent"] == 4 and result["deferred"] == 1  # the summary waits for the hour
    clock.advance(dt.timedelta(hours=1))
    assert deliver_pending(world.engine, config, clock, channels)["sent"] == 1
    summary = json.loads(next(tmp_path.glob("summary*.json")).read_text(encoding="utf-8"))
    assert summary["count"] == 3 and len(summary["lines"]) == 3
    assert "3 more alerts" in summary["summary"]
    folded = world.rows(notifications.c.status == "folded")
    assert len(folded) == 3 and all(
        "folded into summary:outbox:" in r["last_error"] for r in folded
    )


def test_a_receiver_removed_from_the_config_keeps_its_rows(world, clock, recorder):
    world.post("1", **WATCH)
    run_escalation(world.engine, CONFIG, clock)
    config = parse_config(
        {
            "brands": [{"code": "mumu", "name": "沐沐奶粉"}],
            "receivers": [{"name": "other", "outbox": {}}],
            "routing": {"receiver": "other"},
        }
    )
    assert deliver_pending(world.engine, config, clock, {"other": recorder})["skipped"] == 1
    assert list(world.statuses().values()) == ["pending"]


def test_the_daily_digest_is_queued_once_per_day(world):
    from yujing.clock import ManualClock

    clock = ManualClock(dt.datetime(2026, 5, 2, 1, 0, tzinfo=dt.UTC))  # 09:00 Shanghai
    world.post("1")
    assert queue_digest(world.engine, CONFIG, clock) == 3
    assert queue_digest(world.engine, CONFIG, clock) == 0
    with world.engine.connect() as conn:
        payload = json.loads(
            conn.execute(select(notifications.c.payload).where(notifications.c.event == "digest"))
            .scalars()
            .first()
        )
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() == 0
    assert payload["day"] == "2026-05-01" and any("沐沐奶粉" in x for x in payload["lines"])


def test_a_digest_rerun_later_reports_the_day_its_run_was_scheduled_for(world):
    from yujing.clock import ManualClock

    clock = ManualClock(dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.UTC))  # two days late
    world.post("1")
    scheduled = dt.datetime(2026, 5, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 Shanghai, May 2
    assert queue_digest(world.engine, CONFIG, clock, scheduled) == 3
    assert queue_digest(world.engine, CONFIG, clock, scheduled) == 0
    with world.engine.connect() as conn:
        days = {
            json.loads(p)["day"]
            for p in conn.execute(
                select(notifications.c.payload).where(notifications.c.event == "digest")
            ).scalars()
        }
    assert days == {"2026-05-01"}


def test_the_ops_notice_gives_the_outage_start_on_the_configs_clock(world):
    from alerts.ops import token_outage
    from yujing.clock import ManualClock

    assert token_outage(world.engine, CONFIG, ManualClock(T0), "weibo", "weibo_default", "21327")
    payload = json.loads(world.rows()[0]["payload"])
    assert (
        payload["lines"][0]
        == "weibo 采集已停止 ingest has stopped since 2026-05-01 10:00 Asia/Shanghai"
    )


def _stop_tracking(world, post_id):
    """No growth for a day: the spread stage stops tracking the post (state dead)."""
    from sqlalchemy import update

    from warehouse.schema import tracked_posts

    with world.engine.begin() as conn:
        conn.execute(
            update(tracked_posts).where(tracked_posts.c.post_id == post_id).values(state="dead")
        )


def _resolved_critical_incident(world, clock, recorder):
    """Post "1" opens a critical incident, which resolves; both notified. Returns its row."""
    world.post("1", text="沐沐奶粉有异物，宝宝喝了拉肚子")
    assert run_escalation(world.engine, CONFIG, clock)["opened"] == 1
    clock.advance(dt.timedelta(minutes=130))
    assert run_escalation(world.engine, CONFIG, clock)["resolved"] == 1
    deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))
    (old,) = world.incidents()
    return dict(old)


@pytest.mark.parametrize("days", [1, 3, 30])
def test_a_reflare_long_after_the_incident_resolved_is_a_new_occurrence(
    world, clock, recorder, days
):
    """A repost of an old complaint spreading fast again, however long after its incident
    resolved (the stage keeps only 2 days of resolved incidents in memory), opens the next
    occurrence with its own id, queues and sends its alerts, and leaves the old row alone;
    a rerun of the same run changes nothing."""
    old = _resolved_critical_incident(world, clock, recorder)
    _stop_tracking(world, "1")
    clock.advance(dt.timedelta(days=days))
    world.post("2", text="又看到这个！沐沐奶粉有异物还不回应 //@宝妈: 沐沐奶粉有异物",
               root_id="1", at=clock.now(), p=0.8, velocity=200.0)  # fmt: skip
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["opened"] == 1 and result["queued"] == 2
    rows = {r["incident_id"]: dict(r) for r in world.incidents()}
    assert rows[old["incident_id"]] == old  # the old incident's history is untouched
    new = rows[old["incident_id"] + "-2"]
    assert new["status"] == "open" and new["opened_at"] == clock.now()
    assert json.loads(new["evidence"])["occurrence"] == 2 and len(rows) == 2

    snapshot = (world.statuses(), [dict(r) for r in world.incidents()])
    again = run_escalation(world.engine, CONFIG, clock)  # a rerun: nothing new
    assert again["opened"] == 0 and again["queued"] == 0
    assert (world.statuses(), [dict(r) for r in world.incidents()]) == snapshot

    recorder.sent.clear()
    assert deliver_pending(world.engine, CONFIG, clock, everywhere(recorder))["sent"] == 2
    assert sorted(recorder.keys) == [
        f"{old['incident_id']}-2:open:critical:pr-email",
        f"{old['incident_id']}-2:open:critical:pr-slack",
    ]


@pytest.mark.parametrize("probe", [1, 2, 8])
def test_every_flare_gets_the_next_occurrence_whatever_the_gaps(
    world, clock, recorder, monkeypatch, probe
):
    """Flares days apart: occurrences 2, 3, 4, each past every stored one, however many
    ids the stage looks up at once (`OCCURRENCE_PROBE`)."""
    import alerts.stage

    monkeypatch.setattr(alerts.stage, "OCCURRENCE_PROBE", probe)
    old = _resolved_critical_incident(world, clock, recorder)
    _stop_tracking(world, "1")
    for post in ("2", "3", "4"):
        clock.advance(dt.timedelta(days=5))
        world.post(post, root_id="1", at=clock.now(), p=0.8, velocity=200.0)
        assert run_escalation(world.engine, CONFIG, clock)["opened"] == 1
        clock.advance(dt.timedelta(minutes=130))
        assert run_escalation(world.engine, CONFIG, clock)["resolved"] == 1
        _stop_tracking(world, post)
    base = old["incident_id"]
    assert [r["incident_id"] for r in world.incidents()] == [
        base,
        f"{base}-2",
        f"{base}-3",
        f"{base}-4",
    ]


def test_a_stale_estimate_does_not_reopen_an_incident_resolved_long_ago(world, clock, recorder):
    """A post still tracked with its old estimate (say the spread stage stopped refreshing
    it) did not grow: it stays resolved, however old the incident, and nothing is queued."""
    old = _resolved_critical_incident(world, clock, recorder)
    clock.advance(dt.timedelta(days=3))
    result = run_escalation(world.engine, CONFIG, clock)
    assert result["opened"] == 0 and result["queued"] == 0
    assert [dict(r) for r in world.incidents()] == [old]


def test_alerts_held_by_quiet_hours_come_out_within_the_hourly_limit(world, recorder):
    # each held alert was admitted by the limit in its own hour; at the end of the quiet
    # hours all of them went out in one minute (24 messages, "new" beside "resolved")
    from yujing.clock import ManualClock

    config = mechanics_config(quiet_hours={"start": "22:00", "end": "07:00"}, max_per_hour=3)
    channels = {r.name: recorder for r in config.receivers}
    night = ManualClock(dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC))  # 23:00 Shanghai
    categories = ["refund", "after_sales", "quality", "counterfeit", "delivery", "pricing"]
    for n in range(24):  # four unrelated warnings an hour, 23:00 to 04:00
        night.set(dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * n))
        brand = ("mumu", "xingche")[n // 12]
        world.post(f"p{n}", brand=brand, observed=200, p=0.4, velocity=5, signals=(),
                   categories=(categories[n % 6],), at=night.now(), author=f"u{n}")  # fmt: skip
        run_escalation(world.engine, config, night)
        deliver_pending(world.engine, config, night, channels)
    assert recorder.sent == []  # nothing urgent: all held
    # the held alerts count against the limit when the next one is queued (the limit
    # counts on the sending clock): a receiver holds at most its hour's worth, the rest
    # wait in a summary, not each admitted in its own hour
    held = Counter(r["receiver"] for r in world.rows() if r["status"] == "pending"
                   and r["event"] != "summary")  # fmt: skip
    assert set(held.values()) == {3}
    night.set(dt.datetime(2026, 5, 1, 23, 0, tzinfo=dt.UTC))  # 07:00: quiet hours over
    stats = deliver_pending(world.engine, config, night, channels)
    per_receiver = Counter(n["receiver"] for n in recorder.sent)
    assert set(per_receiver.values()) == {3} and stats["sent"] == sum(per_receiver.values())
    assert stats["folded"] > 0 and len({n["dedupe_key"] for n in recorder.sent}) == stats["sent"]
    statuses = world.statuses()
    pending = sorted(
        k.split(":")[1] for k, s in statuses.items() if k.startswith("summary:") and s == "pending"
    )
    assert pending == sorted(per_receiver)  # the night's summaries joined this hour's, one each
    night.advance(dt.timedelta(minutes=5))  # the next run sends nothing more this hour
    assert deliver_pending(world.engine, config, night, channels)["sent"] == 0
    night.advance(dt.timedelta(hours=1))  # the hour over: the summaries, once
    later = deliver_pending(world.engine, config, night, channels)
    summary = [n for n in recorder.sent if n["event"] == "summary"]
    assert later["sent"] == len(summary) == len(per_receiver)
    folded = [k for k, s in world.statuses().items() if s == "folded"]
    alerts = [k for k in folded if not k.startswith("summary:")]
    assert sum(n["payload"]["count"] for n in summary) == len(alerts)  # every one, once
    lines = [line for n in summary for line in n["payload"]["lines"]]
    assert len(lines) == len(alerts) and len(set(lines)) == len(lines)
    assert deliver_pending(world.engine, config, night, channels)["sent"] == 0
    # each folded alert reached its receiver when its summary did: the views count it
    rows = {r["dedupe_key"]: r for r in world.rows()}
    for key in alerts:
        into = rows[key]["external_id"]
        assert rows[into]["status"] == "sent" and rows[key]["sent_at"] == rows[into]["sent_at"]
    with world.engine.connect() as conn:
        outcomes = conn.execute(text("SELECT alerted, COUNT(*) FROM v_alert_outcomes "
                                     "GROUP BY alerted")).all()  # fmt: skip
    assert [tuple(int(v) for v in row) for row in outcomes] == [(1, len(world.incidents()))]


def test_an_alert_only_counted_in_a_full_summary_is_not_reported_as_delivered(world):
    # past its 50 lines a summary says "and N more": those alerts were counted, not shown,
    # and the views must not count them as delivered when the summary goes out
    from alerts.stage import SUMMARY_LINES
    from yujing.clock import ManualClock

    config = config_with(max_per_hour=1)
    at = T0 + dt.timedelta(minutes=5)
    for n in range(SUMMARY_LINES + 4):
        world.post(f"w{n}", at=at, author=f"u{n}", **WATCH)
    assert run_escalation(world.engine, config, ManualClock(at))["folded"] == SUMMARY_LINES + 3
    later = ManualClock(T0 + dt.timedelta(hours=1, minutes=1))
    deliver_pending(world.engine, config, later, {"outbox": Recorder()})
    folded = [r for r in world.rows() if r["status"] == "folded"]
    shown = [r for r in folded if r["sent_at"] is not None]
    counted = [r for r in folded if r["sent_at"] is None]
    assert len(shown) == SUMMARY_LINES and len(counted) == 3
    assert all("counted, not shown" in r["last_error"] for r in counted)
    with world.engine.connect() as conn:  # recorded: the one sent, the 50 shown
        recorded = conn.execute(text(
            "SELECT COUNT(*) FROM v_alert_outcomes WHERE first_recorded_at IS NOT NULL"
        )).scalar_one()  # fmt: skip
    assert int(recorded) == 1 + SUMMARY_LINES


def test_messages_waiting_behind_a_refused_one_do_not_use_up_the_hourly_limit(world, clock):
    # an incident's messages go in order: behind an `open` Slack refuses every run, its
    # escalation and reminders wait. Counted as waiting, they filled the receiver's limit
    # and every new incident's alert went into a summary instead
    config = mechanics_config(max_per_hour=2)

    class RefusesA(Recorder):
        def send(self, note):
            if note["payload"]["post_id"] == "A":
                raise ValueError("invalid_blocks")
            return super().send(note)

    channels = {r.name: RefusesA() for r in config.receivers}
    world.post("A", p=0.4, velocity=5.0, categories=("quality",), signals=())  # warning
    run_escalation(world.engine, config, clock)
    deliver_pending(world.engine, config, clock, channels)
    clock.advance(dt.timedelta(minutes=10))
    world.estimate("A", clock.now(), 900, 0.7, 200.0)  # critical: escalate
    run_escalation(world.engine, config, clock)
    deliver_pending(world.engine, config, clock, channels)
    clock.advance(dt.timedelta(minutes=61))
    world.estimate("A", clock.now(), 950, 0.7, 200.0)  # unacknowledged: remind
    run_escalation(world.engine, config, clock)
    deliver_pending(world.engine, config, clock, channels)
    waiting = [r for r in world.rows() if r["receiver"] == "pr-slack" and r["status"] == "pending"]
    assert len(waiting) == 2  # the escalation and the reminder, behind the refused open
    clock.advance(dt.timedelta(minutes=1))
    world.post("B", p=0.4, velocity=5.0, categories=("refund",), signals=(), at=clock.now())
    run_escalation(world.engine, config, clock)
    (b_open,) = [
        r for r in world.rows()
        if r["receiver"] == "pr-slack" and r["event"] == "open" and r["status"] != "failed"
    ]  # fmt: skip
    assert b_open["status"] == "pending"
