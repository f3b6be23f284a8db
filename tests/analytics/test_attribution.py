"""PnL at evaluated prices (or marked to mid) and its parts: carry, valuation, trading and fees.

Hand-worked figures on a tiny record, and a property against a plain replay of random events
(cash and units kept in dicts, every position valued at the last marks): whatever happens, the
parts add up to the PnL, and the PnL is cash plus positions less capital."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.analytics.attribution import PARTS, attribute, marks, mid_marks
from sim.records.recorder import Recorder

BOND = "GS2030"
FACE = {BOND: 1000}  # rupees of face per unit
TICK = {BOND: 10}  # paise per tick per unit: 0.01 per 100 face on 1,000 rupees
SELLER, BUYER, AGENT = 1, 2, -7  # AGENT: a paying agent


def frames(events):
    """The record of `events`: ("mark", t, clean, accrued) per 100 face, ("issue", t, account,
    units), ("deposit", t, account, paise), ("trade", t, buyer, seller, price ticks, units,
    accrued paise), ("transfer", t, source, target, paise, units), ("coupon", t, payer,
    holder, paise), ("redemption", t, payer, holder, paise, units), ("book", t, venue, bid,
    ask) with either price None for an empty side."""
    rec = Recorder()
    order = 0
    for event in events:
        kind, t, *rest = event
        if kind == "mark":
            rec.fair_value(t, BOND, rest[0], None, None, rest[1])
        elif kind == "issue":
            rec.transfer(t, "issue", None, rest[0], 0, BOND, rest[1])
        elif kind == "deposit":
            rec.transfer(t, "deposit", None, rest[0], rest[1], None, 0)
        elif kind == "trade":
            buyer, seller, price, qty, accrued = rest
            order += 2
            # The seller's order rests (maker); the buyer's takes it (aggressor +1).
            rec.trade(t, "NSE", BOND, price, qty, order - 1, order, seller, buyer, 1,
                      accrued=accrued)  # fmt: skip
        elif kind == "transfer":
            source, target, cash, qty = rest
            rec.transfer(t, "transfer", source, target, cash, BOND if qty else None, qty)
        elif kind == "coupon":
            payer, holder, cash = rest
            rec.transfer(t, "coupon", payer, holder, cash, BOND, 0)
        elif kind == "redemption":
            payer, holder, cash, qty = rest
            rec.transfer(t, "redemption", payer, holder, cash, BOND, qty)
        elif kind == "book":
            venue, bid, ask = rest
            rec.book(t, venue, BOND, [(bid, 5)] if bid else [], [(ask, 5)] if ask else [])
    return rec.frames()


def attributed(events, fees, to_mid=False):
    f = frames(events)
    valued = (
        mid_marks(f["fair_values"], f["book"], FACE, {BOND: 0.01})
        if to_mid
        else marks(f["fair_values"], FACE)
    )
    return attribute(f["trades"], f["transfers"], valued, TICK, fees)


TRADE_BETWEEN_MARKS = [
    ("mark", 0, 100.00, 1.00),  # 100,000 + 1,000 paise a unit
    ("issue", 0, SELLER, 10),
    ("deposit", 0, SELLER, 50_000),
    ("deposit", 0, BUYER, 1_000_000),
    # 4 units at 100.50 with 10 rupees of interest accrued each: 402,000 + 4,000 paise.
    ("trade", 5, BUYER, SELLER, 10_050, 4, 4_000),
    ("mark", 9, 101.00, 1.10),  # 101,000 + 1,100
]


def test_a_trade_between_two_valuations_by_hand():
    got = attributed(TRADE_BETWEEN_MARKS, fees={SELLER: 0, BUYER: 40})
    # Seller: 10 units, sells 4 at 0.50 above fair (4 x 500 paise), keeps 6 through a rise of
    # 1,000 in price and 100 in accrued interest.
    assert got[SELLER] == {
        "capital": 50_000 + 10 * 101_000,
        "positions_value": 6 * 102_100,
        "cash_flows": 406_000,
        "carry": 6 * 100,
        "valuation": 6 * 1_000,
        "trading": 4 * 500,
        "fees": 0,
        "pnl": 8_600,
    }
    # Buyer: pays the 0.50 over fair, holds 4 units through the same rise, pays a 40 fee.
    assert got[BUYER] == {
        "capital": 1_000_000,
        "positions_value": 4 * 102_100,
        "cash_flows": -406_000,
        "carry": 4 * 100,
        "valuation": 4 * 1_000,
        "trading": -4 * 500,
        "fees": -40,
        "pnl": 2_360,
    }


def test_a_coupon_is_carry_as_the_accrued_interest_falls_back():
    events = [
        ("mark", 0, 100.00, 3.90),
        ("issue", 0, SELLER, 10),
        ("coupon", 5, AGENT, SELLER, 10 * 4_000),  # 40 rupees a unit, paid to the holder
        ("mark", 5, 100.00, 0.00),  # ex-coupon
        ("mark", 9, 100.00, 0.10),
    ]
    got = attributed(events, fees={SELLER: 0})[SELLER]
    # 39 rupees accrued at the start, 40 paid, 1 accrued since: 2 rupees a unit of carry.
    assert (got["carry"], got["valuation"], got["trading"], got["pnl"]) == (2_000, 0, 0, 2_000)


def test_a_redemption_is_carry_and_valuation_not_trading():
    events = [
        ("mark", 0, 99.50, 3.00),
        ("issue", 0, SELLER, 10),
        # At maturity: par and the final coupon of 37.80 rupees a unit, the last valuation.
        ("mark", 5, 100.00, 3.78),
        ("redemption", 5, AGENT, SELLER, 10 * 103_780, 10),
    ]
    got = attributed(events, fees={SELLER: 0})[SELLER]
    assert got["positions_value"] == 0
    assert (got["carry"], got["valuation"], got["trading"]) == (10 * 780, 10 * 500, 0)
    assert got["pnl"] == 10 * 103_780 - 10 * 102_500


def test_marked_to_mid_the_last_quoted_mid_values_what_is_held():
    events = [
        *TRADE_BETWEEN_MARKS,
        # NSE's mid is 100.70; BSE quotes one side and does not count.
        ("book", 11, "NSE", 10_060, 10_080),
        ("book", 11, "BSE", 10_065, None),
        ("book", 12, "NSE", 10_060, None),  # one side only: no mid, the last one stands
    ]
    got = attributed(events, fees={SELLER: 0, BUYER: 40}, to_mid=True)[SELLER]
    # As at evaluated prices until the mark at 9; then the mid, 100,700 a unit, with the
    # 1,100 accrued of that mark: the 6 units it kept gained 700 each from the start.
    assert got["positions_value"] == 6 * (100_700 + 1_100)
    assert (got["carry"], got["valuation"], got["trading"]) == (6 * 100, 6 * 700, 4 * 500)
    at_fair = attributed(events, fees={SELLER: 0, BUYER: 40})[SELLER]
    assert at_fair["valuation"] == 6 * 1_000


def test_mid_marks_interleave_publications_and_snapshots():
    f = frames(
        [
            ("book", 1, "NSE", 9_990, 10_010),  # before the first valuation: no accrued yet
            ("mark", 2, 100.00, 1.00),
            ("book", 3, "NSE", 10_000, 10_020),
            ("book", 3, "BSE", 10_010, 10_030),
            ("mark", 5, 100.50, 1.20),
            ("book", 5, "NSE", 10_050, 10_070),
        ]
    )
    got = mid_marks(f["fair_values"], f["book"], FACE, {BOND: 0.01})
    assert got.rows() == [
        (2, BOND, 100_000, 1_000),
        (3, BOND, 100_150, 1_000),  # the mean of 100.10 and 100.20
        (5, BOND, 100_500, 1_200),  # the publication first, then the snapshot at the same time
        (5, BOND, 100_600, 1_200),
    ]


def test_an_off_book_transfer_at_a_discount_is_trading():
    events = [
        ("mark", 0, 100.00, 0.00),
        ("issue", 0, SELLER, 10),
        ("deposit", 0, BUYER, 500_000),
        # The buyer (the transfer's source) pays 495,000 for 5 units worth 500,000.
        ("transfer", 3, BUYER, SELLER, 495_000, 5),
    ]
    got = attributed(events, fees={SELLER: 0, BUYER: 0})
    assert (got[BUYER]["trading"], got[SELLER]["trading"]) == (5_000, -5_000)
    assert got[BUYER]["positions_value"] == 500_000


ACCOUNTS = (1, 2, 3)


@st.composite
def histories(draw):
    """Random marks, trades, transfers and coupons among three accounts, in time order."""
    events = [("mark", 0, draw(st.floats(50, 150)), draw(st.floats(0, 5)))]
    for account in ACCOUNTS:
        events.append(("issue", 0, account, draw(st.integers(0, 50))))
        events.append(("deposit", 0, account, draw(st.integers(0, 10**7))))
    for t in range(1, draw(st.integers(1, 25)) + 1):
        kind = draw(st.sampled_from(["mark", "trade", "transfer", "coupon"]))
        a, b = draw(st.permutations(ACCOUNTS))[:2]
        if kind == "mark":
            events.append(("mark", t, draw(st.floats(50, 150)), draw(st.floats(0, 5))))
        elif kind == "trade":
            qty = draw(st.integers(1, 20))
            price = draw(st.integers(5_000, 15_000))
            events.append(("trade", t, a, b, price, qty, qty * draw(st.integers(0, 500))))
        elif kind == "transfer":
            events.append(("transfer", t, a, b, draw(st.integers(0, 10**6)),
                           draw(st.integers(0, 20))))  # fmt: skip
        else:
            events.append(("coupon", t, AGENT, a, draw(st.integers(0, 10**5))))
    return events


def replay(events, fees):
    """Cash and units per account from the events alone; positions at the last marks."""
    cash, units, capital = defaultdict(int), defaultdict(int), defaultdict(int)
    marks = [e for e in events if e[0] == "mark"]
    first, last = marks[0], marks[-1]
    value0 = round(first[2] * 1000) + round(first[3] * 1000)
    value1 = round(last[2] * 1000) + round(last[3] * 1000)
    for kind, _, *rest in events:
        if kind == "issue":
            units[rest[0]] += rest[1]
            capital[rest[0]] += rest[1] * value0
        elif kind == "deposit":
            cash[rest[0]] += rest[1]
            capital[rest[0]] += rest[1]
        elif kind == "trade":
            buyer, seller, price, qty, accrued = rest
            paid = price * qty * 10 + accrued
            cash[buyer] -= paid
            cash[seller] += paid
            units[buyer] += qty
            units[seller] -= qty
        elif kind == "transfer":
            source, target, amount, qty = rest
            cash[source] -= amount
            cash[target] += amount
            units[source] += qty
            units[target] -= qty
        elif kind == "coupon":
            cash[rest[1]] += rest[2]
    return {a: cash[a] - fees[a] + units[a] * value1 - capital[a] for a in ACCOUNTS}


@settings(max_examples=150, deadline=None)
@given(histories(), st.lists(st.integers(-100, 1_000), min_size=3, max_size=3))
def test_the_parts_add_up_to_the_pnl_of_a_plain_replay(events, paid):
    fees = dict(zip(ACCOUNTS, paid, strict=True))
    got = attributed(events, fees)
    want = replay(events, fees)
    for account in ACCOUNTS:
        books = got[account]
        assert sum(books[part] for part in PARTS) == books["pnl"] == want[account]
