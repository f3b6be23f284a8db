"""Fair value and its breakdown against closed forms and the Bond's own yield maths."""

import json
import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.pricing.bond import Bond
from sim.pricing.credit import DEFAULT_SPREAD_TABLE, Rating, z_spread
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


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"rating D.*defaulted_value"):
        fair_value_of(BOND, SETTLE, CURVE, "D")
    with pytest.raises(ValueError, match="unknown rating 'Z'"):
        fair_value_of(BOND, SETTLE, CURVE, "Z")
    with pytest.raises(ValueError, match="model_adjustment_bp must be finite"):
        fair_value_of(BOND, SETTLE, CURVE, model_adjustment_bp=float("inf"))
    with pytest.raises(ValueError, match=r"Liquidity.bid_ask_bp must be finite and >= 0"):
        Liquidity(-1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"Liquidity.days_since_trade must be finite"):
        Liquidity(1.0, 0.0, float("nan"))
    with pytest.raises(ValueError, match=r"LiquidityPremiumParams.staleness_days must be > 0"):
        LiquidityPremiumParams(staleness_days=0.0)
    with pytest.raises(ValueError, match=r"LiquidityPremiumParams.cap_bp must be >= 0"):
        LiquidityPremiumParams(cap_bp=-1.0)
