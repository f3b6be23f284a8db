"""Bond maths against QuantLib (a committed table and live), closed forms and hand computations."""

from __future__ import annotations

import calendar
import csv
import dataclasses
import functools
import importlib.util
import itertools
import math
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sim.pricing import (
    CONVENTIONS,
    Bond,
    PricingError,
    coupon_periods,
    is_month_end,
    year_fraction,
)
from sim.pricing.schedule import FREQUENCIES

REFERENCE = Path(__file__).with_name("reference")


def _load_rows() -> list[dict[str, str]]:
    with (REFERENCE / "bond_reference.csv").open() as handle:
        return list(csv.DictReader(handle))


ROWS = _load_rows()


def _bond(row: dict[str, str]) -> Bond:
    return Bond(
        issue=date.fromisoformat(row["issue"]),
        maturity=date.fromisoformat(row["maturity"]),
        coupon=float(row["coupon"]),
        frequency=int(row["frequency"]),
        day_count=row["day_count"],
    )


def _ours(row: dict[str, str]) -> dict[str, float]:
    bond = _bond(row)
    settle = date.fromisoformat(row["settle"])
    ytm = float(row["ytm"])
    dates, amounts = bond.cashflows(settle)
    return {
        "clean": bond.clean_price(ytm, settle),
        "accrued": bond.accrued(settle),
        "yield": bond.yield_from_price(float(row["clean"]), settle),
        "macaulay": bond.macaulay_duration(ytm, settle),
        "modified": bond.modified_duration(ytm, settle),
        "convexity": bond.convexity(ytm, settle),
        "total_cash": float(amounts.sum()),
        "n_flows": len(dates),
    }


# Tolerances: prices and accrued per 100 face; convexity is relative (it reaches ~1000).
TOLERANCES = {
    "clean": 1e-8,
    "accrued": 1e-10,
    "yield": 1e-10,
    "macaulay": 1e-8,
    "modified": 1e-8,
    "convexity": 1e-8,
    "total_cash": 1e-9,
    "n_flows": 0,
}


def test_reference_table_covers_the_cases():
    assert len(ROWS) >= 500
    assert {r["day_count"] for r in ROWS} == set(CONVENTIONS) - {"ACT/ACT-SEBI"}
    assert {r["frequency"] for r in ROWS} == {"1", "2", "4"}
    assert sum(float(r["coupon"]) == 0 for r in ROWS) > 20
    assert sum(float(r["ytm"]) < 0 for r in ROWS) > 20
    assert sum(float(r["accrued"]) == 0 and float(r["coupon"]) > 0 for r in ROWS) > 20


@pytest.mark.parametrize("field", sorted(TOLERANCES))
def test_matches_quantlib_reference_table(field):
    errors = []
    for row in ROWS:
        expected = float(row[field])
        error = abs(_ours(row)[field] - expected)
        if field == "convexity":
            error /= max(1.0, expected)
        errors.append(error)
    worst = int(np.argmax(errors))
    assert errors[worst] <= TOLERANCES[field], ROWS[worst]


def test_yield_recovers_the_generating_yield():
    for row in ROWS:
        assert _ours(row)["yield"] == pytest.approx(float(row["ytm"]), abs=1e-10), row


# --- closed forms and hand computations ----------------------------------------------------

ADDITIVE = ("ACT/365F", "ACT/ACT-ISDA", "ACT/ACT-SEBI")
settles = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))
RATES = st.floats(0.0, 0.2)


@st.composite
def bonds(draw, day_counts=CONVENTIONS, coupons=RATES):
    issue = draw(settles)
    maturity = issue + timedelta(days=draw(st.integers(1, 31 * 365)))
    return Bond(
        issue=issue,
        maturity=maturity,
        coupon=draw(coupons),
        frequency=draw(st.sampled_from([1, 2, 4])),
        day_count=draw(st.sampled_from(day_counts)),
    )


@st.composite
def bond_and_settle(draw, **kwargs):
    bond = draw(bonds(**kwargs))
    days = (bond.maturity - bond.issue).days
    return bond, bond.issue + timedelta(days=draw(st.integers(0, days - 1)))


@given(bond_and_settle(day_counts=ADDITIVE, coupons=st.just(0.0)), st.floats(-0.05, 0.5))
def test_zero_coupon_closed_form(bond_settle, ytm):
    bond, settle = bond_settle
    # Additive day counts: the time to maturity is the plain year fraction from settlement.
    t = year_fraction(bond.day_count, settle, bond.maturity, None, bond.maturity)
    f = bond.frequency
    expected = 100.0 / (1.0 + ytm / f) ** (f * t)
    assert bond.accrued(settle) == 0.0
    assert bond.clean_price(ytm, settle) == pytest.approx(expected, rel=1e-13)


def test_zero_coupon_icma_on_a_coupon_date_is_whole_periods():
    bond = Bond(date(2020, 3, 15), date(2030, 3, 15), 0.0, 2, "ACT/ACT-ICMA")
    settle = date(2024, 9, 15)  # 11 half-years before maturity
    assert bond.cashflow_times(settle).tolist() == [5.5]
    assert bond.clean_price(0.06, settle) == pytest.approx(100.0 / 1.03**11, rel=1e-14)
    assert bond.cashflows(settle) == ([date(2030, 3, 15)], pytest.approx([100.0]))


@given(
    bond_and_settle(day_counts=("30/360", "30E/360", "ACT/ACT-ICMA")),
    st.integers(0, 200),
)
def test_at_par_on_a_coupon_date_when_yield_equals_coupon(bond_settle, pick):
    bond, _ = bond_settle
    # 30/360 bond basis has no February end-of-month rule, so a day > 28, or a maturity at a
    # month's end (28 February keeps the schedule on month ends, 29 February included), makes
    # some periods other than 1/f; keep to dates where every regular period is exactly 1/f.
    assume(bond.maturity.day <= 28 and not is_month_end(bond.maturity))
    regular_starts = [p.start for p in bond.periods() if p.start == p.ref_start]
    assume(regular_starts)
    settle = regular_starts[pick % len(regular_starts)]
    assert bond.accrued(settle) == 0.0
    assert bond.clean_price(bond.coupon, settle) == pytest.approx(100.0, abs=1e-10)


def test_sebi_annual_bond_is_at_par_on_coupon_dates_across_leap_years():
    bond = Bond(date(2023, 4, 13), date(2028, 4, 13), 0.0875, 1, "ACT/ACT-SEBI")
    dates, amounts = bond.cashflows(date(2023, 4, 13))
    assert amounts.tolist() == pytest.approx([8.75] * 4 + [108.75], abs=1e-12)
    for settle in dates[:-1]:
        assert bond.clean_price(0.0875, settle) == pytest.approx(100.0, abs=1e-10)


def test_sebi_semi_annual_bond_by_hand():
    bond = Bond(date(2023, 8, 15), date(2025, 8, 15), 0.10, 2, "ACT/ACT-SEBI")
    settle = date(2024, 5, 1)
    dates, amounts = bond.cashflows(settle)
    assert dates == [date(2024, 8, 15), date(2025, 2, 15), date(2025, 8, 15)]
    # the coupon year (15 Aug 2023, 15 Aug 2024] holds 29 Feb 2024: both halves count over 366
    first = date(2023, 8, 15), date(2024, 2, 15)
    assert bond.cashflows(first[0])[1][0] == pytest.approx(10 * 184 / 366, abs=1e-13)
    expected_amounts = [10 * 182 / 366, 10 * 184 / 365, 100 + 10 * 181 / 365]
    assert amounts.tolist() == pytest.approx(expected_amounts, abs=1e-13)
    assert bond.accrued(settle) == pytest.approx(10 * 76 / 366, abs=1e-13)
    days_to_first = (date(2024, 8, 15) - settle).days
    times = [days_to_first / 366, days_to_first / 366 + 184 / 365, days_to_first / 366 + 1.0]
    assert bond.cashflow_times(settle).tolist() == pytest.approx(times, abs=1e-14)
    ytm = 0.085
    dirty = sum(a * (1 + ytm / 2) ** (-2 * t) for a, t in zip(expected_amounts, times, strict=True))
    assert bond.dirty_price(ytm, settle) == pytest.approx(dirty, abs=1e-12)
    assert bond.clean_price(ytm, settle) == pytest.approx(dirty - 10 * 76 / 366, abs=1e-12)


@pytest.mark.parametrize(
    ("day_count", "coupon_fraction"),
    [
        # the period 31 Aug 2023 -> 29 Feb 2024 of an end-of-month semi-annual bond
        ("30/360", 179 / 360),
        ("30E/360", 179 / 360),
        ("ACT/ACT-ICMA", 0.5),
        ("ACT/ACT-ISDA", 123 / 365 + 59 / 366),
        ("ACT/365F", 182 / 365),
        ("ACT/ACT-SEBI", 182 / 366),  # the coupon year (31 Aug 2023, 31 Aug 2024]
    ],
)
def test_leap_year_coupons_by_hand(day_count, coupon_fraction):
    bond = Bond(date(2021, 8, 31), date(2026, 8, 31), 0.08, 2, day_count)
    dates, amounts = bond.cashflows(date(2023, 9, 1))
    assert dates[0] == date(2024, 2, 29)
    assert amounts[0] == pytest.approx(8.0 * coupon_fraction, abs=1e-13)
    # accrued on 29 Feb itself is zero, the next day one day's worth from 29 Feb
    assert bond.accrued(date(2024, 2, 29)) == 0.0
    one_day = {
        "30/360": 2 / 360,  # 29 Feb -> 1 Mar is two 30/360 days
        "30E/360": 2 / 360,
        "ACT/ACT-ICMA": 0.5 / 184,
        "ACT/ACT-ISDA": 1 / 366,
        "ACT/365F": 1 / 365,
        "ACT/ACT-SEBI": 1 / 366,
    }[day_count]
    assert bond.accrued(date(2024, 3, 1)) == pytest.approx(8.0 * one_day, abs=1e-13)


# --- round trips, derivatives and hard cases -----------------------------------------------


@given(bond_and_settle(), st.floats(-0.05, 0.6))
def test_yield_price_yield_round_trip(bond_settle, ytm):
    bond, settle = bond_settle
    times = bond.cashflow_times(settle)
    assume(times[-1] > 0)  # 30/360 can put the only remaining flow at t = 0
    clean = bond.clean_price(ytm, settle)
    solved = bond.yield_from_price(clean, settle)
    # the yield is as exact as the price allows: dy = dP / (P D)
    tolerance = 1e-12 * (1 + 1 / bond.modified_duration(ytm, settle))
    assert solved == pytest.approx(ytm, abs=max(tolerance, 1e-12))
    assert bond.clean_price(solved, settle) == pytest.approx(clean, abs=1e-10)


@given(bond_and_settle(), st.floats(-0.03, 0.3))
def test_duration_and_convexity_match_finite_differences(bond_settle, ytm):
    bond, settle = bond_settle
    assume(bond.cashflow_times(settle)[-1] > 0)
    h = 1e-4
    up, mid, down = (bond.dirty_price(ytm + s, settle) for s in (h, 0.0, -h))
    # central differences, corrected by Richardson extrapolation with step 2h
    up2, down2 = bond.dirty_price(ytm + 2 * h, settle), bond.dirty_price(ytm - 2 * h, settle)
    first = (8 * (up - down) - (up2 - down2)) / (12 * h)
    second = (16 * (up + down) - (up2 + down2) - 30 * mid) / (12 * h * h)
    modified = bond.modified_duration(ytm, settle)
    convexity = bond.convexity(ytm, settle)
    assert modified == pytest.approx(-first / mid, rel=1e-7, abs=1e-9)
    assert convexity == pytest.approx(second / mid, rel=1e-5, abs=1e-4)
    f = bond.frequency
    macaulay = bond.macaulay_duration(ytm, settle)
    assert macaulay == pytest.approx(modified * (1 + ytm / f), rel=1e-14)
    assert bond.dv01(ytm, settle) == pytest.approx(modified * mid * 1e-4, rel=1e-13)


@pytest.mark.parametrize(
    ("bond", "settle", "clean"),
    [
        # deep discount: a 30-year zero at 1% of face
        (Bond(date(2024, 1, 1), date(2054, 1, 1), 0.0, 2, "ACT/365F"), date(2024, 1, 2), 1.0),
        # far below par for a coupon bond, and far above (a negative yield)
        (Bond(date(2020, 5, 5), date(2050, 5, 5), 0.02, 2, "30/360"), date(2024, 6, 7), 5.0),
        (Bond(date(2020, 5, 5), date(2050, 5, 5), 0.12, 2, "30/360"), date(2024, 6, 7), 400.0),
        # a few days before maturity
        (Bond(date(2020, 5, 5), date(2025, 5, 5), 0.07, 4, "ACT/ACT-ICMA"), date(2025, 5, 2), 99.9),
        (
            Bond(date(2020, 5, 5), date(2025, 5, 5), 0.07, 1, "ACT/ACT-SEBI"),
            date(2025, 5, 4),
            100.1,
        ),
        # a one-day stub bond
        (
            Bond(date(2024, 6, 14), date(2024, 6, 15), 0.05, 2, "ACT/ACT-ISDA"),
            date(2024, 6, 14),
            99.99,
        ),
    ],
)
def test_hard_yields_solve_and_reprice(bond, settle, clean):
    ytm = bond.yield_from_price(clean, settle)
    assert bond.clean_price(ytm, settle) == pytest.approx(clean, rel=1e-12)


def test_negative_yield_above_par():
    bond = Bond(date(2020, 1, 15), date(2030, 1, 15), 0.0, 1, "ACT/ACT-ICMA")
    assert bond.yield_from_price(110.0, date(2025, 1, 15)) == pytest.approx(
        110 ** (-1 / 5) * 100 ** (1 / 5) - 1, abs=1e-14
    )


def test_yield_errors_are_clear():
    bond = Bond(date(2020, 5, 5), date(2030, 5, 5), 0.05, 2, "ACT/365F")
    settle = date(2024, 6, 7)
    with pytest.raises(PricingError, match=r"dirty price .* is not positive"):
        bond.yield_from_price(-5.0, settle)
    with pytest.raises(PricingError, match="is not positive"):
        bond.yield_from_price(math.nan, settle)
    # 30E/360: from 30 May to 31 May is no time, so the price cannot depend on the yield
    flat = Bond(date(2024, 11, 30), date(2025, 5, 31), 0.05, 2, "30E/360")
    assert flat.cashflow_times(date(2025, 5, 30)).tolist() == [0.0]
    with pytest.raises(PricingError, match="the price does not depend on the yield"):
        flat.yield_from_price(100.0, date(2025, 5, 30))
    assert isinstance(PricingError("x"), ValueError)


def test_a_price_below_the_cash_paid_at_settlement_names_the_last_cash_flow():
    # 30E/360 from 30 May: the coupon of 31 May (2.5) is at t = 0, then 2.5 at t = 0.5 and
    # 102.5 at t = 1; a clean price of -1 (dirty 1.5) is below what any yield gives.
    bond = Bond(date(2024, 5, 31), date(2026, 5, 31), 0.05, 2, "30E/360")
    settle = date(2025, 5, 30)
    assert bond.cashflow_times(settle).tolist() == [0.0, 0.5, 1.0]
    message = (
        "yield solver did not converge for clean price -1.0 at settle 2025-05-30 "
        "(maturity 2026-05-31, 3 cash flows, last at t=1)"
    )
    with pytest.raises(PricingError, match=f"^{re.escape(message)}$"):
        bond.yield_from_price(-1.0, settle)


def test_cashflows_signature_and_copies():
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "30/360", face=1000.0)
    dates, amounts = bond.cashflows(date(2024, 5, 17))
    assert isinstance(dates, list) and isinstance(amounts, np.ndarray)
    assert len(dates) == amounts.size == 18
    assert dates[0] == date(2024, 8, 6) and dates[-1] == date(2033, 2, 6)
    assert amounts.tolist() == pytest.approx([3.63] * 17 + [103.63], abs=1e-12)
    amounts[:] = 0.0  # a caller's copy: the bond is untouched
    assert bond.cashflows(date(2024, 5, 17))[1][0] == pytest.approx(3.63)
    # accrued from 6 Feb to 17 May 2024 under 30/360: 101 days
    assert bond.accrued(date(2024, 5, 17)) == pytest.approx(7.26 * 101 / 360, abs=1e-13)


def test_the_cached_cash_flows_cannot_be_changed_through_flows():
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "30/360")
    settle = date(2024, 5, 17)
    flows = bond.flows(settle)
    for array in (flows.times, flows.amounts):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0
    assert bond.cashflows(settle)[1][0] == pytest.approx(3.63, abs=1e-12)


def test_bond_is_immutable_and_hashable():
    bond = Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "30/360")
    with pytest.raises(dataclasses.FrozenInstanceError):
        bond.coupon = 0.08  # type: ignore[misc]
    assert bond == Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "30/360")
    assert len({bond, Bond(date(2023, 2, 6), date(2033, 2, 6), 0.0726, 2, "30/360")}) == 1


# --- invalid inputs --------------------------------------------------------------------------

GOOD = {
    "issue": date(2023, 2, 6),
    "maturity": date(2033, 2, 6),
    "coupon": 0.07,
    "frequency": 2,
    "day_count": "30/360",
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"maturity": date(2023, 2, 6)},
            r"maturity \(2023-02-06\) must be after issue \(2023-02-06\)",
        ),
        ({"maturity": date(2020, 1, 1)}, r"maturity \(2020-01-01\) must be after issue"),
        ({"face": -100.0}, r"face must be positive, got -100.0"),
        ({"face": 0.0}, r"face must be positive, got 0.0"),
        ({"face": math.inf}, r"face must be a finite positive amount, got inf"),
        ({"day_count": "ACT/360"}, r"unknown day count 'ACT/360'; valid names: 30/360, 30E/360"),
        ({"frequency": 3}, r"frequency must be 1, 2 or 4 coupons a year .* got 3"),
        ({"frequency": 0}, r"frequency must be 1, 2 or 4 .*zero-coupon bonds use coupon=0.*got 0"),
        ({"frequency": 2.0}, r"frequency must be 1, 2 or 4 .* got 2.0"),
        ({"coupon": -0.01}, r"coupon must not be negative, got -0.01"),
        ({"coupon": math.nan}, r"coupon must be a finite annual rate, got nan"),
        ({"coupon": "7%"}, r"coupon must be a finite annual rate, got '7%'"),
        ({"issue": "2023-02-06"}, r"issue must be a datetime.date, got '2023-02-06'"),
        ({"maturity": datetime(2033, 2, 6)}, r"maturity must be a datetime.date"),
    ],
)
def test_invalid_bonds_are_refused_with_the_field_named(change, message):
    with pytest.raises(ValueError, match=message):
        Bond(**{**GOOD, **change})


@pytest.mark.parametrize("face", [1.0, 0.5, 1])
def test_a_face_of_one_or_less_is_a_positive_denomination(face):
    # prices, accrued interest and cash flows stay per 100 of face
    bond, hundred = Bond(**GOOD, face=face), Bond(**GOOD)
    settle = date(2024, 5, 17)
    assert bond.face == face
    assert bond.clean_price(0.06, settle) == hundred.clean_price(0.06, settle)
    assert bond.accrued(settle) == hundred.accrued(settle)


@pytest.mark.parametrize(
    ("settle", "message"),
    [
        (date(2033, 2, 6), r"settle \(2033-02-06\) is on or after maturity \(2033-02-06\)"),
        (date(2040, 1, 1), r"settle \(2040-01-01\) is on or after maturity"),
        (date(2023, 2, 5), r"settle \(2023-02-05\) is before issue \(2023-02-06\)"),
        ("2024-01-01", r"settle must be a datetime.date, got '2024-01-01'"),
    ],
)
def test_bad_settlement_dates_are_refused(settle, message):
    bond = Bond(**GOOD)
    for method in (bond.accrued, bond.cashflows, lambda s: bond.clean_price(0.05, s)):
        with pytest.raises(ValueError, match=message):
            method(settle)


def test_yield_below_minus_frequency_is_refused():
    bond = Bond(**GOOD)
    with pytest.raises(ValueError, match=r"ytm must be a number above -frequency \(-2\), got -2.5"):
        bond.clean_price(-2.5, date(2024, 1, 1))
    with pytest.raises(ValueError, match="ytm must be a number above -frequency"):
        bond.modified_duration(math.nan, date(2024, 1, 1))


# --- live differential test against QuantLib (a dev dependency) -----------------------------


@functools.cache
def _reference_module():
    pytest.importorskip("QuantLib")
    spec = importlib.util.spec_from_file_location("make_reference", REFERENCE / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@given(st.integers(0, 2**32 - 1))
def test_matches_live_quantlib(seed):
    ref = _reference_module()
    rng = np.random.default_rng(seed)
    bond = ref.random_bond(rng, tuple(ref.QL_DAY_COUNTERS))
    settle = ref.random_settle(rng, bond)
    ytm = ref.random_ytm(rng)
    assume(bond.cashflow_times(settle)[-1] > 0)
    expected = ref.ql_figures(bond, settle, ytm)
    row = {
        "issue": bond.issue.isoformat(),
        "maturity": bond.maturity.isoformat(),
        "coupon": repr(bond.coupon),
        "frequency": str(bond.frequency),
        "day_count": bond.day_count,
        "settle": settle.isoformat(),
        "ytm": repr(ytm),
        "clean": repr(expected["clean"]),
    }
    ours = _ours(row)
    for field, tolerance in TOLERANCES.items():
        scale = max(1.0, expected[field]) if field == "convexity" else 1.0
        assert abs(ours[field] - expected[field]) <= tolerance * scale, (field, row)


def test_schedule_periods_are_what_the_bond_uses():
    bond = Bond(date(2024, 1, 10), date(2025, 6, 15), 0.08, 4, "ACT/ACT-ICMA")
    assert bond.periods() == coupon_periods(bond.issue, bond.maturity, bond.frequency)
    # short first stub: (1/4) * 65 / 91 of a year (ref period 15 Dec 2023 -> 15 Mar 2024)
    assert bond.cashflows(bond.issue)[1][0] == pytest.approx(8 * 0.25 * 65 / 91, abs=1e-13)


LEAP_CASES = [
    # (issue, maturity, frequency, settle): schedules and settlements around 29 Feb 2024
    (date(2021, 2, 28), date(2027, 2, 28), 2, date(2024, 2, 28)),  # month end: 29 Feb coupon
    (date(2021, 2, 28), date(2027, 2, 28), 2, date(2024, 2, 29)),  # settle on that coupon
    (date(2021, 2, 28), date(2027, 2, 28), 4, date(2024, 3, 1)),
    (date(2024, 2, 29), date(2029, 2, 28), 1, date(2024, 2, 29)),  # issued on 29 Feb
    (date(2024, 2, 29), date(2029, 2, 28), 2, date(2025, 1, 30)),
    (date(2023, 11, 15), date(2028, 2, 29), 2, date(2024, 2, 29)),  # matures on 29 Feb
    (date(2023, 11, 15), date(2028, 2, 29), 1, date(2027, 12, 1)),
    (date(2023, 11, 15), date(2026, 5, 15), 2, date(2024, 3, 1)),  # period spans 29 Feb
    (date(2023, 11, 15), date(2026, 5, 15), 4, date(2024, 2, 28)),
]


@pytest.mark.parametrize(
    "day_count", ["30/360", "30E/360", "ACT/ACT-ICMA", "ACT/ACT-ISDA", "ACT/365F"]
)
@pytest.mark.parametrize(("issue", "maturity", "frequency", "settle"), LEAP_CASES)
def test_leap_year_bonds_match_quantlib(day_count, issue, maturity, frequency, settle):
    ref = _reference_module()
    bond = Bond(issue, maturity, 0.0625, frequency, day_count)
    expected = ref.ql_figures(bond, settle, 0.071)
    row = {
        "issue": issue.isoformat(),
        "maturity": maturity.isoformat(),
        "coupon": "0.0625",
        "frequency": str(frequency),
        "day_count": day_count,
        "settle": settle.isoformat(),
        "ytm": "0.071",
        "clean": repr(expected["clean"]),
    }
    ours = _ours(row)
    for field, tolerance in TOLERANCES.items():
        scale = max(1.0, expected[field]) if field == "convexity" else 1.0
        assert abs(ours[field] - expected[field]) <= tolerance * scale, field


# --- month ends and leap years against QuantLib: every convention, every frequency ----------

# Dates stay within 1996-2099, where every fourth year is a leap year (no century year).
YEARS = st.integers(1996, 2064)
KINDS = ("28 Feb", "29 Feb", "month end", "30th", "31st", "1 Mar", "28th or 29th")
_LONG_MONTHS = (1, 3, 5, 7, 8, 10, 12)


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_end_like(year: int, kind: str, month: int) -> date:
    if kind == "28 Feb":
        return date(year, 2, 28)
    if kind == "29 Feb":
        return date(year + (-year % 4), 2, 29)  # in the next leap year
    if kind == "month end":
        return _last_day(year, month)
    if kind == "30th":
        return date(year, 3 if month == 2 else month, 30)
    if kind == "31st":
        return date(year, _LONG_MONTHS[month % len(_LONG_MONTHS)], 31)
    if kind == "1 Mar":
        return date(year, 3, 1)
    return date(year, month, 28 + month % 2)  # 28th or 29th: a month end only in February


@st.composite
def month_end_dates(draw, year):
    """Dates where 30/360 variants, schedules' month-end rule and leap years differ."""
    return _month_end_like(year, draw(st.sampled_from(KINDS)), draw(st.integers(1, 12)))


def _settlement_candidates(bond: Bond) -> list[date]:
    """Coupon dates, and every 1st and 28th-31st from issue to maturity."""
    days = {bond.issue, *(p.start for p in bond.periods())}
    year, month = bond.issue.year, bond.issue.month
    while date(year, month, 1) < bond.maturity:
        last = calendar.monthrange(year, month)[1]
        days.update(date(year, month, d) for d in (1, *range(28, last + 1)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(d for d in days if bond.issue <= d < bond.maturity)


@st.composite
def month_end_bonds(draw, day_count, frequency):
    issue = draw(month_end_dates(draw(YEARS)))
    maturity = draw(month_end_dates(issue.year + draw(st.integers(0, 31))))
    assume(maturity > issue)
    bond = Bond(
        issue, maturity, draw(st.sampled_from([0.0, 0.0123, 0.0625, 0.15])), frequency, day_count
    )
    return bond, draw(st.sampled_from(_settlement_candidates(bond)))


def _years_before(anniversary: date, years: int) -> date:
    try:
        return anniversary.replace(year=anniversary.year - years)
    except ValueError:  # 29 February in a year without one
        return date(anniversary.year - years, 2, 28)


def _sebi_fraction(start: date, end: date, maturity: date) -> float:
    """ACT/ACT-SEBI read independently: each coupon year (maturity's anniversaries) on its own
    length, 366 days if it holds 29 February."""
    total, k = 0.0, 0
    while (hi := _years_before(maturity, k)) > start:
        lo = _years_before(maturity, k + 1)
        overlap = (min(hi, end) - max(lo, start)).days
        total += max(overlap, 0) / (hi - lo).days
        k += 1
    return total


def _reference_figures(bond: Bond, settle: date, ytm: float) -> dict[str, float]:
    """QuantLib's clean price, accrued and modified duration; for ACT/ACT-SEBI, which QuantLib
    lacks, QuantLib's schedule and compounding with `_sebi_fraction` for every year fraction."""
    ref = _reference_module()
    ql = ref.ql
    when = ref.ql_date(settle)
    freq = ref.QL_FREQUENCIES[bond.frequency]
    if bond.day_count != "ACT/ACT-SEBI":
        ql.Settings.instance().evaluationDate = when
        qb = ref.ql_bond(bond)
        dc = ref.QL_DAY_COUNTERS[bond.day_count]()
        return {
            "clean": ql.BondFunctions.cleanPrice(qb, ytm, dc, ql.Compounded, freq, when),
            "accrued": qb.accruedAmount(when),
            "modified": ql.BondFunctions.duration(
                qb, ytm, dc, ql.Compounded, freq, ql.Duration.Modified, when
            ),
        }
    dates = [date(d.year(), d.month(), d.dayOfMonth()) for d in ref.ql_schedule(bond)]
    rate = ql.InterestRate(ytm, ql.Actual365Fixed(), ql.Compounded, freq)
    dirty = time_weighted = accrued = 0.0
    for start, end in itertools.pairwise(dates):
        if start <= settle < end:
            accrued = 100 * bond.coupon * _sebi_fraction(start, settle, bond.maturity)
        if end > settle:
            amount = 100 * bond.coupon * _sebi_fraction(start, end, bond.maturity)
            amount += 100.0 if end == bond.maturity else 0.0
            t = _sebi_fraction(settle, end, bond.maturity)
            dirty += amount * rate.discountFactor(t)
            time_weighted += t * amount * rate.discountFactor(t)
    return {
        "clean": dirty - accrued,
        "accrued": accrued,
        "modified": time_weighted / (dirty * (1 + ytm / bond.frequency)),
    }


@pytest.mark.parametrize("frequency", FREQUENCIES)
@pytest.mark.parametrize("day_count", CONVENTIONS)
@given(data=st.data(), ytm=st.floats(-0.02, 0.3))
def test_month_end_and_leap_year_bonds_match_quantlib(day_count, frequency, data, ytm):
    bond, settle = data.draw(month_end_bonds(day_count, frequency))
    assume(bond.cashflow_times(settle)[-1] > 0)  # 30/360 can put the only flow at t = 0
    expected = _reference_figures(bond, settle, ytm)
    ours = {
        "clean": bond.clean_price(ytm, settle),
        "accrued": bond.accrued(settle),
        "modified": bond.modified_duration(ytm, settle),
    }
    for field, value in expected.items():
        assert abs(ours[field] - value) <= TOLERANCES[field], (field, bond, settle, ytm)


def test_import_stays_light():
    code = (
        "import sys, sim.pricing; "
        "print(sorted(m for m in ('QuantLib', 'lightgbm', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
