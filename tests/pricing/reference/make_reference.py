"""Build bond_reference.csv: random bonds priced by QuantLib, the reference for test_bond.py.

    .venv/bin/python tests/pricing/reference/make_reference.py

QuantLib set-up (the equivalent of `sim.pricing.Bond`): ``FixedRateBond`` with zero settlement
days on an unadjusted ``NullCalendar`` schedule, generated backward from maturity, with
``endOfMonth`` when the maturity is a month end; ``BondFunctions`` with ``Compounded`` yields at
the coupon frequency and the bond's day counter. ACT/ACT-SEBI has no QuantLib equivalent and is
left out. The helpers are imported by the live differential tests and by the benchmark.
"""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import QuantLib as ql

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from sim.pricing import Bond, add_months, coupon_periods, is_month_end  # noqa: E402

OUT = Path(__file__).with_name("bond_reference.csv")
SEED = 20261121
ROWS = 600

QL_DAY_COUNTERS = {
    "30/360": lambda: ql.Thirty360(ql.Thirty360.BondBasis),
    "30E/360": lambda: ql.Thirty360(ql.Thirty360.EurobondBasis),
    "ACT/ACT-ICMA": lambda: ql.ActualActual(ql.ActualActual.ISMA),
    "ACT/ACT-ISDA": lambda: ql.ActualActual(ql.ActualActual.ISDA),
    "ACT/365F": ql.Actual365Fixed,
}
QL_FREQUENCIES = {1: ql.Annual, 2: ql.Semiannual, 4: ql.Quarterly}
COLUMNS = [
    *("issue", "maturity", "coupon", "frequency", "day_count", "settle", "ytm"),
    *("clean", "accrued", "yield", "macaulay", "modified", "convexity", "total_cash", "n_flows"),
]


def ql_date(day: date) -> ql.Date:
    return ql.Date(day.day, day.month, day.year)


def ql_schedule(bond: Bond) -> ql.Schedule:
    """The QuantLib coupon schedule equivalent to ``bond.periods()``."""
    return ql.Schedule(
        ql_date(bond.issue),
        ql_date(bond.maturity),
        ql.Period(QL_FREQUENCIES[bond.frequency]),
        ql.NullCalendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        is_month_end(bond.maturity),
    )


def ql_bond(bond: Bond) -> ql.FixedRateBond:
    """The QuantLib bond equivalent to ``bond`` (not for ACT/ACT-SEBI)."""
    return ql.FixedRateBond(
        0, 100.0, ql_schedule(bond), [bond.coupon], QL_DAY_COUNTERS[bond.day_count]()
    )


def ql_figures(bond: Bond, settle: date, ytm: float) -> dict[str, float]:
    """QuantLib's prices, yield and risk figures for ``bond`` at ``ytm`` settling on ``settle``."""
    ql.Settings.instance().evaluationDate = ql_date(settle)
    qb = ql_bond(bond)
    dc = QL_DAY_COUNTERS[bond.day_count]()
    freq = QL_FREQUENCIES[bond.frequency]
    when = ql_date(settle)
    clean = ql.BondFunctions.cleanPrice(qb, ytm, dc, ql.Compounded, freq, when)
    price = ql.BondPrice(clean, ql.BondPrice.Clean)
    solved = ql.BondFunctions.bondYield(qb, price, dc, ql.Compounded, freq, when, 1e-14, 500, 0.05)

    def duration(kind: int) -> float:
        return ql.BondFunctions.duration(qb, ytm, dc, ql.Compounded, freq, kind, when)

    later = [cf for cf in qb.cashflows() if cf.date() > when]
    return {
        "clean": clean,
        "accrued": qb.accruedAmount(when),
        "yield": solved,
        "macaulay": duration(ql.Duration.Macaulay),
        "modified": duration(ql.Duration.Modified),
        "convexity": ql.BondFunctions.convexity(qb, ytm, dc, ql.Compounded, freq, when),
        "total_cash": sum(cf.amount() for cf in later),
        "n_flows": len({cf.date() for cf in later if cf.amount() > 0}),
    }


def random_bond(rng: np.random.Generator, day_counts: tuple[str, ...]) -> Bond:
    """A random bond: odd and month-end dates, stubs, zero coupons, short and long tenors."""
    issue = date(2000, 1, 1) + timedelta(days=int(rng.integers(0, 30 * 365)))
    if rng.random() < 0.15:
        issue = add_months(issue, 0, end_of_month=True).replace(day=1) - timedelta(days=1)
    months = int(rng.integers(1, 12 * 30 + 1)) if rng.random() < 0.9 else int(rng.integers(1, 4))
    maturity = add_months(issue, months) + timedelta(days=int(rng.integers(-20, 21)))
    if rng.random() < 0.25:  # a month-end maturity, which switches the end-of-month rule on
        maturity = add_months(maturity.replace(day=1), 1) - timedelta(days=1)
    if maturity <= issue:
        maturity = issue + timedelta(days=int(rng.integers(5, 60)))
    coupon = 0.0 if rng.random() < 0.1 else round(float(rng.uniform(0.0, 0.15)), 4)
    return Bond(
        issue=issue,
        maturity=maturity,
        coupon=coupon,
        frequency=int(rng.choice([1, 2, 4])),
        day_count=str(rng.choice(day_counts)),
    )


def random_settle(rng: np.random.Generator, bond: Bond) -> date:
    """A settlement date: mostly uniform, sometimes on a coupon date or just before maturity."""
    u = rng.random()
    if u < 0.1:
        ends = [p.start for p in coupon_periods(bond.issue, bond.maturity, bond.frequency)]
        return ends[int(rng.integers(0, len(ends)))]
    if u < 0.15:
        return bond.maturity - timedelta(days=int(rng.integers(1, 11)))
    days = (bond.maturity - bond.issue).days
    return bond.issue + timedelta(days=int(rng.integers(0, days)))


def random_ytm(rng: np.random.Generator) -> float:
    u = rng.random()
    if u < 0.1:
        return round(float(rng.uniform(-0.03, 0.0)), 6)
    if u < 0.2:
        return round(float(rng.uniform(0.2, 0.6)), 6)
    return round(float(rng.uniform(0.0, 0.2)), 6)


def main() -> None:
    rng = np.random.default_rng(SEED)
    rows = []
    while len(rows) < ROWS:
        bond = random_bond(rng, tuple(QL_DAY_COUNTERS))
        settle = random_settle(rng, bond)
        ytm = random_ytm(rng)
        try:
            figures = ql_figures(bond, settle, ytm)
        except RuntimeError as exc:  # e.g. no yield when the only flow is at t = 0 (30/360)
            print(f"skipped {bond} at {settle}: {exc}")
            continue
        rows.append(
            {
                "issue": bond.issue.isoformat(),
                "maturity": bond.maturity.isoformat(),
                "coupon": repr(bond.coupon),
                "frequency": bond.frequency,
                "day_count": bond.day_count,
                "settle": settle.isoformat(),
                "ytm": repr(ytm),
                **{k: repr(v) for k, v in figures.items()},
            }
        )
    with OUT.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT} with QuantLib {ql.__version__}")


if __name__ == "__main__":
    main()
