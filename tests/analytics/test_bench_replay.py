"""The replay benchmark's NautilusTrader side (`benchmarks/bench_replay.py`) on a hand-written
level-1 LOBSTER day: the book operation each message becomes, and the top after it, worked by
hand. Skipped where nautilus-trader (the benchmark-only extra) is not installed.

A message row is time (seconds after midnight), type, order id, size, price × 10_000,
direction; the order book row beside it is ask, ask size, bid, bid size.
"""

from __future__ import annotations

import polars as pl
import pytest

pytest.importorskip("nautilus_trader")

from benchmarks.bench_replay import nautilus_replay
from sim.analytics.lobster import (
    read_lobster_messages,
    read_lobster_quotes,
    replay_lobster,
)

DAY = "ABC_2012-06-21_34200000_57600000"
# Before the first message the book held 30 @ 1000 (the recorded 40 less 101's 10) and 50 @ 1010.
MESSAGES = """\
34200,1,101,10,1000,1
34201,1,102,20,1008,-1
34202,2,102,5,1008,-1
34203,4,102,10,1008,-1
34204,3,102,5,1008,-1
34205,5,0,30,1005,1
34206,4,7,25,1000,1
34207,3,101,10,1000,1
34208,7,0,0,-1,-1
34209,1,103,30,1010,1
34210,3,103,30,1010,1
34211,2,104,3,995,1
34212,1,105,40,1000,1
34213,1,106,5,1001,1
34214,3,106,5,1001,1
34215,3,105,30,1000,1
"""
# Only the first row seeds the replay; the rest are what LOBSTER recorded.
BOOK = """\
1010,50,1000,40
1008,20,1000,40
1008,15,1000,40
1008,5,1000,40
1010,50,1000,40
1010,50,1000,40
1010,50,1000,15
1010,50,1000,5
1010,50,1000,5
1011,60,1010,30
1011,60,1000,5
1011,60,995,9
9999999999,0,1000,40
9999999999,0,1001,5
9999999999,0,1000,30
9999999999,0,-9999999999,0
"""
# bid, bid qty, ask, ask qty after each message.
TOPS = [
    (1000, 40, 1010, 50),  # 1 -> add: 101 joins the seeded 30 @ 1000
    (1000, 40, 1008, 20),  # 1 -> add
    (1000, 40, 1008, 15),  # 2 -> update: 102 cancels 5 of its 20
    (1000, 40, 1008, 5),  # 4 -> update: 10 of 102 execute
    (1000, 40, 1010, 50),  # 3 -> delete: 102 leaves; the seeded ask is the best again
    (1000, 40, 1010, 50),  # 5: a hidden execution changes nothing
    (1000, 15, 1010, 50),  # 4 -> update: unknown 7 takes 25 of the seeded 30 @ 1000
    (1000, 5, 1010, 50),  # 3 -> delete: 101 leaves
    (1000, 5, 1010, 50),  # 7: a halt changes nothing
    (1010, 30, None, 0),  # 1 -> delete, add: the seeded ask 103 would cross has left unseen
    (1000, 5, None, 0),  # 3 -> delete: 103 leaves
    (None, 0, None, 0),  # 2 at 995 shows the 5 @ 1000 gone; nothing known rests at 995
    (1000, 40, None, 0),  # 1 -> add
    (1001, 5, None, 0),  # 1 -> add, ahead of 105 (which cancels 10 unseen behind it)
    (1000, 40, None, 0),  # 3 -> delete: 106 leaves
    (None, 0, None, 0),  # 3 -> delete: 105 leaves whole, though the file says 30 of it
]


@pytest.fixture
def day(tmp_path):
    message_file = tmp_path / f"{DAY}_message_1.csv"
    message_file.write_text(MESSAGES)
    (tmp_path / f"{DAY}_orderbook_1.csv").write_text(BOOK)
    return message_file


def replay(message_file, level_size="quantity"):
    first_row = read_lobster_quotes(message_file).row(0, named=True)
    return nautilus_replay(read_lobster_messages(message_file), first_row, level_size)


def test_each_message_becomes_its_book_operation(day):
    assert replay(day) == TOPS


def test_reading_every_level_gives_the_same_tops(day):
    assert replay(day, "levels") == TOPS


def test_best_bid_size_is_the_first_orders_size_on_an_l3_book(day):
    # What the benchmark reports of Nautilus: 30 of the 40 @ 1000 are the seeded order, first.
    assert replay(day, "first order")[0] == (1000, 30, 1010, 50)


def test_it_agrees_with_bondlabs_replay(day):
    sizes = pl.col("bid_qty", "ask_qty").fill_null(0)  # bondlab's are null on an empty side
    tops = replay_lobster(day).select("bid", "bid_qty", "ask", "ask_qty").with_columns(sizes)
    assert tops.rows() == replay(day)
