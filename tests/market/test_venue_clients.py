"""Client codes at the venue: one account trading for many clients (an omnibus account).

Self-trade prevention applies per (account, client): two clients of one account trade with each
other, one client's orders meet each other under the venue's STP mode, and the ledger books
everything to the account. Client 0 is the account itself, so accounts that send no code
behave exactly as before. Conventions as in test_venue.py: a price of 10_000 ticks makes one
unit cost 100_000 paise, and takers pay 1 bp.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.market.ledger import Ledger
from sim.market.messages import OpenOrder
from sim.market.orders import Reason, Side, Status
from sim.market.venue import MAX_CLIENT, Instrument, Venue
from tests.helpers.reference_book import ReferenceBook

BOND = "GS2033"
PAR = 10_000
OMNIBUS, OTHER = 1, 2
RICH = 10**12


def market(stp: str = "cancel-newest", **venue_kwargs) -> tuple[Ledger, Venue]:
    """A venue listing one bond; OMNIBUS and OTHER both hold cash and units."""
    ledger = Ledger()
    venue = Venue("NSE", ledger, stp=stp, **venue_kwargs)
    venue.list_instrument(Instrument(BOND), PAR)
    for account in (OMNIBUS, OTHER):
        ledger.open_account(account, cash=RICH, units={BOND: 10_000})
        venue.register(account)
    return ledger, venue


def test_two_clients_of_one_account_trade_with_each_other():
    ledger, venue = market()
    before = ledger.account(OMNIBUS).cash
    resting = venue.submit(OMNIBUS, BOND, "sell", 5, PAR, client=7)
    assert resting.status is Status.ACCEPTED and resting.client == 7
    taking = venue.submit(OMNIBUS, BOND, "buy", 5, PAR, client=8)
    assert taking.status is Status.FILLED and taking.client == 8
    (trade,) = taking.trades
    assert (trade.maker_account, trade.taker_account) == (OMNIBUS, OMNIBUS)
    assert (trade.maker_client, trade.taker_client) == (7, 8)
    assert (trade.maker_order_id, trade.taker_order_id) == (resting.order_id, taking.order_id)
    # The ledger sees one account on both sides: its units are unchanged and it pays the fee.
    account = ledger.account(OMNIBUS)
    assert account.units[BOND] == 10_000
    assert account.cash == before - trade.taker_fee == before - 50
    assert account.cash_locked == 0 and account.units_locked[BOND] == 0
    assert ledger.check().ok


def test_client_zero_is_the_account_itself_and_trades_with_its_other_clients():
    _, venue = market()
    venue.submit(OMNIBUS, BOND, "sell", 5, PAR)
    taking = venue.submit(OMNIBUS, BOND, "buy", 5, PAR, client=1)
    assert taking.status is Status.FILLED
    assert (taking.trades[0].maker_client, taking.trades[0].taker_client) == (0, 1)


def test_without_codes_an_account_still_meets_itself_under_stp():
    _, venue = market()
    resting = venue.submit(OMNIBUS, BOND, "sell", 5, PAR)
    taking = venue.submit(OMNIBUS, BOND, "buy", 5, PAR)
    assert (taking.status, taking.reason) == (Status.CANCELLED, Reason.SELF_TRADE)
    assert venue.book(BOND).order(resting.order_id).is_open


@pytest.mark.parametrize(
    ("stp", "resting_open", "taker_status"),
    [
        ("cancel-newest", True, Status.CANCELLED),
        ("cancel-oldest", False, Status.ACCEPTED),
        ("cancel-both", False, Status.CANCELLED),
    ],
)
def test_one_client_meets_its_own_order_under_the_venues_stp_mode(stp, resting_open, taker_status):
    ledger, venue = market(stp)
    resting = venue.submit(OMNIBUS, BOND, "sell", 5, PAR, client=3)
    taking = venue.submit(OMNIBUS, BOND, "buy", 5, PAR, client=3)
    assert taking.status is taker_status and not taking.trades
    assert venue.book(BOND).order(resting.order_id).is_open is resting_open
    open_ids = {o.order_id for o in venue.open_orders(OMNIBUS)}
    assert (resting.order_id in open_ids) is resting_open
    if not resting_open:
        assert [c.order_id for c in taking.cancelled] == [resting.order_id]
        assert taking.cancelled[0].reason is Reason.SELF_TRADE
    # Whatever was cancelled gave its lock back.
    locked = sum(o.units_locked for o in venue.open_orders(OMNIBUS))
    assert ledger.account(OMNIBUS).units_locked[BOND] == locked


def test_other_accounts_are_unaffected_by_codes():
    _, venue = market()
    # The same client code under two accounts is two different clients.
    venue.submit(OTHER, BOND, "sell", 5, PAR, client=3)
    assert venue.submit(OMNIBUS, BOND, "buy", 5, PAR, client=3).status is Status.FILLED
    # Another account's client 0 meets an omnibus client as any two accounts meet.
    venue.submit(OTHER, BOND, "sell", 5, PAR)
    taking = venue.submit(OMNIBUS, BOND, "buy", 5, PAR, client=9)
    assert taking.status is Status.FILLED
    assert (taking.trades[0].maker_account, taking.trades[0].maker_client) == (OTHER, 0)


def test_book_owner_is_the_account_for_client_zero():
    _, venue = market()
    plain = venue.submit(OMNIBUS, BOND, "buy", 1, PAR - 5)
    coded = venue.submit(OMNIBUS, BOND, "buy", 1, PAR - 5, client=2)
    assert venue.book(BOND).order(plain.order_id).owner == OMNIBUS
    assert venue.book(BOND).order(coded.order_id).owner == OMNIBUS + 2 * 2**32


def test_an_account_cancels_and_modifies_any_of_its_clients_orders():
    _, venue = market()
    first = venue.submit(OMNIBUS, BOND, "buy", 4, PAR - 10, client=11)
    second = venue.submit(OMNIBUS, BOND, "buy", 4, PAR - 10, client=12)
    assert venue.open_orders(OMNIBUS) == [
        OpenOrder(BOND, first.order_id, OMNIBUS, Side.BUY, PAR - 10, 4, 399_639, 0, 11),
        OpenOrder(BOND, second.order_id, OMNIBUS, Side.BUY, PAR - 10, 4, 399_639, 0, 12),
    ]
    refused = venue.cancel(OTHER, BOND, first.order_id)
    assert (refused.status, refused.reason) == (Status.REJECTED, Reason.UNKNOWN_ORDER)
    cancelled = venue.cancel(OMNIBUS, BOND, first.order_id)
    assert cancelled.status is Status.CANCELLED and cancelled.client == 11
    modified = venue.modify(OMNIBUS, BOND, second.order_id, qty=2)
    assert modified.ok and modified.client == 12
    assert [(o.order_id, o.qty) for o in venue.open_orders(OMNIBUS)] == [(second.order_id, 2)]


def test_clients_share_their_accounts_cash():
    ledger = Ledger()
    venue = Venue("NSE", ledger)
    venue.list_instrument(Instrument(BOND), PAR)
    ledger.open_account(OMNIBUS, cash=100_010)  # one unit at par plus the 1 bp fee
    venue.register(OMNIBUS)
    assert venue.submit(OMNIBUS, BOND, "buy", 1, PAR, client=1).status is Status.ACCEPTED
    refused = venue.submit(OMNIBUS, BOND, "buy", 1, PAR, client=2)
    assert (refused.reason, refused.client) == (Reason.INSUFFICIENT_CASH, 2)


@pytest.mark.parametrize("client", [-1, MAX_CLIENT + 1, 2**63, 1.0, "3", None, True])
def test_bad_client_codes_are_refused(client):
    ledger, venue = market()
    before = ledger.account(OMNIBUS).cash_locked
    response = venue.submit(OMNIBUS, BOND, "buy", 1, PAR, client=client)
    assert (response.status, response.reason) == (Status.REJECTED, Reason.BAD_CLIENT)
    assert response.order_id == 0 and response.client == 0
    assert ledger.account(OMNIBUS).cash_locked == before
    assert venue.book(BOND).next_order_id == 1
    assert "client code must be an integer in 0..2**31-1" in Reason.BAD_CLIENT.message


def test_codes_need_an_account_id_below_two_to_the_32():
    ledger = Ledger()
    venue = Venue("NSE", ledger)
    venue.list_instrument(Instrument(BOND), PAR)
    big = 2**32 + 1
    ledger.open_account(big, cash=RICH)
    venue.register(big)
    refused = venue.submit(big, BOND, "buy", 1, PAR, client=1)
    assert refused.reason is Reason.BAD_CLIENT
    assert venue.submit(big, BOND, "buy", 1, PAR).status is Status.ACCEPTED


def test_numpy_integer_codes_and_the_largest_code_are_accepted():
    _, venue = market()
    venue.submit(OMNIBUS, BOND, "sell", 1, PAR, client=np.int64(5))
    taking = venue.submit(OMNIBUS, BOND, "buy", 1, PAR, client=MAX_CLIENT)
    assert taking.status is Status.FILLED
    assert (taking.trades[0].maker_client, taking.trades[0].taker_client) == (5, MAX_CLIENT)
    assert type(taking.trades[0].maker_client) is int


def test_refusals_echo_the_client():
    _, venue = market()
    assert venue.submit(OMNIBUS, "GS2099", "buy", 1, PAR, client=4).client == 4
    assert venue.submit(OMNIBUS, BOND, "buy", 0, PAR, client=4).client == 4


# --- against the reference book, with (account, client) as the owner ----------------------

CLIENT_ORDERS = st.lists(
    st.tuples(
        st.sampled_from([OMNIBUS, OTHER]),  # account
        st.integers(0, 2),  # client
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 6),  # qty
        st.integers(PAR - 3, PAR + 3),  # price
        st.sampled_from(["GTC", "GTC", "IOC"]),
        st.integers(0, 4),  # cancel the order this many back instead, when nonzero
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize("stp", ["cancel-newest", "cancel-oldest", "cancel-both"])
@settings(max_examples=60, deadline=None)
@given(requests=CLIENT_ORDERS)
def test_client_stp_matches_the_reference_book_with_pair_owners(stp, requests):
    ledger, venue = market(stp)
    ref = ReferenceBook(stp=stp)
    owners = {}  # order id -> (account, client)
    for account, client, side, qty, price, tif, back in requests:
        if back and len(owners) >= back:
            oid = list(owners)[-back]
            got = venue.cancel(owners[oid][0], BOND, oid)
            want = ref.cancel(oid)
            assert got.status is Status[want.status.upper()]
            continue
        got = venue.submit(account, BOND, side, qty, price, tif, client=client)
        want = ref.submit((account, client), side, qty, price, tif)
        owners[got.order_id] = (account, client)
        assert got.order_id == want.order_id
        assert (got.status, got.reason) == (
            Status[want.status.upper()],
            Reason[want.reason.upper()],
        )
        assert [
            (
                t.maker_order_id,
                t.taker_order_id,
                (t.maker_account, t.maker_client),
                (t.taker_account, t.taker_client),
                t.price,
                t.qty,
            )
            for t in got.trades
        ] == want.fills
        assert [(c.order_id, c.qty, c.reason.name.lower()) for c in got.cancelled] == want.cancelled
    assert ledger.check().ok
