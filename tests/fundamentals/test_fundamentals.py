"""Fundamental processes: OU law, determinism, jumps, bond fair values and shocks."""

import math
from datetime import date, time

import numpy as np
import pytest
from pydantic import TypeAdapter

from sim.fundamentals import BondFactorParams, BondFundamental, MeanRevertingFundamental
from sim.market.calendar import TradingCalendar
from sim.pricing import Bond, ButterflyShock, ParallelShock, Rating, TwistShock, fair_value_of
from sim.scenario.shocks import Shock
from sim.units import NS_PER_DAY, NS_PER_SECOND

S = NS_PER_SECOND
START = 1_700_000_000 * S


def shock(**table):
    """A scenario's shock entry, validated as a scenario validates it (on day 0 unless said)."""
    return TypeAdapter(Shock).validate_python({"day": 0, **table})


def ou(symbols, kappa=0.01, sigma=0.5, jumps=(0.0, 0.0, 0.0), seed=1, **kwargs):
    return MeanRevertingFundamental(
        symbols, kappa, sigma, *jumps, np.random.default_rng(seed), start_ns=START, **kwargs
    )


# --- mean-reverting ---------------------------------------------------------------------


def test_ou_mean_variance_and_covariance_match_the_closed_form():
    n, kappa, sigma, r_bar, x0 = 3000, 0.01, 0.5, 100.0, 110.0
    names = [f"S{i}" for i in range(n)]
    f = ou(dict.fromkeys(names, r_bar), kappa, sigma, initial=dict.fromkeys(names, x0))
    # 300 s and 400 s fall inside a chunk (bridge), 1024 s on a chunk end, 1500 s in the next.
    samples = {
        t: np.array([f.value(s, START + t * S) for s in names]) for t in (300, 400, 1024, 1500)
    }
    for t, x in samples.items():
        mean = r_bar + (x0 - r_bar) * math.exp(-kappa * t)
        var = sigma**2 / (2 * kappa) * (1 - math.exp(-2 * kappa * t))
        assert abs(x.mean() - mean) < 4 * math.sqrt(var / n), t
        assert abs(x.var() / var - 1) < 4 * math.sqrt(2 / n), t
    a, b = samples[300], samples[400]
    var300, var400 = (sigma**2 / (2 * kappa) * (1 - math.exp(-2 * kappa * t)) for t in (300, 400))
    cov = math.exp(-kappa * 100) * var300  # Markov: Cov(X_s, X_t) = e^{-kappa (t - s)} Var(X_s)
    relative_se = math.sqrt((var300 * var400 / cov**2 + 1) / n)
    assert abs(np.cov(a, b)[0, 1] / cov - 1) < 4 * relative_se


def test_values_do_not_depend_on_the_query_pattern():
    symbols = {"A": 100.0, "B": 50.0}
    dense, sparse = ou(symbols, jumps=(20.0, 1.0, 0.2)), ou(symbols, jumps=(20.0, 1.0, 0.2))
    times = [START + k * 7 * S // 3 for k in range(5000)]
    expected = {(s, t): dense.value(s, t) for t in times for s in symbols}
    rng = np.random.default_rng(0)
    for i in rng.permutation(len(times))[:500]:
        for s in ("B", "A"):
            assert sparse.value(s, times[i]) == expected[(s, times[i])]
    other = ou(symbols, jumps=(20.0, 1.0, 0.2), seed=2)
    assert other.value("A", times[-1]) != expected[("A", times[-1])]


def test_value_is_held_between_grid_points_and_refuses_times_before_the_start():
    f = ou({"A": 100.0})
    assert f.value("A", START) == 100.0
    assert f.value("A", START + 5 * S) == f.value("A", START + 6 * S - 1)
    with pytest.raises(ValueError, match="before the process starts"):
        f.value("A", START - 1)
    with pytest.raises(ValueError, match="unknown symbol 'Z'"):
        f.value("Z", START)


def test_jumps_arrive_at_the_configured_rate_with_bimodal_sizes():
    f = ou({"A": 200.0}, kappa=0.0, sigma=0.0, jumps=(50.0, 2.0, 0.5))
    days = 200
    jumps = f.jumps("A", START + days * NS_PER_DAY)
    expected = 50.0 * days
    assert abs(len(jumps) - expected) < 4 * math.sqrt(expected)
    sizes = np.array([size for _, size in jumps])
    assert abs(np.abs(sizes).mean() - 4.0) < 0.05  # 2% of 200
    assert abs((sizes > 0).mean() - 0.5) < 0.03
    gaps = np.diff([START] + [t for t, _ in jumps]) / NS_PER_DAY
    assert abs(gaps.mean() - 1 / 50.0) < 4 * (1 / 50.0) / math.sqrt(gaps.size)
    # Without diffusion or mean reversion the value is r_bar plus the jumps so far.
    t = jumps[100][0]
    assert f.value("A", t) == pytest.approx(200.0 + sizes[:101].sum(), abs=1e-9)
    assert f.value("A", t - 1) == pytest.approx(200.0 + sizes[:100].sum(), abs=1e-9)


def test_fundamental_jump_moves_the_value_and_then_mean_reverts():
    f = ou({"A": 100.0, "B": 100.0}, kappa=0.001, sigma=0.0)
    t = START + 60 * S
    f.apply_shock(shock(kind="fundamental_jump", size_pct=-10, symbols=["A"]), t)
    assert f.value("A", t - 1) == 100.0
    assert f.value("A", t) == pytest.approx(90.0)
    assert f.value("A", t + 1000 * S) == pytest.approx(100.0 - 10.0 * math.exp(-1.0))
    assert f.value("B", t + 1000 * S) == 100.0
    f.apply_shock(shock(kind="panic", intensity=1.0), t + 2000 * S)  # ignored
    f.apply_shock(ParallelShock(100.0), t + 2000 * S)  # no rates here
    with pytest.raises(ValueError, match="time order"):
        f.apply_shock(shock(kind="fundamental_jump", size_pct=5, symbols=["A"]), t - S)


def test_observe_adds_seeded_noise():
    f = ou({"A": 100.0})
    value = f.value("A", START + S)
    draws = [f.observe("A", START + S, 2.0, np.random.default_rng(i)) for i in range(2000)]
    assert abs(np.mean(draws) - value) < 4 * 2.0 / math.sqrt(2000)
    assert f.observe("A", START + S, 2.0, np.random.default_rng(5)) == f.observe(
        "A", START + S, 2.0, np.random.default_rng(5)
    )
    assert f.observe("A", START + S, 0.0, np.random.default_rng(5)) == value


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbols": {}}, "at least one symbol"),
        ({"symbols": {"A": -1.0}}, "r_bar of 'A' must be finite and > 0"),
        ({"kappa": -0.1}, "kappa_per_second must be finite and >= 0"),
        ({"sigma": float("nan")}, "sigma_s must be finite"),
        ({"jumps": (-1.0, 0.0, 0.0)}, "jump_rate_per_day must be finite and >= 0"),
        ({"grid_ns": 0}, "grid_ns must be a positive integer"),
        ({"initial": {"Z": 1.0}}, r"initial values for unknown symbols: \['Z'\]"),
    ],
)
def test_bad_mean_reverting_parameters_are_refused(kwargs, message):
    args = {"symbols": {"A": 100.0}} | kwargs
    with pytest.raises(ValueError, match=message):
        ou(args.pop("symbols"), **args)


def test_a_scenarios_curve_shocks_build_the_engines_moves():
    path = ((0.0, 0.0), (3.0, 1.0))
    parallel = shock(kind="rates_parallel", size_bp=25, path=[list(p) for p in path])
    assert parallel.curve_shock() == ParallelShock(25.0, path)
    twist = shock(kind="rates_twist", short_bp=10, long_bp=-5, short_pivot_years=1.0,
                  long_pivot_years=7.0)  # fmt: skip
    assert twist.curve_shock() == TwistShock(10.0, -5.0, short_pivot=1.0, long_pivot=7.0)
    fly = shock(kind="rates_butterfly", wings_bp=10, belly_bp=-5, belly_years=4.0)
    assert fly.curve_shock() == ButterflyShock(10.0, -5.0, belly=4.0)
    spread = shock(kind="spread", size_bp=10, ratings=["AAA", "A"])
    assert [spread.applies_to(Rating.parse(r)) for r in ("AAA", "AA", "A")] == [True, False, True]
    assert shock(kind="spread", size_bp=10).applies_to(Rating.BBB)


# --- bonds ------------------------------------------------------------------------------

CAL = TradingCalendar(date(2026, 1, 5), 10, time(9, 15), time(15, 30), (date(2026, 1, 9),))
STILL = BondFactorParams(
    level_vol_bp=0.0, slope_vol_bp=0.0, credit_vol_bp=0.0, downgrade_prob_per_year=0.0
)


def bond(years: int, coupon: float = 0.0725) -> Bond:
    return Bond(date(2024, 3, 15), date(2026 + years, 3, 15), coupon, 2, "ACT/365F")


def bonds() -> dict:
    return {"G5": (bond(5), "AAA"), "C3": (bond(3, 0.085), "AA"), "C10": (bond(10), "A")}


def test_fair_value_is_the_pricing_engines_and_constant_within_a_day():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1))
    settle = date(2026, 1, 6)  # T+1 from Monday
    fair = fair_value_of(bond(5), settle, f.curve(0), "AAA")
    assert f.fair_clean("G5", 0) == fair.clean_price
    assert f.fair_yield("G5", 0) == fair.ytm
    assert f.spread_bp("G5", 0) == pytest.approx(fair.total_spread_bp)
    open_ns, close_ns = CAL.session(0)
    assert f.value("G5", open_ns) == f.value("G5", close_ns - 1) == fair.clean_price
    assert f.fair_value_row("G5", 0, open_ns) == (fair.clean_price, fair.ytm, fair.total_spread_bp)
    curve = f.curve(0)
    assert f.curve_rows(0) == tuple(zip(curve.tenors, curve.rates, strict=True))
    assert curve.zero_rate(0.25) < curve.zero_rate(30.0)  # upward sloping by default


def test_parallel_shock_lowers_value_by_about_duration_times_one_percent():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1))
    t = CAL.at(2, time(11, 0))
    before = f.value("G5", t)
    base_curve = f.curve(2)
    f.apply_shock(shock(kind="rates_parallel", size_bp=100.0), t)
    after = f.value("G5", t)
    settle = CAL.to_datetime(CAL.settlement_time(CAL.session(2)[0], 1)).date()
    expected = fair_value_of(bond(5), settle, ParallelShock(100.0).apply(base_curve, 0), "AAA")
    assert after == pytest.approx(expected.clean_price, abs=1e-10)
    assert f.value("G5", t - 1) == before  # earlier the same day: unshocked
    fair = fair_value_of(bond(5), settle, base_curve, "AAA")
    duration = bond(5).modified_duration(fair.ytm, settle)
    # Zero rates move 100 bp continuously compounded, the yield about as much; convexity and
    # the compounding convention leave a few percent of the first-order move.
    assert (before - after) / (duration * fair.dirty_price * 0.01) == pytest.approx(1.0, rel=0.08)
    assert f.curve(5).rates[0] == pytest.approx(base_curve.rates[0] + 0.01)


def test_curve_shock_paths_run_in_trading_days_from_the_shock():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1))
    base = [f.curve(d).zero_rate(5.0) for d in range(6)]
    ramp = ParallelShock(40.0, ((0, 0.0), (2, 1.0)))
    f.apply_shock(ramp, CAL.session(1)[1] + 1)  # after Tuesday's close: starts Wednesday
    moved = [(f.curve(d).zero_rate(5.0) - base[d]) * 1e4 for d in range(6)]
    assert moved == pytest.approx([0.0, 0.0, 0.0, 20.0, 40.0, 40.0], abs=1e-9)


def test_spread_shock_hits_only_the_ratings_named():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1))
    before = {s: f.spread_bp(s, 3) for s in f.symbols}
    f.apply_shock(shock(kind="spread", size_bp=75.0, ratings=["AA"]), CAL.start_ns)
    assert f.spread_bp("C3", 3) == pytest.approx(before["C3"] + 75.0)
    assert f.spread_bp("G5", 3) == pytest.approx(before["G5"])
    assert (
        f.fair_clean("C3", 3)
        < fair_value_of(bond(3, 0.085), date(2026, 1, 12), f.curve(3), "AA").clean_price
    )


def test_downgrades_move_one_notch_and_raise_the_spread():
    params = BondFactorParams(
        level_vol_bp=0.0, slope_vol_bp=0.0, credit_vol_bp=0.0, downgrade_prob_per_year=1.0
    )
    f = BondFundamental(bonds(), CAL, params, np.random.default_rng(1))
    assert [f.rating("C3", d) for d in range(3)] == [Rating.AA, Rating.AA_MINUS, Rating.A_PLUS]
    assert f.spread_bp("C3", 1) > f.spread_bp("C3", 0)
    assert f.fair_clean("C3", 1) < f.fair_clean("C3", 0)


def test_downgrades_arrive_at_the_configured_rate():
    many = {f"B{i}": (bond(5), "A") for i in range(2000)}
    params = BondFactorParams(downgrade_prob_per_year=0.5)
    f = BondFundamental(many, CAL, params, np.random.default_rng(3))
    downgraded = sum(f.rating(s, CAL.days - 1) is not Rating.A for s in many)
    expected = 2000 * (1 - 0.5 ** ((CAL.days - 1) / 250))
    assert abs(downgraded - expected) < 4 * math.sqrt(expected)


def test_bond_values_are_deterministic_whatever_the_query_order():
    a = BondFundamental(bonds(), CAL, BondFactorParams(), np.random.default_rng(9))
    b = BondFundamental(bonds(), CAL, BondFactorParams(), np.random.default_rng(9))
    forward = [a.fair_clean("C10", d) for d in range(CAL.days)]
    backward = [b.fair_clean("C10", d) for d in reversed(range(CAL.days))][::-1]
    assert forward == backward
    assert len(set(forward)) > 1  # the factors do move
    c = BondFundamental(bonds(), CAL, BondFactorParams(), np.random.default_rng(10))
    assert c.fair_clean("C10", 5) != forward[5]


@pytest.mark.parametrize(
    ("entries", "params", "message"),
    [
        ({"X": (bond(5), "D")}, STILL, "rated D"),
        (
            {"X": (Bond(date(2020, 1, 1), date(2026, 1, 6), 0.07, 2, "ACT/365F"), "AA")},
            STILL,
            "matures on 2026-01-06, on or before the first settle date 2026-01-06",
        ),
        (
            {"X": (Bond(date(2026, 1, 7), date(2030, 1, 7), 0.07, 2, "ACT/365F"), "AA")},
            STILL,
            "issued on 2026-01-07",
        ),
        ({"X": ("not a bond", "AA")}, STILL, "expected a sim.pricing.Bond"),
        ({}, STILL, "at least one"),
    ],
)
def test_bad_bond_inputs_are_refused(entries, params, message):
    with pytest.raises(ValueError, match=message):
        BondFundamental(entries, CAL, params, np.random.default_rng(0))


def test_a_bond_is_valued_while_its_trades_settle_before_maturity():
    # T+1 from Monday 5 January: Thursday the 8th's trades settle on Monday the 12th (the 9th
    # is a holiday), after a maturity on Saturday the 10th.
    short = Bond(date(2021, 1, 10), date(2026, 1, 10), 0.07, 2, "ACT/365F")
    fundamental = BondFundamental({"S": (short, "AA")}, CAL, STILL, np.random.default_rng(0))
    values = [fundamental.fair_clean("S", d) for d in range(3)]
    assert all(99 < v < 101 for v in values)  # a week from par, at about the curve's short end
    with pytest.raises(ValueError, match="'S' matures on 2026-01-10: a trade would settle on"):
        fundamental.fair_clean("S", 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level_vol_bp": -1.0}, "level_vol_bp must be finite and >= 0"),
        ({"decay_years": 0.0}, "decay_years must be finite and > 0"),
        ({"downgrade_prob_per_year": 1.5}, "downgrade_prob_per_year must be <= 1"),
        ({"settlement_lag_days": -1}, "settlement_lag_days must be an int >= 0"),
        ({"level": float("inf")}, "level must be finite"),
        ({"tenors": (1.0, 1.0)}, "strictly increasing"),
    ],
)
def test_bad_factor_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BondFactorParams(**kwargs)


def test_bond_lookups_refuse_unknown_symbols_days_and_late_shocks():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1))
    with pytest.raises(ValueError, match="unknown symbol 'X'"):
        f.fair_clean("X", 0)
    with pytest.raises(ValueError, match="day_index must be in"):
        f.curve(CAL.days)
    f.apply_shock(ParallelShock(10.0), CAL.end_ns)
    with pytest.raises(ValueError, match="time order"):
        f.apply_shock(ParallelShock(10.0), CAL.start_ns)
    f.apply_shock(shock(kind="fundamental_jump", size_pct=5), CAL.start_ns)  # not a bond's


def test_curve_level_moves_by_its_daily_volatility():
    long_calendar = TradingCalendar(date(2026, 1, 5), 600, time(9, 15), time(15, 30))
    params = BondFactorParams(slope_vol_bp=0.0, credit_vol_bp=0.0, downgrade_prob_per_year=0.0)
    f = BondFundamental({"G": (bond(10), "AAA")}, long_calendar, params, np.random.default_rng(4))
    # With the slope fixed, the 30-year node moves exactly with the level factor.
    long_end = np.array([f.curve(d).rates[-1] for d in range(600)]) * 1e4
    changes = np.diff(long_end)
    kappa = 0.5 / 250
    expected_sd = 4.0 * math.sqrt(-math.expm1(-2 * kappa) / (2 * kappa))
    assert abs(changes.std() / expected_sd - 1) < 4 / math.sqrt(2 * changes.size)
    assert abs(changes.mean()) < 4 * expected_sd / math.sqrt(changes.size)


# --- credit events and volatility regimes ------------------------------------------------

ISSUERS = {"G5": ("GOI", "Sovereign"), "C3": ("NBFC1", "NBFC"), "C10": ("NBFC2", "NBFC")}


def test_spread_shock_hits_only_the_sectors_named():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1), ISSUERS)
    before = {s: f.spread_bp(s, 3) for s in f.symbols}
    f.apply_shock(shock(kind="spread", size_bp=40.0, sectors=["NBFC"], ratings=["A"]), 0)
    assert f.spread_bp("C10", 3) == pytest.approx(before["C10"] + 40.0)  # NBFC and A
    assert f.spread_bp("C3", 3) == pytest.approx(before["C3"])  # NBFC, but AA
    assert f.spread_bp("G5", 3) == pytest.approx(before["G5"])


def test_a_downgrade_moves_its_issuers_bonds_from_its_time_on():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1), ISSUERS)
    t = CAL.at(2, time(11, 0))
    f.apply_shock(shock(kind="downgrade", day=2, at="11:00", issuer="NBFC1", notches=3), t)
    assert [f.rating("C3", d) for d in (1, 2, 3)] == [Rating.AA, Rating.A, Rating.A]
    assert f.rating("C10", 3) is Rating.A and f.rating("G5", 3) is Rating.AAA  # others kept
    settle = date(2026, 1, 8)  # Wednesday's trades settle Thursday
    expected = fair_value_of(bond(3, 0.085), settle, f.curve(2), "A").clean_price
    assert f.fair_value_row("C3", 2, t)[0] == pytest.approx(expected, abs=1e-10)
    aa = fair_value_of(bond(3, 0.085), settle, f.curve(2), "AA").clean_price
    assert f.fair_value_row("C3", 2, t - 1)[0] == pytest.approx(aa, abs=1e-10)  # before it
    f.apply_shock(shock(kind="downgrade", day=3, issuer="NBFC1", notches=10), CAL.session(3)[0])
    assert f.rating("C3", 3) is Rating.BIG  # no lower than BIG without a default


def test_a_default_values_its_issuers_bonds_at_recovery_and_widens_its_sector():
    f = BondFundamental(bonds(), CAL, STILL, np.random.default_rng(1), ISSUERS, recovery=0.3)
    before = {s: f.spread_bp(s, 4) for s in f.symbols}
    ramp = {"kind": "ramp", "days": 2}
    default = shock(kind="default", day=2, issuer="NBFC1", contagion_bp=80.0, path=ramp)
    f.apply_shock(default, CAL.session(2)[0])
    assert f.rating("C3", 1) is Rating.AA and f.rating("C3", 2) is Rating.D
    assert f.fair_value_row("C3", 3, CAL.session(3)[0]) == (30.0, None, None)  # the fundamentals'
    # The issuer's sector widens along the path, from nothing on the default's day.
    assert f.spread_bp("C10", 2) == pytest.approx(before["C10"])
    assert f.spread_bp("C10", 3) == pytest.approx(before["C10"] + 40.0)
    assert f.spread_bp("C10", 4) == pytest.approx(before["C10"] + 80.0)
    assert f.spread_bp("G5", 4) == pytest.approx(before["G5"])  # another sector
    f.apply_shock(shock(kind="default", day=4, issuer="GOI", recovery=0.55), CAL.session(4)[0])
    assert f.fair_clean("G5", 4) == pytest.approx(55.0, abs=1e-12)


def test_a_volatility_regime_multiplies_the_factors_daily_moves_along_its_path():
    params = BondFactorParams(slope_vol_bp=0.0, credit_vol_bp=0.0, downgrade_prob_per_year=0.0)
    regime = shock(kind="volatility", day=3, multiplier=3.0, path={"kind": "ramp", "days": 2})
    calm, stressed = (
        BondFundamental(bonds(), CAL, params, np.random.default_rng(4), volatility=v)
        for v in ((), (regime,))
    )
    # With the slope still, the 30-year node moves with the level factor: its daily innovation.
    mean = params.zero_rates(params.level, params.slope)[-1]
    decay = math.exp(-params.level_kappa_per_year / 250)

    def innovations(f):
        x = np.array([f.curve(d).rates[-1] for d in range(CAL.days)]) - mean
        return x[1:] - decay * x[:-1]

    ratio = innovations(stressed) / innovations(calm)
    np.testing.assert_allclose(ratio, [1, 1, 1, 2, 3, 3, 3, 3, 3], rtol=1e-9)
