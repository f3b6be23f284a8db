"""Unit tests of the venue gateway: small hand-built scenarios with exact paise and units.

Conventions used throughout: one unit is 1000 rupees of face and a tick is 0.01 per 100 face,
so one tick on one unit is worth 10 paise and a price of 10_000 ticks (par, 100.00) makes one
unit cost 100_000 paise. The default fee schedule charges takers 1 bp (100 millionths), makers
nothing, and pays market makers a rebate by tier.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy as np
import pytest

from sim.market.ledger import Ledger
from sim.market.messages import OpenOrder
from sim.market.orders import OrderType, Reason, Side, Status
from sim.market.venue import (
    NS_PER_DAY,
    FeeSchedule,
    Instrument,
    PriceBand,
    RiskLimits,
    Tier,
    Venue,
    fee,
)

BOND = "GS2033"
PAR = 10_000  # ticks
BUYER, SELLER, OTHER = 1, 2, 3
RICH = 10**10  # paise: more than any test spends
HALT_NS = 1_000


def market(
    *,
    reference: int | None = PAR,
    instrument: Instrument | None = None,
    cash: int = RICH,
    units: int = 1_000,
    ledger: Ledger | None = None,
    name: str = "NSE",
    **venue_kwargs,
) -> tuple[Ledger, Venue]:
    """A venue listing one bond; BUYER holds cash, SELLER units, OTHER both, all registered."""
    ledger = ledger or Ledger()
    venue = Venue(name, ledger, **venue_kwargs)
    instrument = instrument or Instrument(BOND)
    venue.list_instrument(instrument, reference)
    for account, kwargs in (
        (BUYER, {"cash": cash}),
        (SELLER, {"units": {instrument.symbol: units}}),
        (OTHER, {"cash": RICH, "units": {instrument.symbol: units}}),
    ):
        if account not in ledger.accounts:
            ledger.open_account(account, **kwargs)
        venue.register(account)
    return ledger, venue


def balances(ledger: Ledger, account: int, symbol: str = BOND) -> dict[str, int]:
    a = ledger.account(account)
    return {
        "cash": a.cash,
        "cash_locked": a.cash_locked,
        "units": a.units[symbol],
        "units_locked": a.units_locked[symbol],
    }


def everything(ledger: Ledger) -> dict:
    return {acct: balances(ledger, acct) for acct in ledger.accounts}


def assert_refused(response, reason: Reason) -> None:
    assert response.status is Status.REJECTED
    assert response.reason is reason
    assert response.order_id == 0
    assert response.trades == ()
    assert not response.ok


def cost(qty: int, price: int, rate: int = 100, tick_value: int = 10) -> int:
    """Cash a buy locks: notional at its limit plus the fee at the highest rate."""
    notional = qty * price * tick_value
    return notional + notional * rate // 1_000_000


# --- Instrument ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tick", "face", "paise"),
    [
        ("0.01", 1000, 10),  # 0.01% of 1000 rupees = 10 paise
        ("0.01", 100, 1),
        ("0.05", 1000, 50),
        ("0.0025", 400, 1),
        (0.01, 1000, 10),  # floats go through their decimal text
        ("0.5", 10_000, 5000),
    ],
)
def test_tick_value_is_paise_per_tick_per_unit(tick, face, paise):
    instrument = Instrument("A", tick_size=tick, unit_face_value=face)
    assert instrument.tick_value == paise
    assert type(instrument.tick_value) is int
    assert isinstance(instrument.tick_size, Decimal)


def test_price_tick_round_trip():
    gsec = Instrument("A")
    assert gsec.to_ticks("100.25") == 10_025
    assert gsec.to_ticks(99.5) == 9_950
    assert gsec.to_ticks(Decimal("101")) == 10_100
    assert gsec.to_price(10_025) == Decimal("100.25")
    coarse = Instrument("B", tick_size="0.05")
    assert coarse.to_ticks("100.05") == 2_001
    for ticks in (1, 1_999, 2_000, 2_001, 123_457):
        assert coarse.to_ticks(coarse.to_price(ticks)) == ticks
        assert gsec.to_ticks(gsec.to_price(ticks)) == ticks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"tick_size": "0.001", "unit_face_value": 100},
            "A: one tick (0.001 per 100 face) on a unit of 100 rupees face is 0.100 paise; "
            "it must be whole paise",
        ),
        ({"lot_size": 0}, "A: lot_size must be a positive integer, got 0"),
        ({"lot_size": -5}, "A: lot_size must be a positive integer, got -5"),
        ({"lot_size": 2.0}, "A: lot_size must be a positive integer, got 2.0"),
        ({"unit_face_value": 0}, "A: unit_face_value must be a positive integer, got 0"),
        ({"unit_face_value": -100}, "A: unit_face_value must be a positive integer, got -100"),
        ({"tick_size": 0}, "A: tick_size must be positive, got 0"),
        ({"tick_size": "-0.01"}, "A: tick_size must be positive, got -0.01"),
        ({"tick_size": "abc"}, "A: tick_size must be a number, got 'abc'"),
        ({"tick_size": "nan"}, "A: tick_size must be finite, got 'nan'"),
        ({"symbol": ""}, "instrument symbol must be a non-empty string, got ''"),
        ({"symbol": 7}, "instrument symbol must be a non-empty string, got 7"),
    ],
)
def test_instrument_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Instrument(**({"symbol": "A"} | kwargs))


def test_to_ticks_refuses_a_price_off_the_grid():
    with pytest.raises(ValueError, match=r"^A: price 100\.005 is not a multiple of 0\.01$"):
        Instrument("A").to_ticks("100.005")
    with pytest.raises(ValueError, match=r"^B: price 100\.01 is not a multiple of 0\.05$"):
        Instrument("B", tick_size="0.05").to_ticks("100.01")
    with pytest.raises(ValueError, match=r"^A: price must be a number, got 'par'$"):
        Instrument("A").to_ticks("par")


# --- FeeSchedule and fee() ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("notional", "rate", "expected"),
    [
        (1_000_000, 100, 100),  # 1 bp of 10_000 rupees is exactly 100 paise
        (1_234_567, 100, 123),  # 123.4567 -> 123
        (1_234_567, 150, 185),  # 185.18505 -> 185
        (999_999, 1, 0),  # 0.999999 -> 0
        (1_000_000, -30, -30),
        (1_234_567, -30, -37),  # -37.03701 -> -37, not -38: toward zero, not floor
        (708_610, -20, -14),  # -14.1722 -> -14
        (999_999, -1, 0),  # -0.999999 -> 0
        (0, 100, 0),
    ],
)
def test_fee_truncates_toward_zero(notional, rate, expected):
    assert fee(notional, rate) == expected


def test_fee_rates_by_role_and_tier():
    fees = FeeSchedule(maker_bps="0.5", taker_bps="1.25")
    assert fees.rate(maker=False, tier=None) == 125
    assert fees.rate(maker=False, tier=Tier.GOLD) == 125  # takers pay the taker fee, tier or not
    assert fees.rate(maker=True, tier=None) == 50
    assert fees.rate(maker=True, tier=Tier.BRONZE) == 0
    assert fees.rate(maker=True, tier=Tier.SILVER) == -10
    assert fees.rate(maker=True, tier=Tier.GOLD) == -20
    assert fees.rate(maker=True, tier=Tier.PLATINUM) == -30
    assert fees.max_rate == 125


def test_fee_schedule_with_custom_tiers():
    fees = FeeSchedule(maker_bps=0, taker_bps=1, tier_maker_bps={"gold": "-0.75", Tier.SILVER: 2})
    assert fees.tier_maker_bps == {Tier.GOLD: Decimal("-0.75"), Tier.SILVER: Decimal("2")}
    assert fees.rate(maker=True, tier=Tier.GOLD) == -75
    assert fees.rate(maker=True, tier=Tier.PLATINUM) == 0  # no tier entry: the plain maker fee
    assert fees.max_rate == 200  # a tier's maker fee can be the highest rate


@pytest.mark.parametrize(
    ("bps", "rate", "charged"),
    [("1", 100, 123), ("99.99", 9_999, 12_344)],  # on 1_234_567 paise, truncated
)
def test_fee_schedule_edges_accepted(bps, rate, charged):
    """A maker rebate as large as the taker fee, up to the largest rate there is: the venue
    collects nothing on such a trade, and never pays out."""
    fees = FeeSchedule(maker_bps=f"-{bps}", taker_bps=bps, tier_maker_bps={})
    assert (fees.rate(maker=True, tier=None), fees.rate(maker=False, tier=None)) == (-rate, rate)
    assert fees.rate(maker=True, tier=Tier.PLATINUM) == -rate  # no tiers: the plain maker fee
    assert fees.max_rate == rate
    assert (fee(1_234_567, -rate), fee(1_234_567, rate)) == (-charged, charged)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"taker_bps": -1, "tier_maker_bps": {}}, "taker_bps must not be negative, got -1"),
        (
            {"taker_bps": "0.2"},
            "the largest maker rebate (0.3 bp) exceeds the taker fee (0.2 bp): the venue would "
            "pay out more than it collects on a trade",
        ),
        (
            {"maker_bps": "-1.5", "taker_bps": 1, "tier_maker_bps": {}},
            "the largest maker rebate (1.5 bp) exceeds the taker fee (1 bp): the venue would "
            "pay out more than it collects on a trade",
        ),
        (
            {"maker_bps": "0.125"},
            "fee maker_bps = 0.125 bp must be in (-100, 100) with at most two decimals",
        ),
        ({"taker_bps": 100}, "fee taker_bps = 100 bp must be in (-100, 100) with at most two"),
        ({"maker_bps": -100}, "fee maker_bps = -100 bp must be in (-100, 100) with at most two"),
        (
            {"tier_maker_bps": {Tier.GOLD: "0.001"}},
            "fee Tier.GOLD = 0.001 bp must be in (-100, 100) with at most two decimals",
        ),
        ({"taker_bps": "one"}, "taker_bps must be a number, got 'one'"),
        ({"tier_maker_bps": {"diamond": 0}}, "'diamond' is not a valid Tier"),
    ],
)
def test_fee_schedule_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        FeeSchedule(**kwargs)


# --- configuration errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"limit_pct": 5, "halt_pct": 10},
            "price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct=10, limit_pct=5",
        ),
        (
            {"limit_pct": 100, "halt_pct": 5},
            "price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct=5, limit_pct=100",
        ),
        (
            {"halt_pct": 0},
            "price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct=0, limit_pct=10.0",
        ),
        (
            {"halt_pct": -1},
            "price band needs 0 < halt_pct <= limit_pct < 100, got halt_pct=-1, limit_pct=10.0",
        ),
        ({"halt_ns": 0}, "halt_ns must be a positive integer, got 0"),
        ({"halt_ns": 1.5}, "halt_ns must be a positive integer, got 1.5"),
    ],
)
def test_price_band_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        PriceBand(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"settlement_lag_days": 6}, "settlement_lag_days must be 0..5, got 6"),
        ({"settlement_lag_days": -1}, "settlement_lag_days must be 0..5, got -1"),
        ({"settlement_lag_days": 1.0}, "settlement_lag_days must be 0..5, got 1.0"),
        ({"market_protection_pct": 0}, "market_protection_pct must be in (0, 100), got 0"),
        ({"market_protection_pct": 100}, "market_protection_pct must be in (0, 100), got 100"),
    ],
)
def test_venue_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Venue("NSE", Ledger(), **kwargs)


def test_listing_twice_is_an_error():
    _, venue = market()
    with pytest.raises(ValueError, match=f"^NSE: {BOND} is already listed$"):
        venue.list_instrument(Instrument(BOND))
    assert venue.symbols == (BOND,)
    assert venue.instrument(BOND) == Instrument(BOND)


def test_level1_is_the_books_top_and_none_for_what_the_venue_does_not_list():
    _, venue = market()
    assert venue.level1(BOND) == (None, 0, None, 0)
    venue.submit(BUYER, BOND, "buy", 3, PAR - 5)
    venue.submit(SELLER, BOND, "sell", 2, PAR + 5)
    venue.submit(SELLER, BOND, "sell", 4, PAR + 5)
    assert venue.level1(BOND) == (PAR - 5, 3, PAR + 5, 6)
    for symbol in ("GS2099", 42, None):
        assert venue.level1(symbol) is None


# --- gateway refusals: order id 0, nothing locked ------------------------------------------


def test_unknown_instrument():
    ledger, venue = market()
    before = everything(ledger)
    assert_refused(venue.submit(BUYER, "GS2099", "buy", 1, PAR), Reason.UNKNOWN_INSTRUMENT)
    assert_refused(venue.submit(BUYER, 42, "buy", 1, PAR), Reason.UNKNOWN_INSTRUMENT)
    assert_refused(venue.cancel(BUYER, "GS2099", 1), Reason.UNKNOWN_INSTRUMENT)
    assert_refused(venue.modify(BUYER, "GS2099", 1, qty=2), Reason.UNKNOWN_INSTRUMENT)
    assert everything(ledger) == before


def test_unknown_account():
    ledger, venue = market()
    ledger.open_account(9, cash=RICH, units={BOND: 10})  # in the ledger, not at this venue
    before = everything(ledger)
    assert_refused(venue.submit(9, BOND, "buy", 1, PAR), Reason.UNKNOWN_ACCOUNT)
    assert_refused(venue.submit(9, BOND, "sell", 1, PAR), Reason.UNKNOWN_ACCOUNT)
    assert_refused(venue.submit(99, BOND, "buy", 1, PAR), Reason.UNKNOWN_ACCOUNT)
    assert everything(ledger) == before
    venue.register(9)
    assert venue.submit(9, BOND, "buy", 1, PAR).status is Status.ACCEPTED


def test_venue_halt_refuses_orders_but_not_cancels():
    ledger, venue = market()
    resting = venue.submit(BUYER, BOND, "buy", 2, PAR)
    locked = cost(2, PAR)
    assert ledger.account(BUYER).cash_locked == locked
    venue.halt()
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR), Reason.VENUE_HALTED)
    assert_refused(venue.submit(SELLER, BOND, "sell", 1, PAR), Reason.VENUE_HALTED)
    modified = venue.modify(BUYER, BOND, resting.order_id, qty=5)
    assert (modified.status, modified.reason) == (Status.REJECTED, Reason.VENUE_HALTED)
    assert balances(ledger, BUYER)["cash_locked"] == locked
    assert balances(ledger, SELLER)["units_locked"] == 0
    cancelled = venue.cancel(BUYER, BOND, resting.order_id)
    assert cancelled.status is Status.CANCELLED
    assert ledger.account(BUYER).cash_locked == 0
    venue.resume()
    assert venue.submit(BUYER, BOND, "buy", 1, PAR).status is Status.ACCEPTED


def test_a_delisted_bond_refuses_orders_and_names_its_open_ones_for_cancelling():
    ledger, venue = market()
    other = Instrument("GS2040")
    venue.list_instrument(other, PAR)
    ledger.issue_units(SELLER, "GS2040", 10)
    bid = venue.submit(BUYER, BOND, "buy", 2, PAR - 1)
    ask = venue.submit(SELLER, BOND, "sell", 3, PAR + 1)
    elsewhere = venue.submit(SELLER, "GS2040", "sell", 1, PAR)
    assert venue.delist(BOND) == [(BUYER, BOND, bid.order_id), (SELLER, BOND, ask.order_id)]
    assert_refused(venue.submit(OTHER, BOND, "buy", 1, PAR + 1), Reason.DELISTED)
    modified = venue.modify(BUYER, BOND, bid.order_id, qty=1)
    assert (modified.status, modified.reason) == (Status.REJECTED, Reason.DELISTED)
    for account, order_id in ((BUYER, bid.order_id), (SELLER, ask.order_id)):
        assert venue.cancel(account, BOND, order_id).status is Status.CANCELLED
    assert balances(ledger, BUYER)["cash_locked"] == balances(ledger, SELLER)["units_locked"] == 0
    # The other bond trades on.
    assert venue.submit(BUYER, "GS2040", "buy", 1, PAR).status is Status.FILLED
    assert elsewhere.order_id not in {o.order_id for o in venue.open_orders(SELLER)}
    with pytest.raises(ValueError, match="NSE: GS2099: not listed here"):
        venue.delist("GS2099")


@pytest.mark.parametrize("side", ["hold", "", 0, 2, True, None, 1.0, -1.0, [1]])
def test_bad_side(side):
    ledger, venue = market()
    before = everything(ledger)
    assert_refused(venue.submit(OTHER, BOND, side, 1, PAR), Reason.BAD_SIDE)
    assert everything(ledger) == before


@pytest.mark.parametrize("side", ["buy", "SELL", " b ", "s", Side.BUY, 1, -1])
def test_side_spellings_accepted(side):
    _, venue = market()
    assert venue.submit(OTHER, BOND, side, 1, PAR).status is Status.ACCEPTED


@pytest.mark.parametrize("qty", [0, -5, 5.0, 3, 7, 12, True, "5", None, np.int64(0)])
def test_bad_quantity_with_a_lot_of_five(qty):
    ledger, venue = market(instrument=Instrument(BOND, lot_size=5))
    before = everything(ledger)
    assert_refused(venue.submit(OTHER, BOND, "buy", qty, PAR), Reason.BAD_QUANTITY)
    assert_refused(venue.submit(OTHER, BOND, "sell", qty, PAR), Reason.BAD_QUANTITY)
    assert everything(ledger) == before
    assert venue.submit(OTHER, BOND, "buy", 10, PAR).status is Status.ACCEPTED


@pytest.mark.parametrize("price", [0, -1, 10_000.0, 100.5, "10000", True, np.int64(0)])
def test_bad_price(price):
    ledger, venue = market()
    before = everything(ledger)
    assert_refused(venue.submit(OTHER, BOND, "buy", 1, price), Reason.BAD_PRICE)
    assert_refused(venue.submit(OTHER, BOND, "sell", 1, price), Reason.BAD_PRICE)
    assert everything(ledger) == before


@pytest.mark.parametrize("stop", [0, -1, 10_000.0, "10000", True, np.int64(0)])
def test_bad_stop_price(stop):
    ledger, venue = market()
    before = everything(ledger)
    assert_refused(venue.submit(OTHER, BOND, "buy", 1, stop_price=stop), Reason.BAD_STOP_PRICE)
    response = venue.submit(OTHER, BOND, "sell", 1, PAR, stop_price=stop)
    assert_refused(response, Reason.BAD_STOP_PRICE)
    assert everything(ledger) == before


@pytest.mark.parametrize(
    ("reference", "low", "high"),
    [
        (10_000, 9_000, 11_000),  # 10% of 10_000 is exactly 1_000 ticks
        (10_005, 9_005, 11_005),  # 1_000.5 ticks: the band's edges round inward
    ],
)
def test_price_band_edges(reference, low, high):
    ledger, venue = market(reference=reference, price_band=PriceBand(limit_pct=10))
    before = everything(ledger)
    for price in (low - 1, high + 1):
        assert_refused(venue.submit(BUYER, BOND, "buy", 1, price), Reason.PRICE_BAND)
        assert_refused(venue.submit(SELLER, BOND, "sell", 1, price), Reason.PRICE_BAND)
    assert everything(ledger) == before
    # Both edges are inside the band (bids only, so that nothing trades).
    assert venue.submit(BUYER, BOND, "buy", 1, low).status is Status.ACCEPTED
    assert venue.submit(BUYER, BOND, "buy", 1, high).status is Status.ACCEPTED
    assert venue.submit(SELLER, BOND, "sell", 1, high).status is Status.FILLED


def test_no_band_without_a_price_band():
    _, venue = market()
    assert venue.submit(BUYER, BOND, "buy", 1, 1).status is Status.ACCEPTED
    assert venue.submit(BUYER, BOND, "buy", 1, 3 * PAR).status is Status.ACCEPTED


def test_market_order_needs_a_reference_price():
    ledger, venue = market(reference=None, price_band=PriceBand(limit_pct=10))
    before = everything(ledger)
    assert_refused(venue.submit(BUYER, BOND, "buy", 1), Reason.NO_REFERENCE_PRICE)
    assert_refused(venue.submit(SELLER, BOND, "sell", 1), Reason.NO_REFERENCE_PRICE)
    assert everything(ledger) == before
    # A limit order is fine (there is no band to apply yet), and its trade sets the reference.
    assert venue.submit(SELLER, BOND, "sell", 1, 9_870).status is Status.ACCEPTED
    assert venue.submit(BUYER, BOND, "buy", 1, 9_870).status is Status.FILLED
    assert venue.reference_price(BOND) == 9_870
    response = venue.submit(BUYER, BOND, "buy", 1)  # nothing to buy: protected, cancelled
    assert (response.status, response.reason) == (Status.CANCELLED, Reason.UNFILLED_REMAINDER)
    assert venue.book(BOND).order(response.order_id).price == 10_857  # 9_870 + 987


def test_position_limit_counts_settled_pending_and_open():
    ledger, venue = market(settlement_lag_days=1)
    venue.register(BUYER, limits=RiskLimits(max_position=10))
    ledger.issue_units(BUYER, BOND, 3)  # settled: 3
    venue.submit(SELLER, BOND, "sell", 4, PAR)
    assert venue.submit(BUYER, BOND, "buy", 4, PAR).status is Status.FILLED  # pending: +4
    assert ledger.account(BUYER).position(BOND) == 7
    assert venue.submit(BUYER, BOND, "buy", 2, PAR - 10).status is Status.ACCEPTED  # open: +2
    before = everything(ledger)
    assert_refused(venue.submit(BUYER, BOND, "buy", 2, PAR - 10), Reason.POSITION_LIMIT)
    assert_refused(venue.submit(BUYER, BOND, "buy", 2), Reason.POSITION_LIMIT)
    assert everything(ledger) == before
    assert venue.submit(BUYER, BOND, "buy", 1, PAR - 10).status is Status.ACCEPTED  # exactly 10


def test_position_limit_does_not_net_open_buys_against_open_sells():
    _, venue = market()
    venue.register(OTHER, limits=RiskLimits(max_position=1_000))
    # OTHER holds 1000 units: resting a sell of 100 must not make room for a buy of 100,
    # since the buy could fill while the sell does not.
    assert venue.submit(OTHER, BOND, "sell", 100, PAR + 50).status is Status.ACCEPTED
    assert_refused(venue.submit(OTHER, BOND, "buy", 100, PAR - 50), Reason.POSITION_LIMIT)
    # Selling more is fine: the worst case short side is 1000 - 100 - 200 = 700 units.
    assert venue.submit(OTHER, BOND, "sell", 200, PAR + 50).status is Status.ACCEPTED


def test_position_limit_on_the_short_side():
    ledger, venue = market()
    venue.register(SELLER, limits=RiskLimits(max_position=4))
    # SELLER holds 1000 units, far beyond the limit: an order is allowed only when the
    # position after it is within the limit.
    assert_refused(venue.submit(SELLER, BOND, "sell", 1, PAR), Reason.POSITION_LIMIT)
    assert_refused(venue.submit(SELLER, BOND, "sell", 995, PAR), Reason.POSITION_LIMIT)
    assert ledger.account(SELLER).units_locked[BOND] == 0
    assert venue.submit(SELLER, BOND, "sell", 996, PAR).status is Status.ACCEPTED


def test_notional_limit_counts_open_orders_and_this_one():
    ledger, venue = market()
    venue.register(BUYER, limits=RiskLimits(max_open_notional=1_000_000))
    assert venue.submit(BUYER, BOND, "buy", 5, PAR).ok  # 500_000 paise
    assert venue.submit(BUYER, BOND, "buy", 4, PAR).ok  # 900_000
    before = everything(ledger)
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR + 1), Reason.NOTIONAL_LIMIT)
    assert_refused(venue.submit(BUYER, BOND, "buy", 2, 5_000 + 1), Reason.NOTIONAL_LIMIT)
    assert everything(ledger) == before
    assert venue.submit(BUYER, BOND, "buy", 1, PAR).ok  # exactly 1_000_000


def test_notional_limit_across_instruments_with_different_unit_sizes():
    _, venue = market()
    venue.list_instrument(Instrument("SMALL", unit_face_value=100), PAR)  # 1 paisa per tick
    venue.register(BUYER, limits=RiskLimits(max_open_notional=1_500_000))
    assert venue.submit(BUYER, BOND, "buy", 10, PAR).ok  # 10 * 10_000 * 10 = 1_000_000 paise
    # 100 * 10_000 * 1 = 1_000_000 more: 2_000_000 in all, beyond the limit.
    assert_refused(venue.submit(BUYER, "SMALL", "buy", 100, PAR), Reason.NOTIONAL_LIMIT)


def test_insufficient_cash_exactly_enough_passes():
    need = 1_000_000 + 100  # 10 units at par, plus the 1 bp taker fee
    assert cost(10, PAR) == need
    ledger, venue = market(cash=need)
    assert venue.submit(BUYER, BOND, "buy", 10, PAR).status is Status.ACCEPTED
    assert balances(ledger, BUYER) == {"cash": need, "cash_locked": need, "units": 0,
                                       "units_locked": 0}  # fmt: skip


def test_insufficient_cash_one_paisa_short_fails():
    ledger, venue = market(cash=1_000_099)
    assert_refused(venue.submit(BUYER, BOND, "buy", 10, PAR), Reason.INSUFFICIENT_CASH)
    assert balances(ledger, BUYER)["cash_locked"] == 0


def test_cash_lock_covers_the_highest_fee_rate_of_the_schedule():
    # A tier's maker fee of 2 bp is the highest rate, so a buy locks 2 bp on top of notional.
    fees = FeeSchedule(taker_bps=1, tier_maker_bps={Tier.GOLD: 2})
    ledger, venue = market(cash=1_000_199, fees=fees)
    assert_refused(venue.submit(BUYER, BOND, "buy", 10, PAR), Reason.INSUFFICIENT_CASH)
    ledger.deposit(BUYER, 1)
    assert venue.submit(BUYER, BOND, "buy", 10, PAR).ok
    assert ledger.account(BUYER).cash_locked == 1_000_200


def test_insufficient_cash_counts_what_is_already_locked():
    ledger, venue = market(cash=2 * cost(1, PAR))
    assert venue.submit(BUYER, BOND, "buy", 1, PAR).ok
    ledger.withdraw(BUYER, 1)
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR), Reason.INSUFFICIENT_CASH)
    assert ledger.account(BUYER).cash_locked == cost(1, PAR)


def test_insufficient_units_no_short_selling():
    ledger, venue = market(units=10)
    before = everything(ledger)
    assert_refused(venue.submit(BUYER, BOND, "sell", 1, PAR), Reason.INSUFFICIENT_UNITS)
    assert_refused(venue.submit(SELLER, BOND, "sell", 11, PAR), Reason.INSUFFICIENT_UNITS)
    assert everything(ledger) == before
    assert venue.submit(SELLER, BOND, "sell", 6, PAR).ok
    assert_refused(venue.submit(SELLER, BOND, "sell", 5, PAR), Reason.INSUFFICIENT_UNITS)
    assert venue.submit(SELLER, BOND, "sell", 4, PAR).ok
    assert balances(ledger, SELLER)["units_locked"] == 10


def test_units_bought_t_plus_one_are_sellable_only_after_settlement():
    ledger, venue = market(settlement_lag_days=1)
    venue.submit(SELLER, BOND, "sell", 5, PAR)
    bought = venue.submit(BUYER, BOND, "buy", 5, PAR, now=0)
    assert bought.trades[0].settle_at == NS_PER_DAY
    assert_refused(venue.submit(BUYER, BOND, "sell", 5, PAR, now=1), Reason.INSUFFICIENT_UNITS)
    # The seller's delivered units stay locked until settlement: it cannot sell them twice.
    assert_refused(venue.submit(SELLER, BOND, "sell", 996, PAR), Reason.INSUFFICIENT_UNITS)
    assert ledger.settle_due(NS_PER_DAY - 1) == 0
    later = NS_PER_DAY - 1
    assert_refused(venue.submit(BUYER, BOND, "sell", 1, PAR, now=later), Reason.INSUFFICIENT_UNITS)
    assert ledger.settle_due(NS_PER_DAY) == 1
    assert venue.submit(BUYER, BOND, "sell", 5, PAR, now=NS_PER_DAY).ok
    assert balances(ledger, BUYER)["units_locked"] == 5


def test_book_rejection_after_the_gateway_releases_the_lock():
    ledger, venue = market()
    response = venue.submit(BUYER, BOND, "buy", 1, PAR, tif="NOT-A-TIF")
    assert response.status is Status.REJECTED
    assert response.reason is Reason.BAD_ORDER_TYPE
    assert balances(ledger, BUYER)["cash_locked"] == 0


# --- fees ---------------------------------------------------------------------------------


def test_maker_and_taker_fees_on_a_trade():
    fees = FeeSchedule(maker_bps="0.5", taker_bps="1.5")
    ledger, venue = market(fees=fees)
    venue.submit(SELLER, BOND, "sell", 7, 10_123)  # maker
    response = venue.submit(BUYER, BOND, "buy", 7, 10_123)  # taker
    (trade,) = response.trades
    notional = 7 * 10_123 * 10
    assert notional == 708_610
    # maker: 708_610 * 50 / 1e6 = 35.43 -> 35; taker: 708_610 * 150 / 1e6 = 106.29 -> 106
    assert (trade.notional, trade.maker_fee, trade.taker_fee) == (708_610, 35, 106)
    assert (trade.maker_account, trade.taker_account) == (SELLER, BUYER)
    assert (trade.price, trade.qty, trade.aggressor_side) == (10_123, 7, Side.BUY)
    assert balances(ledger, BUYER) == {
        "cash": RICH - (708_610 + 106),  # buyer pays notional + fee
        "cash_locked": 0,
        "units": 7,
        "units_locked": 0,
    }
    assert balances(ledger, SELLER) == {
        "cash": 708_610 - 35,  # seller receives notional - fee
        "cash_locked": 0,
        "units": 993,
        "units_locked": 0,
    }
    assert ledger.account(venue.fee_account).cash == 141
    assert ledger.check().ok


def test_fees_when_the_buyer_is_the_maker():
    fees = FeeSchedule(maker_bps="0.5", taker_bps="1.5")
    ledger, venue = market(fees=fees)
    venue.submit(BUYER, BOND, "buy", 7, 10_123)  # maker
    (trade,) = venue.submit(SELLER, BOND, "sell", 7, 10_000).trades  # taker, trades at 10_123
    assert (trade.price, trade.aggressor_side) == (10_123, Side.SELL)
    assert (trade.maker_fee, trade.taker_fee) == (35, 106)
    assert ledger.account(BUYER).cash == RICH - (708_610 + 35)
    assert ledger.account(SELLER).cash == 708_610 - 106
    assert ledger.account(venue.fee_account).cash == 141


def test_market_maker_rebate():
    ledger, venue = market()
    venue.register(SELLER, tier=Tier.GOLD)  # -0.2 bp as a maker
    venue.submit(SELLER, BOND, "sell", 7, 10_123)
    (trade,) = venue.submit(BUYER, BOND, "buy", 7, 10_123).trades
    # rebate: 708_610 * 20 / 1e6 = 14.17 -> 14 (toward zero); taker: 70.861 -> 70
    assert (trade.maker_fee, trade.taker_fee) == (-14, 70)
    assert ledger.account(SELLER).cash == 708_610 + 14
    assert ledger.account(BUYER).cash == RICH - 708_610 - 70
    assert ledger.account(venue.fee_account).cash == 70 - 14
    assert ledger.check().ok


def test_market_maker_pays_the_taker_fee_when_taking():
    _, venue = market()
    venue.register(BUYER, tier=Tier.PLATINUM)
    venue.submit(SELLER, BOND, "sell", 7, 10_123)
    (trade,) = venue.submit(BUYER, BOND, "buy", 7, 10_123).trades
    assert (trade.maker_fee, trade.taker_fee) == (0, 70)


def test_accounts_past_the_gateways_first_sixteen_rows_keep_their_orders_and_rebates():
    # The gateway's per-account arrays start with room for 16 ledger rows and grow.
    ledger, venue = market()
    makers = range(100, 140)
    for account in makers:
        ledger.open_account(account, units={BOND: 1})
        venue.register(account, tier=Tier.GOLD)
        assert venue.open_orders(account) == []
    assert max(ledger.row(account) for account in makers) > 16
    for i, account in enumerate(makers):
        venue.submit(account, BOND, "sell", 1, PAR + i)
    for i, account in enumerate(makers):
        assert [(o.account, o.limit, o.units_locked) for o in venue.open_orders(account)] == [
            (account, PAR + i, 1)
        ]
    trades = venue.submit(BUYER, BOND, "buy", 40, PAR + 39).trades
    # 100_000 + 10 i paise each: a rebate of 2.00..2.0078 -> 2, a taker fee of 10.00..10.039 -> 10
    assert [(t.maker_account, t.maker_fee, t.taker_fee) for t in trades] == [
        (account, -2, 10) for account in makers
    ]
    for i, account in enumerate(makers):
        assert ledger.account(account).cash == 100_000 + 10 * i + 2
    assert venue.open_orders() == []
    assert ledger.check().ok


def test_fee_account_collects_the_sum_of_fees_at_settlement():
    fees = FeeSchedule(maker_bps="0.25", taker_bps="1.5")
    ledger, venue = market(fees=fees, settlement_lag_days=1)
    venue.register(OTHER, tier=Tier.SILVER)  # -0.1 bp rebate as a maker
    venue.submit(SELLER, BOND, "sell", 3, 9_990)
    venue.submit(OTHER, BOND, "sell", 4, 9_995)
    trades = venue.submit(BUYER, BOND, "buy", 7, 10_000).trades
    assert [(t.price, t.qty) for t in trades] == [(9_990, 3), (9_995, 4)]
    # 299_700: maker 7.4925 -> 7, taker 44.955 -> 44; 399_800: rebate -3.998 -> -3, taker 59
    assert [(t.maker_fee, t.taker_fee) for t in trades] == [(7, 44), (-3, 59)]
    fee_account = ledger.account(venue.fee_account)
    assert fee_account.cash == 0  # nothing moves before settlement
    ledger.settle_due(NS_PER_DAY)
    assert fee_account.cash == sum(t.maker_fee + t.taker_fee for t in trades) == 107
    assert ledger.account(BUYER).cash == RICH - 299_700 - 399_800 - 44 - 59
    assert ledger.account(BUYER).cash_locked == 0
    assert ledger.account(SELLER).cash == 299_700 - 7
    assert ledger.check().ok


# --- circuit breaker ----------------------------------------------------------------------


def breaker_market():
    band = PriceBand(limit_pct=10, halt_pct=5, halt_ns=HALT_NS)
    return market(price_band=band)


def test_trade_exactly_at_the_halt_threshold_does_not_halt():
    _, venue = breaker_market()
    venue.submit(SELLER, BOND, "sell", 1, 10_500)  # exactly 5% above the reference
    assert venue.submit(BUYER, BOND, "buy", 1, 10_500, now=100).status is Status.FILLED
    assert venue.halted_until(BOND) == 0
    assert venue.reference_price(BOND) == PAR
    assert venue.submit(BUYER, BOND, "buy", 1, PAR, now=101).ok


def test_trade_beyond_the_halt_threshold_halts_then_trading_resumes():
    ledger, venue = breaker_market()
    venue.submit(SELLER, BOND, "sell", 2, 10_501)
    resting = venue.submit(SELLER, BOND, "sell", 3, 10_600)
    response = venue.submit(BUYER, BOND, "buy", 2, 10_501, now=100)
    assert response.status is Status.FILLED
    assert venue.halted_until(BOND) == 100 + HALT_NS
    assert venue.reference_price(BOND) == 10_501
    assert venue.book(BOND).halted

    before = everything(ledger)
    for now in (101, 100 + HALT_NS - 1):
        assert_refused(venue.submit(BUYER, BOND, "buy", 1, 10_501, now=now), Reason.HALTED)
        assert_refused(venue.submit(SELLER, BOND, "sell", 1, 10_600, now=now), Reason.HALTED)
    modified = venue.modify(SELLER, BOND, resting.order_id, qty=1, now=500)
    assert (modified.status, modified.reason) == (Status.REJECTED, Reason.HALTED)
    assert everything(ledger) == before
    assert venue.cancel(SELLER, BOND, resting.order_id, now=500).status is Status.CANCELLED
    assert ledger.account(SELLER).units_locked[BOND] == 0

    # At halted_until trading resumes, with the band around the halting price 10_501:
    # 10% is 1050.1 ticks, so the band is [9_451, 11_551].
    resume = 100 + HALT_NS
    assert venue.submit(BUYER, BOND, "buy", 1, 11_551, now=resume).status is Status.ACCEPTED
    assert not venue.book(BOND).halted
    assert venue.halted_until(BOND) == 0
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, 11_552, now=resume), Reason.PRICE_BAND)
    assert_refused(venue.submit(SELLER, BOND, "sell", 1, 9_450, now=resume), Reason.PRICE_BAND)
    assert venue.submit(BUYER, BOND, "buy", 1, 9_451, now=resume).ok
    assert ledger.check().ok


def test_halt_below_the_reference():
    _, venue = breaker_market()
    venue.submit(BUYER, BOND, "buy", 1, 9_499)  # more than 5% below
    venue.submit(SELLER, BOND, "sell", 1, 9_499, now=7)
    assert venue.halted_until(BOND) == 7 + HALT_NS
    assert venue.reference_price(BOND) == 9_499


def test_the_default_band_is_10_percent_and_halts_beyond_5_percent_for_15_minutes():
    _, venue = market(price_band=PriceBand())
    assert venue.price_limits(BOND) == (9_000, 11_000)
    venue.submit(SELLER, BOND, "sell", 1, 10_500)
    venue.submit(BUYER, BOND, "buy", 1, 10_500, now=50)  # exactly 5% above: no halt
    assert venue.halted_until(BOND) == 0
    venue.submit(SELLER, BOND, "sell", 1, 10_501)
    venue.submit(BUYER, BOND, "buy", 1, 10_501, now=100)
    end = 100 + 900 * 10**9  # 15 minutes of 60 s of 10**9 ns
    assert venue.halted_until(BOND) == end
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR, now=end - 1), Reason.HALTED)
    assert venue.submit(BUYER, BOND, "buy", 1, PAR, now=end).ok


def test_a_band_may_halt_for_a_single_nanosecond():
    _, venue = market(price_band=PriceBand(halt_ns=1))
    venue.submit(SELLER, BOND, "sell", 1, 10_501)
    venue.submit(BUYER, BOND, "buy", 1, 10_501, now=100)
    assert venue.halted_until(BOND) == 101
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR, now=100), Reason.HALTED)
    assert venue.submit(BUYER, BOND, "buy", 1, PAR, now=101).ok


# --- halts the simulator sets ----------------------------------------------------------------


def test_halt_instruments_halts_the_named_listings_until_a_time():
    ledger, venue = market()
    venue.list_instrument(Instrument("GS2040"), PAR)
    bid = venue.submit(BUYER, BOND, "buy", 2, PAR, now=10)
    other_bid = venue.submit(OTHER, BOND, "buy", 1, PAR - 5, now=10)
    venue.halt_instruments(1_000, [BOND])
    assert (venue.halted_until(BOND), venue.halted_until("GS2040")) == (1_000, 0)
    for now in (20, 999):
        assert_refused(venue.submit(SELLER, BOND, "sell", 2, PAR, now=now), Reason.HALTED)
    modified = venue.modify(BUYER, BOND, bid.order_id, qty=1, now=999)
    assert (modified.status, modified.reason) == (Status.REJECTED, Reason.HALTED)
    assert venue.cancel(OTHER, BOND, other_bid.order_id, now=999).status is Status.CANCELLED
    assert venue.submit(BUYER, "GS2040", "buy", 1, PAR, now=999).status is Status.ACCEPTED
    # The first request at the end resumes trading; the bid that rested through the halt trades.
    (trade,) = venue.submit(SELLER, BOND, "sell", 2, PAR, now=1_000).trades
    assert (trade.maker_order_id, trade.qty, trade.time) == (bid.order_id, 2, 1_000)
    assert venue.halted_until(BOND) == 0
    assert ledger.check().ok


def test_halt_instruments_without_symbols_halts_every_listing_and_keeps_a_later_end():
    _, venue = breaker_market()
    venue.list_instrument(Instrument("GS2040"), PAR)
    # A trade beyond the 5% threshold halts BOND until 100 + HALT_NS = 1_100.
    venue.submit(SELLER, BOND, "sell", 1, 10_501)
    venue.submit(BUYER, BOND, "buy", 1, 10_501, now=100)
    venue.halt_instruments(500)
    assert (venue.halted_until(BOND), venue.halted_until("GS2040")) == (1_100, 500)
    assert_refused(venue.submit(BUYER, "GS2040", "buy", 1, PAR, now=499), Reason.HALTED)
    assert venue.submit(BUYER, "GS2040", "buy", 1, PAR, now=500).ok
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, 10_501, now=500), Reason.HALTED)
    venue.halt_instruments(2_000, [BOND])  # a later end than the breaker's replaces it
    assert venue.halted_until(BOND) == 2_000
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, 10_501, now=1_999), Reason.HALTED)
    assert venue.submit(BUYER, BOND, "buy", 1, 10_501, now=2_000).ok


def test_a_halt_until_the_first_nanosecond_ends_there():
    _, venue = market()
    venue.halt_instruments(1)
    assert venue.halted_until(BOND) == 1
    assert_refused(venue.submit(BUYER, BOND, "buy", 1, PAR, now=0), Reason.HALTED)
    assert venue.submit(BUYER, BOND, "buy", 1, PAR, now=1).ok


@pytest.mark.parametrize("until", [0, -1, 1.5, True, None])
def test_halt_instruments_refuses_a_time_that_is_not_a_positive_int(until):
    _, venue = market()
    message = f"NSE: halt until {until!r}: not a positive time in ns"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        venue.halt_instruments(until)
    assert venue.halted_until(BOND) == 0
    assert venue.submit(BUYER, BOND, "buy", 1, PAR).ok


def test_halt_instruments_naming_an_unlisted_symbol_halts_nothing():
    _, venue = market()
    with pytest.raises(ValueError, match=r"^NSE: GS2099: not listed here$"):
        venue.halt_instruments(1_000, [BOND, "GS2099"])
    assert venue.halted_until(BOND) == 0
    assert venue.submit(BUYER, BOND, "buy", 1, PAR).ok


# --- market-order protection --------------------------------------------------------------


def test_market_buy_is_an_ioc_limit_at_the_band_edge():
    band = PriceBand(limit_pct=10, halt_pct=10)
    ledger, venue = market(price_band=band, settlement_lag_days=1)
    venue.submit(SELLER, BOND, "sell", 5, 10_400)
    venue.submit(SELLER, BOND, "sell", 5, 10_600)
    # Move the reference down to 9_600: a small trade there, then a new session.
    venue.submit(SELLER, BOND, "sell", 1, 9_600)
    assert venue.submit(OTHER, BOND, "buy", 1, 9_600).status is Status.FILLED
    venue.new_day()
    assert venue.reference_price(BOND) == 9_600  # band [8_640, 10_560]: 10_600 is beyond

    # What the order locks: 10 units at the band's edge and the fee on that, 1_056_000 + 105.6
    assert venue.buy_lock(BOND, 10) == 10 * 10_560 * 10 + 105 == cost(10, 10_560)
    response = venue.submit(BUYER, BOND, "buy", 10)
    order = venue.book(BOND).order(response.order_id)
    assert (order.type, order.price) == (OrderType.IOC, 10_560)
    assert (response.status, response.reason) == (Status.CANCELLED, Reason.UNFILLED_REMAINDER)
    assert response.filled_qty == 5
    assert [(t.price, t.qty) for t in response.trades] == [(10_400, 5)]
    assert venue.book(BOND).best_ask() == (10_600, 5)  # beyond the edge: untouched
    # Everything is released but what the trade consumed (it settles T+1).
    assert balances(ledger, BUYER) == {
        "cash": RICH,
        "cash_locked": 520_000 + 52,
        "units": 0,
        "units_locked": 0,
    }
    ledger.settle_due(NS_PER_DAY)
    assert balances(ledger, BUYER) == {
        "cash": RICH - 520_052,
        "cash_locked": 0,
        "units": 5,
        "units_locked": 0,
    }
    assert ledger.check().ok


def test_market_buy_needs_cash_for_the_protection_price():
    band = PriceBand(limit_pct=10, halt_pct=10)
    need = cost(10, 11_000)  # edge 11_000: 1_100_000 + 110
    ledger, venue = market(price_band=band, cash=need - 1)
    venue.submit(SELLER, BOND, "sell", 10, PAR)  # it would only cost 1_000_100
    assert_refused(venue.submit(BUYER, BOND, "buy", 10), Reason.INSUFFICIENT_CASH)
    ledger.deposit(BUYER, 1)
    response = venue.submit(BUYER, BOND, "buy", 10)
    assert response.status is Status.FILLED
    assert balances(ledger, BUYER)["cash"] == need - 1_000_100
    assert balances(ledger, BUYER)["cash_locked"] == 0


def test_market_sell_is_protected_at_the_lower_edge():
    band = PriceBand(limit_pct=10, halt_pct=10)
    ledger, venue = market(price_band=band)
    venue.submit(BUYER, BOND, "buy", 3, 9_100)
    response = venue.submit(SELLER, BOND, "sell", 5)
    assert venue.book(BOND).order(response.order_id).price == 9_000
    assert response.filled_qty == 3
    assert response.status is Status.CANCELLED
    # 3 * 9_100 * 10 = 273_000 paise; the taker seller pays 27.3 -> 27
    assert balances(ledger, SELLER) == {
        "cash": 273_000 - 27,
        "cash_locked": 0,
        "units": 997,
        "units_locked": 0,
    }


def test_market_protection_without_a_band_uses_the_last_trade():
    ledger, venue = market(market_protection_pct=5.0)
    venue.submit(SELLER, BOND, "sell", 1, 9_000)
    venue.submit(BUYER, BOND, "buy", 1, 9_000)  # last trade 9_000; protection 5%: 9_450
    venue.submit(SELLER, BOND, "sell", 2, 9_450)
    venue.submit(SELLER, BOND, "sell", 2, 9_451)
    response = venue.submit(BUYER, BOND, "buy", 4)
    assert [(t.price, t.qty) for t in response.trades] == [(9_450, 2)]
    assert response.status is Status.CANCELLED
    assert ledger.account(BUYER).cash_locked == 0


def test_a_market_order_makes_more_fills_than_the_gateways_first_arrays_hold():
    # Its trades are booked after the book has matched: the arrays grow, then it books them all.
    ledger, venue = market()
    for _ in range(70):
        venue.submit(SELLER, BOND, "sell", 1, PAR)
    response = venue.submit(BUYER, BOND, "buy", 70)
    assert response.status is Status.FILLED
    assert [(t.price, t.qty, t.taker_fee) for t in response.trades] == [(PAR, 1, 10)] * 70
    assert balances(ledger, BUYER) == {
        "cash": RICH - 70 * 100_010,
        "cash_locked": 0,
        "units": 70,
        "units_locked": 0,
    }
    assert ledger.account(SELLER).cash == 70 * 100_000
    assert venue.open_orders() == []
    assert ledger.check().ok


def test_a_market_order_meeting_an_order_that_skipped_the_gateway_raises():
    ledger, venue = market()
    venue.book(BOND).submit(77, -1, 5, PAR)  # straight into the book: no account behind it
    with pytest.raises(RuntimeError, match="did not come through the venue's gateway"):
        venue.submit(BUYER, BOND, "buy", 5)
    assert ledger.check().ok  # refused before anything was booked


def test_stop_buy_is_protected_around_its_stop_price():
    # Stop 10_200, protection 5%: a stop-limit at 10_200 + 510 = 10_710.
    need = cost(10, 10_710)  # 1_071_000 + 107
    ledger, venue = market(cash=need - 1)
    assert_refused(
        venue.submit(BUYER, BOND, "buy", 10, stop_price=10_200), Reason.INSUFFICIENT_CASH
    )
    ledger.deposit(BUYER, 1)
    response = venue.submit(BUYER, BOND, "buy", 10, stop_price=10_200)
    assert response.status is Status.ACCEPTED
    order = venue.book(BOND).order(response.order_id)
    assert (order.stop_pending, order.stop_price, order.price) == (True, 10_200, 10_710)
    assert ledger.account(BUYER).cash_locked == need
    assert venue.cancel(BUYER, BOND, response.order_id).status is Status.CANCELLED
    assert ledger.account(BUYER).cash_locked == 0


# --- modify through the venue ---------------------------------------------------------------


def test_modify_locks_more_for_a_bigger_order_and_releases_for_a_smaller():
    ledger, venue = market()
    oid = venue.submit(BUYER, BOND, "buy", 10, 9_900).order_id
    acct = ledger.account(BUYER)
    assert acct.cash_locked == 990_000 + 99
    assert venue.modify(BUYER, BOND, oid, qty=15).ok
    assert acct.cash_locked == 1_485_000 + 148  # 148.5 -> 148
    assert acct.free_cash == RICH - 1_485_148
    assert venue.modify(BUYER, BOND, oid, qty=4).ok
    assert acct.cash_locked == 396_000 + 39
    assert acct.free_cash == RICH - 396_039
    assert venue.modify(BUYER, BOND, oid, price=9_800).ok
    assert acct.cash_locked == 392_000 + 39
    assert venue.modify(BUYER, BOND, oid, price=9_950).ok
    assert acct.cash_locked == 398_000 + 39
    assert venue.book(BOND).order(oid).open_qty == 4
    assert venue.open_orders(BUYER) == [OpenOrder(BOND, oid, BUYER, Side.BUY, 9_950, 4, 398_039, 0)]
    assert venue.cancel(BUYER, BOND, oid).status is Status.CANCELLED
    assert acct.cash_locked == 0
    assert venue.open_orders() == []


def test_modify_a_sell_locks_and_releases_units():
    ledger, venue = market(units=10)
    oid = venue.submit(SELLER, BOND, "sell", 4, PAR).order_id
    assert venue.modify(SELLER, BOND, oid, qty=10).ok
    assert ledger.account(SELLER).units_locked[BOND] == 10
    assert venue.modify(SELLER, BOND, oid, qty=11).reason is Reason.INSUFFICIENT_UNITS
    assert venue.modify(SELLER, BOND, oid, qty=3).ok
    assert ledger.account(SELLER).free_units(BOND) == 7


def test_modify_beyond_free_cash_changes_nothing():
    ledger, venue = market(cash=cost(10, PAR))
    oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
    response = venue.modify(BUYER, BOND, oid, qty=11)
    assert (response.status, response.reason) == (Status.REJECTED, Reason.INSUFFICIENT_CASH)
    assert ledger.account(BUYER).cash_locked == cost(10, PAR)
    assert venue.book(BOND).order(oid).open_qty == 10


def test_modify_of_another_accounts_order_is_unknown():
    ledger, venue = market()
    oid = venue.submit(BUYER, BOND, "buy", 10, 9_900).order_id
    before = everything(ledger)
    for who in (SELLER, OTHER):
        response = venue.modify(who, BOND, oid, qty=1)
        assert (response.status, response.reason) == (Status.REJECTED, Reason.UNKNOWN_ORDER)
        assert response.order_id == oid
        cancel = venue.cancel(who, BOND, oid)
        assert (cancel.status, cancel.reason) == (Status.REJECTED, Reason.UNKNOWN_ORDER)
    assert venue.modify(BUYER, BOND, 12345, qty=1).reason is Reason.UNKNOWN_ORDER
    assert everything(ledger) == before
    assert venue.book(BOND).order(oid).open_qty == 10


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"qty": 0}, Reason.BAD_QUANTITY),
        ({"qty": -10}, Reason.BAD_QUANTITY),
        ({"qty": 12.0}, Reason.BAD_QUANTITY),
        ({"price": 0}, Reason.BAD_PRICE),
        ({"price": 9_900.0}, Reason.BAD_PRICE),
        ({"price": np.int64(0)}, Reason.BAD_PRICE),  # refused before the band is looked at
        ({"price": 11_001}, Reason.PRICE_BAND),
        ({"price": 8_999}, Reason.PRICE_BAND),
    ],
)
def test_modify_refusals_change_nothing(change, reason):
    ledger, venue = market(price_band=PriceBand(limit_pct=10))
    oid = venue.submit(BUYER, BOND, "buy", 10, 9_900).order_id
    before = everything(ledger)
    response = venue.modify(BUYER, BOND, oid, **change)
    assert (response.order_id, response.status, response.reason) == (oid, Status.REJECTED, reason)
    assert everything(ledger) == before
    order = venue.book(BOND).order(oid)
    assert (order.open_qty, order.price) == (10, 9_900)


def test_modify_is_held_to_the_position_limit():
    ledger, venue = market()
    venue.register(BUYER, limits=RiskLimits(max_position=10))
    oid = venue.submit(BUYER, BOND, "buy", 6, PAR).order_id
    assert venue.submit(BUYER, BOND, "buy", 2, PAR).ok
    assert venue.modify(BUYER, BOND, oid, qty=9).reason is Reason.POSITION_LIMIT
    assert ledger.account(BUYER).cash_locked == cost(6, PAR) + cost(2, PAR)
    assert venue.modify(BUYER, BOND, oid, qty=8).ok  # 8 + 2 = 10


def test_modify_is_held_to_the_notional_limit():
    ledger, venue = market()
    venue.register(BUYER, limits=RiskLimits(max_open_notional=1_000_000))
    oid = venue.submit(BUYER, BOND, "buy", 5, PAR).order_id  # 500_000
    other = venue.submit(BUYER, BOND, "buy", 4, PAR).order_id  # 400_000
    assert venue.modify(BUYER, BOND, oid, qty=7).reason is Reason.NOTIONAL_LIMIT
    assert venue.modify(BUYER, BOND, oid, qty=6).ok  # exactly 1_000_000
    # 600_000 + 4 * 10_001 * 10 = 1_000_040
    assert venue.modify(BUYER, BOND, other, price=PAR + 1).reason is Reason.NOTIONAL_LIMIT
    assert ledger.account(BUYER).cash_locked == cost(6, PAR) + cost(4, PAR)
    assert venue.modify(BUYER, BOND, other, price=PAR - 1).ok


def test_modify_that_lowers_the_open_notional_is_allowed():
    _, venue = market()
    venue.register(BUYER, limits=RiskLimits(max_open_notional=1_000_000))
    oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id  # 1_000_000: at the limit
    # 5 * 10_100 * 10 = 505_000 paise; the same change in two steps is accepted.
    assert venue.modify(BUYER, BOND, oid, qty=5, price=10_100).ok


def test_modify_into_a_cross_trades_and_releases():
    ledger, venue = market()
    venue.submit(SELLER, BOND, "sell", 5, 10_050)
    oid = venue.submit(BUYER, BOND, "buy", 5, PAR).order_id
    response = venue.modify(BUYER, BOND, oid, price=10_100)
    assert response.status is Status.FILLED
    assert [(t.price, t.qty, t.taker_account) for t in response.trades] == [(10_050, 5, BUYER)]
    assert ledger.account(BUYER).cash_locked == 0
    assert ledger.account(BUYER).cash == RICH - 502_500 - 50
    assert ledger.check().ok


# --- two venues over one ledger -------------------------------------------------------------


def test_two_venues_share_one_ledger():
    ledger, nse = market(name="NSE")
    _, bse = market(name="BSE", ledger=ledger, fees=FeeSchedule(taker_bps=2))
    assert nse.fee_account != bse.fee_account
    assert {nse.fee_account, bse.fee_account} <= set(ledger.accounts)

    nse.submit(SELLER, BOND, "sell", 3, 10_050)
    bse.submit(SELLER, BOND, "sell", 4, 10_020)
    (on_nse,) = nse.submit(BUYER, BOND, "buy", 3, 10_050).trades
    (on_bse,) = bse.submit(BUYER, BOND, "buy", 4, 10_020).trades
    # NSE: 301_500 at 1 bp -> 30 (30.15); BSE: 400_800 at 2 bp -> 80 (80.16)
    assert (on_nse.notional, on_nse.taker_fee, on_nse.venue) == (301_500, 30, "NSE")
    assert (on_bse.notional, on_bse.taker_fee, on_bse.venue) == (400_800, 80, "BSE")
    assert ledger.account(nse.fee_account).cash == 30
    assert ledger.account(bse.fee_account).cash == 80
    assert balances(ledger, BUYER) == {
        "cash": RICH - 301_530 - 400_880,
        "cash_locked": 0,
        "units": 7,
        "units_locked": 0,
    }
    assert ledger.account(SELLER).cash == 301_500 + 400_800
    assert ledger.check().ok


def test_cash_locked_on_one_venue_is_not_free_on_the_other():
    ledger, nse = market(name="NSE", cash=cost(10, PAR))
    _, bse = market(name="BSE", ledger=ledger)
    assert nse.submit(BUYER, BOND, "buy", 10, PAR).ok
    assert_refused(bse.submit(BUYER, BOND, "buy", 1, PAR), Reason.INSUFFICIENT_CASH)
    assert nse.submit(SELLER, BOND, "sell", 10, PAR).ok
    assert_refused(bse.submit(SELLER, BOND, "sell", 991, PAR), Reason.INSUFFICIENT_UNITS)
    assert ledger.check().ok


# --- settlement ---------------------------------------------------------------------------


def test_t_plus_one_settlement_with_calendar_days():
    ledger, venue = market(settlement_lag_days=1)
    venue.submit(SELLER, BOND, "sell", 5, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 5, PAR, now=0).trades
    assert trade.settle_at == 86_400 * 10**9
    pays = 500_000 + 50
    buyer, seller = ledger.account(BUYER), ledger.account(SELLER)
    # Booked: the buyer's payment and the seller's units are locked, nothing has moved.
    assert balances(ledger, BUYER) == {"cash": RICH, "cash_locked": pays, "units": 0,
                                       "units_locked": 0}  # fmt: skip
    assert balances(ledger, SELLER) == {"cash": 0, "cash_locked": 0, "units": 1_000,
                                        "units_locked": 5}  # fmt: skip
    assert (buyer.pending_cash, buyer.position(BOND)) == (-pays, 5)
    assert (seller.pending_cash, seller.position(BOND)) == (500_000, 995)
    assert ledger.check().ok
    assert ledger.check().unsettled_trades == 1

    assert ledger.settle_due(86_400 * 10**9 - 1) == 0
    assert buyer.cash == RICH
    assert ledger.settle_due(86_400 * 10**9) == 1
    assert balances(ledger, BUYER) == {"cash": RICH - pays, "cash_locked": 0, "units": 5,
                                       "units_locked": 0}  # fmt: skip
    assert balances(ledger, SELLER) == {"cash": 500_000, "cash_locked": 0, "units": 995,
                                        "units_locked": 0}  # fmt: skip
    assert ledger.account(venue.fee_account).cash == 50
    assert (buyer.pending_cash, seller.pending_cash) == (0, 0)
    assert ledger.check().ok


def test_t_plus_two_from_a_later_time():
    ledger, venue = market(settlement_lag_days=2)
    venue.submit(SELLER, BOND, "sell", 1, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 1, PAR, now=123).trades
    assert trade.settle_at == 123 + 2 * NS_PER_DAY
    assert ledger.settle_due(trade.settle_at - 1) == 0
    assert ledger.settle_due(trade.settle_at) == 1


def test_t_plus_zero_settles_at_once():
    ledger, venue = market()
    venue.submit(SELLER, BOND, "sell", 1, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 1, PAR, now=55).trades
    assert trade.settle_at == 55
    assert ledger.unsettled == ()
    assert ledger.account(BUYER).units[BOND] == 1


def test_requests_without_a_time_are_at_time_zero():
    _, venue = market(settlement_lag_days=1)
    venue.submit(SELLER, BOND, "sell", 2, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 1, PAR).trades
    assert (trade.time, trade.settle_at) == (0, NS_PER_DAY)
    oid = venue.submit(BUYER, BOND, "buy", 1, PAR - 1).order_id
    (trade,) = venue.modify(BUYER, BOND, oid, price=PAR).trades
    assert (trade.time, trade.settle_at) == (0, NS_PER_DAY)


def test_price_limits_are_the_published_band():
    _, banded = market(price_band=PriceBand(limit_pct=10, halt_pct=5, halt_ns=10**9))
    assert banded.price_limits(BOND) == (9_000, 11_000)
    _, plain = market()
    assert plain.price_limits(BOND) is None


# --- accrued interest ---------------------------------------------------------------------

# An account with risk limits goes through the gateway's Python checks, one without through
# its compiled one-call path: both must count the accrued interest.
BOTH_PATHS = pytest.mark.parametrize(
    "limits", [None, RiskLimits(max_position=10**6)], ids=["compiled", "python"]
)


@BOTH_PATHS
def test_a_trade_at_a_clean_price_settles_with_the_accrued_interest_on_top(limits):
    ledger, venue = market(fees=FeeSchedule(maker_bps="0.5", taker_bps="1.5"))
    for account in (BUYER, SELLER):
        venue.register(account, limits=limits)
    venue.new_day({BOND: 4_321})  # paise of interest per unit
    venue.submit(SELLER, BOND, "sell", 7, 10_123)  # maker
    (trade,) = venue.submit(BUYER, BOND, "buy", 7, 10_123).trades  # taker
    # Clean notional 7 * 10_123 * 10 = 708_610, accrued 7 * 4_321 = 30_247. Fees are on the
    # clean notional: maker 708_610 * 50 / 1e6 = 35.43 -> 35, taker 106.29 -> 106 (on the
    # dirty 738_857 they would be 36 and 110). The buyer pays 708_610 + 30_247 + 106 =
    # 738_963, the seller receives 708_610 + 30_247 - 35 = 738_822, the venue keeps 141.
    assert (trade.price, trade.notional, trade.accrued) == (10_123, 708_610, 30_247)
    assert (trade.maker_fee, trade.taker_fee) == (35, 106)
    assert balances(ledger, BUYER) == {"cash": RICH - 738_963, "cash_locked": 0, "units": 7,
                                       "units_locked": 0}  # fmt: skip
    assert balances(ledger, SELLER) == {"cash": 738_822, "cash_locked": 0, "units": 993,
                                        "units_locked": 0}  # fmt: skip
    assert ledger.account(venue.fee_account).cash == 141
    assert ledger.check().ok


@BOTH_PATHS
def test_a_buy_without_the_cash_for_its_accrued_interest_is_refused(limits):
    # cost(10, PAR) = 1_000_000 + 100 covers the clean notional and the fee; 10 units at 3
    # paise of interest each need 30 more, and the buyer has 29.
    ledger, venue = market(cash=cost(10, PAR) + 29)
    venue.register(BUYER, limits=limits)
    venue.new_day({BOND: 3})
    assert venue.buy_lock(BOND, 10, PAR) == 1_000_130
    assert_refused(venue.submit(BUYER, BOND, "buy", 10, PAR), Reason.INSUFFICIENT_CASH)
    assert ledger.account(BUYER).cash_locked == 0
    ledger.deposit(BUYER, 1)
    assert venue.submit(BUYER, BOND, "buy", 10, PAR).ok
    assert ledger.account(BUYER).cash_locked == 1_000_130


@BOTH_PATHS
def test_a_modify_that_raises_the_quantity_locks_its_accrued_interest_too(limits):
    # 250 paise of interest a unit. 10 at 9_900: 990_000 + 2_500 + 99 = 992_599; 15:
    # 1_485_000 + 3_750 + 148 (148.5 -> 148) = 1_488_898, a paisa more than the buyer has.
    ledger, venue = market(cash=1_488_897)
    venue.register(BUYER, limits=limits)
    venue.new_day({BOND: 250})
    oid = venue.submit(BUYER, BOND, "buy", 10, 9_900).order_id
    assert ledger.account(BUYER).cash_locked == 992_599
    response = venue.modify(BUYER, BOND, oid, qty=15)
    assert (response.status, response.reason) == (Status.REJECTED, Reason.INSUFFICIENT_CASH)
    assert ledger.account(BUYER).cash_locked == 992_599
    ledger.deposit(BUYER, 1)
    assert venue.modify(BUYER, BOND, oid, qty=15).ok
    assert ledger.account(BUYER).cash_locked == 1_488_898
    assert venue.open_orders(BUYER)[0].cash_locked == 1_488_898
    assert venue.modify(BUYER, BOND, oid, qty=4).ok  # 396_000 + 1_000 + 39 (39.6 -> 39)
    assert ledger.account(BUYER).cash_locked == 397_039


def test_an_unsettled_trade_carries_its_accrued_interest_to_settlement():
    ledger, venue = market(settlement_lag_days=1)
    venue.new_day({BOND: 600})
    venue.submit(SELLER, BOND, "sell", 5, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 5, PAR, now=0).trades
    # 500_000 clean and 5 * 600 = 3_000 of interest: the buyer (taker, 1 bp) pays 503_050,
    # the seller receives 503_000.
    assert trade.accrued == 3_000
    (settlement,) = ledger.unsettled
    assert settlement[1:] == (NS_PER_DAY, BOND, BUYER, SELLER, 5, 500_000, 50, 0,
                              venue.fee_account, 3_000)  # fmt: skip
    assert (settlement.buyer_pays, settlement.seller_receives) == (503_050, 503_000)
    buyer, seller = ledger.account(BUYER), ledger.account(SELLER)
    assert (buyer.cash, buyer.cash_locked, buyer.pending_cash) == (RICH, 503_050, -503_050)
    assert seller.pending_cash == 503_000
    assert ledger.check().ok
    # It settles with the interest of the day it traded, not of the day it settles.
    venue.new_day({BOND: 9_999})
    assert ledger.settle_due(NS_PER_DAY) == 1
    assert (buyer.cash, buyer.cash_locked, buyer.pending_cash) == (RICH - 503_050, 0, 0)
    assert (seller.cash, seller.pending_cash) == (503_000, 0)
    assert ledger.account(venue.fee_account).cash == 50
    assert ledger.check().ok


@pytest.mark.parametrize("accrued", [-1, 1.5, "10", None, True, np.int64(5), 2**62 + 1])
def test_new_day_refuses_accrued_interest_that_is_not_whole_paise(accrued):
    _, venue = market(name="BSE")
    venue.list_instrument(Instrument("GS2040"), PAR)
    message = f"BSE: GS2040: accrued interest {accrued!r} paise"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        venue.new_day({BOND: 5, "GS2040": accrued})


@pytest.mark.parametrize("args", [(), (None,), ({},), ({"GS2040": 5},)])
def test_new_day_without_accrued_interest_resets_it_to_zero(args):
    ledger, venue = market()
    venue.new_day({BOND: 700})
    assert venue.buy_lock(BOND, 10, PAR) == cost(10, PAR) + 7_000
    venue.new_day(*args)
    assert venue.buy_lock(BOND, 10, PAR) == cost(10, PAR)
    venue.submit(SELLER, BOND, "sell", 10, PAR)
    (trade,) = venue.submit(BUYER, BOND, "buy", 10, PAR).trades
    assert trade.accrued == 0
    assert ledger.account(BUYER).cash == RICH - cost(10, PAR)
    assert ledger.account(SELLER).cash == 1_000_000


# --- a resting buy into a session with more accrued interest ------------------------------


@pytest.mark.parametrize("spare", [0, 4_999])
def test_a_resting_buy_the_buyer_cannot_cover_for_more_accrued_interest_is_returned(spare):
    # The buy locks cost(10, PAR) = 1_000_000 + 100 with no interest. With 500 paise a unit it
    # needs 10 * 500 = 5_000 more, and the buyer has `spare` free: a paisa short at most.
    ledger, venue = market(cash=cost(10, PAR) + spare)
    oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
    assert venue.new_day({BOND: 500}) == [(BUYER, BOND, oid)]
    # Nothing more is locked, not even the part the buyer could pay.
    assert ledger.account(BUYER).cash_locked == 1_000_100
    assert venue.open_orders(BUYER)[0].cash_locked == 1_000_100
    # The caller cancels it, as the simulation does on the owner's behalf.
    assert venue.cancel(BUYER, BOND, oid).status is Status.CANCELLED
    assert venue.open_orders() == []
    assert balances(ledger, BUYER) == {"cash": 1_000_100 + spare, "cash_locked": 0, "units": 0,
                                       "units_locked": 0}  # fmt: skip
    response = venue.submit(SELLER, BOND, "sell", 10, PAR)
    assert (response.status, response.trades) == (Status.ACCEPTED, ())
    assert ledger.account(BUYER).cash == 1_000_100 + spare
    assert ledger.check().ok


@BOTH_PATHS
def test_a_resting_buy_is_topped_up_for_more_accrued_interest_from_free_cash(limits):
    # Exactly the 10 * 500 = 5_000 paise of interest the buy will need, beyond its lock.
    ledger, venue = market(cash=cost(10, PAR) + 5_000, settlement_lag_days=1)
    for account in (BUYER, SELLER):
        venue.register(account, limits=limits)
    oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
    assert ledger.account(BUYER).cash_locked == 1_000_100
    assert venue.new_day({BOND: 500}) == []
    assert ledger.account(BUYER).cash_locked == 1_005_100  # 1_000_000 + 5_000 + 100
    assert ledger.account(BUYER).free_cash == 0
    (order,) = venue.open_orders(BUYER)
    assert (order.order_id, order.qty, order.cash_locked) == (oid, 10, 1_005_100)
    # The seller takes it: the buyer (maker, 0 bp) pays 1_000_000 + 5_000, its lock's last
    # 100 paise (the fee it did not pay) go back; the seller (taker, 1 bp) receives
    # 1_005_000 - 100.
    (trade,) = venue.submit(SELLER, BOND, "sell", 10, PAR, now=7).trades
    assert (trade.notional, trade.accrued, trade.maker_fee, trade.taker_fee) == (
        1_000_000, 5_000, 0, 100,
    )  # fmt: skip
    buyer = ledger.account(BUYER)
    assert (buyer.cash, buyer.cash_locked, buyer.pending_cash) == (1_005_100, 1_005_000,
                                                                    -1_005_000)  # fmt: skip
    assert ledger.check().ok
    assert ledger.settle_due(7 + NS_PER_DAY) == 1
    assert balances(ledger, BUYER) == {"cash": 100, "cash_locked": 0, "units": 10,
                                       "units_locked": 0}  # fmt: skip
    assert ledger.account(SELLER).cash == 1_004_900
    assert ledger.account(venue.fee_account).cash == 100
    assert ledger.check().ok


@pytest.mark.parametrize("buyer_takes", [True, False], ids=["taker", "maker"])
def test_a_partly_filled_resting_buy_is_topped_up_for_its_remaining_quantity(buyer_takes):
    ledger, venue = market()
    if buyer_takes:  # 4 fill at once at the taker's 1 bp: 400_000 + 40 of the lock spent
        venue.submit(SELLER, BOND, "sell", 4, PAR)
        oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
        held = 1_000_100 - 400_040
    else:  # 4 fill later at the maker's 0 bp: 400_000 spent, 40 of fee allowance left over
        oid = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
        venue.submit(SELLER, BOND, "sell", 4, PAR)
        held = 1_000_100 - 400_000
    (order,) = venue.open_orders(BUYER)
    assert (order.order_id, order.qty, order.cash_locked) == (oid, 6, held)
    assert venue.new_day({BOND: 500}) == []
    # The 6 left need 600_000 + 6 * 500 + 60 = 603_060: 3_000 more from the taker, 2_960
    # from the maker (not 10 * 500 = 5_000 for the order's first quantity).
    (order,) = venue.open_orders(BUYER)
    assert (order.qty, order.cash_locked) == (6, 603_060)
    assert order.cash_locked - held == (3_000 if buyer_takes else 2_960)
    assert ledger.account(BUYER).cash_locked == 603_060
    (trade,) = venue.submit(SELLER, BOND, "sell", 6, PAR).trades
    assert (trade.qty, trade.accrued) == (6, 3_000)
    assert ledger.account(BUYER).cash_locked == 0
    spent = 400_040 if buyer_takes else 400_000
    assert ledger.account(BUYER).cash == RICH - spent - 603_000
    assert ledger.check().ok


def test_new_day_never_touches_a_resting_sell():
    # SELLER has units and no cash, OTHER both: were their sells covered like buys, SELLER's
    # would come back uncovered and OTHER's would lock cash.
    ledger, venue = market()
    venue.submit(SELLER, BOND, "sell", 10, PAR + 5)
    venue.submit(OTHER, BOND, "sell", 5, PAR + 7)
    before, orders = everything(ledger), venue.open_orders()
    assert [(o.side, o.cash_locked, o.units_locked) for o in orders] == [
        (Side.SELL, 0, 10), (Side.SELL, 0, 5),
    ]  # fmt: skip
    assert venue.new_day({BOND: 700}) == []
    assert venue.open_orders() == orders
    assert everything(ledger) == before


def test_resting_buys_are_covered_listing_by_listing_then_by_order_id():
    # 100 paise of interest a unit on both bonds: GS2040's buy of 10 needs 1_000 more, BOND's
    # first buy 1_000 and its second (5 units) 500, and the buyer has 1_000 free. They are
    # visited in listing order (BOND was listed first; GS2040's buy was sent first) and by
    # order id (the second buy, at a better price, is ahead of the first in the book).
    locked = cost(10, PAR) + cost(10, PAR) + cost(5, PAR + 1)  # 2 * 1_000_100 + 500_100
    ledger, venue = market(cash=locked + 1_000)
    venue.list_instrument(Instrument("GS2040"), PAR)
    later = venue.submit(BUYER, "GS2040", "buy", 10, PAR).order_id
    first = venue.submit(BUYER, BOND, "buy", 10, PAR).order_id
    second = venue.submit(BUYER, BOND, "buy", 5, PAR + 1).order_id
    assert ledger.account(BUYER).free_cash == 1_000
    assert venue.new_day({BOND: 100, "GS2040": 100}) == [
        (BUYER, BOND, second),
        (BUYER, "GS2040", later),
    ]
    locks = {(o.instrument, o.order_id): o.cash_locked for o in venue.open_orders(BUYER)}
    assert locks == {
        ("GS2040", later): 1_000_100,
        (BOND, first): 1_000_100 + 1_000,
        (BOND, second): 500_100,
    }
    assert ledger.account(BUYER).free_cash == 0
    assert ledger.check().ok


@pytest.mark.parametrize(
    ("accrued", "references", "message"),
    [
        (
            {BOND: 500, "GS2040": -1},
            {BOND: 9_900, "GS2040": 9_990},
            "GS2040: accrued interest -1 paise",
        ),
        pytest.param(
            {BOND: 500, "GS2040": 300},
            {BOND: 9_900, "GS2040": 0},
            "GS2040: reference price 0 ticks",
            id="bad reference",
        ),
        pytest.param(
            {BOND: 500, "GS2040": 300},
            {BOND: 9_900, "GS2050": 9_990},
            "GS2050: not listed here",
            id="unlisted reference",
        ),
    ],
)
def test_a_refused_new_day_changes_nothing(accrued, references, message):
    ledger, venue = market()
    venue.list_instrument(Instrument("GS2040"), PAR)
    ledger.issue_units(SELLER, "GS2040", 100)
    venue.new_day({BOND: 100, "GS2040": 200}, references={BOND: 9_950})
    # Trades away from the references, which a new session without references would take.
    for symbol, price in ((BOND, 10_010), ("GS2040", 10_020)):
        venue.submit(SELLER, symbol, "sell", 1, price)
        assert venue.submit(OTHER, symbol, "buy", 1, price).trades
    venue.submit(BUYER, BOND, "buy", 10, PAR)  # would need 10 * 400 = 4_000 more at 500
    state = (everything(ledger), venue.open_orders())
    quotes = [(venue.reference_price(s), venue.buy_lock(s, 10, PAR)) for s in (BOND, "GS2040")]
    assert quotes == [(9_950, cost(10, PAR) + 1_000), (10_000, cost(10, PAR) + 2_000)]
    with pytest.raises(ValueError, match=f"^NSE: {message}$"):
        venue.new_day(accrued, references=references)
    assert [(venue.reference_price(s), venue.buy_lock(s, 10, PAR)) for s in (BOND, "GS2040")] == (
        quotes
    )
    assert (everything(ledger), venue.open_orders()) == state
