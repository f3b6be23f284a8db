"""The Strategy API's context over the exchange service: the live side of `sim.strategy.api`.

`LiveContext` offers a strategy everything a `StrategyParticipant` does, from the service's
REST calls and its stream instead of a simulation (`sim.live.session`). The stream's messages
drive the strategy, one at a time, through `dispatch`: level-1 quotes (`on_quote`), trades and
depth snapshots of its markets (kept for `trades` and `book`), its own fills (`on_fill`), and
the clock, on which its timer fires in trading time as in a simulation. Reads of its account,
valuations and forecasts are REST calls; so are its orders, whose answers reach `on_order`
once the handler that sent them has returned (as a simulated venue's answer comes back later).
As in a simulation, a request's own immediate fills reach `on_fill` before its answer reaches
`on_order`.

What differs from a simulation, by nature: time is the service's clock as the stream reports
it, so a timer fires at the first message at or after its time; the strategy's log goes to the
`bondlab.strategy` logger and its `log_lines`, not to a run's tables; and a refusal by the
strategy's own guardrails is answered to the strategy but recorded only in its log.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Mapping
from datetime import date, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sim.market.calendar import TradingCalendar
from sim.market.instrument import Instrument
from sim.market.messages import OpenOrder, Quote, Response, Trade
from sim.market.orders import Reason, Side, Status
from sim.pricing import Liquidity
from sim.strategy.api import HANDLERS, LOGGER, TRADES_KEPT, Book, Component, Valuation, send_route
from sim.strategy.forecasts import FORECAST_DAYS, Forecast
from sim.strategy.routing import RoutePlan, VenueView, route, taken_levels

_TERMS = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency", "day_count")


def order_type(price, tif: str, stop_price) -> str:
    """The service's order type of a request as the Strategy API sends it."""
    if stop_price is not None:
        return "stop" if price is None else "stop_limit"
    if tif == "IOC":
        return "ioc"
    if tif == "FOK":
        return "fok"
    return "market" if price is None else "limit"


class LiveContext:
    """A strategy's context at the exchange service, through `session` (REST calls, and the
    stream's messages handed to `dispatch`)."""

    def __init__(
        self,
        session,
        strategy,
        params: Mapping[str, Any] | None = None,
        markets: list[tuple[str, str]] | None = None,
    ) -> None:
        self.session = session
        self.strategy = strategy
        self.params = MappingProxyType(dict(params or {}))
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}
        bonds = session.get("/api/bonds")
        self._bonds = {b["id"]: b for b in bonds}
        listed = [(venue, b["id"]) for b in bonds for venue in b["venues"]]
        self.markets = tuple(markets or sorted(listed))
        spec = session.get("/api/calendar")
        self.calendar = TradingCalendar(
            date.fromisoformat(spec["start"]),
            spec["length"],
            time.fromisoformat(spec["open"]),
            time.fromisoformat(spec["close"]),
            tuple(date.fromisoformat(h) for h in spec["holidays"]),
        )
        self.now = session.get("/api/status")["time"]
        self.walk_forward = None
        self.log_lines = 0
        self._quotes: dict[tuple[str, str], Quote] = {}
        self._books: dict[tuple[str, str], Book] = {}
        self._trades = {m: deque(maxlen=TRADES_KEPT) for m in self.markets}
        self._timer_ns: int | None = None
        self._next_timer: int | None = None
        # what its requests brought, told once the handler that sent them has returned:
        # (None, (fill, side)) for a fill, (request, Response) for an answer
        self._answers: deque[tuple] = deque()
        self._fills_heard: set[tuple] = set()  # (venue, bond, maker id, taker id, time) told
        self.bought: Counter[str] = Counter()  # units its fills added, by bond (sold: < 0)
        self.requests: list[tuple[int, tuple]] = []  # every request sent: (time, request)

    @property
    def fills(self) -> int:
        """Fills the strategy was told of."""
        return len(self._fills_heard)

    # --- driving the strategy -------------------------------------------------------------

    def start(self) -> None:
        """Take each of its books' level 1 from the service (the stream tells only changes),
        then `on_start`."""
        for symbol in dict.fromkeys(s for _, s in self.markets):
            for row in self.session.get(f"/api/bonds/{symbol}/quote")["venues"]:
                key = (row["venue"], symbol)
                if key in self._trades:
                    self._quotes[key] = Quote(
                        row["time"],
                        row["bid_ticks"],
                        row["bid_qty"],
                        row["ask_ticks"],
                        row["ask_qty"],
                    )
        self._call("on_start")

    def stop(self) -> None:
        self._call("on_stop")

    def dispatch(self, message: dict) -> None:
        """One message of the stream: the clock moves to its time (firing the timer when due),
        then its handler runs."""
        when = message.get("time")
        if when is not None:
            self._advance(when)
        kind = message.get("type")
        if kind == "quote":
            key = (message["venue"], message["bond"])
            if key in self._trades:
                quote = Quote(
                    message["time"],
                    message["bid_ticks"],
                    message["bid_qty"],
                    message["ask_ticks"],
                    message["ask_qty"],
                )
                self._quotes[key] = quote
                self._call("on_quote", *key, quote)
        elif kind == "trade":
            key = (message["venue"], message["bond"])
            if key in self._trades:
                self._trades[key].append(_public_trade(message))
        elif kind == "book":
            key = (message["venue"], message["bond"])
            if key in self._trades:
                bids = tuple(tuple(level) for level in message["bids"])
                asks = tuple(tuple(level) for level in message["asks"])
                self._books[key] = Book(message["time"], bids, asks)
        elif kind == "fill":
            self._tell_fill(*_own_trade(message))
        self._answer()

    def _advance(self, when: int) -> None:
        while self._next_timer is not None and self._next_timer <= when:
            self.now = self._next_timer
            self._next_timer = self._after(self._timer_ns)
            self._call("on_timer")
            self._answer()
        self.now = max(self.now, when)

    def _after(self, delay_ns: int) -> int | None:
        """`delay_ns` of trading time from now: overnight gaps skipped (None past the end)."""
        return self.calendar.after_gaps(self.now + delay_ns)

    def _tell_fill(self, trade: Trade, side: int) -> None:
        """`on_fill`, once a fill: a request's immediate fills come with its answer, and then
        again on the stream."""
        key = (
            trade.venue,
            trade.instrument,
            trade.maker_order_id,
            trade.taker_order_id,
            trade.time,
        )
        if key in self._fills_heard:
            return
        self._fills_heard.add(key)
        self.bought[trade.instrument] += side * trade.qty
        self._call("on_fill", trade, side)

    def _answer(self) -> None:
        """What the requests the last handler sent brought, in the order it sent them: each
        one's immediate fills, then its answer (as a simulation delivers them, once the
        handler has returned)."""
        while self._answers:
            request, answer = self._answers.popleft()
            if request is None:
                self._tell_fill(*answer)
            else:
                self._call("on_order", request, answer)

    def _call(self, name: str, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(self, *args)

    # --- acting ---------------------------------------------------------------------------

    def submit(
        self,
        venue: str,
        symbol: str,
        side,
        qty: int,
        price: int | None = None,
        tif: str = "GTC",
        decision: Mapping[str, Any] | None = None,
        **options,
    ) -> None:
        """Send a new order (``stop_price`` in `options` for a stop); a `decision` goes to
        the strategy's log with the order."""
        request = ("new", venue, symbol, side, qty, price, tif)
        parsed = Side.parse(side)
        body = {
            "bond": symbol,
            "venue": venue,
            "qty": qty,
            "price": price,
            "side": None if parsed is None else parsed.name.lower(),
            "type": order_type(price, tif, options.get("stop_price")),
            "stop_price": options.get("stop_price"),
            "post_only": bool(options.get("post_only")),
            "display_qty": options.get("display_qty"),
        }
        if decision is not None:
            self.log("decision", request=list(map(str, request)), **dict(decision))
        self._send(request, symbol, "/api/orders", body)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        self._send(
            ("cancel", venue, symbol, order_id),
            symbol,
            f"/api/orders/{venue}-{symbol}-{order_id}/cancel",
            None,
        )

    def modify(
        self,
        venue: str,
        symbol: str,
        order_id: int,
        qty: int | None = None,
        price: int | None = None,
    ) -> None:
        self._send(
            ("modify", venue, symbol, order_id, qty, price),
            symbol,
            f"/api/orders/{venue}-{symbol}-{order_id}/modify",
            {"qty": qty, "price": price},
        )

    def _send(self, request: tuple, symbol: str, path: str, body: dict | None) -> None:
        from sim.live.session import ServiceRefusal

        self.requests.append((self.now, request))
        try:
            order = self.session.post(path, body)
        except ServiceRefusal as refusal:  # the service's own check, as a venue's rejection
            self.log("refused by the service", request=list(map(str, request)), reason=str(refusal))
            self._answers.append(
                (request, Response(symbol, 0, Status.REJECTED, _refusal(refusal.status, request)))
            )
            return
        response = self._response(order)
        side = 1 if order["side"] == "buy" else -1
        for trade in response.trades:  # its immediate fills, then its answer, after the handler
            self._answers.append((None, (trade, side)))
        self._answers.append((request, response))

    def _response(self, order: dict) -> Response:
        """The venue's answer, from the order as the service shows it after the request."""
        book_id = order["book_id"]
        trades = tuple(_own_trade(f)[0] for f in order["fills"] if f["time"] == self.now)
        return Response(
            order["symbol"],
            book_id,
            Status[order["answer"].upper()],
            Reason[order["reason"].upper()],
            sum(t.qty for t in trades),
            trades,
        )

    def plan_route(
        self, symbol: str, side, qty: int, limit: int | None = None, policy: str = "cheapest"
    ) -> RoutePlan:
        """How `route` would split an order across its markets in `symbol` (visible depth from
        the last depth snapshot, else the service's top of book; taker fees; bands, halts)."""
        instrument = self.instrument(symbol)
        rows = self.session.get(f"/api/bonds/{symbol}/quote")["venues"]
        views = [
            self._venue_view(r, symbol, side) for r in rows if (r["venue"], symbol) in self._trades
        ]
        return route(
            side,
            qty,
            views,
            tick_value=instrument.tick_value,
            limit=limit,
            lot_size=instrument.lot_size,
            policy=policy,
        )

    def _venue_view(self, row: dict, symbol: str, side) -> VenueView:
        """What the router sees of a venue (`row`: its line of the service's quote)."""
        venue = row["venue"]
        levels = taken_levels(side, self._books.get((venue, symbol)), self.quote(venue, symbol))
        band = None if row["band_ticks"] is None else tuple(row["band_ticks"])
        return VenueView(
            venue,
            levels,
            taker_fee_bps=Decimal(row["taker_fee_bps"]),
            band=band,
            halted=row["halted_until"] > self.now,
        )

    def route(
        self,
        symbol: str,
        side,
        qty: int,
        limit: int | None = None,
        policy: str = "cheapest",
        decision: Mapping[str, Any] | None = None,
    ) -> RoutePlan:
        plan = self.plan_route(symbol, side, qty, limit, policy)
        send_route(self, symbol, side, plan, decision)
        return plan

    def set_timer(self, interval_ns: int) -> None:
        """Call `on_timer` every `interval_ns` of trading time from now on."""
        first = self._timer_ns is None
        self._timer_ns = int(interval_ns)
        if first:
            self._next_timer = self._after(self._timer_ns)

    def refuse(self, venue, symbol, side, qty, price, tif, reason: Reason) -> None:
        request = ("new", venue, symbol, side, qty, price, tif)
        self.log("refused by a guardrail", reason=reason.name.lower())
        self._answers.append((request, Response(symbol, 0, Status.REJECTED, reason)))

    def refuse_modify(self, venue, symbol, order_id, qty, price, reason: Reason) -> None:
        request = ("modify", venue, symbol, order_id, qty, price)
        self.log("modify refused by a guardrail", reason=reason.name.lower())
        self._answers.append((request, Response(symbol, order_id, Status.REJECTED, reason)))

    def log(self, message: str, **fields) -> None:
        details = json.dumps(fields, sort_keys=True, default=str) if fields else ""
        self.log_lines += 1
        LOGGER.info("%d live: %s %s", self.now, message, details)

    # --- market data ----------------------------------------------------------------------

    def quote(self, venue: str, symbol: str) -> Quote:
        """Level 1 of one of its books as the stream last told it (empty before that)."""
        return self._quotes.get((venue, symbol), Quote(0, None, 0, None, 0))

    def book(self, venue: str, symbol: str) -> Book | None:
        return self._books.get((venue, symbol))

    def trades(self, venue: str, symbol: str) -> tuple[Trade, ...]:
        return tuple(self._trades.get((venue, symbol), ()))

    def valuation(self, symbol: str, liquidity: bool = False) -> Valuation:
        """The published valuation with its breakdown (the service's quote); the liquidity
        premium is the service's, measured over every venue's book."""
        shown = self.session.get(f"/api/bonds/{symbol}/quote")["valuation"]
        components = tuple(Component(**c) for c in shown["components"])
        seen = shown["liquidity"]
        if not liquidity:
            components = tuple(c for c in components if c.name != "liquidity_premium")
        return Valuation(
            symbol,
            self.now,
            shown["clean"],
            shown["accrued"],
            shown["ytm"],
            shown["spread_bp"],
            shown["risk_free_clean"],
            components,
            Liquidity(**seen) if liquidity and seen else None,
        )

    def forecast(self, symbol: str, horizon_days: int = FORECAST_DAYS) -> Forecast | None:
        """The service's T+7 forecast (None before it has enough closes, or for another
        horizon, which the service does not serve)."""
        shown = self.session.get(f"/api/bonds/{symbol}/quote")["forecast"]
        if shown is None or shown["horizon_days"] != horizon_days:
            return None
        drivers = dict(shown["drivers"])
        bias = shown["price"] - shown["from_clean_price"] - sum(drivers.values())
        return Forecast(
            symbol,
            self.now,
            horizon_days,
            shown["from_clean_price"],
            shown["price"],
            shown["low"],
            shown["high"],
            drivers,
            bias,
        )

    def instrument(self, symbol: str) -> Instrument:
        bond = self._bonds[symbol]
        return Instrument(
            symbol, Decimal(bond["tick_size"]), bond["lot_size"], bond["unit_face_value_rupees"]
        )

    def terms(self, symbol: str) -> dict:
        bond = self._bonds[symbol]
        terms = {name: bond[name] for name in _TERMS}
        for name in ("issue", "maturity"):
            if terms[name] is not None:
                terms[name] = date.fromisoformat(terms[name])
        return terms

    def price_limits(self, venue: str, symbol: str) -> tuple[int, int] | None:
        for row in self.session.get(f"/api/bonds/{symbol}/quote")["venues"]:
            if row["venue"] == venue:
                return None if row["band_ticks"] is None else tuple(row["band_ticks"])
        return None

    def trades_on(self, symbol: str, day: int | None = None) -> bool:
        last = self._bonds[symbol]["last_trading_day"]
        return last is not None and (self.day if day is None else day) <= last

    # --- its account ----------------------------------------------------------------------

    def _portfolio(self) -> dict:
        return self.session.get("/api/portfolio")

    def position(self, symbol: str) -> int:
        return self.positions().get(symbol, 0)

    def positions(self) -> dict[str, int]:
        return {p["bond"]: p["units"] for p in self._portfolio()["positions"]}

    def free_units(self, symbol: str) -> int:
        held = {p["bond"]: p["free_units"] for p in self._portfolio()["positions"]}
        return held.get(symbol, 0)

    def cash(self) -> int:
        return self._portfolio()["cash_paise"]

    def free_cash(self) -> int:
        return self._portfolio()["free_cash_paise"]

    def open_orders(self, venue: str | None = None) -> list[tuple[str, OpenOrder]]:
        found = []
        for order in self._portfolio()["open_orders"]:
            if venue is None or order["venue"] == venue:
                book_id = order["book_id"]
                rest = order["qty"] - order["filled_qty"]
                side = Side.BUY if order["side"] == "buy" else Side.SELL
                found.append(
                    (
                        order["venue"],
                        OpenOrder(
                            order["symbol"], book_id, 0, side, order["price"] or 0, rest, 0, 0
                        ),
                    )
                )
        return found

    # --- time -----------------------------------------------------------------------------

    @property
    def day(self) -> int:
        return self.calendar.day_index(self.now)

    def session(self, day: int) -> tuple[int, int]:
        return self.calendar.session(day)

    def trading_date(self, day: int | None = None) -> date:
        return self.calendar.trading_days[self.day if day is None else day]

    @property
    def trading_days(self) -> tuple[date, ...]:
        return self.calendar.trading_days


def _public_trade(message: dict) -> Trade:
    """A trade in one of its markets as the stream shows everyone: price, size, aggressor."""
    aggressor = Side.BUY if message["aggressor"] == "buy" else Side.SELL
    return Trade(
        message["time"],
        message["venue"],
        message["bond"],
        message["price_ticks"],
        message["qty"],
        0,
        0,
        0,
        0,
        aggressor,
        0,
        0,
        0,
        0,
    )


def _own_trade(fill: dict) -> tuple[Trade, int]:
    """One of its fills as a `Trade`, and its side (+1 bought, -1 sold)."""
    side = 1 if fill["side"] == "buy" else -1
    maker = fill["liquidity"] == "maker"
    aggressor = Side(-side if maker else side)
    fee = fill["fee_paise"]
    trade = Trade(
        fill["time"],
        fill["venue"],
        fill["bond"],
        fill["price_ticks"],
        fill["qty"],
        fill["maker_order_id"],
        fill["taker_order_id"],
        0,
        0,
        aggressor,
        fill["notional_paise"],
        fee if maker else 0,
        0 if maker else fee,
        0,
        accrued=fill["accrued_paise"],
    )
    return trade, side


def _refusal(status: int, request: tuple) -> Reason:
    """The reason code of a request the service refused (4xx) before it reached a venue."""
    if status == 409:
        return Reason.MARKET_CLOSED
    if request[0] != "new":
        return Reason.UNKNOWN_ORDER
    return Reason.UNKNOWN_INSTRUMENT if status == 404 else Reason.BAD_QUANTITY
