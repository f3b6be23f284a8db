"""The smallest buffer share that reaches a target absorption, and its confidence interval.

Over a grid of shares s_0 < s_1 < ... and a set of seeds (each a replication of the market,
the same seed at every share: common random numbers), a metric's mean over seeds at each share
is a curve m(s). Its crossing of the target t is the smallest share where the curve, joined
linearly between grid points, reaches t:

    the first i with m(s_i) >= t;  s_0 if i = 0;  else
    s_{i-1} + (t - m(s_{i-1})) / (m(s_i) - m(s_{i-1})) * (s_i - s_{i-1})

and infinity when the curve never reaches t on the grid (a share beyond the grid's last).
A missing value at a share (a seed whose run had no exits) is left out of that share's mean.

The confidence interval is the percentile bootstrap over seeds: whole seeds are drawn with
replacement, so each resample keeps a seed's curve across shares together, and the crossing of
each resample's mean curve is found as above; the interval is the (1 - c)/2 and (1 + c)/2
quantiles of those crossings. Seeds are the study's independent replications, so this is the
uncertainty a product team cares about: where the mean curve crosses the target had the market
been drawn again. An interval bound at infinity says that more than that share of resamples
never reached the target on the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Crossing:
    """The smallest share reaching `target` on the mean curve (inf: never on the grid), its
    bootstrap interval, and the share of resamples whose curve reached the target at all."""

    target: float
    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    reached: float  # of the bootstrap resamples
    seeds: int

    def to_dict(self) -> dict:
        def number(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "target": self.target,
            "estimate": number(self.estimate),
            "ci_low": number(self.low),
            "ci_high": number(self.high),
            "confidence": self.confidence,
            "resamples": self.resamples,
            "reached": self.reached,
            "seeds": self.seeds,
        }


def smallest_share(shares: np.ndarray, curve: np.ndarray, target: float) -> float:
    """Where the piecewise-linear `curve` over increasing `shares` first reaches `target`
    (module docstring); inf when it never does. NaN points never count as reaching it."""
    shares, curve = np.asarray(shares, float), np.asarray(curve, float)
    above = np.flatnonzero(curve >= target)  # NaN compares False
    if not above.size:
        return math.inf
    i = int(above[0])
    if i == 0:
        return float(shares[0])
    below = curve[i - 1]
    if not math.isfinite(below):
        return float(shares[i])
    step = (target - below) / (curve[i] - below)
    return float(shares[i - 1] + step * (shares[i] - shares[i - 1]))


def crossing(
    shares: np.ndarray,
    values: np.ndarray,
    target: float,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Crossing:
    """The crossing of `values` (seeds x shares; NaN where missing) and its percentile
    bootstrap interval over seeds (module docstring)."""
    shares = np.asarray(shares, float)
    values = np.asarray(values, float)
    if values.ndim != 2 or values.shape[1] != shares.size:
        raise ValueError(f"values: expected seeds x {shares.size} shares, got {values.shape}")
    if np.any(np.diff(shares) <= 0):
        raise ValueError("shares: expected increasing values")
    estimate = smallest_share(shares, _mean(values), target)
    rng = np.random.default_rng(seed)
    seeds = values.shape[0]
    draws = rng.integers(seeds, size=(resamples, seeds))
    found = np.array([smallest_share(shares, _mean(values[row]), target) for row in draws])
    tail = (1 - confidence) / 2
    # Quantiles with infinities in the sample: "inverted_cdf" picks an element, never inf - inf.
    low, high = np.quantile(found, [tail, 1 - tail], method="inverted_cdf")
    return Crossing(
        target,
        estimate,
        float(low),
        float(high),
        confidence,
        resamples,
        float(np.isfinite(found).mean()),
        seeds,
    )


def _mean(values: np.ndarray) -> np.ndarray:
    """Per share, the mean over seeds with a value (NaN where none has one)."""
    counts = np.sum(np.isfinite(values), axis=0)
    sums = np.nansum(values, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
