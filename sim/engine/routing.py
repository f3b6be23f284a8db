"""Requests from agents to venues, and events from venues back to agents.

A request leaves its agent now and reaches the venue after the venue's latency (in trading
time: one that would arrive after the last close is refused as MARKET_CLOSED). The venue's
answer, the agent's fills and the market data it subscribed to come back after the agent's
own inbound latency, and only to agents that listen (override the hook): scheduling events
nobody hears would only cost time. Every request is recorded as one row of orders.parquet,
every trade as one row of trades.parquet, every level-1 change as one row of quotes.parquet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from sim.engine.clock import Clock
from sim.engine.market_data import MarketData
from sim.engine.participant import Participant
from sim.market.messages import Codes, Response
from sim.market.orders import INT64_MAX, Reason, Status, as_int64, side_code_of
from sim.market.venue import Venue
from sim.records.recorder import Recorder

CHANNELS = ("l1", "l2", "trades")  # market data an agent can subscribe to


class NewOrderRequest(NamedTuple):
    """A new order as its agent sent it (what `on_response` and `record_refusal` take)."""

    action: str  # "new"
    venue: str
    symbol: str
    side: object
    qty: object
    price: object
    tif: object


class CancelRequest(NamedTuple):
    action: str  # "cancel"
    venue: str
    symbol: str
    order_id: object


class ModifyRequest(NamedTuple):
    action: str  # "modify"
    venue: str
    symbol: str
    order_id: object
    qty: object
    price: object


Request = NewOrderRequest | CancelRequest | ModifyRequest
_REQUESTS = {"new": NewOrderRequest, "cancel": CancelRequest, "modify": ModifyRequest}
_new_request = tuple.__new__  # NamedTuple's generated __new__ is slow for the hot path


class Router:
    """Routes requests and delivers events for one run. `trading_time` moves a time past
    overnight gaps (None after the last close); `agents` lists the run's agents once they are
    built; `events` counts what happened."""

    def __init__(
        self,
        *,
        clock: Clock,
        trading_time: Callable[[int], int | None],
        end_ns: int,
        venues: dict[str, Venue],
        venue_latency: dict,
        recorder: Recorder,
        market_data: MarketData,
        agents: Callable[[], list],
        events: dict[str, int],
    ) -> None:
        self.clock = clock
        self.trading_time = trading_time
        self.end_ns = end_ns
        self.venues = venues
        self.venue_latency = venue_latency
        self.recorder = recorder
        self.market_data = market_data
        self.agents = agents
        self.events = events
        # (venue, symbol, channel) -> agents; channels are "l1", "l2" and "trades".
        self.subscribers: dict[tuple[str, str, str], list] = {}

    @functools.cached_property
    def _agents_by_account(self) -> dict:
        return {agent.account: agent for agent in self.agents()}

    # --- requests ------------------------------------------------------------------------

    def send(self, agent, action: str, venue: str, symbol: str, args: tuple, options: dict):
        """A request leaves the agent now and reaches the venue after its latency."""
        clock = self.clock
        arrival = self.trading_time(clock.now + self.venue_latency[venue].sample(agent.draws))
        if arrival is not None:
            clock.call_at(arrival, self._arrive, agent, action, venue, symbol, args, options)
        else:
            request = _new_request(_REQUESTS[action], (action, venue, symbol, *args))
            self._too_late(agent, request, options.get("client", 0))

    def _too_late(self, agent, request: Request, client: int) -> None:
        """A request that would reach its venue after the last close: recorded as refused and,
        if it was sent before that close, answered, so that the agent's books close. (What
        agents send after the close, in reply to such answers, is recorded only: a run ends.)"""
        self.record_refusal(agent, request, Reason.MARKET_CLOSED, client)
        if self.clock.now <= self.end_ns:
            order_id = 0 if request.action == "new" else request.order_id
            answer = Response(request.symbol, order_id, Status.REJECTED, Reason.MARKET_CLOSED)
            self.deliver(agent, "on_response", request, answer._replace(client=client))

    def _arrive(self, agent, action, venue_name, symbol, args, options):
        self.events["requests"] += 1
        venue = self.venues[venue_name]
        now = self.clock.now
        account = agent.account
        if action == "new":
            side, qty, price, tif = args
            codes = venue.new_order(account, symbol, side, qty, price, tif, now=now, **options)
            order_type = _order_type(price, tif, options.get("stop_price"))
            # +1/-1 as agents send them, without a call; anything else is parsed
            plain = type(side) is int and (side == 1 or side == -1)
            side_code = side if plain else side_code_of(side)
        elif action == "cancel":
            codes = venue.cancel_order(account, symbol, args[0], now=now)
            order_type, side_code, qty, price, tif = "cancel", 0, None, None, None
        else:
            order_id, qty, price = args
            codes = venue.modify_order(account, symbol, order_id, qty, price, now=now)
            order_type, side_code, tif = "modify", 0, None
        self._record_order(
            now, account, codes.order_id, venue_name, symbol, side_code, order_type, tif, price,
            qty, _STATUS_NAMES[codes.status], codes.reason, codes.client,
        )  # fmt: skip
        if codes.n_fills:
            self._record_trades(venue, symbol, codes.n_fills, now)
        self.publish(venue, symbol)
        if listens(type(agent), "on_response"):  # most do not: no answer is built for them
            request = _new_request(_REQUESTS[action], (action, venue_name, symbol, *args))
            self.deliver(agent, "on_response", request, venue.answer(symbol, codes))
        return codes

    def arrive_now(
        self, agent, action: str, venue: str, symbol: str, args: tuple, options: dict | None = None
    ) -> Codes:
        """A request of `agent` that reaches `venue` now, without latency (a recorded stream's
        order at its recorded time, a service client's request): processed, recorded,
        published and answered as any. Its codes (`Venue.answer` makes them a `Response`)."""
        return self._arrive(agent, action, venue, symbol, args, options or {})

    def cancel_for(self, agent, venue: str, symbol: str, order_id: int) -> None:
        """The venue cancels an agent's open order on its behalf (its cover fell short of a new
        session's accrued interest): processed and recorded now, and answered to the agent as
        its own cancel would be."""
        self._arrive(agent, "cancel", venue, symbol, (order_id,), {})

    def record_refusal(self, agent, request: Request | tuple, reason, client: int = 0) -> None:
        """A request an agent's own controls stopped before it was sent (a guardrail, a
        broker's check of its client): recorded with its reason like any refused request.
        `request` is a `NewOrderRequest` (recorded with no order id), a `CancelRequest` or a
        `ModifyRequest`, or a plain tuple laid out as one."""
        if request[0] == "modify":
            _, venue, symbol, order_id, qty, price = request
            row = (order_id, venue, symbol, 0, "modify", None, price, qty)
        elif request[0] == "cancel":
            _, venue, symbol, order_id = request
            row = (order_id, venue, symbol, 0, "cancel", None, None, None)
        else:
            _, venue, symbol, side, qty, price, tif = request
            side_code, order_type = side_code_of(side), _order_type(price, tif, None)
            row = (0, venue, symbol, side_code, order_type, tif, price, qty)
        self._record_order(self.clock.now, agent.account, *row, "rejected", reason, client)

    def _record_order(
        self, now, account, order_id, venue, symbol, side_code, order_type, tif, price, qty,
        status: str, reason, client: int,
    ) -> None:  # fmt: skip
        """One row of orders.parquet; values that are not int64 (a bad request's) are null."""
        self.recorder.order(
            now, order_id, account, venue, symbol, side_code, order_type, tif,
            _int64_or_none(price), _int64_or_none(qty), status, _REASON_NAMES[reason], client,
        )  # fmt: skip

    def _record_trades(self, venue: Venue, symbol: str, n: int, now: int) -> None:
        """The venue's last request's `n` trades: recorded, counted to both agents, and told
        to those that listen (a `Trade` is built only for them)."""
        agents = self._agents_by_account
        subscribers = self.subscribers.get((venue.name, symbol, "trades"), ())
        for row in venue.trade_rows(n):
            # a TradeRow, unpacked: cheaper than its fields one by one
            (price, qty, maker_id, taker_id, maker_account, taker_account, aggressor, _,
             maker_fee, taker_fee, maker_client, taker_client, accrued) = row  # fmt: skip
            self.events["trades"] += 1
            self.recorder.trade(
                now, venue.name, symbol, price, qty, maker_id, taker_id, maker_account,
                taker_account, aggressor, maker_client, taker_client, accrued, maker_fee,
                taker_fee,
            )  # fmt: skip
            maker, taker = agents[maker_account], agents[taker_account]
            maker.fills += 1
            maker.fees_paid += maker_fee
            taker.fills += 1
            taker.fees_paid += taker_fee
            maker_hears = listens(type(maker), "on_fill")
            taker_hears = listens(type(taker), "on_fill")
            if maker_hears or taker_hears or subscribers:
                trade = venue.trade(symbol, row)
                if maker_hears:
                    self.deliver(maker, "on_fill", trade, -aggressor)
                if taker_hears:
                    self.deliver(taker, "on_fill", trade, aggressor)
                for agent in subscribers:
                    self.deliver(agent, "on_trade", trade)

    # --- events to agents ----------------------------------------------------------------

    def deliver(self, agent, hook: str, *args) -> None:
        """An event reaches the agent after its inbound latency, if the agent listens for it."""
        if not listens(type(agent), hook):
            return
        self.events["deliveries"] += 1
        clock = self.clock
        clock.call_at(clock.now + agent.latency.sample(agent.draws), getattr(agent, hook), *args)

    def subscribe(self, agent, venue: str, symbol: str, channel: str = "l1") -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown market-data channel {channel!r}; expected one of {CHANNELS}")
        self.subscribers.setdefault((venue, symbol, channel), []).append(agent)

    def publish(self, venue: Venue, symbol: str) -> None:
        """A book's level 1 after a request: recorded and told to its subscribers if it
        changed."""
        level1 = venue.level1(symbol)
        if level1 is None:  # not listed there: a refused request, no book to show
            return
        now = self.clock.now
        quote = self.market_data.publish(venue.name, symbol, now, level1)
        if quote is None:
            return
        self.events["quotes"] += 1
        self.recorder.quote(now, venue.name, symbol, *level1)
        for agent in self.subscribers.get((venue.name, symbol, "l1"), ()):
            self.deliver(agent, "on_quote", venue.name, symbol, quote)

    def publish_depth(self, venue: Venue, symbol: str, depth: int) -> None:
        """A book's depth snapshot: recorded and told to its "l2" subscribers."""
        bids, asks = venue.book(symbol).depth(depth)
        self.recorder.book(self.clock.now, venue.name, symbol, bids, asks)
        for agent in self.subscribers.get((venue.name, symbol, "l2"), ()):
            self.deliver(agent, "on_book", venue.name, symbol, bids, asks)


@functools.cache
def listens(cls: type, hook: str) -> bool:
    """Whether a participant class overrides `hook` (and so hears its events)."""
    return getattr(cls, hook) is not getattr(Participant, hook)


_STATUS_NAMES = {status: status.name.lower() for status in Status}
_REASON_NAMES = {reason: reason.name.lower() for reason in Reason}
_TIF_TYPES = {"IOC": "ioc", "FOK": "fok"}


def _int64_or_none(value) -> int | None:
    if type(value) is int and -INT64_MAX <= value <= INT64_MAX:
        return value
    return None if value is None else as_int64(value)  # None: a cancel's, cheaply


def _order_type(price, tif, stop_price) -> str:
    if stop_price is not None:
        return "stop" if price is None else "stop_limit"
    if price is None and tif == "GTC":
        return "market"
    return _TIF_TYPES.get(tif, "limit")
