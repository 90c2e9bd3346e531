"""The simulator: deterministic from its seed, and its default incidents behave as their
scenarios promise (what `make run`, the demo and the e2e test rely on)."""

from __future__ import annotations

import datetime as dt

from simulator.server import Simulator
from yujing.clock import ManualClock
from yujing.config import load_config

CONFIG = load_config()
START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def _world(seed: int):
    sim = Simulator(CONFIG, seed=seed, clock=ManualClock(START))
    sim.stop()  # only the generated story is needed, not the server
    return sim


def _fingerprint(sim) -> list[tuple]:
    return [
        (p.platform, p.post_id, p.text, p.kind, tuple(p.repost_story_times[:50])) for p in sim.posts
    ]


def test_the_same_seed_gives_the_same_story():
    assert _fingerprint(_world(7)) == _fingerprint(_world(7))
    assert _fingerprint(_world(7)) != _fingerprint(_world(8))


def test_the_default_incidents_follow_their_scenarios():
    sim = _world(0)
    incidents = {p.scenario: p for p in sim.posts if p.kind == "incident"}
    assert set(incidents) == {"viral", "fizzle", "slow"}

    viral = incidents["viral"]
    crossed_h = (viral.repost_story_times[999] - viral.story_at) / 3600
    assert 1.25 <= crossed_h <= 4  # goes viral within a few story hours

    fizzle = incidents["fizzle"]
    assert len(fizzle.repost_story_times) <= 300  # bursts, then dies

    slow = incidents["slow"]
    early = sum(1 for t in slow.repost_story_times if t - slow.story_at < 3 * 3600)
    late = sum(1 for t in slow.repost_story_times if t - slow.story_at < 12 * 3600)
    assert early < 60 <= 400 <= late  # starts slowly, takes off hours later

    # the brand answers the fizzle and (late) the slow one; only a look-alike comments
    # under the viral one (brand response tracking reads these)
    assert list(fizzle.special_comments.values()) == ["official"]
    assert list(slow.special_comments.values()) == ["official"]
    assert list(viral.special_comments.values()) == ["impostor"]


def test_incident_texts_read_as_complaints_to_the_scorer():
    from nlp.scorer import scorer_for_config

    sim = _world(0)
    texts = [p.text for p in sim.posts if p.kind == "incident"]
    scores = scorer_for_config(CONFIG).score_batch(texts)
    assert all(s.negative and s.complaint for s in scores), [
        (t[:40], s) for t, s in zip(texts, scores, strict=True)
    ]
