"""A strategy run through a finished run's recorded market data, without the agents that made
it: `replay(strategy, run)`.

`ReplayContext` is the Strategy API's context (`sim.strategy.api.Context`) over a results
folder. The strategy sees what a `StrategyParticipant` with a fixed latency would have seen in
that run: each level-1 change of its markets (`on_quote`) and each trade and depth snapshot one
latency after it was recorded, the published valuations from their time on, timers in trading
time (overnight gaps skipped), `on_start` at the first open and `on_stop` after the last
close. A strategy whose decisions depend on market data alone makes the same decisions here as
in the run (tests/strategy/test_replay.py checks it). What was not recorded is not shown: a
valuation has its price, accrued interest, yield and spread but no breakdown, a trade no fees,
a venue no price band, and there is no forecast (its inputs, the breakdown among them, are not
recorded).

Its orders cannot move the recording, so they are filled on paper, against the recorded top of
book, with no market impact and no queue: an order that reaches the venue (one latency after
it is sent; outside a session it is refused as MARKET_CLOSED) takes the recorded best opposite
quote up to its size, if its limit reaches it;
what is left of it is cancelled (IOC, or a market order) or rests at its limit, and fills as
a maker when the recorded best opposite quote later reaches that limit, up to that quote's
size. Cash moves by the clean price, the accrued interest of the valuation in force and the
venue's maker or taker fee (its tier's adjustment left out); answers and fills reach the
strategy one latency later. Equity is recorded at each close, as a run's `accounts` are.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl

from sim.market.calendar import TradingCalendar
from sim.market.instrument import Instrument
from sim.market.messages import OpenOrder, Quote, Response, Trade
from sim.market.orders import Reason, Side, Status
from sim.strategy.api import HANDLERS, TRADES_KEPT, Book, Valuation, send_route
from sim.strategy.routing import RoutePlan, VenueView, route

_EMPTY = (None, 0, None, 0)


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced: every request the strategy made (time, request tuple), its
    paper fills, its log and decisions, and its equity at each close (paise)."""

    requests: tuple[tuple[int, tuple], ...]
    fills: pl.DataFrame  # time, venue, instrument, side, qty, price, fee
    log: tuple[tuple[int, str, str], ...]  # time, message, details (JSON or "")
    decisions: tuple[tuple[int, str, str, str], ...]  # time, venue, instrument, details
    equity: pl.DataFrame  # day, time, cash, positions_value, equity


@dataclass
class _Resting:
    venue: str
    symbol: str
    order_id: int
    side: int
    limit: int
    qty: int


def replay(
    strategy,
    run,
    markets: list[tuple[str, str]] | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    latency_ns: int = 0,
    cash_rupees: float = 1_000_000.0,
    units: Mapping[str, int] | None = None,
) -> ReplayResult:
    """Run `strategy` (an object with handlers) through `run` (a `sim.Result` or its folder)
    in `markets` (default: every (venue, instrument) it recorded quotes of), starting with
    `cash_rupees` and `units` of each instrument."""
    from sim.records.result import Result

    result = run if isinstance(run, Result) else Result.load(run)
    context = ReplayContext(result, strategy, markets, params, latency_ns, cash_rupees, units)
    return context.run()


class ReplayContext:
    """The Strategy API's context over a recorded run (see the module doc)."""

    def __init__(self, result, strategy, markets, params, latency_ns, cash_rupees, units):
        scenario = result.manifest["scenario"]
        spec = scenario["calendar"]
        self.calendar = TradingCalendar(
            date.fromisoformat(spec["start"]),
            spec["days"],
            time.fromisoformat(spec["open"]),
            time.fromisoformat(spec["close"]),
            tuple(date.fromisoformat(day) for day in spec.get("holidays", ())),
        )
        self.strategy = strategy
        self.latency = int(latency_ns)
        quotes = result.quotes.with_columns(pl.col("venue", "instrument").cast(pl.String))
        if markets is None:
            markets = quotes.select("venue", "instrument").unique(maintain_order=True).rows()
        self.markets = tuple(tuple(m) for m in markets)
        self.params = MappingProxyType(dict(params or {}))
        self.walk_forward = None
        self._instruments = {
            row["symbol"]: Instrument(
                row["symbol"],
                tick_size=Decimal(str(row["tick_size"])),
                lot_size=row["lot_size"],
                unit_face_value=row["unit_face_value"],
            )
            for row in result.instruments.with_columns(pl.col("symbol").cast(pl.String)).to_dicts()
        }
        terms = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency",
                 "day_count")  # fmt: skip
        self._terms = {
            row["symbol"]: {name: row.get(name) for name in terms}
            for row in result.instruments.with_columns(pl.col("symbol").cast(pl.String)).to_dicts()
        }
        self._fees = {
            v["name"]: (Decimal(str(v.get("fees", {}).get("maker_bps", 0))),
                        Decimal(str(v.get("fees", {}).get("taker_bps", 1))))
            for v in scenario["venues"]
        }  # fmt: skip
        self._quotes = _by_market(quotes, self.markets, ("bid", "bid_qty", "ask", "ask_qty"))
        self._values = _valuations(result.fair_values)
        self._snapshots = _snapshots(result.book, self.markets)
        self._recorded_trades = _trades(result.trades, self.markets, self._instruments)
        self._handlers = {name: getattr(strategy, name, None) for name in HANDLERS}
        self._cash = round(cash_rupees * 100)
        self._units = {s: int(q) for s, q in (units or {}).items()}
        self._books: dict[tuple[str, str], Book] = {}
        self._heard = {m: deque(maxlen=TRADES_KEPT) for m in self.markets}
        self._resting: dict[int, _Resting] = {}
        self._ids = itertools.count(1)
        self._events: list = []
        self._sequence = itertools.count()
        self._timer_ns: int | None = None
        self.now = self.calendar.start_ns
        self._requests: list = []
        self._fills: list = []
        self._log: list = []
        self._decisions: list = []
        self._equity: list = []

    # --- the event loop -------------------------------------------------------------------

    def _at(self, t: int, fn: Callable, *args) -> None:
        heapq.heappush(self._events, (t, next(self._sequence), fn, args))

    def run(self) -> ReplayResult:
        cal = self.calendar
        self._at(cal.start_ns, self._call, "on_start")
        for day in range(len(cal.trading_days)):
            self._at(cal.session(day)[1], self._close, day)
        for key, (times, rows) in self._quotes.items():
            for t, row in zip(times.tolist(), rows, strict=True):  # Python ints, as live
                self._at(t + self.latency, self._quote_arrives, key, Quote(t, *row))
                self._at(t, self._cross_resting, key, row)
        for key, snapshots in self._snapshots.items():
            for t, bids, asks in snapshots:
                arrives = t + self.latency
                self._at(arrives, self._book_arrives, key, Book(arrives, bids, asks))
        for key, trades in self._recorded_trades.items():
            for trade in trades:
                self._at(trade.time + self.latency, self._heard[key].append, trade)
        while self._events:
            t, _, fn, args = heapq.heappop(self._events)
            self.now = max(self.now, t)
            fn(*args)
        self._call("on_stop")
        fills = pl.DataFrame(
            self._fills,
            schema=["time", "venue", "instrument", "side", "qty", "price", "fee"],
            orient="row",
        )
        equity = pl.DataFrame(
            self._equity, schema=["day", "time", "cash", "positions_value"], orient="row"
        ).with_columns((pl.col("cash") + pl.col("positions_value")).alias("equity"))
        return ReplayResult(
            tuple(self._requests), fills, tuple(self._log), tuple(self._decisions), equity
        )  # fmt: skip

    def _call(self, name: str, *args) -> None:
        handler = self._handlers[name]
        if handler is not None:
            handler(self, *args)

    def _quote_arrives(self, key, quote: Quote) -> None:
        self._call("on_quote", key[0], key[1], quote)

    def _book_arrives(self, key, book: Book) -> None:
        self._books[key] = book

    def _close(self, day: int) -> None:
        held = sum(q * self._unit_value(s) for s, q in self._units.items() if q)
        self._equity.append((day, self.now, self._cash, held))

    def _wake(self) -> None:
        self._call("on_timer")
        if self._timer_ns:
            self._schedule(self.now + self._timer_ns)

    def _schedule(self, t: int) -> None:
        when = self.calendar.after_gaps(t)
        if when is not None:
            self._at(when, self._wake)

    # --- what the strategy sees -----------------------------------------------------------

    @property
    def day(self) -> int:
        return self.calendar.day_index(max(self.now, self.calendar.start_ns))

    def session(self, day: int) -> tuple[int, int]:
        return self.calendar.session(day)

    def trading_date(self, day: int | None = None) -> date:
        return self.calendar.trading_days[self.day if day is None else day]

    def quote(self, venue: str, symbol: str) -> Quote:
        return self._recorded_quote((venue, symbol), self.now - self.latency)

    def _recorded_quote(self, key, as_of: int) -> Quote:
        times, rows = self._quotes.get(key, ((), ()))
        i = int(np.searchsorted(times, as_of, side="right")) if len(times) else 0
        return Quote(int(times[i - 1]), *rows[i - 1]) if i else Quote(as_of, *_EMPTY)

    def book(self, venue: str, symbol: str) -> Book | None:
        return self._books.get((venue, symbol))

    def trades(self, venue: str, symbol: str) -> tuple[Trade, ...]:
        return tuple(self._heard.get((venue, symbol), ()))

    def valuation(self, symbol: str, liquidity: bool = False) -> Valuation:
        _, clean, accrued, ytm, spread = self._valuation_row(symbol)
        return Valuation(symbol, self.now, clean, accrued, ytm, spread, None, (), None)

    def _valuation_row(self, symbol: str):
        times, rows = self._values[symbol]
        i = int(np.searchsorted(times, self.now, side="right"))
        return (times[i - 1], *rows[i - 1]) if i else (times[0], *rows[0])

    def _unit_value(self, symbol: str) -> int:
        _, clean, accrued, _, _ = self._valuation_row(symbol)
        face = self._instruments[symbol].unit_face_value
        return round(clean * face) + round(accrued * face)

    def forecast(self, symbol: str, horizon_days: int = 7) -> None:
        return None  # its inputs are not recorded (see the module doc)

    def instrument(self, symbol: str) -> Instrument:
        return self._instruments[symbol]

    def terms(self, symbol: str) -> dict:
        return self._terms[symbol]

    def trades_on(self, symbol: str, day: int | None = None) -> bool:
        """Whether the run published a valuation of it on that day (as it does of every bond
        that still trades, at each open)."""
        open_ns, close_ns = self.calendar.session(self.day if day is None else day)
        times = self._values[symbol][0]
        first = int(np.searchsorted(times, open_ns, side="left"))
        return first < len(times) and times[first] < close_ns

    def price_limits(self, venue: str, symbol: str) -> None:
        return None  # bands are not recorded (see the module doc)

    def free_units(self, symbol: str) -> int:
        offered = sum(o.qty for o in self._resting.values() if o.symbol == symbol and o.side < 0)
        return self.position(symbol) - offered

    @property
    def trading_days(self) -> tuple[date, ...]:
        return self.calendar.trading_days

    def position(self, symbol: str) -> int:
        return self._units.get(symbol, 0)

    def positions(self) -> dict[str, int]:
        return {s: q for s, q in self._units.items() if q}

    def cash(self) -> int:
        return self._cash

    def free_cash(self) -> int:
        held = sum(
            o.limit * self._instruments[o.symbol].tick_value * o.qty
            for o in self._resting.values()
            if o.side > 0
        )
        return self._cash - held

    def open_orders(self, venue: str | None = None) -> list[tuple[str, OpenOrder]]:
        return [
            (o.venue, OpenOrder(o.symbol, o.order_id, 0, Side(o.side), o.limit, o.qty, 0, 0))
            for o in self._resting.values()
            if venue is None or o.venue == venue
        ]

    def set_timer(self, interval_ns: int) -> None:
        first = self._timer_ns is None
        self._timer_ns = int(interval_ns)
        if first:
            self._schedule(self.now + self._timer_ns)

    def log(self, message: str, **fields) -> None:
        details = json.dumps(fields, sort_keys=True, default=str) if fields else ""
        self._log.append((self.now, message, details))

    # --- acting ---------------------------------------------------------------------------

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", decision=None, **options):
        request = ("new", venue, symbol, side, qty, price, tif)
        self._requests.append((self.now, request))
        if decision is not None:
            details = json.dumps(decision, sort_keys=True, default=str)
            self._decisions.append((self.now, venue, symbol, details))
        self._at(self.now + self.latency, self._arrive, request)

    def cancel(self, venue: str, symbol: str, order_id: int) -> None:
        request = ("cancel", venue, symbol, order_id)
        self._requests.append((self.now, request))
        self._at(self.now + self.latency, self._arrive_cancel, request)

    def modify(self, venue, symbol, order_id, qty=None, price=None) -> None:
        request = ("modify", venue, symbol, order_id, qty, price)
        self._requests.append((self.now, request))
        self._at(self.now + self.latency, self._arrive_modify, request)

    def plan_route(self, symbol, side, qty, limit=None, policy="cheapest") -> RoutePlan:
        buying = Side.parse(side) is Side.BUY
        views = []
        for venue, s in self.markets:
            if s != symbol:
                continue
            q = self.quote(venue, symbol)
            price, size = (q.ask, q.ask_qty) if buying else (q.bid, q.bid_qty)
            levels = ((price, size),) if price is not None and size else ()
            views.append(VenueView(venue, levels, taker_fee_bps=self._fees[venue][1]))
        instrument = self._instruments[symbol]
        return route(side, qty, views, tick_value=instrument.tick_value, limit=limit,
                     lot_size=instrument.lot_size, policy=policy)  # fmt: skip

    def route(self, symbol, side, qty, limit=None, policy="cheapest", decision=None):
        plan = self.plan_route(symbol, side, qty, limit, policy)
        send_route(self, symbol, side, plan, decision)
        return plan

    def refuse(self, venue, symbol, side, qty, price, tif, reason) -> None:
        request = ("new", venue, symbol, side, qty, price, tif)
        self._answer(request, Response(symbol, 0, Status.REJECTED, reason))

    def refuse_modify(self, venue, symbol, order_id, qty, price, reason) -> None:
        request = ("modify", venue, symbol, order_id, qty, price)
        self._answer(request, Response(symbol, order_id, Status.REJECTED, reason))

    # --- the paper venue ------------------------------------------------------------------

    def _answer(self, request, response: Response) -> None:
        self._call("on_order", request, response)

    def _arrive(self, request) -> None:
        _, venue, symbol, side, qty, price, tif = request
        sign = Side.parse(side)
        if not self.calendar.in_session(self.now):  # too late for the close, as in a run
            self._later(
                self._answer, request, Response(symbol, 0, Status.REJECTED, Reason.MARKET_CLOSED)
            )
            return
        if sign is None or qty <= 0 or qty % self._instruments[symbol].lot_size:
            reason = Reason.BAD_SIDE if sign is None else Reason.BAD_QUANTITY
            self._later(self._answer, request, Response(symbol, 0, Status.REJECTED, reason))
            return
        order = _Resting(venue, symbol, next(self._ids), int(sign), price, qty)
        top = self._recorded_quote((venue, symbol), self.now)
        far, size = (top.ask, top.ask_qty) if sign > 0 else (top.bid, top.bid_qty)
        filled, trades = 0, ()
        if far is not None and (price is None or sign * (price - far) >= 0):
            filled = min(qty, size)
            trades = self._fill(order, filled, far, taker=True)
        left = qty - filled
        if left and price is not None and tif == "GTC":
            order.qty = left
            self._resting[order.order_id] = order
            status = Status.PARTIALLY_FILLED if filled else Status.ACCEPTED
        else:
            status = Status.FILLED if not left else Status.CANCELLED
        reason = Reason.UNFILLED_REMAINDER if status is Status.CANCELLED else Reason.NONE
        answer = Response(symbol, order.order_id, status, reason, filled, trades)
        self._later(self._answer, request, answer)

    def _arrive_cancel(self, request) -> None:
        _, _, symbol, order_id = request
        order = self._resting.pop(order_id, None)
        status, reason = (Status.CANCELLED, Reason.NONE) if order else (
            Status.REJECTED, Reason.UNKNOWN_ORDER)  # fmt: skip
        self._later(self._answer, request, Response(symbol, order_id, status, reason))

    def _arrive_modify(self, request) -> None:
        _, _, symbol, order_id, qty, price = request
        order = self._resting.get(order_id)
        if order is None or (qty is not None and qty <= 0):
            reason = Reason.UNKNOWN_ORDER if order is None else Reason.BAD_QUANTITY
            self._later(self._answer, request, Response(symbol, order_id, Status.REJECTED, reason))
            return
        order.qty = order.qty if qty is None else qty
        order.limit = order.limit if price is None else price
        self._later(self._answer, request, Response(symbol, order_id, Status.ACCEPTED, Reason.NONE))

    def _cross_resting(self, key, row) -> None:
        """A recorded quote change: resting paper orders its far side reaches fill as makers."""
        bid, bid_qty, ask, ask_qty = row
        for order in [o for o in self._resting.values() if (o.venue, o.symbol) == key]:
            far, size = (ask, ask_qty) if order.side > 0 else (bid, bid_qty)
            if far is None or order.side * (order.limit - far) < 0 or not size:
                continue
            qty = min(order.qty, size)
            self._fill(order, qty, order.limit, taker=False)
            order.qty -= qty
            if not order.qty:
                del self._resting[order.order_id]

    def _fill(self, order: _Resting, qty: int, price: int, *, taker: bool) -> tuple[Trade, ...]:
        """A paper fill: the account moves now, the strategy hears it one latency later;
        the trade (none for no quantity)."""
        if not qty:
            return ()
        instrument = self._instruments[order.symbol]
        notional = price * instrument.tick_value * qty
        _, _, accrued, _, _ = self._valuation_row(order.symbol)
        interest = round(accrued * instrument.unit_face_value) * qty
        rate = self._fees[order.venue][1 if taker else 0]
        fee = int(notional * rate / Decimal(10_000))
        self._cash -= order.side * (notional + interest) + fee
        self._units[order.symbol] = self._units.get(order.symbol, 0) + order.side * qty
        self._fills.append((self.now, order.venue, order.symbol, order.side, qty, price, fee))
        trade = Trade(self.now, order.venue, order.symbol, price, qty, 0, order.order_id, 0, 0,
                      Side(order.side), notional, 0, fee, self.now)  # fmt: skip
        self._later(self._call, "on_fill", trade, order.side)
        return (trade,)

    def _later(self, fn, *args) -> None:
        self._at(self.now + self.latency, fn, *args)


def _by_market(frame: pl.DataFrame, markets, columns) -> dict:
    out = {}
    for venue, symbol in markets:
        part = frame.filter((pl.col("venue") == venue) & (pl.col("instrument") == symbol))
        part = part.sort("time", maintain_order=True)
        out[(venue, symbol)] = (part["time"].to_numpy(), part.select(columns).rows())
    return out


def _valuations(fair_values: pl.DataFrame) -> dict:
    frame = fair_values.with_columns(pl.col("instrument").cast(pl.String))
    out = {}
    for (symbol,), part in frame.partition_by("instrument", as_dict=True).items():
        part = part.sort("time", maintain_order=True)
        rows = part.select(
            "fair_clean_price", pl.col("accrued").fill_null(0.0), "fair_yield", "spread_bp"
        ).rows()
        out[symbol] = (part["time"].to_numpy(), rows)
    return out


def _snapshots(book: pl.DataFrame, markets) -> dict:
    frame = book.with_columns(pl.col("venue", "instrument").cast(pl.String))
    out = {}
    for venue, symbol in markets:
        part = frame.filter((pl.col("venue") == venue) & (pl.col("instrument") == symbol))
        snaps = []
        for (t,), levels in (
            part.sort("time", "side", "level")
            .partition_by("time", as_dict=True, maintain_order=True)
            .items()
        ):
            bids = tuple(levels.filter(pl.col("side") == 1).select("price", "qty").rows())
            asks = tuple(levels.filter(pl.col("side") == -1).select("price", "qty").rows())
            snaps.append((t, bids, asks))
        out[(venue, symbol)] = snaps
    return out


def _trades(trades: pl.DataFrame, markets, instruments) -> dict:
    frame = trades.with_columns(pl.col("venue", "instrument").cast(pl.String)).sort("time")
    out = {}
    for venue, symbol in markets:
        value = instruments[symbol].tick_value
        part = frame.filter((pl.col("venue") == venue) & (pl.col("instrument") == symbol))
        out[(venue, symbol)] = [
            Trade(r["time"], venue, symbol, r["price"], r["qty"], r["maker_order_id"],
                  r["taker_order_id"], r["maker_agent"], r["taker_agent"],
                  Side(r["aggressor_side"]), r["price"] * value * r["qty"], 0, 0, 0,
                  r["maker_client"], r["taker_client"], r["accrued"])
            for r in part.to_dicts()
        ]  # fmt: skip
    return out
