"""The LOBSTER loader on tiny hand-written days (format: the LOBSTER sample files' ReadMe).

A message file row is time (seconds after midnight), type, order id, size, price × 10_000,
direction; the order book row beside it is ask, ask size, bid, bid size per level, with an empty
level written as ask 9999999999 or bid -9999999999 and size 0.
"""

from __future__ import annotations

import polars as pl
import pytest

from sim.analytics.lobster import read_lobster_quotes
from sim.records.recorder import Recorder

DAY = "ABC_2012-06-21_34200000_57600000"
MESSAGES = """\
34200.017459617,5,0,1,2238200,-1
34200.18960767,1,11885113,21,2238100,1
34260.5,3,11885113,21,2238100,1
34321,1,11534792,26,2237500,-1
"""
# The ask side empties after the third message, the bid side after the fourth.
BOOK = """\
2239500,100,2231800,100
2239500,100,2238100,21
9999999999,0,2231800,100
2237500,26,-9999999999,0
"""
BOOK_2 = """\
2239500,100,2231800,100,2239600,5,2231700,7
2239500,100,2238100,21,2239600,5,2231800,100
9999999999,0,2231800,100,9999999999,0,2231700,7
2237500,26,-9999999999,0,2239500,100,-9999999999,0
"""


def write_day(folder, messages=MESSAGES, book=BOOK, level=1):
    message_file = folder / f"{DAY}_message_{level}.csv"
    message_file.write_text(messages)
    (folder / f"{DAY}_orderbook_{level}.csv").write_text(book)
    return message_file


def test_a_lobster_day_reads_as_level_1_quotes(tmp_path):
    q = read_lobster_quotes(write_day(tmp_path))
    assert q.schema == Recorder().frames()["quotes"].schema
    assert q.cast({"venue": pl.String, "instrument": pl.String}).rows() == [
        # time in ns after midnight, to the nanosecond of the message file
        (34_200_017_459_617, "LOBSTER", "ABC", 2_231_800, 100, 2_239_500, 100),
        (34_200_189_607_670, "LOBSTER", "ABC", 2_238_100, 21, 2_239_500, 100),
        (34_260_500_000_000, "LOBSTER", "ABC", 2_231_800, 100, None, None),
        (34_321_000_000_000, "LOBSTER", "ABC", None, None, 2_237_500, 26),
    ]


def test_a_deeper_lobster_book_gives_its_best_level(tmp_path):
    level_2 = read_lobster_quotes(write_day(tmp_path, book=BOOK_2, level=2))
    assert level_2.equals(read_lobster_quotes(write_day(tmp_path)))


def test_the_order_book_file_may_be_named(tmp_path):
    message_file = write_day(tmp_path)
    elsewhere = tmp_path / "books"
    elsewhere.mkdir()
    (elsewhere / "book.csv").write_text(BOOK.replace("2239500,100", "2239900,3"))
    q = read_lobster_quotes(message_file, elsewhere / "book.csv")
    assert q["ask"].to_list() == [2_239_900, 2_239_900, None, 2_237_500]


def test_a_message_file_without_its_order_book_is_refused(tmp_path):
    message_file = write_day(tmp_path)
    book_file = tmp_path / f"{DAY}_orderbook_1.csv"
    book_file.unlink()
    with pytest.raises(FileNotFoundError, match=f"{book_file}: no such LOBSTER file"):
        read_lobster_quotes(message_file)


def test_a_missing_message_file_is_refused(tmp_path):
    message_file = tmp_path / f"{DAY}_message_1.csv"
    with pytest.raises(FileNotFoundError, match=f"{message_file}: no such LOBSTER file"):
        read_lobster_quotes(message_file)


@pytest.mark.parametrize(
    "book", [BOOK + "2237500,26,2231800,1\n", BOOK.split("\n", 1)[1]], ids=["longer", "shorter"]
)
def test_an_order_book_of_another_length_is_refused(tmp_path, book):
    message_file = write_day(tmp_path, book=book)
    rows = book.count("\n")
    with pytest.raises(ValueError, match=f"orderbook_1.csv: {rows} rows but .*message_1.csv has 4"):
        read_lobster_quotes(message_file)


def test_a_message_file_that_is_not_lobster_csv_is_refused(tmp_path):
    message_file = write_day(tmp_path, messages="time,type,id,size,price,direction\n" * 4)
    with pytest.raises(ValueError, match=f"{message_file}: not a LOBSTER CSV file"):
        read_lobster_quotes(message_file)


def test_a_file_not_named_like_a_lobster_message_file_is_refused(tmp_path):
    message_file = tmp_path / "ABC_2012-06-21_orderbook_1.csv"
    message_file.write_text(BOOK)
    with pytest.raises(ValueError, match="not a LOBSTER message file name"):
        read_lobster_quotes(message_file)
