"""LOBSTER replay throughput: bondlab's replay beside a NautilusTrader L3 order book fed the
same messages, in one process, each driven the way a Python user would.

bondlab's side is `replay_lobster(message_file)`. Nautilus's side reads the day with the same
reader and feeds an `OrderBook(BookType.L3_MBO)` message by message (`nautilus_replay`),
following `replay_lobster`'s rules written again against Nautilus's book, so that both books
hold the same orders and their tops can be compared after every message. Each round times every
case once, in alternating order; the figures are medians over the rounds, in CPU time.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from sim.analytics.lobster import read_lobster_messages, read_lobster_quotes, replay_lobster

ROOT = Path(__file__).resolve().parent.parent
LOBSTER = ROOT.parent / "shared" / "data" / "lobster"
REPEATS = 7
_SUBMISSION, _CANCELLATION, _DELETION, _EXECUTION = 1, 2, 3, 4
_PRICE_UNIT = 10_000  # LOBSTER prices are dollars × 10_000
# Nautilus's ids for the seeded orders: above any LOBSTER order id.
_FIRST_SEED_ID = 1 << 62

HEADING = "## Replay throughput against NautilusTrader"

Top = tuple[int | None, int, int | None, int]


def nautilus_replay(
    messages: pl.DataFrame, first_row: dict[str, int | None], level_size: str = "quantity"
) -> list[Top]:
    """The top of a NautilusTrader L3 book after each message of a level-1 LOBSTER day:
    (bid, bid qty, ask, ask qty), prices in units of $0.0001, None and 0 for an empty side.

    `messages` is `read_lobster_messages`' frame and `first_row` the first row of
    `read_lobster_quotes` (the book after the first message). Each message becomes what it
    does in `replay_lobster`: a submission an `add`; a cancellation or execution an `update`
    to the size left, or a `delete` when none is; a deletion a `delete`; a hidden execution
    (5), cross trade (6) or halt (7) nothing. The book is seeded as `replay_lobster` seeds it,
    an id not submitted in the file takes from the seeded order at its price and side, and a
    message's side loses its orders at better prices first (for a submission, so does the
    other side at prices it would cross): they left unseen.

    `level_size` says how the sizes at the best prices are read: "quantity" asks how much a
    limit order of the other side at that price would take (`get_quantity_for_price`),
    "levels" copies every level (`bids()[0].size()`), "first order" is `best_bid_size()`,
    which on an L3 book is the size of the level's first order, not the level's.
    """
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.data import BookOrder
    from nautilus_trader.model.enums import BookType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price, Quantity

    book = OrderBook(InstrumentId.from_str("LOBSTER.XNAS"), BookType.L3_MBO)
    sides = {1: OrderSide.BUY, -1: OrderSide.SELL}
    best_price = {1: book.best_bid_price, -1: book.best_ask_price}
    levels = {1: book.bids, -1: book.asks}
    read_top = _top_reader(book, level_size)
    # A LOBSTER id, or (direction, price) for seeded liquidity -> [its BookOrder, open size].
    resting: dict[int | tuple[int, int], list] = {}
    seeded: dict[int, tuple[int, int]] = {}  # Nautilus id of a seeded order -> its key
    seed_ids = itertools.count(_FIRST_SEED_ID)

    def delete_better(direction: int, price: int, ts: int) -> None:
        """Delete the orders of one side at prices better than `price`."""
        while (best := best_price[direction]()) is not None and (
            _ticks(best) - price
        ) * direction > 0:
            for order in levels[direction]()[0].orders():
                del resting[seeded.get(order.order_id, order.order_id)]
                book.delete(order, ts)

    def reduce(key: int | tuple[int, int], size: int, ts: int) -> None:
        """Take `size` from a resting order, deleting it when nothing is left."""
        if key not in resting:
            return
        entry = resting[key]
        order, left = entry[0], entry[1] - size
        if left > 0:
            entry[0] = BookOrder(order.side, order.price, Quantity(left, 0), order.order_id)
            entry[1] = left
            book.update(entry[0], ts)
        else:
            book.delete(order, ts)
            del resting[key]

    first_ts = messages.item(0, "time")
    for direction, seed in _seed_levels(messages.row(0), first_row).items():
        for price, size in seed:
            order_id = next(seed_ids)
            order = BookOrder(
                sides[direction], Price(price / _PRICE_UNIT, 4), Quantity(size, 0), order_id
            )
            book.add(order, first_ts)
            resting[direction, price] = [order, size]
            seeded[order_id] = (direction, price)
    submitted: set[int] = set()
    tops: list[Top] = []
    for ts, kind, order_id, size, price, direction in messages.select(
        "time", "type", "order_id", "size", "price", "direction"
    ).iter_rows():
        if kind == _SUBMISSION:
            delete_better(direction, price, ts)
            delete_better(-direction, price + direction, ts)  # the orders it would cross
            order = BookOrder(
                sides[direction], Price(price / _PRICE_UNIT, 4), Quantity(size, 0), order_id
            )
            book.add(order, ts)
            resting[order_id] = [order, size]
            submitted.add(order_id)
        elif kind in (_CANCELLATION, _DELETION, _EXECUTION):
            delete_better(direction, price, ts)
            key = order_id if order_id in submitted else (direction, price)
            whole = kind == _DELETION and key == order_id and key in resting
            reduce(key, resting[key][1] if whole else size, ts)
        tops.append(read_top())
    return tops


def _top_reader(book, level_size: str) -> Callable[[], Top]:
    """(bid, bid qty, ask, ask qty) of `book` as `nautilus_replay` documents them."""
    from nautilus_trader.model.enums import OrderSide

    def by_quantity() -> Top:
        bid, ask = book.best_bid_price(), book.best_ask_price()
        return (
            None if bid is None else _ticks(bid),
            0 if bid is None else int(book.get_quantity_for_price(bid, OrderSide.SELL)),
            None if ask is None else _ticks(ask),
            0 if ask is None else int(book.get_quantity_for_price(ask, OrderSide.BUY)),
        )

    def by_levels() -> Top:
        bids, asks = book.bids(), book.asks()
        return (
            _ticks(bids[0].price) if bids else None,
            int(bids[0].size()) if bids else 0,
            _ticks(asks[0].price) if asks else None,
            int(asks[0].size()) if asks else 0,
        )

    def by_first_order() -> Top:
        bid, ask = book.best_bid_price(), book.best_ask_price()
        return (
            None if bid is None else _ticks(bid),
            0 if bid is None else int(book.best_bid_size()),
            None if ask is None else _ticks(ask),
            0 if ask is None else int(book.best_ask_size()),
        )

    readers = {"quantity": by_quantity, "levels": by_levels, "first order": by_first_order}
    return readers[level_size]


def _ticks(price) -> int:
    """A Nautilus `Price` in LOBSTER's units of $0.0001."""
    return round(price.as_double() * _PRICE_UNIT)


def _seed_levels(
    first: tuple[int, ...], row: dict[str, int | None]
) -> dict[int, list[tuple[int, int]]]:
    """(price, size) per direction before the first message, best first: the first book row
    (the book after that message) with the message undone, as `replay_lobster` seeds."""
    _, kind, _, size, price, direction = first
    known = {
        side: [(row[name], row[f"{name}_qty"])] if row[name] is not None else []
        for side, name in ((1, "bid"), (-1, "ask"))
    }
    best = known[direction][0][0] if known[direction] else None
    if kind == _SUBMISSION and best == price:
        left = known[direction][0][1] - size  # what rested there before it; none is unknown
        known[direction] = [(price, left)] if left > 0 else []
    elif kind in (_CANCELLATION, _DELETION, _EXECUTION):
        if best == price:
            known[direction] = [(price, known[direction][0][1] + size)]
        elif best is None or (price - best) * direction > 0:
            known[direction].insert(0, (price, size))  # a better level it emptied
    return known


def _bondlab_tops(replay: pl.DataFrame) -> list[Top]:
    return replay.select(
        "bid", pl.col("bid_qty").fill_null(0), "ask", pl.col("ask_qty").fill_null(0)
    ).rows()


def _nautilus_path(message_file: Path, level_size: str = "quantity") -> list[Top]:
    """What a Nautilus user runs: read the day, then feed the book."""
    messages = read_lobster_messages(message_file)
    first_row = read_lobster_quotes(message_file).row(0, named=True)
    return nautilus_replay(messages, first_row, level_size)


def _build_orders(rows: list[tuple[int, ...]]) -> None:
    """The conversion alone: the `BookOrder` (with its `Price` and `Quantity`) that each
    message of type 1-4 becomes, built and dropped. `rows`: (type, order id, size, price,
    direction)."""
    from nautilus_trader.model.data import BookOrder
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.objects import Price, Quantity

    sides = {1: OrderSide.BUY, -1: OrderSide.SELL}
    for kind, order_id, size, price, direction in rows:
        if kind <= _EXECUTION:
            BookOrder(sides[direction], Price(price / _PRICE_UNIT, 4), Quantity(size, 0), order_id)


def _seconds(action: Callable[[], object]) -> float:
    """CPU seconds of this process spent on `action`: on a shared machine, unlike the wall
    clock, they do not count the time other processes hold the core."""
    start = time.process_time()
    action()
    return time.process_time() - start


def _nautilus_version() -> str | None:
    try:
        return importlib.metadata.version("nautilus-trader")
    except importlib.metadata.PackageNotFoundError:
        return None


def run() -> str:
    days = sorted(LOBSTER.glob("*_message_1.csv"))
    if not days:
        return f"{HEADING}\n\nNot measured: no LOBSTER level-1 days in {LOBSTER}."
    version = _nautilus_version()
    if version is None:
        rates = []
        for day in days:
            messages = replay_lobster(day).height  # also the warm-up of the book's kernels
            seconds = statistics.median(_seconds(lambda d=day: replay_lobster(d)) for _ in range(3))
            rates.append(f"{day.name.split('_')[0]} {messages / seconds:,.0f}")
        return (
            f"{HEADING}\n\nNot compared: nautilus-trader is not installed (it is a "
            "benchmark-only extra: `pip install -e '.[nautilus]'`, which `make bench` runs). "
            f"bondlab's `replay_lobster` alone, messages per CPU second (median of 3): "
            f"{', '.join(rates)}."
        )
    return _compare(days, version)


def _compare(days: list[Path], version: str) -> str:
    from benchmarks.run import machine_details

    rows, reader_rows, per_message = [], [], []
    for day in days:
        row, day_reader_rows, microseconds = _compare_day(day)
        rows.append(row)
        reader_rows += day_reader_rows
        per_message.append(microseconds)
    summary = "Per message, the reading included: " + "; ".join(
        f"bondlab {bondlab:.1f} µs, Nautilus {nautilus:.1f} µs ({ticker})"
        for ticker, bondlab, nautilus in per_message
    )
    table = "\n".join(
        [
            "| day | messages (of types 5-7) | bondlab msg/s | Nautilus msg/s "
            "| bondlab ÷ Nautilus | Nautilus less conversion, msg/s | bondlab ÷ that "
            "| conversion | reading | same top |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            *rows,
        ]
    )
    reader_table = "\n".join(
        [
            "| day | sizes at the best prices read with | Nautilus msg/s | same top |",
            "|---|---|---:|---|",
            *reader_rows,
        ]
    )
    return f"""{HEADING}

{machine_details()}- nautilus-trader {version}

The LOBSTER sample days (level 1, 2012-06-21), each fed whole, from its files to the top of
book after every message, in one process: bondlab's `replay_lobster(message_file)` beside a
NautilusTrader L3 order book (`OrderBook(BookType.L3_MBO)`) driven from Python by
`benchmarks/bench_replay.py`'s `nautilus_replay`. That follows `replay_lobster`'s rules,
written again against Nautilus's book (seeded from the first book row; an unknown id takes from
the seeded order at its price; orders a message shows to have left unseen are deleted first):
submission -> `add`, cancellation and execution -> `update` to the size left (or `delete` when
none is), deletion -> `delete`. Hidden executions (type 5) and halts (type 7, none on these
days) change neither book, but count as messages, and both sides read the top after them too.
Rates are per CPU second of the process (both sides run on one thread, and the machine is
shared: the wall clock would also count the time other processes held the core), medians of
{REPEATS} rounds after a warm-up, each round running every case once, in alternating order;
the ratios are the medians of each round's ratio. "Same top": messages after which both books
show the same best prices and the same sizes at them.

{table}

{summary}.

"Nautilus less conversion" takes out the time to build the `Price`, `Quantity` and `BookOrder`
that each message becomes, timed alone on the same messages ("conversion", per day).
"Reading" is the two CSV files read by `read_lobster_messages` and `read_lobster_quotes`, the
same calls on both sides and inside both rates (polars parses on every core, so its CPU time
is more than its wall time).

Per message, bondlab's replay runs a Python loop over the frame's rows: it reads its book's top
(`OrderBook.top()`, four scalars out of NumPy arrays) to find orders that left unseen, looks the
order up in a dict, and calls `new_order`, `modify_codes` or `cancel_codes`, each one call into
a compiled numba kernel with plain ints (price-time queues in preallocated arrays), then
`top()` again; at the end the tops become one polars frame beside the recorded book.
Nautilus's side runs the same loop and look-ups, but each book message first becomes Cython
objects (`Price(price / 10_000, 4)`, `Quantity(size, 0)`, `BookOrder`), each
`add`/`update`/`delete` crosses from Cython into Rust (a sorted map of price levels, each an
ordered map of orders), and the top is four calls that each return a new object: a `Price`
from `best_bid_price()`, turned back into units of $0.0001, and the level's size from
`get_quantity_for_price` at that price for an order of the other side.

On an L3 book, how the sizes at the best prices are read matters:

{reader_table}

`best_bid_size()` and `best_ask_size()` are documented as the size at the best price, but on
an L3 book they return the size of the level's first order, so they are right only when that
order is alone at its price. `bids()[0].size()` (and `asks()`) is right but copies every level
of the side, with its orders, on each call; this replay's book keeps the orders that left
unseen behind the best price, so its sides grow deep.
"""


def _compare_day(day: Path) -> tuple[str, list[str], tuple[str, float, float]]:
    """One day's row of the main table, its rows of the readers' table, and its median
    microseconds a message on each side."""
    ticker = day.name.split("_")[0]
    messages = read_lobster_messages(day)
    rows = messages.select("type", "order_id", "size", "price", "direction").rows()
    replay = replay_lobster(day)  # also the warm-up of bondlab's kernels
    n = replay.height
    expected = _bondlab_tops(replay)
    same = {}
    for reader in _READER_CALLS:  # also the warm-up of Nautilus's side
        tops = _nautilus_path(day, reader)
        same[reader] = sum(a == b for a, b in zip(tops, expected, strict=True))
    cases = {
        "bondlab": lambda: replay_lobster(day),
        **{reader: lambda r=reader: _nautilus_path(day, r) for reader in _READER_CALLS},
        "conversion": lambda: _build_orders(rows),
        "reading": lambda: (read_lobster_messages(day), read_lobster_quotes(day)),
    }
    times: dict[str, list[float]] = {case: [] for case in cases}
    for repeat in range(REPEATS):
        for case in list(cases) if repeat % 2 == 0 else list(cases)[::-1]:
            times[case].append(_seconds(cases[case]))
    bondlab, nautilus = times["bondlab"], times["quantity"]
    book_only = [t - c for t, c in zip(nautilus, times["conversion"], strict=True)]
    rate = {case: n / statistics.median(seconds) for case, seconds in times.items()}
    skipped = messages.filter(pl.col("type") >= 5).height
    row = (
        f"| {ticker} | {n:,} ({skipped:,}) | {rate['bondlab']:,.0f} | {rate['quantity']:,.0f} "
        f"| {_ratio(nautilus, bondlab):.2f} "
        f"| {n / statistics.median(book_only):,.0f} | {_ratio(book_only, bondlab):.2f} "
        f"| {statistics.median(times['conversion']) * 1e3:.0f} ms "
        f"| {statistics.median(times['reading']) * 1e3:.0f} ms "
        f"| {_share(same['quantity'], n)} |"
    )
    reader_rows = [
        f"| {ticker} | {call} | {rate[reader]:,.0f} | {_share(same[reader], n)} |"
        for reader, call in _READER_CALLS.items()
    ]
    microseconds = [statistics.median(seconds) / n * 1e6 for seconds in (bondlab, nautilus)]
    return row, reader_rows, (ticker, *microseconds)


# How `nautilus_replay` reads the sizes at the best prices, by its `level_size`.
_READER_CALLS = {
    "quantity": "`get_quantity_for_price(best price, other side)`",
    "levels": "`bids()[0].size()`, `asks()[0].size()`",
    "first order": "`best_bid_size()`, `best_ask_size()`",
}


def _ratio(times: list[float], other_times: list[float]) -> float:
    """The median over the rounds of one case's time over another's."""
    return statistics.median(a / b for a, b in zip(times, other_times, strict=True))


def _share(same: int, messages: int) -> str:
    if same == messages:
        return "all"
    return f"{same / messages:.2%} ({messages - same:,} differ)"


if __name__ == "__main__":
    sys.exit(print(run()))
