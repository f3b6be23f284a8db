"""numba kernels of the limit order book. `sim.market.book.OrderBook` is the Python face of these.

State lives in plain NumPy arrays so that every kernel compiles once and is cached on disk:

- ``orders``: a packed record array (`ORDER_DTYPE`), one row per order id. Ids are 1, 2, 3, ...;
  row 0 is unused so that 0 can mean "no order" in the linked lists.
- ``levels[s, i, L_*]``: the price levels of side ``s`` (0 bids, 1 asks), sorted by key
  ascending with the best level last. The key is the price for bids and minus the price for
  asks, so the best level is always at ``n - 1``: cheap to reach, to add and to drop.
  Each level holds a FIFO doubly linked list of its orders (time priority).
- ``stops``: ids of pending stop orders, in id (submission) order.
- ``meta``: scalars (next id, last trade price, halt flag, self-trade mode, tick, lot, counts).
- ``fills`` / ``cancels``: output rows of the current call.

The kernels never reallocate. Before each request they check that the arrays can absorb its
worst case (see `_has_room`) and otherwise return at once, untouched, so that the facade can
grow the arrays and call again. Reallocating inside the message loop would make numba keep
reference counts on every iteration, which costs more than the matching itself.

Matching rules, which the reference book of the tests restates independently:

- strict price-time priority; a trade prints at the resting order's price;
- self-trade prevention applies when the incoming order meets a resting order of its own owner;
- an iceberg whose visible part is filled refills from its reserve and goes to the back of its
  level's queue; an incoming iceberg takes liquidity with its whole quantity;
- stop orders are checked only after a request has been fully processed: repeatedly, the
  lowest-id pending stop whose condition holds at the last trade price (buy: last >= stop,
  sell: last <= stop) is entered as a new order of its type, with a new time priority.
"""

import numpy as np
from numba import njit

# The record layout and every code live in this module on purpose: numba freezes globals into
# its on-disk cache and checks only this file for changes, so a code kept in another module
# could change under a stale cache.

ORDER_DTYPE = np.dtype(
    [
        ("price", "i8"),  # limit price; 0 for no limit
        ("qty", "i8"),  # visible quantity when resting; the whole remainder while matching
        ("hidden", "i8"),  # iceberg reserve
        ("display", "i8"),  # iceberg slice size; 0 for a plain order
        ("stop", "i8"),  # stop price; 0 for none
        ("owner", "i8"),
        ("filled", "i8"),
        ("prev", "i4"),  # linked list within a price level; ids stay below 2**31
        ("next", "i4"),
        ("side", "i1"),
        ("status", "i1"),
        ("reason", "i1"),
        ("type", "i1"),
        ("flags", "i1"),
    ]
)

# levels[side, i, field]
L_KEY = 0
L_QTY = 1  # visible quantity
L_HEAD = 2
L_TAIL = 3
L_COUNT = 4
N_LEVEL_FIELDS = 5

# meta[field]
M_NEXT_ID = 0
M_LAST_PRICE = 1
M_HALTED = 2
M_STP = 3
M_TICK = 4
M_LOT = 5
M_NLEV = 6  # M_NLEV + 0: bid levels, M_NLEV + 1: ask levels
M_NSTOPS = 8
M_NFILLS = 9
M_NCANCELS = 10
M_SLICES = 11  # visible slices in the book, iceberg refills to come included
M_STOP_QTY = 12  # total quantity of pending stops
M_STOP_SLICES = 13  # slices pending stops could add if triggered
M_NEED_FILLS = 14  # rows the fills buffer needs for the request a kernel declined
M_NEED_CANCELS = 15
N_META = 16

# fills[k, field]
F_MAKER = 0
F_TAKER = 1
F_MAKER_OWNER = 2
F_TAKER_OWNER = 3
F_PRICE = 4
F_QTY = 5
N_FILL_FIELDS = 6

# codes shared with sim.market.orders
T_LIMIT, T_MARKET, T_IOC, T_FOK = 0, 1, 2, 3
S_ACCEPTED, S_PARTIAL, S_FILLED, S_CANCELLED, S_REJECTED = 0, 1, 2, 3, 4
R_NONE = 0
R_BAD_QUANTITY = 1
R_BAD_PRICE = 2
R_UNKNOWN_ORDER = 3
R_POST_ONLY = 4
R_FOK = 5
R_HALTED = 6
R_SELF_TRADE = 7
R_REMAINDER = 8
R_BAD_SIDE = 9
R_BAD_TYPE = 10
R_BAD_DISPLAY = 11
R_BAD_STOP = 12
R_NOT_MODIFIABLE = 13
R_BY_OWNER = 14
R_BAD_OWNER = 15
STP_CANCEL_NEWEST, STP_CANCEL_OLDEST, STP_CANCEL_BOTH = 0, 1, 2
FLAG_POST_ONLY = 1
FLAG_STOP_PENDING = 2
A_NEW, A_CANCEL = 0, 1
NEED_ROOM = -1  # returned instead of an order id / reason when the arrays must grow first
MAX_VALUE = 2**53  # largest price or quantity accepted, so that sums of them never overflow
MAX_ORDERS = 2**31 - 1  # order ids must fit the int32 queue links
BAD_OWNER = -(2**63)  # what the facade passes for an owner that is not an int64


def new_state(capacity, tick, lot, stp):
    orders = np.zeros(capacity + 1, ORDER_DTYPE)
    levels = np.zeros((2, 64, N_LEVEL_FIELDS), np.int64)
    stops = np.zeros(16, np.int64)
    meta = np.zeros(N_META, np.int64)
    meta[M_NEXT_ID] = 1
    meta[M_TICK] = tick
    meta[M_LOT] = lot
    meta[M_STP] = stp
    fills = np.zeros((256, N_FILL_FIELDS), np.int64)
    cancels = np.zeros((16, 3), np.int64)
    return orders, levels, stops, meta, fills, cancels


# --- room ----------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _ceil_div(a, b):
    return -(-a // b)


@njit(cache=True, inline="always")
def _potential_slices(qty, display):
    """Fills an order can take part in beyond the book's current slices: ending as a taker,
    plus every slice it could show if it rests."""
    return 2 + (_ceil_div(qty, display) if display > 0 else 1)


@njit(cache=True, inline="always")
def _has_room(orders, levels, stops, meta, fills, cancels, qty, display):
    """Whether the arrays can take one more request of `qty` whatever it triggers.

    Every fill ends a maker's slice or a taker's remainder, and takes at least one unit from
    a taker, so the fills of a request are bounded both by the slices in play and by the
    quantity of its takers (the request and the pending stops).
    """
    if meta[M_NEXT_ID] >= orders.shape[0] or meta[M_NSTOPS] >= stops.shape[0]:
        return False
    if max(meta[M_NLEV], meta[M_NLEV + 1]) + 1 + meta[M_NSTOPS] > levels.shape[1]:
        return False
    qty = min(max(qty, 0), MAX_VALUE)
    display = min(max(display, 0), MAX_VALUE)
    by_qty = qty + meta[M_STOP_QTY]
    by_slices = meta[M_SLICES] + meta[M_STOP_SLICES] + _potential_slices(qty, display)
    need_fills = meta[M_NFILLS] + min(by_qty, by_slices)
    resting = meta[M_SLICES] if meta[M_STP] == STP_CANCEL_OLDEST else meta[M_NSTOPS] + 1
    need_cancels = meta[M_NCANCELS] + resting + meta[M_NSTOPS] + 1
    meta[M_NEED_FILLS] = need_fills
    meta[M_NEED_CANCELS] = need_cancels
    return need_fills <= fills.shape[0] and need_cancels <= cancels.shape[0]


@njit(cache=True, inline="always")
def _emit_fill(fills, meta, maker, taker, maker_owner, taker_owner, price, qty):
    k = meta[M_NFILLS]
    fills[k, F_MAKER] = maker
    fills[k, F_TAKER] = taker
    fills[k, F_MAKER_OWNER] = maker_owner
    fills[k, F_TAKER_OWNER] = taker_owner
    fills[k, F_PRICE] = price
    fills[k, F_QTY] = qty
    meta[M_NFILLS] = k + 1


@njit(cache=True)
def _emit_cancel(cancels, meta, oid, qty, reason):
    k = meta[M_NCANCELS]
    cancels[k, 0] = oid
    cancels[k, 1] = qty
    cancels[k, 2] = reason
    meta[M_NCANCELS] = k + 1


# --- price levels --------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _side_index(side):
    return 0 if side == 1 else 1


@njit(cache=True, inline="always")
def _lower_bound(levels, s, n, key):
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if levels[s, mid, L_KEY] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _find_level(orders, levels, meta, oid):
    o = orders[oid]
    s = _side_index(o.side)
    key = o.price if o.side == 1 else -o.price
    return s, _lower_bound(levels, s, meta[M_NLEV + s], key)


@njit(cache=True, inline="always")
def _append(orders, levels, meta, oid):
    """Put a resting order at the back of its price level's queue."""
    o = orders[oid]
    s, i = _find_level(orders, levels, meta, oid)
    key = o.price if o.side == 1 else -o.price
    n = meta[M_NLEV + s]
    if i == n or levels[s, i, L_KEY] != key:
        for j in range(n, i, -1):
            for f in range(N_LEVEL_FIELDS):
                levels[s, j, f] = levels[s, j - 1, f]
        levels[s, i, L_KEY] = key
        levels[s, i, L_QTY] = 0
        levels[s, i, L_HEAD] = 0
        levels[s, i, L_TAIL] = 0
        levels[s, i, L_COUNT] = 0
        meta[M_NLEV + s] = n + 1
    tail = levels[s, i, L_TAIL]
    o.prev = tail
    o.next = 0
    if tail == 0:
        levels[s, i, L_HEAD] = oid
    else:
        orders[tail].next = oid
    levels[s, i, L_TAIL] = oid
    levels[s, i, L_QTY] += o.qty
    levels[s, i, L_COUNT] += 1


@njit(cache=True, inline="always")
def _unlink(orders, levels, meta, s, i, oid):
    """Take a resting order out of level i of side s, dropping the level when it empties."""
    o = orders[oid]
    if o.prev == 0:
        levels[s, i, L_HEAD] = o.next
    else:
        orders[o.prev].next = o.next
    if o.next == 0:
        levels[s, i, L_TAIL] = o.prev
    else:
        orders[o.next].prev = o.prev
    o.prev = 0
    o.next = 0
    levels[s, i, L_QTY] -= o.qty
    levels[s, i, L_COUNT] -= 1
    if levels[s, i, L_COUNT] == 0:
        n = meta[M_NLEV + s]
        for j in range(i, n - 1):
            for f in range(N_LEVEL_FIELDS):
                levels[s, j, f] = levels[s, j + 1, f]
        meta[M_NLEV + s] = n - 1


@njit(cache=True, inline="always")
def _resting_slices(orders, oid):
    o = orders[oid]
    return 1 + (_ceil_div(o.hidden, o.display) if o.hidden > 0 else 0)


@njit(cache=True, inline="always")
def _take_out(orders, levels, meta, oid):
    """Remove a resting order from the book; it keeps its quantities for the caller."""
    meta[M_SLICES] -= _resting_slices(orders, oid)
    s, i = _find_level(orders, levels, meta, oid)
    _unlink(orders, levels, meta, s, i, oid)


@njit(cache=True)
def _add_stop(orders, stops, meta, oid):
    o = orders[oid]
    stops[meta[M_NSTOPS]] = oid
    meta[M_NSTOPS] += 1
    meta[M_STOP_QTY] += o.qty
    meta[M_STOP_SLICES] += _potential_slices(o.qty, o.display)
    o.flags |= FLAG_STOP_PENDING


@njit(cache=True)
def _remove_stop(orders, stops, meta, oid):
    n = meta[M_NSTOPS]
    j = 0
    while stops[j] != oid:
        j += 1
    for k in range(j, n - 1):
        stops[k] = stops[k + 1]
    meta[M_NSTOPS] = n - 1
    o = orders[oid]
    meta[M_STOP_QTY] -= o.qty
    meta[M_STOP_SLICES] -= _potential_slices(o.qty, o.display)
    o.flags &= ~FLAG_STOP_PENDING


@njit(cache=True, inline="always")
def _crosses(levels, meta, side, price):
    """Whether a limit order at `price` would meet the opposite side's best level."""
    s = 1 if side == 1 else 0
    n = meta[M_NLEV + s]
    if n == 0:
        return False
    best = -levels[s, n - 1, L_KEY] if s == 1 else levels[s, n - 1, L_KEY]
    return best <= price if side == 1 else best >= price


@njit(cache=True, inline="always")
def _price_ok(side, limit, price):
    if limit == 0:
        return True
    return price <= limit if side == 1 else price >= limit


# --- matching ------------------------------------------------------------------------------


@njit(cache=True)
def _cancel_resting(orders, levels, meta, cancels, oid, reason):
    o = orders[oid]
    qty = o.qty + o.hidden
    _take_out(orders, levels, meta, oid)
    o.qty = 0
    o.hidden = 0
    o.status = S_CANCELLED
    o.reason = reason
    _emit_cancel(cancels, meta, oid, qty, reason)


@njit(cache=True)
def _fok_fillable(orders, levels, meta, oid):
    """Whether matching would fill the whole order, without touching the book.

    Self-trade prevention decides what a level can give: with cancel-oldest the owner's own
    orders are skipped; otherwise matching stops at the first of them, and only the visible
    quantity ahead of it counts (refilled icebergs would queue behind it).
    """
    o = orders[oid]
    skip_self = meta[M_STP] == STP_CANCEL_OLDEST
    s = 1 if o.side == 1 else 0
    got = 0
    for i in range(meta[M_NLEV + s] - 1, -1, -1):
        key = levels[s, i, L_KEY]
        if not _price_ok(o.side, o.price, key if s == 0 else -key):
            break
        m = levels[s, i, L_HEAD]
        visible = 0
        hidden = 0
        while m != 0:
            maker = orders[m]
            if maker.owner == o.owner:
                if not skip_self:
                    return got + visible >= o.qty
            else:
                visible += maker.qty
                hidden += maker.hidden
            m = maker.next
        got += visible + hidden
        if got >= o.qty:
            return True
    return got >= o.qty


@njit(cache=True, inline="always")
def _match(orders, levels, meta, fills, cancels, oid):
    """Match an incoming order against the opposite side; True if self-trade stopped it."""
    o = orders[oid]
    stp = meta[M_STP]
    s = 1 if o.side == 1 else 0
    while o.qty > 0:
        n = meta[M_NLEV + s]
        if n == 0:
            break
        i = n - 1
        key = levels[s, i, L_KEY]
        price = key if s == 0 else -key
        if not _price_ok(o.side, o.price, price):
            break
        m = levels[s, i, L_HEAD]
        maker = orders[m]
        if maker.owner == o.owner:
            if stp != STP_CANCEL_NEWEST:
                _cancel_resting(orders, levels, meta, cancels, m, R_SELF_TRADE)
            if stp != STP_CANCEL_OLDEST:
                return True
            continue
        q = min(o.qty, maker.qty)
        _emit_fill(fills, meta, m, oid, maker.owner, o.owner, price, q)
        o.qty -= q
        o.filled += q
        maker.qty -= q
        maker.filled += q
        levels[s, i, L_QTY] -= q
        meta[M_LAST_PRICE] = price
        if maker.qty > 0:
            maker.status = S_PARTIAL
            continue
        meta[M_SLICES] -= 1
        if maker.hidden > 0:
            # Iceberg refill: a new visible slice at the back of the queue.
            maker.status = S_PARTIAL
            _unlink(orders, levels, meta, s, i, m)
            refill = min(maker.display, maker.hidden)
            maker.hidden -= refill
            maker.qty = refill
            _append(orders, levels, meta, m)
        else:
            maker.status = S_FILLED
            _unlink(orders, levels, meta, s, i, m)
    return False


@njit(cache=True, inline="always")
def _process(orders, levels, meta, fills, cancels, oid, triggered):
    """Run an incoming (or re-entered, or triggered) order through matching and rest it.

    A triggered stop is a side effect of someone else's request, so when it ends cancelled
    that is reported in `cancels`; the request's own order reports through its outcome.
    """
    o = orders[oid]
    if o.type == T_FOK and not _fok_fillable(orders, levels, meta, oid):
        qty = o.qty
        o.qty = 0
        o.reason = R_FOK
        if triggered:
            o.status = S_CANCELLED
            _emit_cancel(cancels, meta, oid, qty, R_FOK)
        else:
            o.status = S_REJECTED
        return
    stp_hit = _match(orders, levels, meta, fills, cancels, oid)
    remaining = o.qty
    if remaining == 0:
        o.status = S_FILLED
        o.reason = R_NONE
        return
    if o.type == T_LIMIT and not stp_hit:
        if 0 < o.display < remaining:
            o.qty = o.display
            o.hidden = remaining - o.display
        o.status = S_PARTIAL if o.filled > 0 else S_ACCEPTED
        o.reason = R_NONE
        _append(orders, levels, meta, oid)
        meta[M_SLICES] += _resting_slices(orders, oid)
        return
    reason = R_SELF_TRADE if stp_hit else R_REMAINDER
    o.qty = 0
    o.status = S_CANCELLED
    o.reason = reason
    if triggered:
        _emit_cancel(cancels, meta, oid, remaining, reason)


@njit(cache=True, inline="always")
def _stop_triggered(orders, oid, last):
    if last == 0:
        return False
    o = orders[oid]
    return last >= o.stop if o.side == 1 else last <= o.stop


@njit(cache=True, inline="always")
def _trigger_stops(orders, levels, stops, meta, fills, cancels):
    while meta[M_NSTOPS] > 0:
        last = meta[M_LAST_PRICE]
        oid = 0
        for j in range(meta[M_NSTOPS]):
            if _stop_triggered(orders, stops[j], last):
                oid = stops[j]
                break
        if oid == 0:
            return
        _remove_stop(orders, stops, meta, oid)
        _process(orders, levels, meta, fills, cancels, oid, True)


# --- requests ------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _validate(meta, owner, side, otype, price, qty, display, stop, post_only):
    tick = meta[M_TICK]
    lot = meta[M_LOT]
    if owner == BAD_OWNER:
        return R_BAD_OWNER
    if side != 1 and side != -1:
        return R_BAD_SIDE
    if otype < T_LIMIT or otype > T_FOK:
        return R_BAD_TYPE
    if post_only and (otype != T_LIMIT or stop != 0):
        return R_BAD_TYPE
    if stop != 0 and (otype in (T_IOC, T_FOK)):
        return R_BAD_TYPE
    if qty <= 0 or qty > MAX_VALUE or qty % lot != 0:
        return R_BAD_QUANTITY
    if otype == T_LIMIT and price <= 0:
        return R_BAD_PRICE
    if otype != T_MARKET and (price < 0 or price > MAX_VALUE or price % tick != 0):
        return R_BAD_PRICE
    if display != 0 and (
        otype != T_LIMIT or display < 0 or display > MAX_VALUE or display % lot != 0
    ):
        return R_BAD_DISPLAY
    if stop < 0 or stop > MAX_VALUE or stop % tick != 0:
        return R_BAD_STOP
    return R_NONE


@njit(cache=True, inline="always")
def _new_order(orders, levels, stops, meta, fills, cancels,
               side, otype, price, qty, owner, display, stop, post_only):  # fmt: skip
    oid = meta[M_NEXT_ID]
    meta[M_NEXT_ID] = oid + 1
    o = orders[oid]
    reason = _validate(meta, owner, side, otype, price, qty, display, stop, post_only)
    # Rejected orders keep what was asked, clamped to the record's small fields.
    o.side = side if side == 1 or side == -1 else 0
    o.type = otype if T_LIMIT <= otype <= T_FOK else -1
    o.price = 0 if otype == T_MARKET else price
    o.qty = qty
    o.display = display
    o.stop = stop
    o.owner = owner
    o.flags = FLAG_POST_ONLY if post_only else 0
    if reason == R_NONE and meta[M_HALTED] != 0:
        reason = R_HALTED
    if reason == R_NONE and post_only and _crosses(levels, meta, side, price):
        reason = R_POST_ONLY
    if reason != R_NONE:
        o.status = S_REJECTED
        o.reason = reason
        o.qty = 0
        return oid
    if stop != 0 and not _stop_triggered(orders, oid, meta[M_LAST_PRICE]):
        _add_stop(orders, stops, meta, oid)
        return oid
    _process(orders, levels, meta, fills, cancels, oid, False)
    _trigger_stops(orders, levels, stops, meta, fills, cancels)
    return oid


@njit(cache=True, inline="always")
def _is_open(orders, meta, oid):
    if oid <= 0 or oid >= meta[M_NEXT_ID]:
        return False
    status = orders[oid].status
    return status in (S_ACCEPTED, S_PARTIAL)


@njit(cache=True, inline="always")
def _cancel(orders, levels, stops, meta, oid):
    """Cancel an open order (halts do not block cancels). Returns the reason code."""
    if not _is_open(orders, meta, oid):
        return R_UNKNOWN_ORDER
    o = orders[oid]
    if o.flags & FLAG_STOP_PENDING:
        _remove_stop(orders, stops, meta, oid)
    else:
        _take_out(orders, levels, meta, oid)
    o.qty = 0
    o.hidden = 0
    o.status = S_CANCELLED
    o.reason = R_BY_OWNER
    return R_NONE


@njit(cache=True)
def _modify(orders, levels, stops, meta, fills, cancels, oid, qty, price):
    """Change an open order's quantity and/or price; -1 keeps the current value.

    A pure reduction keeps time priority. A price change or an increase is a cancel-replace
    under the same id: the order loses priority and may trade at its new price.
    Returns the reason code: R_NONE unless the request was rejected.
    """
    o = orders[oid]
    if o.flags & FLAG_STOP_PENDING:
        return R_NOT_MODIFIABLE
    if meta[M_HALTED] != 0:
        return R_HALTED
    total = o.qty + o.hidden
    if qty == -1:
        qty = total
    elif qty <= 0 or qty > MAX_VALUE or qty % meta[M_LOT] != 0:
        return R_BAD_QUANTITY
    if price == -1:
        price = o.price
    elif price <= 0 or price > MAX_VALUE or price % meta[M_TICK] != 0:
        return R_BAD_PRICE
    if price == o.price and qty <= total:
        meta[M_SLICES] -= _resting_slices(orders, oid)
        cut = total - qty
        from_hidden = min(cut, o.hidden)
        o.hidden -= from_hidden
        o.qty -= cut - from_hidden
        s, i = _find_level(orders, levels, meta, oid)
        levels[s, i, L_QTY] -= cut - from_hidden
        meta[M_SLICES] += _resting_slices(orders, oid)
        return R_NONE
    if o.flags & FLAG_POST_ONLY and _crosses(levels, meta, o.side, price):
        return R_POST_ONLY
    _take_out(orders, levels, meta, oid)
    o.price = price
    o.qty = qty
    o.hidden = 0
    _process(orders, levels, meta, fills, cancels, oid, False)
    _trigger_stops(orders, levels, stops, meta, fills, cancels)
    return R_NONE


# --- entry points --------------------------------------------------------------------------
# Each returns NEED_ROOM, having changed nothing, when the facade must grow the arrays first.


@njit(cache=True)
def submit_one(orders, levels, stops, meta, fills, cancels,
               side, otype, price, qty, owner, display, stop, post_only):  # fmt: skip
    """One new order. Returns (order id, status, reason, filled, n fills, n cancels)."""
    meta[M_NFILLS] = 0
    meta[M_NCANCELS] = 0
    if not _has_room(orders, levels, stops, meta, fills, cancels, qty, display):
        return NEED_ROOM, 0, 0, 0, 0, 0
    oid = _new_order(orders, levels, stops, meta, fills, cancels,
                     side, otype, price, qty, owner, display, stop, post_only)  # fmt: skip
    o = orders[oid]
    return oid, o.status, o.reason, o.filled, meta[M_NFILLS], meta[M_NCANCELS]


@njit(cache=True)
def cancel_one(orders, levels, stops, meta, oid):
    """Returns (reason, filled)."""
    reason = _cancel(orders, levels, stops, meta, oid)
    return reason, orders[oid].filled if reason == R_NONE else 0


@njit(cache=True)
def modify_one(orders, levels, stops, meta, fills, cancels, oid, qty, price):
    """Returns (reason, status, order's reason, filled, n fills, n cancels)."""
    meta[M_NFILLS] = 0
    meta[M_NCANCELS] = 0
    if not _is_open(orders, meta, oid):
        return R_UNKNOWN_ORDER, 0, 0, 0, 0, 0
    o = orders[oid]
    need = max(qty, o.qty + o.hidden)
    if not _has_room(orders, levels, stops, meta, fills, cancels, need, o.display):
        return NEED_ROOM, 0, 0, 0, 0, 0
    reason = _modify(orders, levels, stops, meta, fills, cancels, oid, qty, price)
    return reason, o.status, o.reason, o.filled, meta[M_NFILLS], meta[M_NCANCELS]


@njit(cache=True, inline="always")
def _record(row, order_id, status, reason, filled):
    row.order_id = order_id
    row.status = status
    row.reason = reason
    row.filled_qty = filled


@njit(cache=True)
def submit_batch(orders, levels, stops, meta, fills, cancels, msgs, start, out):
    """Process msgs[start:] in order until done or out of room; returns the next index.

    Outcomes go to `out` (order id, status, reason, filled quantity per message), unless
    `out` is empty: the caller did not ask for them.
    """
    record = out.shape[0] > 0
    for k in range(start, msgs.shape[0]):
        m = msgs[k]
        if not _has_room(orders, levels, stops, meta, fills, cancels,
                         m.qty, m.display_qty):  # fmt: skip
            return k
        if m.action == A_NEW:
            oid = _new_order(orders, levels, stops, meta, fills, cancels,
                             m.side, m.type, m.price, m.qty, m.owner,
                             m.display_qty, m.stop_price, m.post_only != 0)  # fmt: skip
            if record:
                o = orders[oid]
                _record(out[k], oid, o.status, o.reason, o.filled)
        elif m.action == A_CANCEL:
            reason = _cancel(orders, levels, stops, meta, m.ref)
            if record:
                if reason == R_NONE:
                    _record(out[k], m.ref, S_CANCELLED, R_NONE, orders[m.ref].filled)
                else:
                    _record(out[k], m.ref, S_REJECTED, reason, 0)
        elif record:
            _record(out[k], 0, S_REJECTED, R_BAD_TYPE, 0)
    return msgs.shape[0]
