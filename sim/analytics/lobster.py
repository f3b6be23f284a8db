"""LOBSTER level-1 sample files as a quotes frame, for the stylized-facts comparison.

A LOBSTER day is two row-aligned CSV files without headers (format in the LOBSTER ReadMe):
the message file (time in seconds after midnight, type, order id, size, price × 10000,
direction) and the order book file (ask price, ask size, bid price, bid size per level). Row
*i* of the book is the state after message *i*.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import polars as pl

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


def read_lobster_quotes(
    message_file: str | os.PathLike, orderbook_file: str | os.PathLike | None = None
) -> pl.DataFrame:
    """Level-1 quotes of one LOBSTER day, shaped like the recorder's ``quotes`` frame.

    Columns: time (Int64, ns after midnight), venue ("LOBSTER"), instrument (the ticker),
    bid, bid_qty, ask, ask_qty (Int64; prices in units of $0.0001, null for an empty side).
    `orderbook_file` defaults to the message file's sibling of the same day and level.
    """
    message_file = Path(message_file)
    match = _NAME.fullmatch(message_file.stem)
    if match is None:
        raise ValueError(
            f"{message_file}: not a LOBSTER message file name "
            "(TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv)"
        )
    if orderbook_file is None:
        orderbook_file = message_file.with_name(
            message_file.name.replace("_message_", "_orderbook_")
        )
    for file in (message_file, orderbook_file):
        if not Path(file).is_file():
            raise FileNotFoundError(f"{file}: no such LOBSTER file")

    messages = _read_csv(message_file, _MESSAGE_COLUMNS)
    book = _read_csv(orderbook_file, _BOOK_COLUMNS, columns=4)
    if messages.height != book.height:
        raise ValueError(
            f"{orderbook_file}: {book.height} rows but {message_file} has {messages.height}"
        )
    return pl.DataFrame(
        {
            # Seconds carry up to nanosecond decimals; rounding recovers the integer count.
            "time": (messages["time_s"] * 1e9).round().cast(pl.Int64),
            "venue": pl.Series(["LOBSTER"] * book.height, dtype=pl.Categorical),
            "instrument": pl.Series([match["ticker"]] * book.height, dtype=pl.Categorical),
        }
    ).with_columns(
        bid=pl.when(book["bid"] != _DUMMY_BID).then(book["bid"]),
        bid_qty=pl.when(book["bid"] != _DUMMY_BID).then(book["bid_qty"]),
        ask=pl.when(book["ask"] != _DUMMY_ASK).then(book["ask"]),
        ask_qty=pl.when(book["ask"] != _DUMMY_ASK).then(book["ask_qty"]),
    )


def _read_csv(file: str | os.PathLike, schema: dict, columns: int | None = None) -> pl.DataFrame:
    """The file's first `columns` columns (all by default) named and typed by `schema`; a
    deeper book's other levels are left unread."""
    try:
        frame = pl.read_csv(
            file, has_header=False, columns=list(range(columns)) if columns else None
        )
        return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(schema)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise ValueError(f"{file}: not a LOBSTER CSV file ({exc})") from exc
