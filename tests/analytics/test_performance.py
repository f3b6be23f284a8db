"""Performance metrics against empyrical-reloaded itself, and against numbers worked by hand.

empyrical takes numpy arrays and names the periods per year `annualization`; its drawdown
series lives in `empyrical.stats`. Warnings are errors here: the metrics must print none, even
on empty, flat or missing data.
"""

from __future__ import annotations

import math

import empyrical
import empyrical.stats
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analytics import performance

pytestmark = pytest.mark.filterwarnings("error")

RNG = np.random.default_rng(16)
WITH_GAPS = RNG.normal(0.0004, 0.01, 300)
WITH_GAPS[[3, 50, 51, 299]] = np.nan
FIXED = {
    "daily": RNG.normal(0.0005, 0.012, 504),
    "fat_tailed": RNG.standard_t(3, 250) * 0.01,
    "with_gaps": WITH_GAPS,
    "three_periods": np.array([0.1, -0.2, 0.05]),
    "first_period_loses": np.array([-0.1, 0.05, 0.1]),
    "only_gains": np.array([0.01, 0.02, 0.005]),
    "constant_gain": np.full(6, 0.01),
    "all_zero": np.zeros(5),
    "one_period": np.array([0.03]),
    "one_present": np.array([0.01, np.nan, np.nan]),
    "all_missing": np.array([np.nan, np.nan]),
    "empty": np.array([]),
}


def same(ours: float, reference: float, rel: float = 1e-10) -> bool:
    """Equal to rounding (the two compute in a different order), or both NaN."""
    reference = float(reference)
    if math.isnan(reference):
        return math.isnan(ours)
    return ours == pytest.approx(reference, rel=rel, abs=1e-14)


def pairs(periods_per_year: int, risk_free: float = 0.0, required_return: float = 0.0):
    """(name, ours, empyrical's) for every scalar metric, as functions of a numpy array."""
    p = periods_per_year
    return [
        ("total_return", performance.total_return, empyrical.cum_returns_final),
        (
            "annual_return",
            lambda r: performance.annual_return(r, p),
            lambda r: empyrical.annual_return(r, annualization=p),
        ),
        (
            "annual_volatility",
            lambda r: performance.annual_volatility(r, p),
            lambda r: empyrical.annual_volatility(r, annualization=p),
        ),
        (
            "sharpe_ratio",
            lambda r: performance.sharpe_ratio(r, risk_free, p),
            lambda r: empyrical.sharpe_ratio(r, risk_free=risk_free, annualization=p),
        ),
        (
            "downside_deviation",
            lambda r: performance.downside_deviation(r, required_return, p),
            lambda r: empyrical.downside_risk(r, required_return, annualization=p),
        ),
        (
            "sortino_ratio",
            lambda r: performance.sortino_ratio(r, required_return, p),
            lambda r: empyrical.sortino_ratio(r, required_return, annualization=p),
        ),
        ("max_drawdown", performance.max_drawdown, empyrical.max_drawdown),
        (
            "calmar_ratio",
            lambda r: performance.calmar_ratio(r, p),
            lambda r: empyrical.calmar_ratio(r, annualization=p),
        ),
    ]


def assert_matches_empyrical(returns, periods_per_year, risk_free=0.0, required_return=0.0):
    # A drawdown is a difference of wealth levels near 1, good to ~1e-15 absolutely (empyrical
    # anchors wealth at 100, we at 1); Calmar divides by it, so a tiny drawdown loosens it.
    deepest = abs(empyrical.max_drawdown(returns)) if len(returns) else 0.0
    for name, ours, theirs in pairs(periods_per_year, risk_free, required_return):
        value = ours(returns)
        rel = 1e-10 + (1e-15 / deepest if name == "calmar_ratio" and deepest > 0 else 0.0)
        assert isinstance(value, float), name
        assert same(value, theirs(returns), rel), (name, value, theirs(returns))
    if len(returns):
        expected = empyrical.stats.drawdown_series(returns)
        np.testing.assert_allclose(
            performance.drawdown_series(returns), expected, rtol=1e-10, atol=1e-14
        )


@pytest.mark.parametrize("periods_per_year", [252, 12, 52])
@pytest.mark.parametrize("name", FIXED)
def test_every_metric_matches_empyrical_on_fixed_series(name, periods_per_year):
    assert_matches_empyrical(FIXED[name], periods_per_year)


@pytest.mark.parametrize("name", ["daily", "with_gaps", "constant_gain", "all_zero"])
def test_sharpe_and_sortino_thresholds_match_empyrical(name):
    assert_matches_empyrical(FIXED[name], 252, risk_free=0.0002, required_return=-0.001)
    assert_matches_empyrical(FIXED[name], 12, risk_free=0.01, required_return=0.01)


returns_lists = st.lists(
    st.floats(-0.2, 0.2, allow_nan=False) | st.sampled_from([0.0, 0.01, -0.01, math.nan]),
    max_size=60,
)


@settings(max_examples=150)
@given(
    returns=returns_lists,
    periods_per_year=st.sampled_from([252, 12, 52, 4, 365]),
    risk_free=st.floats(-0.01, 0.01),
    required_return=st.floats(-0.01, 0.01),
)
def test_every_metric_matches_empyrical_on_generated_series(
    returns, periods_per_year, risk_free, required_return
):
    assert_matches_empyrical(np.array(returns), periods_per_year, risk_free, required_return)


def test_a_list_and_a_polars_series_read_as_the_array():
    returns = [0.01, None, -0.02, 0.03]
    expected = performance.summary(np.array([0.01, np.nan, -0.02, 0.03]))
    for form in (returns, pl.Series(returns)):
        got = performance.summary(form)
        assert got.keys() == expected.keys()
        assert all(same(got[key], expected[key]) for key in expected)
    assert performance.hit_rate(pl.Series([1, 0, -2, 3])) == pytest.approx(2 / 3)  # integers


def test_summary_holds_every_scalar_metric_by_its_name():
    returns = FIXED["daily"]
    got = performance.summary(returns, periods_per_year=12)
    assert got == {
        "total_return": empyrical.cum_returns_final(returns),
        "annual_return": pytest.approx(empyrical.annual_return(returns, annualization=12)),
        "annual_volatility": pytest.approx(empyrical.annual_volatility(returns, annualization=12)),
        "sharpe_ratio": pytest.approx(empyrical.sharpe_ratio(returns, annualization=12)),
        "sortino_ratio": pytest.approx(empyrical.sortino_ratio(returns, annualization=12)),
        "max_drawdown": pytest.approx(empyrical.max_drawdown(returns)),
        "calmar_ratio": pytest.approx(empyrical.calmar_ratio(returns, annualization=12)),
        "hit_rate": float(np.mean(returns > 0)),  # no period of the normal draws is exactly 0
    }


def test_drawdowns_of_three_periods_worked_by_hand():
    # Wealth 1.1, 0.88, 0.924 under a peak of 1.1: 0, 0.88/1.1 - 1, 0.924/1.1 - 1.
    rising_first = performance.drawdown_series([0.1, -0.2, 0.05])
    np.testing.assert_allclose(rising_first, [0.0, -0.2, -0.16], atol=1e-15)
    assert performance.max_drawdown([0.1, -0.2, 0.05]) == pytest.approx(-0.2)
    # Wealth 0.9, 0.945, 1.0395: the first period falls from the starting wealth of 1.
    falling_first = performance.drawdown_series([-0.1, 0.05, 0.1])
    np.testing.assert_allclose(falling_first, [-0.1, -0.055, 0.0], atol=1e-15)
    # A missing period leaves the wealth where it was.
    with_gap = performance.drawdown_series([0.1, math.nan, -0.2])
    np.testing.assert_allclose(with_gap, [0.0, 0.0, -0.2], atol=1e-15)
    assert len(performance.drawdown_series([])) == 0
    assert math.isnan(performance.max_drawdown([]))


def test_ratios_of_tiny_series_worked_by_hand():
    # Two years of two periods each: (1.1 * 1.1) ** (1 / 2) - 1 = 0.1 a year.
    assert performance.annual_return([0.1, 0.1], periods_per_year=1) == pytest.approx(0.1)
    assert performance.annual_return([0.1, 0.1], periods_per_year=2) == pytest.approx(0.21)
    # mean 0.02, sample sd sqrt(2 * 0.01 ** 2 / 1) = 0.01 sqrt(2); sqrt(4) = 2 a year.
    assert performance.sharpe_ratio([0.01, 0.03], periods_per_year=4) == pytest.approx(
        2 * math.sqrt(2)
    )
    assert performance.annual_volatility([0.01, 0.03], periods_per_year=4) == pytest.approx(
        0.02 * math.sqrt(2)
    )
    # mean 0.01; downside sqrt((0.01^2 + 0.02^2) / 4), the gains counting as zero: 2 / sqrt(5).
    sortino = performance.sortino_ratio([0.02, -0.01, 0.05, -0.02], periods_per_year=1)
    assert sortino == pytest.approx(2 / math.sqrt(5))
    # Annual return 0.21 over a drawdown of 0.2 (wealth 1.1, 0.88, 0.924 in a year of 3).
    total = 1.1 * 0.8 * 1.05
    assert performance.calmar_ratio([0.1, -0.2, 0.05], periods_per_year=3) == pytest.approx(
        (total - 1) / 0.2
    )
    # Growth of 1.35 in two periods of a 100,000-period year is 1.35 ** 50,000 a year, past
    # the largest float: an infinite annual return (empyrical's too, with a warning) has no
    # Calmar ratio.
    assert performance.annual_return([0.5, -0.1], periods_per_year=100_000) == math.inf
    assert math.isnan(performance.calmar_ratio([0.5, -0.1], periods_per_year=100_000))


def test_hit_rate_counts_gains_among_the_periods_that_moved():
    # Gains 0.01 and 0.03 among three moves; the flat and the missing period do not count.
    assert performance.hit_rate([0.01, 0.0, -0.02, 0.03, math.nan]) == pytest.approx(2 / 3)
    assert performance.hit_rate([-0.01, 0.0]) == 0.0
    assert math.isnan(performance.hit_rate([0.0, 0.0, math.nan]))
    assert math.isnan(performance.hit_rate([]))


@settings(max_examples=100)
@given(returns=returns_lists)
def test_hit_rate_is_wins_over_wins_and_losses(returns):
    wins = sum(1 for r in returns if r > 0)
    losses = sum(1 for r in returns if r < 0)
    got = performance.hit_rate(returns)
    if wins + losses == 0:
        assert math.isnan(got)
    else:
        assert got == pytest.approx(wins / (wins + losses))


def test_a_mistaken_call_is_refused():
    with pytest.raises(ValueError, match="one-dimensional"):
        performance.total_return(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="periods_per_year must be positive"):
        performance.annual_return([0.01], periods_per_year=0)
