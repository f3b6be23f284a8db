"""numba kernels of the venue gateway and the ledger: what happens to accounts and open orders
around each trip to a book. `sim.market.venue.Venue` and `sim.market.ledger.Ledger` are their
Python faces.

State lives in plain NumPy int64 arrays, owned by the faces and passed in on every call:

- the ledger's ``balances[row, B_*]`` (cash, locked cash, pending cash) and
  ``holdings[row, column, H_*]`` (units, locked units, pending units) per account row and
  instrument column; ``settlements[k, S_*]``, the trades booked but not settled yet, in booking
  order; ``ledger_meta[LM_*]``;
- a venue's ``slots[k, O_*]``, one row per open order (freed rows are reused), each account's
  open orders linked in submission order from ``heads[row]``; ``slot_of[oid]`` per book finds
  an order's slot (0: not open); ``rates[row]`` its accounts' maker and taker fee rates.

`new_order`, `modify_order` and `cancel_order` take a plain request through the gateway's
checks, the book (`sim.market._book_kernels`, compiled in) and the booking in one call; the rest
(orders with options, accounts with risk limits, halts) visit the book through Python and
are booked by `settle_request`. numba's disk cache checks only a kernel's own file, so this
file carries the digest of the book's kernels (`BOOK_KERNELS_DIGEST`): importing it after they
changed fails until the digest here is updated, and with it the cache of what compiles them in.

These kernels never allocate: when an array is too small for a request, they return NEED_ROOM
before changing anything, and the face grows it and calls again.
"""

import hashlib
from pathlib import Path

import numpy as np
from numba import njit

from sim.market import _book_kernels as book_kernels

BOOK_KERNELS_DIGEST = "cf0ae8b598733379"

# The codes live in this module on purpose: numba freezes globals into its cache and checks
# only this file for changes.

# balances[row, B_*], paise
B_CASH, B_LOCKED, B_PENDING = 0, 1, 2
# holdings[row, column, H_*], units
H_UNITS, H_LOCKED, H_PENDING = 0, 1, 2
# settlements[k, S_*]
S_TRADE_ID, S_AT, S_COLUMN, S_BUYER, S_SELLER, S_QTY = 0, 1, 2, 3, 4, 5
S_NOTIONAL, S_BUYER_FEE, S_SELLER_FEE, S_FEE_ROW, S_ACCRUED = 6, 7, 8, 9, 10
N_SETTLEMENT_FIELDS = 11
# ledger_meta[LM_*]
LM_NEXT_TRADE_ID, LM_PENDING = 0, 1
N_LEDGER_META = 2

# slots[k, O_*]: one open order
O_ROW, O_ACCOUNT, O_SIDE, O_LIMIT, O_QTY, O_CASH, O_UNITS, O_CLIENT = 0, 1, 2, 3, 4, 5, 6, 7
O_PREV, O_NEXT, O_LISTING, O_ORDER_ID = 8, 9, 10, 11
N_SLOT_FIELDS = 12
# venue_meta[VM_*]
VM_FREE, VM_USED = 0, 1  # head of the free slots' list; slots ever used (slot 0 is "none")
N_VENUE_META = 2
# heads[row, 0]: first open order of the account, heads[row, 1]: last

# trades[k, T_*]: what a request's fills became
T_PRICE, T_QTY, T_MAKER_ORDER, T_TAKER_ORDER, T_MAKER_ACCOUNT, T_TAKER_ACCOUNT = 0, 1, 2, 3, 4, 5
T_AGGRESSOR, T_NOTIONAL, T_MAKER_FEE, T_TAKER_FEE, T_MAKER_CLIENT, T_TAKER_CLIENT = (
    6,
    7,
    8,
    9,
    10,
    11,
)
T_ACCRUED = 12
N_TRADE_FIELDS = 13

# what a request did to its order before settling
REQ_NONE, REQ_NEW, REQ_MODIFY = 0, 1, 2
NEED_ROOM = -1  # returned, with nothing changed, when an array must grow first
NOT_OURS = -2  # returned, with nothing changed: a fill involves an order the gateway never saw
NEED_BOOK_ROOM = -3  # returned by new_order, with nothing changed: the book must grow first
TOO_LARGE = -4  # returned by modify_order, with nothing changed: amounts past int64's reach
# sim.market.orders.Reason: the gateway's refusals the one-call kernels make themselves
REASON_UNKNOWN_ORDER, REASON_HALTED = 3, 6
REASON_PRICE_BAND, REASON_INSUFFICIENT_CASH, REASON_INSUFFICIENT_UNITS = 22, 25, 26
MAX_TOTAL = 2**62  # sim.market.ledger's bound on every balance

MICROS = 1_000_000
# sim.market.orders.Status: 0 accepted and 1 partially filled are the open ones
STATUS_PARTIAL, STATUS_CANCELLED, STATUS_REJECTED = 1, 3, 4


@njit(cache=True, inline="always")
def fee(notional, rate):
    """Whole paise for a rate in millionths, truncated toward zero, as `sim.market.fees.fee`,
    without forming notional * rate (which could pass int64 for notionals above about 2**49)."""
    whole, part = divmod(notional, MICROS)
    magnitude = whole * abs(rate) + part * abs(rate) // MICROS
    return magnitude if rate >= 0 else -magnitude


@njit(cache=True, inline="always")
def cash_needed(qty, limit, tick_value, accrued, max_rate):
    """Cash that covers `qty` at `limit` or better with `accrued` interest per unit, plus the
    largest fee (charged on the clean notional), as the face's."""
    notional = qty * limit * tick_value
    return notional + qty * accrued + fee(notional, max_rate)


# --- open orders ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _add_order(slots, heads, venue_meta, slot_of, row, account, side, limit, qty, cash, units,
               client, listing, oid):  # fmt: skip
    slot = venue_meta[VM_FREE]
    if slot:
        venue_meta[VM_FREE] = slots[slot, O_NEXT]
    else:
        slot = venue_meta[VM_USED]
        venue_meta[VM_USED] = slot + 1
    slots[slot, O_ROW] = row
    slots[slot, O_ACCOUNT] = account
    slots[slot, O_SIDE] = side
    slots[slot, O_LIMIT] = limit
    slots[slot, O_QTY] = qty
    slots[slot, O_CASH] = cash
    slots[slot, O_UNITS] = units
    slots[slot, O_CLIENT] = client
    slots[slot, O_LISTING] = listing
    slots[slot, O_ORDER_ID] = oid
    last = heads[row, 1]
    slots[slot, O_PREV] = last
    slots[slot, O_NEXT] = 0
    if last:
        slots[last, O_NEXT] = slot
    else:
        heads[row, 0] = slot
    heads[row, 1] = slot
    slot_of[oid] = slot


@njit(cache=True, inline="always")
def _remove_order(slots, heads, venue_meta, slot_of, slot):
    row, prev, nxt = slots[slot, O_ROW], slots[slot, O_PREV], slots[slot, O_NEXT]
    if prev:
        slots[prev, O_NEXT] = nxt
    else:
        heads[row, 0] = nxt
    if nxt:
        slots[nxt, O_PREV] = prev
    else:
        heads[row, 1] = prev
    slot_of[slots[slot, O_ORDER_ID]] = 0
    slots[slot, O_NEXT] = venue_meta[VM_FREE]
    venue_meta[VM_FREE] = slot


# --- the ledger ----------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _settle(balances, holdings, column, buyer, seller, qty, notional, accrued, buyer_fee,
            seller_fee, fee_row):  # fmt: skip
    """Cash (clean notional plus accrued interest) to the seller, units to the buyer and fees
    to the venue; the pending amounts and the locks they stood in for are released."""
    pays, receives = notional + accrued + buyer_fee, notional + accrued - seller_fee
    balances[buyer, B_CASH] -= pays
    balances[buyer, B_LOCKED] -= pays
    balances[buyer, B_PENDING] += pays
    holdings[buyer, column, H_UNITS] += qty
    holdings[buyer, column, H_PENDING] -= qty
    holdings[seller, column, H_UNITS] -= qty
    holdings[seller, column, H_LOCKED] -= qty
    holdings[seller, column, H_PENDING] += qty
    balances[seller, B_CASH] += receives
    balances[seller, B_PENDING] -= receives
    balances[fee_row, B_CASH] += buyer_fee + seller_fee


@njit(cache=True)
def book_trade(balances, holdings, settlements, ledger_meta, column, buyer, seller, qty, notional,
               accrued, buyer_fee, seller_fee, fee_row, settle_at, now):  # fmt: skip
    """Book a trade whose cash (buyer) and units (seller) are already locked: it settles at
    once when `settle_at <= now`, else joins the settlements. `notional` is the clean price's
    and `accrued` the interest the buyer pays the seller on top (paise, the whole trade).
    Returns its trade id."""
    pays, receives = notional + accrued + buyer_fee, notional + accrued - seller_fee
    balances[buyer, B_PENDING] -= pays
    holdings[buyer, column, H_PENDING] += qty
    balances[seller, B_PENDING] += receives
    holdings[seller, column, H_PENDING] -= qty
    trade_id = ledger_meta[LM_NEXT_TRADE_ID]
    ledger_meta[LM_NEXT_TRADE_ID] = trade_id + 1
    if settle_at <= now:
        _settle(balances, holdings, column, buyer, seller, qty, notional, accrued, buyer_fee,
                seller_fee, fee_row)  # fmt: skip
    else:
        p = ledger_meta[LM_PENDING]
        ledger_meta[LM_PENDING] = p + 1
        settlements[p, S_TRADE_ID] = trade_id
        settlements[p, S_AT] = settle_at
        settlements[p, S_COLUMN] = column
        settlements[p, S_BUYER] = buyer
        settlements[p, S_SELLER] = seller
        settlements[p, S_QTY] = qty
        settlements[p, S_NOTIONAL] = notional
        settlements[p, S_BUYER_FEE] = buyer_fee
        settlements[p, S_SELLER_FEE] = seller_fee
        settlements[p, S_FEE_ROW] = fee_row
        settlements[p, S_ACCRUED] = accrued
    return trade_id


@njit(cache=True)
def settle_due(balances, holdings, settlements, ledger_meta, now):
    """Settle, in booking order, every booked trade due by `now`; the rest keep their order.
    Returns how many settled."""
    n = ledger_meta[LM_PENDING]
    kept = 0
    for k in range(n):
        if settlements[k, S_AT] <= now:
            _settle(balances, holdings, settlements[k, S_COLUMN], settlements[k, S_BUYER],
                    settlements[k, S_SELLER], settlements[k, S_QTY], settlements[k, S_NOTIONAL],
                    settlements[k, S_ACCRUED], settlements[k, S_BUYER_FEE],
                    settlements[k, S_SELLER_FEE], settlements[k, S_FEE_ROW])  # fmt: skip
        else:
            if kept != k:
                settlements[kept] = settlements[k]
            kept += 1
    ledger_meta[LM_PENDING] = kept
    return n - kept


# --- one request ---------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _release(balances, holdings, slots, slot, column):
    """Give back everything an order still holds locked."""
    row = slots[slot, O_ROW]
    balances[row, B_LOCKED] -= slots[slot, O_CASH]
    holdings[row, column, H_LOCKED] -= slots[slot, O_UNITS]


@njit(cache=True)
def settle_request(
    balances, holdings, settlements, ledger_meta,
    slots, heads, venue_meta, slot_of, rates,
    fills, n_fills, cancels, n_cancels, trades,
    request, row, account, side, limit, qty, cash, units, client,
    oid, status, listing, column, tick_value, accrued, max_rate, fee_row, settle_at, now,
):  # fmt: skip
    """Book what one trip to a book did: register (REQ_NEW) or update (REQ_MODIFY) the
    request's order with what it locks, price each fill in paise with both sides' fees, book
    it for settlement (at once when `settle_at <= now`), and release what finished orders no
    longer hold. `cash`/`units` are what the request locks (a modify: in addition). Writes
    one row of `trades` per fill and returns the last trade's price (0: no trade), or
    NEED_ROOM, untouched, when `slots`, `slot_of`, `trades` or `settlements` is too small,
    or NOT_OURS, untouched, when an order entered the book without passing the gateway."""
    if not _has_room(settlements, ledger_meta, slots, venue_meta, slot_of, trades, request,
                     oid, n_fills):  # fmt: skip
        return NEED_ROOM
    return _book_request(
        balances, holdings, settlements, ledger_meta, slots, heads, venue_meta, slot_of, rates,
        fills, n_fills, cancels, n_cancels, trades, request, row, account, side, limit, qty,
        cash, units, client, oid, status, listing, column, tick_value, accrued, max_rate, fee_row,
        settle_at, now,
    )  # fmt: skip


@njit(cache=True)
def new_order(
    balances, holdings, settlements, ledger_meta,
    slots, heads, venue_meta, slot_of, rates, trades,
    orders, levels, stops, book_meta, fills, cancels,
    row, account, side, otype, book_price, limit, qty, owner, client, band_low, band_high,
    listing, column, tick_value, accrued, max_rate, fee_row, settle_at, now,
):  # fmt: skip
    """A plain order (limit or protected market: no stop, iceberg or post-only) from an account
    without risk limits, whose side, quantity and prices the face has checked: the gateway's
    halt, band and cover checks, the book's matching and `settle_request`'s booking, in one
    call. `limit` is the worst price it can trade at, `book_price` and `otype` what the book
    gets. Returns (code, order id, status, reason, filled, fills, cancels, last trade
    price): code 0 when the book took the order; else a refusal's `sim.market.orders.Reason`, or
    NEED_BOOK_ROOM or NEED_ROOM, with nothing changed, when the book's arrays or the
    gateway's must grow first (NEED_ROOM gives the order's id and the most fills it may
    make in place of its id and fills), or NOT_OURS once the book has matched (as
    settle_request)."""
    if book_meta[book_kernels.M_HALTED]:
        return REASON_HALTED, 0, 0, 0, 0, 0, 0, 0
    if not band_low <= limit <= band_high:
        return REASON_PRICE_BAND, 0, 0, 0, 0, 0, 0, 0
    cash, units = 0, 0
    if side == 1:
        cash = cash_needed(qty, limit, tick_value, accrued, max_rate)
        if cash > balances[row, B_CASH] - balances[row, B_LOCKED]:
            return REASON_INSUFFICIENT_CASH, 0, 0, 0, 0, 0, 0, 0
    else:
        units = qty
        if units > holdings[row, column, H_UNITS] - holdings[row, column, H_LOCKED]:
            return REASON_INSUFFICIENT_UNITS, 0, 0, 0, 0, 0, 0, 0
    book_meta[book_kernels.M_NFILLS] = 0
    book_meta[book_kernels.M_NCANCELS] = 0
    if not book_kernels._has_room(orders, levels, stops, book_meta, fills, cancels, qty, 0):
        return NEED_BOOK_ROOM, 0, 0, 0, 0, 0, 0, 0
    # Room for the most fills the book may make (its bound, set by _has_room).
    oid, most_fills = book_meta[book_kernels.M_NEXT_ID], book_meta[book_kernels.M_NEED_FILLS]
    if not _has_room(settlements, ledger_meta, slots, venue_meta, slot_of, trades, REQ_NEW, oid,
                     most_fills):  # fmt: skip
        return NEED_ROOM, oid, 0, 0, 0, most_fills, 0, 0
    book_kernels._new_order(orders, levels, stops, book_meta, fills, cancels, side, otype,
                            book_price, qty, owner, 0, 0, False)  # fmt: skip
    o = orders[oid]
    status, reason, filled = o.status, o.reason, o.filled
    n_fills, n_cancels = book_meta[book_kernels.M_NFILLS], book_meta[book_kernels.M_NCANCELS]
    last = _book_request(
        balances, holdings, settlements, ledger_meta, slots, heads, venue_meta, slot_of, rates,
        fills, n_fills, cancels, n_cancels, trades, REQ_NEW, row, account, side, limit, qty,
        cash, units, client, oid, status, listing, column, tick_value, accrued, max_rate, fee_row,
        settle_at, now,
    )  # fmt: skip
    code = NOT_OURS if last == NOT_OURS else 0
    return code, oid, status, reason, filled, n_fills, n_cancels, max(last, 0)


@njit(cache=True)
def cancel_order(balances, holdings, slots, heads, venue_meta, slot_of, orders, levels, stops,
                 book_meta, account, oid, column):  # fmt: skip
    """`Venue.cancel` of order `oid` (0 < oid < len(slot_of)) in one call: the account's
    open order is cancelled in the book and what it held released. Returns (code, status,
    reason, filled, client): code REASON_UNKNOWN_ORDER when it is not the account's open order."""
    slot = slot_of[oid]
    if not slot or slots[slot, O_ACCOUNT] != account:
        return REASON_UNKNOWN_ORDER, 0, 0, 0, 0
    client = slots[slot, O_CLIENT]
    reason = book_kernels._cancel(orders, levels, stops, book_meta, oid)
    filled = orders[oid].filled if reason == 0 else 0
    # Done either way, as settle_request books a request whose order is no longer open.
    _release(balances, holdings, slots, slot, column)
    _remove_order(slots, heads, venue_meta, slot_of, slot)
    return 0, STATUS_REJECTED if reason else STATUS_CANCELLED, reason, filled, client


@njit(cache=True)
def modify_order(
    balances, holdings, settlements, ledger_meta,
    slots, heads, venue_meta, slot_of, rates, trades,
    orders, levels, stops, book_meta, fills, cancels,
    account, oid, qty, price, band_low, band_high,
    listing, column, tick_value, accrued, max_rate, fee_row, settle_at, now,
):  # fmt: skip
    """`Venue.modify` of order `oid` (0 < oid < len(slot_of)) in one call, for an account
    without risk limits on a venue and instrument not halted, `qty` and `price` positive or -1
    to keep: the band and cover checks, the book's modify and the booking. Returns (code,
    status, reason, filled, fills, cancels, last trade price, client) as `new_order`, code
    REASON_UNKNOWN_ORDER (client 0) when it is not the account's open order, or TOO_LARGE, with
    nothing changed, when the order as modified is too large for int64 arithmetic. NEED_ROOM
    gives the order's id and the most fills it may make in place of status and fills."""
    slot = slot_of[oid]
    if not slot or slots[slot, O_ACCOUNT] != account:
        return REASON_UNKNOWN_ORDER, 0, 0, 0, 0, 0, 0, 0
    row, side, client = slots[slot, O_ROW], slots[slot, O_SIDE], slots[slot, O_CLIENT]
    new_limit = slots[slot, O_LIMIT] if price < 0 else price
    new_qty = slots[slot, O_QTY] if qty < 0 else qty
    if price >= 0 and not band_low <= price <= band_high:
        return REASON_PRICE_BAND, 0, 0, 0, 0, 0, 0, client
    if new_limit > MAX_TOTAL // tick_value or new_qty > MAX_TOTAL // (
        new_limit * tick_value + accrued
    ):
        return TOO_LARGE, 0, 0, 0, 0, 0, 0, client
    cash, units = 0, 0
    if side == 1:
        needed = cash_needed(new_qty, new_limit, tick_value, accrued, max_rate)
        cash = max(needed - slots[slot, O_CASH], 0)
        if cash > balances[row, B_CASH] - balances[row, B_LOCKED]:
            return REASON_INSUFFICIENT_CASH, 0, 0, 0, 0, 0, 0, client
    else:
        units = max(new_qty - slots[slot, O_UNITS], 0)
        if units > holdings[row, column, H_UNITS] - holdings[row, column, H_LOCKED]:
            return REASON_INSUFFICIENT_UNITS, 0, 0, 0, 0, 0, 0, client
    book_meta[book_kernels.M_NFILLS] = 0
    book_meta[book_kernels.M_NCANCELS] = 0
    if not book_kernels._is_open(orders, book_meta, oid):
        return REASON_UNKNOWN_ORDER, 0, 0, 0, 0, 0, 0, client
    o = orders[oid]
    if not book_kernels._has_room(orders, levels, stops, book_meta, fills, cancels,
                       max(qty, o.qty + o.hidden), o.display):  # fmt: skip
        return NEED_BOOK_ROOM, 0, 0, 0, 0, 0, 0, client
    most_fills = book_meta[book_kernels.M_NEED_FILLS]
    if not _has_room(settlements, ledger_meta, slots, venue_meta, slot_of, trades, REQ_MODIFY,
                     oid, most_fills):  # fmt: skip
        return NEED_ROOM, oid, 0, 0, most_fills, 0, 0, client
    refused = book_kernels._modify(
        orders, levels, stops, book_meta, fills, cancels, oid, qty, price
    )
    if refused:
        return refused, 0, 0, 0, 0, 0, 0, client
    status, reason, filled = o.status, o.reason, o.filled
    n_fills, n_cancels = book_meta[book_kernels.M_NFILLS], book_meta[book_kernels.M_NCANCELS]
    last = _book_request(
        balances, holdings, settlements, ledger_meta, slots, heads, venue_meta, slot_of, rates,
        fills, n_fills, cancels, n_cancels, trades, REQ_MODIFY, row, account, side, new_limit,
        new_qty, cash, units, client, oid, status, listing, column, tick_value, accrued, max_rate,
        fee_row, settle_at, now,
    )  # fmt: skip
    code = NOT_OURS if last == NOT_OURS else 0
    return code, status, reason, filled, n_fills, n_cancels, max(last, 0), client


@njit(cache=True, inline="always")
def _has_room(settlements, ledger_meta, slots, venue_meta, slot_of, trades, request, oid,
              n_fills):  # fmt: skip
    """Whether the gateway's arrays can book a request on order `oid` with `n_fills` fills."""
    return not (
        oid >= slot_of.shape[0]
        or n_fills > trades.shape[0]
        or ledger_meta[LM_PENDING] + n_fills > settlements.shape[0]
        or (
            request == REQ_NEW and not venue_meta[VM_FREE] and venue_meta[VM_USED] == slots.shape[0]
        )
    )


@njit(cache=True)
def _book_request(
    balances, holdings, settlements, ledger_meta,
    slots, heads, venue_meta, slot_of, rates,
    fills, n_fills, cancels, n_cancels, trades,
    request, row, account, side, limit, qty, cash, units, client,
    oid, status, listing, column, tick_value, accrued, max_rate, fee_row, settle_at, now,
):  # fmt: skip
    """`settle_request` once its arrays have room."""
    for k in range(n_fills):
        for field in (0, 1):  # maker, taker
            order = fills[k, field]
            if order != oid and (order >= slot_of.shape[0] or not slot_of[order]):
                return NOT_OURS
    open_status = status <= STATUS_PARTIAL
    if request == REQ_NEW and status != STATUS_REJECTED:
        _add_order(slots, heads, venue_meta, slot_of, row, account, side, limit, qty, cash,
                   units, client, listing, oid)  # fmt: skip
        balances[row, B_LOCKED] += cash
        holdings[row, column, H_LOCKED] += units
    elif request == REQ_MODIFY:
        slot = slot_of[oid]
        slots[slot, O_CASH] += cash
        slots[slot, O_UNITS] += units
        slots[slot, O_LIMIT] = limit
        slots[slot, O_QTY] = qty
        balances[row, B_LOCKED] += cash
        holdings[row, column, H_LOCKED] += units
    last_price = 0
    for k in range(n_fills):
        maker_id, taker_id = fills[k, 0], fills[k, 1]
        price, fill_qty = fills[k, 4], fills[k, 5]
        maker, taker = slot_of[maker_id], slot_of[taker_id]
        maker_row, taker_row = slots[maker, O_ROW], slots[taker, O_ROW]
        notional = fill_qty * price * tick_value
        interest = fill_qty * accrued
        maker_fee = fee(notional, rates[maker_row, 0])
        taker_fee = fee(notional, rates[taker_row, 1])
        if slots[maker, O_SIDE] == 1:
            buyer, seller, buyer_fee, seller_fee = maker, taker, maker_fee, taker_fee
        else:
            buyer, seller, buyer_fee, seller_fee = taker, maker, taker_fee, maker_fee
        # What the fill consumes of each side's locks moves on to the trade's settlement.
        slots[buyer, O_CASH] -= notional + interest + buyer_fee
        slots[seller, O_UNITS] -= fill_qty
        slots[maker, O_QTY] -= fill_qty
        slots[taker, O_QTY] -= fill_qty
        book_trade(balances, holdings, settlements, ledger_meta, column, slots[buyer, O_ROW],
                   slots[seller, O_ROW], fill_qty, notional, interest, buyer_fee, seller_fee,
                   fee_row, settle_at, now)  # fmt: skip
        trades[k, T_PRICE] = price
        trades[k, T_QTY] = fill_qty
        trades[k, T_MAKER_ORDER] = maker_id
        trades[k, T_TAKER_ORDER] = taker_id
        trades[k, T_MAKER_ACCOUNT] = slots[maker, O_ACCOUNT]
        trades[k, T_TAKER_ACCOUNT] = slots[taker, O_ACCOUNT]
        trades[k, T_AGGRESSOR] = slots[taker, O_SIDE]
        trades[k, T_NOTIONAL] = notional
        trades[k, T_MAKER_FEE] = maker_fee
        trades[k, T_TAKER_FEE] = taker_fee
        trades[k, T_MAKER_CLIENT] = slots[maker, O_CLIENT]
        trades[k, T_TAKER_CLIENT] = slots[taker, O_CLIENT]
        trades[k, T_ACCRUED] = interest
        last_price = price
    # Orders that are done: cancelled as a side effect, the request's own order if it is no
    # longer open, and any order whose whole quantity has now traded.
    for k in range(n_cancels):
        slot = slot_of[cancels[k, 0]] if cancels[k, 0] < slot_of.shape[0] else 0
        if slot:
            _release(balances, holdings, slots, slot, column)
            _remove_order(slots, heads, venue_meta, slot_of, slot)
    if not open_status:
        slot = slot_of[oid]
        if slot:
            _release(balances, holdings, slots, slot, column)
            _remove_order(slots, heads, venue_meta, slot_of, slot)
    for k in range(n_fills):
        for oid_field in (0, 1):
            slot = slot_of[fills[k, oid_field]]
            if slot and slots[slot, O_QTY] == 0:
                _release(balances, holdings, slots, slot, column)
                _remove_order(slots, heads, venue_meta, slot_of, slot)
    if request == REQ_MODIFY:
        slot = slot_of[oid]
        if slot:  # still open: give back what its locks hold beyond its remaining worst case
            if slots[slot, O_SIDE] == 1:
                needed = cash_needed(slots[slot, O_QTY], slots[slot, O_LIMIT], tick_value,
                                     accrued, max_rate)  # fmt: skip
                excess = slots[slot, O_CASH] - needed
                if excess > 0:
                    balances[row, B_LOCKED] -= excess
                    slots[slot, O_CASH] -= excess
            elif slots[slot, O_UNITS] > slots[slot, O_QTY]:
                excess = slots[slot, O_UNITS] - slots[slot, O_QTY]
                holdings[row, column, H_LOCKED] -= excess
                slots[slot, O_UNITS] -= excess
    return last_price


def new_venue_state(accounts):
    """(slots, heads, venue_meta, rates) for a venue over `accounts` ledger rows."""
    slots = np.zeros((64, N_SLOT_FIELDS), np.int64)
    heads = np.zeros((accounts, 2), np.int64)
    venue_meta = np.zeros(N_VENUE_META, np.int64)
    venue_meta[VM_USED] = 1
    rates = np.zeros((accounts, 2), np.int64)
    return slots, heads, venue_meta, rates


def _check_book_kernels() -> None:
    try:
        source = Path(book_kernels.__file__).read_bytes()
    except OSError:  # installed without sources: numba cannot cache from them either
        return
    # Line endings normalised: a checkout with CRLF endings is the same source.
    digest = hashlib.sha256(source.replace(b"\r\n", b"\n")).hexdigest()[:16]
    if digest != BOOK_KERNELS_DIGEST:
        raise ImportError(
            "sim/market/_book_kernels.py changed: set BOOK_KERNELS_DIGEST in "
            f"{Path(__file__).name} to {digest!r}, so that numba recompiles the kernels that "
            "compile it in (its cache checks only their own file)"
        )


_check_book_kernels()
