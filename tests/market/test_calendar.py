"""Trading calendar: trading days, sessions, gaps, settlement and time conversions."""

from datetime import date, datetime, time, timedelta
from itertools import pairwise

import pytest

from sim.market.calendar import TradingCalendar
from sim.units import NS_PER_DAY

OPEN, CLOSE = time(9, 15), time(15, 30)
HOLIDAY = date(2026, 1, 26)  # a Monday


def make(start=date(2026, 1, 22), days=5, holidays=(HOLIDAY,)) -> TradingCalendar:
    return TradingCalendar(start, days, OPEN, CLOSE, holidays)


def ns(dt: datetime) -> int:
    # Independent reference: datetime arithmetic, not the calendar's own helpers.
    return (dt - datetime(1970, 1, 1)) // timedelta(microseconds=1) * 1000


def test_weekends_and_holidays_are_skipped():
    cal = make()  # Thu 22 Jan 2026, five trading days, Republic Day Monday 26th off
    assert cal.trading_days == (
        date(2026, 1, 22),
        date(2026, 1, 23),
        date(2026, 1, 27),
        date(2026, 1, 28),
        date(2026, 1, 29),
    )


def test_start_on_a_weekend_begins_on_the_next_trading_day():
    cal = make(start=date(2026, 1, 24), days=2)
    assert cal.trading_days == (date(2026, 1, 27), date(2026, 1, 28))


def test_session_bounds_are_integer_ns_of_the_wall_time():
    cal = make()
    open_ns, close_ns = cal.session(2)
    assert open_ns == ns(datetime(2026, 1, 27, 9, 15))
    assert close_ns == ns(datetime(2026, 1, 27, 15, 30))
    assert type(open_ns) is int and type(close_ns) is int
    assert cal.start_ns == ns(datetime(2026, 1, 22, 9, 15))
    assert cal.end_ns == ns(datetime(2026, 1, 29, 15, 30))


def test_day_index_and_in_session():
    cal = make()
    open2, close2 = cal.session(2)
    assert cal.day_index(open2) == 2
    assert cal.day_index(close2 - 1) == 2
    assert cal.day_index(close2 + 3600 * 10**9) == 2  # the evening after belongs to day 2
    assert cal.in_session(open2) and cal.in_session(close2 - 1)
    assert not cal.in_session(close2)
    assert not cal.in_session(open2 - 1)
    assert not cal.in_session(cal.start_ns - 1)
    with pytest.raises(ValueError, match="before the calendar's first open"):
        cal.day_index(cal.start_ns - 1)


def test_next_open_skips_the_weekend_and_the_holiday():
    cal = make()
    friday_close = cal.session(1)[1]
    assert cal.next_open(friday_close) == ns(datetime(2026, 1, 27, 9, 15))
    assert cal.next_open(cal.start_ns) == cal.session(1)[0]  # strictly after
    assert cal.next_open(cal.start_ns - 1) == cal.start_ns
    assert cal.next_open(cal.session(4)[0]) is None


def test_time_past_a_close_continues_at_the_next_open():
    cal = make(start=date(2026, 1, 22), days=3, holidays=(date(2026, 1, 23),))
    thu_open, thu_close = cal.session(0)  # Thursday 22 January
    mon_open, mon_close = cal.session(1)  # Friday is a holiday: Monday 26 January
    assert mon_open == ns(datetime(2026, 1, 26, 9, 15))
    minute = 60 * 10**9
    assert cal.after_gaps(thu_open - 1) == thu_open  # before the first open: at it
    assert cal.after_gaps(thu_open + minute) == thu_open + minute
    # 5 minutes past Thursday's close: Friday is a holiday, so 5 minutes into Monday.
    assert cal.after_gaps(thu_close + 5 * minute) == mon_open + 5 * minute
    assert cal.after_gaps(mon_close + 5 * minute) == cal.session(2)[0] + 5 * minute
    assert cal.after_gaps(cal.session(2)[1] + 1) is None  # past the last close


def test_settlement_t_plus_one_over_a_weekend_and_a_holiday():
    cal = make()
    friday_noon = cal.at(1, time(12, 0))
    assert cal.settlement_time(friday_noon, 1) == ns(datetime(2026, 1, 27, 9, 15))
    assert cal.settlement_time(friday_noon, 2) == ns(datetime(2026, 1, 28, 9, 15))
    assert cal.settlement_time(friday_noon, 0) == friday_noon
    # After Friday's close the trade still belongs to Friday.
    assert cal.settlement_time(cal.session(1)[1] + 10**9, 1) == cal.session(2)[0]


def test_settlement_beyond_the_calendar_extends_with_weekdays_and_holidays():
    cal = make(holidays=(HOLIDAY, date(2026, 2, 2)))
    last = cal.at(4, time(11, 0))  # Thursday 29 Jan, the last day
    assert cal.settlement_time(last, 1) == ns(datetime(2026, 1, 30, 9, 15))
    assert cal.settlement_time(last, 2) == ns(datetime(2026, 2, 3, 9, 15))  # skips Mon 2 Feb
    assert type(cal.settlement_time(last, 2)) is int


def test_round_trips_between_ns_and_wall_time():
    cal = make()
    for i, day in enumerate(cal.trading_days):
        for clock in (OPEN, time(12, 34, 56, 789_012), CLOSE):
            t = cal.at(i, clock)
            assert type(t) is int
            assert cal.to_datetime(t) == datetime.combine(day, clock)
            assert cal.day_index(t) == i
    assert cal.to_datetime(cal.start_ns + 999) == datetime(2026, 1, 22, 9, 15)


def test_multi_week_calendar_has_days_trading_days_and_a_day_per_ns_day():
    cal = TradingCalendar(date(2026, 3, 2), 40, OPEN, CLOSE)
    assert len(cal.trading_days) == 40
    assert all(d.weekday() < 5 for d in cal.trading_days)
    opens = [cal.session(i)[0] for i in range(40)]
    assert all((b - a) % NS_PER_DAY == 0 for a, b in pairwise(opens))


def test_holidays_are_normalised_and_the_calendar_is_hashable():
    a = make(holidays=[HOLIDAY, HOLIDAY])
    b = make(holidays=(HOLIDAY,))
    assert a.holidays == (HOLIDAY,)
    assert a == b and hash(a) == hash(b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days must be at least 1"),
        ({"days": 2.0}, "days must be an integer"),
        ({"start": "2026-01-22"}, "start must be a datetime.date"),
        ({"start": datetime(2026, 1, 22)}, "start must be a datetime.date"),
        ({"open": time(15, 30)}, r"close \(15:30:00\) must be after open \(15:30:00\)"),
        ({"close": "15:30"}, "close must be a datetime.time"),
        ({"holidays": ("2026-01-26",)}, "holidays must be datetime.date values"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(kwargs, message):
    args = {"start": date(2026, 1, 22), "days": 5, "open": OPEN, "close": CLOSE} | kwargs
    with pytest.raises(ValueError, match=message):
        TradingCalendar(**args)


def test_bad_day_index_and_lag_are_refused():
    cal = make()
    with pytest.raises(ValueError, match=r"day_index must be in 0\.\.4, got 5"):
        cal.session(5)
    with pytest.raises(ValueError, match="day_index must be in"):
        cal.at(-1, OPEN)
    with pytest.raises(ValueError, match="lag_days must be >= 0"):
        cal.settlement_time(cal.start_ns, -1)
