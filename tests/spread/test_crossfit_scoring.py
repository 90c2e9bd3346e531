"""How bench/spread_crossfit.py scores a rule: first alerts, precision, caught, lead."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

_BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(_BENCH))  # the bench imports spread_eval beside it
_spec = importlib.util.spec_from_file_location("spread_crossfit", _BENCH / "spread_crossfit.py")
crossfit = importlib.util.module_from_spec(_spec)
sys.modules["spread_crossfit"] = crossfit
_spec.loader.exec_module(crossfit)


def _path(reach, viral, cross=math.inf):
    ts = np.arange(1, len(reach) + 1) * 300.0
    return {"ts": ts, "reach": np.array(reach, dtype=float), "viral": viral, "cross": cross}


def test_first_alert_is_the_first_decision_over_the_line():
    paths = [_path([100, 960, 2000], True, cross=3000.0), _path([100, 200], False)]
    first = crossfit.first_alerts(paths, lambda p: p["reach"] >= 950)
    assert first[0] == 600.0 and math.isnan(first[1])


def test_score_counts_precision_caught_before_the_line_and_median_lead():
    first = np.array([600.0, 7200.0, np.nan, 300.0, 900.0])
    viral = np.array([True, True, True, False, False])
    cross = np.array([4200.0, 3600.0, 5000.0, np.inf, np.inf])
    alerts, precision, caught, lead = crossfit.score(first, viral, cross)
    assert alerts == 4
    assert precision == 0.5  # 2 of 4 alerts were viral
    assert caught == 1 / 3  # one alert came after its cascade crossed, one never came
    assert lead == 1.0  # (4200 - 600) s


def test_a_rule_that_never_alerts_scores_nan_not_an_error():
    alerts, precision, caught, lead = crossfit.score(
        np.full(2, np.nan), np.array([True, False]), np.array([1.0, np.inf])
    )
    assert alerts == 0 and caught == 0 and math.isnan(precision) and math.isnan(lead)
