"""Conservation under random trading: a Hypothesis state machine drives venues and a ledger.

Accounts trade every order type through two venues (random fees, market-maker tiers and
settlement lags) while time moves on. After every step the ledger must prove conservation,
each account's locks must equal what its open orders and unsettled trades hold, and fees must
be the truncated rates of their notionals. At the end everything settles and is unlocked.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from sim.market.ledger import Ledger
from sim.market.orders import Status
from sim.market.venue import MICROS, FeeSchedule, Instrument, PriceBand, Tier, Venue

ACCOUNTS = (1, 2, 3, 4)
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
        fees = FeeSchedule(
            maker_bps=maker, taker_bps=taker, tier_maker_bps=rebates if float(taker) >= 0.25 else {}
        )
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
            maker_tier = venue._tiers[trade.maker_account]
            maker_rate = venue.fees.rate(True, maker_tier)
            taker_rate = venue.fees.rate(False, None)
            # Fees are whole paise, truncated toward zero (int() of an exact fraction).
            assert trade.maker_fee == int(Fraction(trade.notional * maker_rate, MICROS))
            assert trade.taker_fee == int(Fraction(trade.notional * taker_rate, MICROS))
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
