"""The allocator's optimisers against closed forms worked by hand, numpy's linear algebra and an
independent solver (scipy's SLSQP on the same problem written out by hand)."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from strategies.portfolio import (
    SEED_003_LIMITS,
    PortfolioLimits,
    PortfolioSolverError,
    black_litterman,
    mean_variance,
    rebalance,
    risk_parity,
    unconstrained_mean_variance,
)

# Each example compiles and solves a conic problem (tens of ms): a quarter of the profile's.
conic_examples = settings(max_examples=max(10, settings.default.max_examples // 4))

# Two uncorrelated bonds for hand-worked problems: w1 = (mu1 - mu2 + λσ2²) / (λ(σ1² + σ2²))
# on a budget of 1, so 0.32 here.
TWO_MU = np.array([0.08, 0.05])
TWO_COV = np.diag([0.04, 0.01])
TWO_RISK_AVERSION = 5.0


@st.composite
def covariances(draw, min_size=2, max_size=5):
    """A positive definite covariance A A' + εI with entries of A in [-0.5, 0.5]."""
    n = draw(st.integers(min_size, max_size))
    entries = draw(st.lists(st.floats(-0.5, 0.5), min_size=n * n, max_size=n * n))
    epsilon = draw(st.floats(0.01, 0.1))
    root = np.array(entries).reshape(n, n)
    return root @ root.T + epsilon * np.eye(n)


def returns_for(n):
    return st.lists(st.floats(-0.2, 0.2), min_size=n, max_size=n).map(np.array)


def utility(w, mu, cov, risk_aversion):
    return mu @ w - risk_aversion / 2 * w @ cov @ w


def slsqp_mean_variance(mu, cov, risk_aversion, *, budget, max_weight, sectors=(), max_sector=0):
    """Long-only mean-variance, sector caps as index lists, by SLSQP from equal weights."""
    n = len(mu)
    constraints = [{"type": "eq", "fun": lambda w: w.sum() - budget}]
    constraints += [
        {"type": "ineq", "fun": lambda w, bonds=bonds: max_sector - w[bonds].sum()}
        for bonds in sectors
    ]
    found = minimize(
        lambda w: -utility(w, mu, cov, risk_aversion),
        np.full(n, budget / n),
        jac=lambda w: -(mu - risk_aversion * cov @ w),
        bounds=[(0.0, max_weight)] * n,
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert found.success, found.message
    return found.x


def twelve_bonds(seed):
    """Twelve bonds in four sectors of three, with returns high enough to press on every cap."""
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(12, 12)) * 0.04
    cov = root @ root.T + 0.002 * np.eye(12)
    mu = rng.uniform(0.02, 0.12, 12)
    return mu, cov, [f"sector {i // 3}" for i in range(12)]


# --- unconstrained and budget-constrained mean-variance ------------------------------------------


def test_unconstrained_weights_are_the_inverse_covariance_times_returns_over_risk_aversion():
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    # Σ^-1 = [[0.09, -0.01], [-0.01, 0.04]] / 0.0035, so Σ^-1 mu = (66, 16) / 35
    weights = unconstrained_mean_variance([0.08, 0.06], cov, 2.0)
    np.testing.assert_allclose(weights, [33 / 35, 8 / 35], rtol=1e-12)
    diagonal = unconstrained_mean_variance([0.08, 0.06], np.diag([0.04, 0.09]), 2.0)
    np.testing.assert_allclose(diagonal, [0.08 / 0.08, 0.06 / 0.18], rtol=1e-12)


def test_the_solver_reaches_the_closed_form_when_the_budget_is_what_the_closed_form_invests():
    # At λ = 4 the closed form puts (33 + 8) / 70 in bonds; with the rest as cash reserve the
    # budget does not bind and the solver's problem is the unconstrained one.
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    weights = mean_variance([0.08, 0.06], cov, 4.0, long_only=False, cash_reserve=29 / 70)
    np.testing.assert_allclose(weights, [33 / 70, 8 / 70], atol=1e-8)


@conic_examples
@given(data=st.data(), cov=covariances())
def test_budget_constrained_weights_match_their_closed_form(data, cov):
    # Lagrange: λΣw = mu - γ1 with 1'w = B, so w = Σ^-1(mu - γ1)/λ and
    # γ = (1'Σ^-1 mu - λB) / (1'Σ^-1 1).
    n = len(cov)
    mu = data.draw(returns_for(n))
    risk_aversion = data.draw(st.floats(0.5, 10.0))
    cash_reserve = data.draw(st.floats(0.0, 0.5))
    budget = 1 - cash_reserve
    ones = np.ones(n)
    inverse_mu, inverse_ones = np.linalg.solve(cov, mu), np.linalg.solve(cov, ones)
    gamma = (ones @ inverse_mu - risk_aversion * budget) / (ones @ inverse_ones)
    expected = (inverse_mu - gamma * inverse_ones) / risk_aversion
    weights = mean_variance(mu, cov, risk_aversion, long_only=False, cash_reserve=cash_reserve)
    np.testing.assert_allclose(weights, expected, atol=1e-6 * max(1.0, np.abs(expected).max()))


# --- mean-variance under limits ------------------------------------------------------------------


def test_caps_worked_by_hand():
    # Σ = 0.04 I, λ = 1, so the marginal utility is g_i = mu_i - 0.04 w_i. Capped at 0.5, bond 1
    # is full (g_1 = 0.08) and bonds 2 and 3 share the other 0.5 at equal g: w2 - w3 = 0.25.
    mu, cov = np.array([0.10, 0.08, 0.07]), 0.04 * np.eye(3)
    weights = mean_variance(mu, cov, 1.0, max_weight=0.5)
    np.testing.assert_allclose(weights, [0.5, 0.375, 0.125], atol=1e-7)
    # Capping bonds 1 and 2 at 0.6 together puts 0.4 in bond 3; inside the sector g_1 = g_2
    # would need w1 - w2 = 0.5, beyond the bond cap, so bond 1 stays at 0.5 and bond 2 gets 0.1.
    sectored = mean_variance(
        mu, cov, 1.0, max_weight=0.5, sector_of=["a", "a", "b"], max_sector=0.6
    )
    np.testing.assert_allclose(sectored, [0.5, 0.1, 0.4], atol=1e-7)


def test_daily_and_annual_units_give_the_same_weights():
    # mu'w - (λ/2) w'Σw only scales when mu and Σ do, whatever their unit.
    mu, cov, sectors = twelve_bonds(8)
    limits = SEED_003_LIMITS.as_kwargs()
    annual = mean_variance(mu, cov, 3.0, sector_of=sectors, **limits)
    daily = mean_variance(mu / 252 / 1e2, cov / 252 / 1e2, 3.0, sector_of=sectors, **limits)
    np.testing.assert_allclose(daily, annual, atol=1e-7)


def test_caps_that_just_hold_the_budget_are_accepted_despite_rounding():
    # 3 * 0.3 is 0.8999999999999999 in floating point, and 1 - 0.1 is 0.9.
    weights = mean_variance([0.05, 0.04, 0.03], np.eye(3), 1.0, max_weight=0.3, cash_reserve=0.1)
    np.testing.assert_allclose(weights, [0.3, 0.3, 0.3], atol=1e-7)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_seed_003_limits_hold_and_the_optimum_matches_slsqp(seed):
    mu, cov, sectors = twelve_bonds(seed)
    weights = mean_variance(mu, cov, 3.0, sector_of=sectors, **SEED_003_LIMITS.as_kwargs())
    assert weights.sum() == pytest.approx(0.8, abs=1e-8)
    assert weights.min() >= -1e-8 and weights.max() <= 0.1 + 1e-8
    assert weights.reshape(4, 3).sum(axis=1).max() <= 0.25 + 1e-8
    assert np.isclose(weights, 0.1, atol=1e-6).any()  # the caps bind, or this tests little
    reference = slsqp_mean_variance(
        mu,
        cov,
        3.0,
        budget=0.8,
        max_weight=0.1,
        sectors=[[3 * s, 3 * s + 1, 3 * s + 2] for s in range(4)],
        max_sector=0.25,
    )
    np.testing.assert_allclose(weights, reference, atol=1e-6)


def test_capped_optimum_meets_the_kkt_conditions():
    # With g = mu - λΣw and γ the budget's multiplier: g_i = γ where 0 < w_i < cap,
    # g_i <= γ at zero, g_i >= γ at the cap.
    mu, cov, _ = twelve_bonds(4)
    weights = mean_variance(mu, cov, 3.0, max_weight=0.15)
    gradient = mu - 3.0 * cov @ weights
    at_zero, at_cap = weights < 1e-7, weights > 0.15 - 1e-7
    free = ~at_zero & ~at_cap
    assert at_zero.any() and at_cap.any() and free.sum() >= 2
    gamma = gradient[free].mean()
    np.testing.assert_allclose(gradient[free], gamma, atol=1e-7)
    assert (gradient[at_zero] <= gamma + 1e-7).all()
    assert (gradient[at_cap] >= gamma - 1e-7).all()


@conic_examples
@given(data=st.data(), cov=covariances(3, 6))
def test_limits_always_hold(data, cov):
    n = len(cov)
    mu = data.draw(returns_for(n))
    sector_of = data.draw(st.lists(st.sampled_from("xyz"), min_size=n, max_size=n))
    cash_reserve = data.draw(st.floats(0.0, 0.5))
    budget = 1 - cash_reserve
    sizes = [sector_of.count(s) for s in set(sector_of)]
    # Caps drawn from what the budget needs upwards, so the problem is always feasible.
    max_weight = data.draw(st.floats(budget / min(sizes) / len(sizes), 1.0))
    max_sector = data.draw(st.floats(budget / len(sizes), 1.0))
    weights = mean_variance(
        mu,
        cov,
        2.0,
        max_weight=max_weight,
        sector_of=sector_of,
        max_sector=max_sector,
        cash_reserve=cash_reserve,
    )
    assert weights.sum() == pytest.approx(budget, abs=1e-7)
    assert weights.min() >= -1e-7 and weights.max() <= max_weight + 1e-7
    for sector in set(sector_of):
        in_sector = [w for w, s in zip(weights, sector_of, strict=True) if s == sector]
        assert sum(in_sector) <= max_sector + 1e-7


def test_with_shorts_allowed_the_caps_bound_each_position_and_each_sector_gross():
    mu, cov = np.array([0.12, -0.06, 0.01, 0.0]), 0.02 * np.eye(4)
    weights = mean_variance(
        mu,
        cov,
        1.0,
        long_only=False,
        max_weight=0.8,
        sector_of=["a", "a", "b", "b"],
        max_sector=1.0,
    )
    # With the budget alone, bond 1 would hold +5.4 and bond 2 -3.6; their sector's gross cap
    # of 1.0 binds.
    assert weights.sum() == pytest.approx(1.0, abs=1e-8)
    assert np.abs(weights).max() <= 0.8 + 1e-8
    assert np.abs(weights[:2]).sum() == pytest.approx(1.0, abs=1e-7)
    assert weights[1] < -1e-3  # it does go short


def test_seed_003_limits_are_seed_003s():
    expected = PortfolioLimits(max_weight=0.10, max_sector=0.25, cash_reserve=0.20)
    assert expected == SEED_003_LIMITS
    assert SEED_003_LIMITS.as_kwargs() == {
        "max_weight": 0.10,
        "max_sector": 0.25,
        "cash_reserve": 0.20,
        "long_only": True,
    }


# --- Black-Litterman -----------------------------------------------------------------------------

BL_COV = np.array(
    [
        [0.040, 0.012, 0.006, 0.002],
        [0.012, 0.090, 0.010, 0.004],
        [0.006, 0.010, 0.025, 0.003],
        [0.002, 0.004, 0.003, 0.010],
    ]
)
BL_MARKET = np.array([0.4, 0.3, 0.2, 0.1])
BL_VIEWS = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, -1.0, 0.0]])  # absolute, and relative
BL_Q = np.array([0.05, 0.02])


def he_litterman_by_inverses(cov, market, risk_aversion, tau, P, Q, omega):
    """The posterior written as in the paper, with explicit inverses."""
    pi = risk_aversion * cov @ market
    prior_precision = np.linalg.inv(tau * cov)
    view_precision = P.T @ np.linalg.inv(omega) @ P
    uncertainty = np.linalg.inv(prior_precision + view_precision)
    mean = uncertainty @ (prior_precision @ pi + P.T @ np.linalg.inv(omega) @ Q)
    return pi, mean, cov + uncertainty


def test_one_bond_worked_by_hand():
    # One bond, σ² = 0.04, all of the market, λ = 2.5: pi = 0.1. A view of 0.06 held with
    # He and Litterman's Ω = τσ² weighs as much as the prior: the posterior is halfway.
    posterior = black_litterman([[0.04]], [1.0], 2.5, 0.05, [[1.0]], [0.06])
    assert posterior.implied_returns == pytest.approx([0.1], rel=1e-12)
    assert posterior.expected_returns == pytest.approx([0.08], rel=1e-12)


@pytest.mark.parametrize("omega", [None, np.array([[0.0004, 0.0001], [0.0001, 0.002]])])
def test_posterior_matches_the_paper_formula(omega):
    tau = 0.05
    expected_omega = np.diag(np.diag(BL_VIEWS @ (tau * BL_COV) @ BL_VIEWS.T))
    pi, mean, cov = he_litterman_by_inverses(
        BL_COV, BL_MARKET, 2.5, tau, BL_VIEWS, BL_Q, expected_omega if omega is None else omega
    )
    posterior = black_litterman(BL_COV, BL_MARKET, 2.5, tau, BL_VIEWS, BL_Q, omega)
    np.testing.assert_allclose(posterior.implied_returns, pi, rtol=1e-12)
    np.testing.assert_allclose(posterior.expected_returns, mean, rtol=1e-10)
    np.testing.assert_allclose(posterior.cov, cov, rtol=1e-10)


def test_no_views_leave_the_equilibrium_and_the_market_portfolio_scaled_by_one_over_one_plus_tau():
    posterior = black_litterman(BL_COV, BL_MARKET, 2.5, 0.05, np.empty((0, 4)), [])
    np.testing.assert_allclose(posterior.expected_returns, 2.5 * BL_COV @ BL_MARKET, rtol=1e-12)
    np.testing.assert_allclose(posterior.cov, 1.05 * BL_COV, rtol=1e-12)
    weights = unconstrained_mean_variance(posterior.expected_returns, posterior.cov, 2.5)
    np.testing.assert_allclose(weights, BL_MARKET / 1.05, rtol=1e-10)


def test_views_held_with_no_confidence_leave_the_equilibrium():
    posterior = black_litterman(BL_COV, BL_MARKET, 2.5, 0.05, BL_VIEWS, BL_Q, 1e12 * np.eye(2))
    np.testing.assert_allclose(posterior.expected_returns, posterior.implied_returns, atol=1e-14)


@pytest.mark.parametrize("confidence", [0.0, 1e-14])
def test_certain_views_are_met_exactly(confidence):
    posterior = black_litterman(
        BL_COV, BL_MARKET, 2.5, 0.05, BL_VIEWS, BL_Q, confidence * np.eye(2)
    )
    np.testing.assert_allclose(BL_VIEWS @ posterior.expected_returns, BL_Q, atol=1e-10)


def test_posterior_weights_come_from_mean_variance_and_lean_towards_the_view():
    bullish = black_litterman(BL_COV, BL_MARKET, 2.5, 0.05, [[0, 0, 0, 1.0]], [0.08])
    neutral = black_litterman(BL_COV, BL_MARKET, 2.5, 0.05, np.empty((0, 4)), [])
    tilted, plain = (
        mean_variance(p.expected_returns, p.cov, 2.5, max_weight=0.6) for p in (bullish, neutral)
    )
    assert tilted[3] > plain[3] + 0.05


# --- risk parity ---------------------------------------------------------------------------------


def test_diagonal_covariance_gives_inverse_volatility_weights():
    sigma = np.array([0.1, 0.2, 0.4, 0.05])
    weights = risk_parity(np.diag(sigma**2))
    np.testing.assert_allclose(weights, (1 / sigma) / (1 / sigma).sum(), rtol=1e-9)


def test_diagonal_covariance_with_budgets_gives_root_budget_over_volatility():
    # w_i² σ_i² ∝ b_i, so w_i ∝ sqrt(b_i) / σ_i
    sigma, budgets = np.array([0.1, 0.2, 0.4]), np.array([1.0, 2.0, 5.0])
    weights = risk_parity(np.diag(sigma**2), budgets=budgets)
    expected = np.sqrt(budgets) / sigma
    np.testing.assert_allclose(weights, expected / expected.sum(), rtol=1e-9)


@pytest.mark.parametrize("correlation", [-0.7, 0.0, 0.5, 0.95])
def test_two_bonds_get_inverse_volatility_whatever_their_correlation(correlation):
    # w1(σ1²w1 + ρσ1σ2w2) = w2(σ2²w2 + ρσ1σ2w1) holds at w1σ1 = w2σ2 for every ρ.
    s1, s2 = 0.03, 0.12
    cov = np.array([[s1**2, correlation * s1 * s2], [correlation * s1 * s2, s2**2]])
    np.testing.assert_allclose(risk_parity(cov), [0.8, 0.2], rtol=1e-9)


def risk_shares(weights, cov):
    contributions = weights * (cov @ weights)
    return contributions / contributions.sum()


@conic_examples
@given(cov=covariances(2, 6))
def test_risk_contributions_are_equal(cov):
    weights = risk_parity(cov)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert (weights > 0).all()
    shares = risk_shares(weights, cov)
    assert (shares.max() - shares.min()) / shares.mean() < 1e-6


@conic_examples
@given(data=st.data(), cov=covariances(2, 6))
def test_risk_contributions_follow_the_budgets(data, cov):
    n = len(cov)
    budgets = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)))
    shares = risk_shares(risk_parity(cov, budgets=budgets), cov)
    np.testing.assert_allclose(shares, budgets / budgets.sum(), rtol=1e-6)


def test_risk_parity_does_not_depend_on_the_covariances_scale():
    _, cov, _ = twelve_bonds(5)
    np.testing.assert_allclose(risk_parity(cov / 252 / 1e4), risk_parity(cov), rtol=1e-9)


# --- rebalancing ---------------------------------------------------------------------------------


def test_rebalancing_worked_by_hand():
    # From (0.1, 0.9), moving w1 up trades 2 units of value per unit of w1, so the marginal
    # utility 0.06 - 0.25 w1 (module-level TWO_*) pays 2c: w1 = (0.06 - 2c) / 0.25 while that
    # is above 0.1, else it stays. No cost: 0.32; c = 0.01: 0.24; c = 0.03: 0.08 < 0.1, stay.
    current = np.array([0.1, 0.9])
    for cost, expected in [(0.0, 0.32), (0.01, 0.24), (0.03, 0.1), (10.0, 0.1)]:
        weights = rebalance(current, TWO_MU, TWO_COV, TWO_RISK_AVERSION, cost)
        np.testing.assert_allclose(weights, [expected, 1 - expected], atol=1e-7, err_msg=cost)


def test_zero_cost_gives_the_mean_variance_target_and_a_prohibitive_one_stays_put():
    mu, cov, sectors = twelve_bonds(6)
    limits = SEED_003_LIMITS.as_kwargs()
    target = mean_variance(mu, cov, 3.0, sector_of=sectors, **limits)
    current = np.full(12, 0.8 / 12)  # meets the limits
    free = rebalance(current, mu, cov, 3.0, 0.0, sector_of=sectors, **limits)
    np.testing.assert_allclose(free, target, atol=1e-6)
    stuck = rebalance(current, mu, cov, 3.0, 1.0, sector_of=sectors, **limits)
    np.testing.assert_allclose(stuck, current, atol=1e-7)


@pytest.mark.parametrize("cost_bps", [20.0, 50.0])
def test_intermediate_cost_matches_slsqp_on_the_split_trades(cost_bps):
    # SLSQP cannot take |w - current| directly; buys u >= 0 and sells v >= 0 with
    # w = current + u - v make the cost linear, c * sum(u + v).
    mu, cov, sectors = twelve_bonds(7)
    mu = 0.07 + (mu - 0.07) / 10  # 6.5% to 7.5%: close enough for tens of bps to matter
    cost = cost_bps / 1e4
    current = np.tile([0.1, 0.05, 0.05], 4)  # 0.8 in bonds, within the limits
    weights = rebalance(
        current, mu, cov, 3.0, cost, sector_of=sectors, **SEED_003_LIMITS.as_kwargs()
    )

    def held(trades):
        return current + trades[:12] - trades[12:]

    def minus_net_utility(trades):
        return -(utility(held(trades), mu, cov, 3.0) - cost * trades.sum())

    def gradient(trades):
        g = mu - 3.0 * cov @ held(trades)
        return -np.concatenate([g, -g]) + cost

    found = minimize(
        minus_net_utility,
        np.zeros(24),
        jac=gradient,
        bounds=[(0, None)] * 24,
        constraints=[
            {"type": "eq", "fun": lambda t: held(t).sum() - 0.8},
            {"type": "ineq", "fun": lambda t: held(t)},
            {"type": "ineq", "fun": lambda t: 0.1 - held(t)},
            {"type": "ineq", "fun": lambda t: 0.25 - held(t).reshape(4, 3).sum(axis=1)},
        ],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert found.success, found.message
    np.testing.assert_allclose(weights, held(found.x), atol=1e-6)
    assert (
        0
        < np.abs(weights - current).sum()
        < np.abs(
            mean_variance(mu, cov, 3.0, sector_of=sectors, **SEED_003_LIMITS.as_kwargs()) - current
        ).sum()
    )


@conic_examples
@given(data=st.data(), cov=covariances(2, 5))
def test_rebalancing_beats_staying_and_jumping_to_the_target_net_of_costs(data, cov):
    n = len(cov)
    mu = data.draw(returns_for(n))
    cost = data.draw(st.floats(0.0, 0.05))
    current = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n)))
    current /= current.sum()

    def net(w):
        return utility(w, mu, cov, 2.0) - cost * np.abs(w - current).sum()

    weights = rebalance(current, mu, cov, 2.0, cost)
    target = mean_variance(mu, cov, 2.0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-7) and weights.min() >= -1e-7
    assert net(weights) >= max(net(current), net(target)) - 1e-8


# --- bad inputs ----------------------------------------------------------------------------------

GOOD_COV = np.diag([0.04, 0.01, 0.02])
GOOD_MU = np.array([0.05, 0.04, 0.03])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mean_variance(GOOD_MU, np.ones((3, 2)), 1.0), r"cov must be a non-empty square"),
        (
            lambda: mean_variance(GOOD_MU, [[1.0, 0.5, 0], [0.4, 1, 0], [0, 0, 1]], 1.0),
            r"cov must be symmetric",
        ),
        (
            lambda: mean_variance(GOOD_MU, np.diag([0.04, -0.01, 0.02]), 1.0),
            r"cov must be positive semidefinite \(smallest eigenvalue -0\.01\)",
        ),
        (
            lambda: mean_variance(GOOD_MU, np.diag([0.04, np.nan, 0.02]), 1.0),
            r"cov must be finite",
        ),
        (
            lambda: mean_variance(GOOD_MU[:2], GOOD_COV, 1.0),
            r"mu must hold one expected return per row of cov: 3 \(got shape \(2,\)\)",
        ),
        (lambda: mean_variance(GOOD_MU, GOOD_COV, 0.0), r"risk_aversion must be a positive"),
        (
            lambda: mean_variance(GOOD_MU, GOOD_COV, 1.0, max_weight=0.25, cash_reserve=0.2),
            r"max_weight of 0\.25 on 3 bonds holds at most 0\.75, less than the 0\.8 that "
            r"1 - cash_reserve puts in bonds",
        ),
        (
            lambda: mean_variance(
                GOOD_MU, GOOD_COV, 1.0, sector_of=["a", "a", "b"], max_sector=0.4
            ),
            r"max_sector of 0\.4 on 2 sectors \(with max_weight None\) holds at most 0\.8, "
            r"less than the 1 that",
        ),
        (
            lambda: mean_variance(GOOD_MU, GOOD_COV, 1.0, max_sector=0.4),
            r"sector_of must name each bond's sector when max_sector is set",
        ),
        (
            lambda: mean_variance(GOOD_MU, GOOD_COV, 1.0, sector_of=["a"], max_sector=0.4),
            r"sector_of must name one sector per bond: 3 \(got 1\)",
        ),
        (
            lambda: mean_variance(GOOD_MU, GOOD_COV, 1.0, cash_reserve=1.5),
            r"cash_reserve must be a fraction in \[0, 1\]",
        ),
        (
            lambda: mean_variance(GOOD_MU, GOOD_COV, 1.0, max_weight=-0.1),
            r"max_weight must be a positive number \(got -0\.1\)",
        ),
        (
            lambda: unconstrained_mean_variance(GOOD_MU, np.diag([0.04, 0.0, 0.02]), 1.0),
            r"cov must be positive definite here \(smallest eigenvalue 0",
        ),
        (
            lambda: rebalance([0.5, 0.5], GOOD_MU, GOOD_COV, 1.0, 0.001),
            r"current must hold one weight per bond: 3 \(got shape \(2,\)\)",
        ),
        (
            lambda: rebalance([0.3, 0.3, 0.4], GOOD_MU, GOOD_COV, 1.0, -0.001),
            r"cost_per_unit_turnover must be a non-negative number \(got -0\.001\)",
        ),
        (
            lambda: risk_parity(np.diag([0.04, 0.0, 0.02])),
            r"cov must be positive definite here",
        ),
        (
            lambda: risk_parity(GOOD_COV, budgets=[1.0, 0.0, 2.0]),
            r"budgets must all be positive \(got \[1\.0, 0\.0, 2\.0\]\)",
        ),
        (
            lambda: black_litterman(GOOD_COV, [0.5, 0.5], 2.5, 0.05, [[1, 0, 0]], [0.1]),
            r"market_weights must hold one weight per bond: 3 \(got shape \(2,\)\)",
        ),
        (
            lambda: black_litterman(GOOD_COV, [0.4, 0.3, 0.3], 2.5, 0.05, [[1, 0]], [0.1]),
            r"P must be a finite matrix with a row per view and 3 columns, one per bond "
            r"\(got shape \(1, 2\)\)",
        ),
        (
            lambda: black_litterman(GOOD_COV, [0.4, 0.3, 0.3], 2.5, 0.05, [[1, 0, 0]], [0.1, 2]),
            r"Q must hold one value per view \(row of P\): 1 \(got shape \(2,\)\)",
        ),
        (
            lambda: black_litterman(
                GOOD_COV, [0.4, 0.3, 0.3], 2.5, 0.05, [[1, 0, 0]], [0.1], np.eye(2)
            ),
            r"omega must be 1x1, one row per view \(got shape \(2, 2\)\)",
        ),
        (
            lambda: black_litterman(GOOD_COV, [0.4, 0.3, 0.3], 2.5, 0.0, [[1, 0, 0]], [0.1]),
            r"tau must be a positive number \(got 0\.0\)",
        ),
        (
            lambda: black_litterman(
                GOOD_COV, [0.4, 0.3, 0.3], 2.5, 0.05, [[1, 0, 0], [2, 0, 0]], [0.1, 0.2],
                np.zeros((2, 2)),
            ),
            r"P must have independent views when omega makes them certain",
        ),
    ],
)  # fmt: skip
def test_bad_inputs_are_refused_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_an_unbounded_problem_is_reported_as_a_solver_failure():
    # No risk and no caps with shorts allowed: buy bond 1 and short bond 2 without end.
    with pytest.raises(PortfolioSolverError, match=r"mean_variance: the solver CLARABEL ended"):
        mean_variance([0.1, 0.0], np.zeros((2, 2)), 1.0, long_only=False)


def test_importing_the_module_leaves_cvxpy_and_scipy_optimize_unloaded():
    code = (
        "import sys, strategies.portfolio\n"
        "print('cvxpy' in sys.modules, 'scipy.optimize' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
