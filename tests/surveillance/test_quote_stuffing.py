"""Quote stuffing on hand-made records: a burst of one owner's messages into one book, far above
the population's rate, is found with the orders it names; many messages spread over many
books, or a short flurry, are not."""

from __future__ import annotations

import pytest

from tests.surveillance.tape import S, Tape, agents, at, surveilled

STUFFER, MAKER = 5, 6
AGENTS = agents((STUFFER, "value"), (MAKER, "market_maker"))


def stuffed(per_second: int, seconds: int = 1) -> tuple[Tape, list[int]]:
    """The stuffer places and cancels orders from 12:00:00, `per_second` messages a second
    (half new, half cancels) for `seconds` seconds: (tape, its order ids)."""
    tape = Tape()
    tape.background()
    ids = []
    for second in range(seconds):
        start = at(12, 0) + second * S
        step = S // per_second
        for i in range(per_second // 2):
            order_id = tape.new(start + 2 * i * step, STUFFER, 1, 10, 9_990 - i % 5)
            tape.cancel(start + (2 * i + 1) * step, STUFFER, order_id)
            ids.append(order_id)
    return tape, ids


def test_a_burst_into_one_book_is_stuffing():
    tape, ids = stuffed(per_second=60, seconds=2)
    alerts = surveilled(tape, "quote_stuffing", AGENTS)
    assert alerts.height == 1  # two burst seconds in a row: one episode
    alert = alerts.row(0, named=True)
    assert alert["agent"] == STUFFER and alert["instrument"] == "BOND"
    assert alert["order_ids"] == ids and alert["trade_ids"] == []
    assert alert["start"] == at(12, 0) and alert["end"] < at(12, 0, 2)
    assert alert["score"] == pytest.approx(60.0)  # 60 a second; the population sends 1
    assert alert["evidence"].startswith("120 messages in 2 s")


def test_a_short_flurry_is_not_stuffing():
    tape, _ = stuffed(per_second=16)
    assert surveilled(tape, "quote_stuffing", AGENTS).is_empty()


def test_a_maker_requoting_many_books_at_once_is_not_stuffing():
    tape = Tape()
    tape.background()
    for second in range(3):  # 80 messages a second, two in each of 40 books
        for book in range(40):
            instrument = f"BOND{book}"
            time = at(12, 0) + second * S + book * 1000
            tape.new(time, MAKER, 1, 50, 9_995, instrument=instrument)
            tape.new(time + 1, MAKER, -1, 50, 10_005, instrument=instrument)
    assert surveilled(tape, "quote_stuffing", AGENTS).is_empty()


def test_a_burst_is_measured_against_the_populations_norm():
    tape, _ = stuffed(per_second=60)
    # 60 messages a second is 60 times the population's median of 1 a second in a book.
    assert surveilled(tape, "quote_stuffing", AGENTS, stuffing_multiple=60).height == 1
    assert surveilled(tape, "quote_stuffing", AGENTS, stuffing_multiple=61).is_empty()
