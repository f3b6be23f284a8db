"""Day counts and coupon schedules: hand-computed cases, leap years, QuantLib where it has them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.pricing import (
    CONVENTIONS,
    add_months,
    check_convention,
    coupon_periods,
    is_month_end,
    year_fraction,
)

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2070, 12, 31))


def test_names_are_the_documented_ones():
    assert CONVENTIONS == (
        "30/360",
        "30E/360",
        "ACT/ACT-ICMA",
        "ACT/ACT-ISDA",
        "ACT/365F",
        "ACT/ACT-SEBI",
    )


def test_unknown_name_lists_the_valid_ones():
    valid = "30/360, 30E/360, ACT/ACT-ICMA, ACT/ACT-ISDA, ACT/365F, ACT/ACT-SEBI"
    with pytest.raises(ValueError, match=rf"^unknown day count 'ACT/360'; valid names: {valid}$"):
        year_fraction("ACT/360", date(2024, 1, 1), date(2024, 2, 1))
    with pytest.raises(ValueError, match=r"unknown day count 'act/365f'"):
        check_convention("act/365f")
    assert [check_convention(name) for name in CONVENTIONS] == list(CONVENTIONS)


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match=r"end \(2024-01-01\) is before start \(2024-02-01\)"):
        year_fraction("ACT/365F", date(2024, 2, 1), date(2024, 1, 1))


def test_icma_needs_a_reference_period_that_holds_the_dates():
    for ref_start, ref_end in [(None, None), (date(2024, 1, 1), None), (None, date(2024, 7, 1))]:
        with pytest.raises(ValueError, match="ACT/ACT-ICMA needs the reference coupon period"):
            year_fraction("ACT/ACT-ICMA", date(2024, 1, 1), date(2024, 2, 1), ref_start, ref_end)
    with pytest.raises(ValueError, match=r"is not inside the reference period"):
        year_fraction(
            "ACT/ACT-ICMA", date(2024, 1, 1), date(2024, 8, 1), date(2024, 1, 1), date(2024, 7, 1)
        )
    with pytest.raises(ValueError, match=r"is not inside the reference period"):
        year_fraction(
            "ACT/ACT-ICMA", date(2023, 12, 1), date(2024, 2, 1), date(2024, 1, 1), date(2024, 7, 1)
        )


def test_icma_refuses_a_reference_period_shorter_than_half_a_month():
    # its months, round(12 * days / 365), would be 0: 15 days is 0.49 of a month, 16 days 0.53
    with pytest.raises(
        ValueError,
        match=r"ACT/ACT-ICMA: reference period \[2024-01-01, 2024-01-16\] is too short",
    ):
        year_fraction(
            "ACT/ACT-ICMA", date(2024, 1, 1), date(2024, 1, 5), date(2024, 1, 1), date(2024, 1, 16)
        )
    day = date(2024, 2, 29)
    with pytest.raises(ValueError, match="is too short"):
        year_fraction("ACT/ACT-ICMA", day, day, day, day)
    got = year_fraction(
        "ACT/ACT-ICMA", date(2024, 1, 1), date(2024, 1, 5), date(2024, 1, 1), date(2024, 1, 17)
    )
    assert got == pytest.approx(1 / 12 * 4 / 16, abs=1e-15)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_day_to_itself_is_exactly_zero(convention):
    day = date(2024, 2, 29)
    assert year_fraction(convention, day, day, date(2023, 8, 31), date(2024, 2, 29)) == 0.0


@pytest.mark.parametrize(
    ("convention", "start", "end", "days360"),
    [
        ("30/360", date(2023, 1, 31), date(2023, 2, 28), 28),
        ("30/360", date(2023, 1, 30), date(2023, 3, 31), 60),
        ("30/360", date(2023, 1, 29), date(2023, 3, 31), 62),  # d2 = 31 kept: d1 < 30
        ("30/360", date(2023, 3, 31), date(2023, 5, 31), 60),  # d1 = 31 -> 30, so d2 -> 30
        ("30/360", date(2023, 3, 31), date(2023, 4, 30), 30),
        ("30E/360", date(2023, 1, 31), date(2023, 2, 28), 28),
        ("30E/360", date(2023, 1, 29), date(2023, 3, 31), 61),
        ("30/360", date(2023, 2, 28), date(2023, 8, 31), 183),
        ("30E/360", date(2023, 2, 28), date(2023, 8, 31), 182),
        # leap years: 29 Feb is day 29, not a month end, under both
        ("30/360", date(2023, 8, 31), date(2024, 2, 29), 179),
        ("30E/360", date(2023, 8, 31), date(2024, 2, 29), 179),
        ("30/360", date(2024, 2, 29), date(2024, 8, 31), 182),
        ("30E/360", date(2024, 2, 29), date(2024, 8, 31), 181),
        ("30/360", date(2024, 2, 28), date(2024, 2, 29), 1),
        ("30/360", date(2024, 2, 29), date(2024, 3, 1), 2),
        ("30E/360", date(2024, 2, 29), date(2025, 2, 28), 359),
    ],
)
def test_thirty_360_by_hand(convention, start, end, days360):
    assert year_fraction(convention, start, end) == days360 / 360


def test_act_365f_counts_29_february_as_a_day():
    assert year_fraction("ACT/365F", date(2024, 2, 28), date(2024, 3, 1)) == 2 / 365
    assert year_fraction("ACT/365F", date(2024, 1, 1), date(2025, 1, 1)) == 366 / 365


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2023, 7, 1), date(2024, 7, 1), 184 / 365 + 182 / 366),
        (date(2024, 2, 29), date(2025, 2, 28), 307 / 366 + 58 / 365),
        (date(2024, 2, 28), date(2024, 3, 1), 2 / 366),
        (date(2023, 8, 31), date(2024, 2, 29), 123 / 365 + 59 / 366),
        (date(2020, 3, 1), date(2024, 3, 1), 306 / 366 + 3 + 60 / 366),
        (date(2024, 1, 1), date(2025, 1, 1), 1.0),
        (date(2023, 12, 31), date(2025, 1, 1), 1 / 365 + 1),
    ],
)
def test_act_act_isda_by_hand(start, end, expected):
    assert year_fraction("ACT/ACT-ISDA", start, end) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("start", "end", "ref_start", "ref_end", "expected"),
    [
        # a semi-annual period ending on 29 Feb is half a year; parts are day-proportional
        (date(2023, 8, 31), date(2024, 2, 29), date(2023, 8, 31), date(2024, 2, 29), 0.5),
        (
            date(2023, 8, 31),
            date(2023, 11, 30),
            date(2023, 8, 31),
            date(2024, 2, 29),
            0.5 * 91 / 182,
        ),
        (date(2024, 2, 29), date(2024, 8, 31), date(2024, 2, 29), date(2024, 8, 31), 0.5),
        (date(2024, 2, 29), date(2024, 3, 1), date(2024, 2, 29), date(2024, 8, 31), 0.5 / 184),
        (date(2023, 3, 1), date(2024, 3, 1), date(2023, 3, 1), date(2024, 3, 1), 1.0),
        (
            date(2024, 1, 10),
            date(2024, 3, 10),
            date(2023, 12, 10),
            date(2024, 3, 10),
            0.25 * 60 / 91,
        ),
    ],
)
def test_act_act_icma_by_hand(start, end, ref_start, ref_end, expected):
    got = year_fraction("ACT/ACT-ICMA", start, end, ref_start, ref_end)
    assert got == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("ref_days", "months"),
    [(45, 1), (46, 2), (76, 2), (77, 3), (136, 4), (137, 5), (198, 7), (350, 12), (366, 12)],
)
def test_icma_reference_period_is_its_days_in_months_rounded(ref_days, months):
    # 76 days are 12 * 76 / 365 = 2.499 months, so 2; 137 days are 4.504, so 5
    ref_start = date(2023, 1, 1)
    ref_end = ref_start + timedelta(days=ref_days)
    whole = year_fraction("ACT/ACT-ICMA", ref_start, ref_end, ref_start, ref_end)
    assert whole == pytest.approx(months / 12, abs=1e-15)
    part = year_fraction("ACT/ACT-ICMA", date(2023, 1, 11), ref_end, ref_start, ref_end)
    assert part == pytest.approx(months / 12 * (ref_days - 10) / ref_days, abs=1e-15)


@pytest.mark.parametrize(
    ("start", "end", "anchor", "expected"),
    [
        # annual coupon years: a whole year is 1 with or without 29 February
        (date(2023, 3, 1), date(2024, 3, 1), None, 1.0),
        (date(2024, 3, 1), date(2025, 3, 1), None, 1.0),
        # both halves of the coupon year holding 29 Feb 2024 count over 366 ...
        (date(2023, 8, 15), date(2024, 2, 15), date(2024, 8, 15), 184 / 366),
        (date(2024, 2, 15), date(2024, 8, 15), date(2024, 8, 15), 182 / 366),
        # ... and a half-year anchored on itself counts over 365 if its own year has no 29 Feb
        (date(2023, 8, 15), date(2024, 2, 15), None, 184 / 365),
        # a period starting on 29 Feb: the year (28 Feb 2024, 28 Feb 2025] holds it
        (date(2024, 2, 29), date(2024, 8, 29), date(2025, 2, 28), 182 / 366),
        # a period ending on 29 Feb: the year (28 Feb 2027, 29 Feb 2028]
        (date(2027, 8, 31), date(2028, 2, 29), date(2028, 2, 29), 182 / 366),
        # anchored on 29 Feb 2032, the year (29 Feb 2028, 28 Feb 2029] has 365 days
        (date(2028, 2, 29), date(2028, 8, 31), date(2032, 2, 29), 184 / 365),
        # across two coupon years
        (date(2024, 1, 1), date(2025, 1, 1), date(2025, 7, 1), 182 / 366 + 184 / 365),
    ],
)
def test_act_act_sebi_by_hand(start, end, anchor, expected):
    got = year_fraction("ACT/ACT-SEBI", start, end, None, anchor)
    assert got == pytest.approx(expected, abs=1e-15)


def _sebi_day_by_day(start: date, end: date, anchor: date) -> float:
    """An independent, slow reading of the SEBI rule: one day at a time."""
    total = 0.0
    day = start + timedelta(days=1)
    while day <= end:
        k = 0
        while add_months(anchor, -12 * k) >= day:
            k += 1
        while add_months(anchor, -12 * (k - 1)) < day:
            k -= 1
        lo, hi = add_months(anchor, -12 * k), add_months(anchor, -12 * (k - 1))
        total += 1 / (hi - lo).days  # the window's own length, 366 iff it holds 29 Feb
        day += timedelta(days=1)
    return total


@given(dates, st.integers(0, 800), st.integers(-400, 400))
def test_act_act_sebi_matches_a_day_by_day_count(start, length, anchor_shift):
    end = start + timedelta(days=length)
    anchor = end + timedelta(days=anchor_shift)
    got = year_fraction("ACT/ACT-SEBI", start, end, None, anchor)
    assert got == pytest.approx(_sebi_day_by_day(start, end, anchor), abs=1e-12)


@given(dates, st.integers(0, 800), st.integers(0, 800))
def test_act_act_sebi_is_additive(start, first, second):
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=second)
    anchor = date(2031, 2, 28)

    def yf(a, b):
        return year_fraction("ACT/ACT-SEBI", a, b, None, anchor)

    assert yf(start, middle) + yf(middle, end) == pytest.approx(yf(start, end), abs=1e-13)


def test_add_months_clips_and_keeps_month_ends():
    assert add_months(date(2024, 8, 31), -6) == date(2024, 2, 29)
    assert add_months(date(2023, 8, 31), -6) == date(2023, 2, 28)
    assert add_months(date(2024, 6, 30), -6) == date(2023, 12, 30)
    assert add_months(date(2024, 6, 30), -6, end_of_month=True) == date(2023, 12, 31)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 2, 28), -12, end_of_month=True) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 15), 25) == date(2026, 2, 15)


def _ends(periods):
    return [p.end for p in periods]


def test_schedule_end_of_month_maturity_keeps_month_ends():
    periods = coupon_periods(date(2023, 6, 30), date(2025, 6, 30), 2)
    assert _ends(periods) == [
        date(2023, 12, 31),
        date(2024, 6, 30),
        date(2024, 12, 31),
        date(2025, 6, 30),
    ]
    assert all(p.start == p.ref_start and p.end == p.ref_end for p in periods)
    periods = coupon_periods(date(2023, 2, 28), date(2025, 2, 28), 2)
    assert _ends(periods) == [
        date(2023, 8, 31),
        date(2024, 2, 29),
        date(2024, 8, 31),
        date(2025, 2, 28),
    ]


def test_schedule_keeps_the_day_and_clips_without_drift():
    periods = coupon_periods(date(2023, 8, 30), date(2025, 8, 30), 2)
    assert _ends(periods) == [
        date(2024, 2, 29),
        date(2024, 8, 30),
        date(2025, 2, 28),
        date(2025, 8, 30),
    ]


def test_schedule_short_first_stub_has_a_regular_reference_period():
    periods = coupon_periods(date(2024, 1, 10), date(2025, 6, 15), 4)
    first = periods[0]
    assert (first.start, first.end) == (date(2024, 1, 10), date(2024, 3, 15))
    assert (first.ref_start, first.ref_end) == (date(2023, 12, 15), date(2024, 3, 15))
    assert _ends(periods)[1:] == [
        date(2024, 6, 15),
        date(2024, 9, 15),
        date(2024, 12, 15),
        date(2025, 3, 15),
        date(2025, 6, 15),
    ]
    stub_eom = coupon_periods(date(2024, 1, 10), date(2025, 4, 30), 4)[0]
    assert (stub_eom.ref_start, stub_eom.end) == (date(2023, 10, 31), date(2024, 1, 31))


def test_schedule_shorter_than_a_period_is_one_stub():
    (only,) = coupon_periods(date(2024, 5, 1), date(2024, 6, 15), 1)
    assert (only.start, only.end, only.ref_start) == (
        date(2024, 5, 1),
        date(2024, 6, 15),
        date(2023, 6, 15),
    )


def test_schedule_errors():
    with pytest.raises(ValueError, match="frequency must be 1, 2 or 4, got 3"):
        coupon_periods(date(2024, 1, 1), date(2025, 1, 1), 3)
    with pytest.raises(ValueError, match=r"maturity \(2024-01-01\) must be after issue"):
        coupon_periods(date(2024, 1, 1), date(2024, 1, 1), 2)


def test_is_month_end():
    assert is_month_end(date(2024, 2, 29))
    assert is_month_end(date(2023, 2, 28))
    assert not is_month_end(date(2024, 2, 28))


# --- live differential tests against QuantLib (a dev dependency) --------------------------

ql = pytest.importorskip("QuantLib")


def _qd(day: date):
    return ql.Date(day.day, day.month, day.year)


QL_PLAIN = {
    "30/360": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
    "30E/360": lambda: ql.Thirty360(ql.Thirty360.EurobondBasis),
    "ACT/ACT-ISDA": lambda: ql.ActualActual(ql.ActualActual.ISDA),
    "ACT/365F": ql.Actual365Fixed,
}


@pytest.mark.parametrize("convention", sorted(QL_PLAIN))
@given(start=dates, length=st.integers(0, 4000))
def test_plain_conventions_match_quantlib(convention, start, length):
    end = start + timedelta(days=length)
    expected = QL_PLAIN[convention]().yearFraction(_qd(start), _qd(end))
    assert year_fraction(convention, start, end) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2023, 2, 28), date(2023, 8, 31)),
        (date(2023, 8, 31), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2025, 2, 28)),
    ],
)
def test_30e_360_is_the_eurobond_basis_not_30e_360_isda(start, end):
    # 2006 ISDA Definitions 4.16(g), "30E/360" or "Eurobond Basis", has no February rule;
    # 4.16(h), "30E/360 (ISDA)" (QuantLib's Thirty360.ISDA), makes February's last day the 30th.
    ours = year_fraction("30E/360", start, end)
    assert ours == ql.Thirty360(ql.Thirty360.EurobondBasis).yearFraction(_qd(start), _qd(end))
    assert ours != ql.Thirty360(ql.Thirty360.ISDA).yearFraction(_qd(start), _qd(end))


@given(
    ref_end=dates,
    frequency=st.sampled_from([1, 2, 4]),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
)
def test_icma_matches_quantlib(ref_end, frequency, a, b):
    ref_start = add_months(ref_end, -12 // frequency, end_of_month=True)
    length = (ref_end - ref_start).days
    start = ref_start + timedelta(days=int(min(a, b) * length))
    end = ref_start + timedelta(days=int(max(a, b) * length))
    dc = ql.ActualActual(ql.ActualActual.ISMA)
    expected = dc.yearFraction(_qd(start), _qd(end), _qd(ref_start), _qd(ref_end))
    got = year_fraction("ACT/ACT-ICMA", start, end, ref_start, ref_end)
    assert got == pytest.approx(expected, abs=1e-15)


@given(
    issue=st.dates(min_value=date(1995, 1, 1), max_value=date(2040, 12, 31)),
    months=st.integers(1, 400),
    shift=st.integers(-20, 20),
    month_end=st.booleans(),
    frequency=st.sampled_from([1, 2, 4]),
)
def test_schedule_matches_quantlib(issue, months, shift, month_end, frequency):
    maturity = add_months(issue, months) + timedelta(days=shift)
    if month_end:
        maturity = maturity.replace(day=calendar.monthrange(maturity.year, maturity.month)[1])
    if maturity <= issue:
        maturity = issue + timedelta(days=30)
    periods = coupon_periods(issue, maturity, frequency)
    tenor = ql.Period({1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly}[frequency])
    schedule = ql.Schedule(
        _qd(issue),
        _qd(maturity),
        tenor,
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        is_month_end(maturity),
    )
    leg = ql.FixedRateLeg(schedule, ql.Actual365Fixed(), [100.0], [0.05])
    coupons = [ql.as_coupon(cf) for cf in leg]
    got = [(p.start, p.end, p.ref_start, p.ref_end) for p in periods]
    expected = [
        tuple(
            date(d.year(), d.month(), d.dayOfMonth())
            for d in (
                c.accrualStartDate(),
                c.accrualEndDate(),
                c.referencePeriodStart(),
                c.referencePeriodEnd(),
            )
        )
        for c in coupons
    ]
    assert got == expected
