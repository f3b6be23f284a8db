"""Bulk pricing equals the scalar Bond methods bit for bit, prepares each distinct bond once and
reports bad input."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.pricing import (
    CONVENTIONS,
    Bond,
    BondPortfolio,
    PricingError,
    _kernels,
    add_months,
    bulk,
    price_many,
    yield_many,
)

SETTLE = date(2026, 11, 20)


def _random_bonds(seed: int, n: int) -> list[Bond]:
    rng = np.random.default_rng(seed)
    bonds = []
    for _ in range(n):
        issue = SETTLE - timedelta(days=int(rng.integers(0, 4000)))
        maturity = SETTLE + timedelta(days=int(rng.integers(1, 365 * 30)))
        coupon = 0.0 if rng.random() < 0.1 else round(float(rng.uniform(0.0, 0.15)), 4)
        frequency = int(rng.choice([1, 2, 4]))
        bonds.append(Bond(issue, maturity, coupon, frequency, str(rng.choice(CONVENTIONS))))
    return bonds


BONDS = _random_bonds(7, 400)


def _solvable(bonds: list[Bond]) -> list[Bond]:
    return [b for b in bonds if b.cashflow_times(SETTLE)[-1] > 0]


def test_price_many_equals_the_scalar_prices():
    rng = np.random.default_rng(11)
    ytms = rng.uniform(-0.02, 0.4, len(BONDS))
    prices = price_many(BONDS, ytms, SETTLE)
    expected = [b.clean_price(y, SETTLE) for b, y in zip(BONDS, ytms, strict=True)]
    np.testing.assert_array_equal(prices, expected)


def test_yield_many_equals_the_scalar_yields_and_round_trips():
    bonds = _solvable(BONDS)
    rng = np.random.default_rng(12)
    ytms = rng.uniform(-0.02, 0.4, len(bonds))
    prices = np.array([b.clean_price(y, SETTLE) for b, y in zip(bonds, ytms, strict=True)])
    solved = yield_many(bonds, prices, SETTLE)
    expected = [b.yield_from_price(p, SETTLE) for b, p in zip(bonds, prices, strict=True)]
    np.testing.assert_array_equal(solved, expected)
    np.testing.assert_allclose(solved, ytms, rtol=0, atol=1e-9)


@pytest.mark.parametrize("frequency", [1, 2, 4])
def test_one_period_before_maturity_the_yield_is_the_periods_simple_return(frequency):
    # 30/360 on a coupon date: a single flow of 100 + 6/f at t = 1/f, worth flow / (1 + y/f)
    maturity = date(2027, 11, 20)
    bonds = [Bond(date(2020, 11, 20), maturity, 0.06, frequency, "30/360")] * 3
    settle = add_months(maturity, -12 // frequency)
    prices = np.array([95.0, 100.0, 104.0])
    expected = frequency * ((100 + 6 / frequency) / prices - 1)
    np.testing.assert_allclose(yield_many(bonds, prices, settle), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(price_many(bonds, expected, settle), prices, rtol=1e-14)


def test_zero_coupon_bonds_from_a_day_to_thirty_years_in_closed_form():
    days = np.array([1, 2, 7, 91, 365, 3652, 10957])
    bonds = [
        Bond(date(2020, 1, 1), SETTLE + timedelta(days=int(d)), 0.0, 2, "ACT/365F") for d in days
    ]
    prices = 100 * 1.025 ** (-2 * days / 365)  # at 5% compounded twice a year
    np.testing.assert_allclose(
        price_many(bonds, np.full(days.size, 0.05), SETTLE), prices, rtol=1e-14
    )
    np.testing.assert_allclose(yield_many(bonds, prices, SETTLE), 0.05, rtol=0, atol=1e-12)


def test_yields_of_a_deeply_discounted_bond_in_closed_form():
    # 30/360 a year before maturity: 3 at t = 1/2 and 103 at t = 1, so v = 1 / (1 + y/2) solves
    # 103 v**2 + 3 v = price; the lower the price, the flatter the price is in the yield
    bond = Bond(date(2020, 11, 20), date(2027, 11, 20), 0.06, 2, "30/360")
    prices = np.array([20.0, 5.0, 1.0, 0.01])
    v = (np.sqrt(9 + 412 * prices) - 3) / 206
    np.testing.assert_allclose(
        yield_many([bond] * 4, prices, SETTLE), 2 * (1 / v - 1), rtol=1e-13, atol=0
    )


def test_portfolio_prepares_once_per_settlement_date():
    portfolio = BondPortfolio(BONDS[:50])
    first = portfolio.prepare(SETTLE)
    assert portfolio.prepare(SETTLE) is first
    later = portfolio.prepare(SETTLE + timedelta(days=1))
    assert later is not first
    assert portfolio.prepare(SETTLE) is first
    assert first.offsets[-1] == first.times.size == first.amounts.size
    assert first.offsets.tolist() == [
        0,
        *np.cumsum([b.cashflow_times(SETTLE).size for b in BONDS[:50]]),
    ]


def test_portfolio_keeps_the_most_recently_used_settlement_dates():
    portfolio = BondPortfolio(BONDS[:5])
    days = [SETTLE + timedelta(days=k) for k in range(bulk._SETTLE_DATES_KEPT + 1)]
    prepared = {day: portfolio.prepare(day) for day in days[:-1]}
    assert portfolio.prepare(days[0]) is prepared[days[0]]  # now the most recently used
    newest = portfolio.prepare(days[-1])  # one date too many: the least recently used goes
    assert portfolio.prepare(days[-1]) is newest
    assert all(portfolio.prepare(day) is prepared[day] for day in [days[0], *days[2:-1]])
    assert portfolio.prepare(days[1]) is not prepared[days[1]]


def test_plain_sequences_reuse_their_preparation_until_changed():
    from sim.pricing.bulk import _portfolio

    bonds = list(BONDS[:20])
    assert _portfolio(bonds) is _portfolio(bonds)
    ytms = np.full(len(bonds), 0.05)
    before = price_many(bonds, ytms, SETTLE)
    bonds[3] = Bond(date(2020, 1, 1), date(2040, 1, 1), 0.15, 2, "ACT/365F")  # in place
    after = price_many(bonds, ytms, SETTLE)
    assert after[3] == pytest.approx(bonds[3].clean_price(0.05, SETTLE), abs=1e-12)
    assert after[3] != before[3]
    np.testing.assert_array_equal(np.delete(after, 3), np.delete(before, 3))


def test_the_most_recently_used_plain_sequences_are_kept(monkeypatch):
    monkeypatch.setattr(bulk, "_portfolios", OrderedDict())
    sequences = [BONDS[k : k + 3] for k in range(bulk._SEQUENCES_KEPT + 1)]
    portfolios = [bulk._portfolio(bonds) for bonds in sequences[:-1]]
    assert bulk._portfolio(sequences[0]) is portfolios[0]  # now the most recently used
    newest = bulk._portfolio(sequences[-1])  # one too many: the least recently used goes
    assert bulk._portfolio(sequences[-1]) is newest
    kept = zip([sequences[0], *sequences[2:-1]], [portfolios[0], *portfolios[2:]], strict=True)
    assert all(bulk._portfolio(bonds) is portfolio for bonds, portfolio in kept)
    assert bulk._portfolio(sequences[1]) is not portfolios[1]


def _items(seed: int, n: int, distinct: list[Bond]) -> list[Bond]:
    """``n`` bonds drawn from ``distinct``; about a fifth are equal copies, not the same objects."""
    rng = np.random.default_rng(seed)
    copies = [dataclasses.replace(b) for b in distinct]
    picks = rng.integers(0, len(distinct), n).tolist()
    return [(copies if rng.random() < 0.2 else distinct)[i] for i in picks]


def test_repeated_bonds_equal_the_scalar_methods_bit_for_bit():
    items = _items(13, 5000, _solvable(BONDS[:40]))
    ytms = np.random.default_rng(14).uniform(-0.02, 0.4, len(items))
    prices = price_many(items, ytms, SETTLE)
    expected = [b.clean_price(y, SETTLE) for b, y in zip(items, ytms, strict=True)]
    np.testing.assert_array_equal(prices, expected)
    solved = yield_many(items, prices, SETTLE)
    expected = [b.yield_from_price(p, SETTLE) for b, p in zip(items, prices, strict=True)]
    np.testing.assert_array_equal(solved, expected)


def test_portfolio_prepares_each_distinct_bond_once(monkeypatch):
    distinct = BONDS[:30]
    items = _items(15, 3000, distinct)
    portfolio = BondPortfolio(items)
    assert portfolio.distinct_bonds == tuple(dict.fromkeys(items))
    assert sorted(portfolio.distinct_bonds, key=distinct.index) == distinct
    assert [portfolio.distinct_bonds[r] for r in portfolio.rows] == items
    prepared_for = []
    flows = Bond.flows
    monkeypatch.setattr(
        Bond, "flows", lambda bond, settle: prepared_for.append(bond) or flows(bond, settle)
    )
    portfolio.clean_prices(np.full(len(items), 0.05), SETTLE)
    assert sorted(prepared_for, key=distinct.index) == distinct
    assert portfolio.prepare(SETTLE).offsets.size == len(distinct) + 1


# Small pools of keys, some of them 16-byte aligned like object addresses, repeated in any order.
key_pools = st.lists(
    st.integers(0, 2**64 - 1) | st.integers(0, 64).map(lambda k: 16 * k),
    min_size=1,
    max_size=40,
    unique=True,
)


@given(key_pools.flatmap(lambda pool: st.lists(st.sampled_from(pool), max_size=400)))
def test_first_occurrences_numbers_keys_in_order_of_appearance(keys):
    numbers: dict[int, int] = {}
    expected_codes = [numbers.setdefault(k, len(numbers)) for k in keys]
    codes = np.empty(len(keys), dtype=np.int64)
    first = _kernels.first_occurrences(np.array(keys, dtype=np.uint64), codes)
    assert codes.tolist() == expected_codes
    assert first.tolist() == [keys.index(k) for k in numbers]


def test_first_occurrences_wraps_around_the_end_of_its_table():
    # keys whose hashes all fall in the table's last slot: key * multiplier = -k mod 2**64
    inverse = pow(int(_kernels._FIBONACCI), -1, 2**64)
    keys = [(-k * inverse) % 2**64 for k in range(1, 9)]
    codes = np.empty(2 * len(keys), dtype=np.int64)
    first = _kernels.first_occurrences(np.array(keys + keys, dtype=np.uint64), codes)
    assert codes.tolist() == [*range(8), *range(8)]
    assert first.tolist() == list(range(8))


def test_first_occurrences_numbers_fifty_thousand_object_addresses():
    # real addresses: aligned and sharing their high bits; unless the hash spreads them over
    # the table, every key probes past all the others (quadratic: minutes without the JIT)
    keys = [id(o) for o in [object() for _ in range(50_000)]]
    codes = np.empty(2 * len(keys), dtype=np.int64)
    first = _kernels.first_occurrences(np.array(keys + keys[::-1], dtype=np.uint64), codes)
    numbers = list(range(len(keys)))
    assert codes.tolist() == numbers + numbers[::-1]
    assert first.tolist() == numbers


def test_portfolio_methods_match_the_functions():
    portfolio = BondPortfolio(_solvable(BONDS[:30]))
    ytms = np.linspace(0.0, 0.1, len(portfolio))
    prices = portfolio.clean_prices(ytms, SETTLE)
    np.testing.assert_array_equal(prices, price_many(portfolio, ytms, SETTLE))
    np.testing.assert_array_equal(
        portfolio.yields(prices, SETTLE), yield_many(portfolio, prices, SETTLE)
    )


def test_empty_portfolio():
    assert price_many([], np.empty(0), SETTLE).shape == (0,)
    assert yield_many((), np.empty(0), SETTLE).shape == (0,)
    prepared = BondPortfolio([]).prepare(SETTLE)
    assert prepared.offsets.tolist() == [0]
    assert prepared.times.size == prepared.amounts.size == prepared.accrued.size == 0


def test_bad_inputs_are_reported():
    bonds = BONDS[:3]
    with pytest.raises(
        ValueError, match=r"ytms must have one value per bond, shape \(3,\), got \(2,\)"
    ):
        price_many(bonds, np.zeros(2), SETTLE)
    with pytest.raises(ValueError, match=r"clean_prices must have one value per bond"):
        yield_many(bonds, np.zeros((3, 1)), SETTLE)
    with pytest.raises(ValueError, match=r"ytms must be above -frequency: ytms\[1\] = nan"):
        price_many(bonds, np.array([0.05, np.nan, 0.05]), SETTLE)
    with pytest.raises(ValueError, match=r"bonds\[1\] is not a Bond: 'x'"):
        BondPortfolio([bonds[0], "x"])
    with pytest.raises(ValueError, match=r"bonds\[3\] is not a Bond: None"):
        price_many([bonds[0], bonds[1], bonds[0], None, "x", None], np.zeros(6), SETTLE)
    matured = Bond(date(2020, 1, 1), date(2025, 1, 1), 0.05, 2, "ACT/365F")
    with pytest.raises(
        ValueError, match=r"settle \(2026-11-20\) is on or after maturity \(2025-01-01\)"
    ):
        price_many([bonds[0], matured], np.zeros(2), SETTLE)


def test_ytms_must_be_above_minus_each_bonds_own_frequency():
    annual, quarterly = (
        Bond(date(2020, 1, 15), date(2035, 1, 15), 0.05, f, "ACT/365F") for f in (1, 4)
    )
    prices = price_many([annual, quarterly], np.array([-0.99, -3.5]), SETTLE)
    expected = [annual.clean_price(-0.99, SETTLE), quarterly.clean_price(-3.5, SETTLE)]
    np.testing.assert_array_equal(prices, expected)
    with pytest.raises(
        ValueError, match=r"ytms must be above -frequency: ytms\[0\] = -1.0 \(2 bad value\(s\)\)"
    ):
        price_many([annual, quarterly, quarterly], np.array([-1.0, -3.5, -4.0]), SETTLE)


def test_failed_yields_name_the_bond():
    bonds = _solvable(BONDS[:5])
    prices = np.array([b.clean_price(0.05, SETTLE) for b in bonds])
    prices[2] = -500.0
    prices[4] = -600.0
    with pytest.raises(
        PricingError,
        match=r"no yield for 2 bond\(s\); first: bonds\[2\] at clean price -500.0 "
        r"\(dirty price not positive\)",
    ):
        yield_many(bonds, prices, SETTLE)
    on_a_coupon_date = Bond(date(2020, 11, 20), date(2030, 11, 20), 0.05, 2, "ACT/365F")
    assert on_a_coupon_date.accrued(SETTLE) == 0.0
    with pytest.raises(PricingError, match=r"clean price 0.0 \(dirty price not positive\)"):
        yield_many([on_a_coupon_date], np.array([0.0]), SETTLE)
    flat = Bond(date(2024, 11, 30), date(2025, 5, 31), 0.05, 2, "30E/360")
    with pytest.raises(PricingError, match=r"bonds\[0\] .*all remaining cash flows at t = 0"):
        yield_many([flat], np.array([100.0]), date(2025, 5, 30))


def test_a_price_below_the_cash_paid_at_settlement_has_no_yield():
    # Under 30E/360 the coupon of 31 May, 2.5, is at t = 0 from 30 May, when 2.5 has accrued:
    # a clean price of -1 is a dirty price of 1.5, below what any yield gives.
    bond = Bond(date(2024, 5, 31), date(2026, 5, 31), 0.05, 2, "30E/360")
    settle = date(2025, 5, 30)
    with pytest.raises(PricingError, match="did not converge"):
        bond.yield_from_price(-1.0, settle)
    with pytest.raises(
        PricingError,
        match=r"no yield for 1 bond\(s\); first: bonds\[1\] at clean price -1.0 "
        r"\(solver did not converge\)",
    ):
        yield_many([bond, bond], np.array([100.0, -1.0]), settle)


def test_no_yield_below_the_cash_paid_at_settlement_stops_before_a_zero_slope():
    # The flows after t = 0 discount to exactly 0 on the way; compiled, dividing by that slope
    # raises ZeroDivisionError, while numpy scalars only warn: make them raise as well.
    bond = Bond(date(2024, 5, 31), date(2026, 5, 31), 0.05, 2, "30E/360")
    with (
        np.errstate(divide="raise", invalid="raise"),
        pytest.raises(PricingError, match="did not converge"),
    ):
        yield_many([bond], np.array([-1.0]), date(2025, 5, 30))
