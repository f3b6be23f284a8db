"""Value at risk and expected shortfall against empyrical-reloaded, scipy's normal, hand-worked
numbers and each other.

empyrical reports the tail quantile and the tail mean as returns (negative for a loss) at a
`cutoff` = 1 - confidence; ours are positive losses, so ours = -theirs.
"""

from __future__ import annotations

import math

import empyrical
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from sim.analytics import risk

pytestmark = pytest.mark.filterwarnings("error")

RNG = np.random.default_rng(61)
FIXED = {
    "daily": RNG.normal(0.0004, 0.01, 500),
    "fat_tailed": RNG.standard_t(3, 250) * 0.01,
    "short": RNG.normal(0.0, 0.02, 7),
    "pnl_paise": RNG.integers(-50_000, 40_000, 120),
}


@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.9, 0.975])
@pytest.mark.parametrize("name", FIXED)
def test_historical_matches_empyrical(name, confidence):
    series = FIXED[name]
    got = risk.historical_tail_risk(series, confidence)
    assert got.var == pytest.approx(-empyrical.value_at_risk(series, 1 - confidence), rel=1e-12)
    expected_es = -empyrical.conditional_value_at_risk(series, 1 - confidence)
    assert got.es == pytest.approx(expected_es, rel=1e-12)


def test_historical_worked_by_hand_on_a_pnl_series():
    pnl = [300, -200, 0, -500, 100]  # paise; sorted -500, -200, 0, 100, 300
    # 75%: the 25% quantile sits at position 4 * 0.25 = 1, on -200; the tail is -500 and -200.
    assert risk.historical_tail_risk(pnl, 0.75) == pytest.approx((200, 350))
    # 95%: position 0.2, a fifth of the way from -500 to -200; the tail is -500 alone.
    assert risk.historical_tail_risk(pnl, 0.95) == pytest.approx((440, 500))
    # Missing observations are dropped before the position is found.
    assert risk.historical_tail_risk([300, math.nan, -200, 0, -500, 100], 0.75) == pytest.approx(
        (200, 350)
    )


@pytest.mark.parametrize("confidence", [0.95, 0.99])
@pytest.mark.parametrize("name", ["daily", "fat_tailed", "pnl_paise"])
def test_parametric_is_the_normal_with_the_sample_moments(name, confidence):
    series = FIXED[name]
    mean, sd = np.mean(series), np.std(series, ddof=1)
    quantile = norm.ppf(1 - confidence, loc=mean, scale=sd)
    # ES by integrating the normal's lower tail, apart from the closed form the module uses.
    tail_mean = norm.expect(lambda x: x, loc=mean, scale=sd, ub=quantile, conditional=True)
    got = risk.parametric_tail_risk(series, confidence)
    assert got.var == pytest.approx(-quantile, rel=1e-9)
    assert got.es == pytest.approx(-tail_mean, rel=1e-7)


def test_parametric_worked_by_hand():
    # mean 0, sample sd 0.02 (deviations +-0.02 over 2 - 1); z_0.95 = 1.6449, phi(z) = 0.10314.
    got = risk.parametric_tail_risk([0.02, -0.02, 0.02, -0.02, 0.0, 0.0], 0.95)
    sd = math.sqrt(4 * 0.02**2 / 5)
    assert got.var == pytest.approx(1.644854 * sd, rel=1e-6)
    assert got.es == pytest.approx(sd * 0.103136 / 0.05, rel=1e-5)


def test_monte_carlo_agrees_with_parametric_on_a_large_normal_sample():
    # n normal observations, N bootstrap draws from them, p = 1 - confidence. The bootstrap's
    # VaR estimates the normal quantile with an asymptotic standard error of
    # sd sqrt(p (1 - p)) / phi(z) per root observation, its ES with
    # sd sqrt((v + (1 - p) (m - z)^2) / p), where -m = -phi(z) / p and v = 1 + z m - m^2 are
    # the mean and variance of the tail X < -z in sd units (a truncated normal). Both samples
    # add error: 1 / n + 1 / N. Tolerance: 4 standard errors (the seeds are fixed; the bound
    # says how close "agree" is).
    n, sd = 20_000, 0.01
    sample = np.random.default_rng(2024).normal(0.0005, sd, n)
    for confidence in (0.95, 0.99):
        p = 1 - confidence
        z = norm.ppf(confidence)
        tail_mean = norm.pdf(z) / p
        tail_variance = 1 + z * tail_mean - tail_mean**2  # of X | X < -z, in sd units
        scale = sd * math.sqrt(1 / n + 1 / risk.DEFAULT_SCENARIOS)
        var_error = scale * math.sqrt(p * (1 - p)) / norm.pdf(z)
        es_error = scale * math.sqrt((tail_variance + (1 - p) * (tail_mean - z) ** 2) / p)
        simulated = risk.monte_carlo_tail_risk(sample, confidence, seed=7)
        normal = risk.parametric_tail_risk(sample, confidence)
        assert abs(simulated.var - normal.var) < 4 * var_error
        assert abs(simulated.es - normal.es) < 4 * es_error


def test_monte_carlo_is_reproducible_for_a_seed():
    series = FIXED["fat_tailed"]
    first = risk.monte_carlo_tail_risk(series, 0.99, seed=5, scenarios=5_000)
    assert risk.monte_carlo_tail_risk(series, 0.99, seed=5, scenarios=5_000) == first
    generator = np.random.default_rng(np.random.SeedSequence(5))
    assert risk.monte_carlo_tail_risk(series, 0.99, seed=generator, scenarios=5_000) == first
    assert risk.monte_carlo_tail_risk(series, 0.99, seed=6, scenarios=5_000) != first


def test_monte_carlo_draws_only_observed_values():
    # Bootstrapped from 1%, 2% and 3% losses only, no scenario can lose more than 3%.
    got = risk.monte_carlo_tail_risk([-0.01, -0.02, -0.03], 0.99, seed=1, scenarios=1_000)
    assert got == pytest.approx((0.03, 0.03), rel=1e-12)


def test_var_table_has_a_row_per_method_and_confidence():
    series = FIXED["daily"]
    table = risk.var_table(series, seed=3, scenarios=10_000)
    assert table.schema == pl.Schema(
        {"method": pl.String, "confidence": pl.Float64, "var": pl.Float64, "es": pl.Float64}
    )
    assert table.select("method", "confidence").rows() == [
        ("historical", 0.95),
        ("historical", 0.99),
        ("parametric", 0.95),
        ("parametric", 0.99),
        ("monte_carlo", 0.95),
        ("monte_carlo", 0.99),
    ]
    by_method = {
        "historical": risk.historical_tail_risk,
        "parametric": risk.parametric_tail_risk,
        "monte_carlo": lambda s, c: risk.monte_carlo_tail_risk(s, c, seed=3, scenarios=10_000),
    }
    for method, confidence, var, es in table.rows():
        assert (var, es) == by_method[method](series, confidence)
    assert risk.var_table(pl.Series(series), [0.9], seed=3)["method"].to_list() == [
        "historical",
        "parametric",
        "monte_carlo",
    ]


def test_series_without_enough_observations_give_nan():
    for series in ([], [math.nan, math.nan]):
        table = risk.var_table(series, seed=0, scenarios=10)
        assert table["var"].is_nan().all() and table["es"].is_nan().all()
    single = risk.var_table([-0.01], seed=0, scenarios=10)
    assert single.filter(pl.col("method") == "parametric")["var"].is_nan().all()
    assert single.filter(pl.col("method") != "parametric")["var"].to_list() == [0.01] * 4


def test_a_mistaken_call_is_refused():
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\) \(got 95\)"):
        risk.historical_tail_risk([0.01, -0.01], 95)
    with pytest.raises(ValueError, match="confidence must be in"):
        risk.var_table([0.01, -0.01], [0.95, 1.0], seed=0)
    with pytest.raises(ValueError, match="scenarios must be a positive integer"):
        risk.monte_carlo_tail_risk([0.01, -0.01], 0.95, seed=0, scenarios=0)


series_lists = st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=80)
confidences = st.floats(0.5, 0.999)


@settings(max_examples=100)
@given(series=series_lists, confidence=confidences)
def test_historical_matches_empyrical_on_generated_series(series, confidence):
    got = risk.historical_tail_risk(series, confidence)
    returns = np.array(series)
    assert got.var == pytest.approx(-empyrical.value_at_risk(returns, 1 - confidence), abs=1e-15)
    expected_es = -empyrical.conditional_value_at_risk(returns, 1 - confidence)
    assert got.es == pytest.approx(expected_es, abs=1e-15)


@settings(max_examples=100)
@given(series=series_lists, confidence=confidences, seed=st.integers(0, 2**32))
def test_expected_shortfall_is_never_below_value_at_risk(series, confidence, seed):
    estimates = [
        risk.historical_tail_risk(series, confidence),
        risk.parametric_tail_risk(series, confidence),
        risk.monte_carlo_tail_risk(series, confidence, seed=seed, scenarios=500),
    ]
    for estimate in estimates:
        if not math.isnan(estimate.var):
            assert estimate.es >= estimate.var


def test_expected_shortfall_of_equal_observations_is_their_loss():
    # The mean of six 0.1s is 0.10000000000000002 in floating point: ES must not fall below VaR.
    assert risk.historical_tail_risk([0.1] * 6, 0.6) == (-0.1, -0.1)
    parametric = risk.parametric_tail_risk([0.1] * 6, 0.6)  # sd exactly 0, not 1.5e-17
    assert parametric.var == parametric.es == pytest.approx(-0.1, rel=1e-15)
