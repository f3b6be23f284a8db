"""SIP cohort and liquidity-recycling pool: decision rules, pool accounting and short runs."""

import math
from datetime import date
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.sip import KIND, SipCohort, allocate, exit_probability, pool_price, sip_days
from sim.engine.kernel import Simulation
from sim.market.ledger import Ledger
from sim.market.venue import FeeSchedule, Instrument, Venue
from sim.scenario.model import ScenarioError, load_scenario
from sim.scenario.registry import agent_kinds, register

if "sip" not in agent_kinds():
    register(KIND)

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "sip_demo.toml"
# Two days, a panic on day 1, SIP every day and a pool too small for the exits: day 0 buys,
# day 1 exits are partly absorbed and recycled and partly sold on the book.
SMALL = [
    "calendar.days=2",
    "shocks.0.day=1",
    "sip.investors=1000",
    "sip.sip_interval_days=1",
    "sip.exit_hazard_per_year=30",
    "sip.buffer_fraction=0.02",
    "retail.count=100",
    "value.count=10",
    "momentum.count=4",
]
ARRAYS = (
    "monthly",
    "bond",
    "units",
    "cash",
    "contributed",
    "exit_day",
    "exit_requested",
    "exit_fair_ticks",
    "exit_absorbed",
    "exit_sold",
)


def simulate(tmp_path, overrides=(), seed=None):
    sim = Simulation(load_scenario(DEMO, overrides=[*SMALL, *overrides]), seed=seed)
    result = sim.run(out=tmp_path)
    (cohort,) = sim.populations["sip"]
    return sim, result, cohort


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("sip"))


# --- decision rules -------------------------------------------------------------------------


def reference_allocate(total, weights):
    """Largest remainder in plain Python ints."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


@given(
    st.integers(0, 10**12),
    st.lists(st.integers(0, 10**10), min_size=1, max_size=50),
)
def test_allocate_is_the_largest_remainder_split(total, weights):
    # Totals up to 10**12 over weights up to 10**10 also take the path past 2**63.
    parts = allocate(total, np.array(weights))
    assert parts.dtype == np.int64
    assert parts.tolist() == reference_allocate(total, weights)
    whole = sum(weights)
    assert int(parts.sum()) == (total if whole else 0)
    if whole:
        for part, weight in zip(parts.tolist(), weights, strict=True):
            assert abs(part - total * weight / whole) < 1
            if total <= whole:
                assert part <= weight


def test_allocate_breaks_ties_toward_the_earlier_investor():
    assert allocate(2, np.array([1, 1, 1])).tolist() == [1, 1, 0]


def test_hazard_rises_with_panic():
    calm = exit_probability(2.0, 0.0, 5.0)
    assert calm == pytest.approx(1 - math.exp(-2.0 / 252))
    assert exit_probability(2.0, 0.5, 5.0) == pytest.approx(1 - math.exp(-2.0 * 3.5 / 252))
    assert calm < exit_probability(2.0, 0.5, 5.0) < exit_probability(2.0, 1.0, 5.0)
    assert exit_probability(2.0, 1.0, 0.0) == calm
    assert exit_probability(0.0, 1.0, 5.0) == 0.0


def test_pool_price_is_fair_value_less_haircut_rounded_down():
    assert pool_price(10_000.0, 50) == 9_950
    assert pool_price(10_000.7, 50) == 9_950  # 9950.6965 rounds in the pool's favour
    assert pool_price(10_000.0, 0) == 10_000
    assert pool_price(0.5, 0) == 1


def test_sip_dates_by_interval_or_month():
    days = [date(2024, 1, 29), date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1)]
    assert sip_days(days, 2) == {0, 2}
    assert sip_days(days, 0) == {0, 3}


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sip.buffer_fraction=1.5", "sip.buffer_fraction: must be <= 1 (got 1.5)"),
        ("sip.haircut_bp=-1", "sip.haircut_bp: must be >= 0 (got -1)"),
        ("sip.investors=0", "sip.investors: must be >= 1 (got 0)"),
        ("sip.units=3", "sip.units: must be 0: SIP investors start without units"),
        ("sip.bufer_fraction=0.3", "sip.bufer_fraction: unknown field (did you mean buffer"),
        ("sip.bonds=[]", "sip.bonds: must not be empty"),
    ],
)
def test_bad_parameters_are_refused_with_their_path(override, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_scenario(DEMO, overrides=[override])


def test_unknown_bond_is_refused_at_build():
    scenario = load_scenario(DEMO, overrides=["sip.bonds=['NOPE']"])
    with pytest.raises(ValueError, match=r"bonds: unknown instruments \['NOPE'\]"):
        Simulation(scenario)


# --- the pool on a hand-built book of exits ---------------------------------------------------


# The first valuation of sip_demo's first bond, HOUSI1-2028-A (9.23% semi-annual, 30/360,
# coupons on 1 June and 1 December): T+1 from Monday 1 January 2024 settles on the 2nd, 31 days
# (30/360) after the coupon of 1 December: 1,000 x 9.23% x 31/360 = 7.95 rupees a unit.
ACCRUED = round(100_000 * 0.0923 * 31 / 360)


@pytest.fixture
def one_bond_cohort():
    """A built (not run) cohort of 3 investors in one bond, valued as at the first open: a and
    b exit with 30 and 10 units; the pool has cash for 20 of them and 12,345 paise more."""
    symbol = load_scenario(DEMO).instruments[0].symbol
    sim = Simulation(load_scenario(DEMO, overrides=["sip.investors=3", f"sip.bonds=['{symbol}']"]))
    info = sim.information
    info.publish(0, sim.now, info.fair_value_rows(0, sim.now))
    (cohort,) = sim.populations["sip"]
    ledger = sim.ledger
    ledger.issue_units(cohort.account, symbol, 40)
    cohort.units[:] = [30, 10, 0]
    cohort.exit_day[:2] = 0
    cohort.exit_requested[:2] = [30, 10]
    ledger.deposit(cohort.pool.account, 20 * (9_950 * 10 + ACCRUED) + 12_345)
    return sim, cohort, symbol


def test_the_hand_worked_accrued_interest(one_bond_cohort):
    sim, _, symbol = one_bond_cohort
    assert ACCRUED == 795 and sim.accrued_interest(symbol) == ACCRUED


def test_pool_absorbs_pro_rata_at_fair_less_haircut_while_cash_lasts(one_bond_cohort):
    sim, cohort, symbol = one_bond_cohort
    assert sim.instruments[symbol].tick_value == 10
    cohort.absorb_exits(np.array([10_000.0]))
    pool = sim.ledger.account(cohort.pool.account)
    # 40 units wanted at 9,950 ticks x 10 paise plus the accrued interest; the cash covers 20.
    unit = 99_500 + ACCRUED
    assert pool.units[symbol] == 20 and pool.cash == 12_345
    assert cohort.exit_absorbed.tolist() == [15, 5, 0]
    assert cohort.exits_open.tolist() == [15, 5, 0]
    assert cohort.cash.tolist() == [15 * unit, 5 * unit, 0]
    assert cohort.pool_paid == 20 * unit
    assert cohort.reconcile() == []
    assert sim.ledger.check().ok


def test_recycling_sells_pool_inventory_to_active_investors_at_fair(one_bond_cohort):
    sim, cohort, symbol = one_bond_cohort
    cohort.absorb_exits(np.array([10_000.0]))
    unit = 100_000 + ACCRUED  # 10,000 ticks x 10 paise plus the accrued interest
    sim.ledger.deposit(cohort.account, 3 * unit + 50_000)
    cohort.cash[2] += 3 * unit + 50_000  # affords 3 units
    cohort.recycle(np.array([10_000.0]))
    pool = sim.ledger.account(cohort.pool.account)
    assert pool.units[symbol] == 17 and pool.cash == 12_345 + 3 * unit
    assert cohort.units.tolist() == [15, 5, 3] and cohort.cash[2] == 50_000
    assert (cohort.recycled_units, cohort.recycled_paise) == (3, 3 * unit)
    assert cohort.reconcile() == []
    assert sim.ledger.check().ok


# --- a short real run -----------------------------------------------------------------------


def test_run_conserves_and_the_omnibus_reconciles(small_run):
    sim, result, cohort = small_run
    assert sim.ledger.check().ok and result.metrics["ledger"]["conserved"]
    assert cohort.reconcile() == []
    assert not cohort._in_flight


@given(
    price=st.integers(1, 10**6),
    most=st.integers(1, 10**5),
    qty=st.integers(1, 10**5),
    taker_bps=st.sampled_from(["0", "1", "1.5", "7.25"]),
)
def test_an_orders_lock_per_unit_rounded_up_covers_any_smaller_buy(price, most, qty, taker_bps):
    """What `SipCohort.buy` splits its buys by: the venue's lock on the largest order the
    omnibus can pay for, per unit and rounded up, is at least what any smaller buy at that
    limit locks per unit, so investors who each afford their units at it afford the order."""
    venue = Venue("V", Ledger(), fees=FeeSchedule(0, taker_bps, {}))
    venue.list_instrument(Instrument("B", "0.01", 1, 1000), 10_000)
    qty = min(qty, most)
    unit = -(-venue.buy_lock("B", most, price) // most)
    assert venue.buy_lock("B", qty, price) <= qty * unit


def test_no_investor_pays_more_than_its_cash(small_run):
    _, _, cohort = small_run
    assert (cohort.cash >= 0).all() and cohort.units.sum() > 0


def test_pool_accounting_is_exact(small_run):
    sim, _, cohort = small_run
    p = cohort.params
    assert [day for day, _, _ in cohort.sip_log] == [0, 1]
    for _, deposited, kept in cohort.sip_log:
        assert kept == int(deposited * p.buffer_fraction)
    assert sum(d for _, d, _ in cohort.sip_log) == int(cohort.contributed.sum())
    assert cohort.pool_capital == sum(k for _, _, k in cohort.sip_log)
    pool = sim.ledger.account(cohort.pool.account)
    # Pool cash plus what its inventory cost (paid for exits less recycled) is its capital.
    assert pool.cash + cohort.pool_paid - cohort.recycled_paise == cohort.pool_capital
    held = sum(pool.units[s] for s in cohort.bonds)
    assert held == int(cohort.exit_absorbed.sum()) - cohort.recycled_units


def test_investor_cash_follows_from_contributions_and_the_recorded_trades(small_run):
    sim, result, cohort = small_run
    # From the scenario and the recorded instruments, not from the venue's own fee code.
    paise_per_tick = {
        symbol: Fraction(tick) * face
        for symbol, tick, face in result.instruments.select(
            "symbol", "tick_size", "unit_face_value"
        ).iter_rows()
    }
    taker_bps = {v.name: Fraction(str(v.fees.taker_bps)) for v in sim.scenario.venues}
    book = 0  # what the cohort's book trades paid (-) and brought (+), fees included
    for row in result.trades.filter(result.trades["taker_agent"] == cohort.account).iter_rows(
        named=True
    ):
        # paise per tick and unit = tick size (rupees per 100 face) x face / 100 x 100 paise
        notional = row["price"] * row["qty"] * paise_per_tick[row["instrument"]]
        taker_fee = int(Fraction(notional) * taker_bps[row["venue"]] / 10_000)  # truncated
        # The buyer pays the seller the accrued interest on top of the clean price.
        consideration = notional + row["accrued"]
        book += (
            -(consideration + taker_fee) if row["aggressor_side"] > 0 else consideration - taker_fee
        )
    assert result.trades.filter(result.trades["maker_agent"] == cohort.account).is_empty()
    transfers = result.frame("transfers")
    coupons = transfers.filter(
        (transfers["kind"] == "coupon") & (transfers["target"] == cohort.account)
    )["cash"].sum()
    expected = (
        int(cohort.contributed.sum())
        - cohort.pool_capital
        + cohort.pool_paid
        - cohort.recycled_paise
        + book
        + coupons
    )
    assert int(cohort.cash.sum()) == expected


def test_absorption_rate_matches_the_recorded_arrays(small_run):
    _, result, cohort = small_run
    requested = int(cohort.exit_requested.sum())
    absorbed = int(cohort.exit_absorbed.sum())
    assert requested > 0 and 0 < absorbed < requested  # the run exercises a short pool
    assert int(cohort.exit_sold.sum()) > 0  # and the book takes some of the rest
    assert cohort.recycled_units > 0
    values = cohort.exit_fair_ticks * cohort._tick_values[cohort.bond]
    value_rate = (cohort.exit_absorbed * values).sum() / (cohort.exit_requested * values).sum()
    metrics = result.metrics["sip"]
    assert metrics["absorption_rate_units"] == pytest.approx(absorbed / requested)
    assert metrics["absorption_rate_value"] == pytest.approx(value_rate)
    assert metrics["exits"] == int((cohort.exit_day >= 0).sum())
    row = result.agents.filter(result.agents["kind"] == "sip").row(0, named=True)
    assert row["absorption_rate_units"] == pytest.approx(absorbed / requested)
    assert row["contributions_paise"] == int(cohort.contributed.sum())
    assert row["buffer_utilisation"] >= 0 and row["idle_cash"] > 0
    assert result.agents.filter(result.agents["kind"] == "sip_pool").height == 1


def test_exits_rise_on_the_panic_day(small_run):
    _, _, cohort = small_run
    calm, panic = np.bincount(cohort.exit_day[cohort.exit_day >= 0], minlength=2)
    # The hazard is 5x higher on day 1 (panic 0.8, multiplier 5): far beyond sampling noise.
    assert panic > 2 * calm


def test_same_seed_same_arrays(small_run, tmp_path):
    _, _, first = small_run
    _, _, again = simulate(tmp_path)
    for name in ARRAYS:
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    other = Simulation(load_scenario(DEMO, overrides=SMALL), seed=2).populations["sip"][0]
    assert not np.array_equal(first.monthly, other.monthly)


def test_buffer_fraction_zero_absorbs_nothing(tmp_path):
    sim, result, cohort = simulate(tmp_path, ["sip.buffer_fraction=0"])
    assert int(cohort.exit_requested.sum()) > 0
    assert int(cohort.exit_absorbed.sum()) == 0 and cohort.recycled_units == 0
    assert cohort.pool_capital == 0 and sim.ledger.account(cohort.pool.account).cash == 0
    assert result.metrics["sip"]["absorption_rate_units"] == 0.0
    assert result.metrics["sip"]["buffer_utilisation"] is None
    assert sim.ledger.check().ok and cohort.reconcile() == []


def test_a_100k_cohort_is_arrays_not_objects():
    scenario = load_scenario(DEMO, overrides=["sip.investors=100000", "retail.count=10"])
    sim = Simulation(scenario)
    (cohort,) = sim.populations["sip"]
    assert isinstance(cohort, SipCohort)
    for name in ARRAYS:
        array = getattr(cohort, name)
        assert isinstance(array, np.ndarray) and array.shape == (100_000,), name
    # One cohort and one pool, however many investors.
    assert sum(a.kind.startswith("sip") for a in sim.model.agents) == 2


def test_buying_through_the_day_invests_more_than_once_a_day(tmp_path):
    # 20,000 investors put in far more than the books show at any one moment.
    big = ["sip.investors=20000", "sip.sip_interval_days=0"]
    _, _, daily = simulate(tmp_path / "daily", [*big, "sip.buy_interval_minutes=0"], seed=3)
    _, result, often = simulate(tmp_path / "often", [*big, "sip.buy_interval_minutes=15"], seed=3)
    assert often.units.sum() > daily.units.sum() > 0
    assert not often.reconcile()
    assert result.metrics["ledger"]["conserved"] is True
    buys = result.orders.filter(
        (result.orders["agent"] == often.account) & (result.orders["side"] == 1)
    )
    # Offered again in later rounds of the same day: more buy orders than bonds bought into.
    assert buys.height > len(often.bonds)
