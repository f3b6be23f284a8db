"""The Avellaneda–Stoikov rule against hand-worked numbers, and the paper's market model
against the paper's own simulation tables and against closed forms of the model."""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strategies.avellaneda_stoikov import (
    AvellanedaStoikovParams,
    inventory_quotes,
    optimal_spread,
    reservation_price,
    simulate_paper_model,
    symmetric_quotes,
    terminal_spread,
)

PAPER_PATHS = 1000
SEED = 2008


class PaperRow(NamedTuple):
    spread: float
    profit_mean: float
    profit_sd: float
    inventory_mean: float
    inventory_sd: float


# Avellaneda & Stoikov, "High-frequency trading in a limit order book", preprint of
# 5 October 2006, section 3.3, Tables 1-3 ("1000 simulations with gamma = ..."): the setup is
# s = 100, T = 1, sigma = 2, dt = 0.005, q = 0, k = 1.5, A = 140. Read from a transcription
# of the preprint found in the code corpus; Table 1's rows agree with a second, independent
# summary there. Columns: spread, profit, std(profit), final q, std(final q).
PAPER_TABLES = {
    (0.1, "inventory"): PaperRow(1.29, 62.94, 5.89, 0.10, 2.80),
    (0.1, "symmetric"): PaperRow(1.29, 67.21, 13.43, -0.018, 8.66),
    (0.01, "inventory"): PaperRow(1.33, 66.78, 8.76, -0.02, 4.70),
    (0.01, "symmetric"): PaperRow(1.33, 67.36, 13.40, -0.31, 8.65),
    (0.5, "inventory"): PaperRow(1.15, 33.92, 4.72, -0.02, 1.88),
    (0.5, "symmetric"): PaperRow(1.15, 66.20, 14.53, 0.25, 9.06),
}
FIGURES = ("profit_mean", "profit_sd", "inventory_mean", "inventory_sd")  # as in SimulationSummary

# Where the model, run as the paper describes it, does not reproduce the paper at SEED (the
# figures from 20,000 paths are in strategies/avellaneda_stoikov.py's docstring).
DEPARTURES = {
    (0.5, "inventory", "profit_mean"): "the model's mean profit is 47.3 at 20,000 paths",
    (0.5, "inventory", "profit_sd"): "the model's profit sd is 5.75 at 20,000 paths",
    (0.01, "inventory", "inventory_sd"): "the model's final-inventory sd is 5.23 at 20,000 "
    "paths, 3.3 standard errors off at 1,000 (80% of seeds fail)",
}


def params(gamma: float = 0.1, **changes) -> AvellanedaStoikovParams:
    return AvellanedaStoikovParams(gamma=gamma, **changes)


@functools.cache
def paper_run(gamma: float, strategy: str):
    return simulate_paper_model(params(gamma), strategy, PAPER_PATHS, SEED)


# --- The rule, by hand -------------------------------------------------------------------------


def test_terminal_spread_is_the_papers_spread_column():
    # (2 / gamma) ln(1 + gamma / k) with k = 1.5: 20 ln(16/15), 200 ln(151/150), 4 ln(4/3).
    assert terminal_spread(params(0.1)) == pytest.approx(1.2907704, abs=1e-7)
    assert terminal_spread(params(0.01)) == pytest.approx(1.3289085, abs=1e-7)
    assert terminal_spread(params(0.5)) == pytest.approx(1.1507283, abs=1e-7)
    for (gamma, _), row in PAPER_TABLES.items():
        assert round(terminal_spread(params(gamma)), 2) == row.spread


def test_spread_and_reservation_price_by_hand():
    p = params(0.1)  # sigma^2 = 4, T = 1
    # t = 0: 0.1 x 4 x 1 + 20 ln(16/15) = 0.4 + 1.2907704.
    assert optimal_spread(0.0, p) == pytest.approx(1.6907704, abs=1e-7)
    # 3 long at t = 0.25: r = 100 - 3 x 0.1 x 4 x 0.75 = 99.1; spread 0.3 + 1.2907704.
    assert reservation_price(100.0, 3, 0.25, p) == pytest.approx(99.1, abs=1e-12)
    bid, ask = inventory_quotes(100.0, 3, 0.25, p)
    assert bid == pytest.approx(98.3046148, abs=1e-7)
    assert ask == pytest.approx(99.8953852, abs=1e-7)
    # 2 short, gamma = 0.5, t = 0.5: r = 100 + 2 x 0.5 x 4 x 0.5 = 102.
    assert reservation_price(100.0, -2, 0.5, params(0.5)) == pytest.approx(102.0, abs=1e-12)


def test_symmetric_quotes_centre_the_terminal_spread_on_the_mid():
    bid, ask = symmetric_quotes(100.0, params(0.1))
    assert bid == pytest.approx(100 - 0.6453852, abs=1e-7)
    assert ask == pytest.approx(100 + 0.6453852, abs=1e-7)


def test_quotes_work_on_arrays_of_paths():
    bid, ask = inventory_quotes(np.array([100.0, 100.0]), np.array([0, 3]), 0.25, params(0.1))
    np.testing.assert_allclose(bid, [100 - 0.7953852, 98.3046148], atol=1e-7)
    np.testing.assert_allclose(ask, [100 + 0.7953852, 99.8953852], atol=1e-7)


# --- The rule's limits and invariants ------------------------------------------------------------

gammas = st.floats(1e-3, 5.0)
sigmas = st.floats(1e-2, 10.0)
ks = st.floats(1e-2, 10.0)
times = st.floats(0.0, 1.0)
mids = st.floats(1.0, 1e4)


@given(mid=mids, t=times, gamma=gammas, sigma=sigmas)
def test_a_flat_dealer_values_the_asset_at_the_mid(mid, t, gamma, sigma):
    assert reservation_price(mid, 0, t, params(gamma, sigma=sigma)) == mid


@given(gamma=gammas, sigma=sigmas, k=ks, early=times, late=times)
def test_spread_narrows_over_time_to_the_terminal_spread(gamma, sigma, k, early, late):
    p = params(gamma, sigma=sigma, k=k)
    early, late = sorted((early, late))
    limit = 2 / gamma * math.log(1 + gamma / k)
    assert optimal_spread(1.0, p) == pytest.approx(limit, rel=1e-12)
    assert optimal_spread(early, p) >= optimal_spread(late, p) >= optimal_spread(1.0, p)


def test_spread_tends_to_the_terminal_spread_by_hand():
    # gamma sigma^2 (T - t) = 0.4 h at t = T - h, for gamma = 0.1, sigma = 2
    for h in (0.1, 0.01, 0.001, 0.0):
        assert optimal_spread(1.0 - h, params(0.1)) == pytest.approx(1.2907704 + 0.4 * h, abs=1e-7)


@given(mid=mids, low=st.integers(-50, 50), more=st.integers(1, 50), t=st.floats(0.0, 0.99),
       gamma=gammas, sigma=sigmas, k=ks)  # fmt: skip
def test_more_inventory_shades_both_quotes_down_by_the_same_amount(mid, low, more, t, gamma,
                                                                    sigma, k):  # fmt: skip
    p = params(gamma, sigma=sigma, k=k)
    bid, ask = inventory_quotes(mid, low, t, p)
    bid_long, ask_long = inventory_quotes(mid, low + more, t, p)
    assert bid_long < bid and ask_long < ask
    # the spread does not depend on the inventory, only the centre moves
    assert ask_long - bid_long == pytest.approx(ask - bid, rel=1e-9, abs=1e-9)


# --- The paper's market model: accounting and closed forms ---------------------------------------


@pytest.mark.parametrize(
    ("strategy", "profit"),
    [
        # both quotes filled every step, so q stays 0 and each step earns the spread:
        # 200 x 20 ln(16/15) for the symmetric strategy, and for the inventory strategy
        # sum over t = 0, 0.005, ..., 0.995 of 0.4 (1 - t) + 20 ln(16/15) = 40.2 + 258.154085.
        ("symmetric", 258.154085),
        ("inventory", 298.354085),
    ],
)
def test_quotes_always_filled_earn_the_spread_each_step(strategy, profit):
    run = simulate_paper_model(params(0.1, A=1e9), strategy, n_paths=3, seed=1)
    np.testing.assert_array_equal(run.final_inventory, 0)
    np.testing.assert_allclose(run.profit, profit, atol=1e-6)


def test_symmetric_strategy_matches_the_models_closed_form():
    # The symmetric quotes sit delta = (1/gamma) ln(1 + gamma/k) from the mid at t; the mid
    # then moves by e = +-eps (eps = sigma sqrt(dt)) and the ask is lifted with probability
    # p0 exp(k e), the bid hit with p0 exp(-k e), p0 = A exp(-k delta) dt. A lift is worth
    # ask - S_T, whose mean given the step is delta - e (the mid is a martingale), so each
    # side earns p0 (delta cosh(k eps) - eps sinh(k eps)) a step. The inventory's steps are
    # independent with mean 0 and variance 2 p0 cosh(k eps) - 2 p0^2 (both sides at once).
    steps, delta, eps = 200, 10 * math.log(16 / 15), 2 * math.sqrt(0.005)
    p0 = 140 * math.exp(-1.5 * delta) * 0.005
    mean = 2 * steps * p0 * (delta * math.cosh(1.5 * eps) - eps * math.sinh(1.5 * eps))
    variance = 2 * steps * p0 * (math.cosh(1.5 * eps) - p0)
    assert mean == pytest.approx(66.97, abs=0.01)  # measured against quotes set before the move
    n = 20_000
    run = simulate_paper_model(params(0.1), "symmetric", n, SEED)
    profit_se = run.summary.profit_sd / math.sqrt(n)
    assert abs(run.summary.profit_mean - mean) < 3 * profit_se
    assert abs(run.summary.inventory_mean) < 3 * math.sqrt(variance / n)
    # the sd of a normal sample's sd is about sd / sqrt(2n); q_T is close to normal
    assert abs(run.summary.inventory_sd - math.sqrt(variance)) < 3 * math.sqrt(variance / (2 * n))


def test_same_seed_same_paths_and_seeds_differ():
    first = simulate_paper_model(params(0.1), "inventory", 50, seed=7)
    again = simulate_paper_model(params(0.1), "inventory", 50, seed=7)
    other = simulate_paper_model(params(0.1), "inventory", 50, seed=8)
    np.testing.assert_array_equal(first.profit, again.profit)
    np.testing.assert_array_equal(first.final_inventory, again.final_inventory)
    assert not np.array_equal(first.profit, other.profit)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="strategy must be one of"):
        simulate_paper_model(params(), "naive", 10, 0)
    with pytest.raises(ValueError, match="not a whole number of steps"):
        simulate_paper_model(params(dt=0.003), "inventory", 10, 0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        params(0.0)


# --- The paper's tables --------------------------------------------------------------------------


def _kurtosis(x: np.ndarray) -> float:
    centred = x - x.mean()
    return float(np.mean(centred**4) / np.mean(centred**2) ** 2)


def _table_cases():
    for gamma, strategy in PAPER_TABLES:
        for figure in FIGURES:
            reason = DEPARTURES.get((gamma, strategy, figure))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(gamma, strategy, figure, marks=marks)


@pytest.mark.parametrize(("gamma", "strategy", "figure"), list(_table_cases()))
def test_paper_table_reproduced_within_sampling_error(gamma, strategy, figure):
    """Our 1,000 paths against the paper's 1,000: the difference of two independent estimates,
    whose standard error combines both. A mean's is sd / sqrt(n). A standard deviation's is
    sd sqrt((kurtosis - 1) / (4n)) (the delta method on the sample variance, whose variance is
    sd^4 (kurtosis - 1) / n): sd / sqrt(2n) for normal data, but the symmetric strategy's
    profit has kurtosis near 7 (q S_T mixes the spread income with price risk), which makes
    it sqrt(3) times wider. Kurtosis is taken from our paths. Tolerance: 3 standard errors."""
    run, row = paper_run(gamma, strategy), PAPER_TABLES[gamma, strategy]
    quantity = figure.split("_")[0]  # profit or inventory
    sample = run.profit if quantity == "profit" else run.final_inventory.astype(float)
    paper_sd, our_sd = getattr(row, f"{quantity}_sd"), getattr(run.summary, f"{quantity}_sd")
    se = math.sqrt(paper_sd**2 / PAPER_PATHS + our_sd**2 / PAPER_PATHS)
    if figure.endswith("_sd"):
        se *= math.sqrt((_kurtosis(sample) - 1) / 4)
    ours, paper = getattr(run.summary, figure), getattr(row, figure)
    assert abs(ours - paper) < 3 * se, (ours, paper, se)


@pytest.mark.parametrize("gamma", [0.1, 0.01, 0.5])
def test_inventory_strategy_has_less_variance_than_symmetric(gamma):
    # The paper's claim: smaller spread of final inventory and of profit, for every gamma.
    inventory, symmetric = paper_run(gamma, "inventory"), paper_run(gamma, "symmetric")
    assert inventory.summary.inventory_sd < symmetric.summary.inventory_sd
    assert inventory.summary.profit_sd < symmetric.summary.profit_sd
