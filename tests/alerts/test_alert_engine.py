"""The incident engine as pure functions: timelines replayed on a manual clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from alert_fixtures import T0, mechanics_config

from alerts.engine import Evidence, evaluate, group_evidence, incident_id
from alerts.levels import decide_level
from yujing.clock import ManualClock
from yujing.config import load_config, parse_config

CONFIG = mechanics_config()  # watch p≥0.15 or v≥20, warning 0.35/60, critical 0.6/150


def ev(p=0.0, velocity=0.0, observed=10, post_id="1", **kw):
    base = dict(
        brand="mumu",
        platform="weibo",
        post_id=post_id,
        observed=observed,
        predicted=observed * 2.0,
        low=float(observed),
        high=observed * 4.0,
        p_viral=p,
        velocity_per_10min=velocity,
    )
    base.update(kw)
    return Evidence(**base)


def replay(timeline, start=T0):
    """[(minutes since start, evidence or None), ...] → [(minute, event, level), ...]."""
    clock = ManualClock(start)
    state, out = None, []
    for minute, evidence in timeline:
        clock.set(start + dt.timedelta(minutes=minute))
        if state is not None and state.status == "resolved" and evidence is None:
            continue
        state, events = evaluate(CONFIG, state, evidence, clock.now())
        out += [(minute, e, state.level) for e in events]
    return out, state


def test_open_escalate_no_repeat_fall_silent_remind_resolve():
    events, state = replay(
        [
            (0, ev(p=0.01)),  # below watch: nothing
            (5, ev(p=0.2, observed=20)),  # open at watch
            (10, ev(p=0.25, observed=40)),  # same level: no repeat
            (15, ev(p=0.25, observed=60)),
            (20, ev(p=0.7, observed=300)),  # critical: escalate
            (25, ev(p=0.1, observed=310)),  # a fall never notifies, level stays
            (50, ev(p=0.7, observed=320)),
            (81, ev(p=0.7, observed=330)),  # 61 min after critical: remind
            (85, ev(p=0.7, observed=340)),  # same interval: no second reminder
            (141, ev(p=0.7, observed=350)),  # next interval: remind again
            (200, ev(p=0.7, observed=350)),  # no growth since 141 ...
            (261, ev(p=0.7, observed=350)),  # ... for 120 min: resolve
            (300, ev(p=0.9, observed=350)),  # resolved and not growing: nothing
        ]
    )
    assert events == [
        (5, "open", "watch"),
        (20, "escalate", "critical"),
        (81, "remind", "critical"),
        (141, "remind", "critical"),
        (200, "remind", "critical"),  # the third interval since it became critical
        (261, "resolve", "critical"),  # 120 min after the last growth (141)
    ]
    assert state.status == "resolved" and state.level == "critical"


def test_a_fall_never_notifies_and_the_level_never_drops():
    events, state = replay(
        [(0, ev(p=0.7, observed=10)), (5, ev(p=0.2, observed=11)), (10, ev(p=0.0, observed=12))]
    )
    assert events == [(0, "open", "critical")]
    assert state.level == "critical"


def test_reminders_only_for_unacknowledged_critical_incidents():
    warning, _ = replay([(m, ev(p=0.4, observed=10 + m)) for m in range(0, 400, 30)])
    assert [e for _, e, _ in warning] == ["open"]  # a warning never reminds

    clock = ManualClock(T0)
    state, events = evaluate(CONFIG, None, ev(p=0.7), clock.now())
    assert events == ["open"]
    clock.advance(dt.timedelta(minutes=30))
    state = replace(state, acked_at=clock.now(), acked_by="lin")  # `yujing ack`
    for minutes in (61, 121, 181):
        clock.set(T0 + dt.timedelta(minutes=minutes))
        state, events = evaluate(CONFIG, state, ev(p=0.7, observed=10 + minutes), clock.now())
        assert events == []


def test_an_ack_at_a_lower_level_does_not_cover_a_later_escalation():
    clock = ManualClock(T0)
    state, _ = evaluate(CONFIG, None, ev(p=0.4), clock.now())
    state = replace(state, acked_at=clock.now())
    clock.advance(600)
    state, events = evaluate(CONFIG, state, ev(p=0.8, observed=50), clock.now())
    assert events == ["escalate"] and not state.acknowledged
    clock.advance(dt.timedelta(minutes=61))
    state, events = evaluate(CONFIG, state, ev(p=0.8, observed=60), clock.now())
    assert events == ["remind"]


def test_resolve_on_a_tick_without_evidence_and_reopen_as_a_new_occurrence():
    clock = ManualClock(T0)
    state, _ = evaluate(CONFIG, None, ev(p=0.2, observed=50), clock.now())
    clock.advance(dt.timedelta(minutes=119))
    assert evaluate(CONFIG, state, [], clock.now())[1] == []
    clock.advance(dt.timedelta(minutes=1))
    resolved, events = evaluate(CONFIG, state, [], clock.now())
    assert events == ["resolve"] and resolved.resolved_at == clock.now()
    clock.advance(600)
    again, events = evaluate(CONFIG, resolved, ev(p=0.2, observed=50), clock.now())
    assert events == [] and again is resolved  # not growing: stays resolved
    again, events = evaluate(CONFIG, resolved, ev(p=0.5, observed=400), clock.now())
    assert events == ["open"] and again.level == "warning"
    assert again.incident_id == resolved.incident_id + "-2" and again.occurrence == 2


def test_a_viral_post_trickling_after_it_resolved_stays_resolved_until_it_speeds_up():
    # past the viral line P(viral) stays 1: one late repost every couple of hours used to
    # open a new critical occurrence (a page no earlier ack covers) each time it resolved
    clock = ManualClock(T0)
    state, _ = evaluate(CONFIG, None, ev(p=1.0, velocity=200, observed=1500), clock.now())
    assert state.level == "critical"
    clock.advance(dt.timedelta(minutes=120))
    state, events = evaluate(CONFIG, state, [], clock.now())
    assert events == ["resolve"]
    for extra in range(1, 6):  # one repost every 2.5 h for 12.5 h
        clock.advance(dt.timedelta(minutes=150))
        trickle = ev(p=1.0, velocity=0.1, observed=1500 + extra)
        state, events = evaluate(CONFIG, state, trickle, clock.now())
        assert (events, state.status, state.occurrence) == ([], "resolved", 1)
    clock.advance(dt.timedelta(minutes=30))  # a second wave: 25 reposts in 10 minutes
    wave = ev(p=1.0, velocity=25, observed=1600)
    again, events = evaluate(CONFIG, state, wave, clock.now())
    assert events == ["open"] and again.occurrence == 2 and again.level == "critical"
    # a post the incident never held, warranting a level, reopens it too
    newcomer = ev(p=0.2, post_id="9", root_id="1", observed=30)
    assert evaluate(CONFIG, state, newcomer, clock.now())[1] == ["open"]


def test_a_second_wave_slower_than_every_velocity_rule_reopens():
    # reopening needed a level's velocity rule: under a config whose levels set none (or a
    # wave under the watch velocity) a resolved incident never reopened, whatever it grew
    clock = ManualClock(T0)
    state, _ = evaluate(CONFIG, None, ev(p=0.7, velocity=200, observed=500), clock.now())
    clock.advance(dt.timedelta(minutes=120))
    state, events = evaluate(CONFIG, state, [], clock.now())
    assert events == ["resolve"]
    clock.advance(dt.timedelta(hours=1))
    small = ev(p=0.7, velocity=5, observed=540)  # +40: under a tenth of 500
    assert evaluate(CONFIG, state, small, clock.now())[1] == []
    wave = ev(p=0.7, velocity=15, observed=600)  # +100 at 15 per 10 min: a second wave
    assert evaluate(CONFIG, state, wave, clock.now())[1] == ["open"]
    raw = CONFIG.model_dump(by_alias=True, exclude_none=True)
    for rule in ("watch", "warning", "critical"):
        raw["levels"][rule].pop("velocity_per_10min", None)
    no_velocity = parse_config(raw)
    big = ev(p=0.7, velocity=2000, observed=20_000)
    assert evaluate(no_velocity, state, big, clock.now())[1] == ["open"]


SHIPPED = load_config()  # the committed levels: warning = the spread operating point


@pytest.mark.parametrize(
    ("kw", "level"),
    [
        ({"p": 0.2}, "watch"),
        ({"velocity": 25}, "watch"),  # velocity alone is enough (OR)
        ({"p": 0.1, "velocity": 70}, "watch"),  # fast, but only critical velocity pages
        ({"p": 0.4}, "watch"),  # P(viral) pages only at critical
        ({"p": 0.05, "velocity": 10}, None),
        ({"p": 0.6}, "critical"),
        ({"velocity": 150}, "critical"),
        ({"p": 0.2, "categories": ("safety",)}, "warning"),
        ({"p": 0.2, "signals": ("regulator_legal",)}, "warning"),
        ({"p": 0.2, "signals": ("media",)}, "warning"),
        ({"p": 0.2, "signals": ("collective",)}, "warning"),
        ({"p": 0.2, "signals": ("unknown_signal",)}, "watch"),
        ({"p": 0.2, "author_verified": True}, "watch"),  # the author alone pages nobody
        ({"p": 0.2, "author_verified_type": 3}, "watch"),
        ({"p": 0.2, "author_followers": 2_000_000}, "watch"),
        ({"predicted": 960.0, "author_verified": True}, "critical"),  # ... but raises a warning
        ({"predicted": 960.0, "author_verified_type": 3}, "critical"),  # a media account
        ({"predicted": 960.0, "author_followers": 2_000_000}, "critical"),  # a KOL
        ({"p": 0.2, "categories": ("safety",), "signals": ("media",)}, "warning"),  # one bump
        ({"p": 0.9, "categories": ("safety",)}, "critical"),  # never past critical
        ({"p": 0.05, "categories": ("safety",)}, None),  # never from nothing
        ({"p": 0.05, "observed": 300, "predicted": 960.0}, "warning"),  # predicted reach
        ({"p": 0.05, "observed": 300, "predicted": 900.0}, None),
    ],
)
def test_levels_from_the_shipped_rules_and_bumps(kw, level):
    assert decide_level(SHIPPED, ev(**kw))[0] == level


def test_the_escalation_reason_names_signals_in_words_not_codes():
    # the Signals field read 监管/法律 while the reason beside it read regulator_legal
    from alerts.levels import bump_reasons
    from nlp.lexicon import signal_label

    (reason,) = bump_reasons(ev(p=0.2, signals=("regulator_legal", "media")), "watch")
    assert "regulator_legal" not in reason
    for code in ("regulator_legal", "media"):
        assert signal_label(code, "zh") in reason and signal_label(code, "en") in reason


def test_a_level_rule_with_p_viral_and_velocity_pages_on_either():
    assert decide_level(CONFIG, ev(p=0.4))[0] == "warning"
    assert decide_level(CONFIG, ev(p=0.1, velocity=70))[0] == "warning"
    assert decide_level(CONFIG, ev(p=0.4, author_verified=True))[0] == "critical"


@pytest.mark.parametrize(
    ("age", "level"),
    [
        (0.5, "warning"),
        (16.0, "warning"),  # the configured limit itself still counts
        (16.5, None),  # later, a post predicted near the line is mostly a near miss
        (None, "warning"),  # age unknown: never silenced by a missing timestamp
    ],
)
def test_predicted_reach_rule_applies_to_young_posts_only(age, level):
    assert SHIPPED.levels.warning.predicted_max_age_hours == 16
    created = None if age is None else T0 - dt.timedelta(hours=age)
    late = ev(p=0.05, observed=300, predicted=960.0, created_at=created, estimated_at=T0)
    assert decide_level(SHIPPED, late)[0] == level
    # the critical level's P(viral) and velocity apply at any age
    assert decide_level(SHIPPED, replace(late, velocity_per_10min=150.0))[0] == "critical"
    assert decide_level(SHIPPED, replace(late, p_viral=0.7))[0] == "critical"


def test_incident_ids_are_stable_labels_and_reposts_join_their_root():
    first, _ = evaluate(CONFIG, None, ev(p=0.2, post_id="100"), T0)
    again, _ = evaluate(CONFIG, None, ev(p=0.9, post_id="100"), T0 + dt.timedelta(hours=3))
    assert first.incident_id == again.incident_id == incident_id("mumu", "weibo", "100")
    repost, _ = evaluate(CONFIG, None, ev(p=0.2, post_id="101", root_id="100"), T0)
    assert repost.incident_id == first.incident_id and repost.root_post_id == "100"
    assert incident_id("mumu", "wechat", "100") != first.incident_id


def test_related_posts_of_a_brand_and_category_group_into_one_incident():
    clock = ManualClock(T0)
    safety = {"categories": ("safety",)}
    a = ev(p=0.2, post_id="a", **safety)  # warning (bumped)
    groups = group_evidence(CONFIG, [], [a], clock.now())
    assert [(s, [e.post_id for e in evs]) for s, evs in groups] == [(None, ["a"])]
    state, events = evaluate(CONFIG, None, [a], clock.now())
    assert events == ["open"]

    clock.advance(dt.timedelta(hours=2))
    b = ev(p=0.7, post_id="b", observed=500, **safety)  # same brand + category: critical
    c = ev(p=0.2, post_id="c", categories=("refund",))  # another category: its own
    d = ev(p=0.7, post_id="d", brand="xingche", **safety)  # another brand: its own
    e = ev(p=0.01, post_id="e", **safety)  # warrants nothing and belongs nowhere
    groups = group_evidence(CONFIG, [state], [c, b, d, e], clock.now())
    by_id = {(s.incident_id if s else None): sorted(x.post_id for x in evs) for s, evs in groups}
    assert by_id[state.incident_id] == ["b"]
    new_groups = sorted(sorted(x.post_id for x in evs) for s, evs in groups if s is None)
    assert new_groups == [["c"], ["d"]]

    state, events = evaluate(CONFIG, state, [a, b], clock.now())
    assert events == ["escalate"] and state.level == "critical"
    assert state.lead.post_id == "b" and set(state.posts) == {"weibo:a", "weibo:b"}
    assert state.incident_id == incident_id("mumu", "weibo", "a")  # the thread stays

    clock.advance(dt.timedelta(hours=7))  # past the grouping window
    late = ev(p=0.2, post_id="f", **safety)
    stale = replace(state, updated_at=clock.now() - dt.timedelta(hours=6, minutes=1))
    groups = group_evidence(CONFIG, [stale], [late], clock.now())
    assert [(s, [x.post_id for x in evs]) for s, evs in groups if s is None] == [(None, ["f"])]


def test_posts_on_another_platform_do_not_join_an_incident():
    # routes match on the incident's platform: a critical WeChat article grouped into an
    # open Weibo incident was sent where Weibo incidents go, never to the WeChat route
    safety = {"categories": ("safety",)}
    state, _ = evaluate(CONFIG, None, ev(p=0.2, post_id="a", **safety), T0)
    article = ev(p=0.9, post_id="wx_1", platform="wechat", **safety)
    weibo = ev(p=0.9, post_id="b", **safety)
    groups = group_evidence(CONFIG, [state], [article, weibo], T0)
    by_id = {(s.incident_id if s else None): [x.post_id for x in evs] for s, evs in groups}
    assert by_id == {state.incident_id: ["b"], None: ["wx_1"]}
    groups = group_evidence(CONFIG, [], [article, weibo], T0)  # nor each other's new one
    assert sorted([x.post_id for x in evs] for _, evs in groups) == [["b"], ["wx_1"]]


def test_uncategorised_posts_do_not_group():
    state, _ = evaluate(CONFIG, None, ev(p=0.2, post_id="a"), T0)
    groups = group_evidence(CONFIG, [state], [ev(p=0.2, post_id="b")], T0)
    assert sorted(len(evs) for _, evs in groups) == [0, 1]
    assert [s for s, evs in groups if evs] == [None]


def test_only_complaints_alert_and_wechat_verification_does_not_escalate(world, clock):
    from alerts.stage import run_escalation

    config = load_config()
    world.post("1", categories=(), signals=(), complaint=False)  # negative, not a complaint
    assert run_escalation(world.engine, config, clock)["opened"] == 0
    # a WeChat article by a 认证 official account at warning (predicted reach 3 x 350, an
    # hour after posting): on Weibo a verified author would raise it to critical
    world.post(
        "2",
        platform="wechat",
        verified=True,
        observed=350,
        p=0.05,
        velocity=5.0,
        categories=("quality",),
        signals=(),
    )
    run_escalation(world.engine, config, clock)
    (incident,) = world.incidents()
    assert incident["platform"] == "wechat" and incident["level"] == "warning"
