"""Bond cash flows in a run: accrued interest on every trade, coupons to the holders of record,
manufactured payments on repo collateral, a bond that stops trading and is redeemed at maturity,
and the cohorts' investors credited.

The reference figures are worked by hand from the bonds' terms (ACT/365F, semi-annual), and
the holders of record are rebuilt from the run's own records (endowments, off-book transfers
and trades by their settlement dates), not from the ledger that paid them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import polars as pl
import pytest

from sim.engine.kernel import Simulation
from sim.scenario import library, load_scenario

# Monday 8 to Monday 15 January 2024: six trading days. Bond A pays on Wednesday the 10th (day
# 2); bond B's coupon date is Saturday the 13th, paid at Monday's open (day 5). Bond C matures on
# Thursday the 11th: T+1, its last trades are on Tuesday the 9th (day 1, settling on the 10th),
# it does not trade on day 2, and it is redeemed at Thursday's open (day 3).
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

[[instruments]]
symbol = "C-2024"
issuer = "Issuer C"
sector = "Manufacturing"
rating = "AA"
coupon = 0.075
issue = 2019-01-11
maturity = 2024-01-11
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
RATE = {"A-2028": 0.08, "B-2027": 0.09, "C-2024": 0.075}
# Coupons per unit: 100 face x rate x 184/365 days (Jul-Jan) per 100, in paise of a unit.
COUPON = {symbol: round(FACE_PAISE * RATE[symbol] * 184 / 365) for symbol in RATE}
LAST_COUPON_BEFORE_RUN = {
    "A-2028": date(2023, 7, 10), "B-2027": date(2023, 7, 13), "C-2024": date(2023, 7, 11)
}  # fmt: skip
COUPON_DATE = {
    "A-2028": date(2024, 1, 10), "B-2027": date(2024, 1, 13), "C-2024": date(2024, 1, 11)
}  # fmt: skip
PAY_DAY = {"A-2028": 2, "B-2027": 5}
MATURING, LAST_TRADING_DAY, REDEMPTION_DAY = "C-2024", 1, 3


def accrued_per_unit(symbol: str, settle: date) -> int:
    last = COUPON_DATE[symbol] if settle >= COUPON_DATE[symbol] else LAST_COUPON_BEFORE_RUN[symbol]
    return round(FACE_PAISE * RATE[symbol] * (settle - last).days / 365)


def test_the_hand_worked_coupons():
    # 40.33, 45.37 and 37.81 rupees a unit
    assert COUPON == {"A-2028": 4033, "B-2027": 4537, "C-2024": 3781}


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
    coupons and redemptions paid to them, less the fees the venues kept."""
    simulation, result = run
    fair = result.frame("fair_values").with_columns(pl.col("instrument").cast(str)).sort("time")
    value = {}  # paise a unit: clean plus accrued, each to the paisa, first and last
    for symbol, rows in fair.group_by("instrument"):
        ends = rows.row(0, named=True), rows.row(-1, named=True)
        value[symbol[0]] = [
            round(r["fair_clean_price"] * 1000) + round(r["accrued"] * 1000) for r in ends
        ]
    transfers = result.frame("transfers").with_columns(pl.col("instrument").cast(str))

    def units(kind: str) -> dict[str, int]:
        moved = transfers.filter(pl.col("kind") == kind).group_by("instrument")
        return dict(moved.agg(pl.col("qty").sum()).iter_rows())

    issued, redeemed = units("issue"), units("redemption")
    assert redeemed == {MATURING: issued[MATURING]}
    revaluation = sum(
        (issued[symbol] - redeemed.get(symbol, 0)) * value[symbol][1]
        - issued[symbol] * value[symbol][0]
        for symbol in issued
    )
    paid = transfers.filter(pl.col("kind").is_in(["coupon", "redemption"]))["cash"].sum()
    ledger = simulation.ledger
    kept = sum(ledger.account(v.fee_account).cash for v in simulation.venues.values()) + sum(
        s.buyer_fee + s.seller_fee
        for s in ledger.unsettled  # the last day's, T+1
    )
    assert result.frame("agents")["pnl"].sum() == revaluation + paid - kept


def day_of(simulation, frame: pl.DataFrame) -> list[int]:
    return [simulation.calendar.day_index(t) for t in frame["time"].to_list()]


def test_a_maturing_bond_trades_while_its_trades_settle_before_maturity(run):
    simulation, result = run
    ending = simulation.calendar.session(LAST_TRADING_DAY + 1)[0]
    trades = result.frame("trades").filter(pl.col("instrument").cast(str) == MATURING)
    assert set(day_of(simulation, trades)) == {0, LAST_TRADING_DAY}
    # At the next open its open orders are cancelled on their owners' behalf, and nobody
    # sends another: the agents know it no longer trades.
    later = result.frame("orders").filter(
        (pl.col("instrument").cast(str) == MATURING) & (pl.col("time") >= ending)
    )
    assert len(later) > 0
    assert set(later["time"]) == {ending}
    assert set(later["status"].cast(str)) == {"cancelled"}
    assert all(order.instrument != MATURING for _, order in open_orders(simulation))


def open_orders(simulation):
    return [(name, o) for name, venue in simulation.venues.items() for o in venue.open_orders()]


def test_the_maturing_bond_is_redeemed_at_par_and_its_final_coupon(run):
    simulation, result = run
    pay_ns = simulation.calendar.session(REDEMPTION_DAY)[0]
    transfers = result.frame("transfers").with_columns(pl.col("instrument").cast(str))
    redemptions = transfers.filter(pl.col("kind") == "redemption")
    assert set(redemptions["time"]) == {pay_ns}
    assert set(redemptions["instrument"]) == {MATURING}
    record = holders_of_record(result, simulation, MATURING, REDEMPTION_DAY)
    # Each holder delivers its units and is paid 1,000 rupees of face and the final coupon.
    assert dict(zip(redemptions["target"], redemptions["qty"], strict=True)) == record
    assert (redemptions["cash"] == redemptions["qty"] * (FACE_PAISE + COUPON[MATURING])).all()
    (payer,) = set(redemptions["source"])
    funding = transfers.filter((pl.col("kind") == "deposit") & (pl.col("target") == payer))
    assert funding["cash"].to_list() == [redemptions["cash"].sum()]
    # The paying agent holds every unit; the last valuation is what a unit was paid.
    issued = transfers.filter((pl.col("kind") == "issue") & (pl.col("instrument") == MATURING))
    assert simulation.ledger.holders(MATURING) == [(payer, issued["qty"].sum())]
    fair = result.frame("fair_values").filter(pl.col("instrument").cast(str) == MATURING)
    assert day_of(simulation, fair) == [0, 1, REDEMPTION_DAY]
    last = fair.row(-1, named=True)
    assert (last["fair_clean_price"], last["fair_yield"], last["spread_bp"]) == (100.0, None, None)
    assert round(last["accrued"] * 1000) == COUPON[MATURING]


def test_repos_on_redeemed_collateral_close_with_the_proceeds(run):
    simulation, result = run
    lenders = {a.account for a in simulation.populations["repo"] if a.kind == "repo_lender"}
    redeemed = result.frame("transfers").filter(
        (pl.col("kind") == "redemption") & pl.col("target").is_in(lenders)
    )
    assert len(redeemed) > 0  # some borrower pledged the maturing bond
    assert result.metrics["repo"]["collateral_redeemed_paise"] == redeemed["cash"].sum()
    desk = simulation.populations["repo"][0].desk
    assert all(repo.symbol != MATURING for repo in desk.repos)


def test_sip_plans_in_the_redeemed_bond_end_with_it(run):
    simulation, _ = run
    (cohort,) = simulation.populations["sip"][:1]
    members = cohort.bond == cohort.bonds.index(MATURING)
    assert members.any()
    assert not cohort.active[members].any()
    assert (cohort.units[members] == 0).all() and (cohort.exits_open[members] == 0).all()
    assert cohort.active[~members].any()


def test_every_agent_kind_lives_through_maturities():
    """The shipped baseline, small, over bonds maturing in the run: every kind of agent stops
    trading them (nothing is refused as delisted), every unit is redeemed, and the books
    still balance."""
    overrides = [
        "universe.maturity_years=[0.25, 0.25]", "universe.count=4", "calendar.days=66",
        'calendar.close="10:15"', "retail.count=60", "sip.investors=200", "repo.count=4",
    ]  # fmt: skip
    simulation = Simulation(load_scenario(library.locate("baseline"), overrides), seed=1)
    result = simulation.run(out=None)
    last_day = simulation.paying_agents.last_trading_day
    matured = {s for s in simulation.instruments if last_day(s) is not None}
    assert len(matured) >= 2
    transfers = result.transfers.with_columns(pl.col("instrument").cast(str))
    for symbol in matured:
        moved = transfers.filter(pl.col("instrument") == symbol)
        issued = moved.filter(pl.col("kind") == "issue")["qty"].sum()
        assert moved.filter(pl.col("kind") == "redemption")["qty"].sum() == issued
    assert "delisted" not in set(result.orders["reason"].cast(str))
    assert result.metrics["ledger"]["conserved"] is True
    kinds = {agent.kind for agent in simulation.model.agents}
    assert kinds >= {"retail", "value", "momentum", "market_maker", "arbitrage", "sip",
                     "repo_lender", "repo_borrower", "ai"}  # fmt: skip
    for population in ("retail", "sip"):
        assert simulation.populations[population][0].reconcile() == []


def test_marked_to_mid_positions_are_worth_the_last_quoted_mids(tmp_path):
    """With `recording.marks = "mid"`, what each agent holds at the end is valued at the last
    book snapshot's mid (over the venues quoting both sides) plus the accrued interest last
    published; the parts still add up to the PnL."""
    path = tmp_path / "coupons.toml"
    path.write_text(SCENARIO)
    simulation = Simulation(load_scenario(path, ['recording.marks="mid"']))
    result = simulation.run(out=None)
    top = result.book.filter(pl.col("level") == 1).with_columns(pl.col("instrument").cast(str))
    quoted = top.pivot("side", index=["time", "venue", "instrument"], values="price").drop_nulls()
    last = quoted.filter(pl.col("time") == pl.col("time").max().over("instrument"))
    mids = last.group_by("instrument").agg(((pl.col("1") + pl.col("-1")) / 2).mean())
    accrued = (
        result.fair_values.with_columns(pl.col("instrument").cast(str))
        .group_by("instrument")
        .agg(pl.col("accrued").sort_by("time").last())
    )
    unit = {  # paise: the mid (ticks of 0.01 per 100 face, 1,000 rupees a unit), the accrued
        symbol: round(mid * 10) + round(a * 1000)
        for (symbol, mid), (_, a) in zip(
            mids.sort("instrument").iter_rows(), accrued.sort("instrument").iter_rows(), strict=True
        )
    }
    agents = result.agents
    for agent in simulation.model.agents:
        held = simulation.ledger.account(agent.account)
        expected = sum(
            (held.units.get(s, 0) + held.pending_units.get(s, 0)) * unit.get(s, 0)
            for s in ("A-2028", "B-2027")
        )
        row = agents.filter(pl.col("agent") == agent.account).row(0, named=True)
        assert row["positions_value"] == expected
        parts = sum(row[f"pnl_{part}"] for part in ("carry", "valuation", "trading", "fees"))
        assert parts == row["pnl"] == row["cash"] + row["positions_value"] - row["capital"]


def test_a_defaulted_issuer_pays_nothing_and_its_bonds_trade_flat_at_recovery(tmp_path):
    """Issuer A defaults at Tuesday's open (day 1), before its coupon on Wednesday (day 2)."""
    path = tmp_path / "default.toml"
    path.write_text(
        SCENARIO + '[[shocks]]\nkind = "default"\nday = 1\nissuer = "Issuer A"\nrecovery = 0.35\n'
    )
    simulation = Simulation(load_scenario(path))
    result = simulation.run(out=None)
    transfers = result.frame("transfers").with_columns(pl.col("instrument").cast(str))
    coupons = transfers.filter(pl.col("kind") == "coupon")
    assert coupons["instrument"].unique().to_list() == ["B-2027"]  # not A, whoever holds it
    trades = result.frame("trades").with_columns(pl.col("instrument").cast(str))
    cal = simulation.calendar
    a = trades.filter(pl.col("instrument") == "A-2028")
    day = [cal.day_index(t) for t in a["time"].to_list()]
    assert {d for d in day} >= {0, 2}
    assert [acc for acc, d in zip(a["accrued"], day, strict=True) if d >= 1] == [0] * sum(
        d >= 1 for d in day
    )  # flat from the default on
    fair = result.fair_values.with_columns(pl.col("instrument").cast(str)).filter(
        (pl.col("instrument") == "A-2028") & (pl.col("time") >= cal.session(1)[0])
    )
    # The open's valuations are published, then re-marked by the default at the same time.
    in_force = fair.group_by("time", maintain_order=True).last()
    assert in_force["fair_clean_price"].unique().to_list() == [35.0]
    assert in_force["accrued"].unique().to_list() == [0.0]
    assert in_force["fair_yield"].null_count() == in_force.height
