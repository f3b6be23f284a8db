"""Smart order routing: how to split one order across the venues that list its instrument.

A pure decision, with no clock and no engine: `route` reads one `VenueView` per venue (its
visible opposite-side levels, taker fee, latency, price band and halt) and answers a
`RoutePlan` of child orders; the strategy context builds the views from the live books and
sends the children. Prices are integer ticks, quantities integer units, fees integer paise,
latency integer ns.

Policies:

- ``"cheapest"`` (the default) walks the levels of every venue merged into one ladder,
  cheapest net of the taker fee first: a buy pays ``price * (1 + fee_bps / 10_000)`` per unit,
  a sell receives ``price * (1 - fee_bps / 10_000)``; equal net prices go to the venue with
  the lower latency, then to the one listed first. It skips halted venues, levels beyond the
  order's limit and levels a venue's band would not let a child order reach (a buy cannot be
  priced above the band's top, a sell below its bottom).
- ``"single"``: the same walk on one venue, the one named (``venue=``) or else the one with
  the best net price at the top: the baseline that routing is measured against.

What the visible depth cannot fill within the limit (the remainder) is not chased past it:

- a limit order's remainder rests at its limit on the venue where depth remains nearest to it
  (the best net price among the levels left beyond the limit or band), since sellers (or
  buyers) are closest to it there; when no depth remains anywhere, on the venue with the best
  net price at the limit (the lowest taker fee). Only venues whose band admits the limit can
  take it; with none, it is unplaced;
- a market order's remainder is unplaced: nothing visible can fill it and it cannot rest.

Each child is one limit order per venue, for the units expected to fill there (plus any
remainder resting there), priced at the worst level it takes (inside the band) or at the
order's limit when part of it rests. The plan's figures assume the books do not move before
the children arrive. Its fees charge each child's expected fills as one trade; a venue
truncates the fee of each trade to whole paise, so split fills pay at most that.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from decimal import Decimal

from sim.market.fees import MICROS, fee
from sim.market.instrument import decimal_value
from sim.market.orders import INT64_MAX, Side, as_int64, side_code_of

POLICIES = ("cheapest", "single")
_BPS = 100  # millionths of notional in one basis point


@dataclass(frozen=True)
class VenueView:
    """What the router sees of one venue for one instrument.

    levels : the visible levels of the side the order would take from (asks for a buy, bids
        for a sell), as (price in ticks, quantity in units), best first.
    taker_fee_bps : the fee the account pays there to take liquidity, in basis points of the
        clean notional (`FeeSchedule.taker_bps`: the same for every tier).
    latency_ns : one-way latency to the venue.
    band : (lowest, highest) price in ticks an order may carry there (`Venue.price_limits`),
        or None when the instrument has no band.
    halted : the venue, or the instrument on it, takes no new orders.
    """

    name: str
    levels: tuple[tuple[int, int], ...]
    taker_fee_bps: Decimal | str | float = Decimal("0")
    latency_ns: int = 0
    band: tuple[int, int] | None = None
    halted: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"venue name must be a non-empty string, got {self.name!r}")
        levels = tuple(
            (
                _positive(price, f"{self.name}: level price"),
                _positive(qty, f"{self.name}: level qty"),
            )
            for price, qty in self.levels
        )
        object.__setattr__(self, "levels", levels)
        bps = decimal_value(self.taker_fee_bps, f"{self.name}: taker_fee_bps")
        if not 0 <= bps < 100 or bps * _BPS != (bps * _BPS).to_integral_value():
            raise ValueError(
                f"{self.name}: taker_fee_bps must be in [0, 100) with at most two decimals, "
                f"got {bps}"
            )
        object.__setattr__(self, "taker_fee_bps", bps)
        latency = as_int64(self.latency_ns)
        if latency is None or latency < 0:
            raise ValueError(f"{self.name}: latency_ns must be a non-negative integer")
        object.__setattr__(self, "latency_ns", latency)
        if self.band is not None:
            low, high = (_positive(edge, f"{self.name}: band edge") for edge in self.band)
            if low > high:
                raise ValueError(f"{self.name}: band {self.band} has its lowest above its highest")
            object.__setattr__(self, "band", (low, high))

    @functools.cached_property  # read for every level of every decision
    def fee_rate(self) -> int:
        """The taker fee in millionths of notional, as `FeeSchedule.rate` gives it."""
        return int(self.taker_fee_bps * _BPS)


@dataclass(frozen=True)
class ChildOrder:
    """One venue's share of a routed order: a limit order for `qty` units at `limit` ticks,
    of which `expected_fill` units meet visible depth at once and the rest rests. Send it
    immediate-or-cancel when it is all expected to fill (so that it does not rest if the book
    moved), good-till-cancelled when part of it is meant to rest."""

    venue: str
    qty: int
    limit: int
    expected_fill: int


@dataclass(frozen=True)
class RoutePlan:
    """A routing decision and the numbers behind it.

    filled : units expected to fill at once from visible depth; `unfilled` the rest of `qty`,
        of which `unplaced` units are sent nowhere (the others rest, see the module's doc).
    average_price, average_price_net : the expected fills' mean price in ticks, before and
        after taker fees (a buy's fees added, a sell's taken off); None when nothing fills.
    fees : paise of taker fees on the expected fills.
    """

    policy: str
    side: Side
    qty: int
    limit: int | None
    children: tuple[ChildOrder, ...]
    filled: int
    unplaced: int
    average_price: float | None
    average_price_net: float | None
    fees: int

    @property
    def unfilled(self) -> int:
        return self.qty - self.filled

    @property
    def split(self) -> bool:
        """Whether the expected fills come from more than one venue."""
        return sum(1 for child in self.children if child.expected_fill) > 1

    def to_row(self) -> dict[str, object]:
        """The decision as one flat row for the results; children as "VENUE:qty@limit", comma
        separated, in the order they were planned."""
        return {
            "policy": self.policy,
            "side": int(self.side),
            "qty": self.qty,
            "limit": self.limit,
            "filled": self.filled,
            "unfilled": self.unfilled,
            "unplaced": self.unplaced,
            "average_price": self.average_price,
            "average_price_net": self.average_price_net,
            "fees": self.fees,
            "split": self.split,
            "children": ",".join(f"{c.venue}:{c.qty}@{c.limit}" for c in self.children),
        }


def route(
    side: object,
    qty: int,
    venues: tuple[VenueView, ...] | list[VenueView],
    *,
    tick_value: int,
    limit: int | None = None,
    lot_size: int = 1,
    policy: str = "cheapest",
    venue: str | None = None,
) -> RoutePlan:
    """Split an order of `qty` units (a whole number of lots) on `side` ("buy"/"sell" or
    +1/-1) across `venues`, within `limit` (ticks; None for a market order). `tick_value` is
    the instrument's paise per tick per unit; `venue` names the one venue of the "single"
    policy (by default the one with the best net price at the top)."""
    side_code = side_code_of(side)
    if side_code == 0:
        raise ValueError(f"side must be 'buy', 'sell', +1 or -1, got {side!r}")
    lot_size = _positive(lot_size, "lot_size")
    tick_value = _positive(tick_value, "tick_value")
    qty = _positive(qty, "qty")
    if qty % lot_size:
        raise ValueError(f"qty {qty} is not a whole number of lots of {lot_size}")
    if limit is not None:
        limit = _positive(limit, "limit")
    if policy not in POLICIES:
        raise ValueError(f"unknown routing policy {policy!r}; the policies are {POLICIES}")
    venues = tuple(venues)
    names = [view.name for view in venues]
    if len(set(names)) != len(names):
        raise ValueError(f"venue names must be unique, got {names}")
    if venue is not None and (policy != "single" or venue not in names):
        raise ValueError(f"venue= names one of {names} for the 'single' policy, got {venue!r}")

    open_venues = [view for view in venues if not view.halted]
    ladder = _ladder(open_venues, side_code, limit, lot_size)
    if policy == "single":
        chosen = _single_venue(venues, venue, ladder, side_code, limit)
        open_venues = [chosen] if chosen is not None and not chosen.halted else []
        ladder = [step for step in ladder if step.view is chosen]

    fills: dict[str, _VenueFills] = {}  # in the order the walk reached the venues
    remaining = qty
    for step in ladder:
        if remaining == 0:
            break
        take = min(remaining, step.qty)
        remaining -= take
        fills.setdefault(step.view.name, _VenueFills(step.view)).add(step, take)

    children = {}
    for name, got in fills.items():
        child_limit = _inside_band(got.view, got.worst_price, side_code)
        children[name] = ChildOrder(name, got.units, child_limit, got.units)
    unplaced = remaining
    if remaining and limit is not None:
        taken = {name: got.units for name, got in fills.items()}
        rest_venue = _rest_venue(open_venues, side_code, limit, taken)
        if rest_venue is not None:
            expected = taken.get(rest_venue.name, 0)
            children[rest_venue.name] = ChildOrder(
                rest_venue.name, expected + remaining, limit, expected
            )
            unplaced = 0

    filled = qty - remaining
    ticks = sum(got.ticks for got in fills.values())
    net_cost = sum(got.net_cost for got in fills.values())
    return RoutePlan(
        policy=policy,
        side=Side(side_code),
        qty=qty,
        limit=limit,
        children=tuple(children.values()),
        filled=filled,
        unplaced=unplaced,
        average_price=ticks / filled if filled else None,
        average_price_net=side_code * net_cost / (filled * MICROS) if filled else None,
        fees=sum(fee(got.ticks * tick_value, got.view.fee_rate) for got in fills.values()),
    )


@dataclass(frozen=True)
class _Step:
    """One visible level the order may take, with its `_unit_cost`."""

    view: VenueView
    price: int
    qty: int
    unit_cost: int


def _ladder(views, side_code: int, limit: int | None, lot_size: int) -> list[_Step]:
    """Every level the order may take on `views`, cheapest net of fees first; equal costs by
    lower latency, then in the order the venues were given. Exact integers, so no rounding
    decides a tie."""
    steps = []
    for rank, view in enumerate(views):
        reach = _reach(view, side_code, limit)
        if reach is None:
            continue
        for price, qty in view.levels:
            # A book's levels are whole lots; odd units beyond them could not be taken alone.
            usable = qty - qty % lot_size
            if usable and (reach - price) * side_code >= 0:
                unit_cost = _unit_cost(view, price, side_code)
                steps.append(
                    (unit_cost, view.latency_ns, rank, _Step(view, price, usable, unit_cost))
                )
    steps.sort(key=operator.itemgetter(0, 1, 2))
    return [step for *_, step in steps]


class _VenueFills:
    """What the walk takes from one venue: units, the worst price reached, the sum of
    price times units (ticks) and of their net costs (as `_Step.unit_cost`)."""

    def __init__(self, view: VenueView) -> None:
        self.view = view
        self.units = self.worst_price = self.ticks = self.net_cost = 0

    def add(self, step: _Step, units: int) -> None:
        self.units += units
        self.worst_price = step.price  # the walk reaches a venue's levels best first
        self.ticks += units * step.price
        self.net_cost += units * step.unit_cost


def _unit_cost(view: VenueView, price: int, side_code: int) -> int:
    """What one unit at `price` costs net of the taker fee, in millionths of a tick, signed so
    that lower is better for either side: a buy pays price + fee, a sell receives price - fee."""
    return side_code * price * (MICROS + side_code * view.fee_rate)


def _reach(view: VenueView, side_code: int, limit: int | None) -> int | None:
    """The worst price a child order on `view` may carry: the order's limit, inside the band;
    None when the band admits no price within the limit."""
    worst = (INT64_MAX if side_code > 0 else 1) if limit is None else limit
    if view.band is None:
        return worst
    low, high = view.band
    if side_code > 0:
        return min(worst, high) if low <= worst else None
    return max(worst, low) if high >= worst else None


def _inside_band(view: VenueView, price: int, side_code: int) -> int:
    """A child's limit for levels taken up to `price`: the band would refuse a buy priced
    below its bottom (a sell above its top), yet such an order still takes those levels."""
    if view.band is None:
        return price
    low, high = view.band
    return max(price, low) if side_code > 0 else min(price, high)


def _single_venue(venues, name, ladder, side_code, limit) -> VenueView | None:
    """The venue the "single" policy sends to: the one named, else the one with the best net
    price at the top, else (no depth anywhere) the best for resting at the limit."""
    if name is not None:
        return next(view for view in venues if view.name == name)
    if ladder:
        return ladder[0].view
    if limit is None:
        return None  # no depth to take and a market order cannot rest: nothing to send
    return _rest_venue([view for view in venues if not view.halted], side_code, limit, {})


def _rest_venue(views, side_code: int, limit: int, taken: dict[str, int]) -> VenueView | None:
    """Where a limit order's remainder rests: among the venues whose band admits `limit`, the
    one with the nearest depth left after the walk (`taken` units from each, in book order),
    best net price first; when none is left, the best net price at the limit itself."""
    candidates = [view for view in views if _reach(view, side_code, limit) == limit]
    if not candidates:
        return None

    def next_unit_cost(view: VenueView) -> int | None:
        left = taken.get(view.name, 0)
        for price, qty in sorted(view.levels, key=lambda level: level[0] * side_code):
            if left < qty:
                return _unit_cost(view, price, side_code)
            left -= qty
        return None

    with_depth = [(cost, view) for view in candidates if (cost := next_unit_cost(view)) is not None]
    if with_depth:
        return min(with_depth, key=lambda pair: (pair[0], pair[1].latency_ns))[1]
    at_limit = [_unit_cost(view, limit, side_code) for view in candidates]
    return min(zip(at_limit, candidates, strict=True), key=lambda p: (p[0], p[1].latency_ns))[1]


def _positive(value: object, what: str) -> int:
    """`value` as a Python int (NumPy integers included: books and sweeps hand them over)."""
    number = as_int64(value)
    if number is None or number <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return number


def taken_levels(side, book, quote) -> tuple[tuple[int, int], ...]:
    """The (price, qty) levels an order on `side` would take at a venue: from its last depth
    snapshot (`book`, with ``bids`` and ``asks``), else from the top of its `quote`."""
    buying = Side.parse(side) is Side.BUY
    if book is not None:
        return tuple(book.asks if buying else book.bids)
    price, qty = (quote.ask, quote.ask_qty) if buying else (quote.bid, quote.bid_qty)
    return ((price, qty),) if price is not None and qty else ()
