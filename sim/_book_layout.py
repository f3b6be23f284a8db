"""The arrays an order book lives in, and the codes its kernels and its facade share.

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

`sim._book_kernels` matches orders in these arrays; `sim.book.OrderBook` creates them with
`new_state`, grows them and reads them back.
"""

import numpy as np

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

# codes shared with sim.orders
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
