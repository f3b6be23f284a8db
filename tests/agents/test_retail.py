"""The retail cohort: one agent, NumPy arrays per investor, the zero-intelligence rule.

Decision-rule tests call `trade` with a fixed quote and a captured `submit`; run tests drive
a small scenario in which retail investors trade with each other (two clients of one omnibus
account) and check that every fill lands on the investor who sent the order.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from agents.retail import RetailCohort, RetailParams
from sim.engine.kernel import Simulation
from sim.market.messages import Quote, Trade
from sim.market.orders import Reason, Side, Status
from sim.scenario.model import load_scenario
from sim.scenario.shocks import PanicShock
from tests.helpers.scenarios import small_scenario

MID = 10_000  # ticks; in the small scenario one tick on one unit is one paisa


def cohort_in(tmp_path, *overrides, days=1, lag=0, seed=5) -> tuple[Simulation, RetailCohort]:
    scenario = load_scenario(small_scenario(tmp_path, days=days, lag=lag), overrides=overrides)
    sim = Simulation(scenario, seed=seed)
    (cohort,) = sim.populations["retail"]
    return sim, cohort


def captured(cohort: RetailCohort) -> list[tuple]:
    """Orders `cohort` sends, as (investor, side, qty, price), instead of sending them; the
    quote it sees is fixed at MID."""
    sent = []
    cohort.quote = lambda venue, symbol: Quote(0, MID - 1, 5, MID + 1, 5)
    cohort.submit = lambda venue, symbol, side, qty, price, client: sent.append(
        (client - 1, side, qty, price)
    )
    return sent


def finish_all(cohort: RetailCohort) -> None:
    """As if every order sent so far had finished unfilled: nothing is held any more."""
    cohort.units_held[:] = 0
    cohort.cash_held[:] = 0


def test_one_agent_holds_every_investor(tmp_path):
    sim, cohort = cohort_in(tmp_path, "retail.count=250", "retail.units=7")
    assert len(sim.populations["retail"]) == 1
    assert cohort.kind == "retail" and cohort.report()["investors"] == 250
    account = sim.ledger.account(cohort.account)
    assert account.cash == 250 * 100_000 * 100 == int(cohort.cash.sum())
    assert account.position("ABM") == 250 * 7 == int(cohort.units.sum())
    assert cohort.reconcile() == []


def test_no_investors_no_agent(tmp_path):
    sim, _ = cohort_in(tmp_path)
    assert "retail" in sim.populations
    scenario = load_scenario(small_scenario(tmp_path), overrides=["retail.count=0"])
    assert Simulation(scenario, seed=1).populations["retail"] == []


def test_count_is_described_as_investors():
    assert "retail investors" in RetailParams.model_fields["count"].description


# --- the rule, branch by branch ----------------------------------------------------------


def test_arrivals_are_one_poisson_process_over_uniform_investors(tmp_path):
    sim, cohort = cohort_in(tmp_path, "retail.count=40", "retail.arrivals_per_day=3")
    gaps, investors = [], []
    cohort.wake_in = gaps.append
    cohort.trade = investors.append
    for _ in range(12_000):
        cohort.on_wake()
    session = sim.calendar.session(0)[1] - sim.calendar.session(0)[0]
    mean_gap = session / (40 * 3)  # ns
    gaps = np.array(gaps)
    assert stats.kstest(gaps / mean_gap, "expon").pvalue > 1e-3
    counts = np.bincount(investors, minlength=40)
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("panic", [0.0, 0.6, 1.0])
def test_sell_share_and_market_share_follow_panic(tmp_path, panic):
    sim, cohort = cohort_in(tmp_path, "retail.count=20", "retail.units=1000000")
    sim.ledger.issue_units(cohort.account, "ABM", 10**9)
    sent = captured(cohort)
    cohort.panic = panic
    n = 6_000
    for _ in range(n):
        cohort.trade()
        finish_all(cohort)  # no cap binds
    assert len(sent) == n
    sells = np.mean([side < 0 for _, side, _, _ in sent])
    markets = np.mean([price is None for *_, price in sent])
    p_sell, p_market = cohort.sell_probability(), cohort.market_probability()
    assert p_sell == 0.5 + (cohort.params.panic_sell_share - 0.5) * panic
    assert p_market == 0.2 + 0.8 * panic
    for observed, p in ((sells, p_sell), (markets, p_market)):
        assert abs(observed - p) <= 4 * np.sqrt(max(p * (1 - p), 1e-9) / n) + 1e-12


def test_limit_prices_sit_around_the_observed_price(tmp_path):
    _, cohort = cohort_in(tmp_path, "retail.market_order_share=0", "retail.max_offset_ticks=6")
    sent = captured(cohort)
    for _ in range(2_000):
        cohort.trade()
        finish_all(cohort)
    offsets = {side: set() for side in (1, -1)}
    for _, side, _, price in sent:
        offsets[side].add((MID - price) * side)  # how far from the mid, away from crossing
    # Offsets are uniform in [-cross_ticks, max_offset_ticks] on both sides.
    assert offsets[1] == offsets[-1] == set(range(-2, 7))


def test_sizes_are_uniform_between_min_and_max(tmp_path):
    _, cohort = cohort_in(tmp_path, "retail.min_qty=3", "retail.max_qty=5")
    sent = captured(cohort)
    for _ in range(300):
        cohort.trade()
        finish_all(cohort)
    buys = {qty for _, side, qty, _ in sent if side > 0}
    assert buys == {3, 4, 5}


def test_sells_are_capped_by_the_investors_own_units(tmp_path):
    _, cohort = cohort_in(tmp_path, "retail.count=3", "retail.min_qty=10", "retail.max_qty=10")
    sent = captured(cohort)
    cohort.panic = 1.0  # nearly every arrival is a sell
    cohort.units[0] = 0
    cohort.units[1] = 7
    cohort.units_held[1] = 3  # working sells already offer three of its seven
    for _ in range(200):
        cohort.trade(0)
        cohort.trade(1)
    assert not [o for o in sent if o[0] == 0 and o[1] < 0]  # owns nothing: never sells
    sells_1 = [qty for i, side, qty, _ in sent if i == 1 and side < 0]
    assert sells_1 == [4]  # the rest of its units, once; then nothing is left to offer
    assert cohort.units_held[1, 0] == 7


@pytest.mark.parametrize("lag", [0, 1])
def test_a_sale_whose_fill_is_on_its_way_does_not_cap_the_next_sell(tmp_path, lag):
    sim, cohort = cohort_in(
        tmp_path,
        "retail.count=1",
        "retail.units=20",
        "retail.min_qty=10",
        "retail.max_qty=10",
        "retail.panic_sell_share=1",
        lag=lag,
    )
    cohort.panic = 1.0  # every arrival is a market sell of 10
    bidder = sim.populations["value"][0].account
    assert sim.venues["EXCH"].submit(bidder, "ABM", "buy", 100, MID, now=sim.now).ok
    cohort.trade(0)
    while not sim.events["trades"]:
        sim.clock.step()
    # The sale has traded, and its fill is on its way: the ledger has taken the 10 units, the
    # cohort still counts them as the investor's, offered. Its other 10 are free at the venue.
    assert cohort.position("ABM") == 10 and cohort.fills_by_investor[0] == 0
    assert cohort.units[0, 0] == 20 and cohort.units_held[0, 0] == 10
    assert sim.ledger.account(cohort.account).free_units("ABM") == 10
    cohort.trade(0)
    assert cohort.units_held[0, 0] == 20 and cohort.orders_by_investor[0] == 2
    sim.clock.run()
    assert cohort.units[0, 0] == 0 == cohort.position("ABM") and cohort.rejected == 0
    assert cohort.reconcile() == [] and sim.ledger.check().ok


def test_the_omnibus_never_offers_more_than_it_holds(tmp_path):
    """Capping each investor caps the omnibus, even while answers and fills take seconds to
    come back and investors in panic offer all they own."""
    sim, cohort = cohort_in(
        tmp_path,
        "retail.count=30",
        "retail.units=10",
        "retail.arrivals_per_day=30",
        "retail.latency_us=3_000_000",
        "retail.latency_jitter_us=2_000_000",
        days=2,
        lag=1,
        seed=3,
    )
    sim.shock_level = lambda kind, day, size=None: 0.6 if kind is PanicShock else 0.0
    account = sim.ledger.account(cohort.account)
    submit, news_on_its_way, offers_all = cohort.submit, [], []

    def checked_submit(venue, symbol, side, qty, price, client):
        if side < 0:
            # This sell is not at the venue yet, but the investors' side counts it already:
            # what they may still offer fits in what the venue will let the omnibus sell.
            col = cohort._column[symbol]
            units, held = cohort.units[:, col], cohort.units_held[:, col]
            free = int((units - held - cohort.units_unsettled[:, col]).sum())
            room = account.free_units(symbol) - qty
            assert free <= room
            news_on_its_way.append(free < room)
            offers_all.append(cohort.units_held[client - 1, col] == cohort.units[client - 1, col])
        submit(venue, symbol, side, qty, price, client=client)

    cohort.submit = checked_submit
    result = sim.run(out=tmp_path / "out")
    assert any(news_on_its_way) and not all(news_on_its_way)
    assert sum(offers_all) > 10  # the investors' caps bound
    # The venue never refused the omnibus a sell: every refusal is the cohort's own.
    short = result.orders.filter(
        (result.orders["agent"] == cohort.account)
        & (result.orders["reason"].cast(str) == "insufficient_units")
    )
    assert short.height == cohort.refused_units
    assert cohort.reconcile() == [] and sim.ledger.check().ok


def test_a_buy_needs_the_investors_own_free_cash(tmp_path):
    _, cohort = cohort_in(
        tmp_path,
        "retail.count=2",
        "retail.units=0",  # no sells: every order is a buy
        "retail.min_qty=1",
        "retail.max_qty=1",
        "retail.market_order_share=0",
        "retail.max_offset_ticks=0",
        "retail.cross_ticks=0",
    )
    sent = captured(cohort)
    # One unit at the mid: 10,000 paise plus the 1 bp taker fee, the venue's lock.
    need = MID + 1
    cohort.cash[0] = 2 * need + need - 1  # two buys, and one paisa short of a third
    for _ in range(40):  # about half the arrivals choose to sell, and own nothing to sell
        cohort.trade(0)
    assert sent == [(0, 1, 1, MID)] * 2
    assert cohort.cash_held[0] == 2 * need
    assert cohort.refused_cash > 5
    cohort.cash[0] += 1
    while len(sent) < 3:
        cohort.trade(0)
    assert cohort.cash_held[0] == cohort.cash[0] == 3 * need
    # The other investor's cash is its own.
    while len(sent) < 4:
        cohort.trade(1)
    assert sent[-1] == (1, 1, 1, MID)


def fill(cohort, side: int, qty: int, client: int, settle_at: int, order_id: int = 99) -> None:
    """Tell `cohort` that its investor `client - 1` took `qty` at MID (side +1 bought)."""
    notional = qty * MID
    trade = Trade(cohort.now, "EXCH", "ABM", MID, qty, 1, order_id, 0, cohort.account,
                  Side(side), notional, 0, 1, settle_at, 0, client)  # fmt: skip
    cohort.on_fill(trade, side)


def test_units_bought_are_sellable_once_settled(tmp_path):
    sim, cohort = cohort_in(tmp_path, "retail.count=2", "retail.units=0", lag=1)
    sent = captured(cohort)
    cohort.panic = 1.0
    settle_at = cohort.now + 1_000
    fill(cohort, +1, 5, client=1, settle_at=settle_at)
    sim.ledger.issue_units(cohort.account, "ABM", 5)  # the omnibus has them too
    assert cohort.units[0, 0] == 5 and cohort.units_unsettled[0, 0] == 5
    for _ in range(50):
        cohort.trade(0)
    assert not [o for o in sent if o[1] < 0] and cohort.refused_units > 0
    sim.clock.run(until=settle_at)
    cohort._settle_due()
    assert cohort.units_unsettled[0, 0] == 0
    while not cohort.units_held[0, 0]:
        cohort.trade(0)
    assert [o[:2] for o in sent if o[1] < 0] == [(0, -1)]


def test_sale_proceeds_are_spendable_once_settled(tmp_path):
    sim, cohort = cohort_in(tmp_path, "retail.count=2", "retail.units=10", lag=1)
    sent = captured(cohort)
    cohort.cash[1] = 0
    cohort.units_held[1, 0] = 10  # a working sell of everything, which now trades
    settle_at = cohort.now + 1_000
    fill(cohort, -1, 10, client=2, settle_at=settle_at)
    assert cohort.cash[1] == 10 * MID - 1 == cohort.cash_unsettled[1]
    for _ in range(30):
        cohort.trade(1)
    assert not sent and cohort.refused_cash > 0
    sim.clock.run(until=settle_at)
    cohort._settle_due()
    while not sent:
        cohort.trade(1)
    assert sent[0][:2] == (1, 1)


def test_the_cash_an_investor_holds_for_a_buy_is_what_the_venue_locks(tmp_path):
    sim, cohort = cohort_in(tmp_path, "retail.count=2")
    venue = sim.venues["EXCH"]
    # Limit buys at several prices rest with their lock.
    for qty, price in ((1, MID), (7, 9_873), (10, 123_456)):
        expected = venue.buy_lock("ABM", qty, price)
        response = venue.submit(cohort.account, "ABM", "buy", qty, price, client=1)
        assert response.status is Status.ACCEPTED
        assert venue.open_orders(cohort.account)[-1].cash_locked == expected > 0
    # A market buy (an IOC at the protection price) is released at once: it needs exactly
    # the expected cash free, not a paisa less.
    expected = venue.buy_lock("ABM", 3, None)
    account = sim.ledger.account(cohort.account)
    sim.ledger.withdraw(cohort.account, account.free_cash - expected + 1)
    refused = venue.submit(cohort.account, "ABM", "buy", 3, None, client=1)
    assert refused.reason is Reason.INSUFFICIENT_CASH
    sim.ledger.deposit(cohort.account, 1)
    assert venue.submit(cohort.account, "ABM", "buy", 3, None, client=1).ok


def test_stale_orders_are_cancelled_at_the_investors_next_arrival(tmp_path):
    sim, cohort = cohort_in(
        tmp_path,
        "retail.count=20",
        "retail.arrivals_per_day=30",
        "retail.order_lifetime_minutes=5",
        "retail.market_order_share=0",
        "retail.max_offset_ticks=40",
    )
    lifetime = 5 * 60 * 10**9
    sweeps, cancels = [], []
    sweep, cancel = cohort._cancel_stale, cohort.cancel

    def recording_sweep(investor):
        now = cohort.now
        stale = {
            key
            for key, o in cohort._orders.items()
            if o.investor == investor
            and now - o.sent_at >= lifetime
            and o.cancelled is None
            and not o.cancelling
        }
        start = len(cancels)
        sweep(investor)
        sweeps.append((stale, {key for key, _ in cancels[start:]}))

    def recording_cancel(venue, symbol, order_id):
        cancels.append(((venue, symbol, order_id), cohort.now))
        cancel(venue, symbol, order_id)

    cohort._cancel_stale, cohort.cancel = recording_sweep, recording_cancel
    sim.run(out=tmp_path / "out")
    # Every arrival cancels exactly its own investor's orders older than their lifetime, and
    # orders are cancelled at no other time.
    assert sum(len(cancelled) for _, cancelled in sweeps) == len(cancels) > 20
    assert all(stale == cancelled for stale, cancelled in sweeps)


# --- runs: fills land on their investors -------------------------------------------------


@pytest.fixture(scope="module")
def two_day_run(tmp_path_factory):
    """T+1, two days, a crowd of retail investors who trade a lot with each other."""
    path = tmp_path_factory.mktemp("retail")
    sim, cohort = cohort_in(
        path,
        "retail.count=300",
        "retail.arrivals_per_day=8",
        "retail.market_order_share=0.4",
        "retail.units=20",
        days=2,
        lag=1,
        seed=9,
    )
    result = sim.run(out=path / "out")
    return sim, cohort, result


def test_investors_add_up_to_the_omnibus(two_day_run):
    sim, cohort, result = two_day_run
    assert cohort.reconcile() == []
    assert sim.ledger.check().ok
    assert (cohort.units >= 0).all() and (cohort.cash >= 0).all()
    assert int(cohort.fills_by_investor.sum()) == cohort.fills
    assert int(cohort.fees_by_investor.sum()) == cohort.fees_paid
    row = result.agents.filter(result.agents["kind"] == "retail").row(0, named=True)
    assert row["cash"] == int(cohort.cash.sum())
    assert row["pnl"] == int(cohort.investor_pnl().sum())
    assert row["investors"] == 300 and row["units_owned"] == int(cohort.units.sum())


def test_investors_are_checked_as_their_own_accounts_were(two_day_run):
    sim, cohort, result = two_day_run
    refused = result.orders.filter(
        (result.orders["agent"] == cohort.account)
        & result.orders["reason"].cast(str).is_in(["insufficient_units", "insufficient_cash"])
    )
    assert cohort.refused_units > 0  # some tried to sell units bought the same day (T+1)
    # Every refusal is the cohort's own check of an investor, recorded with its client code:
    # the venue never refused the omnibus, so investors never overspent it.
    assert refused.height == cohort.refused_units + cohort.refused_cash
    assert refused["client"].min() >= 1 and (refused["order_id"] == 0).all()
    unsettled = sim.ledger.unsettled
    assert unsettled
    bought = sum(s.qty for s in unsettled if s.buyer == cohort.account)
    received = sum(s.seller_receives for s in unsettled if s.seller == cohort.account)
    assert int(cohort.units_unsettled.sum()) == bought
    assert int(cohort.cash_unsettled.sum()) == received


def test_investors_trade_with_each_other_but_never_with_themselves(two_day_run):
    sim, cohort, result = two_day_run
    own = result.trades.filter(
        (result.trades["maker_agent"] == cohort.account)
        & (result.trades["taker_agent"] == cohort.account)
    )
    assert own.height > 0
    # trades.parquet names both investors by client code, and they always differ.
    assert (own["maker_client"] >= 1).all() and (own["taker_client"] >= 1).all()
    assert (own["maker_client"] != own["taker_client"]).all()
    book = sim.venues["EXCH"].book("ABM")
    for maker, taker in own.select("maker_order_id", "taker_order_id").iter_rows():
        assert book.order(maker).owner != book.order(taker).owner


def test_what_investors_hold_for_working_orders_is_what_the_venue_locks(two_day_run):
    sim, cohort, _ = two_day_run
    cash, units = np.zeros_like(cohort.cash), np.zeros_like(cohort.units)
    for order in sim.venues["EXCH"].open_orders(cohort.account):
        i = order.client - 1
        if order.side is Side.BUY:
            cash[i] += order.cash_locked
        else:
            units[i, 0] += order.units_locked
    # Requests sent just before the last close were answered MARKET_CLOSED: nothing is left
    # in flight, so what investors hold is exactly what the venue locks.
    assert not cohort._in_flight
    assert (cohort.cash_held == cash).all()
    assert (cohort.units_held == units).all()
    assert len(cohort._orders) == len(sim.venues["EXCH"].open_orders(cohort.account))


def test_report_and_population_metrics(two_day_run):
    _, cohort, result = two_day_run
    report = cohort.report()
    assert report["investors"] == 300
    assert 0 < report["investors_traded"] <= 300
    assert report["investors_holding"] == int((cohort.units > 0).any(axis=1).sum())
    group = result.metrics["retail"]
    pnl = cohort.investor_pnl()
    assert group["investors"] == 300
    assert group["pnl_mean"] == pytest.approx(pnl.mean())
    assert group["pnl_median"] == pytest.approx(np.median(pnl))
    assert group["pnl_p05"] <= group["pnl_median"] <= group["pnl_p95"]
    assert group["share_with_loss"] == pytest.approx((pnl < 0).mean())


def test_same_seed_same_investors(tmp_path):
    runs = []
    for k, seed in enumerate((4, 4, 5)):
        sim, cohort = cohort_in(tmp_path, "retail.count=100", seed=seed)
        result = sim.run(out=tmp_path / f"run{k}")
        runs.append((cohort, result.manifest["files"]))
    (a, files_a), (b, files_b), (c, files_c) = runs
    assert files_a == files_b
    for name in ("cash", "units", "orders_by_investor", "fills_by_investor", "fees_by_investor"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert files_a["trades.parquet"] != files_c["trades.parquet"]
    assert not np.array_equal(a.orders_by_investor, c.orders_by_investor)


@pytest.mark.parametrize(
    ("path", "struck", "next_day"),
    [('{ kind = "step" }', 0.8, 0.8), ('{ kind = "ramp", days = 2 }', 0.0, 0.4)],
)
def test_panic_strikes_and_fades_along_its_path(tmp_path, path, struck, next_day):
    shock = f'shocks=[{{ kind = "panic", day = 0, intensity = 0.8, path = {path} }}]'
    sim, cohort = cohort_in(tmp_path, shock, days=2)
    (panic,) = sim.scenario.shocks
    cohort.on_shock(panic)
    assert cohort.panic == pytest.approx(struck)  # a ramp starts from nothing
    cohort.on_session_open(1)
    assert cohort.panic == pytest.approx(next_day)
