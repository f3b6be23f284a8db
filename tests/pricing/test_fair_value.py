"""Fair value and its breakdown against closed forms and the Bond's own yield maths."""

import dataclasses
import json
import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.pricing.bond import Bond
from sim.pricing.credit import DEFAULT_SPREAD_TABLE, Rating, SpreadTable, z_spread
from sim.pricing.curves import ZeroCurve
from sim.pricing.fair_value import (
    Liquidity,
    LiquidityPremiumParams,
    fair_value_of,
    liquidity_premium_bp,
)

SETTLE = date(2024, 5, 17)
BOND = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "ACT/365F")
CURVE = ZeroCurve((0.5, 1, 2, 5, 10, 30), (0.065, 0.066, 0.068, 0.070, 0.072, 0.071))
LIQ = Liquidity(bid_ask_bp=20.0, depth_rupees=500_000.0, days_since_trade=3.0)


@given(st.floats(0.0, 0.15), st.sampled_from([1, 2, 4]))
def test_flat_curve_without_spread_yields_the_periodic_equivalent_rate(r, frequency):
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, frequency, "ACT/365F")
    fv = fair_value_of(bond, SETTLE, ZeroCurve.flat(r))
    periodic = frequency * math.expm1(r / frequency)
    assert fv.ytm == pytest.approx(periodic, abs=1e-10)
    assert fv.dirty_price == pytest.approx(bond.dirty_price(periodic, SETTLE), rel=1e-13)
    assert fv.total_spread_bp == 0 and all(c.price_effect == 0 for c in fv.components)


def test_full_breakdown_adds_up_exactly_and_matches_each_step():
    fv = fair_value_of(BOND, SETTLE, CURVE, "AA", LIQ, model_adjustment_bp=-5.0)
    rating_bp, liquidity_bp, model_bp = (c.spread_bp for c in fv.components)
    assert [c.name for c in fv.components] == [
        "rating_spread",
        "liquidity_premium",
        "model_adjustment",
    ]
    remaining = (BOND.maturity - SETTLE).days / 365
    assert rating_bp == DEFAULT_SPREAD_TABLE.spread_bp(Rating.AA, remaining)
    assert liquidity_bp == liquidity_premium_bp(LIQ)
    assert model_bp == -5.0
    effects = [c.price_effect for c in fv.components]
    assert sum(effects) == fv.dirty_price - fv.risk_free_dirty_price  # exact, not approximate
    assert effects[0] < 0 and effects[1] < 0 and effects[2] > 0
    assert fv.clean_price == fv.dirty_price - BOND.accrued(SETTLE)
    # The whole spread is the Z-spread of the fair price; the yield is the Bond's own.
    assert z_spread(BOND, CURVE, SETTLE, fv.dirty_price) == pytest.approx(
        (rating_bp + liquidity_bp + model_bp) / 1e4, abs=1e-12
    )
    assert BOND.clean_price(fv.ytm, SETTLE) == pytest.approx(fv.clean_price, abs=1e-9)


def test_rating_spread_is_read_at_the_remaining_life():
    # 3187 days to maturity = 8.7315 years: AA between 140 bp (5y) and 155 bp (10y).
    fv = fair_value_of(BOND, SETTLE, CURVE, "AA")
    assert fv.components[0].spread_bp == pytest.approx(140 + 15 * (3187 / 365 - 5) / 5, rel=1e-14)


def test_custom_spread_table_and_liquidity_parameters_are_used():
    table = SpreadTable((1.0,), {r.value: (10.0 * (r.rank + 1),) for r in list(Rating)[:-1]})
    params = LiquidityPremiumParams(cap_bp=5.0)
    fv = fair_value_of(BOND, SETTLE, CURVE, "A", LIQ, spread_table=table, liquidity_params=params)
    assert [c.spread_bp for c in fv.components] == [60.0, 5.0, 0.0]
    assert fv.inputs.liquidity_params is params


def test_bond_in_its_last_coupon_period():
    # One flow left, 81 days away: the coupon for 2024-02-06 to 2024-08-06 (182 days) and 100.
    # AAA is flat at 45 bp under a year.
    bond = Bond(date(2023, 2, 6), date(2024, 8, 6), 0.0726, 2, "ACT/365F")
    fv = fair_value_of(bond, SETTLE, ZeroCurve.flat(0.07), "AAA")
    flow = 100 + 7.26 * 182 / 365
    assert fv.dirty_price == pytest.approx(flow * math.exp(-(0.07 + 0.0045) * 81 / 365), rel=1e-14)
    assert fv.accrued == pytest.approx(7.26 * 101 / 365, rel=1e-14)


def test_arguments_by_name_and_a_keyword_only_adjustment():
    by_name = fair_value_of(bond=BOND, settle=SETTLE, curve=CURVE, rating="AA", liquidity=LIQ)
    assert by_name.to_dict() == fair_value_of(BOND, SETTLE, CURVE, "AA", LIQ).to_dict()
    with pytest.raises(TypeError):  # a bp figure cannot slip in by position
        fair_value_of(BOND, SETTLE, CURVE, "AA", LIQ, -5.0)


ratings = st.sampled_from([r for r in Rating if r is not Rating.D] + [None])
liquidity = (
    st.builds(Liquidity, st.floats(0, 500), st.floats(0, 1e8), st.floats(0, 365)) | st.none()
)


@given(ratings, liquidity, st.floats(-100, 100))
def test_components_always_sum_to_the_total(rating, liq, model_bp):
    fv = fair_value_of(BOND, SETTLE, CURVE, rating, liq, model_adjustment_bp=model_bp)
    total = fv.dirty_price - fv.risk_free_dirty_price
    assert abs(sum(c.price_effect for c in fv.components) - total) <= 1e-12
    assert fv.total_spread_bp == pytest.approx(sum(c.spread_bp for c in fv.components))


def test_worse_credit_and_liquidity_lower_the_price():
    prices = [fair_value_of(BOND, SETTLE, CURVE, r).clean_price for r in list(Rating)[:-1]]
    assert np.all(np.diff(prices) < 0)
    wide = fair_value_of(BOND, SETTLE, CURVE, "AA", Liquidity(80.0, 500_000.0, 3.0))
    narrow = fair_value_of(BOND, SETTLE, CURVE, "AA", LIQ)
    assert wide.clean_price < narrow.clean_price


def test_liquidity_premium_formula():
    p = LiquidityPremiumParams()
    # Half of 20 bp, half of depth_bp at the reference depth, staleness after one e-folding.
    liq = Liquidity(20.0, p.reference_depth_rupees, p.staleness_days)
    expected = 10.0 + p.depth_bp / 2 + p.staleness_bp * (1 - math.exp(-1))
    assert liquidity_premium_bp(liq) == pytest.approx(expected, rel=1e-14)
    assert liquidity_premium_bp(Liquidity(0.0, 1e15, 0.0)) == pytest.approx(0.0, abs=1e-6)
    assert liquidity_premium_bp(Liquidity(1e4, 0.0, 1e4)) == p.cap_bp


def test_default_liquidity_premium_parameters():
    # Hand-worked with the defaults: half the quoted spread, 25 bp for an empty book (half of it
    # at ₹10 lakh), up to 20 bp of staleness with a 10-day scale, capped at 200 bp.
    assert liquidity_premium_bp(Liquidity(0.0, 0.0, 0.0)) == 25.0
    expected = 10.0 + 12.5 + 20 * (1 - math.exp(-1))
    assert liquidity_premium_bp(Liquidity(20.0, 1_000_000.0, 10.0)) == pytest.approx(
        expected, rel=1e-14
    )
    expected = 6.25 + 20 * (1 - math.exp(-0.5))
    assert liquidity_premium_bp(Liquidity(0.0, 3_000_000.0, 5.0)) == pytest.approx(
        expected, rel=1e-14
    )
    assert liquidity_premium_bp(Liquidity(400.0, 0.0, 0.0)) == 200.0
    assert liquidity_premium_bp(Liquidity(349.0, 0.0, 0.0)) == 199.5


def test_liquidity_parameter_bounds():
    zero = LiquidityPremiumParams(spread_weight=0.0, depth_bp=0.0, staleness_bp=0.0, cap_bp=0.0)
    assert liquidity_premium_bp(LIQ, zero) == 0.0
    # Scales below one are scales too: half a day's staleness, half a rupee of depth.
    short = LiquidityPremiumParams(staleness_days=0.5, reference_depth_rupees=0.5)
    expected = 12.5 + 20 * (1 - math.exp(-1))  # half depth_bp at the reference depth
    assert liquidity_premium_bp(Liquidity(0.0, 0.5, 0.5), short) == pytest.approx(expected)
    for name in ("reference_depth_rupees", "staleness_days"):
        for bad in (-1.0, math.nan):
            with pytest.raises(
                ValueError, match=rf"LiquidityPremiumParams.{name} must be finite and > 0"
            ):
                LiquidityPremiumParams(**{name: bad})
    with pytest.raises(
        ValueError, match=r"LiquidityPremiumParams.spread_weight must be finite and >= 0"
    ):
        LiquidityPremiumParams(spread_weight=math.nan)


def test_fair_and_risk_free_prices_match_quantlib():
    ql = pytest.importorskip("QuantLib")

    def qd(d):
        return ql.Date(d.day, d.month, d.year)

    act365 = ql.Actual365Fixed()
    ql.Settings.instance().evaluationDate = qd(SETTLE)
    ql_curve = ql.FlatForward(qd(SETTLE), 0.068, act365, ql.Continuous, ql.Annual)
    schedule = ql.Schedule(
        qd(BOND.issue),
        qd(BOND.maturity),
        ql.Period(ql.Semiannual),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    ql_bond = ql.FixedRateBond(0, 100.0, schedule, [BOND.coupon], act365)

    def ql_clean(z):
        return ql.BondFunctions.cleanPrice(
            ql_bond, ql_curve, z, act365, ql.Continuous, ql.Annual, qd(SETTLE)
        )

    fv = fair_value_of(BOND, SETTLE, ZeroCurve.flat(0.068), model_adjustment_bp=137.5)
    assert fv.accrued == pytest.approx(
        ql.BondFunctions.accruedAmount(ql_bond, qd(SETTLE)), abs=1e-12
    )
    assert fv.risk_free_clean_price == pytest.approx(ql_clean(0.0), abs=1e-10)
    assert fv.clean_price == pytest.approx(ql_clean(0.01375), abs=1e-10)
    ql_ytm = ql.BondFunctions.bondYield(
        ql_bond,
        ql.BondPrice(fv.clean_price, ql.BondPrice.Clean),
        act365,
        ql.Compounded,
        ql.Semiannual,
        qd(SETTLE),
        1e-14,
        100,
        0.07,
    )
    assert fv.ytm == pytest.approx(ql_ytm, abs=1e-10)


def test_results_and_inputs_are_immutable():
    # Liquidity and its parameters are checked once, at construction, and a fair value records
    # what it was computed from: changing a field afterwards would bypass or falsify that.
    fv = fair_value_of(BOND, SETTLE, CURVE, "AA", LIQ)
    records = [
        (LIQ, "bid_ask_bp"),
        (LiquidityPremiumParams(), "cap_bp"),
        (fv, "clean_price"),
        (fv.components[0], "spread_bp"),
        (fv.inputs, "model_adjustment_bp"),
    ]
    for record, field in records:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, field, -1.0)


def test_readable_outputs():
    fv = fair_value_of(BOND, SETTLE, CURVE, "A+", LIQ, model_adjustment_bp=2.5)
    text = str(fv)
    for label in ("risk-free", "+ rating spread", "+ liquidity premium", "+ model adjustment"):
        assert label in text
    assert f"{fv.clean_price:.4f}" in text and f"{100 * fv.ytm:.4f}%" in text
    d = json.loads(json.dumps(fv.to_dict()))
    assert d["inputs"]["rating"] == "A+" and d["inputs"]["bond"]["maturity"] == "2033-02-06"
    assert [c["name"] for c in d["components"]] == [c.name for c in fv.components]
    assert d["clean_price"] == fv.clean_price
    assert d["risk_free_clean_price"] == d["risk_free_dirty_price"] - d["accrued"]
    assert f"{d['risk_free_clean_price']:>12.4f}" in text.splitlines()[1]


def test_to_dict_records_every_input():
    params = LiquidityPremiumParams(cap_bp=150.0)
    fv = fair_value_of(
        BOND, SETTLE, CURVE, "AA", LIQ, model_adjustment_bp=-5.0, liquidity_params=params
    )
    inputs = json.loads(json.dumps(fv.to_dict()))["inputs"]
    assert inputs == {
        "bond": {
            "issue": "2023-02-06",
            "maturity": "2033-02-06",
            "coupon": 0.0726,
            "frequency": 2,
            "day_count": "ACT/365F",
        },
        "rating": "AA",
        "liquidity": {"bid_ask_bp": 20.0, "depth_rupees": 500_000.0, "days_since_trade": 3.0},
        "liquidity_params": {
            "spread_weight": 0.5,
            "depth_bp": 25.0,
            "reference_depth_rupees": 1_000_000.0,
            "staleness_bp": 20.0,
            "staleness_days": 10.0,
            "cap_bp": 150.0,
        },
        "model_adjustment_bp": -5.0,
        "curve": {
            "tenors": [0.5, 1, 2, 5, 10, 30],
            "rates": [0.065, 0.066, 0.068, 0.070, 0.072, 0.071],
            "interpolation": "linear",
        },
    }
    gsec = fair_value_of(BOND, SETTLE, CURVE).to_dict()["inputs"]
    assert gsec["rating"] is None and gsec["liquidity"] is None


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"rating D.*defaulted_value"):
        fair_value_of(BOND, SETTLE, CURVE, "D")
    with pytest.raises(ValueError, match="unknown rating 'Z'"):
        fair_value_of(BOND, SETTLE, CURVE, "Z")
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="model_adjustment_bp must be finite"):
            fair_value_of(BOND, SETTLE, CURVE, model_adjustment_bp=bad)
    with pytest.raises(ValueError, match=r"settle \(2033-02-06\) is on or after maturity"):
        fair_value_of(BOND, BOND.maturity, CURVE)
    with pytest.raises(ValueError, match=r"Liquidity.bid_ask_bp must be finite and >= 0"):
        Liquidity(-1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"Liquidity.days_since_trade must be finite"):
        Liquidity(1.0, 0.0, float("nan"))
    with pytest.raises(
        ValueError, match=r"Liquidity.depth_rupees must be finite and >= 0, got inf"
    ):
        Liquidity(1.0, math.inf, 0.0)
    with pytest.raises(
        ValueError, match=r"LiquidityPremiumParams.staleness_days must be finite and > 0"
    ):
        LiquidityPremiumParams(staleness_days=0.0)
    with pytest.raises(ValueError, match=r"LiquidityPremiumParams.cap_bp must be finite and >= 0"):
        LiquidityPremiumParams(cap_bp=-1.0)
    # An infinite parameter would turn a term into NaN, which min() with the cap hides.
    for name in ("spread_weight", "reference_depth_rupees"):
        with pytest.raises(ValueError, match=rf"LiquidityPremiumParams.{name} must be finite"):
            LiquidityPremiumParams(**{name: math.inf})
