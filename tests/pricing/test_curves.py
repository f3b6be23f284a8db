"""Zero curves, par bootstrapping, NSS fits and curve shocks against closed forms."""

import dataclasses
import math
from datetime import date

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from sim.pricing.bond import Bond
from sim.pricing.curve_shocks import (
    ButterflyShock,
    CompositeShock,
    ParallelShock,
    TwistShock,
    path_fraction,
)
from sim.pricing.curves import (
    NSSParams,
    ZeroCurve,
    bootstrap_par_curve,
    cashflow_times,
    dirty_price_on_curve,
    fit_nss,
    fit_nss_to_bonds,
    nss_zero_rate,
    par_bond_price,
    price_cashflows,
)

rates = st.floats(-0.01, 0.20)
times = st.floats(0.0, 50.0)
SAMPLE_CURVE = ZeroCurve((0.5, 1, 2, 5, 10, 30), (0.065, 0.066, 0.068, 0.070, 0.072, 0.071))
PAR_TENORS = (0.5, 1, 2, 3, 5, 7, 10, 15, 30)
PAR_YIELDS = (0.064, 0.0655, 0.067, 0.0685, 0.0705, 0.071, 0.0726, 0.073, 0.0715)


# --- ZeroCurve ---------------------------------------------------------------------------


@given(rates, times)
def test_flat_curve_discounts_at_exp_minus_rt(r, t):
    for interpolation in ("linear", "monotone_cubic"):
        curve = ZeroCurve.flat(r, interpolation)
        assert curve.discount(t) == pytest.approx(math.exp(-r * t), rel=1e-14)
        assert curve.zero_rate(t) == r


def test_linear_interpolation_between_nodes_and_flat_outside():
    c = SAMPLE_CURVE
    assert c.zero_rate(3.5) == pytest.approx(0.068 + (0.070 - 0.068) * 1.5 / 3, abs=1e-16)
    assert c.zero_rate(0.1) == 0.065
    assert c.zero_rate(40.0) == 0.071
    np.testing.assert_array_equal(c.zero_rate(np.array(c.tenors)), np.array(c.rates))


def test_monotone_cubic_hits_nodes_and_keeps_monotone_data_monotone():
    c = ZeroCurve(
        (0.5, 1, 2, 5, 10, 30), (0.06, 0.062, 0.067, 0.07, 0.0705, 0.071), "monotone_cubic"
    )
    grid = np.linspace(0.5, 30, 2000)
    z = c.zero_rate(grid)
    assert np.all(np.diff(z) >= -1e-15)  # PCHIP never overshoots monotone data
    np.testing.assert_allclose(c.zero_rate(np.array(c.tenors)), c.rates, atol=1e-15)
    assert c.zero_rate(0.0) == 0.06 and c.zero_rate(100.0) == 0.071
    # Between nodes it is scipy's PCHIP, not the straight line.
    pchip = PchipInterpolator(c.tenors, c.rates)
    assert c.zero_rate(3.5) == pytest.approx(float(pchip(3.5)), abs=1e-15)
    assert abs(c.zero_rate(3.5) - 0.0685) > 1e-5


def test_vectorised_calls_keep_shape():
    t = np.array([[0.5, 1.0], [7.0, 12.0]])
    assert SAMPLE_CURVE.zero_rate(t).shape == (2, 2)
    assert SAMPLE_CURVE.discount(t).shape == (2, 2)
    assert SAMPLE_CURVE.par_yield(t).shape == (2, 2)
    # A scalar in, a plain float out (not a numpy scalar).
    for value in (
        SAMPLE_CURVE.zero_rate(3.0),
        SAMPLE_CURVE.discount(3.0),
        SAMPLE_CURVE.forward(1.0, 3.0),
        SAMPLE_CURVE.par_yield(3.0),
    ):
        assert type(value) is float


@given(st.floats(0.0, 29.0), st.floats(0.01, 20.0))
def test_forward_rate_links_discount_factors(t1, dt):
    t2 = t1 + dt
    f = SAMPLE_CURVE.forward(t1, t2)
    ratio = SAMPLE_CURVE.discount(t2) / SAMPLE_CURVE.discount(t1)
    assert ratio == pytest.approx(math.exp(-f * (t2 - t1)), rel=1e-12)


@given(rates, st.floats(0.5, 30.0), st.sampled_from([1, 2, 4, 12]))
def test_par_yield_of_flat_curve_is_the_periodic_equivalent_rate(r, maturity, frequency):
    maturity = max(1, round(maturity * frequency)) / frequency  # on the coupon grid
    expected = frequency * math.expm1(r / frequency)
    assert ZeroCurve.flat(r).par_yield(maturity, frequency) == pytest.approx(expected, abs=1e-13)


def test_curve_is_immutable_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLE_CURVE.rates = (0.1,)  # type: ignore[misc]
    same = ZeroCurve(list(SAMPLE_CURVE.tenors), np.array(SAMPLE_CURVE.rates))
    assert same == SAMPLE_CURVE and hash(same) == hash(SAMPLE_CURVE)
    cubic = ZeroCurve(SAMPLE_CURVE.tenors, SAMPLE_CURVE.rates, "monotone_cubic")
    assert cubic == ZeroCurve(same.tenors, same.rates, "monotone_cubic") != SAMPLE_CURVE


@pytest.mark.parametrize(
    ("tenors", "values", "interpolation", "message"),
    [
        ((1, 3, 2), (0.05, 0.05, 0.05), "linear", "strictly increasing"),
        ((1, 2, 2), (0.05, 0.05, 0.05), "linear", "strictly increasing"),
        ((-1, 0, 0.5, 2), (0.05,) * 4, "linear", r"non-negative, got \[-1\.0\]$"),
        ((1, 2), (0.05,), "linear", "differ in length: 2 tenors, 1 rates"),
        ((1,), (0.05, 0.06), "linear", "differ in length: 1 tenors, 2 rates"),
        ((), (), "linear", "at least one tenor"),
        ((1, 2), (0.05, float("nan")), "linear", "finite"),
        ((1, 2), (0.05, 0.06), "cubic", "unknown interpolation 'cubic'"),
    ],
)
def test_bad_curves_are_refused(tenors, values, interpolation, message):
    with pytest.raises(ValueError, match=message):
        ZeroCurve(tenors, values, interpolation)


def test_a_curve_may_start_at_tenor_zero_and_hides_its_interpolator_from_repr():
    curve = ZeroCurve((0, 1), (0.05, 0.06), "monotone_cubic")
    assert curve.zero_rate(0.5) == pytest.approx(0.055, abs=0.005)
    assert "_interp" not in repr(curve) and "Pchip" not in repr(curve)


def test_bad_curve_queries_are_refused():
    with pytest.raises(ValueError, match="t2 > t1"):
        SAMPLE_CURVE.forward(5.0, 5.0)
    with pytest.raises(ValueError, match="maturity > 0"):
        SAMPLE_CURVE.par_yield(0.0)
    with pytest.raises(ValueError, match="frequency must be 1, 2, 4 or 12"):
        SAMPLE_CURVE.par_yield(5.0, 3)


def test_par_yield_treats_a_maturity_within_rounding_of_the_grid_as_on_it():
    assert SAMPLE_CURVE.par_yield(2.0 + 1e-10) == pytest.approx(
        SAMPLE_CURVE.par_yield(2.0), abs=1e-9
    )  # not an extra coupon paid 1e-10 years from now


def test_par_yield_of_a_maturity_just_above_zero_has_one_coupon():
    # A single payment of 1 + c/f at m years prices at par when c = f (exp(r m) - 1).
    m = 4e-10
    expected = 2 * math.expm1(0.05 * m)
    assert ZeroCurve.flat(0.05).par_yield(m) == pytest.approx(expected, rel=1e-6)


def test_bond_prices_off_a_flat_curve_in_closed_form():
    assert par_bond_price(ZeroCurve.flat(0.0), 2.0, 0.06) == pytest.approx(112.0)  # 4 x 3 + 100
    assert par_bond_price(ZeroCurve.flat(0.05), 1.0, 0.10, frequency=1) == pytest.approx(
        110 * math.exp(-0.05), rel=1e-14
    )
    # Semiannual by default, like par_yield: 5 at six months and 105 at one year.
    assert par_bond_price(ZeroCurve.flat(0.05), 1.0, 0.10) == pytest.approx(
        5 * math.exp(-0.025) + 105 * math.exp(-0.05), rel=1e-14
    )
    flows = np.array([0.5, 1.0]), np.array([3.0, 103.0])
    expected = 3 * math.exp(-0.025) + 103 * math.exp(-0.05)
    assert price_cashflows(ZeroCurve.flat(0.05), *flows) == pytest.approx(expected, rel=1e-14)
    # A 1% continuous spread on top of the 5% curve discounts at 6%.
    expected = 3 * math.exp(-0.03) + 103 * math.exp(-0.06)
    assert price_cashflows(ZeroCurve.flat(0.05), *flows, spread=0.01) == pytest.approx(
        expected, rel=1e-14
    )
    bond = Bond(date(2025, 1, 1), date(2026, 1, 1), 0.06, 1, "ACT/365F")  # 365 days: t = 1
    assert dirty_price_on_curve(
        ZeroCurve.flat(0.05), bond, date(2025, 1, 1), spread=0.01
    ) == pytest.approx(106 * math.exp(-0.06), rel=1e-14)


def test_cashflow_times_are_act_365f_from_settle():
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "ACT/365F")
    settle = date(2024, 5, 17)
    times, amounts = cashflow_times(bond, settle)
    dates, expected_amounts = bond.cashflows(settle)
    assert times[0] == (date(2024, 8, 6) - settle).days / 365
    np.testing.assert_allclose(times, bond.cashflow_times(settle), rtol=1e-14)
    np.testing.assert_array_equal(amounts, expected_amounts)
    assert len(dates) == times.size


# --- bootstrapping -----------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", ["linear", "monotone_cubic"])
@pytest.mark.parametrize("frequency", [1, 2, 4])
def test_bootstrap_reprices_every_par_bond(interpolation, frequency):
    curve = bootstrap_par_curve(PAR_TENORS, PAR_YIELDS, frequency, interpolation)
    assert curve.interpolation == interpolation
    for tenor, par in zip(PAR_TENORS, PAR_YIELDS, strict=True):
        assert abs(par_bond_price(curve, tenor, par, frequency) - 100.0) < 1e-10
    np.testing.assert_allclose(
        curve.par_yield(np.array(PAR_TENORS), frequency), PAR_YIELDS, atol=1e-13
    )


@given(st.floats(0.0, 0.15), st.sampled_from([1, 2, 4]))
@example(0.6, 1)  # a crisis-level rate: the zero rate, ln(1.6), is 13% below the par yield
def test_bootstrap_of_flat_par_yields_is_flat_at_the_continuous_rate(y, frequency):
    curve = bootstrap_par_curve((1, 2, 5, 10), (y,) * 4, frequency)
    expected = frequency * math.log1p(y / frequency)
    np.testing.assert_allclose(curve.rates, expected, atol=1e-12)


def test_bootstrap_of_a_par_bond_inside_its_first_coupon_period():
    # One payment of 103 at 3 months: r = 4 ln(1.03) = 11.8%, far above the 6% par yield.
    curve = bootstrap_par_curve((0.25,), (0.06,))
    assert curve.rates[0] == pytest.approx(4 * math.log(1.03), abs=1e-12)


def test_bootstrap_and_par_yield_share_their_default_frequency():
    curve = bootstrap_par_curve(PAR_TENORS, PAR_YIELDS)
    np.testing.assert_allclose(curve.par_yield(np.array(PAR_TENORS)), PAR_YIELDS, atol=1e-13)


def test_bootstrap_refuses_bad_input():
    with pytest.raises(ValueError, match="differ in length: 2 tenors, 1 par yields"):
        bootstrap_par_curve((1, 2), (0.07,))
    with pytest.raises(ValueError, match="differ in length: 1 tenors, 2 par yields"):
        bootstrap_par_curve((1,), (0.07, 0.07))
    with pytest.raises(ValueError, match="strictly increasing"):
        bootstrap_par_curve((2, 1), (0.07, 0.07))
    with pytest.raises(ValueError, match="must be positive"):
        bootstrap_par_curve((0, 1), (0.07, 0.07))
    with pytest.raises(ValueError, match="unknown interpolation 'spline'"):
        bootstrap_par_curve((1, 2), (0.07, 0.07), interpolation="spline")
    with pytest.raises(ValueError, match="at least one par yield"):
        bootstrap_par_curve((), ())


# --- Nelson–Siegel–Svensson --------------------------------------------------------------

TRUE_NSS = NSSParams(beta0=0.072, beta1=-0.012, beta2=0.015, beta3=-0.01, tau1=1.5, tau2=8.0)
NSS_GRID = np.array([0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30])


def test_nss_limits():
    assert nss_zero_rate(1e-12, TRUE_NSS) == pytest.approx(TRUE_NSS.beta0 + TRUE_NSS.beta1)
    assert nss_zero_rate(1e6, TRUE_NSS) == pytest.approx(TRUE_NSS.beta0, abs=1e-6)
    with pytest.raises(ValueError, match="tau1 and tau2 must be positive"):
        nss_zero_rate(1.0, dataclasses.replace(TRUE_NSS, tau2=0.0))
    with pytest.raises(ValueError, match="tau1 and tau2 must be positive"):
        nss_zero_rate(1.0, dataclasses.replace(TRUE_NSS, tau1=-1.0))
    with pytest.raises(ValueError, match="tau1 and tau2 must be positive"):
        nss_zero_rate(1.0, dataclasses.replace(TRUE_NSS, tau1=0.0))


def test_nss_zero_rate_keeps_shape_and_returns_a_float_for_a_scalar():
    assert type(nss_zero_rate(3.0, TRUE_NSS)) is float
    assert nss_zero_rate(np.array([[1.0, 2.0], [5.0, 30.0]]), TRUE_NSS).shape == (2, 2)


@pytest.mark.filterwarnings("error")  # a fit to clean data warns about nothing
def test_nss_fit_recovers_parameters_from_zero_rates():
    fit = fit_nss(NSS_GRID, nss_zero_rate(NSS_GRID, TRUE_NSS))
    np.testing.assert_allclose(fit.params.as_array(), TRUE_NSS.as_array(), atol=1e-7)
    assert fit.rmse < 1e-12
    np.testing.assert_allclose(
        fit.curve.zero_rate(NSS_GRID), nss_zero_rate(NSS_GRID, TRUE_NSS), atol=1e-9
    )


def test_nss_fit_reports_the_rms_of_its_rate_residuals():
    # Zero rates 1 bp above and below the curve in turn: no NSS curve follows them.
    noisy = nss_zero_rate(NSS_GRID, TRUE_NSS) + 1e-4 * (-1.0) ** np.arange(NSS_GRID.size)
    fit = fit_nss(NSS_GRID, noisy)
    residuals = nss_zero_rate(NSS_GRID, fit.params) - noisy
    assert 0.5e-4 < fit.rmse < 1e-4
    assert fit.rmse == pytest.approx(math.sqrt(np.mean(residuals**2)), rel=1e-6)


def test_nss_fit_recovers_a_curve_with_long_rates_below_5_percent():
    low = NSSParams(beta0=0.03, beta1=-0.01, beta2=0.01, beta3=-0.005, tau1=1.0, tau2=6.0)
    fit = fit_nss(NSS_GRID, nss_zero_rate(NSS_GRID, low))
    np.testing.assert_allclose(fit.params.as_array(), low.as_array(), atol=1e-7)


def test_nss_fit_recovers_humps_that_decay_within_a_year():
    short = dataclasses.replace(TRUE_NSS, tau1=0.25, tau2=0.75)
    fit = fit_nss(NSS_GRID, nss_zero_rate(NSS_GRID, short))
    np.testing.assert_allclose(fit.params.as_array(), short.as_array(), atol=1e-7)


def test_nss_fit_takes_exactly_six_points():
    six = np.array([0.5, 1, 2, 5, 10, 30])
    fit = fit_nss(six, nss_zero_rate(six, TRUE_NSS))
    assert fit.rmse < 1e-10
    np.testing.assert_allclose(
        nss_zero_rate(six, fit.params), nss_zero_rate(six, TRUE_NSS), atol=1e-10
    )


NSS_SETTLE = date(2025, 3, 14)
NSS_BONDS = [
    Bond(date(2024, 1, 15), date(2025 + years, 1, 15), 0.06 + 0.002 * years, 2, "ACT/365F")
    for years in (1, 2, 3, 4, 5, 6, 7, 9, 11, 14, 18, 24, 30)
]


def _continuous_yield(times, amounts, dirty):
    return brentq(lambda y: float(np.dot(amounts, np.exp(-y * times))) - dirty, -0.5, 2.0)


@pytest.mark.filterwarnings("error")
def test_nss_fit_recovers_parameters_from_bond_prices():
    clean = []
    for bond in NSS_BONDS:
        t, cf = cashflow_times(bond, NSS_SETTLE)
        dirty = float(np.dot(cf, np.exp(-nss_zero_rate(t, TRUE_NSS) * t)))
        clean.append(dirty - bond.accrued(NSS_SETTLE))
    fit = fit_nss_to_bonds(NSS_BONDS, NSS_SETTLE, clean)
    np.testing.assert_allclose(fit.params.as_array(), TRUE_NSS.as_array(), atol=1e-6)


def test_nss_fit_to_bonds_reports_its_rmse_in_yield_units():
    # Yields 1 bp above and below the curve in turn, which no NSS curve can follow.
    flows = [cashflow_times(bond, NSS_SETTLE) for bond in NSS_BONDS]
    observed, clean = [], []
    for i, (bond, (t, cf)) in enumerate(zip(NSS_BONDS, flows, strict=True)):
        dirty = float(np.dot(cf, np.exp(-(nss_zero_rate(t, TRUE_NSS) + (-1) ** i * 1e-4) * t)))
        observed.append(_continuous_yield(t, cf, dirty))
        clean.append(dirty - bond.accrued(NSS_SETTLE))
    fit = fit_nss_to_bonds(NSS_BONDS, NSS_SETTLE, clean)
    fitted = [
        _continuous_yield(t, cf, float(np.dot(cf, np.exp(-nss_zero_rate(t, fit.params) * t))))
        for t, cf in flows
    ]
    rms_miss = math.sqrt(np.mean((np.array(fitted) - np.array(observed)) ** 2))
    assert 0.5e-4 < rms_miss < 1e-4
    assert fit.rmse == pytest.approx(rms_miss, rel=0.03)


def test_nss_fit_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 6 points"):
        fit_nss((1, 2, 3), (0.07, 0.07, 0.07))
    with pytest.raises(ValueError, match=r"at least 6 points \(6 parameters\), got 5"):
        fit_nss((1, 2, 3, 4, 5), (0.07,) * 5)
    with pytest.raises(ValueError, match="NSS fit tenors must be positive"):
        fit_nss((-1, 1, 2, 3, 4, 5), (0.07,) * 6)
    with pytest.raises(ValueError, match="differ in length"):
        fit_nss((1, 2, 3), (0.07, 0.07))
    with pytest.raises(ValueError, match="at least 6 bonds"):
        fit_nss_to_bonds([], date(2025, 1, 1), [])
    with pytest.raises(ValueError, match=r"at least 6 bonds \(6 parameters\), got 5"):
        fit_nss_to_bonds(NSS_BONDS[:5], NSS_SETTLE, [100.0] * 5)
    with pytest.raises(ValueError, match="bonds and clean_prices differ in length: 6 vs 7"):
        fit_nss_to_bonds(NSS_BONDS[:6], NSS_SETTLE, [100.0] * 7)


def test_nss_fit_to_bonds_takes_exactly_six_bonds():
    fit = fit_nss_to_bonds(NSS_BONDS[:6], NSS_SETTLE, [100.0] * 6)
    assert fit.rmse < 1e-3 and np.isfinite(fit.params.as_array()).all()


# --- curve shocks ------------------------------------------------------------------------


def test_path_interpolates_and_holds_its_ends():
    path = ((2, 0.0), (6, 1.0), (20, 1.0), (30, 0.0))
    assert [path_fraction(path, d) for d in (0, 2, 4, 6, 25, 30, 99)] == [0, 0, 0.5, 1, 0.5, 0, 0]


@given(st.floats(0.0, 40.0), st.floats(-300, 300))
def test_parallel_shock_moves_every_tenor(t, size_bp):
    shocked = ParallelShock(size_bp).apply(SAMPLE_CURVE, day=3)
    assert shocked.zero_rate(t) - SAMPLE_CURVE.zero_rate(t) == pytest.approx(
        size_bp / 1e4, abs=1e-14
    )


@given(st.floats(0.0, 40.0))
def test_twist_is_exact_on_a_linear_curve(t):
    twist = TwistShock(short_bp=150.0, long_bp=40.0, short_pivot=2.0, long_pivot=10.0)
    if t <= 2:
        expected = 150.0
    elif t >= 10:
        expected = 40.0
    else:
        expected = 150.0 + (40.0 - 150.0) * (t - 2) / 8
    move = twist.apply(SAMPLE_CURVE, 0).zero_rate(t) - SAMPLE_CURVE.zero_rate(t)
    assert move == pytest.approx(expected / 1e4, abs=1e-14)


def test_a_twist_may_pivot_at_tenor_zero():
    twist = TwistShock(short_bp=100.0, long_bp=0.0, short_pivot=0.0, long_pivot=10.0)
    np.testing.assert_allclose(twist.shift_bp(np.array([0, 5, 10]), day=0), [100, 50, 0])


@pytest.mark.parametrize(
    "shock",
    [ParallelShock(10.0), TwistShock(10.0, 20.0), ButterflyShock(10.0, -5.0)],
    ids=lambda s: type(s).__name__,
)
def test_shocks_are_immutable_and_hashable(shock):
    with pytest.raises(dataclasses.FrozenInstanceError):
        shock.path = ()
    assert hash(shock) == hash(dataclasses.replace(shock))


def test_a_butterfly_may_start_at_tenor_zero():
    fly = ButterflyShock(wings_bp=20.0, belly_bp=-30.0, short_pivot=0.0, belly=5.0)
    np.testing.assert_allclose(fly.shift_bp(np.array([0, 2.5, 5, 10]), day=0), [20, -5, -30, 20])


def test_twist_pivots_default_to_2_and_10_years():
    twist = TwistShock(short_bp=150.0, long_bp=40.0)
    np.testing.assert_allclose(
        twist.shift_bp(np.array([1, 2, 6, 10, 30]), day=0), [150, 150, 95, 40, 40]
    )


def test_butterfly_moves_wings_and_belly():
    fly = ButterflyShock(wings_bp=20.0, belly_bp=-30.0)
    np.testing.assert_allclose(
        fly.shift_bp(np.array([0.5, 2, 3.5, 5, 7.5, 10, 30]), day=0), [20, 20, -5, -30, -5, 20, 20]
    )


def test_shocks_follow_their_path_and_compose_by_summing():
    ramp = ((0, 0.0), (4, 1.0), (10, 1.0), (20, 0.0))
    a = ParallelShock(100.0, path=ramp)
    b = TwistShock(50.0, -50.0, path=ramp)
    c = ButterflyShock(10.0, -10.0)
    combo = a + b + c
    assert isinstance(combo, CompositeShock) and combo.parts == (a, b, c)
    grid = np.linspace(0, 40, 81)
    for day in (0, 2, 7, 15, 25):
        expected = a.shift_bp(grid, day) + b.shift_bp(grid, day) + c.shift_bp(grid, day)
        np.testing.assert_allclose(combo.shift_bp(grid, day), expected, atol=1e-12)
        moved = combo.apply(SAMPLE_CURVE, day).zero_rate(grid) - SAMPLE_CURVE.zero_rate(grid)
        np.testing.assert_allclose(moved, expected / 1e4, atol=1e-14)
    assert a.apply(SAMPLE_CURVE, 0) == SAMPLE_CURVE  # no move before the ramp starts


def test_default_path_is_a_step_to_full_size_on_day_0():
    shock = ParallelShock(25.0)
    assert shock.path == ((0.0, 1.0),)
    assert shock == ParallelShock(25, ((0, 1.0),))  # numbers made floats, so equal


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ParallelShock("ten"), "ParallelShock field size_bp must be a number"),
        (lambda: ParallelShock(float("inf")), "ParallelShock field size_bp must be finite"),
        (lambda: ParallelShock(1.0, ((5, 1), (5, 0))), "strictly increasing"),
        (lambda: ParallelShock(1.0, ()), "at least one"),
        (lambda: ParallelShock(1.0, ((0, 1, 2),)), "day_offset, fraction"),
        (lambda: TwistShock(1.0, 2.0, short_pivot=10.0), "short_pivot < long_pivot"),
        (lambda: TwistShock(1.0, 2.0, short_pivot=-0.5), "0 <= short_pivot.*got -0.5 and 10.0"),
        (lambda: ButterflyShock(1.0, 2.0, belly=20.0), "short_pivot < belly"),
        (
            lambda: ButterflyShock(1.0, 2.0, short_pivot=-0.5),
            "0 <= short_pivot.*got -0.5, 5.0 and 10.0",
        ),
    ],
)
def test_bad_shocks_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("t", [-0.5, float("nan"), [1.0, -1.0]])
def test_discount_refuses_negative_or_missing_times(t):
    with pytest.raises(ValueError, match="discount factors need finite times >= 0 years"):
        ZeroCurve.flat(0.05).discount(t)
