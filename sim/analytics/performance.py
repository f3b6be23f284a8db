"""Performance of a strategy from its periodic simple returns, by empyrical-reloaded's conventions.

Returns are simple (not log) and non-cumulative, one per period: 0.01 is a 1% gain over the
period. `periods_per_year` annualises them (252 for daily data, 12 for monthly, ...). Every
function accepts a numpy array, a list or a polars Series (nulls read as NaN) and returns a
Python float, except `drawdown_series`.

Formulas, with ``n`` the number of periods (NaN periods included) and ``P`` `periods_per_year`:

    total_return       prod(1 + r) - 1
    annual_return      (1 + total_return) ** (P / n) - 1                (CAGR)
    annual_volatility  std(r, ddof=1) * sqrt(P)
    sharpe_ratio       mean(r - rf) / std(r - rf, ddof=1) * sqrt(P)     rf per period
    downside_deviation sqrt(mean(min(r - m, 0) ** 2)) * sqrt(P), m the required return per
                       period: every period counts in the mean, not only the losing ones
    sortino_ratio      mean(r - m) * P / downside_deviation
    drawdown_series    W_t / max(1, W_1, ..., W_t) - 1, with W_t = prod_{s<=t}(1 + r_s): the
                       wealth index starts at 1, so a first losing period is a drawdown
    max_drawdown       min(drawdown_series) (zero or negative)
    calmar_ratio       annual_return / |max_drawdown|
    hit_rate           periods with r > 0 / periods with r != 0 (flat periods, when a strategy
                       held nothing or nothing moved, are neither hits nor misses)

Edge cases follow empyrical (``empyrical.stats``) and give no warnings:

- NaN periods are missing returns: they compound as 0 (in total and annual return, drawdown),
  count in ``n`` for annualising, and are skipped in means and deviations (and hit rate);
- an empty series gives NaN everywhere (its drawdown series is empty); volatility, Sharpe
  and Sortino need two periods and give NaN with fewer;
- zero dispersion divides by zero: Sharpe is +inf or -inf when every excess return is the same
  non-zero value and NaN when they are all zero; Sortino is +inf without a period below the
  required return (NaN when the mean excess is zero too);
- Calmar is NaN without a drawdown, or when the ratio would be infinite;
- annual return is NaN when the wealth index ends below zero (a return below -100%).
"""

from __future__ import annotations

import math

import numpy as np

DAILY_PERIODS_PER_YEAR = 252


def returns_array(returns) -> np.ndarray:
    """`returns` (a numpy array, a list or a polars Series) as a 1-D float64 array, NaN for
    missing values."""
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"returns must be one-dimensional (got shape {values.shape})")
    return values


def _check_periods_per_year(periods_per_year: float) -> None:
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive (got {periods_per_year!r})")


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def sample_std(values) -> float:
    """Sample standard deviation (ddof=1) of the values present; NaN with fewer than two of
    them, and exactly 0 when they are all equal (a mean off by one ulp would otherwise leave
    ~1e-17)."""
    present = _present(returns_array(values))
    if len(present) < 2:
        return math.nan
    if present.min() == present.max():
        return 0.0
    return float(np.std(present, ddof=1))


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator as numpy divides floats: x/0 is ±inf and 0/0 or NaN is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(numerator) / np.float64(denominator))


def _mean(values: np.ndarray) -> float:
    present = _present(values)
    return float(present.mean()) if len(present) else math.nan


def total_return(returns) -> float:
    """Compounded return over the whole series (NaN periods count as 0)."""
    values = returns_array(returns)
    if len(values) == 0:
        return math.nan
    return float(np.nanprod(values + 1) - 1)


def annual_return(returns, periods_per_year: float = DAILY_PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate: the total return spread evenly over ``n / P`` years."""
    _check_periods_per_year(periods_per_year)
    values = returns_array(returns)
    if len(values) == 0:
        return math.nan
    years = len(values) / periods_per_year
    ending_value = np.nanprod(values + 1)
    # A wealth index below zero has no real root (NaN), and a short series of large gains can
    # overflow (inf): both as numpy gives them, without its warnings.
    with np.errstate(invalid="ignore", over="ignore"):
        return float(ending_value ** (1 / years) - 1)


def annual_volatility(returns, periods_per_year: float = DAILY_PERIODS_PER_YEAR) -> float:
    """Sample standard deviation of the returns (ddof=1), scaled by sqrt(P)."""
    _check_periods_per_year(periods_per_year)
    values = returns_array(returns)
    if len(values) < 2:
        return math.nan
    return sample_std(values) * math.sqrt(periods_per_year)


def sharpe_ratio(
    returns, risk_free: float = 0.0, periods_per_year: float = DAILY_PERIODS_PER_YEAR
) -> float:
    """Annualised Sharpe ratio of the returns in excess of `risk_free` (a return per period)."""
    _check_periods_per_year(periods_per_year)
    values = returns_array(returns)
    if len(values) < 2:
        return math.nan
    excess = values - risk_free
    return _ratio(_mean(excess), sample_std(excess)) * math.sqrt(periods_per_year)


def downside_deviation(
    returns, required_return: float = 0.0, periods_per_year: float = DAILY_PERIODS_PER_YEAR
) -> float:
    """Annualised root mean square of the shortfalls below `required_return` (per period), the
    periods above it counting as zero shortfall."""
    _check_periods_per_year(periods_per_year)
    values = returns_array(returns)
    if len(values) == 0:
        return math.nan
    shortfall = np.minimum(values - required_return, 0.0)
    return math.sqrt(_mean(shortfall**2)) * math.sqrt(periods_per_year)


def sortino_ratio(
    returns, required_return: float = 0.0, periods_per_year: float = DAILY_PERIODS_PER_YEAR
) -> float:
    """Annual mean excess over `required_return` (per period) per unit of annualised downside
    deviation."""
    _check_periods_per_year(periods_per_year)
    values = returns_array(returns)
    if len(values) < 2:
        return math.nan
    annual_excess = _mean(values - required_return) * periods_per_year
    return _ratio(annual_excess, downside_deviation(values, required_return, periods_per_year))


def drawdown_series(returns) -> np.ndarray:
    """The drawdown at the end of each period: the wealth index's fall from its running peak
    (0 at a peak, -0.25 a quarter below it), one value per period, for plots."""
    values = returns_array(returns)
    wealth = np.cumprod(np.where(np.isnan(values), 0.0, values) + 1)
    peak = np.maximum.accumulate(np.concatenate(([1.0], wealth)))[1:]
    return (wealth - peak) / peak


def max_drawdown(returns) -> float:
    """The deepest drawdown of the wealth index (zero or negative; see `drawdown_series`)."""
    drawdowns = drawdown_series(returns)
    return float(drawdowns.min()) if len(drawdowns) else math.nan


def calmar_ratio(returns, periods_per_year: float = DAILY_PERIODS_PER_YEAR) -> float:
    """Annual return per unit of maximum drawdown; NaN without a drawdown."""
    deepest = max_drawdown(returns)
    if not deepest < 0:
        return math.nan
    ratio = annual_return(returns, periods_per_year) / abs(deepest)
    return math.nan if math.isinf(ratio) else ratio


def hit_rate(returns) -> float:
    """Share of the periods with a non-zero return whose return is positive (NaN periods are
    skipped); NaN when no period moved."""
    present = _present(returns_array(returns))
    moved = present[present != 0]
    return float(np.mean(moved > 0)) if len(moved) else math.nan


def summary(returns, periods_per_year: float = DAILY_PERIODS_PER_YEAR) -> dict[str, float]:
    """Every scalar metric above in one flat dict (Sharpe with a zero risk-free rate, Sortino
    with a zero required return). NaN and inf stay floats: the results store writes them to
    JSON as null."""
    values = returns_array(returns)
    return {
        "total_return": total_return(values),
        "annual_return": annual_return(values, periods_per_year),
        "annual_volatility": annual_volatility(values, periods_per_year),
        "sharpe_ratio": sharpe_ratio(values, periods_per_year=periods_per_year),
        "sortino_ratio": sortino_ratio(values, periods_per_year=periods_per_year),
        "max_drawdown": max_drawdown(values),
        "calmar_ratio": calmar_ratio(values, periods_per_year),
        "hit_rate": hit_rate(values),
    }
