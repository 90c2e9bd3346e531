"""Predicting a post's reach: reposts at the horizon (24 h), an 80% interval, P(viral).

Three layers, each usable alone and compared in `bench/spread_eval.py`:
- log-linear (Szabo & Huberman): log reposts at the horizon = log reposts now + β(age),
  with a Gaussian residual of spread σ(age) for its P(viral);
- SEISMIC with Weibo's own memory kernel (spread/seismic.py, spread/kernel.py);
- gradient boosting (sklearn HistGradientBoosting) over both plus timing, circadian and
  reach features (spread/features.py): a regressor for log growth to the horizon, quantile
  regressors for the 80% interval (conformally widened on out-of-fold residuals), and a
  classifier for "reaches the viral line", calibrated by isotonic regression on
  out-of-fold scores.

The committed model is trained for a 24 h horizon and a 1,000-repost line. Other lines use
the out-of-fold residual distribution around the predicted growth; other horizons scale
the predicted growth by the share of SEISMIC's remaining exposure that falls before the
horizon. The same model serves a full repost timeline (Weibo), a timeline without
followers, or count snapshots alone (WeChat 在看, or Weibo without its timeline).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from spread import seismic
from spread.features import FEATURES, View, feature_row, seismic_inputs, view
from spread.kernel import Kernel

MODEL_PATH = Path(__file__).with_name("models") / "spread.joblib"
FORMAT = 2


@dataclass
class Observation:
    """What is known about a post's spread at `observe_at` (unix seconds), nothing later."""

    created_at: float
    observe_at: float
    author_followers: int | None = None
    author_verified: bool = False
    repost_times: list[float] = field(default_factory=list)
    repost_followers: list[int] = field(default_factory=list)
    count_snapshots: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class Estimate:
    observed: int
    predicted: float
    low: float
    high: float
    p_viral: float
    velocity_per_10min: float
    model_version: str


def observed_and_velocity(obs: Observation) -> tuple[int, float]:
    """Reposts seen so far and reposts in the last 10 minutes before `observe_at`."""
    v = view(obs)
    return v.observed, v.last10


def _bucket(edges: np.ndarray, age_h: float) -> int:
    return int(np.searchsorted(edges, age_h, side="right"))


class Predictor:
    """Loads the committed model; `predict_many` is what the spread stage calls."""

    def __init__(self, artifact: dict, version: str, horizon_s: float = 86400.0, viral=1000):
        if artifact.get("format", 1) != FORMAT or tuple(artifact["features"]) != FEATURES:
            raise ValueError("spread model file is from another version: run yujing train-spread")
        self.artifact = artifact
        self.kernel = Kernel(artifact["kernel_delays"], artifact["kernel_cdf"])
        self.n_star = float(artifact["n_star"])
        self.trained_horizon = float(artifact["horizon_s"])
        self.trained_viral = int(artifact["viral"])
        self.horizon_s = float(horizon_s)
        self.viral = int(viral)
        self.model_version = version
        # OpenMP threads for the tree models; None = the library default (bench only)
        self.threads: int | None = 1

    @classmethod
    def load(cls, horizon_s: float = 86400.0, viral: int = 1000, path: Path = MODEL_PATH):
        """The committed model (no network, no data folder needed)."""
        artifact, version = _load(Path(path))
        return cls(artifact, version, horizon_s, viral)

    @property
    def train_events(self) -> frozenset[str]:
        """Event ids the model was fitted on (the benchmark evaluates on the others)."""
        return frozenset(self.artifact.get("train_events", ()))

    # --- the baselines ----------------------------------------------------------------
    def _loglinear(self, v: View) -> tuple[float, float]:
        ages, betas, sigmas = self.artifact["loglinear"]
        x = math.log(v.age / 3600.0)
        lx = np.log(ages)
        return float(np.interp(x, lx, betas)), float(np.interp(x, lx, sigmas))

    def loglinear_prediction(self, obs: Observation) -> float:
        """Szabo–Huberman: log1p(reposts at 24 h) = log1p(reposts now) + β(age)."""
        v = view(obs)
        beta, _ = self._loglinear(v)
        return max(math.expm1(math.log1p(v.observed) + beta), float(v.observed))

    def loglinear_p_viral(self, obs: Observation) -> float:
        v = view(obs)
        if v.observed >= self.viral:
            return 1.0
        beta, sigma = self._loglinear(v)
        z = (math.log1p(self.viral) - math.log1p(v.observed) - beta) / max(sigma, 1e-3)
        return float(0.5 * math.erfc(z / math.sqrt(2)))

    def seismic_prediction(self, obs: Observation) -> tuple[float, float]:
        """Plain SEISMIC: (expected reposts at the horizon, infectiousness p̂)."""
        v = view(obs)
        times, fol = seismic_inputs(v)
        predicted, p_hat = seismic.predict(
            self.kernel, times, fol, v.age, self.horizon_s, self.n_star
        )
        return max(predicted, float(v.observed)), p_hat

    def features(self, obs: Observation) -> list[float]:
        return feature_row(view(obs), self.kernel, self.n_star, self.trained_horizon)[0]

    # --- the production estimate ------------------------------------------------------
    def predict(self, obs: Observation) -> Estimate:
        return self.predict_many([obs])[0]

    def predict_many(self, observations: list[Observation]) -> list[Estimate]:
        if not observations:
            return []
        a = self.artifact
        views = [view(o) for o in observations]
        X = np.array(
            [feature_row(v, self.kernel, self.n_star, self.trained_horizon)[0] for v in views],
            dtype=float,
        )
        default_p = self.horizon_s == self.trained_horizon and self.viral == self.trained_viral
        # one OpenMP thread: alone it is as fast, but beside another busy process (other
        # tasks on the same worker) the default threads spin-wait (bench/spread_threads.py)
        with threadpool_limits(self.threads):
            mid = np.maximum(a["mid"].predict(X), 0.0)
            lo = a["q10"].predict(X)
            hi = a["q90"].predict(X)
            if default_p:
                raw = a["classifier"].predict_proba(X)[:, 1]
                p_cls = a["calibration"].predict(raw)
        edges, lo_adj, hi_adj = a["interval_adjust"]
        results = []
        for i, v in enumerate(views):
            b = _bucket(edges, v.age / 3600.0)
            m = float(mid[i])
            low_g = min(max(float(lo[i]) - lo_adj[b], 0.0), m)
            high_g = max(float(hi[i]) + hi_adj[b], m)
            base = math.log1p(v.observed)
            predicted, low, high = (math.expm1(base + g) for g in (m, low_g, high_g))
            if v.age >= self.horizon_s:
                # the horizon has passed: its reach is what was seen, not more modelled growth
                # (the tree model knows no horizon, and a predicted-reach rule would fire)
                predicted = low = high = float(v.observed)
            elif (scale := self._horizon_scale(v)) != 1.0:
                predicted, low, high = (
                    v.observed + (x - v.observed) * scale for x in (predicted, low, high)
                )
            if v.observed >= self.viral:
                p = 1.0
            elif v.age >= self.horizon_s:
                p = 0.0
            elif default_p:
                p = float(p_cls[i])
            else:
                growth = math.log1p(predicted) - base
                p = self._residual_p(b, math.log1p(self.viral) - base - growth)
            results.append(
                Estimate(
                    observed=v.observed,
                    predicted=float(predicted),
                    low=float(low),
                    high=float(high),
                    p_viral=float(min(max(p, 0.0), 1.0)),
                    velocity_per_10min=float(v.last10),
                    model_version=self.model_version,
                )
            )
        return results

    def _horizon_scale(self, v: View) -> float:
        """Growth to `horizon_s` relative to growth to the trained horizon (1 when equal)."""
        if self.horizon_s == self.trained_horizon:
            return 1.0
        if v.age >= self.horizon_s:
            return 0.0
        times, fol = seismic_inputs(v)
        phi_now = self.kernel(v.age - times)
        wanted = float(np.sum(fol * (self.kernel(self.horizon_s - times) - phi_now)))
        trained = float(np.sum(fol * (self.kernel(self.trained_horizon - times) - phi_now)))
        if trained <= 0:
            return 1.0 if self.horizon_s > self.trained_horizon else 0.0
        return wanted / trained

    def _residual_p(self, bucket: int, gap: float) -> float:
        """P(log growth residual ≥ gap) from the out-of-fold residuals of that age bucket."""
        levels, table = self.artifact["residuals"]
        q = table[min(bucket, len(table) - 1)]
        return float(1.0 - np.interp(gap, q, levels, left=0.0, right=1.0))


@cache
def _load(path: Path) -> tuple[dict, str]:
    import joblib

    data = path.read_bytes()
    return joblib.load(path), "gbm-" + hashlib.sha256(data).hexdigest()[:10]
