"""Columnar recording of a run: one cheap append per event, polars frames at the end.

Every event method appends its fields as one row; rows are moved into typed column buffers
(``array.array('q')`` for integers, ``array.array('d')`` for floats, plain lists for the few
low-cardinality strings) a few thousand at a time, which costs a fraction of appending to every
column at every event. Nothing builds a DataFrame until :meth:`Recorder.frames`. ``None`` is
accepted wherever a value can be missing and becomes null in the frame (for floats, NaN becomes
null as well); every other integer must fit int64.

Units: times are integer nanoseconds, prices integer ticks, quantities integer units.

Frames returned by :meth:`Recorder.frames` (column: dtype):

``orders``
    time: Int64, order_id: Int64, agent: Int64, venue: Categorical, instrument: Categorical,
    side: Int8 (+1 buy, -1 sell), type: Categorical ("limit", "market", "ioc", "fok", ...),
    tif: Categorical ("GTC", ...), price: Int64 (null for market orders), qty: Int64,
    status: Categorical ("accepted", "rejected", ...), reason: Categorical ("none", ...),
    client: Int32 (the client code the order is for: the one sent with a new order, the
    order's own for a cancel or modify; 0: the account itself)
``trades``
    trade_id: Int64 (1, 2, ... in the order the trades happened: a trade's stable id), time:
    Int64, venue: Categorical, instrument: Categorical, price: Int64, qty: Int64,
    maker_order_id: Int64, taker_order_id: Int64, maker_agent: Int64, taker_agent: Int64,
    aggressor_side: Int8 (+1 buyer-initiated, -1 seller-initiated), maker_client: Int32,
    taker_client: Int32, accrued: Int64 (paise of accrued interest the buyer paid the seller on
    top of the clean price, the whole trade), maker_fee: Int64, taker_fee: Int64 (paise each
    side paid the venue; negative: a maker's rebate; null where not recorded)
``quotes`` (L1 on every change)
    time: Int64, venue: Categorical, instrument: Categorical, bid: Int64, bid_qty: Int64,
    ask: Int64, ask_qty: Int64 (bid/ask and their sizes null when that side is empty)
``book`` (L2 snapshots, long format: one row per price level)
    time: Int64, venue: Categorical, instrument: Categorical, side: Int8 (+1 bid, -1 ask),
    level: Int32 (1 = best), price: Int64, qty: Int64
``fair_values``
    time: Int64, instrument: Categorical, fair_clean_price: Float64 (per 100 face),
    fair_yield: Float64, spread_bp: Float64, accrued: Float64 (per 100 face, to the settlement
    date of a trade at that time: clean plus accrued is the evaluated dirty price); a finished
    run adds the valuation's breakdown, null where its fundamental gives none (a value that is
    not a bond's, a defaulted or redeemed bond): risk_free_clean_price: Float64 (per 100 face:
    the cash flows on the risk-free curve alone), then for each spread added on top, in this
    order, its size and its effect on the price (per 100 face, negative for a positive spread):
    rating_spread_bp, rating_spread_price, liquidity_premium_bp, liquidity_premium_price,
    model_adjustment_bp, model_adjustment_price: Float64 (the spreads sum to spread_bp; the
    model adjustment is the credit adjustment: the credit factor and the spread shocks; the
    risk-free clean price plus the price effects is fair_clean_price, to rounding)
``curve``
    time: Int64, tenor_years: Float64, zero_rate: Float64
``transfers`` (the ledger's movements off the books: money and units entering the system,
leaving it, or changing hands bilaterally, e.g. a SIP pool buying an exit or a repo opening)
    time: Int64, kind: Categorical ("deposit", "withdrawal", "issue", "transfer", "coupon": a
    paying agent paying a holder of record, "manufactured_payment": a coupon passed on to the
    owner of units held for it, e.g. by a repo lender; no units move in either),
    source: Int64 (null when from outside), target: Int64 (null when leaving), cash: Int64
    (paise), instrument: Categorical (null when no units move), qty: Int64 (units)
``accounts`` (every account at every close: the equity its returns are measured from)
    time: Int64, agent: Int64 (the account), cash: Int64 (paise, settled or not),
    positions_value: Int64 (paise: the units it owns, settled or not, at the valuation published
    last: fair clean price plus accrued interest, each to the paisa per unit, as agents.parquet
    values them with ``recording.marks = "fair_value"``)
``strategy_log`` (only in a run where a strategy logged: `Context.log`)
    time: Int64, agent: Int64, message: String, details: String (JSON, or "" without fields)
``decisions`` (only in a run where a strategy explained an order: `Context.submit`'s
``decision``, and each child of `Context.route`)
    time: Int64 (when it decided), agent: Int64, venue: Categorical, instrument: Categorical,
    order_id: Int64 (the venue's id, as in orders; 0 when the venue refused the order), details:
    String (JSON: what the strategy gave, the routing plan of a routed order)
``halts`` (only in a run where a venue halted an instrument: the scenario's ``venue_halt``
shocks and the venues' circuit breakers, one row per instrument halted, in time order)
    time: Int64, venue: Categorical, instrument: Categorical, until: Int64 (when trading may
    resume), cause: Categorical ("venue_halt", or "circuit_breaker": a trade beyond the price
    band's halt threshold)
``fx`` (only in a run whose scenario has an FX shock: exchange rates for the narrative, which
nothing in the market trades on)
    time: Int64, pair: Categorical (base then quote currency, "USDINR"), rate: Float64 (an
    index: 1.0 before the pair's first shock)

A frame of `OPTIONAL_FRAMES` is in :meth:`Recorder.frames` only once a row was recorded in
it, so that a run without its events keeps the files it always had.
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Iterable

import numpy as np
import polars as pl
import pyarrow as pa

# Stands in for None inside int64 buffers; no time, price or quantity can take this value.
_NULL_INT = -(2**63)
_NULL_FLOAT = float("nan")

_CAT = pl.Categorical
_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "orders": {
        "time": pl.Int64,
        "order_id": pl.Int64,
        "agent": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "side": pl.Int8,
        "type": _CAT,
        "tif": _CAT,
        "price": pl.Int64,
        "qty": pl.Int64,
        "status": _CAT,
        "reason": _CAT,
        "client": pl.Int32,
    },
    "trades": {
        "time": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "price": pl.Int64,
        "qty": pl.Int64,
        "maker_order_id": pl.Int64,
        "taker_order_id": pl.Int64,
        "maker_agent": pl.Int64,
        "taker_agent": pl.Int64,
        "aggressor_side": pl.Int8,
        "maker_client": pl.Int32,
        "taker_client": pl.Int32,
        "accrued": pl.Int64,
        "maker_fee": pl.Int64,
        "taker_fee": pl.Int64,
    },
    "quotes": {
        "time": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "bid": pl.Int64,
        "bid_qty": pl.Int64,
        "ask": pl.Int64,
        "ask_qty": pl.Int64,
    },
    "book": {
        "time": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "side": pl.Int8,
        "level": pl.Int32,
        "price": pl.Int64,
        "qty": pl.Int64,
    },
    "fair_values": {
        "time": pl.Int64,
        "instrument": _CAT,
        "fair_clean_price": pl.Float64,
        "fair_yield": pl.Float64,
        "spread_bp": pl.Float64,
        "accrued": pl.Float64,
    },
    "curve": {"time": pl.Int64, "tenor_years": pl.Float64, "zero_rate": pl.Float64},
    "transfers": {
        "time": pl.Int64,
        "kind": _CAT,
        "source": pl.Int64,
        "target": pl.Int64,
        "cash": pl.Int64,
        "instrument": _CAT,
        "qty": pl.Int64,
    },
    "accounts": {
        "time": pl.Int64,
        "agent": pl.Int64,
        "cash": pl.Int64,
        "positions_value": pl.Int64,
    },
    "strategy_log": {
        "time": pl.Int64,
        "agent": pl.Int64,
        "message": pl.String,
        "details": pl.String,
    },
    "decisions": {
        "time": pl.Int64,
        "agent": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "order_id": pl.Int64,
        "details": pl.String,
    },
    "halts": {
        "time": pl.Int64,
        "venue": _CAT,
        "instrument": _CAT,
        "until": pl.Int64,
        "cause": _CAT,
    },
    "fx": {"time": pl.Int64, "pair": _CAT, "rate": pl.Float64},
}

FRAME_NAMES: tuple[str, ...] = tuple(_SCHEMAS)
OPTIONAL_FRAMES = frozenset({"strategy_log", "decisions", "halts", "fx"})


def _buffer(dtype: pl.DataType) -> array | list:
    if dtype == pl.Float64:
        return array("d")
    if dtype in (_CAT, pl.String):
        return []
    return array("q")  # Int8/Int32 columns are narrowed when the frame is built


def _column(name: str, dtype: pl.DataType, buffer: array | list) -> pl.Series:
    if isinstance(buffer, list):
        return pl.Series(name, buffer, dtype=pl.String).cast(dtype)
    # Copies, so that the buffers can keep growing after a call to `frames()`.
    if buffer.typecode == "d":
        values = np.array(buffer, dtype=np.float64)
        return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)
    values = np.array(buffer, dtype=np.int64)
    missing = values == _NULL_INT
    series = pl.Series(name, pa.array(values, mask=missing if missing.any() else None))
    return series.cast(dtype)


_FLUSH_ROWS = 4096  # rows a table holds before moving them into its columns


class _Table:
    """The buffers of one frame, one per column, and the rows not yet moved into them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.columns = {col: _buffer(dtype) for col, dtype in _SCHEMAS[name].items()}
        self.rows: list[tuple] = []

    def add(self, row: tuple) -> None:
        rows = self.rows
        rows.append(row)
        if len(rows) >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Move the pending rows into the column buffers: all of them or, when a value does
        not fit its column, none (a ValueError names it), so the columns stay even."""
        if not self.rows:
            return
        chunks = []
        for (column, buffer), values in zip(
            self.columns.items(), zip(*self.rows, strict=True), strict=True
        ):
            if isinstance(buffer, list):
                chunks.append(values)
                continue
            null = _NULL_FLOAT if buffer.typecode == "d" else _NULL_INT
            try:
                try:
                    chunk = array(buffer.typecode, values)
                except TypeError:  # a None among them, most likely
                    chunk = array(buffer.typecode, [null if v is None else v for v in values])
            except (TypeError, OverflowError):
                raise self._bad_value(column, buffer.typecode, values) from None
            chunks.append(chunk)
        for buffer, chunk in zip(self.columns.values(), chunks, strict=True):
            buffer.extend(chunk)
        self.rows = []

    def _bad_value(self, column: str, typecode: str, values: tuple) -> ValueError:
        """The error naming the first row whose `column` its buffer cannot hold."""
        kind = "a float" if typecode == "d" else "an int64"
        for value, row in zip(values, self.rows, strict=True):
            try:
                array(typecode, [] if value is None else [value])
            except (TypeError, OverflowError):
                return ValueError(
                    f"{self.name}: {column} must be {kind} or None, got {value!r} in {row}"
                )
        return ValueError(f"{self.name}: {column} must be {kind} or None")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) + len(self.rows)

    def frame(self) -> pl.DataFrame:
        self.flush()
        schema = _SCHEMAS[self.name]
        frame = pl.DataFrame(
            [_column(col, schema[col], buffer) for col, buffer in self.columns.items()]
        )
        if self.name == "trades":  # numbered in the order they happened: their stable ids
            ids = pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True)
            frame.insert_column(0, ids.alias("trade_id"))
        return frame


class Recorder:
    """Append-only event buffers for one run; :meth:`frames` turns them into polars frames."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything recorded (a run frees its buffers once it has its frames)."""
        self._tables = {name: _Table(name) for name in FRAME_NAMES}
        # Bound `add` methods, looked up once: this is the hot path of every run.
        self._orders = self._tables["orders"].add
        self._trades = self._tables["trades"].add
        self._quotes = self._tables["quotes"].add
        self._book = self._tables["book"].add
        self._fair_values = self._tables["fair_values"].add
        self._curve = self._tables["curve"].add
        self._transfers = self._tables["transfers"].add
        self._accounts = self._tables["accounts"].add
        self._strategy_log = self._tables["strategy_log"].add
        self._decisions = self._tables["decisions"].add
        self._halts = self._tables["halts"].add
        self._fx = self._tables["fx"].add

    def order(
        self,
        time: int,
        order_id: int,
        agent: int,
        venue: str,
        instrument: str,
        side: int | None,
        type: str,
        tif: str,
        price: int | None,
        qty: int | None,
        status: str,
        reason: str,
        client: int = 0,
    ) -> None:
        """One order request and the venue's answer (accepted, filled, rejected, ...)."""
        self._orders(
            (time, order_id, agent, venue, instrument, side, type, tif, price, qty, status,
             reason, client)
        )  # fmt: skip

    def trade(
        self,
        time: int,
        venue: str,
        instrument: str,
        price: int,
        qty: int,
        maker_order_id: int,
        taker_order_id: int,
        maker_agent: int,
        taker_agent: int,
        aggressor_side: int,
        maker_client: int = 0,
        taker_client: int = 0,
        accrued: int = 0,
        maker_fee: int | None = None,
        taker_fee: int | None = None,
    ) -> None:
        """One execution between a resting (maker) and an incoming (taker) order."""
        self._trades(
            (time, venue, instrument, price, qty, maker_order_id, taker_order_id, maker_agent,
             taker_agent, aggressor_side, maker_client, taker_client, accrued, maker_fee,
             taker_fee)
        )  # fmt: skip

    def quote(
        self,
        time: int,
        venue: str,
        instrument: str,
        bid: int | None,
        bid_qty: int | None,
        ask: int | None,
        ask_qty: int | None,
    ) -> None:
        """The best bid and offer after a change; None for an empty side."""
        self._quotes((time, venue, instrument, bid, bid_qty, ask, ask_qty))

    def book(
        self,
        time: int,
        venue: str,
        instrument: str,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
    ) -> None:
        """An L2 snapshot: `bids` and `asks` are (price, qty) pairs, best first."""
        add = self._book
        for side, levels in ((1, bids), (-1, asks)):
            for level, (price, qty) in enumerate(levels, start=1):
                add((time, venue, instrument, side, level, price, qty))

    def fair_value(
        self,
        time: int,
        instrument: str,
        fair_clean_price: float | None,
        fair_yield: float | None,
        spread_bp: float | None,
        accrued: float = 0.0,
    ) -> None:
        """The pricing engine's fair clean price (per 100 face), yield and credit spread, and
        the accrued interest (per 100 face) to the settlement date of a trade at `time`."""
        self._fair_values((time, instrument, fair_clean_price, fair_yield, spread_bp, accrued))

    def curve(self, time: int, tenor_years: float, zero_rate: float | None) -> None:
        """One point of the zero curve in force at `time`."""
        self._curve((time, tenor_years, zero_rate))

    def transfer(
        self,
        time: int,
        kind: str,
        source: int | None,
        target: int | None,
        cash: int,
        instrument: str | None,
        qty: int,
    ) -> None:
        """One movement in the ledger's journal (see the module doc)."""
        self._transfers((time, kind, source, target, cash, instrument, qty))

    def account(self, time: int, agent: int, cash: int, positions_value: int) -> None:
        """One account's cash and positions at a close (see the module doc)."""
        self._accounts((time, agent, cash, positions_value))

    def strategy_log(self, time: int, agent: int, message: str, details: str) -> None:
        """A line of a strategy's log (see the module doc)."""
        self._strategy_log((time, agent, message, details))

    def decision(
        self, time: int, agent: int, venue: str, instrument: str, order_id: int, details: str
    ) -> None:
        """Why a strategy sent an order (see the module doc)."""
        self._decisions((time, agent, venue, instrument, order_id, details))

    def halt(self, time: int, venue: str, instrument: str, until: int, cause: str) -> None:
        """A venue halted trading in an instrument from `time` until `until` (module doc)."""
        self._halts((time, venue, instrument, until, cause))

    def fx_rate(self, time: int, pair: str, rate: float) -> None:
        """An exchange rate in force at `time` (an index, see the module doc)."""
        self._fx((time, pair, rate))

    def __len__(self) -> int:
        """Number of rows recorded across all frames."""
        return sum(len(table) for table in self._tables.values())

    def frames(self) -> dict[str, pl.DataFrame]:
        """The recorded events as polars frames, keyed by name (schemas in the module doc);
        optional frames only when they have rows."""
        return {name: table.frame() for name, table in self._tables.items() if _kept(table)}

    def take_frames(self) -> dict[str, pl.DataFrame]:
        """The frames, emptying each buffer as soon as its frame is built, so that a run's
        events are never held twice over; the recorder is empty afterwards."""
        tables = self._tables
        for table in tables.values():
            table.flush()  # a value its column cannot hold is refused here, with nothing lost
        self.clear()  # new buffers and appenders: the old buffers now live only in `tables`
        frames = {name: tables.pop(name).frame() for name in FRAME_NAMES if _kept(tables[name])}
        _return_freed_memory()
        return frames


def _kept(table: _Table) -> bool:
    """Whether the frames include this table: always, unless it is optional and empty."""
    return table.name not in OPTIONAL_FRAMES or len(table) > 0


def empty_frame(name: str) -> pl.DataFrame:
    """A frame of `name`'s schema without rows (what a run without its events had)."""
    return _Table(name).frame()


def _return_freed_memory() -> None:
    """Give the buffers' freed memory back to the operating system. glibc keeps it in the
    process's heap, where polars (which has its own allocator) cannot reuse it for the metrics
    and files that follow: a 10x rmsc04 run peaks about 50 MB lower."""
    with contextlib.suppress(ImportError, OSError, AttributeError):  # not glibc: nothing to do
        import ctypes

        malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        malloc_trim.argtypes = [ctypes.c_size_t]
        malloc_trim(0)
