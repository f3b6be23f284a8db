"""Value at risk and expected shortfall of a series of periodic returns or P&L.

Losses are positive. At confidence ``c``, VaR is the loss exceeded in a share ``1 - c`` of
periods and ES (expected shortfall) the mean loss in those periods, over one period of the
series (no scaling to longer horizons). The figures are in the series' own unit: fractions for
returns, paise or rupees for a P&L series. They are not clipped at zero: a negative VaR says
that even the tail is a gain. NaN observations are dropped first; a series with nothing left
(or fewer than two observations, for the parametric method) gives NaN. With ``x`` the ``n``
observations sorted ascending:

    historical   VaR = -q, q the (1 - c) quantile of x interpolated linearly between the order
                 statistics at position (n - 1)(1 - c) (numpy's default ``linear`` method, as
                 empyrical's ``value_at_risk`` and the guardrails' historical VaR use);
                 ES = -mean(x_0 .. x_k), k = floor((n - 1)(1 - c)): the observations up to the
                 quantile's position (empyrical's ``conditional_value_at_risk``). Since
                 x_k <= q, ES >= VaR (held exactly against rounding).
    parametric   normal with the sample mean mu and sample standard deviation sd (ddof=1; 0
                 when all observations are equal, so that VaR = ES = -mu):
                 VaR = -(mu + z_(1-c) sd), ES = -(mu - sd phi(z_c) / (1 - c)), z_p the
                 standard normal p-quantile and phi its density.
    monte_carlo  the historical estimators over N scenarios bootstrapped from the observations
                 (see `monte_carlo_tail_risk`).

Randomness comes only from the `seed` given (an int, a SeedSequence or a Generator): the same
seed gives the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import polars as pl

from sim.analytics.performance import returns_array, sample_std

DEFAULT_CONFIDENCES = (0.95, 0.99)
DEFAULT_SCENARIOS = 100_000


class TailRisk(NamedTuple):
    """VaR and expected shortfall at one confidence, as positive losses."""

    var: float
    es: float


_UNKNOWN = TailRisk(math.nan, math.nan)


def _observations(series) -> np.ndarray:
    values = returns_array(series)
    return values[~np.isnan(values)]


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")


def _historical(observations: np.ndarray, confidence: float) -> TailRisk:
    if len(observations) == 0:
        return _UNKNOWN
    tail = 1 - confidence
    quantile = np.percentile(observations, 100 * tail)
    last = int((len(observations) - 1) * tail)
    worst = np.partition(observations, last)[: last + 1]
    var = -float(quantile)
    # The tail lies at or below the quantile, but the mean of equal values can round an ulp
    # past them: hold ES >= VaR exactly.
    return TailRisk(var, max(-float(worst.mean()), var))


def _parametric(observations: np.ndarray, confidence: float) -> TailRisk:
    if len(observations) < 2:
        return _UNKNOWN
    mean, sd = float(observations.mean()), sample_std(observations)
    normal = NormalDist()
    z = normal.inv_cdf(confidence)  # z_(1-c) = -z_c
    return TailRisk(-(mean - z * sd), -(mean - sd * normal.pdf(z) / (1 - confidence)))


def _bootstrap(observations: np.ndarray, scenarios: int, seed) -> np.ndarray:
    if isinstance(scenarios, bool) or not isinstance(scenarios, Integral) or scenarios < 1:
        raise ValueError(f"scenarios must be a positive integer (got {scenarios!r})")
    if len(observations) == 0:
        return observations
    return np.random.default_rng(seed).choice(observations, size=scenarios, replace=True)


def historical_tail_risk(series, confidence: float) -> TailRisk:
    """VaR and ES of the observed distribution (see the module docstring)."""
    _check_confidence(confidence)
    return _historical(_observations(series), confidence)


def parametric_tail_risk(series, confidence: float) -> TailRisk:
    """VaR and ES of a normal distribution with the series' sample mean and deviation."""
    _check_confidence(confidence)
    return _parametric(_observations(series), confidence)


def monte_carlo_tail_risk(
    series, confidence: float, *, seed, scenarios: int = DEFAULT_SCENARIOS
) -> TailRisk:
    """VaR and ES over `scenarios` draws, with replacement, from the observations.

    Bootstrap rather than a fitted Student-t: a strategy's returns on bonds are skewed and
    lumpy (flat periods, coupon days, a default's jump), which a symmetric t cannot take, and
    fitting one needs an optimiser whose degrees of freedom wander on a short series and fail
    on a constant one. Resampling assumes nothing of the shape and cannot fail. The price: no
    scenario is worse than the worst observation, and as `scenarios` grows the figures tend to
    the historical ones (but for the interpolation between two observations), so the gap
    between the two is sampling noise, not a second opinion on the tail.
    """
    _check_confidence(confidence)
    return _historical(_bootstrap(_observations(series), scenarios, seed), confidence)


def var_table(
    series,
    confidences: Sequence[float] = DEFAULT_CONFIDENCES,
    *,
    seed,
    scenarios: int = DEFAULT_SCENARIOS,
) -> pl.DataFrame:
    """VaR and ES by every method at every confidence: one row per (method, confidence), in
    the order historical, parametric, monte_carlo and then `confidences`, with columns method,
    confidence, var and es.

    The Monte Carlo rows share one set of draws, the same `monte_carlo_tail_risk` makes with
    an equal int or SeedSequence `seed`.
    """
    for confidence in confidences:
        _check_confidence(confidence)
    observations = _observations(series)
    draws = _bootstrap(observations, scenarios, seed)
    estimators = (
        ("historical", _historical, observations),
        ("parametric", _parametric, observations),
        ("monte_carlo", _historical, draws),
    )
    rows = [
        (method, float(confidence), *estimate(sample, confidence))
        for method, estimate, sample in estimators
        for confidence in confidences
    ]
    return pl.DataFrame(
        rows,
        schema={
            "method": pl.String,
            "confidence": pl.Float64,
            "var": pl.Float64,
            "es": pl.Float64,
        },
        orient="row",
    )
