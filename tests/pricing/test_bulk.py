"""Bulk pricing equals the scalar Bond methods, caches its preparation and reports bad input."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sim.pricing import CONVENTIONS, Bond, BondPortfolio, PricingError, price_many, yield_many

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
    np.testing.assert_allclose(prices, expected, rtol=0, atol=1e-12)


def test_yield_many_equals_the_scalar_yields_and_round_trips():
    bonds = _solvable(BONDS)
    rng = np.random.default_rng(12)
    ytms = rng.uniform(-0.02, 0.4, len(bonds))
    prices = np.array([b.clean_price(y, SETTLE) for b, y in zip(bonds, ytms, strict=True)])
    solved = yield_many(bonds, prices, SETTLE)
    expected = [b.yield_from_price(p, SETTLE) for b, p in zip(bonds, prices, strict=True)]
    np.testing.assert_allclose(solved, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(solved, ytms, rtol=0, atol=1e-9)


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
    matured = Bond(date(2020, 1, 1), date(2025, 1, 1), 0.05, 2, "ACT/365F")
    with pytest.raises(
        ValueError, match=r"settle \(2026-11-20\) is on or after maturity \(2025-01-01\)"
    ):
        price_many([bonds[0], matured], np.zeros(2), SETTLE)


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
    flat = Bond(date(2024, 11, 30), date(2025, 5, 31), 0.05, 2, "30E/360")
    with pytest.raises(PricingError, match=r"bonds\[0\] .*all remaining cash flows at t = 0"):
        yield_many([flat], np.array([100.0]), date(2025, 5, 30))
