"""Kernel, SEISMIC, the predictor's guarantees, tracking states and the predict contract."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from spread import seismic
from spread.cascades import CascadeFormatError, parse_cascade, read_cascades
from spread.cli import predict_main
from spread.kernel import Kernel, fit_kernel
from spread.model import Observation, Predictor
from spread.tracking import COOLING, DEAD, HOT, TRACK_MARGIN, TrackedPost, next_state

FIXTURE = Path(__file__).with_name("fixtures") / "cascades_sample.jsonl.gz"
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def test_fitted_kernel_is_a_distribution(tmp_path):
    hist = tmp_path / "hist.txt"
    hist.write_text("reaction_time（10s） rwd_count\n3 10\n1 50\n2 40\n", encoding="utf-8")
    delays, cdf = fit_kernel(hist)
    assert cdf[0] == 0 and cdf[-1] == pytest.approx(1.0)
    assert np.all(np.diff(cdf) >= 0)
    k = Kernel(delays, cdf)
    assert k(10) == pytest.approx(0.5) and k(1e9) == 1.0 and k(-5) == 0.0


def test_seismic_recovers_the_infectiousness_of_a_synthetic_cascade():
    # exponential kernel with mean 1 h; every post exposes 100 followers, p = 0.005
    grid = np.linspace(0, 7 * 86400, 5000)
    kernel = Kernel(grid, 1 - np.exp(-grid / 3600))
    rng = np.random.default_rng(0)
    p, n = 0.005, 100
    times = [0.0]
    frontier = [0.0]
    while frontier and len(times) < 20000:
        parent = frontier.pop()
        for _ in range(rng.poisson(p * n)):
            child = parent + rng.exponential(3600)
            times.append(child)
            frontier.append(child)
    times = np.sort(np.array(times))
    followers = np.full(len(times), float(n))
    t = 6 * 3600.0
    p_hat, _ = seismic.infectiousness(kernel, times, followers, t)
    assert p_hat == pytest.approx(p, rel=0.5)
    predicted, _ = seismic.predict(kernel, times, followers, t, 86400, n_star=n)
    assert predicted >= np.sum(times <= t) - 1


def _obs(times, followers=None, observe=3600.0, **kw):
    return Observation(
        created_at=T0,
        observe_at=T0 + observe,
        author_followers=kw.get("author_followers", 5000),
        repost_times=[T0 + t for t in times],
        repost_followers=followers or [300] * len(times),
        count_snapshots=kw.get("count_snapshots", []),
    )


def test_never_reads_past_the_observation_time(predictor):
    early = [60.0 * i for i in range(1, 50)]
    seen = predictor.predict(_obs(early))
    future = predictor.predict(_obs(early + [4000.0 + i for i in range(500)]))
    assert (seen.observed, seen.predicted, seen.p_viral) == (
        future.observed,
        future.predicted,
        future.p_viral,
    )


def test_estimates_are_ordered_and_grow_with_evidence(predictor):
    slow = predictor.predict(_obs([600.0 * i for i in range(1, 6)]))
    fast = predictor.predict(_obs([3.5 * i for i in range(1, 1000)]))
    for e in (slow, fast):
        assert e.observed <= e.low <= e.predicted <= e.high + 1e-9
        assert 0 <= e.p_viral <= 1
    assert fast.predicted > slow.predicted and fast.p_viral > slow.p_viral
    assert fast.velocity_per_10min > slow.velocity_per_10min


def test_edge_cases_do_not_break(predictor):
    nothing = predictor.predict(_obs([], author_followers=None))
    assert nothing.observed == 0 and nothing.predicted >= 0
    before = predictor.predict(_obs([], observe=-60.0))
    assert before.observed == 0
    viral = predictor.predict(_obs([1.0 * i for i in range(1, 1200)]))
    assert viral.p_viral == 1.0


def test_count_snapshots_alone_are_enough(predictor):
    snaps = [(T0 + 600 * i, 40 * i) for i in range(1, 7)]
    e = predictor.predict(_obs([], count_snapshots=snaps))
    assert e.observed == 240 and e.velocity_per_10min == pytest.approx(40)
    assert e.predicted > 240


def test_predict_contract_on_real_cascades(predictor):
    out = io.StringIO()
    assert predict_main(["--observe", "3600", str(FIXTURE)], out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    cascades = list(read_cascades(FIXTURE))
    assert [r["event_id"] for r in rows] == [c.event_id for c in cascades]
    for row, cascade in zip(rows, cascades, strict=True):
        assert set(row) == {"event_id", "observed", "predicted", "low", "high", "p_viral"}
        assert row["observed"] == cascade.count_before(3600)
        assert row["low"] <= row["predicted"] <= row["high"]
    truth = np.array([c.count_before(86400) for c in cascades])
    pred = np.array([r["predicted"] for r in rows])
    persistence = np.array([r["observed"] for r in rows])
    msle = lambda p: np.mean((np.log2(p + 1) - np.log2(truth + 1)) ** 2)  # noqa: E731
    assert msle(pred) < msle(persistence)


def test_predict_rejects_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as f:
        f.write('{"event_id": "1", "root": {}}\n')
    with pytest.raises(CascadeFormatError):
        parse_cascade('{"nope": 1}')
    assert predict_main(["--observe", "60", str(bad)], io.StringIO()) == 2
    assert predict_main(["--observe", "60", str(tmp_path / "missing.jsonl")], io.StringIO()) == 2


def test_tracking_states():
    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    post = TrackedPost(
        "weibo", "1", "mumu", HOT, now - dt.timedelta(hours=5), now - dt.timedelta(hours=2)
    )
    quiet, horizon = dt.timedelta(hours=3), dt.timedelta(hours=24)
    assert next_state(post, True, 0.0, now, quiet, horizon=horizon)[0] == HOT
    assert next_state(post, False, 0.5, now, quiet, horizon=horizon)[0] == HOT
    state, next_at, _ = next_state(post, False, 0.0, now, quiet, horizon=horizon)
    assert state == COOLING and next_at > now
    later = now + dt.timedelta(hours=1)
    assert next_state(post, False, 0.0, later, quiet, horizon=horizon)[0] == DEAD
    assert math.isfinite(0.0)


def test_a_post_its_refresh_did_not_reach_keeps_its_state_until_it_is_long_unmeasured():
    # estimated from old counts during an outage, a viral cascade read as stalled (P(viral)
    # 0.77 -> 0.12 in 2 h) and went cooling; now it is not a check: tried again next run
    from spread.tracking import unmeasured_state

    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    grew = now - dt.timedelta(hours=2)
    quiet, horizon = dt.timedelta(hours=24), dt.timedelta(hours=24)
    hot = TrackedPost("weibo", "1", "mumu", HOT, now - dt.timedelta(hours=5), grew)
    measured = now - dt.timedelta(hours=2)
    assert unmeasured_state(hot, now, measured, quiet, horizon=horizon) == (HOT, now, grew)
    cooling = TrackedPost("weibo", "1", "mumu", COOLING, hot.created_at, grew)
    state, next_at, last = unmeasured_state(cooling, now, measured, quiet, horizon=horizon)
    assert state == COOLING and next_at > now and last == grew
    gone = now - dt.timedelta(hours=24)  # a day without counts: deleted, most likely
    assert unmeasured_state(hot, now, gone, quiet, horizon=horizon)[0] == DEAD
    old = TrackedPost("weibo", "1", "mumu", HOT, now - horizon - TRACK_MARGIN, grew)
    assert unmeasured_state(old, now, measured, quiet, horizon=horizon)[0] == DEAD


def test_p_viral_keeps_a_post_hot_only_before_the_horizon_and_below_the_line():
    """A viral post's P(viral) is 1 for good and one repost resets the quiet timer, so an
    old viral post was polled every run forever."""
    now = dt.datetime(2026, 5, 11, 12, tzinfo=dt.UTC)
    quiet, horizon = dt.timedelta(hours=24), dt.timedelta(hours=24)

    def post(age_h):
        created = now - dt.timedelta(hours=age_h)
        return TrackedPost("weibo", "1", "mumu", HOT, created, now - dt.timedelta(hours=1))

    def state(age_h, grew, p, viral=False):
        return next_state(post(age_h), grew, p, now, quiet, horizon=horizon, viral=viral)[0]

    # young and still spreading: P(viral) or growth keeps it hot (alerts depend on it)
    assert state(5, True, 1.0, viral=True) == HOT
    assert state(5, False, 0.5) == HOT
    # over the line and flat, or past the horizon: followed on growth alone
    assert state(5, False, 1.0, viral=True) == COOLING
    assert state(30, False, 0.5) == COOLING
    assert state(30, True, 0.0) == HOT
    # past the horizon plus the margin: dropped, growing or not
    assert state(24 + TRACK_MARGIN.total_seconds() / 3600, True, 1.0, viral=True) == DEAD
    assert state(240, True, 1.0, viral=True) == DEAD


def test_predict_and_train_report_bad_files_in_one_line(tmp_path, capsys):
    """Unreadable cascade files are user errors (path, line, reason), never tracebacks."""
    from spread.train import main as train_main

    good = '{"event_id": "1", "root": {"created_at": 1, "followers": 10}, "posts": [[1, 2]]}\n'
    cases = {
        "null_root.jsonl": b'{"event_id": "1", "root": null, "posts": []}\n',
        "bad_byte.jsonl": b'{"event_id": "1", "root": {"text": "\xff"}, "posts": []}\n',
        "text_followers.jsonl": good.replace("10", '"abc"').encode(),
        "nan_delay.jsonl": good.replace("[1, 2]", '["NaN", 2]').encode(),
        "truncated.jsonl.gz": gzip.compress(good.encode() * 50)[:40],
        "not_gzip.jsonl.gz": b"x\n",
    }
    hist = tmp_path / "weibo_reaction_time_hist_10s.txt"
    hist.write_text("1 50\n2 40\n3 10\n", encoding="utf-8")
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        for run in (
            lambda path=path: predict_main(["--observe", "60", str(path)], io.StringIO()),
            lambda path=path: train_main([str(path), "--out", str(tmp_path / "m.joblib")]),
        ):
            assert run() == 2, name
            err = capsys.readouterr().err
            assert name in err and len(err.strip().splitlines()) == 1, err

    assert train_main([str(tmp_path / "nonexist")]) == 2
    assert f"no such file or folder: {tmp_path / 'nonexist'}" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    three = tmp_path / "three.jsonl"
    three.write_text(good.replace('"1"', '"2"') + good + good.replace('"1"', '"3"'))
    for path in (empty, three):  # none, or too few for the folds
        assert train_main([str(path), "--all", "--out", str(tmp_path / "m.joblib")]) == 2
        assert f"no usable cascades in {path}" in capsys.readouterr().err
    assert not (tmp_path / "m.joblib").exists()


def test_train_without_all_never_overwrites_the_committed_model(tmp_path, monkeypatch, capsys):
    """Without --all the hold-out quarter is left out: that is an evaluation model, never
    the committed one (`make model` passes --all, `make bench` --out)."""
    import spread.model
    from spread.train import main as train_main

    committed = tmp_path / "committed" / "spread.joblib"
    committed.parent.mkdir()
    committed.write_bytes(b"the committed model")
    monkeypatch.setattr(spread.model, "MODEL_PATH", committed)
    good = '{"event_id": "1", "root": {"created_at": 1, "followers": 10}, "posts": [[1, 2]]}\n'
    (tmp_path / "weibo_reaction_time_hist_10s.txt").write_text("1 50\n2 40\n", encoding="utf-8")
    three = tmp_path / "three.jsonl"
    three.write_text(good.replace('"1"', '"2"') + good + good.replace('"1"', '"3"'))
    for argv in ([], ["--without-tuning"], ["--out", str(committed)]):
        assert train_main([str(three), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert "--all" in err and "--out" in err and "committed model" in err, err
    assert committed.read_bytes() == b"the committed model"
    # with --out (an evaluation model) or --all (the committed one) it goes on to train
    for argv in (["--out", str(tmp_path / "eval.joblib")], ["--all"]):
        assert train_main([str(three), *argv]) == 2  # three events: too few to fit
        assert f"no usable cascades in {three}" in capsys.readouterr().err
