"""Stress outcomes of hand-built runs, against numbers worked out by hand.

Every test writes its few records straight into a `Recorder`, whose numbers are chosen here so
that each figure can be worked out on paper (the arithmetic is in the comments). The calendar
is four trading days from Monday 2024-01-01, sessions 09:15-15:30; the shock is on day 2 and
the reference is days 0 and 1 unless a test says otherwise.

Bonds: SAFE (AAA), RISKY (A+, grade A), JUNK (BBB-, grade BBB), UNRATED (no rating, counted
as BIG) and OLD (AA, maturing on day 2); ticks of 0.01, so 10_000 ticks is a price of 100.00.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analytics import stress
from sim.analytics.stress import StressWindow
from sim.records.recorder import Recorder
from sim.records.result import Result

OPEN0 = 1_704_100_500 * 10**9  # Monday 2024-01-01 09:15, in ns
DAY = 86_400 * 10**9
MINUTE = 60 * 10**9
OPENS = tuple(OPEN0 + d * DAY for d in range(4))  # Mon-Thu, no holiday
WINDOW = StressWindow(OPENS, shock_day=2, pre_days=2)

CALENDAR = {"start": "2024-01-01", "days": 4, "open": "09:15", "close": "15:30", "holidays": []}
INSTRUMENTS = pl.DataFrame(
    {
        "symbol": ["SAFE", "RISKY", "JUNK", "UNRATED", "OLD"],
        "tick_size": ["0.01"] * 5,
        "unit_face_value": [1000, 100, 100, 100, 100],
        "rating": ["AAA", "A+", "BBB-", None, "AA"],
        "maturity": [date(2030, 1, 1), date(2029, 6, 1), date(2028, 1, 1), None, date(2024, 1, 3)],
    }
)
# Accounts: 1 retail, 4 SIP pool, 5 SIP cohort, 6 and 7 market makers, 8 repo lender, 9 borrower.
AGENTS = pl.DataFrame(
    {
        "agent": [1, 4, 5, 6, 7, 8, 9],
        "kind": ["retail", "sip_pool", "sip", "market_maker", "market_maker", "repo_lender",
                 "repo_borrower"],
    }
)  # fmt: skip


def at(day: int, minutes: float = 30) -> int:
    """`minutes` after the open of trading day `day`."""
    return OPENS[day] + round(minutes * MINUTE)


def trade(rec, time, instrument, price, qty, *, seller=1, buyer=1, aggressor=-1):
    maker, taker = (seller, buyer) if aggressor == 1 else (buyer, seller)
    rec.trade(time, "NSE", instrument, price, qty, 1, 2, maker, taker, aggressor)


def snapshot(rec, time, instrument, bid, ask, *, venue="NSE", qty=10):
    """A one-level book: `bid` and `ask` in ticks (None: an empty side)."""
    rec.book(time, venue, instrument, [] if bid is None else [(bid, qty)],
             [] if ask is None else [(ask, qty)])  # fmt: skip


# --- days and the window ----------------------------------------------------------------------


def test_records_belong_to_the_last_session_opened():
    frame = pl.DataFrame({"time": [OPEN0 - 1, OPEN0, at(0, 400), OPENS[1] - 1, OPENS[3] + DAY]})
    # Before the first open; at it; after the close (still day 0); overnight; after the run.
    assert stress.with_trading_day(frame, WINDOW)["day"].to_list() == [-1, 0, 0, 0, 3]


def test_the_reference_is_the_days_before_the_shock_as_far_as_the_run_goes():
    assert list(WINDOW.reference_days) == [0, 1]
    assert list(StressWindow(OPENS, 2, pre_days=5).reference_days) == [0, 1]
    assert list(StressWindow(OPENS, 3, pre_days=1).reference_days) == [2]
    assert list(StressWindow(OPENS, 0).reference_days) == []
    assert list(StressWindow(OPENS, None).reference_days) == []
    assert WINDOW.start_ns == OPENS[2] and StressWindow(OPENS, None).start_ns is None


@pytest.mark.parametrize(
    ("shock_day", "pre_days", "message"),
    [
        (4, 5, "shock_day must be a trading day of the run, 0 to 3, got 4"),
        (-1, 5, "shock_day must be a trading day of the run, 0 to 3, got -1"),
        (1, 0, "pre_days must be at least 1, got 0"),
    ],
)
def test_a_window_outside_the_run_is_refused(shock_day, pre_days, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        StressWindow(OPENS, shock_day, pre_days)
    with pytest.raises(ValueError, match=r"^days must be at least 1, got 0$"):
        StressWindow(OPENS, 1, days=0)


def test_a_window_of_some_days_ends_before_the_run():
    days = pl.DataFrame({"day": [0, 1, 2, 3]})
    times = pl.DataFrame({"time": [OPENS[1], OPENS[2] - 1, OPENS[2], OPENS[3] - 1, OPENS[3]]})
    whole, one_day = StressWindow(OPENS, 2), StressWindow(OPENS, 2, days=1)
    assert (whole.end_day, one_day.end_day, StressWindow(OPENS, 2, days=9).end_day) == (4, 3, 4)
    assert days.filter(whole.has_day(pl.col("day")))["day"].to_list() == [2, 3]
    assert days.filter(one_day.has_day(pl.col("day")))["day"].to_list() == [2]
    assert times.filter(whole.has_time(pl.col("time"))).height == 3
    assert times.filter(one_day.has_time(pl.col("time")))["time"].to_list() == [
        OPENS[2],
        OPENS[3] - 1,
    ]


def manifest(shocks=(), calendar=CALENDAR) -> dict:
    return {
        "run_id": "hand-seed1-0",
        "seed": 1,
        "scenario": {"run": {"name": "hand"}, "calendar": calendar, "shocks": list(shocks)},
    }


def test_the_window_opens_on_the_earliest_shock_of_the_manifest():
    run = Result(None, manifest([{"kind": "panic", "day": 3}, {"kind": "spread", "day": 2}]))
    window = stress.stress_window(run)
    assert (window.opens, window.shock_day, window.pre_days) == (OPENS, 2, 5)
    assert stress.stress_window(run, shock_day=1, pre_days=3).shock_day == 1
    assert stress.stress_window(Result(None, manifest())).shock_day is None


def test_the_calendar_skips_weekends_and_holidays():
    # Thursday 25 January, Friday 26 (a holiday), the weekend, then Monday 29 and Tuesday 30.
    calendar = {**CALENDAR, "start": "2024-01-25", "days": 3, "holidays": ["2024-01-26"]}
    window = stress.stress_window(Result(None, manifest(calendar=calendar)))
    thursday = OPEN0 + 24 * DAY
    assert window.opens == (thursday, thursday + 4 * DAY, thursday + 5 * DAY)


# --- multiples --------------------------------------------------------------------------------


def spread_book() -> pl.DataFrame:
    rec = Recorder()
    # Day 0: spreads of 10, 40 and 20 bp of a 100.00 mid, on two venues: median 20.
    snapshot(rec, at(0, 5), "SAFE", 9_995, 10_005)
    snapshot(rec, at(0, 10), "SAFE", 9_980, 10_020, venue="BSE")
    snapshot(rec, at(0, 15), "SAFE", 9_990, 10_010)
    snapshot(rec, at(0, 20), "SAFE", 9_000, None)  # one-sided: no spread
    # Day 1: 30 bp. Reference mean (20 + 30) / 2 = 25.
    snapshot(rec, at(1), "SAFE", 9_985, 10_015)
    # Day 2: 50 bp; day 3: 100 bp, the widest. Multiple 100 / 25 = 4.
    snapshot(rec, at(2), "SAFE", 9_975, 10_025)
    snapshot(rec, at(3), "SAFE", 9_950, 10_050)
    snapshot(rec, at(3, 40), "SAFE", None, 10_500)
    return rec.frames()["book"]


def test_daily_quoted_spreads_and_their_multiple():
    daily = stress.daily_quoted_spread(spread_book(), WINDOW)
    assert daily.rows() == [(0, 20.0), (1, 30.0), (2, 50.0), (3, 100.0)]
    assert stress.spread_multiple(spread_book(), WINDOW) == pytest.approx(4.0)


def depth_book() -> pl.DataFrame:
    rec = Recorder()
    for day, safe, risky in ((0, 35, 65), (1, 30, 70)):
        rec.book(at(day), "NSE", "SAFE", [(9_990, safe - 20)], [(10_010, 20)])
        rec.book(at(day), "NSE", "RISKY", [(9_990, risky)], [])
        rec.book(at(day), "NSE", "OLD", [(9_990, 25)], [(10_010, 25)])  # matures on day 2
    # Reference: (35 + 65 + 50) / 3 = 50 and (30 + 70 + 50) / 3 = 50.
    # Day 2: SAFE 20, RISKY empty (no rows, counts 0), OLD matured: (20 + 0) / 2 = 10.
    rec.book(at(2), "NSE", "SAFE", [(9_990, 20)], [])
    # Day 3: SAFE six bid levels of 10 (the sixth not counted), RISKY 30: (50 + 30) / 2 = 40.
    rec.book(at(3), "NSE", "SAFE", [(9_990 - k, 10) for k in range(6)], [])
    rec.book(at(3), "NSE", "RISKY", [], [(10_010, 30)])
    return rec.frames()["book"]


def test_daily_depth_counts_empty_books_until_their_maturity():
    daily = stress.daily_depth(depth_book(), INSTRUMENTS, WINDOW)
    assert daily.rows() == [(0, 50.0), (1, 50.0), (2, 10.0), (3, 40.0)]
    # The shallowest day over the reference: 10 / 50.
    assert stress.depth_multiple(depth_book(), INSTRUMENTS, WINDOW) == pytest.approx(0.2)
    # Best level only: day 0 (15 + 20 + 65 + 25 + 25) / 3 = 50, day 1 50, day 2 10, day 3 20.
    top = stress.daily_depth(depth_book(), INSTRUMENTS, WINDOW, levels=1)
    assert top["depth"].to_list() == [50.0, 50.0, 10.0, 20.0]


def test_traded_volume_counts_face_value_and_quiet_days():
    rec = Recorder()
    trade(rec, at(0), "SAFE", 10_000, 10)  # 10 units of 1,000: 10,000 rupees of face
    trade(rec, at(0, 60), "RISKY", 9_000, 100)  # 100 units of 100: 10,000
    # Day 1: no trades. Reference mean (20,000 + 0) / 2 = 10,000.
    trade(rec, at(2), "SAFE", 10_000, 5)  # 5,000
    trade(rec, at(3), "RISKY", 9_000, 600)  # 60,000: 6 times the reference
    trades = rec.frames()["trades"]
    daily = stress.daily_volume(trades, INSTRUMENTS, WINDOW)
    assert daily.rows() == [(0, 20_000.0), (1, 0.0), (2, 5_000.0), (3, 60_000.0)]
    assert stress.volume_multiple(trades, INSTRUMENTS, WINDOW) == pytest.approx(6.0)


def test_multiples_need_a_shock_and_a_reference():
    daily = pl.DataFrame({"day": [0, 1, 2, 3], "x": [1.0, 3.0, 4.0, 8.0]})
    assert stress.multiple(daily, "x", WINDOW, "max") == pytest.approx(4.0)  # 8 / 2
    assert stress.multiple(daily, "x", WINDOW, "min") == pytest.approx(2.0)  # 4 / 2
    assert stress.multiple(daily, "x", StressWindow(OPENS, None), "max") is None
    assert stress.multiple(daily, "x", StressWindow(OPENS, 0), "max") is None  # no reference
    silent = daily.with_columns(x=pl.Series([0.0, 0.0, 4.0, 8.0]))
    assert stress.multiple(silent, "x", WINDOW, "max") is None  # a reference of nothing
    assert stress.multiple(daily.head(2), "x", WINDOW, "max") is None  # nothing in the window


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.01, 1e6), min_size=4, max_size=12),
    shock_day=st.integers(1, 11),
    pre_days=st.integers(1, 6),
    days=st.none() | st.integers(1, 12),
)
def test_a_multiple_is_the_worst_window_day_over_the_reference_mean(
    values, shock_day, pre_days, days
):
    shock_day = min(shock_day, len(values) - 1)
    opens = tuple(OPEN0 + d * DAY for d in range(len(values)))
    window = StressWindow(opens, shock_day, pre_days, days)
    daily = pl.DataFrame({"day": range(len(values)), "x": values})
    reference = values[max(shock_day - pre_days, 0) : shock_day]
    mean = sum(reference) / len(reference)
    stressed = values[shock_day : None if days is None else shock_day + days]
    expected = [f(stressed) / mean for f in (max, min, lambda v: sum(v) / len(v))]
    got = [stress.multiple(daily, "x", window, worst) for worst in ("max", "min", "mean")]
    assert got == pytest.approx(expected)


# --- fair values ------------------------------------------------------------------------------


def fair_values() -> pl.DataFrame:
    """Yields and credit spreads (bp) as published, the moves from day 1 in the comments."""
    rec = Recorder()
    rows = {
        0: {"SAFE": (0.0700, 50), "RISKY": (0.0900, 250), "JUNK": (0.1100, 450)},
        1: {"SAFE": (0.0710, 55), "RISKY": (0.0910, 260), "JUNK": (0.1120, 460)},
    }
    for day, values in rows.items():
        for symbol, (fair_yield, spread) in values.items():
            rec.fair_value(at(day, 0), symbol, 100.0, fair_yield, spread)
        rec.fair_value(at(day, 0), "UNRATED", 100.0, None, None)  # not priced as a bond
    # Day 2 at the open: first as before the shock (moves 0), then after it, at the same time:
    # yields +50, +100, +200 bp (mean 350 / 3); spreads -10, +80, +140 (mean 70).
    for symbol, (fair_yield, spread) in rows[1].items():
        rec.fair_value(at(2, 0), symbol, 100.0, fair_yield, spread)
    for symbol, fair_yield, spread in (("SAFE", 0.0760, 45), ("RISKY", 0.1010, 340),
                                       ("JUNK", 0.1320, 600)):  # fmt: skip
        rec.fair_value(at(2, 0), symbol, 100.0, fair_yield, spread)
    # Day 3: yields +30, +150, +150 (mean 110); spreads +5, +40, +240 (mean 95).
    for symbol, fair_yield, spread in (("SAFE", 0.0740, 60), ("RISKY", 0.1060, 300),
                                       ("JUNK", 0.1270, 700)):  # fmt: skip
        rec.fair_value(at(3, 0), symbol, 100.0, fair_yield, spread)
    return rec.frames()["fair_values"]


def test_peak_yield_moves_by_grade_from_the_last_values_before_the_window():
    moves = stress.yield_moves(fair_values(), INSTRUMENTS, WINDOW)
    expected = {"all": 350 / 3, "AAA": 50.0, "AA": None, "A": 150.0, "BBB": 200.0, "BIG": None}
    assert moves == pytest.approx(expected)


def test_peak_credit_spread_moves_keep_their_sign():
    moves = stress.credit_spread_moves(fair_values(), INSTRUMENTS, WINDOW)
    # SAFE's largest move is the fall of 10 on day 2, larger than the rise of 5 on day 3.
    expected = {"all": 95.0, "AAA": -10.0, "AA": None, "A": 80.0, "BBB": 240.0, "BIG": None}
    assert moves == pytest.approx(expected)


def test_moves_need_values_before_the_window():
    no_shock = StressWindow(OPENS, None)
    assert set(stress.yield_moves(fair_values(), INSTRUMENTS, no_shock).values()) == {None}
    day_zero = StressWindow(OPENS, 0)  # nothing published before the first open
    assert set(stress.yield_moves(fair_values(), INSTRUMENTS, day_zero).values()) == {None}


# --- lower-rated bonds ------------------------------------------------------------------------


def drawdown_book() -> pl.DataFrame:
    """Mids (ticks) by day; each book quotes 5 ticks either side."""
    rec = Recorder()
    mids = {
        # RISKY peaks at 10_200 on day 1; day 2's mid is the mean of NSE's 9_680 and BSE's
        # 9_700, 9_690: 5% below it; day 3 2% below. Its deepest: 5%.
        "RISKY": {0: [10_000], 1: [10_200], 2: [9_680, 9_700], 3: [9_996]},
        # JUNK falls in the reference (to 9_000) but the peak is day 0's 10_000: 1% and 2%.
        "JUNK": {0: [10_000], 1: [9_000], 2: [9_900], 3: [9_800]},
        # UNRATED (BIG) rises to a new peak of 10_100 on day 2, then 9_696 is 4% below it.
        "UNRATED": {0: [10_000], 2: [10_100], 3: [9_696]},
        "SAFE": {0: [10_000], 3: [5_000]},  # AAA: not lower-rated
    }
    for symbol, days in mids.items():
        for day, per_venue in days.items():
            for venue, mid in zip(("NSE", "BSE"), per_venue, strict=False):
                snapshot(rec, at(day), symbol, mid - 5, mid + 5, venue=venue)
    snapshot(rec, at(3, 60), "JUNK", None, 5_000)  # one-sided: no mid
    return rec.frames()["book"]


def test_drawdown_of_lower_rated_bonds_is_the_median_of_their_deepest_falls():
    # RISKY 5%, JUNK 2%, UNRATED 4%: the median is 4%.
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, WINDOW) == pytest.approx(4.0)
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, WINDOW, ("A",)) == pytest.approx(5.0)
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, WINDOW, ("AAA",)) == pytest.approx(
        50.0
    )


def test_the_drawdown_peak_is_taken_from_the_start_of_the_reference():
    # With one reference day JUNK's day-0 peak of 10_000 is forgotten: from day 1's 9_000 it
    # rises to 9_900 on day 2, and day 3's 9_800 is 1/99 below that.
    window = StressWindow(OPENS, 2, pre_days=1)
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, window, ("BBB",)) == pytest.approx(
        100 / 99
    )
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, WINDOW, ("BBB",)) == pytest.approx(2.0)
    assert stress.drawdown_pct(drawdown_book(), INSTRUMENTS, StressWindow(OPENS, None)) is None


@settings(max_examples=40, deadline=None)
@given(mids=st.lists(st.integers(1_000, 20_000), min_size=2, max_size=6))
def test_a_drawdown_is_the_deepest_fall_below_the_running_peak(mids):
    window = StressWindow(tuple(OPEN0 + d * DAY for d in range(len(mids))), 1, pre_days=1)
    rec = Recorder()
    for day, mid in enumerate(mids):
        snapshot(rec, OPEN0 + day * DAY + MINUTE, "RISKY", mid - 1, mid + 1)
    got = stress.drawdown_pct(rec.frames()["book"], INSTRUMENTS, window)
    falls = [1 - mid / max(mids[: k + 1]) for k, mid in enumerate(mids)][1:]
    assert got == pytest.approx(100 * max(falls))
    assert 0 <= got < 100


def test_the_discount_to_fair_value_is_the_largest_daily_median_in_the_window():
    rec = Recorder()
    rec.fair_value(at(1, 0), "RISKY", 100.0, None, None)
    rec.fair_value(at(2, 0), "RISKY", 100.0, None, None)  # at the open, before the shock
    rec.fair_value(at(2, 0), "RISKY", 95.0, None, None)  # then after it: in force from then
    rec.fair_value(at(3, 0), "RISKY", 96.0, None, None)
    rec.fair_value(at(1, 0), "SAFE", 100.0, None, None)
    trade(rec, at(1), "RISKY", 9_000, 1)  # before the window
    # Day 2 against 95.00: 94.05 is 100 bp below, 95.00 is 0, 91.20 is 400: median 100.
    for price in (9_405, 9_500, 9_120):
        trade(rec, at(2), "RISKY", price, 1)
    # Day 3 against 96.00: 96.96 is 100 bp above (-100), 95.04 100 below: median 0.
    for price in (9_696, 9_504):
        trade(rec, at(3), "RISKY", price, 1)
    trade(rec, at(3), "SAFE", 5_000, 1)  # AAA: not lower-rated
    frames = rec.frames()
    discount = stress.discount_to_fair_bp(frames["trades"], frames["fair_values"], INSTRUMENTS,
                                          WINDOW)  # fmt: skip
    assert discount == pytest.approx(100.0)
    window = StressWindow(OPENS, 3, pre_days=1)  # day 3 alone: its median, 0
    assert stress.discount_to_fair_bp(
        frames["trades"], frames["fair_values"], INSTRUMENTS, window
    ) == pytest.approx(0.0, abs=1e-9)


# A bond in its last coupon period: 10% semi-annual on ACT/365F, paying 100 + 10 x 183/365 on
# 1 June 2024 (the period from 1 December 2023 has 183 days). Its yield at a clean price P,
# settling d days before that with 183 - d days accrued, is the one flow's:
# (1 + y/2)^(2 d/365) = flow / (P + 10 (183 - d)/365).
BULLET = pl.DataFrame(
    {
        "symbol": ["BULLET", "JUNK"],
        "tick_size": ["0.01", "0.01"],
        "unit_face_value": [1000, 1000],
        "rating": ["AAA", "BBB"],
        "issue": [date(2021, 6, 1), date(2021, 6, 1)],
        "maturity": [date(2024, 6, 1), date(2024, 6, 1)],
        "coupon": [0.10, 0.10],
        "frequency": [2, 2],
        "day_count": ["ACT/365F", "ACT/365F"],
    }
)


def bullet_yield(clean: float, days_to_flow: int) -> float:
    flow = 100 + 10 * 183 / 365
    dirty = clean + 10 * (183 - days_to_flow) / 365
    return 2 * ((flow / dirty) ** (365 / (2 * days_to_flow)) - 1)


def test_the_fire_sale_yield_is_the_largest_daily_median_of_sales_over_fair_yield():
    rec = Recorder()
    for day in (1, 2, 3):
        rec.fair_value(at(day, 0), "BULLET", 100.0, None, None)
    trade(rec, at(1), "BULLET", 9_000, 1)  # before the window
    # Day 2 (3 January, 150 days to the flow): sales at 99.80, 99.50 and 99.00 against 100.00,
    # the median 99.50; a purchase at 98.00 (the buyer aggressed) is no fire sale.
    for price in (9_980, 9_950, 9_900):
        trade(rec, at(2), "BULLET", price, 1)
    trade(rec, at(2), "BULLET", 9_800, 1, aggressor=1)
    trade(rec, at(2), "JUNK", 5_000, 1)  # BBB: not AAA
    # Day 3 (149 days): one sale above the fair price, yielding less than it.
    trade(rec, at(3), "BULLET", 10_020, 1)
    frames = rec.frames()
    got = stress.fire_sale_yield_bp(frames["trades"], frames["fair_values"], BULLET, WINDOW)
    expected = (bullet_yield(99.50, 150) - bullet_yield(100.00, 150)) * 1e4  # about 123 bp
    assert got == pytest.approx(expected, rel=1e-6)
    day3 = StressWindow(OPENS, 3, pre_days=1)
    below = (bullet_yield(100.20, 149) - bullet_yield(100.00, 149)) * 1e4
    assert below < 0
    assert stress.fire_sale_yield_bp(
        frames["trades"], frames["fair_values"], BULLET, day3
    ) == pytest.approx(below, rel=1e-6)
    assert stress.fire_sale_yield_bp(frames["trades"], frames["fair_values"], BULLET,
                                     StressWindow(OPENS, None)) is None  # fmt: skip
    # A bond without its terms has no yield to compare.
    termless = BULLET.select("symbol", "tick_size", "unit_face_value", "rating")
    assert stress.fire_sale_yield_bp(frames["trades"], frames["fair_values"], termless,
                                     WINDOW) is None  # fmt: skip


# --- populations ------------------------------------------------------------------------------


def test_sip_absorption_in_the_window_counts_pool_purchases_against_sales_on_the_book():
    rec = Recorder()
    rec.transfer(at(1), "transfer", 4, 5, 1_000, "RISKY", 10)  # pool buys, before the window
    rec.transfer(at(2), "transfer", 4, 5, 3_000, "RISKY", 30)  # pool buys 30
    rec.transfer(at(3), "transfer", 4, 5, 2_000, "JUNK", 20)  # and 20
    rec.transfer(at(3, 60), "transfer", 5, 4, 4_000, "RISKY", 40)  # recycling: the pool sells
    rec.transfer(at(3, 60), "transfer", 1, 5, 6_000, "RISKY", 60)  # not from a pool
    trade(rec, at(2), "RISKY", 9_000, 50, seller=5)  # the cohort sells 50 as taker
    trade(rec, at(3), "RISKY", 9_000, 50, seller=5, aggressor=1)  # and 50 as maker
    trade(rec, at(3), "RISKY", 9_000, 100, buyer=5, aggressor=1)  # it buys: not an exit
    frames = rec.frames()
    share = stress.sip_absorption_window(frames["transfers"], frames["trades"], AGENTS, WINDOW)
    assert share == pytest.approx(50 / 150)
    without_sip = AGENTS.filter(pl.col("kind") != "sip")
    assert stress.sip_absorption_window(frames["transfers"], frames["trades"], without_sip,
                                        WINDOW) is None  # fmt: skip
    assert stress.sip_absorption({"sip": {"absorption_rate_units": 0.75}}) == 0.75
    assert stress.sip_absorption({}) is None


def test_forced_sales_are_what_repo_lenders_sold():
    rec = Recorder()
    trade(rec, at(1), "JUNK", 9_000, 10, seller=8)  # before the window
    trade(rec, at(2), "JUNK", 9_000, 25, seller=8)
    trade(rec, at(3), "JUNK", 9_000, 5, buyer=8)  # a lender buying is no forced sale
    trade(rec, at(3), "JUNK", 9_000, 15, seller=8, aggressor=1)
    trade(rec, at(3), "JUNK", 9_000, 70, seller=9)  # a borrower's own sale
    trades = rec.frames()["trades"]
    assert stress.forced_sale_units_window(trades, AGENTS, WINDOW) == 40
    no_repo = AGENTS.filter(pl.col("kind") != "repo_lender")
    assert stress.forced_sale_units_window(trades, no_repo, WINDOW) is None
    metrics = {"repo": {"margin_calls": 12, "forced_sale_units": 598}}
    assert (stress.margin_calls(metrics), stress.forced_sale_units(metrics)) == (12, 598)
    assert (stress.margin_calls({}), stress.forced_sale_units({})) == (None, None)


def test_maker_presence_is_the_mean_over_makers_that_checked():
    makers = {"maker_6_presence": 0.5, "maker_7_presence": 1.0, "maker_8_presence": None}
    assert stress.maker_presence({"market_makers": makers}) == pytest.approx(0.75)
    assert stress.maker_presence({}) is None


# --- all of it, from a Result -----------------------------------------------------------------


def hand_run(shocks=({"kind": "spread", "day": 2, "size_bp": 300},)) -> Result:
    """A Result holding the spread book, the fair values and two trades."""
    frames = Recorder().frames()
    frames["book"] = spread_book()
    frames["fair_values"] = fair_values()
    rec = Recorder()
    trade(rec, at(0), "SAFE", 10_000, 10)
    trade(rec, at(3), "RISKY", 9_000, 600)
    frames["trades"] = rec.frames()["trades"]
    metrics = {
        "repo": {"margin_calls": 3, "forced_sale_units": 0},
        "market_makers": {"maker_6_presence": 0.5, "maker_7_presence": 0.75},
    }
    tables = {**frames, "agents": AGENTS, "instruments": INSTRUMENTS}
    return Result.in_memory(tables, metrics, manifest(shocks))


def test_stress_outcomes_gather_every_figure():
    out = stress.stress_outcomes(hand_run())
    assert list(out) == [
        "shock_day", "reference_days", "spread_multiple", "depth_multiple", "volume_multiple",
        "turnover_multiple", "yield_move_bp", *(f"yield_move_bp_{g}" for g in stress.GRADES),
        "credit_spread_move_bp", *(f"credit_spread_move_bp_{g}" for g in stress.GRADES),
        "drawdown_pct", "discount_to_fair_bp", "fire_sale_yield_bp", "sip_absorption",
        "sip_absorption_window",
        "margin_calls", "forced_sale_units", "forced_sale_units_window", "maker_presence",
    ]  # fmt: skip
    assert out["shock_day"] == 2 and out["reference_days"] == 2
    assert out["spread_multiple"] == pytest.approx(4.0)
    # SAFE's books hold 10 a side: 20 two-sided, 10 one-sided. Day 0 (20 + 20 + 20 + 10) / 4
    # = 17.5, day 1 20: a reference of 18.75; day 3 (20 + 10) / 2 = 15 is the shallowest.
    assert out["depth_multiple"] == pytest.approx(15 / 18.75)
    assert out["volume_multiple"] == pytest.approx(60_000 / 5_000)  # the reference: 10,000 / 2
    assert out["turnover_multiple"] == pytest.approx(30_000 / 5_000)  # days 2 and 3: 0, 60,000
    assert out["yield_move_bp_BBB"] == pytest.approx(200.0)
    assert out["credit_spread_move_bp_AAA"] == pytest.approx(-10.0)
    assert out["drawdown_pct"] is None  # no two-sided lower-rated book
    assert out["discount_to_fair_bp"] == pytest.approx(1_000.0)  # 90.00 against 100.00
    assert out["fire_sale_yield_bp"] is None  # no AAA sale in the window
    assert out["sip_absorption"] is None  # no "sip" group in its metrics
    assert out["sip_absorption_window"] is None  # no exit handled in the window
    assert out["margin_calls"] == 3 and out["forced_sale_units"] == 0  # its metrics
    assert out["forced_sale_units_window"] == 0  # a lender in the run, but no sales
    assert out["maker_presence"] == pytest.approx(0.625)  # (0.5 + 0.75) / 2
    # A window of one day: day 2, with its 50 bp spread and neither trade.
    day_2 = stress.stress_outcomes(hand_run(), days=1)
    assert day_2["spread_multiple"] == pytest.approx(2.0)
    assert day_2["volume_multiple"] == day_2["turnover_multiple"] == 0.0
    assert day_2["discount_to_fair_bp"] is None


def test_a_run_without_a_shock_has_no_window_but_keeps_its_run_figures():
    out = stress.stress_outcomes(hand_run(shocks=()))
    over_the_run = ("reference_days", "margin_calls", "forced_sale_units", "maker_presence")
    assert {value for key, value in out.items() if key not in over_the_run} == {None}
    assert (out["reference_days"], out["margin_calls"], out["forced_sale_units"]) == (0, 3, 0)
    assert out["maker_presence"] == pytest.approx(0.625)
