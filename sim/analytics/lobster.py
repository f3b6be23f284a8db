"""LOBSTER level-1 sample files: their quotes, for the stylized-facts comparison, and their
message stream replayed into a bondlab `OrderBook`, to see how far the book can be rebuilt.

A LOBSTER day is two row-aligned CSV files without headers (format in the LOBSTER ReadMe):
the message file (time in seconds after midnight, type, order id, size, price × 10000,
direction) and the order book file (ask price, ask size, bid price, bid size per level). Row
*i* of the book is the state after message *i*.

A level-1 day only carries the messages that touch the best level of either side: orders
resting behind the best price are in neither file, so neither is their arrival nor their
cancellation. When a best level empties, the book file shows the next one and the replay has
nothing there, or still holds orders that left unseen while they were behind: `replay_lobster`
counts both, and `lobster_agreement` measures the cost.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sim.market.book import OrderBook

# Empty book levels are filled with these dummy prices (and size 0).
_DUMMY_ASK = 9_999_999_999
_DUMMY_BID = -9_999_999_999
_MESSAGE_COLUMNS = {
    "time_s": pl.Float64,
    "type": pl.Int64,
    "order_id": pl.Int64,
    "size": pl.Int64,
    "price": pl.Int64,
    "direction": pl.Int64,
}
_BOOK_COLUMNS = {"ask": pl.Int64, "ask_qty": pl.Int64, "bid": pl.Int64, "bid_qty": pl.Int64}
_NAME = re.compile(r"(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+_message_(?P<level>\d+)")
# Message types the replay acts on; 5 is a hidden execution, 6 a cross trade (LOBSTER's full
# documentation; the sample files' ReadMe leaves it out), 7 a halt.
_SUBMISSION, _CANCELLATION, _DELETION, _EXECUTION = 1, 2, 3, 4
_HOUR_NS = 3_600 * 10**9


def read_lobster_messages(message_file: str | os.PathLike) -> pl.DataFrame:
    """The message file of one LOBSTER day, every row checked.

    Columns (all Int64): time (ns after midnight), type (1-7), order_id, size, price (units of
    $0.0001; -1, 0 or 1 for a halt), direction (+1 a buy order, -1 a sell order).
    """
    message_file = _message_file(message_file)
    messages = _read_csv(message_file, _MESSAGE_COLUMNS)
    bad = (
        ~pl.col("type").is_between(1, 7)
        | ~pl.col("direction").is_in([-1, 1])
        | (pl.col("size") < 0)
    )
    _refuse_rows(
        message_file, messages, bad, "a type outside 1-7, a direction not ±1 or a size < 0"
    )
    return messages.select(
        # Seconds carry up to nanosecond decimals; rounding recovers the integer count.
        time=(pl.col("time_s") * 1e9).round().cast(pl.Int64),
        type="type",
        order_id="order_id",
        size="size",
        price="price",
        direction="direction",
    )


def read_lobster_quotes(
    message_file: str | os.PathLike, orderbook_file: str | os.PathLike | None = None
) -> pl.DataFrame:
    """Level-1 quotes of one LOBSTER day, shaped like the recorder's ``quotes`` frame.

    Columns: time (Int64, ns after midnight), venue ("LOBSTER"), instrument (the ticker),
    bid, bid_qty, ask, ask_qty (Int64; prices in units of $0.0001, null for an empty side).
    `orderbook_file` defaults to the message file's sibling of the same day and level.
    """
    message_file = _message_file(message_file)
    if orderbook_file is None:
        orderbook_file = message_file.with_name(
            message_file.name.replace("_message_", "_orderbook_")
        )
    if not Path(orderbook_file).is_file():
        raise FileNotFoundError(f"{orderbook_file}: no such LOBSTER file")
    messages = read_lobster_messages(message_file)
    book = _read_csv(orderbook_file, _BOOK_COLUMNS, columns=4)
    if messages.height != book.height:
        raise ValueError(
            f"{orderbook_file}: {book.height} rows but {message_file} has {messages.height}"
        )
    ticker = _NAME.fullmatch(message_file.stem)["ticker"]
    return pl.DataFrame(
        {
            "time": messages["time"],
            "venue": pl.Series(["LOBSTER"] * book.height, dtype=pl.Categorical),
            "instrument": pl.Series([ticker] * book.height, dtype=pl.Categorical),
        }
    ).with_columns(
        bid=pl.when(book["bid"] != _DUMMY_BID).then(book["bid"]),
        bid_qty=pl.when(book["bid"] != _DUMMY_BID).then(book["bid_qty"]),
        ask=pl.when(book["ask"] != _DUMMY_ASK).then(book["ask"]),
        ask_qty=pl.when(book["ask"] != _DUMMY_ASK).then(book["ask_qty"]),
    )


def replay_lobster(
    message_file: str | os.PathLike, orderbook_file: str | os.PathLike | None = None
) -> pl.DataFrame:
    """A level-1 day's messages replayed into an `OrderBook`, its top after each message
    beside the order book file's row.

    Columns: time, type, then the replay's bid, bid_qty, ask, ask_qty and the file's
    recorded_bid, recorded_bid_qty, recorded_ask, recorded_ask_qty (Int64, null for an empty
    side), then unmatched (shares a cancellation, deletion or execution found no order for)
    and stale (shares of resting orders the message showed to be gone, cancelled before it).

    The book before the first message is unknown but for its best levels: it is seeded with
    one synthetic order a level, from the first book row with the first message undone (that
    row is the state after it). Then each message type does:

    1 submission: the limit order rests.
    2 cancellation, 4 execution: the order shrinks by the size, keeping its place (the
      aggressor of an execution is not in the file, and its other fills are their own rows).
    3 deletion: the order leaves the book, all of it (it may have shrunk unseen while it was
      behind the best price).
    5 hidden execution, 6 cross trade: nothing visible changes.
    7 halt, quoting or resume: the book is left as it is, not halted: NASDAQ takes orders
      and cancellations during a halt and the file records them, and a halted `OrderBook`
      would refuse them.

    An order id not submitted in the file rested before it started: its cancellation,
    deletion or execution takes the size from the synthetic order at its price and side.
    When there is none (an order that was behind the best level when the file started), or
    too little, the shortfall is `unmatched`.

    A level-1 file only has messages at the best price of their side, so a message of type
    1-4 shows that the replay's orders at better prices on its side left unseen, as do, for a
    submission (which rested), the opposite orders it would cross: they are cancelled first,
    and counted as `stale`.
    """
    message_file = _message_file(message_file)
    level = _NAME.fullmatch(message_file.stem)["level"]
    if level != "1":
        raise ValueError(f"{message_file}: a level-{level} day; replays take level 1")
    quotes = read_lobster_quotes(message_file, orderbook_file)
    messages = read_lobster_messages(message_file)
    top = ["bid", "bid_qty", "ask", "ask_qty"]
    tops, unmatched, stale = _replay(messages, quotes.row(0, named=True))
    return pl.concat(
        [
            messages.select("time", "type"),
            pl.DataFrame(tops, schema=dict.fromkeys(top, pl.Int64), orient="row").with_columns(
                bid_qty=pl.when(pl.col("bid").is_not_null()).then("bid_qty"),
                ask_qty=pl.when(pl.col("ask").is_not_null()).then("ask_qty"),
            ),
            quotes.select(top).rename(lambda column: f"recorded_{column}"),
            pl.DataFrame(
                {"unmatched": unmatched, "stale": stale},
                schema=[("unmatched", pl.Int64), ("stale", pl.Int64)],
            ),
        ],
        how="horizontal",
    )


@dataclass(frozen=True)
class LobsterAgreement:
    """How often a replay's top of book is the recorded one, and where it goes wrong.

    `prices`: share of messages after which both best prices agree (an empty side agrees with
    an empty side); `quotes`: the same with both sizes too; per hour of the day (9 is 9:00 to
    9:59) in `prices_by_hour` and `quotes_by_hour`. `first_price_disagreement` and
    `first_quote_disagreement`: the first message index after which they do not (None if
    none). Every other message has a side `hidden` or `stale` or both: shares of messages
    after which a side of the replay is empty, worse or smaller at the same price than
    recorded (orders it never saw), or better or larger (orders that left unseen).
    `unmatched` and `stale_messages`: how many messages had unmatched or stale shares.
    """

    messages: int
    prices: float
    quotes: float
    prices_by_hour: dict[int, float]
    quotes_by_hour: dict[int, float]
    first_price_disagreement: int | None
    first_quote_disagreement: int | None
    hidden: float
    stale: float
    unmatched: int
    stale_messages: int


def lobster_agreement(replay: pl.DataFrame) -> LobsterAgreement:
    """The agreement of a `replay_lobster` frame with its recorded book."""
    same_prices = [pl.col(side).eq_missing(pl.col(f"recorded_{side}")) for side in ("bid", "ask")]
    # Per side: 0 if the replay's level is the recorded one, +1 if better (a better price, or
    # more shares at the same price), -1 if worse (an empty side is the worst).
    sides = [
        pl.when(same)
        .then((pl.col(f"{side}_qty") - pl.col(f"recorded_{side}_qty")).sign().fill_null(0))
        .when(pl.col(side).is_null())
        .then(-1)
        .when(pl.col(f"recorded_{side}").is_null())
        .then(1)
        .otherwise(((pl.col(side) - pl.col(f"recorded_{side}")) * sign).sign())
        for side, sign, same in (("bid", 1, same_prices[0]), ("ask", -1, same_prices[1]))
    ]
    flags = replay.select(
        hour=pl.col("time") // _HOUR_NS,
        prices=same_prices[0] & same_prices[1],
        quotes=(sides[0] == 0) & (sides[1] == 0),
        hidden=(sides[0] < 0) | (sides[1] < 0),
        stale=(sides[0] > 0) | (sides[1] > 0),
        unmatched=pl.col("unmatched") > 0,
        stale_messages=pl.col("stale") > 0,
    ).with_row_index()
    by_hour = flags.group_by("hour").agg(pl.col("prices", "quotes").mean()).sort("hour")
    return LobsterAgreement(
        messages=flags.height,
        prices=flags["prices"].mean(),
        quotes=flags["quotes"].mean(),
        prices_by_hour=dict(by_hour.select("hour", "prices").iter_rows()),
        quotes_by_hour=dict(by_hour.select("hour", "quotes").iter_rows()),
        first_price_disagreement=_first(flags, "prices"),
        first_quote_disagreement=_first(flags, "quotes"),
        hidden=flags["hidden"].mean(),
        stale=flags["stale"].mean(),
        unmatched=flags["unmatched"].sum(),
        stale_messages=flags["stale_messages"].sum(),
    )


def _replay(
    messages: pl.DataFrame, first_row: dict[str, int | None]
) -> tuple[list[tuple], list[int], list[int]]:
    """The book's top after each message, and each message's unmatched and stale shares
    (`replay_lobster` says how each type is handled)."""
    book = OrderBook()
    # A LOBSTER id, or (direction, price) for seeded liquidity -> [book id, open qty]. The
    # book order's owner is the LOBSTER id, 0 for seeded liquidity.
    resting: dict[int | tuple[int, int], list[int]] = {}
    for direction, levels in levels_before(messages.row(0), first_row).items():
        for price, qty in levels:
            resting[direction, price] = [book.new_order(0, direction, qty, price)[0], qty]
    submitted: set[int] = set()
    tops, unmatched, stale = [], [], []
    for kind, order_id, size, price, direction in messages.select(
        "type", "order_id", "size", "price", "direction"
    ).iter_rows():
        missed = gone = 0
        if kind in (_SUBMISSION, _CANCELLATION, _DELETION, _EXECUTION):
            gone = _cancel_better(book, resting, direction, price)
        if kind == _SUBMISSION:
            gone += _cancel_better(book, resting, -direction, price + direction)
            resting[order_id] = [book.new_order(order_id, direction, size, price)[0], size]
            submitted.add(order_id)
        elif kind in (_CANCELLATION, _DELETION, _EXECUTION):
            key = order_id if order_id in submitted else (direction, price)
            whole = kind == _DELETION and key == order_id and key in resting
            missed = _reduce(book, resting, key, resting[key][1] if whole else size)
        tops.append(book.top())
        unmatched.append(missed)
        stale.append(gone)
    return tops, unmatched, stale


def _first(flags: pl.DataFrame, column: str) -> int | None:
    wrong = flags.filter(~pl.col(column))["index"]
    return wrong[0] if len(wrong) else None


def levels_before(
    first: tuple[int, ...], row: dict[str, int | None]
) -> dict[int, list[tuple[int, int]]]:
    """Known levels per direction before the first message, best first: the first book row
    (the state after that message) with its effect undone.

    A submission at the best price took its size there (and if that was all of it, the level
    before it is unknown); a cancellation, deletion or execution at the best price took its
    size from it; one at a better price emptied that level, which then held just its size.
    """
    _, kind, _, size, price, direction = first
    levels = {
        direction: [(row[side], row[f"{side}_qty"])] if row[side] is not None else []
        for direction, side in ((1, "bid"), (-1, "ask"))
    }
    best = levels[direction][0][0] if levels[direction] else None
    if kind == _SUBMISSION and best == price:
        left = levels[direction][0][1] - size
        levels[direction] = [(price, left)] if left > 0 else []
    elif kind in (_CANCELLATION, _DELETION, _EXECUTION):
        if best == price:
            levels[direction] = [(price, levels[direction][0][1] + size)]
        elif best is None or (price - best) * direction > 0:
            levels[direction].insert(0, (price, size))
    return levels


def _reduce(book: OrderBook, resting: dict, key: int | tuple[int, int], size: int) -> int:
    """Take `size` from a resting order (it keeps its place); the shares it did not have."""
    if key not in resting:
        return size
    order = resting[key]
    taken = min(size, order[1])
    if taken == order[1]:
        book.cancel_codes(order[0])
        del resting[key]
    else:
        book.modify_codes(order[0], qty=order[1] - taken)
        order[1] -= taken
    return size - taken


def _cancel_better(book: OrderBook, resting: dict, direction: int, price: int) -> int:
    """Cancel the orders of one side (`direction`) at prices better than `price`; their
    shares."""
    gone = 0
    while True:
        bid, _, ask, _ = book.top()
        level = bid if direction == 1 else ask
        if level is None or (level - price) * direction <= 0:
            return gone
        for book_id in book.queue(direction, level):
            order = book.order(book_id)
            del resting[order.owner or (direction, level)]
            gone += order.visible_qty
            book.cancel_codes(book_id)


def _message_file(message_file: str | os.PathLike) -> Path:
    """The message file's path, refused unless it is named like one and exists."""
    message_file = Path(message_file)
    if _NAME.fullmatch(message_file.stem) is None:
        raise ValueError(
            f"{message_file}: not a LOBSTER message file name "
            "(TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv)"
        )
    if not message_file.is_file():
        raise FileNotFoundError(f"{message_file}: no such LOBSTER file")
    return message_file


def _read_csv(file: str | os.PathLike, schema: dict, columns: int | None = None) -> pl.DataFrame:
    """The file's first `columns` columns (all by default) named and typed by `schema`; a
    deeper book's other levels are left unread. Fields are read as text and then cast, so
    that the first rows do not decide a column's type (whole seconds there, decimals later)."""
    try:
        frame = pl.read_csv(
            file,
            has_header=False,
            infer_schema=False,
            columns=list(range(columns)) if columns else None,
        )
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"{file}: not a LOBSTER CSV file ({exc})") from exc
    if frame.width != len(schema):
        raise ValueError(
            f"{file}: not a LOBSTER CSV file ({frame.width} columns where {len(schema)} are "
            "expected)"
        )
    try:
        frame = frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(schema)
    except pl.exceptions.PolarsError as exc:
        raise ValueError(f"{file}: not a LOBSTER CSV file ({exc})") from exc
    # A short row reads as nulls at its end, an empty field as a null.
    _refuse_rows(file, frame, pl.any_horizontal(pl.all().is_null()), "a missing field")
    return frame


def _refuse_rows(file: str | os.PathLike, frame: pl.DataFrame, bad: pl.Expr, what: str) -> None:
    """Raise ValueError naming the file and the line of its first row where `bad` holds."""
    lines = frame.with_row_index("line", offset=1).filter(bad)["line"]
    if len(lines):
        raise ValueError(f"{file}: line {lines[0]} has {what} ({len(lines)} such rows)")
