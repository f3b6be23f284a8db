"""Pricing engine throughput: numba bulk pricing vs the scalar Bond methods vs QuantLib.

The same bonds, yields and settlement date go through `price_many`/`yield_many` (warm: the
per-bond preparation is cached and the kernels are compiled), through `Bond.clean_price` /
`Bond.yield_from_price` one bond at a time, and through QuantLib's `BondFunctions` one bond at a
time (bonds built beforehand). The slow paths time a subset and are extrapolated to a rate per
second. The kernels are not parallel: all of this runs on one core.

A second case prices many (bond, yield) pairs drawn from fewer bonds, as a user's first call
would: `price_many` on a plain list, new each time, beside a `BondPortfolio` prepared beforehand.
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sim.pricing import Bond, BondPortfolio, price_many, yield_many

N_BONDS = 10_000
SUBSET = 1_000
N_PAIRS = 400_000
N_DISTINCT = 2_000
REPEATS = 5
SETTLE = date(2026, 11, 20)
QL_CONVENTIONS = ("30/360", "30E/360", "ACT/ACT-ICMA", "ACT/ACT-ISDA", "ACT/365F")
REFERENCE = Path(__file__).resolve().parents[1] / "tests/pricing/reference/make_reference.py"


def _bonds(rng: np.random.Generator, n: int) -> list[Bond]:
    bonds = []
    for _ in range(n):
        issue = SETTLE - timedelta(days=int(rng.integers(0, 3650)))
        maturity = SETTLE + timedelta(days=int(rng.integers(30, 365 * 30)))
        coupon = round(float(rng.uniform(0.0, 0.12)), 4)
        frequency = int(rng.choice([1, 2, 4]))
        bonds.append(Bond(issue, maturity, coupon, frequency, str(rng.choice(QL_CONVENTIONS))))
    return bonds


def _rate(work: int, run) -> float:
    """Median over REPEATS runs of ``work`` items per second."""
    seconds = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return work / statistics.median(seconds)


def _quantlib():
    spec = importlib.util.spec_from_file_location("make_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run() -> str:
    rng = np.random.default_rng(2026)
    bonds = _bonds(rng, N_BONDS)
    ytms = rng.uniform(0.0, 0.12, N_BONDS)

    start = time.perf_counter()
    portfolio = BondPortfolio(bonds)
    portfolio.prepare(SETTLE)
    cold_prepare = time.perf_counter() - start
    start = time.perf_counter()
    portfolio.prepare(SETTLE + timedelta(days=1))
    next_day_prepare = time.perf_counter() - start

    prices = price_many(bonds, ytms, SETTLE)  # warm: kernels loaded, preparation cached
    yield_many(bonds, prices, SETTLE)
    bulk_price = _rate(N_BONDS * 10, lambda: [price_many(bonds, ytms, SETTLE) for _ in range(10)])
    bulk_yield = _rate(N_BONDS * 2, lambda: [yield_many(bonds, prices, SETTLE) for _ in range(2)])

    sub = list(zip(bonds[:SUBSET], ytms[:SUBSET], prices[:SUBSET], strict=True))
    scalar_price = _rate(SUBSET, lambda: [b.clean_price(y, SETTLE) for b, y, _ in sub])
    scalar_yield = _rate(SUBSET, lambda: [b.yield_from_price(p, SETTLE) for b, _, p in sub])

    ref = _quantlib()
    ql = ref.ql
    ql.Settings.instance().evaluationDate = ref.ql_date(SETTLE)
    when = ref.ql_date(SETTLE)
    ql_sub = [
        (ref.ql_bond(b), ref.QL_DAY_COUNTERS[b.day_count](), ref.QL_FREQUENCIES[b.frequency], y, p)
        for b, y, p in sub
    ]

    def ql_prices():
        return [
            ql.BondFunctions.cleanPrice(qb, y, dc, ql.Compounded, f, when)
            for qb, dc, f, y, _ in ql_sub
        ]

    def ql_yields():
        return [
            ql.BondFunctions.bondYield(
                qb, ql.BondPrice(p, ql.BondPrice.Clean), dc, ql.Compounded, f, when
            )
            for qb, dc, f, _, p in ql_sub
        ]

    quantlib_price = _rate(SUBSET, ql_prices)
    quantlib_yield = _rate(SUBSET, ql_yields)
    price_gap = float(np.max(np.abs(np.array(ql_prices()) - prices[:SUBSET])))
    yield_gap = float(np.max(np.abs(np.array(ql_yields()) - ytms[:SUBSET])))

    distinct = _bonds(rng, N_DISTINCT)
    pairs = [distinct[i] for i in rng.integers(0, N_DISTINCT, N_PAIRS)]
    pair_ytms = rng.uniform(0.0, 0.12, N_PAIRS)
    pair_prices = price_many(pairs, pair_ytms, SETTLE)  # warm: kernels loaded, flows cached
    prepared = BondPortfolio(pairs)
    prepared.prepare(SETTLE)
    # a new list each time, so nothing is reused but the per-bond flows (`Bond.flows`' cache)
    natural_price = _rate(N_PAIRS, lambda: price_many(list(pairs), pair_ytms, SETTLE))
    natural_yield = _rate(N_PAIRS, lambda: yield_many(list(pairs), pair_prices, SETTLE))
    prepared_price = _rate(N_PAIRS, lambda: prepared.clean_prices(pair_ytms, SETTLE))
    prepared_yield = _rate(N_PAIRS, lambda: prepared.yields(pair_prices, SETTLE))

    flows = portfolio.prepare(SETTLE).times.size / N_BONDS
    rows = [
        ("`price_many` / `yield_many` (numba, warm)", bulk_price, bulk_yield),
        ("`Bond` methods, one bond at a time", scalar_price, scalar_yield),
        ("QuantLib `BondFunctions`, one bond at a time", quantlib_price, quantlib_yield),
    ]
    table = "\n".join(
        f"| {name} | {p:,.0f} | {bulk_price / p:,.1f}x | {y:,.0f} | {bulk_yield / y:,.1f}x |"
        for name, p, y in rows
    )
    pair_rows = [
        ("`price_many` / `yield_many` on a new list each call", natural_price, natural_yield),
        ("`BondPortfolio.clean_prices` / `.yields`, prepared", prepared_price, prepared_yield),
    ]
    pair_table = "\n".join(f"| {name} | {p:,.0f} | {y:,.0f} |" for name, p, y in pair_rows)
    return f"""## Pricing engine

{N_BONDS:,} random fixed-coupon bonds (30/360, 30E/360, ACT/ACT-ICMA, ACT/ACT-ISDA, ACT/365F;
1, 2 and 4 coupons a year; up to 30 years; {flows:.1f} remaining cash flows per bond on average),
one settlement date, one core. Rates are the median of {REPEATS} runs; the one-at-a-time rows time
{SUBSET:,} bonds and extrapolate. QuantLib {ql.__version__} solves yields to its default accuracy
(1e-10); ours to machine precision.

| path | prices / s | bulk is faster by | yield solves / s | bulk is faster by |
|---|---:|---:|---:|---:|
{table}

- Preparation (schedules, cash-flow times, accrued; cached per bond and settlement date):
  {cold_prepare:.2f} s for {N_BONDS:,} bonds cold, {next_day_prepare:.2f} s for the next day
  (schedules already cached).
- Agreement on the subset: max |clean price - QuantLib| = {price_gap:.1e} per 100 face,
  max |QuantLib yield - input yield| = {yield_gap:.1e}.

### {N_PAIRS:,} (bond, yield) pairs drawn from {N_DISTINCT:,} bonds

The call a user writes first, `price_many(list_of_bonds, ytms, settle)` with a list it has not
passed before, beside the same pairs in a `BondPortfolio` prepared beforehand. The list's
repeated bonds are found in one compiled pass over their addresses and each distinct bond is
prepared once (its flows come from `Bond.flows`' cache); the kernels then index its row.

| path | prices / s | yield solves / s |
|---|---:|---:|
{pair_table}
"""
