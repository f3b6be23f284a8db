"""Metrics against independent computations: hand-built quotes, scipy and plain numpy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from sim.analytics import minute_mid_returns, pnl_by_kind, stylized_facts
from sim.analytics.lobster import read_lobster_quotes
from sim.analytics.market_quality import kyle_lambda, market_quality, spread_and_depth, volatility
from sim.analytics.stylized import autocorrelation, minute_mid_return_segments, minute_mids
from sim.records.recorder import Recorder

LOBSTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster"
DAY0 = 1_704_187_800_000_000_000  # 2024-01-02 09:30 as ns (naive wall time)
MINUTE = 60 * 10**9


def quotes(rows):
    rec = Recorder()
    for time, bid, bid_qty, ask, ask_qty in rows:
        rec.quote(time, "EXCH", "ABM", bid, bid_qty, ask, ask_qty)
    return rec.frames()["quotes"]


def test_spread_and_depth_by_hand():
    q = quotes([(DAY0, 98, 5, 102, 7), (DAY0 + 10, 99, 1, 101, 1), (DAY0 + 40, None, 0, 103, 2)])
    got = spread_and_depth(q)
    assert got["quote_count"] == 3
    assert got["spread_ticks_mean"] == 3.0  # (4 + 2) / 2: one-sided quotes have no spread
    assert got["spread_ticks_median"] == 3.0
    # 4 ticks stood 10 ns and 2 ticks stood 30 ns: (40 + 60) / 40.
    assert got["spread_ticks_time_weighted"] == pytest.approx(2.5)
    assert got["spread_bps_mean"] == pytest.approx((4 / 100 + 2 / 100) / 2 * 1e4)
    assert got["depth_best_mean"] == pytest.approx((12 + 2 + 2) / 3)


def test_an_odd_bid_plus_ask_has_a_half_tick_mid():
    got = spread_and_depth(quotes([(DAY0, 99, 1, 102, 1)]))
    assert got["spread_bps_mean"] == pytest.approx(3 / 100.5 * 1e4)


def test_the_last_quote_of_a_day_does_not_stand_overnight():
    next_day = DAY0 + 86_400 * 10**9
    q = quotes(
        [
            (DAY0, 99, 1, 101, 1),
            (DAY0 + 10, 98, 1, 102, 1),
            (next_day, 97, 1, 103, 1),
            (next_day + 30, 99, 1, 101, 1),
        ]
    )
    # 2 ticks for 10 ns, then 6 ticks for 30 ns: the 4 ticks quoted at the close weigh nothing.
    assert spread_and_depth(q)["spread_ticks_time_weighted"] == pytest.approx(200 / 40)


def test_quotes_stand_their_durations_on_a_clock_counted_from_midnight():
    # LOBSTER's clock: ns after midnight. Spreads of 4 and 2 ticks stand 2 hours and 1 hour.
    hour = 3_600 * 10**9
    q = quotes([(hour, 98, 1, 102, 1), (3 * hour, 99, 1, 101, 1), (4 * hour, 97, 1, 103, 1)])
    assert spread_and_depth(q)["spread_ticks_time_weighted"] == pytest.approx((4 * 2 + 2) / 3)


def test_quotes_at_the_same_time_stand_in_the_order_recorded():
    # Recorded out of time order; of the three quotes at DAY0 + 10 the last (4 ticks) stands.
    rows = [(DAY0 + 40, 99, 1, 101, 1), (DAY0, 99, 1, 101, 1)]
    rows += [(DAY0 + 10, 100 - k, 1, 100 + k, 1) for k in (5, 1, 2)]
    got = spread_and_depth(quotes(rows))
    # 2 ticks for 10 ns, 10 and 2 ticks for no time, 4 ticks for 30 ns.
    assert got["spread_ticks_time_weighted"] == pytest.approx((20 + 120) / 40)


def test_kyle_lambda_recovers_a_planted_slope():
    rng = np.random.default_rng(0)
    rec = Recorder()
    mid = 10_000.0
    for minute in range(300):
        flow = int(rng.integers(-50, 51))
        if flow:
            side = 1 if flow > 0 else -1
            rec.trade(
                DAY0 + minute * MINUTE + 1, "EXCH", "ABM", 10_000, abs(flow), 1, 2, 3, 4, side
            )
        mid += 0.2 * flow + rng.normal(0, 1.0)
        bid = round(mid) - 1
        rec.quote(DAY0 + minute * MINUTE + 2, "EXCH", "ABM", bid, 10, bid + 2, 10)
    frames = rec.frames()
    got = kyle_lambda(frames["quotes"], frames["trades"], "ABM", "EXCH")
    assert got["kyle_lambda"] == pytest.approx(0.2, abs=0.02)
    assert got["kyle_lambda_r2"] > 0.8


def minute_book(mids, flows=()):
    """Quotes and trades of one book, one minute each: a 2-tick quote around each mid at the
    minute's start, and a trade of |flow| units on the flow's side just after."""
    rec = Recorder()
    for minute, mid in enumerate(mids):
        rec.quote(DAY0 + minute * MINUTE, "EXCH", "ABM", mid - 1, 1, mid + 1, 1)
    for minute, flow in enumerate(flows):
        if flow:
            side = 1 if flow > 0 else -1
            rec.trade(DAY0 + minute * MINUTE + 1, "EXCH", "ABM", 100, abs(flow), 1, 2, 3, 4, side)
    frames = rec.frames()
    return frames["quotes"], frames["trades"]


def test_kyle_lambda_of_three_minutes_by_hand():
    # Mid changes y = 2, -1, 3 against signed volume x = 1, -1, 2. Deviations: x 1/3, -5/3,
    # 4/3; y 2/3, -7/3, 5/3. cov = (2 + 35 + 20) / 27 = 19/9, var x = 42/27 = 14/9,
    # var y = 78/27 = 26/9: slope 19/14, R^2 = (19/9)^2 / (14/9 * 26/9) = 361/364.
    got = kyle_lambda(*minute_book([100, 102, 101, 104], [0, 1, -1, 2]), "ABM", "EXCH")
    assert got["kyle_lambda"] == pytest.approx(19 / 14)
    assert got["kyle_lambda_r2"] == pytest.approx(361 / 364)
    assert got["kyle_lambda_n"] == 3
    # Flow in another book of the frame is not this book's.
    quotes, trades = minute_book([100, 102, 101, 104], [0, 1, -1, 2])
    other = Recorder()
    other.trade(DAY0 + 2 * MINUTE + 5, "BSE", "ABM", 100, 50, 5, 6, 3, 4, 1)
    other.trade(DAY0 + 2 * MINUTE + 6, "EXCH", "XYZ", 100, 50, 5, 6, 3, 4, 1)
    mixed = pl.concat([trades, other.frames()["trades"]], how="vertical_relaxed")
    assert kyle_lambda(quotes, mixed, "ABM", "EXCH") == got


# Too few or constant values give None, and no numpy warning (0 / 0, no degrees of freedom).
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("mids", "flows", "want"),
    [
        ([100, 102, 101], [0, 1, -1], (None, None, 2)),  # two minutes are too few
        ([100, 102, 101, 104], [0, 2, 2, 2], (None, None, 3)),  # the flow never varies
        ([100, 101, 102, 103], [0, 1, -1, 2], (0.0, None, 3)),  # the mid moves evenly
    ],
    ids=["two minutes", "constant flow", "constant change"],
)
def test_kyle_lambda_of_too_few_or_constant_minutes(mids, flows, want):
    got = kyle_lambda(*minute_book(mids, flows), "ABM", "EXCH")
    assert (got["kyle_lambda"], got["kyle_lambda_r2"], got["kyle_lambda_n"]) == want


@pytest.mark.filterwarnings("error")
def test_volatility_needs_two_returns():
    one = volatility(minute_book([100, 101])[0], "ABM", "EXCH")
    assert one == {"volatility_1min": None, "returns_1min_n": 1}
    two = volatility(minute_book([100, 101, 100])[0], "ABM", "EXCH")
    # Returns +-log(1.01): their sample sd is 2 log(1.01) / sqrt(2).
    assert two["volatility_1min"] == pytest.approx(math.sqrt(2) * math.log(1.01))
    assert two["returns_1min_n"] == 2


def test_a_book_never_traded_has_zero_turnover():
    q, trades = minute_book([100, 101, 103])
    instruments = pl.DataFrame({"symbol": ["ABM"], "tick_size": ["0.01"], "unit_face_value": [100]})
    got = market_quality(q, trades, Recorder().frames()["book"], instruments)["ABM"]["EXCH"]
    assert {key: got[key] for key in got if key.startswith(("trade", "turnover", "kyle"))} == {
        "trade_count": 0,
        "turnover_qty": 0,
        "turnover_notional_ticks": 0,
        "turnover_notional_rupees": 0.0,
        "kyle_lambda": None,
        "kyle_lambda_r2": None,
        "kyle_lambda_n": 2,
    }


def test_pnl_by_kind_keeps_integer_sums_and_gives_none_for_nan():
    got = pnl_by_kind(pl.DataFrame({"kind": ["mm", "mm", "retail"], "pnl": [3, 4, -5]}))
    assert got == {
        "mm": {"count": 2, "pnl_sum": 7, "pnl_mean": 3.5, "pnl_median": 3.5},
        "retail": {"count": 1, "pnl_sum": -5, "pnl_mean": -5.0, "pnl_median": -5.0},
    }
    assert type(got["mm"]["count"]) is int and type(got["mm"]["pnl_sum"]) is int
    # metrics.json holds no NaN: a kind with a NaN PnL has no known sum, mean or median.
    nan = pnl_by_kind(pl.DataFrame({"kind": ["mm", "mm"], "pnl": [1.5, float("nan")]}))
    assert nan == {"mm": {"count": 2, "pnl_sum": None, "pnl_mean": None, "pnl_median": None}}


def test_stylized_facts_match_scipy_and_numpy():
    rng = np.random.default_rng(1)
    sample = rng.standard_t(df=5, size=2_000) * 1e-3
    facts = stylized_facts(sample)
    assert facts["n"] == 2_000
    assert facts["excess_kurtosis"] == pytest.approx(stats.kurtosis(sample, fisher=True))
    centred = sample - sample.mean()
    for lag in (1, 2, 7):
        direct = np.dot(centred[:-lag], centred[lag:]) / np.dot(centred, centred)
        assert facts["acf_returns"][str(lag)] == pytest.approx(direct)
    absolute = np.abs(sample) - np.abs(sample).mean()
    direct_abs = np.dot(absolute[:-3], absolute[3:]) / np.dot(absolute, absolute)
    assert facts["acf_abs_returns"]["3"] == pytest.approx(direct_abs)
    lags = [str(lag) for lag in range(1, 11)]  # lags 1..10 by default
    assert list(facts["acf_returns"]) == list(facts["acf_abs_returns"]) == lags


def test_autocorrelation_of_three_returns_against_numpy():
    r = np.array([0.03, -0.01, 0.02])
    c = r - r.mean()
    full = np.correlate(c, c, mode="full")  # lags -2..2, lag 0 in the middle
    acf = autocorrelation(r, lags=3)
    assert acf["1"] == pytest.approx(full[3] / full[2])
    assert acf["2"] == pytest.approx(full[4] / full[2])
    assert acf["3"] is None  # no pair of returns three minutes apart


def test_four_returns_have_a_kurtosis_and_constant_ones_none():
    # Centred +-1: m2 = 1 and m4 = 1, so excess kurtosis 1 / 1 - 3.
    assert stylized_facts(np.array([1.0, -1.0, 1.0, -1.0]))["excess_kurtosis"] == pytest.approx(-2)
    flat = stylized_facts(np.full(5, 0.001))
    assert flat["n"] == 5 and flat["excess_kurtosis"] is None
    assert set(flat["acf_returns"].values()) == set(flat["acf_abs_returns"].values()) == {None}


def test_every_lag_has_its_key_even_with_nothing_to_correlate():
    assert autocorrelation(np.zeros(4), lags=3) == {"1": None, "2": None, "3": None}
    # Centred +-0.02: lag 1 pairs them, -0.0004 / 0.0008; no pair is 2 or 3 minutes apart.
    acf = autocorrelation(np.array([0.03, -0.01]), lags=3)
    assert list(acf) == ["1", "2", "3"] and acf["1"] == pytest.approx(-0.5)
    assert acf["2"] is None and acf["3"] is None


def test_a_2d_array_is_a_sequence_of_segments():
    rows = np.array([[0.01, -0.02, 0.03], [0.02, 0.01, -0.01]])
    assert stylized_facts(rows) == stylized_facts(list(rows))
    assert stylized_facts(rows)["n"] == 6


@pytest.mark.parametrize(
    "returns",
    [[0.01, -0.02], np.array([0.01, np.nan]), [np.ones((2, 2))]],
    ids=["list of numbers", "nan", "2-d segment"],
)
def test_returns_that_are_not_1d_finite_arrays_are_refused(returns):
    with pytest.raises(ValueError, match="returns must be 1-d arrays of finite numbers"):
        stylized_facts(returns)


def test_autocorrelation_never_pairs_returns_across_segments():
    day1, day2 = np.array([1.0, -1.0, 1.0]), np.array([5.0, -5.0])
    acf = autocorrelation([day1, day2], lags=2)
    pooled = np.concatenate([day1, day2])
    c1, c2 = day1 - pooled.mean(), day2 - pooled.mean()
    denominator = np.dot(c1, c1) + np.dot(c2, c2)
    assert acf["1"] == pytest.approx(
        (np.dot(c1[:-1], c1[1:]) + np.dot(c2[:-1], c2[1:])) / denominator
    )
    assert acf["2"] == pytest.approx(np.dot(c1[:-2], c1[2:]) / denominator)


def test_minute_returns_stay_within_a_day():
    rows = [(DAY0 + k * MINUTE, 100 + k, 1, 102 + k, 1) for k in range(5)]
    next_day = DAY0 + 86_400 * 10**9
    rows += [(next_day + k * MINUTE, 200 + k, 1, 202 + k, 1) for k in range(4)]
    segments = minute_mid_return_segments(quotes(rows), "ABM")
    assert [len(s) for s in segments] == [4, 3]  # no return across the night
    assert segments[0][0] == pytest.approx(np.log(102 / 101))


def test_the_mid_of_a_minute_is_the_quote_in_force_at_its_last_nanosecond():
    # Quotes at the last ns of minutes 0 and 1 and at the first ns of minute 2; odd bid + ask
    # make half-tick mids 100.5, 101.5, 103.5.
    rows = [(DAY0 + MINUTE - 1, 100, 1, 101, 1), (DAY0 + 2 * MINUTE - 1, 101, 1, 102, 1)]
    rows.append((DAY0 + 2 * MINUTE, 103, 1, 104, 1))
    returns = minute_mid_returns(quotes(rows), "ABM")
    assert returns == pytest.approx([np.log(101.5 / 100.5), np.log(103.5 / 101.5)])


def test_a_day_ends_with_the_minute_of_its_last_quote_even_at_its_last_nanosecond():
    q = quotes([(DAY0, 100, 1, 102, 1), (DAY0 + 2 * MINUTE - 1, 101, 1, 103, 1)])
    assert minute_mids(q, "ABM")["minute"].to_list() == [DAY0 // MINUTE, DAY0 // MINUTE + 1]
    assert minute_mid_returns(q, "ABM") == pytest.approx([np.log(102 / 101)])


def test_minute_mids_give_no_warning(recwarn):
    # Recorded: under filterwarnings("error") polars prints its warning instead of raising it.
    minute_mid_returns(minute_book([100, 101, 103])[0], "ABM")
    assert [str(warning.message) for warning in recwarn] == []


def test_a_minute_without_a_mid_splits_the_returns():
    rows = [(DAY0 + k * MINUTE, 100 + k, 1, 102 + k, 1) for k in range(5)]
    rows[2] = (DAY0 + 2 * MINUTE, None, 0, 104, 1)  # one-sided: no mid in minute 2
    segments = minute_mid_return_segments(quotes(rows), "ABM")
    # Mids 101, 102, none, 104, 105: no return reaches across minute 2.
    assert [len(s) for s in segments] == [1, 1]
    assert np.concatenate(segments) == pytest.approx([np.log(102 / 101), np.log(105 / 104)])


def test_a_single_minute_of_quotes_has_no_returns():
    q = quotes([(DAY0, 99, 1, 101, 1), (DAY0 + 10**9, 98, 1, 102, 1)])
    assert minute_mid_return_segments(q, "ABM") == []
    returns = minute_mid_returns(q, "ABM")
    assert returns.shape == (0,) and returns.dtype == float
    assert minute_mid_returns(q, "XYZ").shape == (0,)  # an instrument never quoted


def test_an_instrument_on_two_venues_needs_the_venue():
    rec = Recorder()
    for k, venue in enumerate(["EXCH", "ALT", "EXCH"]):
        rec.quote(DAY0 + k * MINUTE, venue, "ABM", 100 + k, 1, 102 + k, 1)
    q = rec.frames()["quotes"]
    with pytest.raises(
        ValueError, match=r"ABM is quoted on several venues \(ALT, EXCH\); pass venue="
    ):
        minute_mid_returns(q, "ABM")
    assert minute_mid_returns(q, "ABM", "EXCH") == pytest.approx([0, np.log(103 / 101)])


@pytest.mark.skipif(not LOBSTER.exists(), reason="LOBSTER sample days are not on this machine")
def test_lobster_quotes_follow_the_sample_files():
    message = next(LOBSTER.glob("AMZN_*_message_1.csv"))
    q = read_lobster_quotes(message)
    with open(message) as handle:
        lines = sum(1 for _ in handle)
    assert q.height == lines
    two_sided = q.drop_nulls(["bid", "ask"])
    assert (two_sided["bid"] < two_sided["ask"]).all()
    assert q["time"].is_sorted()
    assert q.schema["bid"] == pl.Int64
