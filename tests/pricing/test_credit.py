"""Ratings, spread tables, migration, default value and Z-spreads."""

import math
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.pricing.bond import Bond
from sim.pricing.credit import (
    DEFAULT_SPREAD_TABLE,
    DEFAULT_SPREADS_BP,
    DefaultEvent,
    MigrationMatrix,
    Rating,
    RatingChange,
    SpreadTable,
    defaulted_value,
    illustrative_migration_matrix,
    z_spread,
    z_spread_from_cashflows,
)
from sim.pricing.curves import ZeroCurve, dirty_price_on_curve

SETTLE = date(2024, 5, 17)
CURVE = ZeroCurve((0.5, 1, 2, 5, 10, 30), (0.065, 0.066, 0.068, 0.070, 0.072, 0.071))
SCALE = list(Rating)


def test_rating_scale_order_and_parsing():
    assert [r.value for r in SCALE] == [
        "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BIG", "D",
    ]  # fmt: skip
    assert Rating.parse(" aa+ ") is Rating.AA_PLUS
    assert Rating.parse(Rating.D) is Rating.D
    assert Rating.AAA.rank == 0 and Rating.D.rank == 11
    assert Rating.BBB_MINUS.investment_grade and not Rating.BIG.investment_grade
    with pytest.raises(ValueError, match="unknown rating 'BB'"):
        Rating.parse("BB")


def test_default_spreads_rise_as_ratings_fall_and_with_tenor():
    grid = np.linspace(0.1, 30, 60)
    curves = np.array([DEFAULT_SPREAD_TABLE.spread_bp(r, grid) for r in SCALE[:-1]])
    assert np.all(np.diff(curves, axis=0) > 0)  # strictly worse rating, strictly wider
    assert np.all(np.diff(curves, axis=1) >= 0)


def test_spread_lookup_interpolates_and_is_flat_outside():
    t = DEFAULT_SPREAD_TABLE
    aa = DEFAULT_SPREADS_BP[Rating.AA]
    assert t.spread_bp("AA", 4.0) == pytest.approx((aa[1] + aa[2]) / 2)
    assert t.spread_bp("AA", 0.25) == aa[0] and t.spread_bp("AA", 40.0) == aa[-1]
    with pytest.raises(ValueError, match="rating D has no spread"):
        t.spread_bp("D", 5.0)


def _table_with(**changes):
    spreads = {r.value: list(v) for r, v in DEFAULT_SPREADS_BP.items()}
    spreads.update(changes)
    return spreads


def test_bad_spread_tables_are_refused():
    tenors = (1.0, 3.0, 5.0, 10.0)
    with pytest.raises(ValueError, match="must not fall as ratings worsen: A- is below A"):
        SpreadTable(tenors, _table_with(**{"A-": [100, 365, 390, 410]}))
    missing = _table_with()
    del missing["BIG"]
    with pytest.raises(ValueError, match=r"missing ratings: \['BIG'\]"):
        SpreadTable(tenors, missing)
    with pytest.raises(ValueError, match="AAA has 3 spreads for 4 tenors"):
        SpreadTable(tenors, _table_with(AAA=[1, 2, 3]))
    with pytest.raises(ValueError, match="rating D has no spread"):
        SpreadTable(tenors, _table_with(D=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match="strictly increasing"):
        SpreadTable((1.0, 1.0, 5.0, 10.0), _table_with())


# --- migration and default ---------------------------------------------------------------


def test_illustrative_matrix_is_stochastic_with_absorbing_default():
    p = np.array(illustrative_migration_matrix().probabilities)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert p[-1, -1] == 1.0 and np.all(p >= 0)
    assert np.all(np.diff(p[:-1, -1]) >= 0)  # default probability rises down the scale


def test_migration_sampler_matches_probabilities_and_is_seeded():
    matrix = illustrative_migration_matrix()
    start = ["BBB"] * 200_000
    draws = matrix.sample(start, np.random.default_rng(7))
    counts = np.bincount([r.rank for r in draws], minlength=len(SCALE)) / len(start)
    expected = np.array(matrix.probabilities[Rating.BBB.rank])
    np.testing.assert_allclose(counts, expected, atol=4 * np.sqrt(0.25 / len(start)))
    assert matrix.sample(start[:50], np.random.default_rng(3)) == matrix.sample(
        start[:50], np.random.default_rng(3)
    )
    assert set(matrix.sample(["D"] * 100, np.random.default_rng(1))) == {Rating.D}


def test_bad_migration_matrices_are_refused():
    good = np.array(illustrative_migration_matrix().probabilities)
    with pytest.raises(ValueError, match=r"must be 12x12 \(AAA..D\), got shape \(2, 2\)"):
        MigrationMatrix(((1.0, 0.0), (0.0, 1.0)))
    neg = good.copy()
    neg[0, 0], neg[0, 1] = 1.1, -0.1 - neg[0, -1]
    with pytest.raises(ValueError, match="non-negative"):
        MigrationMatrix(tuple(map(tuple, neg)))
    off = good.copy()
    off[3, 3] += 0.01
    with pytest.raises(ValueError, match=r"rows \['AA-'\] do not"):
        MigrationMatrix(tuple(map(tuple, off)))
    leaky = good.copy()
    leaky[-1, -1], leaky[-1, 0] = 0.9, 0.1
    with pytest.raises(ValueError, match="D must be absorbing"):
        MigrationMatrix(tuple(map(tuple, leaky)))


def test_events_and_defaulted_value():
    assert RatingChange("B1", 10, "BBB-").new_rating is Rating.BBB_MINUS
    with pytest.raises(ValueError, match="unknown rating"):
        RatingChange("B1", 10, "junk")
    assert defaulted_value(0.35) == 35.0
    assert defaulted_value(0.5, face=1000.0) == 500.0
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"recovery_rate must be in \[0, 1\]"):
            defaulted_value(bad)
        with pytest.raises(ValueError, match=r"recovery_rate must be in \[0, 1\]"):
            DefaultEvent("B1", 3, bad)


# --- Z-spread ----------------------------------------------------------------------------

bonds = st.builds(
    lambda years, coupon, freq, dc: Bond(
        date(2023, 2, 6), date(2024 + years, 2, 6), coupon, freq, dc
    ),
    st.integers(1, 30),
    st.floats(0.0, 0.12),
    st.sampled_from([1, 2, 4]),
    st.sampled_from(["30/360", "ACT/365F", "ACT/ACT-ICMA"]),
)


@given(bonds, st.floats(-0.02, 0.15))
def test_z_spread_round_trip(bond, z):
    price = dirty_price_on_curve(CURVE, bond, SETTLE, z)
    assert z_spread(bond, CURVE, SETTLE, price) == pytest.approx(z, abs=1e-10)


@given(st.floats(0.03, 0.12), st.floats(0.0, 0.15), st.sampled_from([1, 2, 4]))
def test_z_spread_over_flat_curve_is_the_yield_gap(r, ytm, frequency):
    # ACT/365F bond: its yield discounting uses the same times as the curve, so the
    # Z-spread is the continuous equivalent of the yield minus the flat rate.
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, frequency, "ACT/365F")
    dirty = bond.dirty_price(ytm, SETTLE)
    expected = frequency * math.log1p(ytm / frequency) - r
    assert z_spread(bond, ZeroCurve.flat(r), SETTLE, dirty) == pytest.approx(expected, abs=1e-10)


def test_z_spread_errors_are_clear():
    t, cf = np.array([0.5, 1.0]), np.array([3.5, 103.5])
    with pytest.raises(ValueError, match="dirty price must be positive"):
        z_spread_from_cashflows(t, cf, CURVE, 0.0)
    with pytest.raises(ValueError, match="dirty price must be positive"):
        z_spread_from_cashflows(t, cf, CURVE, float("nan"))
    with pytest.raises(ValueError, match="has matured"):
        z_spread_from_cashflows(np.array([]), np.array([]), CURVE, 100.0)
    with pytest.raises(ValueError, match=r"no Z-spread in .* reprices the bond at 1e\+06"):
        z_spread_from_cashflows(t, cf, CURVE, 1e6)


# --- differential test against QuantLib (a dev dependency) ---------------------------------


def test_z_spread_and_curve_match_quantlib():
    ql = pytest.importorskip("QuantLib")

    def qd(d):
        return ql.Date(d.day, d.month, d.year)

    days = [1, 182, 365, 730, 1825, 3650, 10950]
    zeros = [0.065, 0.065, 0.066, 0.068, 0.070, 0.072, 0.071]
    curve = ZeroCurve(tuple(d / 365 for d in days), tuple(zeros))
    act365 = ql.Actual365Fixed()
    ql.Settings.instance().evaluationDate = qd(SETTLE)
    ql_curve = ql.ZeroCurve(
        [qd(SETTLE)] + [qd(SETTLE + timedelta(days=d)) for d in days],
        [zeros[0], *zeros],
        act365,
        ql.NullCalendar(),
        ql.Linear(),
        ql.Continuous,
        ql.Annual,
    )
    ql_curve.enableExtrapolation()
    for d in (10, 100, 500, 2000, 4000, 10000):  # inside the nodes: QuantLib extrapolates linearly
        assert curve.discount(d / 365) == pytest.approx(
            ql_curve.discount(qd(SETTLE + timedelta(days=d))), rel=1e-12
        )

    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "ACT/365F")
    schedule = ql.Schedule(
        qd(bond.issue),
        qd(bond.maturity),
        ql.Period(ql.Semiannual),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    ql_bond = ql.FixedRateBond(0, 100.0, schedule, [bond.coupon], act365)
    for clean in (85.0, 97.5, 104.0):
        expected = ql.BondFunctions.zSpread(
            ql_bond,
            ql.BondPrice(clean, ql.BondPrice.Clean),
            ql_curve,
            act365,
            ql.Continuous,
            ql.Annual,
            qd(SETTLE),
            1e-14,
            100,
            0.0,
        )
        dirty = clean + bond.accrued(SETTLE)
        assert z_spread(bond, curve, SETTLE, dirty) == pytest.approx(expected, abs=1e-10)
