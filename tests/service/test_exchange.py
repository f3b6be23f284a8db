"""The exchange service's engine, without HTTP: client requests against the real venues and
ledger while the scenario's agents trade, the journal's replay, lending, SIP plans and the
market maker's obligations."""

from __future__ import annotations

import math

import pytest

from sim.service.accounts import Accounts, ApiAccount, Role
from sim.service.exchange import Exchange, RequestError
from sim.service.journal import JournalError
from sim.units import NS_PER_DAY, NS_PER_MINUTE
from tests.service.conftest import BOND, account

TEN_MINUTES = 10 * NS_PER_MINUTE


def opened(scenario, accounts, journal=None) -> Exchange:
    """An exchange ten minutes into its first session (books have quotes by then)."""
    exchange = Exchange(scenario, accounts, journal=journal)
    exchange.step(TEN_MINUTES)
    return exchange


def ledger_state(exchange: Exchange) -> dict:
    ledger = exchange.sim.ledger
    return {
        a.account: (ledger.account(a.account).cash, ledger.account(a.account).pending_cash,
                    dict(ledger.account(a.account).units))
        for a in exchange.sim.model.agents
    }  # fmt: skip


def test_a_market_buy_takes_the_best_ask_and_pays_notional_accrued_and_fee(scenario, accounts):
    exchange = opened(scenario, accounts)
    client = exchange.clients["asha"]
    ask = exchange.quote(BOND)["venues"][0]["ask_ticks"]
    cash_before = client.cash_position()
    order = exchange.submit("asha", bond=BOND, side="buy", qty=3, order_type="market")
    assert order["status"] == "filled" and order["filled_qty"] == 3
    (fill,) = order["fills"]
    assert fill["price_ticks"] == ask and fill["liquidity"] == "taker"
    assert fill["notional_paise"] == 3 * ask * 10  # 10 paise a tick on a 1,000-rupee unit
    paid = fill["notional_paise"] + fill["accrued_paise"] + fill["fee_paise"]
    assert client.cash_position() == cash_before - paid
    assert client.position(BOND) == 3
    assert exchange.sim.ledger.check().ok


def test_a_resting_limit_is_open_until_cancelled(scenario, accounts):
    exchange = opened(scenario, accounts)
    bid = exchange.quote(BOND)["venues"][0]["bid_ticks"]
    order = exchange.submit("asha", bond=BOND, side="buy", qty=2, order_type="limit",
                            price=bid - 100)  # fmt: skip
    assert order["status"] == "open" and order["filled_qty"] == 0
    viewer = account(accounts, "asha")
    assert exchange.portfolio(viewer)["open_orders"][0]["order_id"] == order["order_id"]
    cancelled = exchange.cancel("asha", order["order_id"])
    assert cancelled["status"] == "cancelled"
    assert exchange.order(viewer, order["order_id"])["status"] == "cancelled"
    assert exchange.portfolio(viewer)["open_orders"] == []


@pytest.mark.parametrize(("order_type", "status"), [("ioc", "cancelled"), ("fok", "rejected")])
def test_immediate_orders_that_cannot_fill_do_not_rest(scenario, accounts, order_type, status):
    exchange = opened(scenario, accounts)
    bid = exchange.quote(BOND)["venues"][0]["bid_ticks"]
    order = exchange.submit("asha", bond=BOND, side="buy", qty=1, order_type=order_type,
                            price=bid - 100)  # fmt: skip
    assert order["filled_qty"] == 0
    assert order["status"] in {status, "cancelled"}
    assert exchange.portfolio(account(accounts, "asha"))["open_orders"] == []


def test_a_stop_order_waits_for_its_trigger(scenario, accounts):
    exchange = opened(scenario, accounts)
    ask = exchange.quote(BOND)["venues"][0]["ask_ticks"]
    order = exchange.submit("pro", bond=BOND, side="buy", qty=1, order_type="stop",
                            stop_price=ask + 200)  # fmt: skip
    assert order["status"] == "open" and order["filled_qty"] == 0


@pytest.mark.parametrize(
    ("request_", "status", "says"),
    [
        ({"bond": "NOPE", "order_type": "market"}, 404, "no bond"),
        ({"order_type": "limit"}, 422, "needs price"),
        ({"order_type": "market", "price": 9000}, 422, "takes no price"),
        ({"order_type": "stop"}, 422, "needs stop_price"),
        ({"order_type": "market", "venue": "LSE"}, 404, "does not list"),
    ],
)
def test_malformed_orders_are_refused_before_the_journal(scenario, accounts, tmp_path, request_,
                                                         status, says):  # fmt: skip
    exchange = opened(scenario, accounts, journal=tmp_path)
    written = exchange.journal.seq
    order = {"bond": BOND, "side": "buy", "qty": 1, **request_}
    with pytest.raises(RequestError, match=says) as refused:
        exchange.submit("asha", **order)
    assert refused.value.status == status
    assert exchange.journal.seq == written


def test_a_venue_refusal_is_answered_with_its_reason(scenario, accounts):
    exchange = opened(scenario, accounts)
    order = exchange.submit("asha", bond=BOND, side="buy", qty=10_000, order_type="market")
    assert order["status"] == "rejected" and order["reason"] == "insufficient_cash"
    assert order["order_id"].startswith("REJECTED-")


def test_keys_reach_only_their_own_account(scenario, accounts):
    exchange = opened(scenario, accounts)
    order = exchange.submit("pro", bond=BOND, side="sell", qty=1, order_type="market")
    with pytest.raises(RequestError) as hidden:
        exchange.order(account(accounts, "asha"), order["order_id"])
    assert hidden.value.status == 404
    with pytest.raises(RequestError) as hidden:
        exchange.cancel("asha", order["order_id"])
    assert hidden.value.status == 404
    with pytest.raises(RequestError) as hidden:
        exchange.portfolio(account(accounts, "asha"), "pro")
    assert hidden.value.status == 404
    regulator = account(accounts, "sebi")
    assert exchange.order(regulator, order["order_id"])["account"] == "pro"
    assert exchange.portfolio(regulator, "pro")["account"] == "pro"
    with pytest.raises(RequestError) as refused:
        exchange.submit("sebi", bond=BOND, side="buy", qty=1, order_type="market")
    assert refused.value.status == 403


def test_the_journal_replays_into_the_same_books_and_ledger(scenario, accounts, tmp_path):
    live = opened(scenario, accounts, journal=tmp_path)
    quote = live.quote(BOND)["venues"][0]
    live.submit("asha", bond=BOND, side="buy", qty=4, order_type="market")
    resting = live.submit("pro", bond=BOND, side="sell", qty=5, order_type="limit",
                          price=quote["ask_ticks"] + 3)  # fmt: skip
    live.step(TEN_MINUTES)
    live.submit("maker", bond=BOND, side="buy", qty=20, order_type="limit",
                price=quote["bid_ticks"] - 2)  # fmt: skip
    live.cancel("pro", resting["order_id"])
    live.start_sip("asha", bond=BOND, amount_rupees=5_000, interval_days=1)
    live.step(NS_PER_DAY)
    live.close()

    again = Exchange(scenario, accounts, journal=tmp_path)
    assert again.replayed == live.journal.seq and again.now == live.now
    assert ledger_state(again) == ledger_state(live)
    for table in ("orders", "trades", "quotes"):
        assert again.sim.recorder.take_frames()[table].equals(
            live.sim.recorder.take_frames()[table]
        )
    for name in live.clients:
        assert again.clients[name].orders == live.clients[name].orders
    for venue in live.sim.venues:
        assert again.book(BOND, venue, 20) == live.book(BOND, venue, 20)


def test_a_line_cut_short_by_a_kill_is_dropped(scenario, accounts, tmp_path):
    live = opened(scenario, accounts, journal=tmp_path)
    live.submit("asha", bond=BOND, side="buy", qty=1, order_type="market")
    live.close()
    path = live.journal.path
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"seq": 99, "t": 1, "kind": "ord')  # killed mid-write
    again = Exchange(scenario, accounts, journal=tmp_path)
    assert again.replayed == live.journal.seq
    again.submit("asha", bond=BOND, side="buy", qty=1, order_type="market")
    again.close()
    lines = path.read_bytes().splitlines()
    assert len(lines) == live.journal.seq + 2 and b"ord" not in lines[-1][-5:]


def test_a_corrupt_or_foreign_journal_is_refused(scenario, accounts, tmp_path):
    live = opened(scenario, accounts, journal=tmp_path)
    live.submit("asha", bond=BOND, side="buy", qty=1, order_type="market")
    live.close()
    path = live.journal.path
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join([*lines[:2], b"garbage\n", *lines[3:]]))
    with pytest.raises(JournalError, match=r"journal.jsonl:3: not a JSON record"):
        Exchange(scenario, accounts, journal=tmp_path)
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match="written for scenario 'baseline' seed 1, not"):
        Exchange(scenario, accounts, journal=tmp_path, seed=2)


def test_a_repo_opens_and_is_repaid_with_interest(scenario, accounts):
    exchange = opened(scenario, accounts)
    maker, pro = exchange.clients["maker"], exchange.clients["pro"]
    offer = exchange.offer_cash("maker", cash_rupees=100_000, rate_bp=700, haircut_pct=10,
                                term_days=1)  # fmt: skip
    maker_cash, pro_cash = maker.cash_position(), pro.cash_position()
    unit_value = exchange._market.unit_value(BOND)
    repo = exchange.borrow("pro", bond=BOND, units=50, offer_id=offer["offer_id"])
    assert repo["loan"] == math.floor(50 * unit_value * 0.9)
    assert pro.cash_position() == pro_cash + repo["loan"]
    assert maker.position(BOND) == 550 and pro.position(BOND) == 50
    exchange.step(NS_PER_DAY)  # to the next open
    (closed,) = exchange.repos(account(accounts, "pro"))
    assert closed["status"] == "repaid"
    days = (closed["closed_at"] - closed["opened_at"]) / NS_PER_DAY
    assert closed["repayment"] == repo["loan"] + math.ceil(repo["loan"] * 0.07 * days / 365)
    assert maker.position(BOND) == 500 and pro.position(BOND) == 100
    assert maker.cash_position() == maker_cash - repo["loan"] + closed["repayment"]
    assert exchange.sim.ledger.check().ok


def test_a_borrower_that_cannot_repay_defaults_and_the_lender_keeps_the_units(scenario, accounts):
    broke = ApiAccount(name="broke", role=Role.RETAIL, key="broke-key-0123456789", units={BOND: 60})
    exchange = opened(scenario, Accounts(account=(*accounts.account, broke)))
    exchange.offer_cash("maker", cash_rupees=100_000, rate_bp=700, haircut_pct=10, term_days=1)
    repo = exchange.borrow("broke", bond=BOND, units=50)
    spent = exchange.submit(
        "broke", bond=BOND, side="buy", qty=repo["loan"] // 200_000, order_type="market"
    )  # the loan, spent on more of the bond
    assert spent["filled_qty"] > 0
    exchange.step(NS_PER_DAY)
    (repo,) = exchange.repos(broke)
    assert repo["status"] == "defaulted"
    assert exchange.clients["maker"].position(BOND) == 550
    assert exchange.sim.ledger.check().ok


def test_lending_refusals_name_their_reason(scenario, accounts):
    exchange = opened(scenario, accounts)
    with pytest.raises(RequestError, match="no offer lends"):
        exchange.borrow("pro", bond=BOND, units=10)
    with pytest.raises(RequestError, match="exceeds free cash"):
        exchange.offer_cash("asha", cash_rupees=10**9, rate_bp=1, haircut_pct=5, term_days=1)
    with pytest.raises(RequestError, match=r"units of .* pledged"):
        exchange.borrow("asha", bond=BOND, units=10)


def test_a_sip_plan_invests_now_and_at_each_interval(scenario, accounts):
    exchange = opened(scenario, accounts)
    plan = exchange.start_sip("asha", bond=BOND, amount_rupees=5_000, interval_days=1)
    assert len(plan["orders"]) == 1 and 0 < plan["invested"] <= 500_000
    exchange.step(NS_PER_DAY)
    (plan,) = exchange.sip_plans(account(accounts, "asha"))
    assert len(plan["orders"]) == 2 and plan["invested"] <= 2 * 500_000
    asha = exchange.clients["asha"]
    bought = sum(asha.orders[o].filled_qty for o in plan["orders"])
    assert asha.position(BOND) == bought > 0


def test_a_market_maker_sees_its_quoting_obligation_met(scenario, accounts):
    exchange = opened(scenario, accounts)
    quote = exchange.quote(BOND)["venues"][0]
    mid = (quote["bid_ticks"] + quote["ask_ticks"]) // 2
    exchange.submit("maker", bond=BOND, side="buy", qty=20, order_type="limit", price=mid - 10,
                    venue="NSE")  # fmt: skip
    exchange.submit("maker", bond=BOND, side="sell", qty=20, order_type="limit", price=mid + 10,
                    venue="NSE")  # fmt: skip
    exchange.step(TEN_MINUTES)
    seen = exchange.obligations(account(accounts, "maker"))
    assert seen["tier"] == "gold" and seen["maker_fee_bps"]["NSE"] < 0
    by_market = {(m["venue"], m["bond"]): m for m in seen["markets"]}
    assert by_market["NSE", BOND]["met"] >= 1  # until the book trades through its quotes
    assert by_market["BSE", BOND]["met"] == 0
    with pytest.raises(RequestError) as refused:
        exchange.obligations(account(accounts, "pro"))
    assert refused.value.status == 403


def test_after_the_last_close_requests_are_refused(scenario, accounts):
    exchange = opened(scenario, accounts)
    exchange.step(10 * NS_PER_DAY)
    assert exchange.closed
    with pytest.raises(RequestError, match="market is closed") as refused:
        exchange.submit("asha", bond=BOND, side="buy", qty=1, order_type="market")
    assert refused.value.status == 409
    assert exchange.sim.ledger.check().ok


def test_a_modify_moves_a_resting_order_and_may_trade_it(scenario, accounts):
    exchange = opened(scenario, accounts)
    quote = exchange.quote(BOND)["venues"][0]
    order = exchange.submit("pro", bond=BOND, side="buy", qty=4, order_type="limit",
                            price=quote["bid_ticks"] - 50, venue="NSE")  # fmt: skip
    smaller = exchange.modify("pro", order["order_id"], qty=3)
    assert smaller["status"] == "open" and smaller["qty"] == 3
    ask = exchange.quote(BOND)["venues"][0]["ask_ticks"]
    crossed = exchange.modify("pro", order["order_id"], price=ask + 5)
    assert crossed["filled_qty"] > 0 and crossed["price"] == ask + 5
    with pytest.raises(RequestError, match="changes qty, price or both"):
        exchange.modify("pro", order["order_id"])


def test_the_calendar_lists_each_session(scenario, accounts):
    exchange = Exchange(scenario, accounts)
    days = exchange.calendar()["days"]
    assert [d["day"] for d in days] == [0, 1]
    assert days[0]["open"] == exchange.now < days[0]["close"] < days[1]["open"]


def test_orders_in_two_bonds_of_one_venue_keep_apart(scenario, accounts):
    # Each bond's book numbers its orders from 1: the service's ids must still differ.
    exchange = opened(scenario, accounts)
    other = next(s for s in exchange.sim.instruments if s != BOND)
    placed = {}
    for bond in (BOND, other):
        bid = exchange.quote(bond)["venues"][0]["bid_ticks"]
        placed[bond] = exchange.submit("pro", bond=bond, side="buy", qty=1, order_type="limit",
                                       price=bid - 100, venue="NSE")  # fmt: skip
    assert placed[BOND]["order_id"] != placed[other]["order_id"]
    exchange.cancel("pro", placed[other]["order_id"])
    viewer = account(accounts, "pro")
    assert exchange.order(viewer, placed[BOND]["order_id"])["status"] == "open"
    assert exchange.order(viewer, placed[other]["order_id"])["status"] == "cancelled"


def test_post_only_and_iceberg_orders_reach_the_venue(scenario, accounts):
    exchange = opened(scenario, accounts)
    ask = exchange.quote(BOND)["venues"][0]["ask_ticks"]
    crossing = exchange.submit("pro", bond=BOND, side="buy", qty=1, order_type="limit",
                               price=ask, post_only=True, venue="NSE")  # fmt: skip
    assert crossing["status"] == "rejected" and crossing["reason"] == "post_only_would_cross"
    iceberg = exchange.submit("pro", bond=BOND, side="sell", qty=40, order_type="limit",
                              price=ask + 50, display_qty=10, venue="NSE")  # fmt: skip
    assert iceberg["status"] == "open"
    shown = dict(map(tuple, exchange.book(BOND, "NSE", 50)["asks"]))
    assert shown.get(ask + 50, 0) < 40  # only the displayed slice is visible
