"""Weibo's own repost memory kernel, fitted from ~8.5 million real repost delays.

SEISMIC needs the distribution of the delay between a post (or repost) and the reposts
it triggers. Twitter's published kernel (constant for 5 minutes, then a power law) is
the wrong shape for Weibo, so the kernel here is the empirical delay distribution of
Weibo reposts (10-second bins over 7 days), kept as its cumulative distribution on
log-spaced points and interpolated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SEVEN_DAYS = 7 * 86400.0


def fit_kernel(hist_path: Path, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(delays_s, cdf) from the `bin count` histogram file (10 s bins, any order)."""
    rows = []
    with open(hist_path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                rows.append((int(parts[0]), int(parts[1])))
    if not rows:
        raise ValueError(f"{hist_path}: no `bin count` rows")
    bins = np.array(sorted(rows))
    upper = bins[:, 0].astype(float) * 10.0  # bin k covers ((k-1)*10, k*10] seconds
    cdf = np.cumsum(bins[:, 1]) / bins[:, 1].sum()
    grid = np.unique(np.r_[0.0, np.geomspace(10.0, min(upper[-1], SEVEN_DAYS), points)])
    return grid, np.interp(grid, np.r_[0.0, upper], np.r_[0.0, cdf])


class Kernel:
    """Φ(s): the share of a post's eventual reposts that arrive within s seconds."""

    def __init__(self, delays: np.ndarray, cdf: np.ndarray):
        self.delays = np.asarray(delays, dtype=float)
        self.cdf = np.asarray(cdf, dtype=float)

    def __call__(self, seconds) -> np.ndarray:
        return np.interp(np.maximum(seconds, 0.0), self.delays, self.cdf, right=1.0)
