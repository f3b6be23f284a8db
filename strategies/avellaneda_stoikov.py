"""Avellaneda–Stoikov market making: the quoting rule, and the paper's own market model to
validate it in.

Avellaneda, M. and Stoikov, S. (2008), "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 217–224 (author's copy:
https://www.math.nyu.edu/~avellane/HighFrequencyTrading.pdf): eqs. (29) and (30), and the
simulations of section 3.3.

The rule. A dealer holding q units at time t, with the mid at s, values the asset at the
reservation price and quotes a total spread (bid to ask) around it:

    r      = s - q * gamma * sigma^2 * (T - t)
    spread = gamma * sigma^2 * (T - t) + (2 / gamma) * ln(1 + gamma / k)
    bid    = r - spread / 2,   ask = r + spread / 2          the "inventory" strategy

gamma is the risk aversion (per unit of price), sigma the mid's volatility (price per square
root of time), k the decay of the fill intensity A exp(-k delta) with a quote's distance delta
from the mid (per unit of price), T the horizon. Long, the dealer shades both quotes down to
sell; short, up. The spread does not depend on q and narrows to (2 / gamma) ln(1 + gamma / k)
as t -> T. The paper's benchmark, the "symmetric" strategy, "uses the average bid/ask spread of
the inventory strategy over the time period, but centres it around the mid-price", whatever it
holds: gamma sigma^2 T / 2 + (2 / gamma) ln(1 + gamma / k), the tables' "average spread" column
(1.49, 1.35 and 3.02 for gamma = 0.1, 0.01 and 1). Prices here are floats in whatever unit the
caller uses throughout: this is analytics, and the bondlab strategy converts to ticks.

The paper's market model (`simulate_paper_model`), in the paper's words: "at time t, the
agent's quotes δa and δb are computed, given the state variables. At time t + dt, the state
variables are updated. With probability λa(δa)dt, the inventory variable decreases by one and
the wealth increases by s+δa. With probability λb(δb)dt, the inventory increases by one and the
wealth decreases by s−δb. The mid-price is updated by a random increment ±σ√dt." Read
literally, each step: the quotes from the state at t; each quote filled, independently, with
probability min(1, A exp(-k delta) dt), delta its distance from the mid at t, at its own price;
then the mid moves by +sigma sqrt(dt) or -sigma sqrt(dt), with probability 1/2 each. Each path
starts at s0, flat with no cash, and runs to T; the profit is cash + q * S_T. A quote through
the mid (a probability above 1) is always filled. For one seed both strategies see the same mid
paths and the same uniform draws, so comparing them is a paired comparison. Measuring delta
from the moved mid instead puts five of the six mean profits 0.7 to 1.8 below the tables' (up
to 7.3 standard errors beyond their rounding).

At 20,000 paths (seed 2008) all 24 figures of the paper's Tables 1-3 lie within 1.9 standard
errors (benchmarks/RESULTS.md); tests/strategies/test_avellaneda_stoikov.py checks each at the
paper's 1,000. The tables of the October 2006 preprint (with gamma = 0.5 for the third) differ
from the published ones and are not the reference.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.market.orders import Reason, Side
from sim.units import NS_PER_SECOND

STRATEGIES = ("inventory", "symmetric")


class PaperRow(NamedTuple):
    """One row of the paper's tables: the average spread, then mean and sd of profit and of
    final inventory over its 1,000 paths."""

    spread: float
    profit_mean: float
    profit_sd: float
    inventory_mean: float
    inventory_sd: float


# Avellaneda & Stoikov (2008), section 3.3, Tables 1-3 ("1000 simulations with gamma = ..."):
# s = 100, T = 1, sigma = 2, dt = 0.005, q = 0, k = 1.5, A = 140. Read from a transcription of
# the author's copy; Table 1 agrees with the README of github.com/ragoragino/avellaneda-stoikov.
# Columns: average spread, profit, std(profit), final q, std(final q).
PAPER_TABLES = {
    (0.1, "inventory"): PaperRow(1.49, 65.0, 6.6, 0.08, 2.9),
    (0.1, "symmetric"): PaperRow(1.49, 68.4, 12.7, 0.26, 8.4),
    (0.01, "inventory"): PaperRow(1.35, 68.6, 8.7, 0.12, 5.1),
    (0.01, "symmetric"): PaperRow(1.35, 68.8, 12.8, 0.09, 8.7),
    (1.0, "inventory"): PaperRow(3.02, 31.4, 5.0, 0.02, 1.7),
    (1.0, "symmetric"): PaperRow(3.02, 44.0, 11.0, 0.00, 5.1),
}


@dataclass(frozen=True)
class AvellanedaStoikovParams:
    """The rule's parameters and the paper's market; the defaults are the paper's (gamma = 0.1)."""

    gamma: float = 0.1  # risk aversion, per unit of price
    sigma: float = 2.0  # the mid's volatility, price per sqrt(time)
    k: float = 1.5  # fill-intensity decay with distance from the mid, per unit of price
    A: float = 140.0  # fill intensity of a quote at the mid, per unit of time
    T: float = 1.0  # horizon
    dt: float = 0.005  # the market model's step
    s0: float = 100.0  # the mid at t = 0

    def __post_init__(self) -> None:
        for name in ("gamma", "sigma", "k", "T", "dt"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.A < 0:
            raise ValueError(f"A must be >= 0, got {self.A}")


class Quotes(NamedTuple):
    bid: float | np.ndarray
    ask: float | np.ndarray


def reservation_price(mid, inventory, t: float, params: AvellanedaStoikovParams):
    """r = s - q gamma sigma^2 (T - t): the mid shaded against the inventory (arrays welcome)."""
    return mid - inventory * params.gamma * params.sigma**2 * (params.T - t)


def optimal_spread(t: float, params: AvellanedaStoikovParams) -> float:
    """The total spread, bid to ask: gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / k)."""
    return params.gamma * params.sigma**2 * (params.T - t) + terminal_spread(params)


def terminal_spread(params: AvellanedaStoikovParams) -> float:
    """(2 / gamma) ln(1 + gamma / k): the optimal spread at t = T."""
    return 2 / params.gamma * math.log1p(params.gamma / params.k)


def average_spread(params: AvellanedaStoikovParams) -> float:
    """The optimal spread averaged over [0, T], gamma sigma^2 T / 2 + (2 / gamma) ln(1 + gamma / k):
    the symmetric strategy's, and the paper's "average spread" column."""
    return params.gamma * params.sigma**2 * params.T / 2 + terminal_spread(params)


def inventory_quotes(mid, inventory, t: float, params: AvellanedaStoikovParams) -> Quotes:
    """The optimal spread centred on the reservation price."""
    centre = reservation_price(mid, inventory, t, params)
    half = optimal_spread(t, params) / 2
    return Quotes(centre - half, centre + half)


def symmetric_quotes(mid, params: AvellanedaStoikovParams) -> Quotes:
    """The paper's benchmark: the average spread centred on the mid, whatever is held."""
    half = average_spread(params) / 2
    return Quotes(mid - half, mid + half)


@dataclass(frozen=True)
class SimulationSummary:
    """Means and sample standard deviations (ddof = 1) over the paths."""

    profit_mean: float
    profit_sd: float
    inventory_mean: float
    inventory_sd: float


@dataclass(frozen=True)
class PaperSimulation:
    """Per path: the profit at T (cash + q S_T) and the final inventory q_T (units)."""

    profit: np.ndarray
    final_inventory: np.ndarray
    summary: SimulationSummary


def simulate_paper_model(
    params: AvellanedaStoikovParams,
    strategy: Literal["inventory", "symmetric"] = "inventory",
    n_paths: int = 1000,
    seed: int | np.random.SeedSequence = 0,
) -> PaperSimulation:
    """Run `strategy` over `n_paths` paths of the paper's market model (section 3.3), all
    paths at once; the same seed gives the same paths and the same figures."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if n_paths < 2:
        raise ValueError(f"n_paths must be at least 2 (a standard deviation), got {n_paths}")
    steps = round(params.T / params.dt)
    if not math.isclose(steps * params.dt, params.T):
        raise ValueError(f"T = {params.T} is not a whole number of steps dt = {params.dt}")
    rng = np.random.default_rng(seed)
    move = params.sigma * math.sqrt(params.dt)
    mid = np.full(n_paths, params.s0)
    inventory = np.zeros(n_paths, dtype=np.int64)
    cash = np.zeros(n_paths)
    for step in range(steps):
        if strategy == "inventory":
            bid, ask = inventory_quotes(mid, inventory, step * params.dt, params)
        else:
            bid, ask = symmetric_quotes(mid, params)
        hit = rng.random(n_paths) < _fill_probability(mid - bid, params)
        lifted = rng.random(n_paths) < _fill_probability(ask - mid, params)
        inventory += hit
        inventory -= lifted
        cash += np.where(lifted, ask, 0.0) - np.where(hit, bid, 0.0)
        mid = mid + np.where(rng.random(n_paths) < 0.5, move, -move)
    profit = cash + inventory * mid
    summary = SimulationSummary(
        profit_mean=float(profit.mean()),
        profit_sd=float(profit.std(ddof=1)),
        inventory_mean=float(inventory.mean()),
        inventory_sd=float(inventory.std(ddof=1)),
    )
    return PaperSimulation(profit=profit, final_inventory=inventory, summary=summary)


def _fill_probability(distance: np.ndarray, params: AvellanedaStoikovParams) -> np.ndarray:
    # Above 1 for a quote far enough through the mid, which a uniform draw then always fills.
    return params.A * np.exp(-params.k * distance) * params.dt


# --- The bondlab strategy --------------------------------------------------------------------


class Decision(NamedTuple):
    """One requote of one bond: what the rule saw and what it quotes. Prices in ticks; a side
    that is None is not quoted."""

    centre: float  # s
    inventory: float  # q, in quotes
    sigma: float  # price per 100 face per sqrt(trading day)
    reservation: float  # r
    spread: float  # bid to ask, before rounding to the tick
    bid: int | None
    ask: int | None
    bid_cost: int  # paise the bid's units cost at its price, accrued interest included


class AvellanedaStoikov:
    """Market making with the inventory skew above, around each bond's fair value, in ticks.

    Every `requote_seconds` of trading time it quotes a bid and an ask of `quote_lots` lots in
    each bond of its markets, on the first venue listing it, by the rule (`inventory_quotes`),
    prices per 100 face:

        s       the price it quotes around: the published fair value (the valuation's clean
                price), blended with the venue's mid as w * fair + (1 - w) * mid with
                w = `fair_value_weight` (the fair value alone without a two-sided quote)
        q       its holding less its starting holding, in quotes of `quote_lots` lots (the
                paper counts fills of one share)
        sigma   s's volatility, price per sqrt(trading day): the root mean square of s's
                changes from one timer to the next over the last `sigma_window` timers, times
                the square root of the timers in a session; `initial_sigma` until the window
                holds a session's (or is full), and never below `min_sigma`
        T - t   trading days left: to today's close with `horizon` "session" (T = 1, t the
                share of the session gone), to the last close of the run with "run"
        gamma   risk aversion, per unit of price; k: the fill intensity's decay with a quote's
                distance from s, per unit of price

    The defaults suit the baseline's bonds, whose fair values move about 0.2 a trading day:
    a terminal spread of 2 ln 1.1 = 0.19 (19 ticks of 0.01) and, at the open, 0.04 more and a
    skew of 0.04 a quote held.

    In ticks of the instrument, the bid is rounded down and the ask up, at least one tick
    apart. The venues centre their price bands on the fair value; with `band_pct` (the band's
    half-width, percent) a bid above the band moves down to its top and an ask below it up to
    its bottom, and a side left outside it is not quoted. Nor is a side whose fill would take
    the holding more than `max_inventory_lots` from the start, a sell of units it does not
    hold, or a new bid its free cash does not pay for (clean price and accrued interest; fees
    are left to its margin).

    Each requote brings the bond's two resting orders to what the rule wants: a new order for
    a side without one, `modify` for one whose price or size changed (a partly filled quote is
    topped up), `cancel` for a side no longer quoted. While a request of a bond is unanswered
    its quotes wait for the next timer, so that it never rests two orders on a side, and so
    does a quote that would meet its own quote on the other side until that one has moved; a
    bond whose listing has ended is no longer quoted. Every `log_every` requotes of a bond it logs
    the decision ("requote": s, r and the spread in ticks, q, sigma and the quotes).
    """

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        gamma: float = Field(1.0, gt=0, description="risk aversion, per unit of price")
        k: float = Field(10.0, gt=0, description="fill-intensity decay, per unit of price")
        horizon: Literal["session", "run"] = Field(
            "session", description="T: today's close, or the run's last"
        )
        fair_value_weight: float = Field(
            1.0, ge=0, le=1, description="weight of the fair value in s; the rest is the mid"
        )
        quote_lots: int = Field(10, ge=1, description="lots in each quote")
        max_inventory_lots: int = Field(100, ge=1, description="lots long or short of the start")
        requote_seconds: float = Field(60.0, gt=0, description="trading time between requotes")
        sigma_window: int = Field(
            1875, ge=2, description="timers sigma is estimated over (five 375-minute sessions)"
        )
        initial_sigma: float = Field(
            0.2, gt=0, description="price per sqrt(trading day), until the window is filled"
        )
        min_sigma: float = Field(0.01, gt=0, description="price per sqrt(trading day)")
        band_pct: float | None = Field(
            5.0, gt=0, lt=100, description="the venues' band, percent either side of fair value"
        )
        log_every: int = Field(100, ge=1, description="requotes of a bond per logged decision")

        @model_validator(mode="after")
        def _a_quote_fits_the_limit(self):
            if self.quote_lots > self.max_inventory_lots:
                raise ValueError(
                    f"quote_lots ({self.quote_lots}) exceeds max_inventory_lots "
                    f"({self.max_inventory_lots}): no quote would fit the limit"
                )
            return self

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.venues: dict[str, str] = {}  # symbol -> the venue it is quoted on
        self.quote_units: dict[str, int] = {}
        self.start_units: dict[str, int] = {}
        self.volatility: dict[str, RollingVolatility] = {}
        self.decisions: dict[str, Decision] = {}  # the latest of each bond
        self.requotes: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()  # requests unanswered, by bond
        self.delisted: set[str] = set()
        self.sessions = 0  # in the run, for horizon "run"

    def on_start(self, ctx) -> None:
        p = self.params
        for venue, symbol in ctx.markets:
            self.venues.setdefault(symbol, venue)
        for symbol in self.venues:
            self.quote_units[symbol] = p.quote_lots * ctx.instrument(symbol).lot_size
            self.start_units[symbol] = ctx.position(symbol)
            self.volatility[symbol] = RollingVolatility(p.sigma_window)
        if p.horizon == "run":
            self.sessions = sessions_in_run(ctx)
        ctx.set_timer(int(p.requote_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        resting = {(venue, o.instrument, o.side): o for venue, o in ctx.open_orders()}
        for symbol, venue in self.venues.items():
            if symbol in self.delisted:
                continue
            decision = self.decide(ctx, venue, symbol)
            self.decisions[symbol] = decision
            if self.requotes[symbol] % self.params.log_every == 0:  # the first, then every Nth
                ctx.log("requote", symbol=symbol, **_logged(decision))
            self.requotes[symbol] += 1
            if not self.in_flight[symbol]:
                bid, ask = (resting.get((venue, symbol, side)) for side in (Side.BUY, Side.SELL))
                self._requote(ctx, venue, symbol, decision, bid, ask)

    def on_order(self, ctx, request, response) -> None:
        symbol = request[2]
        self.in_flight[symbol] -= 1
        if response.reason == Reason.DELISTED:
            self.delisted.add(symbol)

    def decide(self, ctx, venue: str, symbol: str) -> Decision:
        """The quotes the rule wants in `symbol` now (and a sample of s for sigma: call it
        once a timer)."""
        p = self.params
        instrument, valuation = ctx.instrument(symbol), ctx.valuation(symbol)
        tick = float(instrument.tick_size)
        centre = valuation.clean
        mid = ctx.quote(venue, symbol).mid
        if mid is not None:
            centre = p.fair_value_weight * centre + (1 - p.fair_value_weight) * mid * tick
        t, horizon, timers_a_session = self._clock(ctx)
        volatility = self.volatility[symbol]
        volatility.add(centre)
        sigma = volatility.sigma(timers_a_session, p.initial_sigma, p.min_sigma)
        rule = AvellanedaStoikovParams(gamma=p.gamma, sigma=sigma, k=p.k, T=horizon)
        size, held = self.quote_units[symbol], ctx.position(symbol)
        excess = held - self.start_units[symbol]
        inventory = excess / size
        bid, ask = inventory_quotes(centre, inventory, t, rule)
        band = None if p.band_pct is None else price_band(round(valuation.clean / tick), p.band_pct)
        bid_ticks, ask_ticks = on_tick_grid(bid / tick, ask / tick, band)
        limit = p.max_inventory_lots * instrument.lot_size
        if excess + size > limit:
            bid_ticks = None
        if held < size or size - excess > limit:
            ask_ticks = None
        unit_cost = (
            0
            if bid_ticks is None
            else bid_ticks * instrument.tick_value + valuation.accrued * instrument.unit_face_value
        )
        return Decision(
            centre=centre / tick,
            inventory=inventory,
            sigma=sigma,
            reservation=reservation_price(centre, inventory, t, rule) / tick,
            spread=optimal_spread(t, rule) / tick,
            bid=bid_ticks,
            ask=ask_ticks,
            bid_cost=math.ceil(size * unit_cost),
        )

    def _clock(self, ctx) -> tuple[float, float, float]:
        """(t, T) in trading days for the horizon, and the timers in today's session."""
        day = ctx.day
        open_ns, close_ns = ctx.session(day)
        length = close_ns - open_ns
        gone = min(max((ctx.now - open_ns) / length, 0.0), 1.0)  # of today's session
        timers = length / (self.params.requote_seconds * NS_PER_SECOND)
        if self.params.horizon == "session":
            return gone, 1.0, timers
        return day + gone, float(self.sessions), timers

    def _requote(self, ctx, venue: str, symbol: str, decision: Decision, bid, ask) -> None:
        """Bring the resting `bid` and `ask` (OpenOrders, or None) to `decision`. A quote that
        would meet its own resting quote on the other side waits for the next requote, once
        that one has moved away (requests may reach the venue in any order)."""
        size = self.quote_units[symbol]
        for side, order, price, other in (
            (Side.BUY, bid, decision.bid, ask),
            (Side.SELL, ask, decision.ask, bid),
        ):
            if _meets(side, price, other):
                continue
            if order is None:
                if price is None or (side is Side.BUY and ctx.free_cash() < decision.bid_cost):
                    continue
                self.in_flight[symbol] += 1  # first: a refusal is answered at once
                ctx.submit(venue, symbol, side, size, price)
            elif price is None:
                self.in_flight[symbol] += 1
                ctx.cancel(venue, symbol, order.order_id)
            elif order.limit != price or order.qty != size:
                self.in_flight[symbol] += 1
                qty = None if order.qty == size else size
                ctx.modify(
                    venue, symbol, order.order_id, qty, None if order.limit == price else price
                )


class RollingVolatility:
    """The volatility of a price sampled at equal steps of trading time, from the mean square
    of its changes over the last `window` steps."""

    def __init__(self, window: int) -> None:
        self.squares: deque[float] = deque(maxlen=window)
        self.total = 0.0  # of `squares`, kept as they come and go
        self.last: float | None = None

    def add(self, price: float) -> None:
        if self.last is not None:
            if len(self.squares) == self.squares.maxlen:
                self.total -= self.squares[0]
            change = (price - self.last) ** 2
            self.squares.append(change)
            self.total += change
        self.last = price

    def sigma(self, steps_a_session: float, initial: float, floor: float) -> float:
        """Per square root of a session of `steps_a_session` steps: `initial` until the window
        holds a session's changes (or is full), and never below `floor`."""
        if len(self.squares) < min(self.squares.maxlen, math.ceil(steps_a_session)):
            return initial
        mean_square = max(self.total, 0.0) / len(self.squares)  # sums that shrink may round below 0
        return max(math.sqrt(mean_square * steps_a_session), floor)


def on_tick_grid(
    bid: float, ask: float, band: tuple[int, int] | None = None
) -> tuple[int | None, int | None]:
    """Quotes in (fractional) ticks on the grid: the bid rounded down and the ask up, at least
    one tick apart. Within `band` (lowest and highest ticks allowed), a bid above it moves
    down to its top and an ask below it up to its bottom; a side still outside it is None."""
    # A quote a rounding error off a whole tick is on that tick.
    bid_ticks = math.floor(round(bid, 6))
    ask_ticks = max(math.ceil(round(ask, 6)), bid_ticks + 1)
    if band is None:
        return bid_ticks, ask_ticks
    low, high = band
    bid_ticks, ask_ticks = min(bid_ticks, high), max(ask_ticks, low)
    return (bid_ticks if bid_ticks >= low else None, ask_ticks if ask_ticks <= high else None)


def price_band(centre: int, pct: float) -> tuple[int, int]:
    """The ticks within `pct` percent of `centre`, edges rounded inwards (as a venue's band)."""
    width = centre * pct / 100
    return math.ceil(round(centre - width, 6)), math.floor(round(centre + width, 6))


def sessions_in_run(ctx) -> int:
    """The trading days of the run. The Context does not tell the run's length, so this
    counts the sessions it answers for: it raises ValueError past the last."""
    days = ctx.day + 1
    while True:
        try:
            ctx.session(days)
        except ValueError:
            return days
        days += 1


def _meets(side: Side, price: int | None, other) -> bool:
    """Whether a quote at `price` would trade with `other`, a resting order on the other side."""
    if price is None or other is None:
        return False
    return price >= other.limit if side is Side.BUY else price <= other.limit


def _logged(decision: Decision) -> dict:
    return {
        "s": round(decision.centre, 2),
        "r": round(decision.reservation, 2),
        "spread": round(decision.spread, 2),
        "q": round(decision.inventory, 3),
        "sigma": round(decision.sigma, 4),
        "bid": decision.bid,
        "ask": decision.ask,
    }
