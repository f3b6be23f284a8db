"""Ratings, spread tables, migration, default value and Z-spreads."""

import dataclasses
import math
from datetime import date, timedelta
from types import SimpleNamespace

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
    with pytest.raises(ValueError, match=r"unknown rating None; expected one of \['AAA', .*'D'\]"):
        Rating.parse(None)


def test_default_spreads_rise_as_ratings_fall_and_with_tenor():
    grid = np.linspace(0.1, 30, 60)
    curves = np.array([DEFAULT_SPREAD_TABLE.spread_bp(r, grid) for r in SCALE[:-1]])
    assert np.all(np.diff(curves, axis=0) > 0)  # strictly worse rating, strictly wider
    assert np.all(np.diff(curves, axis=1) >= 0)


def test_default_spread_table_is_the_documented_one():
    # Every rated fair value rests on these round numbers (bp at 1, 3, 5 and 10 years).
    expected = {
        "AAA": [45, 55, 65, 75],
        "AA+": [80, 90, 100, 115],
        "AA": [110, 125, 140, 155],
        "AA-": [150, 170, 190, 210],
        "A+": [210, 230, 250, 270],
        "A": [270, 290, 310, 330],
        "A-": [340, 365, 390, 410],
        "BBB+": [440, 465, 490, 515],
        "BBB": [540, 565, 590, 615],
        "BBB-": [640, 670, 695, 720],
        "BIG": [900, 925, 950, 975],
    }
    assert DEFAULT_SPREAD_TABLE.tenors == (1.0, 3.0, 5.0, 10.0)
    for rating, row in expected.items():
        assert DEFAULT_SPREAD_TABLE.spread_bp(rating, [1.0, 3.0, 5.0, 10.0]).tolist() == row


def test_spread_lookup_interpolates_and_is_flat_outside():
    t = DEFAULT_SPREAD_TABLE
    aa = DEFAULT_SPREADS_BP[Rating.AA]
    assert t.spread_bp("AA", 4.0) == pytest.approx((aa[1] + aa[2]) / 2)
    assert t.spread_bp("AA", 0.25) == aa[0] and t.spread_bp("AA", 40.0) == aa[-1]
    with pytest.raises(ValueError, match="rating D has no spread"):
        t.spread_bp("D", 5.0)


def test_spread_lookup_gives_a_float_for_a_scalar_and_an_array_for_an_array():
    assert repr(DEFAULT_SPREAD_TABLE.spread_bp("AA", 5.0)) == "140.0"  # not np.float64(140.0)
    out = DEFAULT_SPREAD_TABLE.spread_bp("AA", [[0.5, 2.0], [7.5, 12.0]])
    np.testing.assert_array_equal(out, [[110.0, 117.5], [147.5, 155.0]])


def _table_with(**changes):
    spreads = {r.value: list(v) for r, v in DEFAULT_SPREADS_BP.items()}
    spreads.update(changes)
    return spreads


def test_bad_spread_tables_are_refused():
    tenors = (1.0, 3.0, 5.0, 10.0)
    with pytest.raises(ValueError, match="must not fall as ratings worsen: A- is below A"):
        SpreadTable(tenors, _table_with(**{"A-": [100, 365, 390, 410]}))
    with pytest.raises(ValueError, match="must not fall as ratings worsen: BIG is below BBB-"):
        SpreadTable(tenors, _table_with(BIG=[900, 925, 690, 975]))  # the last pair checked too
    missing = _table_with()
    del missing["BIG"]
    with pytest.raises(ValueError, match=r"missing ratings: \['BIG'\]"):
        SpreadTable(tenors, missing)
    with pytest.raises(ValueError, match="AAA has 3 spreads for 4 tenors"):
        SpreadTable(tenors, _table_with(AAA=[1, 2, 3]))
    with pytest.raises(ValueError, match="AAA has 5 spreads for 4 tenors"):
        SpreadTable(tenors, _table_with(AAA=[1, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match="rating D has no spread"):
        SpreadTable(tenors, _table_with(D=[1, 2, 3, 4]))
    with pytest.raises(ValueError, match="strictly increasing"):
        SpreadTable((1.0, 1.0, 5.0, 10.0), _table_with())
    with pytest.raises(ValueError, match="strictly increasing"):
        SpreadTable((3.0, 1.0, 5.0, 10.0), _table_with())
    with pytest.raises(ValueError, match="must be non-empty"):
        SpreadTable((), {r.value: () for r in SCALE[:-1]})


def test_spread_table_allows_equal_spreads_and_keys_in_any_order():
    spreads = _table_with(**{"AA+": list(DEFAULT_SPREADS_BP[Rating.AAA])})
    table = SpreadTable((1, 3, 5, 10), dict(reversed(spreads.items())))
    assert table.tenors == (1.0, 3.0, 5.0, 10.0)
    assert list(table.spreads_bp) == SCALE[:-1]
    assert table.spread_bp("AA+", 2.0) == table.spread_bp("AAA", 2.0) == 50.0


# --- migration and default ---------------------------------------------------------------


def test_illustrative_matrix_is_stochastic_with_absorbing_default():
    p = np.array(illustrative_migration_matrix().probabilities)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert p[-1, -1] == 1.0 and np.all(p >= 0)
    assert np.all(np.diff(p[:-1, -1]) >= 0)  # default probability rises down the scale


def test_illustrative_matrix_has_the_documented_shape():
    p = np.array(illustrative_migration_matrix().probabilities)
    big, d = Rating.BIG.rank, Rating.D.rank
    np.testing.assert_allclose(np.diag(p)[:-1], 0.92 - 0.012 * np.arange(11), rtol=1e-13)
    assert p[0, d] == 0.0001 and p[big, d] == 0.08
    assert p[0, 1] == pytest.approx(1 - 0.92 - 0.0001, rel=1e-13)  # AAA can only go down
    assert p[big, big - 1] == pytest.approx(1 - 0.80 - 0.08, rel=1e-13)  # BIG only up or to D
    a = Rating.A.rank  # stays 86%, defaults 0.15%, the other 13.85% split 1:2 up:down
    assert p[a, a - 1] == pytest.approx(0.1385 / 3, rel=1e-12)
    assert p[a, a + 1] == pytest.approx(2 * 0.1385 / 3, rel=1e-12)
    for i in range(1, big):  # one notch at a time, downgrades twice as likely
        assert p[i, i + 1] == pytest.approx(2 * p[i, i - 1], rel=1e-12)
        others = np.delete(p[i], [i - 1, i, i + 1, d])
        assert not others.any()


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


def _draws(value):
    # A Generator reaches the ends of [0, 1) once in 2**53 draws: stand in for one that does.
    return SimpleNamespace(random=lambda size: np.full(size, value))


def test_migration_sampler_at_the_ends_of_the_unit_interval():
    p = np.array(illustrative_migration_matrix().probabilities)
    bbb = Rating.BBB.rank
    p[bbb, bbb] -= 5e-10  # within the row-sum tolerance: the row's cumulative sum ends below 1
    matrix = MigrationMatrix(tuple(map(tuple, p)))
    # A zero draw never picks AAA..A-, which BBB cannot reach; the slack at the top goes to D.
    assert matrix.sample(["BBB"], _draws(0.0)) == [Rating.BBB_PLUS]
    assert matrix.sample(["BBB", "AAA"], _draws(1 - 2**-53)) == [Rating.D, Rating.D]


def test_bad_migration_matrices_are_refused():
    good = np.array(illustrative_migration_matrix().probabilities)
    with pytest.raises(ValueError, match=r"must be 12x12 \(AAA..D\), got shape \(2, 2\)"):
        MigrationMatrix(((1.0, 0.0), (0.0, 1.0)))
    with pytest.raises(ValueError, match=r"must be 12x12 \(AAA..D\), got shape \(13, 13\)"):
        MigrationMatrix(tuple(map(tuple, np.eye(13))))
    for bad in (math.nan, math.inf):
        odd = good.copy()
        odd[2, 5] = bad
        with pytest.raises(ValueError, match="must be finite and non-negative"):
            MigrationMatrix(tuple(map(tuple, odd)))
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


def test_recovery_bounds_are_inclusive():
    assert defaulted_value(0.0) == 0.0 and defaulted_value(1.0) == 100.0
    assert DefaultEvent("B1", 3).recovery_rate == 0.4
    assert DefaultEvent("B1", 3, 0.0).recovery_rate == 0.0
    with pytest.raises(ValueError, match=r"recovery_rate must be in \[0, 1\], got nan"):
        defaulted_value(math.nan)


def test_credit_records_are_immutable():
    # Their checks run once, at construction: changing a field afterwards would bypass them.
    records = [
        (DEFAULT_SPREAD_TABLE, "tenors", (1.0,)),
        (RatingChange("B1", 10, "AA"), "new_rating", Rating.D),
        (DefaultEvent("B1", 3), "recovery_rate", 2.0),
        (illustrative_migration_matrix(), "probabilities", ()),
    ]
    for record, field, value in records:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, value)


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
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="dirty price must be positive and finite"):
            z_spread_from_cashflows(t, cf, CURVE, bad)
    with pytest.raises(ValueError, match="has matured"):
        z_spread_from_cashflows(np.array([]), np.array([]), CURVE, 100.0)
    with pytest.raises(ValueError, match=r"at 1e\+06 \(undiscounted cash flows total 107\)"):
        z_spread_from_cashflows(t, cf, CURVE, 1e6)
    for times, amounts in (([0.5, 1.0], [-3.5, 103.5]), ([-0.5, 1.0], [3.5, 103.5])):
        with pytest.raises(ValueError, match="non-negative cash flows at non-negative times"):
            z_spread_from_cashflows(np.array(times), np.array(amounts), CURVE, 95.0)


def test_z_spread_with_a_zero_cash_flow():
    # A coupon holiday: only the 100 in a year counts, so 100 exp(-(5% + z)) = price.
    price = 100 * math.exp(-0.07)
    z = z_spread_from_cashflows(
        np.array([0.5, 1.0]), np.array([0.0, 100.0]), ZeroCurve.flat(0.05), price
    )
    assert z == pytest.approx(0.02, abs=1e-12)


@pytest.mark.parametrize("z", [-3.0, -0.01, 0.7, 30.0])
def test_z_spread_is_found_across_the_search_range(z):
    # One flow of 100 in a year over a zero curve at 0%: the price is 100 exp(-z).
    price = 100 * math.exp(-z)
    times, amounts = np.array([1.0]), np.array([100.0])
    found = z_spread_from_cashflows(times, amounts, ZeroCurve.flat(0.0), price)
    assert found == pytest.approx(z, abs=1e-12)


@pytest.mark.parametrize("z", [-4.0, 40.0])
def test_z_spread_beyond_the_search_range_is_refused(z):
    # The search stops at [-320%, 3200%]: a price past it gets a clear refusal, not a number.
    times, amounts = np.array([1.0]), np.array([100.0])
    with pytest.raises(ValueError, match=r"no Z-spread in \[-3\.2, 32\] reprices"):
        z_spread_from_cashflows(times, amounts, ZeroCurve.flat(0.0), 100 * math.exp(-z))


def test_z_spread_a_day_before_maturity():
    # One flow a day away: the price barely moves with the spread, yet the spread is found.
    bond = Bond(date(2023, 2, 6), date(2024, 5, 18), 0.07, 2, "ACT/365F")
    flow = 100 + 7 * 182 / 365  # the last coupon, for 2023-11-18 to 2024-05-18, and redemption
    dirty = flow * math.exp(-(0.065 + 0.01) / 365)
    assert z_spread(bond, ZeroCurve.flat(0.065), SETTLE, dirty) == pytest.approx(0.01, abs=1e-10)


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
