"""SEISMIC (Zhao et al., KDD 2015): a self-exciting point process for repost cascades.

Each post (the original and every repost) exposes its author's followers n_i to the
content, with a delay distribution given by the memory kernel Φ (Weibo's own, see
spread/kernel.py). The cascade's infectiousness p̂ is the reposts seen per unit of
exposure realised so far,

    p̂(t) = R_t / Σ_i n_i Φ(t - t_i),

and the reposts still to come by the horizon T are p̂ times the exposure still to come,
Σ_i n_i (Φ(T - t_i) - Φ(t - t_i)), amplified by the cascade's own branching 1 / (1 - p̂ n*)
(each future repost exposes n* more users on average):

    R̂_T = R_t + p̂ Σ_i n_i (Φ(T - t_i) - Φ(t - t_i)) / (1 - p̂ n*).

A supercritical estimate (p̂ n* ≥ 1) would mean an infinite cascade; real ones saturate,
so the branching factor is capped. `summary` also gives a recent-window p̂ (reposts and
exposure of the last max(t/2, 30 min) only), which reacts faster to a cascade speeding up
or dying down; the learned model uses both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spread.kernel import Kernel

MAX_BRANCHING = 0.9


@dataclass(frozen=True)
class Summary:
    p_hat: float
    p_recent: float
    predicted: float
    predicted_recent: float
    exposure: float
    remaining: float
    branching: float


def infectiousness(
    kernel: Kernel, times: np.ndarray, followers: np.ndarray, t: float
) -> tuple[float, float]:
    """(p̂, exposure) at time t: reposts per unit of exposure realised so far.

    `times[0]`/`followers[0]` are the original post; events after t are ignored.
    """
    times = np.asarray(times, dtype=float)
    followers = np.asarray(followers, dtype=float)
    seen = times <= t
    exposure = float(np.sum(followers[seen] * kernel(t - times[seen])))
    reposts = max(int(seen.sum()) - 1, 0)
    if exposure <= 0:
        return 0.0, 0.0
    return reposts / exposure, exposure


def predict(
    kernel: Kernel,
    times: np.ndarray,
    followers: np.ndarray,
    t: float,
    horizon: float,
    n_star: float,
    gamma: float = 1.0,
) -> tuple[float, float]:
    """(expected reposts by `horizon`, p̂). `times`/`followers` start with the original."""
    s = summary(kernel, times, followers, t, horizon, n_star, gamma)
    return s.predicted, s.p_hat


def summary(
    kernel: Kernel,
    times: np.ndarray,
    followers: np.ndarray,
    t: float,
    horizon: float,
    n_star: float,
    gamma: float = 1.0,
) -> Summary:
    times = np.asarray(times, dtype=float)
    followers = np.asarray(followers, dtype=float)
    seen = times <= t
    ts, fs = times[seen], followers[seen]
    reposts = max(len(ts) - 1, 0)
    phi_now = kernel(t - ts)
    exposure = float(np.sum(fs * phi_now))
    p_hat = reposts / exposure if exposure > 0 else 0.0
    remaining = float(np.sum(fs * (kernel(horizon - ts) - phi_now))) if horizon > t else 0.0

    window = max(t / 2.0, 1800.0)
    start = t - window
    recent_reposts = float(np.sum(ts[1:] > start))
    recent_exposure = float(np.sum(fs * (phi_now - kernel(start - ts))))
    p_recent = recent_reposts / recent_exposure if recent_exposure > 0 else 0.0

    branching = gamma * p_hat * n_star
    amplify = 1.0 / (1.0 - min(branching, MAX_BRANCHING))
    amplify_recent = 1.0 / (1.0 - min(gamma * p_recent * n_star, MAX_BRANCHING))
    return Summary(
        p_hat=p_hat,
        p_recent=p_recent,
        predicted=reposts + p_hat * remaining * amplify,
        predicted_recent=reposts + p_recent * remaining * amplify_recent,
        exposure=exposure,
        remaining=remaining,
        branching=branching,
    )
