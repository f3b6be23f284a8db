"""A recorded LOBSTER day's order flow played into one venue's book, for the scenario's agents
to trade against: the scenario's ``[replay]`` (`sim.scenario.replay` says how recorded
prices, sizes and files map onto the run).

The replay is a participant of its own (kind "replay", one account), so its orders, trades
and PnL are recorded like any agent's. Its requests reach the venue at their recorded times,
without latency, through the gateway, recording and market data every request goes through
(`Simulation.enter_now`); agents' orders match against replayed ones by the venue's rules.

The replay has no market impact beyond the book: the recorded flow never reacts to agents. A
replayed order that agents traded with is not replaced, later messages about it apply to
what is left of it, and a message about an order that is no longer there changes nothing.

Each message type (LOBSTER's ReadMe; `sim.analytics.lobster` reads the files):

1 submission: a limit order (GTC) at the recorded price and size.
2 cancellation, 4 visible execution: the replayed order shrinks by the size, keeping its
  place, or is cancelled if that is all it has left (an execution's counterparty is not in
  the run: the size just leaves the book).
3 deletion: the replayed order is cancelled, whatever is left of it.
5 hidden execution, 6 cross trade, 7 halt: skipped, and counted: nothing visible changed.

A level-1 day only has messages at the best price of their side (`replay_lobster` in
`sim.analytics.lobster` explains what that hides), so the replay applies the same evidence:
a message at a price shows that the replay's orders at better prices on its side left unseen,
and a submission that the replay's opposite orders it would cross did too. Those are
cancelled first (cancel on cross, counted as stale), so replayed orders never trade with
each other, whatever agents have taken from the book; were one to meet another, the venue's
self-trade prevention would stop it, as all are the replay's. The orders resting before the
file starts are seeded at the first message from the orderbook file's first row, as
`replay_lobster` seeds them, and a message about an order the file never submitted takes
from the seeded order at its side and price.

Time: recorded times (seconds after midnight) are read on the scenario's first trading day.
Messages before its open are applied at the open, in order; those at or after its close are
skipped. At that close the replay cancels what it still has resting: the recorded day is
over, and later sessions trade without it.

Money: the account holds the units of every recorded sell from the start, and is deposited
at the first open the cash every recorded buy would lock then (`Participant.buy_cost`), so
it never runs short and the ledger's conservation holds as for any account.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import numpy as np
import polars as pl

from sim.analytics.lobster import levels_before, read_lobster_messages, read_lobster_quotes
from sim.engine.access import MarketAccess
from sim.engine.latency import FixedLatency
from sim.engine.participant import Participant
from sim.errors import ConfigurationError
from sim.fundamentals.recorded import RecordedFundamental
from sim.market.calendar import TradingCalendar
from sim.market.orders import Status
from sim.market.venue import Venue
from sim.records.store import sha256_file
from sim.scenario.replay import ReplaySpec

NO_MARKET_IMPACT = (
    "The replay has no market impact beyond the book: the recorded orders enter it at their "
    "recorded times whatever agents do, agents trade against them by the venue's rules, and "
    "the recorded flow never reacts (an order agents traded with is not replaced; later "
    "messages about it apply to what is left)."
)
_SUBMISSION, _DELETION, _HALT = 1, 3, 7
_APPLIED = {1: "submission", 2: "cancellation", 3: "deletion", 4: "execution"}
_SKIPPED = {5: "hidden_execution", 6: "cross_trade", 7: "halt"}


@dataclass(frozen=True)
class RecordedDay:
    """A LOBSTER day mapped onto the run, one entry per message in file order, less those at
    or after the first session's close.

    `times`: ns of the run (the open for messages before it); `kinds`, `order_ids` and
    `directions` as recorded; `units`: sizes in the instrument's units; `prices`: as recorded
    (dollars x 10,000), what the level-1 evidence compares; `ticks`: the mapped prices.
    `seeded`: (direction, recorded price, ticks, units) of each order resting before the
    first message. `files`: each replayed file's path and sha256, by field.
    """

    times: list[int]
    kinds: list[int]
    order_ids: list[int]
    directions: list[int]
    units: list[int]
    prices: list[int]
    ticks: list[int]
    seeded: list[tuple[int, int, int, int]]
    messages: int  # in the file
    after_close: int
    price_anchor: int
    reference_ticks: int
    files: dict[str, dict[str, str]]

    def units_sold(self) -> int:
        """Units of every recorded sell, the seeded ones included."""
        submitted = zip(self.kinds, self.directions, self.units, strict=True)
        sold = sum(u for kind, direction, u in submitted if kind == _SUBMISSION and direction < 0)
        return sold + sum(units for direction, _, _, units in self.seeded if direction < 0)


def recorded_day(spec: ReplaySpec, reference_ticks: int, calendar: TradingCalendar) -> RecordedDay:
    """The day a scenario's ``[replay]`` names, mapped onto the run; a file it cannot replay
    raises `ConfigurationError` naming the field."""
    messages = _read("message_file", read_lobster_messages, spec.message_file)
    level = Path(spec.message_file).stem.rsplit("_", 1)[-1]  # the name's pattern is checked
    if level != "1":
        raise ConfigurationError(
            f"replay.message_file: {spec.message_file}: a level-{level} day; replays take level 1"
        )
    if not messages["time"].is_sorted():
        raise ConfigurationError(f"replay.message_file: {spec.message_file}: times go backwards")
    seeded_levels = {}
    if spec.orderbook_file is not None and messages.height:
        quotes = _read(
            "orderbook_file", read_lobster_quotes, spec.message_file, spec.orderbook_file
        )
        seeded_levels = levels_before(messages.row(0), quotes.row(0, named=True))
    anchor = _anchor(spec, messages)

    def to_ticks(prices, directions) -> np.ndarray:
        # buys rounded down and sells up: no replayed order is more aggressive than recorded
        offset = np.asarray(prices, np.int64) - anchor
        per_tick = spec.price_units_per_tick
        rounded = np.where(np.asarray(directions) > 0, offset // per_tick, -(-offset // per_tick))
        return reference_ticks + rounded

    open_ns, close_ns = calendar.session(0)
    kept = messages.with_columns(time=pl.col("time") + calendar.at(0, time(0))).filter(
        pl.col("time") < close_ns
    )
    seeded = [(d, price, qty) for d, levels in seeded_levels.items() for price, qty in levels]
    seeded_ticks = to_ticks([price for _, price, _ in seeded], [d for d, _, _ in seeded])
    return RecordedDay(
        times=kept["time"].clip(lower_bound=open_ns).to_list(),
        kinds=kept["type"].to_list(),
        order_ids=kept["order_id"].to_list(),
        directions=kept["direction"].to_list(),
        units=(kept["size"] * spec.units_per_share).to_list(),
        prices=kept["price"].to_list(),
        ticks=to_ticks(kept["price"], kept["direction"]).tolist(),
        seeded=[
            (direction, price, ticks, qty * spec.units_per_share)
            for (direction, price, qty), ticks in zip(seeded, seeded_ticks.tolist(), strict=True)
        ],
        messages=messages.height,
        after_close=messages.height - kept.height,
        price_anchor=anchor,
        reference_ticks=reference_ticks,
        files={
            name: {"path": path, "sha256": sha256_file(path)}
            for name in ("message_file", "orderbook_file")
            if (path := getattr(spec, name)) is not None
        },
    )


def _anchor(spec: ReplaySpec, messages: pl.DataFrame) -> int:
    """The recorded price that lands on the reference price: the spec's, else the day's first."""
    priced = messages.filter(pl.col("type") != _HALT)["price"]
    return spec.price_anchor or (priced[0] if len(priced) else 1)  # 1: nothing to place


def recorded_fundamental(
    spec: ReplaySpec, reference_ticks: int, tick_size: float, calendar: TradingCalendar
) -> RecordedFundamental:
    """The replayed instrument's value on a replay day (``fundamentals.kind = "replay"``): the
    recorded mid, mapped as the replayed orders are but not rounded to a tick, at each recorded
    time. Needs the orderbook file; raises `ConfigurationError` naming the field."""
    if spec.orderbook_file is None:
        raise ConfigurationError(
            'replay.orderbook_file: fundamentals.kind = "replay" values the day at its '
            "recorded mid, which only the orderbook file has"
        )
    messages = _read("message_file", read_lobster_messages, spec.message_file)
    quotes = _read("orderbook_file", read_lobster_quotes, spec.message_file, spec.orderbook_file)
    two_sided = quotes.drop_nulls(["bid", "ask"])
    if two_sided.is_empty():
        raise ConfigurationError(
            f"replay.orderbook_file: {spec.orderbook_file}: no two-sided quote"
        )
    offset = ((two_sided["bid"] + two_sided["ask"]) / 2 - _anchor(spec, messages)).to_numpy()
    values = (reference_ticks + offset / spec.price_units_per_tick) * tick_size
    times = (two_sided["time"] + calendar.at(0, time(0))).to_list()
    return RecordedFundamental(spec.symbol, times, values.tolist())


def _read(field: str, reader: Callable, *files):
    """`reader(*files)`, its refusal as the scenario's error on `field`."""
    try:
        return reader(*files)
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"replay.{field}: {error}") from error


class Replay(Participant):
    """The recorded day as a participant: it books a wake-up at each recorded time and applies
    that time's messages to its orders in the venue's book (see the module docstring)."""

    kind = "replay"

    def __init__(
        self,
        market: MarketAccess,
        rng: np.random.Generator,
        day: RecordedDay,
        venue: Venue,
        symbol: str,
        enter: Callable,
    ) -> None:
        super().__init__(market, rng, FixedLatency(0))  # it hears nothing back
        self.day = day
        self.venue = venue.name
        self.symbol = symbol
        self._book = venue.book(symbol)  # to see what agents left of its orders
        self._enter = enter  # enter(agent, action, venue, symbol, args): a request now
        self._next = 0  # the next message
        # A LOBSTER id, or (direction, price) for seeded liquidity -> (venue order id,
        # direction, recorded price) of each order it may still have resting.
        self._resting: dict[int | tuple[int, int], tuple[int, int, int]] = {}
        # Per direction: recorded price -> keys resting there, and direction * those prices
        # ascending (the best last), for the level-1 evidence.
        self._keys_at: dict[int, dict[int, list]] = {1: {}, -1: {}}
        self._signed_prices: dict[int, list[int]] = {1: [], -1: []}
        self._submitted: set[int] = set()
        self.counts: Counter[str] = Counter()

    # --- the day -------------------------------------------------------------------------

    def on_start(self) -> None:
        day = self.day
        cash = sum(
            self.buy_cost(self.venue, self.symbol, units, ticks)
            for kind, direction, units, ticks in zip(
                day.kinds, day.directions, day.units, day.ticks, strict=True
            )
            if kind == _SUBMISSION and direction > 0 and ticks > 0
        )
        cash += sum(
            self.buy_cost(self.venue, self.symbol, units, ticks)
            for direction, _, ticks, units in day.seeded
            if direction > 0 and ticks > 0
        )
        if cash:
            self.market.deposit(self, cash)
        if day.times:
            self.wake_at(day.times[0])

    def on_wake(self) -> None:
        day, i = self.day, self._next
        if i == 0:
            for direction, price, ticks, units in day.seeded:
                self._submit((direction, price), direction, price, ticks, units)
                self.counts["seeded_orders"] += 1
        now, times = self.now, day.times
        while i < len(times) and times[i] <= now:
            self._apply(i)
            i += 1
        self._next = i
        if i < len(times):
            self.wake_at(times[i])

    def on_session_close(self, day: int) -> None:
        if day != 0:
            return
        for order_id, _, _ in self._resting.values():
            if self._book.order(order_id).is_open:
                self._cancel(order_id)
                self.counts["cancelled_at_close"] += 1
        self._resting.clear()
        self._keys_at = {1: {}, -1: {}}
        self._signed_prices = {1: [], -1: []}

    def _apply(self, i: int) -> None:
        day = self.day
        kind, price, direction = day.kinds[i], day.prices[i], day.directions[i]
        if kind not in _APPLIED:
            self.counts[_SKIPPED[kind]] += 1
            return
        self.counts[_APPLIED[kind]] += 1
        self._cancel_stale(direction, price)
        order_id = day.order_ids[i]
        if kind == _SUBMISSION:
            self._cancel_stale(-direction, price + direction)
            self._submit(order_id, direction, price, day.ticks[i], day.units[i])
            self._submitted.add(order_id)
            return
        key = order_id if order_id in self._submitted else (direction, price)
        self._take(key, day.units[i], whole=kind == _DELETION and key == order_id)

    # --- its orders ----------------------------------------------------------------------

    def _submit(self, key, direction: int, price: int, ticks: int, units: int) -> None:
        """A limit order; it is remembered under `key` if it rests."""
        order_id = self._book.next_order_id  # the book numbers orders as they reach it
        self.orders_sent += 1
        self._enter(self, "new", self.venue, self.symbol, (direction, units, ticks, "GTC"))
        if self._book.next_order_id == order_id:  # the gateway refused it (a band, say)
            self.counts["refused_orders"] += 1
            return
        state = self._book.order(order_id)
        if state.is_open:
            self._remember(key, order_id, direction, price)
        elif state.status is Status.REJECTED:
            self.counts["refused_orders"] += 1

    def _take(self, key, units: int, whole: bool) -> None:
        """Take `units` (all of it if `whole`) from the order under `key`: it shrinks,
        keeping its place, or is cancelled; what it no longer had is unmatched."""
        entry = self._resting.get(key)
        if entry is None:
            self.counts["unmatched_units"] += units
            return
        order_id = entry[0]
        state = self._book.order(order_id)
        left = state.open_qty if state.is_open else 0  # agents may have taken some
        taken = left if whole else min(units, left)
        if not whole:
            self.counts["unmatched_units"] += units - taken
        if taken < left:
            self._enter(self, "modify", self.venue, self.symbol, (order_id, left - taken, None))
            return
        self._forget(key)
        if left:
            self._cancel(order_id)

    def _cancel_stale(self, direction: int, price: int) -> None:
        """Cancel its orders of one side (`direction`) at prices better than `price`."""
        signed = self._signed_prices[direction]
        while signed and signed[-1] > direction * price:
            for key in self._keys_at[direction].pop(direction * signed.pop()):
                order_id = self._resting.pop(key)[0]
                if self._book.order(order_id).is_open:
                    self._cancel(order_id)
                    self.counts["stale_orders_cancelled"] += 1

    def _cancel(self, order_id: int) -> None:
        self._enter(self, "cancel", self.venue, self.symbol, (order_id,))

    def _remember(self, key, order_id: int, direction: int, price: int) -> None:
        self._resting[key] = (order_id, direction, price)
        keys = self._keys_at[direction].get(price)
        if keys is None:
            self._keys_at[direction][price] = [key]
            insort(self._signed_prices[direction], direction * price)
        else:
            keys.append(key)

    def _forget(self, key) -> None:
        _, direction, price = self._resting.pop(key)
        keys = self._keys_at[direction][price]
        keys.remove(key)
        if not keys:
            del self._keys_at[direction][price]
            signed = self._signed_prices[direction]
            del signed[bisect_left(signed, direction * price)]

    # --- the record ----------------------------------------------------------------------

    def record(self) -> dict:
        """The manifest's account of the replay: its files and their sha256; the recorded
        price that landed on the reference price (ticks); the file's messages, those applied
        and those skipped, by type; the orders seeded; the orders cancelled as stale (the
        level-1 evidence) and at the close; the orders the gateway refused; and the unmatched
        units: those a cancellation, deletion or execution found no replayed order to take
        from (one the file never showed, or one agents had already traded with)."""
        day, counts = self.day, self.counts
        return {
            "venue": self.venue,
            "symbol": self.symbol,
            "files": day.files,
            "price_anchor": day.price_anchor,
            "reference_ticks": day.reference_ticks,
            "messages": day.messages,
            "applied": {name: counts[name] for name in _APPLIED.values()},
            "skipped": {
                **{name: counts[name] for name in _SKIPPED.values()},
                "after_close": day.after_close,
            },
            **{
                name: counts[name]
                for name in (
                    "seeded_orders",
                    "stale_orders_cancelled",
                    "unmatched_units",
                    "refused_orders",
                    "cancelled_at_close",
                )
            },
            "market_impact": NO_MARKET_IMPACT,
        }


def build_replay(
    market: MarketAccess,
    spec: ReplaySpec,
    venue: Venue,
    reference_ticks: int,
    calendar: TradingCalendar,
    seed: np.random.SeedSequence,
    enter: Callable,
) -> Replay:
    """The replay of a scenario's ``[replay]``, its account open and holding the units of every
    recorded sell; raises `ConfigurationError` for a file it cannot replay."""
    day = recorded_day(spec, reference_ticks, calendar)
    replay = Replay(market, np.random.default_rng(seed), day, venue, spec.symbol, enter)
    market.open_account(replay, units={spec.symbol: day.units_sold()})
    return replay
