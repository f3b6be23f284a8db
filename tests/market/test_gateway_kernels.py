"""The compiled gateway's own edges: int64 arithmetic that must not overflow, the ledger's
bound on totals, and arrays that must grow mid-run, against exact Python and the pure-Python
reference gateway (`tests.helpers.reference_gateway`), which shares no book or fee code with
the engine."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sim.market import _gateway_kernels as gateway_kernels
from sim.market.fees import MICROS, FeeSchedule
from sim.market.instrument import Instrument
from sim.market.ledger import MAX_TOTAL, Ledger, LedgerError
from sim.market.orders import Reason
from sim.market.venue import Venue
from tests.helpers.reference_gateway import ReferenceLedger, ReferenceVenue

BOND = Instrument("B1", Decimal("0.01"), 1, 100)


@pytest.mark.parametrize(
    ("notional", "rate", "paise"),
    [
        (1_000_000, 100, 100),  # 1 bp of 10_000 rupees: exactly 100 paise
        (1_234_567, 150, 185),  # 185.18505 -> 185
        (1_234_567, -30, -37),  # -37.03701 -> -37: toward zero, not floor
        (999_999, -1, 0),  # -0.999999 -> 0
        (0, 9_999, 0),
        # Past int64 in notional * rate (2**63 - 1 ~ 9.22e18). 2**62 = 4_611_686_018_427 * 10**6
        # + 387_904, so the fee is 4_611_686_018_427 * 9_999 = 46_112_248_498_251_573, plus
        # 387_904 * 9_999 / 10**6 = 3_878.652096 -> 3_878: 46_112_248_498_255_451.
        (2**62, 9_999, 46_112_248_498_255_451),
        (2**62, -9_999, -46_112_248_498_255_451),
        # 2**50 = 1_125_899_906 * 10**6 + 842_624: 1_125_899_906 * 9_999 = 11_257_873_160_094,
        # plus 842_624 * 9_999 / 10**6 = 8_425.397376 -> 8_425.
        (2**50, 9_999, 11_257_873_168_519),
    ],
)
def test_the_kernels_fee_by_hand_without_overflow(notional, rate, paise):
    assert gateway_kernels.fee(notional, rate) == paise


@given(st.integers(0, MAX_TOTAL), st.integers(-9_999, 9_999))
def test_the_kernels_fee_is_the_exact_truncated_fraction(notional, rate):
    # notional * rate passes int64 above about 2**49; an exact fraction, truncated toward zero
    # by int(), is the reference (not `sim.market.fees.fee`, which the kernel copies).
    assert gateway_kernels.fee(notional, rate) == int(Fraction(notional * rate, 1_000_000))


@pytest.mark.parametrize(
    ("qty", "limit", "tick_value", "accrued", "max_rate", "paise"),
    [
        # notional 10 * 10_560 * 10 = 1_056_000; 1 bp of it is 105.6 -> 105.
        (10, 10_560, 10, 0, 100, 1_056_105),
        # notional 7 * 9_873 * 1 = 69_111; 1.25 bp of it is 8.638875 -> 8.
        (7, 9_873, 1, 0, 125, 69_119),
        (3, 10_000, 50, 0, 0, 1_500_000),  # no fee at all: the notional alone
        # notional 10**9 * 10**6 * 500 = 5 * 10**17 (its product with the rate passes int64);
        # 99.99 bp of it is 5 * 10**11 * 9_999 = 4_999_500_000_000_000.
        (10**9, 10**6, 500, 0, 9_999, 504_999_500_000_000_000),
        # 10 * 1_234 = 12_340 of accrued interest on top; the fee stays 105, on the clean
        # notional (on the dirty 1_068_340 it would be 106).
        (10, 10_560, 10, 1_234, 100, 1_068_445),
        # 10**9 * 10**8 = 10**17 of interest on top of 504_999_500_000_000_000.
        (10**9, 10**6, 500, 10**8, 9_999, 604_999_500_000_000_000),
    ],
)
def test_the_kernels_cash_needed_by_hand(qty, limit, tick_value, accrued, max_rate, paise):
    assert gateway_kernels.cash_needed(qty, limit, tick_value, accrued, max_rate) == paise


@given(
    st.integers(1, 10**9),
    st.integers(1, 10**9),
    st.integers(1, 500),
    st.integers(0, 10**9),
    st.integers(0, 9_999),
)
def test_the_kernels_cash_needed_is_the_notional_and_interest_plus_the_truncated_fee(
    qty, limit, tick_value, accrued, max_rate
):
    # Only for orders that were covered: what they lock is at most the ledger's bound.
    notional = qty * limit * tick_value
    want = notional + qty * accrued + int(Fraction(notional * max_rate, 1_000_000))
    assume(want <= MAX_TOTAL)
    assert gateway_kernels.cash_needed(qty, limit, tick_value, accrued, max_rate) == want


def test_deposits_and_issues_stop_at_the_ledgers_bound_and_change_nothing():
    ledger = Ledger()
    ledger.open_account(1, cash=MAX_TOTAL - 5, units={"B1": MAX_TOTAL})
    message = re.escape(f"would take the ledger's total past {MAX_TOTAL} (2**62)")
    with pytest.raises(LedgerError, match=message):
        ledger.deposit(1, 6)
    with pytest.raises(LedgerError, match=message):
        ledger.issue_units(1, "B1", 1)
    with pytest.raises(LedgerError, match=message):
        ledger.open_account(2, cash=6)
    assert 2 not in ledger.accounts
    ledger.deposit(1, 5)
    account = ledger.account(1)
    assert (account.cash, account.units["B1"]) == (MAX_TOTAL, MAX_TOTAL)
    assert ledger.check().ok


def _world(ledger_cls, venue_cls):
    ledger = ledger_cls()
    for account in (1, 2, 3):
        ledger.open_account(account, cash=10**12, units={"B1": 10**6})
    venue = venue_cls(
        "X",
        ledger,
        fees=FeeSchedule("0.5", "1.5"),
        settlement_lag_days=1,
        settlement_time=lambda now, lag: now + lag * 1_000,
    )
    venue.list_instrument(BOND, 10_000)
    for account in (1, 2, 3):
        venue.register(account)
    venue.new_day({"B1": 37})  # paise of accrued interest per unit
    return ledger, venue


def _requests():
    """More resting orders than the arrays start with room for, one sweep of over a thousand
    fills (all unsettled: T+1), cancels that free slots for reuse, and modifies."""
    for i in range(1_500):
        yield "submit", (1 + i % 2, "B1", -1, 1 + i % 3, 10_000 + i % 40)
    for i in range(200):
        yield "submit", (3, "B1", 1, 2, 9_000 + i % 30)
    yield "submit", (3, "B1", 1, 2_400, 10_030)  # sweeps most asks
    for order_id in range(1_700, 1_500, -3):  # frees slots between live ones, for reuse
        yield "cancel", (3, "B1", order_id)
    for i in range(300):
        yield "submit", (2, "B1", 1, 1, 9_500 + i % 7)
    for order_id in range(1_800, 1_900, 3):
        yield "modify", (2, "B1", order_id, 5, 10_050)


def test_a_long_day_that_outgrows_every_array_matches_the_reference():
    engine, reference = _world(Ledger, Venue), _world(ReferenceLedger, ReferenceVenue)
    now, most_fills = 0, 0
    for action, args in _requests():
        now += 1
        answers = [getattr(venue, action)(*args, now=now) for _, venue in (engine, reference)]
        assert answers[0] == answers[1]
        most_fills = max(most_fills, len(answers[0].trades))
    assert most_fills > 1_000
    for ledger, _ in (engine, reference):
        assert ledger.settle_due(now + 500) == 0  # not due yet
    assert sorted(engine[1].open_orders()) == sorted(reference[1].open_orders())
    assert engine[0].unsettled == reference[0].unsettled
    assert len(engine[0].unsettled) > 1_000
    for account in (1, 2, 3, engine[1].fee_account):
        mine, theirs = engine[0].account(account), reference[0].account(account)
        assert (mine.cash, mine.cash_locked, mine.pending_cash) == (
            theirs.cash,
            theirs.cash_locked,
            theirs.pending_cash,
        )
        assert (mine.units["B1"], mine.units_locked["B1"], mine.pending_units["B1"]) == (
            theirs.units["B1"],
            theirs.units_locked["B1"],
            theirs.pending_units["B1"],
        )
    for ledger, _ in (engine, reference):
        assert ledger.settle_due(now + 1_000) > 1_000
    assert engine[0].check().to_dict() == reference[0].check().to_dict()


def test_the_kernels_copies_of_shared_codes_agree_with_their_sources():
    # Kept in the kernel's file for numba's cache; they must not drift from the originals.
    from sim.market import _book_kernels as book_kernels

    assert (
        gateway_kernels.STATUS_PARTIAL,
        gateway_kernels.STATUS_CANCELLED,
        gateway_kernels.STATUS_REJECTED,
    ) == (
        book_kernels.S_PARTIAL,
        book_kernels.S_CANCELLED,
        book_kernels.S_REJECTED,
    )
    assert gateway_kernels.MICROS == MICROS
    assert gateway_kernels.MAX_TOTAL == MAX_TOTAL
    assert gateway_kernels.REASON_UNKNOWN_ORDER == Reason.UNKNOWN_ORDER
    assert (
        gateway_kernels.REASON_HALTED,
        gateway_kernels.REASON_PRICE_BAND,
        gateway_kernels.REASON_INSUFFICIENT_CASH,
        gateway_kernels.REASON_INSUFFICIENT_UNITS,
    ) == (Reason.HALTED, Reason.PRICE_BAND, Reason.INSUFFICIENT_CASH, Reason.INSUFFICIENT_UNITS)


def test_importing_the_gateways_kernels_after_the_books_changed_fails_with_what_to_do(
    monkeypatch,
):
    # The fused kernel compiles the book's in; numba would keep running its stale cache.
    gateway_kernels._check_book_kernels()
    monkeypatch.setattr(gateway_kernels, "BOOK_KERNELS_DIGEST", "0" * 16)
    with pytest.raises(ImportError, match=r"set BOOK_KERNELS_DIGEST in _gateway_kernels.py"):
        gateway_kernels._check_book_kernels()


@pytest.mark.parametrize("qty", [2**40, 2**53, 2**62])
def test_an_order_or_modify_too_large_for_int64_arithmetic_is_refused_as_before(qty):
    # Its notional passes int64: the one-call path must leave it to the exact Python checks.
    engine, reference = _world(Ledger, Venue), _world(ReferenceLedger, ReferenceVenue)
    for side in (1, -1):
        ours = engine[1].submit(1, "B1", side, qty, 10_000)
        theirs = reference[1].submit(1, "B1", side, qty, 10_000)
        assert ours == theirs and ours.order_id == 0
    # Likewise a modify that would make a resting order that large.
    for venue in (engine[1], reference[1]):
        venue.submit(1, "B1", 1, 5, 9_500)  # a buy: its cover is cash
    for price in (None, 9_600):
        ours = engine[1].modify(1, "B1", 1, qty=qty, price=price)
        assert ours == reference[1].modify(1, "B1", 1, qty=qty, price=price)
        assert not ours.ok


def test_an_order_or_modify_too_large_for_int64_only_with_its_interest_is_refused_as_before():
    # 4 units at 9_500 ticks of 1 paisa are 38_000 paise, but with 2**61 paise of interest a
    # unit they would lock more than int64 holds: the one-call paths must leave them to the
    # exact Python checks, which find the buyer short of cash.
    engine, reference = _world(Ledger, Venue), _world(ReferenceLedger, ReferenceVenue)
    for _, venue in (engine, reference):
        assert venue.submit(1, "B1", 1, 1, 9_500).ok  # locked with 37 paise of interest
        venue.new_day({"B1": 2**61})
    ours = engine[1].submit(2, "B1", 1, 4, 9_500)
    assert ours == reference[1].submit(2, "B1", 1, 4, 9_500)
    assert ours.reason is Reason.INSUFFICIENT_CASH
    for price in (None, 9_600):
        ours = engine[1].modify(1, "B1", 1, qty=4, price=price)
        assert ours == reference[1].modify(1, "B1", 1, qty=4, price=price)
        assert ours.reason is Reason.INSUFFICIENT_CASH
    assert sorted(engine[1].open_orders()) == sorted(reference[1].open_orders())
    assert engine[0].check().ok


def test_an_order_that_skipped_the_gateway_cannot_trade_on_its_book():
    ledger, venue = _world(Ledger, Venue)
    venue.book("B1").submit(77, -1, 5, 10_000)  # straight into the book: no account behind it
    with pytest.raises(RuntimeError, match="did not come through the venue's gateway"):
        venue.submit(2, "B1", 1, 5, 10_000)
    assert ledger.check().ok  # refused before anything was booked


@pytest.mark.parametrize("account", ["A", 1.0, 2**63, None])
def test_account_ids_are_int64(account):
    with pytest.raises(LedgerError, match="an account id must be an int64"):
        Ledger().open_account(account)


def test_the_conservation_report_totals_cover_the_same_instruments():
    ledger, venue = _world(Ledger, Venue)
    venue.list_instrument(Instrument("C2", Decimal("0.01"), 1, 100), 10_000)  # never issued
    report = ledger.check()
    assert report.units_total == report.units_expected == {"B1": 3 * 10**6, "C2": 0}


@pytest.mark.parametrize("stp", ["cancel-newest", "cancel-oldest"])
def test_a_modify_that_sweeps_more_fills_than_the_arrays_hold_matches_the_reference(stp):
    # 300 resting sells (the trades buffer starts with room for 64), then another account's buy
    # re-priced through all of them: the one-call modify must grow and retry.
    worlds = []
    for ledger_cls, venue_cls in ((Ledger, Venue), (ReferenceLedger, ReferenceVenue)):
        ledger = ledger_cls()
        for account in (1, 2):
            ledger.open_account(account, cash=10**12, units={"B1": 10**6})
        venue = venue_cls("X", ledger, fees=FeeSchedule("0.5", "1.5"), stp=stp)
        venue.list_instrument(BOND, 10_000)
        for account in (1, 2):
            venue.register(account)
        venue.new_day({"B1": 3})
        for i in range(300):
            venue.submit(1, "B1", -1, 1, 10_100 + i % 7)
        buy = venue.submit(2, "B1", 1, 300, 9_000)
        worlds.append((ledger, venue, buy.order_id))
    (ours, ours_venue, oid), (theirs, theirs_venue, _) = worlds
    answer = ours_venue.modify(2, "B1", oid, price=10_200)
    assert answer == theirs_venue.modify(2, "B1", oid, price=10_200)
    assert len(answer.trades) > 64
    for account in (1, 2):
        assert ours.account(account).cash == theirs.account(account).cash
        assert ours.account(account).units["B1"] == theirs.account(account).units["B1"]
    assert sorted(ours_venue.open_orders()) == sorted(theirs_venue.open_orders())
