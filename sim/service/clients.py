"""The exchange service's participants: one `ApiClient` per client account, and the house's
`MarketDesk`, which watches every book for the API's quotes and stream.

Both are ordinary market participants (`sim.engine.participant`) with no latency: a client's
request reaches the venue the moment the service accepts it, and what the run tells them
reaches them at once. They publish what a client may see to the `Hub` (`sim.service.hub`),
which carries it to the WebSocket stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.engine.latency import FixedLatency
from sim.engine.participant import Participant
from sim.market.messages import Quote, Response, Trade
from sim.market.orders import Side
from sim.service.accounts import ApiAccount, Role
from sim.service.hub import Hub
from sim.strategy.api import StrategyParticipant

NO_LATENCY = FixedLatency(0)


@dataclass
class OrderState:
    """One of a client's orders as the service reports it (`GET /api/orders/{id}`)."""

    order_id: str  # "VENUE-SYMBOL-<book id>", or "REJECTED-<account>-<n>" if refused first
    book_id: int  # the venue's id in the bond's book (0: refused before it)
    venue: str
    symbol: str
    side: str
    order_type: str
    qty: int
    price: int | None
    stop_price: int | None
    submitted_at: int
    status: str  # open, filled, cancelled or rejected
    reason: str  # the reason code of the venue's last answer about it (none, ...)
    answer: str  # the status of that answer: accepted, partially_filled, filled, ...
    filled_qty: int = 0
    fills: list[dict] = field(default_factory=list)
    sip_plan: int | None = None


@dataclass
class SipPlan:
    """A systematic investment plan: `amount` paise into `symbol` every `interval_days`
    trading days, bought at the best ask when the day's first instalment check runs."""

    plan_id: int
    symbol: str
    venue: str
    amount: int
    interval_days: int
    next_day: int
    orders: list[str] = field(default_factory=list)
    invested: int = 0  # paise spent, fees included


class ApiClient(Participant):
    """A service client's account: its requests arrive at once, its fills are published."""

    kind = "api_client"

    def __init__(self, market, rng, account: ApiAccount, hub: Hub, enter_now) -> None:
        super().__init__(market, rng, NO_LATENCY)
        self._enter_now = enter_now  # the kernel's: a request reaching its venue now
        self.name = account.name
        self.role = account.role
        self.obligation = (account.max_spread_ticks, account.min_size)
        self.hub = hub
        self.orders: dict[str, OrderState] = {}
        self.sip_plans: list[SipPlan] = []
        self._seen: set[tuple] = set()  # fills already counted: from the answer, then on_fill
        self._refused = 0
        # (venue, symbol) -> [checks, checks met] of the market maker's quoting obligation
        self.presence: dict[tuple[str, str], list[int]] = {}

    # --- requests, arriving now -----------------------------------------------------------

    def place(self, venue, symbol, side: Side, qty, price, tif, order_type, *, stop_price=None,
              post_only=False, display_qty=None, plan=None) -> OrderState:  # fmt: skip
        """A new order reaches `venue` now; its state, with the fills of its arrival."""
        self.orders_sent += 1
        options = {"stop_price": stop_price, "post_only": post_only, "display_qty": display_qty}
        options = {k: v for k, v in options.items() if v}  # the venue's defaults otherwise
        response = self._enter_now(self, "new", venue, symbol, (side, qty, price, tif), options)
        if response.ok:
            order_id = order_key(venue, symbol, response.order_id)
        else:
            self._refused += 1
            order_id = f"REJECTED-{self.name}-{self._refused}"  # unique across accounts
        state = OrderState(
            order_id,
            response.order_id if response.ok else 0,
            venue,
            symbol,
            side.name.lower(),
            order_type,
            qty,
            price,
            stop_price,
            self.now,
            "open",
            response.reason.name.lower(),
            response.status.name.lower(),
            sip_plan=plan,
        )
        self.orders[order_id] = state
        for trade in response.trades:
            self._count_fill(trade)
        if response.ok:
            self.refresh(state)
        else:
            state.status = "rejected"
        return state

    def cancel_order(self, state: OrderState) -> Response:
        """Cancel an order now; the venue's answer (its reason, if it was not open)."""
        args = (state.book_id,)
        response = self._enter_now(self, "cancel", state.venue, state.symbol, args, {})
        state.answer, state.reason = response.status.name.lower(), response.reason.name.lower()
        self.refresh(state)
        return response

    def modify_order(self, state: OrderState, qty: int | None, price: int | None) -> Response:
        """Change an open order's remaining quantity and/or price now (a price change or a
        larger quantity loses its time priority, and it may trade at once)."""
        args = (state.book_id, qty, price)
        response = self._enter_now(self, "modify", state.venue, state.symbol, args, {})
        for trade in response.trades:
            self._count_fill(trade)
        state.answer, state.reason = response.status.name.lower(), response.reason.name.lower()
        if response.ok:
            if qty is not None:
                state.qty = state.filled_qty + qty
            if price is not None:
                state.price = price
        self.refresh(state)
        return response

    def refresh(self, state: OrderState) -> OrderState:
        """Bring an order's status up to date with the venue's book."""
        if state.status == "open":
            resting = any(
                o.order_id == state.book_id and o.instrument == state.symbol
                for _, o in self.open_orders(state.venue)
            )
            if not resting:
                state.status = "filled" if state.filled_qty >= state.qty else "cancelled"
        return state

    # --- what the run tells it ------------------------------------------------------------

    def on_fill(self, trade: Trade, side: int) -> None:
        self._count_fill(trade)

    def _count_fill(self, trade: Trade) -> None:
        """Count a fill once, to its order, and publish it: a request's own fills are counted
        from its answer, before the run delivers them again."""
        key = (
            trade.venue,
            trade.instrument,
            trade.time,
            trade.maker_order_id,
            trade.taker_order_id,
        )
        if key in self._seen:
            return
        self._seen.add(key)
        self.fills += 1
        maker = trade.maker_account == self.account
        book_id = trade.maker_order_id if maker else trade.taker_order_id
        state = self.orders.get(order_key(trade.venue, trade.instrument, book_id))
        if state is not None:
            state.filled_qty += trade.qty
            state.fills.append(fill_message(trade, self.account))
            if state.sip_plan is not None:
                plan = self.sip_plans[state.sip_plan - 1]
                plan.invested += trade.consideration + trade.taker_fee
        # whose: the regulator's stream carries every account's fills
        self.hub.publish(
            self.name, "fill", {"account": self.name, **fill_message(trade, self.account)}
        )

    def on_start(self) -> None:
        if self.role is Role.MARKET_MAKER:  # its obligation is checked at each depth snapshot
            for venue, symbol in self.market.listings():
                self.subscribe(venue, symbol, "l2")

    def on_session_open(self, day: int) -> None:
        for plan in self.sip_plans:
            if plan.next_day <= day:
                plan.next_day = day + plan.interval_days
                self.invest(plan)

    def invest(self, plan: SipPlan) -> None:
        """One instalment: as many whole lots as `amount` buys at the best ask, immediate or
        cancel (none when the book has no ask or the cash is short)."""
        quote = self.quote(plan.venue, plan.symbol)
        if quote.ask is None:
            return
        budget = min(plan.amount, self.free_cash())
        qty = self.affordable(plan.venue, plan.symbol, quote.ask, budget)
        lot = self.market.lot_size(plan.symbol)
        qty -= qty % lot
        if qty <= 0:
            return
        state = self.place(
            plan.venue, plan.symbol, Side.BUY, qty, quote.ask, "IOC", "ioc", plan=plan.plan_id
        )
        plan.orders.append(state.order_id)

    def on_book(self, venue: str, symbol: str, bids: list, asks: list) -> None:
        """A market maker's quoting obligation, checked at each depth snapshot: its own best
        bid and ask on the book, each at least `min_size`, at most `max_spread_ticks` apart."""
        if self.role is not Role.MARKET_MAKER:
            return
        max_spread, min_size = self.obligation
        best = {Side.BUY: None, Side.SELL: None}
        for _, o in self.open_orders(venue):
            if o.instrument != symbol:
                continue
            price, kept = best[o.side] or (None, 0)
            better = price is None or (o.limit > price if o.side is Side.BUY else o.limit < price)
            if better:
                best[o.side] = (o.limit, o.qty)
            elif o.limit == price:
                best[o.side] = (price, kept + o.qty)
        bid, ask = best[Side.BUY], best[Side.SELL]
        met = (
            bid is not None
            and ask is not None
            and ask[0] - bid[0] <= max_spread
            and bid[1] >= min_size
            and ask[1] >= min_size
        )
        counts = self.presence.setdefault((venue, symbol), [0, 0])
        counts[0] += 1
        counts[1] += met

    def report(self) -> dict:
        return {"sip_plans": len(self.sip_plans)}


def order_key(venue: str, symbol: str, book_id: int) -> str:
    """An order's id at the service: a book's ids are its own, so the bond is part of it."""
    return f"{venue}-{symbol}-{book_id}"


def fill_message(trade: Trade, account: int) -> dict:
    """A fill as the API shows it to the account on one side of it."""
    maker = trade.maker_account == account
    bought = (trade.aggressor_side is Side.BUY) != maker
    return {
        "time": trade.time,
        "venue": trade.venue,
        "bond": trade.instrument,
        "order_id": order_key(
            trade.venue, trade.instrument, trade.maker_order_id if maker else trade.taker_order_id
        ),
        "side": "buy" if bought else "sell",
        "qty": trade.qty,
        "price_ticks": trade.price,
        "notional_paise": trade.notional,
        "accrued_paise": trade.accrued,
        "fee_paise": trade.maker_fee if maker else trade.taker_fee,
        "liquidity": "maker" if maker else "taker",
        "maker_order_id": trade.maker_order_id,
        "taker_order_id": trade.taker_order_id,
    }


class MarketDesk(StrategyParticipant):
    """The house's view of every market: subscribed to every book's level 1, depth and trades
    with no latency, it answers the API's quotes (valuation with its breakdown, the T+7
    forecast from its closes) and publishes quotes and trades to the stream. It never trades."""

    kind = "market_desk"

    def __init__(self, market, rng, hub: Hub, on_open) -> None:
        super().__init__(market, rng, NO_LATENCY, _Watcher(), list(market.listings()))
        self.hub = hub
        self._on_open = on_open

    def on_quote(self, venue: str, symbol: str, quote: Quote) -> None:
        self.hub.publish(None, "quote", quote_message(venue, symbol, quote))

    def on_trade(self, trade: Trade) -> None:
        super().on_trade(trade)
        self.hub.publish(
            None,
            "trade",
            {
                "time": trade.time,
                "venue": trade.venue,
                "bond": trade.instrument,
                "price_ticks": trade.price,
                "qty": trade.qty,
                "aggressor": trade.aggressor_side.name.lower(),
            },
        )

    def on_book(self, venue: str, symbol: str, bids: list, asks: list) -> None:
        super().on_book(venue, symbol, bids, asks)
        self.hub.publish(None, "book", {
            "time": self.now, "venue": venue, "bond": symbol,
            "bids": [list(level) for level in bids], "asks": [list(level) for level in asks],
        })  # fmt: skip

    def on_session_open(self, day: int) -> None:
        self._on_open(day)


class _Watcher:
    """The desk's strategy: it only watches (a strategy's handlers are all optional)."""


def quote_message(venue: str, symbol: str, quote: Quote) -> dict:
    return {
        "time": quote.time,
        "venue": venue,
        "bond": symbol,
        "bid_ticks": quote.bid,
        "bid_qty": quote.bid_qty,
        "ask_ticks": quote.ask,
        "ask_qty": quote.ask_qty,
    }
