"""Conservation under random trading: Hypothesis state machines drive venues and a ledger.

`TradingMachine`: accounts trade every order type through two venues (random fees,
market-maker tiers and settlement lags) while time moves on. After every step the ledger must
prove conservation, each account's locks must equal what its open orders and unsettled trades
hold, and fees must be the truncated rates of their notionals. At the end everything settles
and is unlocked.

`TotalsMachine`: deposits, withdrawals, unit issues, off-book transfers and trades in random
order. The money and units are summed straight from the ledger's arrays and compared with a
tally kept here of what came in and went out, without going through `Ledger.check` (which
could be wrong in the same way as what it checks).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sim.market import _gateway_kernels as gateway_kernels
from sim.market.ledger import Ledger
from sim.market.orders import Side, Status
from sim.market.venue import FeeSchedule, Instrument, PriceBand, Tier, Venue

ACCOUNTS = (1, 2, 3, 4)
DEFAULT_TIER_BPS = {
    Tier.BRONZE: Decimal(0),
    Tier.SILVER: Decimal("-0.1"),
    Tier.GOLD: Decimal("-0.2"),
    Tier.PLATINUM: Decimal("-0.3"),
}
SYMBOLS = ("B1", "B2")
DAY = 86_400 * 10**9


class TradingMachine(RuleBasedStateMachine):
    @initialize(
        taker=st.sampled_from(["0", "0.5", "1", "2.25"]),
        maker=st.sampled_from(["0", "-0.25", "0.1"]),
        lags=st.tuples(st.integers(0, 2), st.integers(0, 2)),
        tiers=st.lists(st.sampled_from([None, *Tier]), min_size=4, max_size=4),
        cash=st.integers(10**5, 10**8),
    )
    def start(self, taker, maker, lags, tiers, cash):
        self.ledger = Ledger()
        for account in ACCOUNTS:
            self.ledger.open_account(account, cash=cash, units={s: 50 for s in SYMBOLS})
        rebates = {Tier.SILVER: "-0.1", Tier.GOLD: "-0.2", Tier.PLATINUM: "-0.25"}
        maker = max(Decimal(maker), -Decimal(taker))  # a rebate may not exceed the taker fee
        v1_rebates = rebates if float(taker) >= 0.25 else {}
        fees = FeeSchedule(maker_bps=maker, taker_bps=taker, tier_maker_bps=v1_rebates)
        # What each side pays in bp, written from the set-up (V2 has FeeSchedule's defaults),
        # not read back from the venue: (maker, taker, makers' bp by tier).
        self.bps = {
            "V1": (maker, Decimal(taker), {t: Decimal(b) for t, b in v1_rebates.items()}),
            "V2": (Decimal(0), Decimal(1), DEFAULT_TIER_BPS),
        }
        self.tiers = dict(zip(ACCOUNTS, tiers, strict=True))
        self.venues = [
            Venue(
                "V1",
                self.ledger,
                fees=fees,
                settlement_lag_days=lags[0],
                price_band=PriceBand(limit_pct=20, halt_pct=15, halt_ns=DAY // 24),
            ),
            Venue("V2", self.ledger, fees=FeeSchedule(), settlement_lag_days=lags[1]),
        ]
        for venue in self.venues:
            for symbol in SYMBOLS:
                venue.list_instrument(Instrument(symbol, "0.01", 1, 100), reference_price=10_000)
            for account, tier in zip(ACCOUNTS, tiers, strict=True):
                venue.register(account, tier=tier)
        self.now = 0
        self.fees_collected = defaultdict(int)  # venue name -> paise charged so far

    def record(self, venue, response):
        assert response.status in Status
        for trade in response.trades:
            maker_bps, taker_bps, tier_bps = self.bps[venue.name]
            maker_bps = tier_bps.get(self.tiers[trade.maker_account], maker_bps)
            # Fees are whole paise, truncated toward zero (int() of an exact fraction).
            assert trade.maker_fee == int(Fraction(trade.notional) * Fraction(maker_bps) / 10_000)
            assert trade.taker_fee == int(Fraction(trade.notional) * Fraction(taker_bps) / 10_000)
            assert trade.notional == trade.qty * trade.price  # one tick = 1 paisa per unit
            self.fees_collected[venue.name] += trade.maker_fee + trade.taker_fee

    @rule(
        venue=st.integers(0, 1),
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from(["buy", "sell"]),
        qty=st.integers(1, 30),
        price=st.one_of(st.none(), st.integers(9_500, 10_500)),
        tif=st.sampled_from(["GTC", "GTC", "IOC", "FOK"]),
        stop=st.one_of(st.none(), st.none(), st.none(), st.integers(9_800, 10_200)),
        display=st.one_of(st.none(), st.none(), st.integers(1, 5)),
    )
    def submit(self, venue, account, symbol, side, qty, price, tif, stop, display):
        v = self.venues[venue]
        response = v.submit(
            account,
            symbol,
            side,
            qty,
            price,
            tif,
            stop_price=stop,
            display_qty=display if price is not None else None,
            now=self.now,
        )
        self.record(v, response)

    @rule(venue=st.integers(0, 1), data=st.data())
    def cancel(self, venue, data):
        v = self.venues[venue]
        orders = v.open_orders()
        if orders:
            order = data.draw(st.sampled_from(orders))
            self.record(v, v.cancel(order.account, order.instrument, order.order_id, self.now))

    @rule(
        venue=st.integers(0, 1),
        data=st.data(),
        qty=st.one_of(st.none(), st.integers(1, 40)),
        price=st.one_of(st.none(), st.integers(9_500, 10_500)),
    )
    def modify(self, venue, data, qty, price):
        v = self.venues[venue]
        orders = v.open_orders()
        if orders:
            o = data.draw(st.sampled_from(orders))
            self.record(v, v.modify(o.account, o.instrument, o.order_id, qty, price, self.now))

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours):
        self.now += hours * DAY // 24
        self.ledger.settle_due(self.now)

    @invariant()
    def conserved(self):
        report = self.ledger.check()
        assert report.ok, report.problems

    @invariant()
    def locks_match_orders_and_unsettled_trades(self):
        cash = defaultdict(int)
        units = defaultdict(int)
        for venue in self.venues:
            for order in venue.open_orders():
                cash[order.account] += order.cash_locked
                units[order.account, order.instrument] += order.units_locked
        for trade in self.ledger.unsettled:
            cash[trade.buyer] += trade.buyer_pays
            units[trade.seller, trade.instrument] += trade.qty
        for account in ACCOUNTS:
            acct = self.ledger.account(account)
            assert acct.cash_locked == cash[account]
            for symbol in SYMBOLS:
                assert acct.units_locked[symbol] == units[account, symbol]

    @invariant()
    def open_orders_can_still_be_paid_for(self):
        for venue in self.venues:
            for order in venue.open_orders():
                if order.side == 1:
                    notional = order.qty * order.limit
                    assert order.cash_locked >= notional
                else:
                    assert order.units_locked >= order.qty

    def teardown(self):
        if not hasattr(self, "ledger"):
            return
        for venue in self.venues:
            for order in venue.open_orders():
                response = venue.cancel(order.account, order.instrument, order.order_id, self.now)
                assert response.status is Status.CANCELLED
        self.ledger.settle_due(self.now + 10 * DAY)
        report = self.ledger.check()
        assert report.ok, report.problems
        assert report.unsettled_trades == 0
        for account in ACCOUNTS:
            acct = self.ledger.account(account)
            assert acct.cash_locked == 0
            assert all(v == 0 for v in acct.units_locked.values())
            assert acct.pending_cash == 0
        for venue in self.venues:
            assert self.ledger.account(venue.fee_account).cash == self.fees_collected[venue.name]


TradingMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestConservation = TradingMachine.TestCase


# --- totals counted from the arrays, against a tally of what came in and went out --------

B_CASH, B_PENDING = gateway_kernels.B_CASH, gateway_kernels.B_PENDING
H_UNITS, H_PENDING = gateway_kernels.H_UNITS, gateway_kernels.H_PENDING
# Paise per tick per unit: 0.01 per 100 face on 100 rupees of face is 1 paisa; on 1,000, 10.
TOTALS_INSTRUMENTS = {
    "B1": Instrument("B1", "0.01", 1, 100),
    "B2": Instrument("B2", "0.01", 1, 1000),
}
PAISE_PER_TICK = {"B1": 1, "B2": 10}


def truncated_fee(notional: int, bps: Decimal) -> int:
    """Whole paise of `bps` basis points of `notional`, truncated toward zero."""
    return int(Fraction(notional) * Fraction(bps) / 10_000)


class TotalsMachine(RuleBasedStateMachine):
    @initialize(
        taker=st.sampled_from(["0.5", "1", "2.25", "7"]),
        maker=st.sampled_from(["0", "-0.25", "0.1", "3"]),
        lags=st.tuples(st.integers(0, 2), st.integers(0, 2)),
        cash=st.integers(10**6, 10**8),
    )
    def start(self, taker, maker, lags, cash):
        self.ledger = Ledger()
        for account in ACCOUNTS:  # endowments are deposits and issues like any other
            self.ledger.open_account(
                account, cash=cash, units=dict.fromkeys(TOTALS_INSTRUMENTS, 50)
            )
        self.rates = {  # venue -> (maker bps, taker bps); no tiers, so every maker pays one rate
            "V1": (Decimal(maker), Decimal(taker)),
            "V2": (Decimal(0), Decimal(1)),
        }
        self.venues = [
            Venue(
                name,
                self.ledger,
                fees=FeeSchedule(maker_bps=m, taker_bps=t, tier_maker_bps={}),
                settlement_lag_days=lag,
            )
            for (name, (m, t)), lag in zip(self.rates.items(), lags, strict=True)
        ]
        for venue in self.venues:
            for instrument in TOTALS_INSTRUMENTS.values():
                venue.list_instrument(instrument, reference_price=10_000)
            for account in ACCOUNTS:
                venue.register(account)
        self.now = 0
        # The tally: what came in from outside, and what each account (and each venue's fee
        # account) holds once every trade has settled, worked out from the movements alone.
        self.net_deposits = cash * len(ACCOUNTS)
        self.issued = dict.fromkeys(TOTALS_INSTRUMENTS, 50 * len(ACCOUNTS))  # symbol -> units
        self.cash = dict.fromkeys(ACCOUNTS, cash)  # account -> paise
        self.units = dict.fromkeys(itertools.product(ACCOUNTS, TOTALS_INSTRUMENTS), 50)
        self.fees = []  # (venue's fee account, settle_at, paise) of every trade

    # --- money and units from outside, and off the book ---------------------------------

    @rule(account=st.sampled_from(ACCOUNTS), amount=st.integers(1, 10**8))
    def deposit(self, account, amount):
        self.ledger.deposit(account, amount)
        self.net_deposits += amount
        self.cash[account] += amount

    @rule(account=st.sampled_from(ACCOUNTS), data=st.data())
    def withdraw(self, account, data):
        free = self.ledger.account(account).free_cash
        if free > 0:
            amount = data.draw(st.integers(1, free))
            self.ledger.withdraw(account, amount)
            self.net_deposits -= amount
            self.cash[account] -= amount

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(TOTALS_INSTRUMENTS)),
        qty=st.integers(1, 200),
    )
    def issue(self, account, symbol, qty):
        self.ledger.issue_units(account, symbol, qty)
        self.issued[symbol] += qty
        self.units[account, symbol] += qty

    @rule(
        payer=st.sampled_from(ACCOUNTS),
        payee=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(TOTALS_INSTRUMENTS)),
        data=st.data(),
    )
    def transfer(self, payer, payee, symbol, data):
        """`payer` pays `payee` for units `payee` delivers (either part may be zero)."""
        cash = data.draw(st.integers(0, max(self.ledger.account(payer).free_cash, 0)))
        qty = data.draw(st.integers(0, max(self.ledger.account(payee).free_units(symbol), 0)))
        self.ledger.transfer(payer, payee, cash=cash, instrument=symbol, qty=qty)
        self.cash[payer] -= cash
        self.cash[payee] += cash
        self.units[payee, symbol] -= qty
        self.units[payer, symbol] += qty

    # --- trading ------------------------------------------------------------------------

    @rule(
        venue=st.integers(0, 1),
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(TOTALS_INSTRUMENTS)),
        side=st.sampled_from(["buy", "sell"]),
        qty=st.integers(1, 30),
        price=st.one_of(st.none(), st.integers(9_990, 10_010)),
        tif=st.sampled_from(["GTC", "GTC", "IOC"]),
    )
    def submit(self, venue, account, symbol, side, qty, price, tif):
        v = self.venues[venue]
        self.tally(v, symbol, v.submit(account, symbol, side, qty, price, tif, now=self.now))

    @rule(
        venue=st.integers(0, 1),
        maker=st.sampled_from(ACCOUNTS),
        taker=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(sorted(TOTALS_INSTRUMENTS)),
        side=st.sampled_from(["buy", "sell"]),
        qty=st.integers(1, 30),
        price=st.integers(9_990, 10_010),
    )
    def cross(self, venue, maker, taker, symbol, side, qty, price):
        """An order rests and another takes it at once (a trade unless one side is short)."""
        v = self.venues[venue]
        other = "sell" if side == "buy" else "buy"
        self.tally(v, symbol, v.submit(maker, symbol, side, qty, price, now=self.now))
        self.tally(v, symbol, v.submit(taker, symbol, other, qty, price, "IOC", now=self.now))

    def tally(self, venue, symbol, response):
        maker_bps, taker_bps = self.rates[venue.name]
        for trade in response.trades:
            notional = trade.qty * trade.price * PAISE_PER_TICK[symbol]
            maker_fee = truncated_fee(notional, maker_bps)
            taker_fee = truncated_fee(notional, taker_bps)
            if trade.aggressor_side == Side.BUY:
                buyer, seller = trade.taker_account, trade.maker_account
                buyer_fee, seller_fee = taker_fee, maker_fee
            else:
                buyer, seller = trade.maker_account, trade.taker_account
                buyer_fee, seller_fee = maker_fee, taker_fee
            self.cash[buyer] -= notional + buyer_fee
            self.cash[seller] += notional - seller_fee
            self.units[buyer, symbol] += trade.qty
            self.units[seller, symbol] -= trade.qty
            self.fees.append((venue.fee_account, trade.settle_at, maker_fee + taker_fee))

    @rule(venue=st.integers(0, 1), data=st.data())
    def cancel(self, venue, data):
        v = self.venues[venue]
        orders = v.open_orders()
        if orders:
            order = data.draw(st.sampled_from(orders))
            v.cancel(order.account, order.instrument, order.order_id, self.now)

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours):
        self.now += hours * DAY // 24
        self.ledger.settle_due(self.now)

    # --- the sums -----------------------------------------------------------------------

    def fees_settled(self, fee_account: int) -> int:
        """Fees the venue has been paid: those of trades due by now (settle_due ran at now)."""
        return sum(paise for who, at, paise in self.fees if who == fee_account and at <= self.now)

    @invariant()
    def nothing_outside_the_accounts_and_instruments(self):
        n, m = len(self.ledger.rows), len(self.ledger.columns)
        assert not self.ledger.balances[n:].any()
        assert not self.ledger.holdings[n:].any() and not self.ledger.holdings[:, m:].any()

    @invariant()
    def summed_balances_equal_net_deposits_and_issues(self):
        balances, holdings, rows = self.ledger.balances, self.ledger.holdings, self.ledger.rows
        fee_rows = [rows[v.fee_account] for v in self.venues]
        trader_rows = [rows[a] for a in ACCOUNTS]
        # Settled cash never leaves: it only moves between rows.
        assert int(balances[:, B_CASH].sum()) == self.net_deposits
        # The traders' cash once everything settles, plus every fee charged so far.
        traders = int(balances[trader_rows, B_CASH].sum() + balances[trader_rows, B_PENDING].sum())
        venue_fees = int(balances[fee_rows, B_CASH].sum()) + sum(
            paise for _, at, paise in self.fees if at > self.now
        )
        assert traders + venue_fees == self.net_deposits
        for symbol, column in self.ledger.columns.items():
            units, pending = holdings[:, column, H_UNITS], holdings[:, column, H_PENDING]
            assert int(units.sum()) == self.issued[symbol]  # settled units only move
            assert int(units.sum() + pending.sum()) == self.issued[symbol]  # once all settle

    @invariant()
    def every_account_holds_what_its_movements_say(self):
        balances, holdings = self.ledger.balances, self.ledger.holdings
        for account in ACCOUNTS:
            row = self.ledger.row(account)
            assert balances[row, B_CASH] + balances[row, B_PENDING] == self.cash[account]
            for symbol in TOTALS_INSTRUMENTS:
                column = self.ledger.columns[symbol]
                held = holdings[row, column, H_UNITS] + holdings[row, column, H_PENDING]
                assert held == self.units[account, symbol]
        for venue in self.venues:
            assert self.ledger.account(venue.fee_account).cash == self.fees_settled(
                venue.fee_account
            )

    def teardown(self):
        if not hasattr(self, "ledger"):
            return
        self.now += 10 * DAY
        self.ledger.settle_due(self.now)
        self.summed_balances_equal_net_deposits_and_issues()
        self.every_account_holds_what_its_movements_say()
        assert not self.ledger.balances[:, B_PENDING].any()
        assert not self.ledger.holdings[:, :, H_PENDING].any()


TotalsMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestTotals = TotalsMachine.TestCase
