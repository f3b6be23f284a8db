"""Unit tests of the ledger: small hand-built scenarios with exact paise and units.

Every LedgerError path is checked by its message, and after every refused operation the
ledger must be exactly as it was (a refusal never half-applies).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from sim.market import _gateway_kernels as gateway_kernels
from sim.market.ledger import ConservationReport, Ledger, LedgerError

ALICE, BOB, FEES = 1, 2, -1
BOND = "GS2033"


def state(ledger: Ledger) -> dict:
    """Every balance of every account, with zero entries dropped, for before/after checks."""

    def nonzero(d):
        return {k: v for k, v in d.items() if v}

    return {
        a.account_id: (
            a.cash,
            a.cash_locked,
            a.pending_cash,
            nonzero(a.units),
            nonzero(a.units_locked),
            nonzero(a.pending_units),
        )
        for a in ledger.accounts.values()
    }


def refused(ledger: Ledger, message: str, operation, *args, **kwargs) -> None:
    """`operation` raises LedgerError with exactly `message` and leaves the ledger as it was."""
    before = state(ledger)
    with pytest.raises(LedgerError, match=f"^{re.escape(message)}$"):
        operation(*args, **kwargs)
    assert state(ledger) == before


@pytest.fixture
def ledger() -> Ledger:
    """Alice holds 1000 paise of cash, Bob 10 units of the bond."""
    ledger = Ledger()
    ledger.open_account(ALICE, cash=1000)
    ledger.open_account(BOB, units={BOND: 10})
    return ledger


def tamper(ledger: Ledger, account: int, **deltas: int) -> None:
    """Change balances behind the ledger's back, as a bug would: what `check` must catch.
    `deltas`: cash, cash_locked, units or units_locked (of BOND)."""
    row = ledger.row(account)
    for name, delta in deltas.items():
        if name.startswith("cash"):
            ledger.balances[
                row, gateway_kernels.B_LOCKED if name == "cash_locked" else gateway_kernels.B_CASH
            ] += delta
        else:
            field = gateway_kernels.H_LOCKED if name == "units_locked" else gateway_kernels.H_UNITS
            ledger.holdings[row, ledger.column(BOND), field] += delta


# --- happy paths -------------------------------------------------------------------------


def test_open_account_with_cash_and_units():
    ledger = Ledger()
    acct = ledger.open_account(7, cash=250, units={BOND: 3, "GS2040": 5})
    assert acct is ledger.account(7)
    assert (acct.cash, acct.cash_locked, acct.free_cash) == (250, 0, 250)
    assert (acct.units[BOND], acct.units["GS2040"]) == (3, 5)
    report = ledger.check()
    assert report.ok
    assert (report.cash_total, report.cash_expected) == (250, 250)
    assert report.units_expected == {BOND: 3, "GS2040": 5}


def test_open_account_empty():
    acct = Ledger().open_account(3)
    assert (acct.cash, acct.free_cash, acct.units[BOND], acct.position(BOND)) == (0, 0, 0, 0)


def test_deposit_and_withdraw_count_as_external_cash(ledger):
    ledger.deposit(ALICE, 500)
    ledger.withdraw(ALICE, 1200)
    assert ledger.account(ALICE).cash == 300
    report = ledger.check()
    assert report.ok
    assert (report.cash_total, report.cash_expected) == (300, 300)


def test_withdraw_exactly_the_free_cash(ledger):
    ledger.lock_cash(ALICE, 300)
    ledger.withdraw(ALICE, 700)
    acct = ledger.account(ALICE)
    assert (acct.cash, acct.cash_locked, acct.free_cash) == (300, 300, 0)


def test_issue_units_adds_to_holding_and_to_issued_total(ledger):
    ledger.issue_units(BOB, BOND, 5)
    ledger.issue_units(ALICE, BOND, 2)
    assert (ledger.account(BOB).units[BOND], ledger.account(ALICE).units[BOND]) == (15, 2)
    report = ledger.check()
    assert report.ok
    assert report.units_total == report.units_expected == {BOND: 17}


def test_transfer_cash_against_units(ledger):
    # Alice pays Bob 300 paise; Bob delivers 4 units to Alice.
    ledger.transfer(ALICE, BOB, cash=300, instrument=BOND, qty=4)
    alice, bob = ledger.account(ALICE), ledger.account(BOB)
    assert (alice.cash, alice.units[BOND]) == (700, 4)
    assert (bob.cash, bob.units[BOND]) == (300, 6)
    report = ledger.check()
    assert report.ok
    assert report.cash_total == 1000
    assert report.units_total == {BOND: 10}


def journaled(ledger: Ledger) -> list[tuple]:
    entries = []
    ledger.journal = lambda *entry: entries.append(entry)
    return entries


def test_pay_holders_pays_each_holder_of_settled_units(ledger):
    payer = -99
    ledger.open_account(payer, cash=10_000)
    ledger.transfer(ALICE, BOB, cash=0, instrument=BOND, qty=3)  # Alice 3 units, Bob 7
    entries = journaled(ledger)
    assert ledger.pay_holders(payer, BOND, 250, "coupon") == [(ALICE, 3, 750), (BOB, 7, 1750)]
    assert [ledger.account(a).cash for a in (ALICE, BOB, payer)] == [1750, 1750, 7500]
    assert entries == [
        ("coupon", payer, ALICE, 750, BOND, 0),
        ("coupon", payer, BOB, 1750, BOND, 0),
    ]
    message = f"account {payer}: coupon of 10000 paise on {BOND} exceeds its free cash 7500"
    refused(ledger, message, ledger.pay_holders, payer, BOND, 1000, "coupon")
    assert ledger.check().ok


def test_redeem_takes_every_holders_units_for_cash(ledger):
    payer = -99
    ledger.open_account(payer, cash=103_781 * 10)
    ledger.transfer(ALICE, BOB, cash=0, instrument=BOND, qty=3)
    entries = journaled(ledger)
    assert ledger.redeem(payer, BOND, 103_781) == [(ALICE, 3, 311_343), (BOB, 7, 726_467)]
    assert ledger.holders(BOND) == [(payer, 10)]
    assert [ledger.account(a).cash for a in (ALICE, BOB, payer)] == [312_343, 726_467, 0]
    assert entries == [
        ("redemption", payer, ALICE, 311_343, BOND, 3),
        ("redemption", payer, BOB, 726_467, BOND, 7),
    ]
    report = ledger.check()
    assert report.ok and report.units_total == {BOND: 10}


def test_redeem_refuses_a_short_payer_or_locked_units(ledger):
    payer = -99
    ledger.open_account(payer, cash=999)
    message = f"account {payer}: redemption of 1000 paise on {BOND} exceeds its free cash 999"
    refused(ledger, message, ledger.redeem, payer, BOND, 100)
    ledger.deposit(payer, 1)
    ledger.lock_units(BOB, BOND, 1)
    refused(ledger, f"account {BOB}: 10 {BOND} to redeem, but some are locked",
            ledger.redeem, payer, BOND, 100)  # fmt: skip


def test_transfer_cash_only_and_units_only(ledger):
    ledger.transfer(ALICE, BOB, cash=1000)
    ledger.transfer(ALICE, BOB, instrument=BOND, qty=10)
    assert (ledger.account(ALICE).cash, ledger.account(ALICE).units[BOND]) == (0, 10)
    assert (ledger.account(BOB).cash, ledger.account(BOB).units[BOND]) == (1000, 0)
    assert ledger.check().ok


def test_lock_and_unlock_cash(ledger):
    ledger.lock_cash(ALICE, 400)
    ledger.lock_cash(ALICE, 0)  # a zero lock is allowed
    acct = ledger.account(ALICE)
    assert (acct.cash, acct.cash_locked, acct.free_cash) == (1000, 400, 600)
    ledger.unlock_cash(ALICE, 150)
    assert (acct.cash_locked, acct.free_cash) == (250, 750)
    ledger.unlock_cash(ALICE, 250)
    assert (acct.cash_locked, acct.free_cash) == (0, 1000)


def test_lock_and_unlock_units(ledger):
    ledger.lock_units(BOB, BOND, 10)
    acct = ledger.account(BOB)
    assert (acct.units[BOND], acct.units_locked[BOND], acct.free_units(BOND)) == (10, 10, 0)
    ledger.unlock_units(BOB, BOND, 3)
    assert acct.free_units(BOND) == 3
    assert ledger.check().ok


def test_unlock_exactly_the_locked_units(ledger):
    ledger.lock_units(BOB, BOND, 5)
    ledger.unlock_units(BOB, BOND, 5)
    acct = ledger.account(BOB)
    assert (acct.units_locked[BOND], acct.free_units(BOND)) == (0, 10)


# --- trades and settlement at the ledger level ---------------------------------------------


def book(ledger: Ledger, settle_at: int, now: int = 0, **overrides):
    """Alice buys 4 units from Bob for 400 paise (plus any `accrued` interest), fees 3 (Alice)
    and 2 (Bob)."""
    ledger.lock_cash(ALICE, 403 + overrides.get("accrued", 0))
    ledger.lock_units(BOB, BOND, 4)
    trade = dict(
        instrument=BOND,
        buyer=ALICE,
        seller=BOB,
        qty=4,
        notional=400,
        buyer_fee=3,
        seller_fee=2,
        fee_account=FEES,
        settle_at=settle_at,
        now=now,
    )
    return ledger.book_trade(**(trade | overrides))


def test_book_trade_settles_at_its_time(ledger):
    ledger.open_account(FEES)
    record = book(ledger, settle_at=10)
    assert (record.buyer_pays, record.seller_receives) == (403, 398)
    alice, bob, fees = ledger.account(ALICE), ledger.account(BOB), ledger.account(FEES)
    # Booked, not settled: nothing has moved, both sides' obligations stay locked.
    assert (alice.cash, alice.cash_locked, alice.pending_cash, alice.units[BOND]) == (
        1000,
        403,
        -403,
        0,
    )
    assert (alice.position(BOND), bob.position(BOND)) == (4, 6)
    assert (bob.units[BOND], bob.units_locked[BOND], bob.pending_cash) == (10, 4, 398)
    assert ledger.unsettled == (record,)
    assert ledger.check().ok
    assert ledger.check().unsettled_trades == 1

    assert ledger.settle_due(9) == 0
    assert alice.cash == 1000
    assert ledger.settle_due(10) == 1
    assert (alice.cash, alice.cash_locked, alice.pending_cash, alice.units[BOND]) == (597, 0, 0, 4)
    assert (bob.cash, bob.units[BOND], bob.units_locked[BOND], bob.pending_cash) == (398, 6, 0, 0)
    assert fees.cash == 5
    assert ledger.unsettled == ()
    assert ledger.settle_due(10) == 0
    report = ledger.check()
    assert report.ok
    assert (report.cash_total, report.unsettled_trades) == (1000, 0)


def test_trade_ids_count_from_one(ledger):
    ledger.open_account(FEES)
    assert book(ledger, settle_at=0).trade_id == 1  # settled at once, numbered all the same
    assert book(ledger, settle_at=10).trade_id == 2
    assert [s.trade_id for s in ledger.unsettled] == [2]


def test_a_seller_fee_may_take_the_whole_notional(ledger):
    ledger.open_account(FEES)
    record = book(ledger, settle_at=0, seller_fee=400)
    assert record.seller_receives == 0
    assert (ledger.account(BOB).cash, ledger.account(FEES).cash) == (0, 403)
    assert ledger.check().ok


def test_hundreds_of_unsettled_trades_are_kept_in_booking_order(ledger):
    ledger.open_account(FEES)
    ledger.deposit(ALICE, 200 * 403)
    ledger.issue_units(BOB, BOND, 200 * 4)
    for k in range(1, 201):  # the settlements array starts with room for 64
        book(ledger, settle_at=1_000 + k)
        assert len(ledger.unsettled) == k
        # Room grows with the trades, not faster: doubling on every trade exhausts memory.
        assert len(ledger.settlements) <= 4 * max(k, 64)
    assert [s.trade_id for s in ledger.unsettled] == list(range(1, 201))
    assert [s.settle_at for s in ledger.unsettled] == list(range(1_001, 1_201))
    assert ledger.check().ok
    assert ledger.settle_due(1_100) == 100
    assert [s.trade_id for s in ledger.unsettled] == list(range(101, 201))
    assert ledger.settle_due(1_200) == 100
    alice, bob = ledger.account(ALICE), ledger.account(BOB)
    assert (alice.cash, alice.cash_locked, alice.units[BOND]) == (1000, 0, 800)
    assert (bob.cash, bob.units[BOND], bob.units_locked[BOND]) == (200 * 398, 10, 0)
    assert ledger.account(FEES).cash == 200 * 5
    assert ledger.check().ok


def test_reserve_settlements_makes_room_for_n_more(ledger):
    ledger.open_account(FEES)
    ledger.deposit(ALICE, 63 * 403)
    ledger.issue_units(BOB, BOND, 63 * 4)
    for _ in range(63):  # one row short of the first size, 64
        book(ledger, settle_at=10)
    ledger.reserve_settlements(3)
    assert len(ledger.settlements) >= 63 + 3


def test_book_trade_due_now_settles_at_once(ledger):
    ledger.open_account(FEES)
    book(ledger, settle_at=5, now=5)
    assert ledger.unsettled == ()
    assert (ledger.account(ALICE).cash, ledger.account(BOB).cash) == (597, 398)
    assert ledger.check().ok


def test_book_trade_settles_accrued_interest_to_the_seller(ledger):
    ledger.open_account(FEES)
    record = book(ledger, settle_at=5, now=5, accrued=120)
    # Alice pays 400 + 120 + 3 = 523, Bob receives 400 + 120 - 2 = 518, the fees are 5: the
    # 1000 paise are all still there.
    assert (record.accrued, record.buyer_pays, record.seller_receives) == (120, 523, 518)
    assert ledger.unsettled == ()
    alice, bob = ledger.account(ALICE), ledger.account(BOB)
    assert (alice.cash, alice.cash_locked, alice.pending_cash, alice.units[BOND]) == (477, 0, 0, 4)
    assert (bob.cash, bob.pending_cash, bob.units[BOND]) == (518, 0, 6)
    assert ledger.account(FEES).cash == 5
    report = ledger.check()
    assert report.ok
    assert (report.cash_total, report.cash_expected) == (1000, 1000)


def test_an_unsettled_trades_settlement_reports_its_accrued_interest(ledger):
    ledger.open_account(FEES)
    record = book(ledger, settle_at=10, accrued=120)
    (pending,) = ledger.unsettled
    assert pending == record
    assert (pending.notional, pending.accrued) == (400, 120)
    assert (pending.buyer_pays, pending.seller_receives) == (523, 518)
    alice, bob = ledger.account(ALICE), ledger.account(BOB)
    assert (alice.cash, alice.cash_locked, alice.pending_cash) == (1000, 523, -523)
    assert bob.pending_cash == 518
    assert ledger.check().ok  # Alice's lock covers all she owes, the interest included
    assert ledger.settle_due(10) == 1
    assert (alice.cash, alice.cash_locked, bob.cash, ledger.account(FEES).cash) == (477, 0, 518, 5)
    assert ledger.check().ok


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"qty": 0}, "quantity must be a positive whole number of paise/units, got 0"),
        ({"notional": -1}, "notional must be a positive whole number of paise/units, got -1"),
        ({"seller_fee": 401}, "seller fee 401 exceeds the notional 400"),
        (
            {"qty": 2**62 + 1},
            "a trade's quantity of 4611686018427387905 would take the ledger's total past "
            "4611686018427387904 (2**62)",
        ),
        (
            {"notional": 2**62 + 1},
            "a trade's notional of 4611686018427387905 would take the ledger's total past "
            "4611686018427387904 (2**62)",
        ),
        (
            {"accrued": -1},
            "accrued interest must be a non-negative whole number of paise/units, got -1",
        ),
        (
            {"accrued": 1.0},
            "accrued interest must be a non-negative whole number of paise/units, got 1.0",
        ),
        ({"fee_account": 99}, "no account 99"),
        ({"buyer": 99}, "no account 99"),
    ],
)
def test_book_trade_refusals(ledger, overrides, message):
    ledger.open_account(FEES)
    ledger.lock_cash(ALICE, 403)
    ledger.lock_units(BOB, BOND, 4)
    refused(ledger, message, _book_only, ledger, overrides)
    assert ledger.unsettled == ()


def _book_only(ledger: Ledger, overrides: dict) -> None:
    """book_trade alone (the locks are already in place)."""
    trade = dict(
        instrument=BOND,
        buyer=ALICE,
        seller=BOB,
        qty=4,
        notional=400,
        buyer_fee=3,
        seller_fee=2,
        fee_account=FEES,
        settle_at=10,
        now=0,
    )
    ledger.book_trade(**(trade | overrides))


# --- every LedgerError path --------------------------------------------------------------


def test_duplicate_account(ledger):
    refused(ledger, "account 1 already exists", ledger.open_account, ALICE)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("account", (99,)),
        ("deposit", (99, 1)),
        ("withdraw", (99, 1)),
        ("issue_units", (99, BOND, 1)),
        ("lock_cash", (99, 1)),
        ("unlock_cash", (99, 1)),
        ("lock_units", (99, BOND, 1)),
        ("unlock_units", (99, BOND, 1)),
    ],
)
def test_unknown_account(ledger, method, args):
    refused(ledger, "no account 99", getattr(ledger, method), *args)


def test_transfer_with_an_unknown_account(ledger):
    refused(ledger, "no account 99", ledger.transfer, ALICE, 99, cash=1)
    refused(ledger, "no account 99", ledger.transfer, 99, BOB, instrument=BOND, qty=1)


POSITIVE = "must be a positive whole number of paise/units, got "
NON_NEGATIVE = "must be a non-negative whole number of paise/units, got "


@pytest.mark.parametrize("amount", [0, -5, 1.0, 2.5, True, "10", None])
def test_deposit_needs_a_positive_int(ledger, amount):
    refused(ledger, f"deposit {POSITIVE}{amount!r}", ledger.deposit, ALICE, amount)


@pytest.mark.parametrize("amount", [0, -1, 1.0, True])
def test_withdraw_and_issue_need_a_positive_int(ledger, amount):
    refused(ledger, f"withdrawal {POSITIVE}{amount!r}", ledger.withdraw, ALICE, amount)
    refused(ledger, f"unit issue {POSITIVE}{amount!r}", ledger.issue_units, BOB, BOND, amount)


@pytest.mark.parametrize("amount", [-1, 1.0, True, False])
def test_locks_need_a_non_negative_int(ledger, amount):
    ledger.lock_cash(ALICE, 10)
    ledger.lock_units(BOB, BOND, 2)
    refused(ledger, f"cash lock {NON_NEGATIVE}{amount!r}", ledger.lock_cash, ALICE, amount)
    refused(ledger, f"cash unlock {NON_NEGATIVE}{amount!r}", ledger.unlock_cash, ALICE, amount)
    lock_units, unlock_units = ledger.lock_units, ledger.unlock_units
    refused(ledger, f"unit lock {NON_NEGATIVE}{amount!r}", lock_units, BOB, BOND, amount)
    refused(ledger, f"unit unlock {NON_NEGATIVE}{amount!r}", unlock_units, BOB, BOND, amount)


@pytest.mark.parametrize("amount", [-1, 3.0, True])
def test_transfer_needs_non_negative_ints(ledger, amount):
    refused(ledger, f"transfer cash {NON_NEGATIVE}{amount!r}", ledger.transfer, ALICE, BOB, amount)
    refused(
        ledger,
        f"transfer units {NON_NEGATIVE}{amount!r}",
        ledger.transfer,
        ALICE,
        BOB,
        instrument=BOND,
        qty=amount,
    )


def test_withdraw_beyond_free_cash(ledger):
    ledger.lock_cash(ALICE, 300)
    refused(
        ledger, "account 1: withdrawal of 701 paise exceeds free cash 700", ledger.withdraw, 1, 701
    )


def test_lock_beyond_free_cash(ledger):
    ledger.lock_cash(ALICE, 300)
    refused(ledger, "account 1: needs 701 paise, has 700", ledger.lock_cash, ALICE, 701)
    ledger.lock_cash(ALICE, 700)
    assert ledger.account(ALICE).free_cash == 0


def test_lock_beyond_free_units(ledger):
    ledger.lock_units(BOB, BOND, 4)
    refused(ledger, f"account 2: needs 7 {BOND}, has 6", ledger.lock_units, BOB, BOND, 7)
    refused(ledger, "account 1: needs 1 GS2033, has 0", ledger.lock_units, ALICE, BOND, 1)


def test_unlock_beyond_locked(ledger):
    ledger.lock_cash(ALICE, 300)
    ledger.lock_units(BOB, BOND, 4)
    refused(ledger, "account 1: unlocks 301, only 300", ledger.unlock_cash, ALICE, 301)
    refused(ledger, f"account 2: unlocks 5 {BOND}, too many", ledger.unlock_units, BOB, BOND, 5)


def test_transfer_beyond_free_cash_or_units(ledger):
    ledger.lock_cash(ALICE, 1)
    ledger.lock_units(BOB, BOND, 1)
    refused(
        ledger,
        "account 1: transfer of 1000 exceeds free cash",
        ledger.transfer,
        ALICE,
        BOB,
        cash=1000,
        instrument=BOND,
        qty=1,
    )
    refused(
        ledger,
        f"account 2: delivery of 10 {BOND} exceeds free units",
        ledger.transfer,
        ALICE,
        BOB,
        cash=1,
        instrument=BOND,
        qty=10,
    )


def test_refused_open_account_leaves_no_account():
    ledger = Ledger()
    with pytest.raises(LedgerError, match="deposit must be a positive"):
        ledger.open_account(7, cash=-1)
    assert 7 not in ledger.accounts
    ledger.open_account(7, cash=1)  # the corrected retry


# --- the conservation report -------------------------------------------------------------


def test_check_on_a_sound_ledger(ledger):
    report = ledger.check()
    assert report == ConservationReport(
        ok=True,
        cash_total=1000,
        cash_expected=1000,
        units_total={BOND: 10},
        units_expected={BOND: 10},
        unsettled_trades=0,
        problems=(),
    )


def test_check_catches_cash_created_from_nothing(ledger):
    tamper(ledger, ALICE, cash=1)
    report = ledger.check()
    assert not report.ok
    assert (report.cash_total, report.cash_expected) == (1001, 1000)
    assert report.problems == ("cash total 1001 != deposits net 1000",)


def test_check_catches_units_created_from_nothing(ledger):
    tamper(ledger, BOB, units=1)
    report = ledger.check()
    assert not report.ok
    assert report.problems == (f"{BOND}: 11 units held, 10 issued",)


def test_check_catches_cash_vanishing(ledger):
    tamper(ledger, ALICE, cash=-1)  # a paisa leaves without a withdrawal
    report = ledger.check()
    assert not report.ok
    assert (report.cash_total, report.cash_expected) == (999, 1000)
    assert report.problems == ("cash total 999 != deposits net 1000",)


def test_check_catches_units_vanishing(ledger):
    tamper(ledger, BOB, units=-1)  # a unit leaves without anyone receiving it
    report = ledger.check()
    assert not report.ok
    assert (report.units_total, report.units_expected) == ({BOND: 9}, {BOND: 10})
    assert report.problems == (f"{BOND}: 9 units held, 10 issued",)


def test_check_catches_every_unit_of_an_instrument_vanishing(ledger):
    tamper(ledger, BOB, units=-10)  # no account holds the bond any more; it was still issued
    assert ledger.check().problems == (f"{BOND}: 0 units held, 10 issued",)


def test_check_catches_a_settlement_that_pays_fees_to_no_account(ledger):
    """A settlement whose fee row points past the opened accounts: the buyer pays 403, the
    seller gets 398, and the 5 paise of fees land in a row no account owns."""
    ledger.open_account(FEES)
    book(ledger, settle_at=10)
    ledger.settlements[0, gateway_kernels.S_FEE_ROW] = len(ledger.rows)  # spare capacity
    assert ledger.settle_due(10) == 1
    report = ledger.check()
    assert not report.ok
    assert (report.cash_total, report.cash_expected) == (995, 1000)
    assert report.problems == ("cash total 995 != deposits net 1000",)


def test_check_catches_a_settlement_that_delivers_to_no_account(ledger):
    """The buyer's row points past the opened accounts: the seller delivers 4 units and is
    paid 398, but the units go to, and the 403 paise come from, a row no account owns."""
    ledger.open_account(FEES)
    book(ledger, settle_at=10)
    ledger.settlements[0, gateway_kernels.S_BUYER] = len(ledger.rows)
    assert ledger.settle_due(10) == 1
    assert ledger.check().problems == (
        "cash total 1403 != deposits net 1000",
        f"{BOND}: 6 units held, 10 issued",
    )


def test_check_catches_negative_cash_even_when_totals_balance(ledger):
    tamper(ledger, ALICE, cash=-1500)
    tamper(ledger, BOB, cash=1500)
    report = ledger.check()
    assert not report.ok
    assert report.problems == ("account 1: negative cash -500",)


def test_check_catches_bad_locks(ledger):
    tamper(ledger, ALICE, cash_locked=1001)
    tamper(ledger, BOB, units_locked=11)
    assert ledger.check().problems == (
        "account 1: locked cash 1001 outside [0, 1000]",
        f"account 2: {BOND} units 10, locked 11",
    )


def test_check_catches_unsettled_trades_not_covered_by_locks(ledger):
    ledger.open_account(FEES)
    book(ledger, settle_at=10)
    tamper(ledger, ALICE, cash_locked=-1)
    tamper(ledger, BOB, units_locked=-1)
    assert ledger.check().problems == (
        "account 1: locked cash below what unsettled trades owe",
        f"account 2: locked {BOND} below what trades owe",
    )


@pytest.mark.parametrize(
    ("tampering", "problems"),
    [
        ({ALICE: {"cash": -1001}, BOB: {"cash": 1001}}, ["account 1: negative cash -1"]),
        (
            {ALICE: {"cash_locked": -1}},
            [
                "account 1: locked cash -1 outside [0, 1000]",
                "account 1: locked cash below what unsettled trades owe",
            ],
        ),
        ({BOB: {"cash_locked": 1}}, ["account 2: locked cash 1 outside [0, 0]"]),
        ({ALICE: {"units": -1}, BOB: {"units": 1}}, [f"account 1: {BOND} units -1, locked 0"]),
        (
            {BOB: {"units_locked": -1}},
            [
                f"account 2: {BOND} units 10, locked -1",
                f"account 2: locked {BOND} below what trades owe",
            ],
        ),
    ],
)
def test_check_catches_an_account_one_past_its_bounds(ledger, tampering, problems):
    for account, deltas in tampering.items():
        tamper(ledger, account, **deltas)
    assert list(ledger.check().problems) == problems


def test_check_on_an_instrument_listed_but_never_issued(ledger):
    ledger.column("GS2040")  # as a venue listing it does
    report = ledger.check()
    assert report.ok
    assert report.units_total == report.units_expected == {BOND: 10, "GS2040": 0}


def test_the_report_is_frozen(ledger):
    report = ledger.check()
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False


def test_check_catches_unsettled_accrued_interest_not_covered_by_locks(ledger):
    ledger.open_account(FEES)
    book(ledger, settle_at=10, accrued=120)  # Alice owes 400 + 120 + 3 = 523, all locked
    tamper(ledger, ALICE, cash_locked=-1)
    assert ledger.check().problems == ("account 1: locked cash below what unsettled trades owe",)


def test_report_to_dict(ledger):
    tamper(ledger, ALICE, cash=1)
    d = ledger.check().to_dict()
    assert d == {
        "ok": False,
        "cash_total_paise": 1001,
        "cash_expected_paise": 1000,
        "units_total": {BOND: 10},
        "units_expected": {BOND: 10},
        "unsettled_trades": 0,
        "problems": ["cash total 1001 != deposits net 1000"],
    }


def test_the_journal_hears_every_movement_off_the_books():
    heard = []
    ledger = Ledger(journal=lambda *movement: heard.append(movement))
    ledger.open_account(1, cash=500, units={"B": 3})
    ledger.open_account(2, cash=100)
    ledger.transfer(2, 1, cash=40, instrument="B", qty=1)  # 2 buys a unit from 1, off the book
    ledger.withdraw(1, 60)
    assert heard == [
        ("deposit", None, 1, 500, None, 0),
        ("issue", None, 1, 0, "B", 3),
        ("deposit", None, 2, 100, None, 0),
        ("transfer", 2, 1, 40, "B", 1),
        ("withdrawal", 1, None, 60, None, 0),
    ]


# --- the ledger's bounds, at their edges ------------------------------------------------------


@pytest.mark.parametrize("account_id", [-(2**63), 0, 2**63 - 1])
def test_every_int64_is_an_account_id(account_id):
    assert Ledger().open_account(account_id).account_id == account_id


@pytest.mark.parametrize("account_id", [-(2**63) - 1, 2**63, 2**64, True, 1.0])
def test_an_id_outside_int64_is_refused(account_id):
    with pytest.raises(LedgerError, match="an account id must be an int64"):
        Ledger().open_account(account_id)


def test_deposits_stop_at_two_to_the_62_paise_in_all():
    ledger = Ledger()
    ledger.open_account(1, cash=2**62 - 5)
    ledger.open_account(2)
    ledger.deposit(2, 5)  # exactly 2**62 in all
    with pytest.raises(LedgerError, match=r"past 4611686018427387904 \(2\*\*62\)"):
        ledger.deposit(2, 1)
    with pytest.raises(LedgerError, match=r"past 4611686018427387904"):
        ledger.open_account(3, cash=1)
    assert 3 not in ledger.accounts  # a refused opening leaves no account behind
    assert ledger.check().ok


def test_unit_issues_stop_at_two_to_the_62_units_per_instrument():
    ledger = Ledger()
    ledger.open_account(1, units={"GS2033": 2**62})
    ledger.open_account(2, units={"GS2034": 7})  # another instrument has its own total
    with pytest.raises(LedgerError, match=r"unit issue of 1 would take the ledger's total past"):
        ledger.issue_units(2, "GS2033", 1)
    assert ledger.check().ok


def test_a_first_issue_past_two_to_the_62_units_is_refused(ledger):
    message = (
        "unit issue of 4611686018427387905 would take the ledger's total past "
        "4611686018427387904 (2**62)"
    )
    refused(ledger, message, ledger.issue_units, BOB, "GS2040", 2**62 + 1)
    refused(ledger, message, ledger.open_account, 3, units={"GS2040": 2**62 + 1})


def test_a_trade_of_two_to_the_62_units_and_paise_books():
    ledger = Ledger()
    alice = ledger.open_account(ALICE, cash=2**62)
    bob = ledger.open_account(BOB, units={BOND: 2**62})
    ledger.open_account(FEES)
    ledger.lock_cash(ALICE, 2**62)
    ledger.lock_units(BOB, BOND, 2**62)
    ledger.book_trade(
        instrument=BOND,
        buyer=ALICE,
        seller=BOB,
        qty=2**62,
        notional=2**62,
        buyer_fee=0,
        seller_fee=0,
        fee_account=FEES,
        settle_at=10,
        now=0,
    )
    assert ledger.check().ok
    assert ledger.settle_due(10) == 1
    assert (alice.cash, alice.units[BOND], bob.cash, bob.units[BOND]) == (0, 2**62, 2**62, 0)
    assert ledger.check().ok


def test_the_arrays_grow_past_their_first_size_and_keep_every_balance():
    ledger = Ledger()
    instruments = [f"B{k}" for k in range(5)]  # holdings start with room for one instrument
    for account in range(100):  # and balances for 16 accounts
        ledger.open_account(
            account, cash=1_000 + account, units={s: account + 1 for s in instruments}
        )
    for account in range(100):
        view = ledger.account(account)
        assert view.cash == 1_000 + account
        assert [view.position(s) for s in instruments] == [account + 1] * 5
    assert ledger.check().ok


def test_an_opening_refused_for_its_units_leaves_nothing_behind():
    ledger = Ledger()
    with pytest.raises(LedgerError, match="unit issue"):
        ledger.open_account(1, cash=500, units={"GS2033": 10, "GS2034": -1})
    assert 1 not in ledger.accounts and ledger.check().cash_total == 0
    ledger.open_account(1, cash=500)  # the id is still free
    assert ledger.account(1).cash == 500
