"""Bond cash flows in a run: accrued interest on every trade, coupons to the holders of record,
manufactured payments on repo collateral, and the cohorts' investors credited.

The reference figures are worked by hand from the bonds' terms (ACT/365F, semi-annual), and
the holders of record are rebuilt from the run's own records (endowments, off-book transfers
and trades by their settlement dates), not from the ledger that paid them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import polars as pl
import pytest

from sim.engine.kernel import Simulation
from sim.scenario import load_scenario

# Monday 8 to Monday 15 January 2024: six trading days. Bond A pays on Wednesday the 10th (day
# 2); bond B's coupon date is Saturday the 13th, paid at Monday's open (day 5).
SCENARIO = """
[run]
name = "coupons"
seed = 3

[calendar]
start = 2024-01-08
days = 6
open = "09:15"
close = "10:15"

[[instruments]]
symbol = "A-2028"
issuer = "Issuer A"
sector = "PSU"
rating = "AAA"
coupon = 0.08
issue = 2023-01-10
maturity = 2028-01-10
frequency = 2
day_count = "ACT/365F"
reference_price = "100.00"

[[instruments]]
symbol = "B-2027"
issuer = "Issuer B"
sector = "NBFC"
rating = "A"
coupon = 0.09
issue = 2022-07-13
maturity = 2027-01-13
frequency = 2
day_count = "ACT/365F"
reference_price = "100.00"

[[venues]]
name = "NSE"
settlement_lag_days = 1
[venues.fees]
maker_bps = 0
taker_bps = 1

[[venues]]
name = "BSE"
settlement_lag_days = 1
[venues.fees]
maker_bps = 0
taker_bps = 1.5

[fundamentals]
kind = "bond"
short_rate = 0.065

[recording]
book_interval_seconds = 600

[retail]
count = 40
arrivals_per_day = 4
max_qty = 20
cash_rupees = 200_000
units = 20

[market_maker]
count = 2
quote_size = 20
units = 500
cash_rupees = 5_000_000
requote_seconds = 60

[sip]
investors = 200
monthly_contribution_rupees = 5000
sip_interval_days = 1

[repo]
count = 3
lenders = 1
cash_rupees = 50_000
units = 100
term_days = 10
"""

FACE_PAISE = 100_000  # a unit is 1,000 rupees of face
# Coupons per unit: 100 face x rate x 184/365 days (Jul-Jan) per 100, in paise of a unit.
COUPON = {
    "A-2028": round(FACE_PAISE * 0.08 * 184 / 365),
    "B-2027": round(FACE_PAISE * 0.09 * 184 / 365),
}
LAST_COUPON_BEFORE_RUN = {"A-2028": date(2023, 7, 10), "B-2027": date(2023, 7, 13)}
COUPON_DATE = {"A-2028": date(2024, 1, 10), "B-2027": date(2024, 1, 13)}
PAY_DAY = {"A-2028": 2, "B-2027": 5}


def accrued_per_unit(symbol: str, settle: date) -> int:
    rate = 0.08 if symbol == "A-2028" else 0.09
    last = COUPON_DATE[symbol] if settle >= COUPON_DATE[symbol] else LAST_COUPON_BEFORE_RUN[symbol]
    return round(FACE_PAISE * rate * (settle - last).days / 365)


def test_the_hand_worked_coupons():
    assert COUPON == {"A-2028": 4033, "B-2027": 4537}  # 40.33 and 45.37 rupees a unit


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("coupons") / "coupons.toml"
    path.write_text(SCENARIO)
    simulation = Simulation(load_scenario(path))
    result = simulation.run(out=None)
    return simulation, result


def test_every_trade_settles_with_the_interest_accrued_to_its_settlement_date(run):
    simulation, result = run
    cal = simulation.calendar
    trades = result.frame("trades")
    assert len(trades) > 100
    day = [cal.day_index(t) for t in trades["time"].to_list()]
    settles = [*cal.trading_days[1:], date(2024, 1, 16)]  # T+1: the next weekday
    settle = [settles[d] for d in day]
    expected = [
        q * accrued_per_unit(s, d)
        for q, s, d in zip(trades["qty"], trades["instrument"].cast(str), settle, strict=True)
    ]
    assert trades["accrued"].to_list() == expected
    # Both sides of the coupon dates are traded: accrued falls back after each.
    assert {d for d in day} == set(range(6))


def holders_of_record(result, simulation, symbol: str, pay_day: int) -> dict[int, int]:
    """Units per account before the pay day's open settlements, rebuilt from the records."""
    cal = simulation.calendar
    pay_ns = cal.session(pay_day)[0]
    settled_by = cal.session(pay_day - 1)[0]  # T+1: trades before day p-1 settled before p
    units: dict[int, int] = defaultdict(int)
    moves = result.frame("transfers").filter(
        (pl.col("instrument").cast(str) == symbol) & (pl.col("time") < pay_ns)
    )
    for kind, source, target, qty in moves.select("kind", "source", "target", "qty").rows():
        if kind == "issue":
            units[target] += qty
        elif qty:  # a transfer: the target delivers to the source
            units[target] -= qty
            units[source] += qty
    trades = result.frame("trades").filter(
        (pl.col("instrument").cast(str) == symbol) & (pl.col("time") < settled_by)
    )
    for maker, taker, aggressor, qty in trades.select(
        "maker_agent", "taker_agent", "aggressor_side", "qty"
    ).rows():
        buyer, seller = (taker, maker) if aggressor == 1 else (maker, taker)
        units[buyer] += qty
        units[seller] -= qty
    return {account: q for account, q in units.items() if q}


@pytest.mark.parametrize("symbol", ["A-2028", "B-2027"])
def test_coupons_go_to_the_holders_of_record(run, symbol):
    simulation, result = run
    pay_ns = simulation.calendar.session(PAY_DAY[symbol])[0]
    coupons = result.frame("transfers").filter(
        (pl.col("kind") == "coupon") & (pl.col("instrument").cast(str) == symbol)
    )
    assert coupons["time"].unique().to_list() == [pay_ns]
    paid = dict(zip(coupons["target"], coupons["cash"], strict=True))
    record = holders_of_record(result, simulation, symbol, PAY_DAY[symbol])
    assert paid == {account: units * COUPON[symbol] for account, units in record.items()}
    # The issuer funded its paying agent with exactly that, from outside.
    payer = coupons["source"].unique().to_list()
    funding = result.frame("transfers").filter(
        (pl.col("kind") == "deposit") & (pl.col("target").is_in(payer))
    )
    assert funding["cash"].to_list() == [sum(paid.values())]


def test_the_ledger_conserves_cash_and_units_with_coupons(run):
    simulation, result = run
    assert result.metrics["ledger"]["conserved"] is True
    assert simulation.ledger.check().ok


def test_the_cohorts_credit_their_investors(run):
    simulation, _ = run
    for population in ("retail", "sip"):
        (cohort,) = simulation.populations[population][:1]
        assert cohort.reconcile() == []


def test_repo_borrowers_keep_the_coupon_on_pledged_units(run):
    simulation, result = run
    lender = next(a for a in simulation.populations["repo"] if a.kind == "repo_lender")
    manufactured = result.frame("transfers").filter(
        (pl.col("kind") == "manufactured_payment") & (pl.col("source") == lender.account)
        & pl.col("time").is_in([simulation.calendar.session(d)[0] for d in PAY_DAY.values()])
    )  # fmt: skip
    coupons_to_lender = result.frame("transfers").filter(
        (pl.col("kind") == "coupon") & (pl.col("target") == lender.account)
    )
    assert len(manufactured) > 0
    # What the lender received on the collateral it holds, it passed on, to the paisa.
    assert manufactured["cash"].sum() == coupons_to_lender["cash"].sum()
    totals = result.metrics["repo"]["manufactured_payments_paise"]
    assert totals == manufactured["cash"].sum()


def test_every_agents_pnl_is_its_parts_and_its_balances(run):
    _, result = run
    agents = result.frame("agents")
    parts = sum(agents[f"pnl_{part}"] for part in ("carry", "valuation", "trading", "fees"))
    assert (parts == agents["pnl"]).all()
    # Cash is the ledger's; positions and capital are valued at the published valuations.
    assert (agents["cash"] + agents["positions_value"] - agents["capital"] == agents["pnl"]).all()


def test_the_pnl_identity(run):
    """All agents' PnL is the change in the evaluated value of the units they hold, plus the
    coupons paid to them, less the fees the venues kept."""
    simulation, result = run
    fair = result.frame("fair_values").with_columns(pl.col("instrument").cast(str)).sort("time")
    value = {}  # paise a unit: clean plus accrued, each to the paisa, first and last
    for symbol, rows in fair.group_by("instrument"):
        ends = rows.row(0, named=True), rows.row(-1, named=True)
        value[symbol[0]] = [
            round(r["fair_clean_price"] * 1000) + round(r["accrued"] * 1000) for r in ends
        ]
    transfers = result.frame("transfers").with_columns(pl.col("instrument").cast(str))
    issued = (
        transfers.filter(pl.col("kind") == "issue").group_by("instrument").agg(pl.col("qty").sum())
    )
    revaluation = sum(
        units * (value[symbol][1] - value[symbol][0]) for symbol, units in issued.iter_rows()
    )
    coupons = transfers.filter(pl.col("kind") == "coupon")["cash"].sum()
    ledger = simulation.ledger
    kept = sum(ledger.account(v.fee_account).cash for v in simulation.venues.values()) + sum(
        s.buyer_fee + s.seller_fee
        for s in ledger.unsettled  # the last day's, T+1
    )
    assert result.frame("agents")["pnl"].sum() == revaluation + coupons - kept
