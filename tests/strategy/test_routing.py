"""Smart order routing's decision rule: hand-worked splits across venues, and invariants over
random books against an independent linear programme (scipy's HiGHS)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.strategy.routing import ChildOrder, VenueView, route

US = 1_000  # ns
TICK_VALUE = 10  # paise per tick per unit: tick 0.01 on 1,000 rupees of face, as the baseline


def child(venue: str, qty: int, limit: int, expected_fill: int | None = None) -> ChildOrder:
    return ChildOrder(venue, qty, limit, qty if expected_fill is None else expected_fill)


# --- fees, depth, halts, bands, limits, lots ---------------------------------------------------


def test_the_venue_cheaper_net_of_fees_wins_though_its_price_is_worse():
    # A's ask is 3 ticks worse, but B's fee is 4 bp more, 4 ticks at 100.00:
    # A nets 10003 * 1.0001 = 10004.0003 a unit, B 10000 * 1.0005 = 10005.
    a = VenueView("A", ((10003, 50),), taker_fee_bps="1")
    b = VenueView("B", ((10000, 50),), taker_fee_bps="5")
    plan = route("buy", 10, [a, b], tick_value=TICK_VALUE)
    assert plan.children == (child("A", 10, 10003),)
    assert plan.average_price == 10003
    assert plan.average_price_net == pytest.approx(10004.0003, abs=1e-9)
    # 10 units at 10003 ticks of 10 paise: 1,000,300 paise, of which 1 bp is 100.03 paise.
    assert plan.fees == 100
    # Worse by more than the fee difference, it loses: 10005 * 1.0001 = 10006.0005 > 10005.
    worse = VenueView("A", ((10005, 50),), taker_fee_bps="1")
    assert route("buy", 10, [worse, b], tick_value=TICK_VALUE).children == (child("B", 10, 10000),)


def test_a_sell_goes_where_it_receives_most_net_of_fees():
    # A's bid nets 10000 * 0.9995 = 9995 a unit, B's 9998 * 0.9999 = 9997.0002.
    a = VenueView("A", ((10000, 50),), taker_fee_bps="5")
    b = VenueView("B", ((9998, 50),), taker_fee_bps="1")
    plan = route(-1, 20, [a, b], tick_value=TICK_VALUE)
    assert plan.children == (child("B", 20, 9998),)
    assert plan.average_price_net == pytest.approx(9997.0002, abs=1e-9)
    # 20 x 9998 x 10 = 1,999,600 paise; 1 bp is 199.96 paise, truncated.
    assert plan.fees == 199


def test_an_order_splits_when_the_cheapest_venue_lacks_depth():
    a = VenueView("A", ((10000, 100), (10002, 100)), taker_fee_bps="1")
    b = VenueView("B", ((10001, 80),), taker_fee_bps="1")
    plan = route("buy", 250, [a, b], tick_value=TICK_VALUE)
    # 100 at 10000 (A), 80 at 10001 (B), then 70 of A's 10002.
    assert plan.children == (child("A", 170, 10002), child("B", 80, 10001))
    assert plan.split
    assert (plan.filled, plan.unfilled, plan.unplaced) == (250, 0, 0)
    assert plan.average_price == (100 * 10000 + 80 * 10001 + 70 * 10002) / 250  # 10000.88
    # A: 17,001,400 paise, fee 1,700.14; B: 8,000,800 paise, fee 800.08.
    assert plan.fees == 1700 + 800


def test_fees_are_whole_paise_for_each_child():
    a = VenueView("A", ((10003, 200),), taker_fee_bps="1")
    b = VenueView("B", ((10006, 100),), taker_fee_bps="1")
    plan = route("buy", 300, [a, b], tick_value=TICK_VALUE)
    # A: 200 x 10003 x 10 = 20,006,000 paise, fee 2,000.6; B: 10,006,000 paise, fee 1,000.6.
    # Each truncated, as a venue truncates each trade's: 3,000, not the 3,001 of the whole.
    assert plan.fees == 2000 + 1000


def test_equal_net_prices_go_to_the_faster_venue_first():
    slow = VenueView("SLOW", ((10000, 50),), taker_fee_bps="1", latency_ns=400 * US)
    fast = VenueView("FAST", ((10000, 50),), taker_fee_bps="1", latency_ns=200 * US)
    assert route("buy", 30, [slow, fast], tick_value=TICK_VALUE).children == (
        child("FAST", 30, 10000),
    )
    assert route("buy", 70, [slow, fast], tick_value=TICK_VALUE).children == (
        child("FAST", 50, 10000),
        child("SLOW", 20, 10000),
    )


def test_a_halted_venue_gets_nothing():
    halted = VenueView("A", ((9990, 500),), taker_fee_bps="0", halted=True)
    b = VenueView("B", ((10000, 50), (10001, 50)), taker_fee_bps="1")
    plan = route("buy", 80, [halted, b], tick_value=TICK_VALUE, limit=10005)
    assert plan.children == (child("B", 80, 10001),)
    # Nor does the remainder rest there, though its depth is nearest.
    plan = route("buy", 150, [halted, b], tick_value=TICK_VALUE, limit=10005)
    assert plan.children == (child("B", 150, 10005, expected_fill=100),)
    # Sent only to the halted venue, the order goes nowhere.
    plan = route("buy", 80, [halted, b], tick_value=TICK_VALUE, policy="single", venue="A")
    assert (plan.children, plan.filled, plan.unplaced) == ((), 0, 80)


def test_a_band_excludes_the_levels_beyond_it():
    # A buy cannot be priced above 10001 on A, so A's 10002 is out of reach.
    a = VenueView("A", ((10000, 50), (10002, 100)), taker_fee_bps="0", band=(9500, 10001))
    b = VenueView("B", ((10003, 100),), taker_fee_bps="0")
    plan = route("buy", 100, [a, b], tick_value=TICK_VALUE)
    assert plan.children == (child("A", 50, 10000), child("B", 50, 10003))
    # A sell cannot be priced below the band's bottom.
    a = VenueView("A", ((10000, 50), (9498, 100)), taker_fee_bps="0", band=(9500, 10500))
    b = VenueView("B", ((9497, 100),), taker_fee_bps="0")
    assert route("sell", 100, [a, b], tick_value=TICK_VALUE).children == (
        child("A", 50, 10000),
        child("B", 50, 9497),
    )


def test_a_level_better_than_the_band_is_taken_by_an_order_priced_at_its_edge():
    # An ask below the band's bottom (left behind when the band moved up) is a bargain the
    # band does not forbid: only the order's price must be inside it.
    a = VenueView("A", ((9990, 10), (10003, 10)), taker_fee_bps="0", band=(10000, 10500))
    plan = route("buy", 10, [a], tick_value=TICK_VALUE)
    assert plan.children == (child("A", 10, 10000),)
    assert plan.average_price == 9990
    # A limit below the band's bottom cannot be sent there at all.
    plan = route("buy", 10, [a], tick_value=TICK_VALUE, limit=9995)
    assert (plan.children, plan.unplaced) == ((), 10)


def test_the_limit_price_is_respected():
    a = VenueView("A", ((10000, 50), (10005, 50)), taker_fee_bps="0")
    b = VenueView("B", ((10001, 30), (10002, 50)), taker_fee_bps="1")
    plan = route("buy", 100, [a, b], tick_value=TICK_VALUE, limit=10001)
    assert plan.filled == 80
    assert all(c.limit <= 10001 for c in plan.children)
    # The 20 the depth within the limit cannot fill rest at the limit on B, whose depth left
    # (10002, 10003.0002 net) is nearer than A's (10005), though A's fee is lower.
    assert plan.children == (child("A", 50, 10000), child("B", 50, 10001, expected_fill=30))
    # The same for a sell, against bids: B's 9998 nets 9997.0002, nearer than A's 9995.
    a = VenueView("A", ((10000, 50), (9995, 50)), taker_fee_bps="0")
    b = VenueView("B", ((9999, 30), (9998, 50)), taker_fee_bps="1")
    plan = route("sell", 100, [a, b], tick_value=TICK_VALUE, limit=9999)
    assert plan.children == (child("A", 50, 10000), child("B", 50, 9999, expected_fill=30))


def test_an_order_larger_than_all_visible_depth_leaves_its_remainder():
    a = VenueView("A", ((10000, 50),), taker_fee_bps="1")
    b = VenueView("B", ((10001, 50),), taker_fee_bps="0.5")
    # A market order takes all visible depth; the rest cannot rest and is sent nowhere.
    plan = route("buy", 150, [a, b], tick_value=TICK_VALUE)
    assert plan.children == (child("A", 50, 10000), child("B", 50, 10001))
    assert (plan.filled, plan.unfilled, plan.unplaced) == (100, 50, 50)
    # A limit order's rest rests at the limit; with no depth left anywhere, on the venue that
    # is cheapest at the limit net of fees: B (0.5 bp) rather than A (1 bp).
    plan = route("buy", 150, [a, b], tick_value=TICK_VALUE, limit=10002)
    assert plan.children == (child("A", 50, 10000), child("B", 100, 10002, expected_fill=50))
    assert (plan.filled, plan.unfilled, plan.unplaced) == (100, 50, 0)


def test_child_orders_are_whole_lots():
    a = VenueView("A", ((10000, 15),), taker_fee_bps="0")  # one whole lot of 10, and 5 over
    b = VenueView("B", ((10001, 40),), taker_fee_bps="0")
    plan = route("buy", 30, [a, b], tick_value=TICK_VALUE, lot_size=10)
    assert plan.children == (child("A", 10, 10000), child("B", 20, 10001))
    with pytest.raises(ValueError, match="qty 25 is not a whole number of lots of 10"):
        route("buy", 25, [a, b], tick_value=TICK_VALUE, lot_size=10)


# --- the single-venue baseline and the record -------------------------------------------------


def test_single_sends_everything_to_the_best_top_or_the_named_venue():
    a = VenueView("A", ((10003, 20), (10004, 50)), taker_fee_bps="1")
    b = VenueView("B", ((10000, 50),), taker_fee_bps="5")
    # A's top nets 10004.0003 against B's 10005: all of it to A, deeper into A's book.
    plan = route("buy", 40, [a, b], tick_value=TICK_VALUE, policy="single")
    assert plan.children == (child("A", 40, 10004),)
    assert not plan.split
    plan = route("buy", 80, [a, b], tick_value=TICK_VALUE, policy="single", venue="B")
    assert plan.children == (child("B", 50, 10000),)
    assert (plan.filled, plan.unplaced) == (50, 30)


def test_a_plan_is_recorded_as_one_flat_row():
    a = VenueView("A", ((10000, 100), (10002, 100)), taker_fee_bps="1")
    b = VenueView("B", ((10001, 80),), taker_fee_bps="1")
    row = route("buy", 300, [a, b], tick_value=TICK_VALUE, limit=10001).to_row()
    # 100 from A at 10000 and 80 from B at 10001; the other 120 rest on A at the limit.
    assert row == {
        "policy": "cheapest",
        "side": 1,
        "qty": 300,
        "limit": 10001,
        "filled": 180,
        "unfilled": 120,
        "unplaced": 0,
        "average_price": (100 * 10000 + 80 * 10001) / 180,
        "average_price_net": (100 * 10000 + 80 * 10001) * 1.0001 / 180,
        "fees": 1000 + 800,
        "split": True,
        "children": "A:220@10001,B:80@10001",
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"side": "hold"}, "side must be 'buy', 'sell', +1 or -1, got 'hold'"),
        ({"qty": 0}, "qty must be a positive integer, got 0"),
        ({"limit": 100.5}, "limit must be a positive integer, got 100.5"),
        ({"policy": "fastest"}, "unknown routing policy 'fastest'"),
        ({"venue": "C", "policy": "single"}, "venue= names one of ['A', 'B']"),
        ({"venue": "A"}, "for the 'single' policy, got 'A'"),
    ],
)
def test_a_bad_request_is_named(arguments, message):
    views = [VenueView("A", ((10000, 10),)), VenueView("B", ((10000, 10),))]
    request = {"side": "buy", "qty": 10, "tick_value": TICK_VALUE, **arguments}
    with pytest.raises(ValueError) as error:
        route(request.pop("side"), request.pop("qty"), views, **request)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"taker_fee_bps": "0.125"}, "A: taker_fee_bps must be in [0, 100) with at most two"),
        ({"taker_fee_bps": "-1"}, "A: taker_fee_bps must be in [0, 100)"),
        ({"levels": ((10000, 0),)}, "A: level qty must be a positive integer, got 0"),
        ({"band": (10010, 10000)}, "A: band (10010, 10000) has its lowest above its highest"),
        ({"latency_ns": -1}, "A: latency_ns must be a non-negative integer"),
    ],
)
def test_a_bad_venue_view_is_named(fields, message):
    with pytest.raises(ValueError) as error:
        VenueView(**{"name": "A", "levels": (), **fields})
    assert message in str(error.value)


def test_numpy_integers_are_taken_as_ints():
    view = VenueView("A", [(np.int64(10000), np.int64(10))], latency_ns=np.int64(5))
    plan = route("buy", np.int64(10), [view], tick_value=np.int64(10), limit=np.int64(10000))
    assert plan.children == (child("A", 10, 10000),)
    assert type(plan.children[0].qty) is int and view.taker_fee_bps == Decimal(0)


# --- invariants over random books ---------------------------------------------------------------


@st.composite
def orders(draw):
    """A side, a lot, an order and one to three venues' books around 100.00."""
    side = draw(st.sampled_from([1, -1]))
    lot = draw(st.sampled_from([1, 5]))
    views = []
    for index in range(draw(st.integers(1, 3))):
        prices = draw(st.lists(st.integers(9980, 10020), max_size=5, unique=True))
        levels = tuple(
            (price, lot * draw(st.integers(1, 20)))
            for price in sorted(prices, key=lambda p: p * side)  # best first
        )
        band = None
        if draw(st.booleans()):
            low = draw(st.integers(9975, 10010))
            band = (low, low + draw(st.integers(0, 30)))
        views.append(
            VenueView(
                f"V{index}",
                levels,
                taker_fee_bps=Decimal(draw(st.integers(0, 800))) / 100,
                latency_ns=draw(st.integers(0, 3)) * 100 * US,
                band=band,
                halted=draw(st.integers(0, 4)) == 0,
            )
        )
    qty = lot * draw(st.integers(1, 60))
    limit = draw(st.none() | st.integers(9985, 10015))
    return side, lot, qty, limit, views


def reachable(view: VenueView, side: int, limit: int | None, lot: int) -> list[tuple[int, int]]:
    """The whole lots an order may take on a venue, read from the rules: none when halted or
    when the band admits no price within the limit; else the levels no worse than the limit
    and than the band's far edge (the top for a buy, the bottom for a sell)."""
    if view.halted:
        return []
    low, high = view.band or (1, 10**9)
    if side > 0:
        if limit is not None and limit < low:
            return []
        ceiling = high if limit is None else min(limit, high)
        return [(price, qty - qty % lot) for price, qty in view.levels if price <= ceiling]
    if limit is not None and limit > high:
        return []
    floor = low if limit is None else max(limit, low)
    return [(price, qty - qty % lot) for price, qty in view.levels if price >= floor]


def cheapest_cost(views, side: int, limit: int | None, lot: int, units: int) -> float:
    """The least a buy can pay (the most a sell can receive) net of fees for `units`, from a
    linear programme over every reachable level, solved by scipy's HiGHS."""
    from scipy.optimize import linprog

    costs, capacities = [], []
    for view in views:
        rate = float(view.taker_fee_bps) / 10_000
        for price, qty in reachable(view, side, limit, lot):
            costs.append(side * price * (1 + side * rate))
            capacities.append(qty)
    answer = linprog(
        costs,
        A_eq=[np.ones(len(costs))],
        b_eq=[units],
        bounds=[(0, capacity) for capacity in capacities],
        method="highs",
    )
    assert answer.status == 0
    return side * answer.fun


@settings(max_examples=100, deadline=None)
@given(orders())
def test_a_plan_accounts_for_every_unit_within_the_limits(order):
    side, lot, qty, limit, views = order
    plan = route(side, qty, views, tick_value=TICK_VALUE, limit=limit, lot_size=lot)
    by_name = {view.name: view for view in views}
    assert sum(c.qty for c in plan.children) + plan.unplaced == qty
    assert sum(c.expected_fill for c in plan.children) == plan.filled
    assert len({c.venue for c in plan.children}) == len(plan.children)
    for c in plan.children:
        view = by_name[c.venue]
        assert not view.halted
        assert c.qty % lot == 0 and c.expected_fill % lot == 0 and 0 <= c.expected_fill <= c.qty
        assert limit is None or (c.limit - limit) * side <= 0  # no child worse than the limit
        assert view.band is None or view.band[0] <= c.limit <= view.band[1]
    # It fills all it can from what it may reach...
    depth = sum(qty for view in views for _, qty in reachable(view, side, limit, lot))
    assert plan.filled == min(qty, depth)
    # ...at the best net price there is for that quantity.
    if plan.filled:
        best = cheapest_cost(views, side, limit, lot, plan.filled) / plan.filled
        assert plan.average_price_net == pytest.approx(best, rel=1e-12, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(orders())
def test_routing_never_does_worse_net_of_fees_than_the_best_single_venue(order):
    side, lot, qty, limit, views = order
    terms = {"tick_value": TICK_VALUE, "limit": limit, "lot_size": lot}
    single = route(side, qty, views, policy="single", **terms)
    if not single.filled:
        return
    routed = route(side, single.filled, views, **terms)
    assert routed.filled == single.filled
    # Both averages are one exact integer over the same denominator: no tolerance needed.
    assert (routed.average_price_net - single.average_price_net) * side <= 0
