"""A context by hand (`Desk`) and a reduced baseline run, for the tests of the strategies that
trade toward a target holding (mean reversion, momentum, stat arb)."""

from __future__ import annotations

import polars as pl
import pytest

import sim
from sim.market.instrument import Instrument
from sim.market.messages import Quote, Response
from sim.market.orders import Reason, Status
from sim.scenario import ScenarioError
from sim.strategy.api import Valuation

# The baseline, small: two days, fewer retail and SIP investors, no repo desk and no AI agent
# (its model training dominates a short run); about two seconds a run.
REDUCED_BASELINE = [
    "calendar.days=2",
    "retail.count=300",
    "sip.investors=200",
    "repo.count=0",
    "ai.count=0",
    "strategy.count=1",
]


def run_in_baseline(ref: str, params: str, *more: str):
    """A reduced baseline run with the strategy `ref` hosted by the ``[strategy]`` population
    (`params` a TOML inline table); returns the result and the strategy's agent id."""
    overrides = [*REDUCED_BASELINE, f'strategy.ref="{ref}"', f"strategy.params={params}", *more]
    result = sim.run(sim.load_scenario("baseline", overrides), seed=1, out=None)
    (agent,) = result.agents.filter(pl.col("kind") == "strategy")["agent"]
    return result, agent


def check_run(result, agent: int) -> None:
    """It traded, within its cash and units, one log line per order, the ledger whole."""
    orders = result.orders.filter(pl.col("agent") == agent)
    fills = result.trades.filter(
        (pl.col("taker_agent") == agent) | (pl.col("maker_agent") == agent)
    )
    assert orders.height > 0 and fills.height > 0
    assert set(orders["tif"]) == {"IOC"}
    refused = {Reason.INSUFFICIENT_CASH.name.lower(), Reason.INSUFFICIENT_UNITS.name.lower()}
    assert not refused & set(orders["reason"].cast(str))
    assert result.metrics["ledger"]["conserved"]
    log = result.strategy_log.filter(pl.col("agent") == agent)
    assert log.height == orders.height


def bad_params_error(ref: str, params: str) -> str:
    scenario = sim.load_scenario(
        "baseline", [*REDUCED_BASELINE, f'strategy.ref="{ref}"', f"strategy.params={params}"]
    )
    with pytest.raises(ScenarioError) as caught:
        sim.run(scenario, seed=1, out=None)
    return str(caught.value)


class Desk:
    """The Context by hand: bonds quoted on venues (a tick is 0.01 per 100 face, a unit 1,000
    rupees of face: 10 paise a tick), its account, and what the strategy sent and logged."""

    def __init__(self, quotes, valuations, positions=None, lot: int = 1) -> None:
        self.quotes = dict(quotes)  # (venue, symbol) -> Quote
        self.markets = tuple(self.quotes)
        self.valuations = dict(valuations)  # symbol -> Valuation
        self.positions = dict(positions or {})
        self.free: dict[str, int] = {}  # free units where they differ from the position
        self.cash = 10**10
        self.lot = lot
        self.now = 0
        self.timer = None
        self.sent: list[tuple] = []  # ("new", venue, symbol, side, qty, price, tif)
        self.answered = 0
        self.lines: list[tuple[str, dict]] = []
        self.terms_of: dict[str, dict] = {}  # symbol -> its terms (issuer, rating, ...)

    def quote(self, venue, symbol):
        return self.quotes[(venue, symbol)]

    def valuation(self, symbol):
        return self.valuations[symbol]

    def instrument(self, symbol):
        return Instrument(symbol, "0.01", self.lot, 1000)

    def terms(self, symbol):
        return self.terms_of.get(symbol, {"issuer": None, "rating": None})

    def position(self, symbol):
        return self.positions.get(symbol, 0)

    def free_units(self, symbol):
        return self.free.get(symbol, self.position(symbol))

    def free_cash(self):
        return self.cash

    def submit(self, venue, symbol, side, qty, price=None, tif="GTC", **options):
        self.sent.append(("new", venue, symbol, side, qty, price, tif))

    def log(self, message, **fields):
        self.lines.append((message, fields))

    def set_timer(self, interval_ns):
        self.timer = interval_ns

    def answer(self, strategy) -> None:
        """The venues answer the orders sent since the last answer (each filled in full)."""
        for request in self.sent[self.answered :]:
            strategy.on_order(self, request, Response(request[2], 1, Status.FILLED, Reason.NONE))
        self.answered = len(self.sent)


def valuation(symbol: str, clean: float, accrued: float = 0.0) -> Valuation:
    return Valuation(symbol, 0, clean, accrued, None, None, None, (), None)


def quote(bid, ask, size: int = 500) -> Quote:
    return Quote(0, bid, size, ask, size)
