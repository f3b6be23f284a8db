"""What agent code may know of a run and ask of it: one narrow door, `MarketAccess`.

The kernel hands each agent kind's `build` a `MarketAccess` instead of the simulation, and every
`Participant` keeps the one it was built with. It answers what a market participant could know
or ask of a real market and its platform, and nothing more:

    time       now, session times, trading days, the day index        ns, day indices
    static     symbols, listings per venue (and whether they still trade), instruments, tick
               values, lot sizes, reference prices, ratings           ticks, units, paise
    value      the published fair value, noisy looks at the fundamental, the mark, the
               level of each kind of shock
    platform   opening accounts and deposits (builders, SIP inflows), and the off-book
               `transfer` service (the SIP pool, the repo desk), journaled as every transfer is

It never hands out the ledger, a venue, a book, the model or the simulation: what it returns
are numbers, names, dates and frozen value objects (`Instrument`). Orders, quotes, an agent's
own account and the venue's rules for its orders (price limits, what a buy locks) are the
participant's (`sim.engine.participant`): it takes its `Ports` from here once and keeps them
privately. Agent code names neither this object's slots nor the participant's ports
(tests/agents/test_contract.py reads the agent library to make sure).

Units: time in integer nanoseconds; prices in integer ticks of the instrument (fair values and
observations are float ticks); quantities in integer units; money in integer paise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from sim.engine.kernel import Simulation
    from sim.engine.participant import Participant
    from sim.market.instrument import Instrument


class MarketAccess:
    """One run as its agents may see it (see the module docstring)."""

    __slots__ = ("_instruments", "_ratings", "_sim", "_terms", "_venues")

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._venues = sim.venues
        self._instruments = sim.instruments
        self._ratings = {spec.symbol: spec.rating for spec in sim.scenario.instruments}
        self._terms = {spec.symbol: spec for spec in sim.scenario.instruments}

    def __repr__(self) -> str:
        return f"MarketAccess({self._sim.scenario.name!r})"

    # --- time ----------------------------------------------------------------------------

    def now(self) -> int:
        """Simulated time now, ns."""
        return self._sim.now

    def session(self, day: int) -> tuple[int, int]:
        """(open, close) of trading day `day` (0-based), ns."""
        return self._sim.calendar.session(day)

    def day_index(self, time_ns: int) -> int:
        """Index of the trading day whose session contains `time_ns` (or the last before it)."""
        return self._sim.calendar.day_index(time_ns)

    def trading_days(self) -> tuple[date, ...]:
        """The run's trading dates, in order (day index i is the i-th)."""
        return self._sim.calendar.trading_days

    # --- static data ---------------------------------------------------------------------

    def symbols(self) -> tuple[str, ...]:
        """Every instrument of the run, in the scenario's order."""
        return tuple(self._instruments)

    def listings(self, day: int | None = None) -> tuple[tuple[str, str], ...]:
        """Every (venue, symbol) pair that trades (on trading day `day`, if given), venues in
        the scenario's order."""
        trades_on = self._sim.paying_agents.trades_on
        return tuple(
            (name, s)
            for name, venue in self._venues.items()
            for s in venue.symbols
            if day is None or trades_on(s, day)
        )

    def trades_on(self, symbol: str, day: int) -> bool:
        """Whether `symbol` still trades on trading day `day`: a bond stops trading once its
        trades would settle on or after its maturity, and is then redeemed."""
        return self._sim.paying_agents.trades_on(symbol, day)

    def instrument(self, symbol: str) -> Instrument:
        """The instrument's static data (a frozen value): tick size, lot size, unit face value,
        tick value. KeyError for a symbol the run does not have."""
        return self._instruments[symbol]

    def tick_value(self, symbol: str) -> int:
        """Paise one tick of price is worth on one unit."""
        return self._instruments[symbol].tick_value

    def lot_size(self, symbol: str) -> int:
        """Units an order must be a whole multiple of."""
        return self._instruments[symbol].lot_size

    def reference_price(self, symbol: str) -> int:
        """Where the instrument's market opened, ticks: its price band's first centre and the
        prior agents start from."""
        return self._sim.reference_prices[symbol]

    def terms(self, symbol: str) -> dict:
        """The instrument's terms as the scenario lists them: issuer, sector, rating at issue,
        coupon, issue and maturity dates, coupon frequency and day count (None where not
        given)."""
        spec = self._terms[symbol]
        fields = ("issuer", "sector", "rating", "coupon", "issue", "maturity", "frequency",
                  "day_count")  # fmt: skip
        return {name: getattr(spec, name) for name in fields}

    def rating(self, symbol: str, day: int) -> str | None:
        """The instrument's credit rating on trading day `day` ("AA+", "D", ...): the
        fundamental's when ratings migrate there, else the scenario's (None if unrated)."""
        rating_on = getattr(self._sim.fundamental, "rating", None)
        return rating_on(symbol, day).value if rating_on else self._ratings[symbol]

    # --- value ---------------------------------------------------------------------------

    def fair_value(self, symbol: str) -> float:
        """The last published valuation, ticks: the fair value as of this session's open, or
        as re-marked after a shock that moved it since. What the market knows of value."""
        return self._sim.published_fair_value(symbol)

    def valuation(self, symbol: str) -> tuple[float, float]:
        """The last published (fair clean price, accrued interest), per 100 face."""
        return self._sim.information.valuation(symbol)

    def valuation_detail(self, symbol: str):
        """The published valuation with the pricing engine's breakdown (a
        `sim.pricing.FairValue`: risk-free price, rating spread, credit adjustment), or None
        where there is none (a value that is not a bond's, a bond in default)."""
        return self._sim.valuation_detail(symbol)

    def record_log(self, agent: Participant, message: str, details: str) -> None:
        """A line of `agent`'s log for the run's strategy log, now (`details`: JSON or "")."""
        sim = self._sim
        sim.recorder.strategy_log(sim.clock.now, agent.account, message, details)

    def record_decision(
        self, agent: Participant, decided_at: int, venue: str, symbol: str, order_id: int, details
    ) -> None:
        """Why `agent` sent an order (`details`: JSON), for the run's decisions table."""
        self._sim.recorder.decision(decided_at, agent.account, venue, symbol, order_id, details)

    def observe_fundamental(self, symbol: str, noise_ticks: float, rng) -> float:
        """A look at the fundamental value now, ticks, with normal noise of sd `noise_ticks`
        drawn from `rng` (the observer's own generator)."""
        sim = self._sim
        return sim.information.observe_fundamental(symbol, noise_ticks, rng, sim.clock.now)

    def mark(self, symbol: str) -> int:
        """The clean price positions are valued at, ticks: the published fair value."""
        return self._sim.mark(symbol)

    def unit_value(self, symbol: str) -> int:
        """Paise one unit is worth at the published valuation, accrued interest included."""
        return self._sim.unit_value(symbol)

    def accrued_interest(self, symbol: str) -> int:
        """Paise of interest accrued on one unit in the published valuation (to the settlement
        date of a trade now): what a buyer pays on top of the clean price."""
        return self._sim.accrued_interest(symbol)

    def shock_level(
        self, kind: type, day: int, size: Callable[[Any], float] | None = None
    ) -> float:
        """How strong the scenario's shocks of class `kind` (a spec of `sim.scenario.shocks`,
        such as `PanicShock`) are on trading day `day`: each one's full size, `size(shock)`
        or by default its `level` (a panic's intensity, a withdrawal's fraction), times the
        fraction of its path reached that day; the largest if several, 0.0 if none."""
        return self._sim.shock_level(kind, day, size)

    # --- the platform --------------------------------------------------------------------

    def open_account(
        self,
        agent: Participant,
        cash: int = 0,
        units: dict[str, int] | None = None,
        tier: str | None = None,
    ) -> None:
        """Give a newly built agent its account: `cash` paise and `units` per symbol as its
        endowment, admitted to every venue (in a market maker's `tier`, if any)."""
        self._sim.open_account(agent, cash=cash, units=units, tier=tier)

    def deposit(self, agent: Participant, amount: int) -> None:
        """`amount` paise entering the system into the agent's account (a SIP contribution):
        capital, not profit, so the agent's PnL is measured net of it."""
        self._sim.deposit(agent, amount)

    def transfer(
        self,
        source: Participant,
        target: Participant,
        cash: int = 0,
        symbol: str = "",
        qty: int = 0,
    ) -> None:
        """An immediate exchange off the book between two participants: `source` pays `cash`
        paise to `target`, and `target` delivers `qty` units of `symbol` to `source` (either
        may be 0). Checked as the ledger checks every transfer (a `LedgerError`, a ValueError,
        when the payer's free cash or the deliverer's free units fall short) and journaled in
        transfers.parquet."""
        self._sim.ledger.transfer(source.account, target.account, cash, symbol, qty)

    def pass_on_coupon(self, source: Participant, target: Participant, cash: int, symbol: str):
        """`source` pays `target` a coupon it received on `symbol` for it (a manufactured
        payment: a repo lender to the borrower whose units it holds), journaled as
        "manufactured_payment": income to the target, not a trade."""
        self._sim.ledger.transfer(
            source.account, target.account, cash, symbol, 0, kind="manufactured_payment"
        )

    def _ports(self) -> Ports:
        """What a participant acts and reads its own account through (bound once: they are on
        the path of every order)."""
        sim = self._sim
        return Ports(
            model=sim.model,
            now=functools.partial(getattr, sim.clock, "now"),  # the clock's own property
            send=sim.send,
            wake=sim.wake,
            subscribe=sim.subscribe,
            delayed_quote=sim.market_data.delayed_quote,
            venues=self._venues,
            account=sim.ledger.account,
            record_refusal=sim.record_refusal,
        )


class Ports(NamedTuple):
    """The run's side of a participant: what `Participant` keeps privately to act with."""

    model: object  # the mesa model the agent registers in
    now: Callable[[], int]
    send: Callable  # send(agent, action, venue, symbol, args, options)
    wake: Callable  # wake(agent, time_ns)
    subscribe: Callable  # subscribe(agent, venue, symbol, channel)
    delayed_quote: Callable  # delayed_quote(venue, symbol, as_of_ns) -> Quote
    venues: dict  # name -> Venue, for the venue's rules on the participant's own orders
    account: Callable  # account(account_id) -> the ledger's read-only view of it
    record_refusal: Callable  # record_refusal(agent, request, reason, client)
