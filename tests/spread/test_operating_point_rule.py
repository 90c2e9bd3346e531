"""The written rule `bench/spread_eval.py --tune` uses to pick the alerting operating point."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "spread_eval.py"
_spec = importlib.util.spec_from_file_location("spread_eval", _PATH)
spread_eval = importlib.util.module_from_spec(_spec)
sys.modules["spread_eval"] = spread_eval  # dataclasses look their module up
_spec.loader.exec_module(spread_eval)
pick = spread_eval.pick_operating_point


def test_the_longest_lead_meeting_every_target_wins():
    rows = [
        (0.85, 12.0, 0.59, 0.97, 3.6),  # earliest, but precision too low
        (0.90, None, 0.66, 0.80, 3.2),  # catches too few
        (0.95, 16.0, 0.66, 0.99, 2.9),
        (1.00, 16.0, 0.70, 0.99, 2.4),  # lead too short
    ]
    assert pick(rows, 0.65)[:2] == (0.95, 16.0)
    assert pick(rows, 0.75) is None


def test_leads_within_one_decision_are_equal_and_precision_breaks_the_tie():
    rows = [
        (0.95, 12.0, 0.657, 0.97, 2.651),
        (0.95, 16.0, 0.660, 0.99, 2.647),  # 15 s shorter: the same lead, better precision
        (0.95, None, 0.645, 1.00, 2.651),
    ]
    assert pick(rows, 0.65)[:2] == (0.95, 16.0)
    rows.append((0.90, 12.0, 0.651, 0.97, 2.75))  # 6 minutes earlier: a real gain
    assert pick(rows, 0.65)[:2] == (0.90, 12.0)


@pytest.mark.parametrize("lead", [float("nan"), 2.49])
def test_no_lead_or_a_short_one_never_qualifies(lead):
    assert pick([(0.95, None, 0.9, 1.0, lead)], 0.6) is None


def test_the_committed_config_is_the_documented_operating_point():
    from yujing.config import load_config

    warning = load_config().levels.warning
    viral = load_config().thresholds.viral_reposts
    assert warning.predicted_reposts == spread_eval.OPERATING_SHARE * viral
    assert warning.predicted_max_age_hours == spread_eval.OPERATING_MAX_AGE_H


def _cascade(followers=500, verified=False):
    return SimpleNamespace(created_at=1.3e9, root_followers=followers, root_verified=verified)


def _estimate(p=0.1, velocity=5.0, predicted=100.0):
    return SimpleNamespace(p_viral=p, velocity_per_10min=velocity, predicted=predicted)


@pytest.mark.parametrize(
    ("cascade", "hours", "estimate", "level"),
    [
        (_cascade(), 1, _estimate(), None),
        (_cascade(), 1, _estimate(p=0.2), "watch"),  # outbox only
        (_cascade(), 1, _estimate(velocity=70), "watch"),  # velocity does not page
        (_cascade(verified=True), 1, _estimate(p=0.2), "watch"),  # nor does the author alone
        (_cascade(), 1, _estimate(predicted=960), "warning"),  # the operating point pages
        (_cascade(), 17, _estimate(predicted=960), None),  # ... for posts up to 16 h old
        (_cascade(followers=2_000_000), 1, _estimate(predicted=960), "critical"),  # a KOL
        (_cascade(), 20, _estimate(p=0.7), "critical"),
    ],
)
def test_the_bench_replays_the_pipelines_levels(cascade, hours, estimate, level):
    from alerts.levels import rank

    assert spread_eval.pipeline_rank(cascade, hours * 3600, estimate) == rank(level)
