"""The allocator: portfolio construction in a run, with the optimisers of `strategies.portfolio`.

Once a trading day, `delay_seconds` of trading time after the open, it samples the evaluated
clean price of every bond of its markets that still trades; every `rebalance_days` trading
days (the first day included) it then estimates, builds target weights and trades to them. A
bond stops trading once its trades would settle on or after its maturity (`ctx.trades_on`):
from that day it is neither sampled, weighed nor traded, and waits for its redemption.

Estimates, per bond (annual fractions; returns of clean prices, so carry is not counted twice):

    expected return  the evaluated yield (``Valuation.ytm``): the carry a holder earns at the
                     evaluated price, promised, not net of expected credit losses. With
                     `pull_days`, plus a fair-value pull: the market's discount to the evaluated
                     price (clean / mid - 1, the mid of its venues' best bid and ask) earned
                     over `pull_days` trading days, annualised (x 252 / pull_days)
    covariance       of the daily returns of the sampled clean prices, the latest
                     `history_days` samples, annualised (x 252) and shrunk towards its diagonal
                     with a fixed intensity: (1 - shrinkage) S + shrinkage diag(S), a
                     Ledoit-Wolf-style target that keeps each variance and damps the
                     correlations a few weeks of data make up. Before `min_history_days` daily
                     returns, or for a bond whose price has not moved (a zero variance would
                     make it riskless), the prior: prior_volatility² on the diagonal

A bond without a yield (in default, or a value not priced off a curve) gets no weight.

Methods (`method`), with weights as fractions of equity and the rest held in cash:

    mean_variance    `portfolio.mean_variance` (or `portfolio.rebalance` when cost_bps > 0)
                     under the limits: max_weight per bond, max_sector per sector, at least
                     cash_reserve in cash (seed 003's 10%, 25% and 20% by default). Where the
                     caps cannot hold 1 - cash_reserve of equity (too few bonds or sectors
                     priced), the rest stays in cash too
    risk_parity      `portfolio.risk_parity`: equal risk contributions, scaled to
                     1 - cash_reserve; the per-bond and sector caps do not apply
    black_litterman  `portfolio.black_litterman`: the market's implied returns (equal market
                     weights, or `market_weights`) moved towards the `views`, then
                     mean-variance on the posterior under the limits; the carry estimates do
                     not enter (state them as views to use them)

Transaction costs: with cost_bps > 0 mean-variance trades from the current weights net of
cost_bps per unit of value traded. A cost is paid once while returns are annual, so the cost
is spread over the holding period: cost_bps / 1e4 * 252 / rebalance_days per unit turnover.

Orders: equity is cash plus its bonds at their evaluated dirty price (clean plus accrued, each
to the paisa per unit, as `accounts.parquet` values them; the last one seen for a bond that no
longer trades). Units of instruments outside its markets are not counted. A bond's target is
weight x equity / unit dirty price, rounded down to whole lots; the differences are traded
with `Context.route` (smart order routing, no limit: each child takes visible depth
immediate-or-cancel, and what the books cannot fill waits for the next rebalance), sells
first and only of the units it may sell now (`free_units`), so that a weight below zero sells
the holding and no more: no shorts. Buys spend at most the free cash and keep the reserve:
what the sells are expected to bring plus the cash less cash_reserve x equity, each order
priced at the worst level it takes, fees and accrued interest included; when the buys cost
more, each is cut in the same proportion, in whole lots. Each rebalance is logged
("rebalance") with the weights, their sectors' totals, the estimates and the orders; a solver
that fails (`PortfolioSolverError`) is logged ("rebalance skipped") and nothing is traded.

Sectors are the bonds' terms (`Context.terms`), or `sectors` (symbol: sector) where given: for
a bond whose terms name none, or to group them otherwise. With max_sector set, a bond without
a sector is the user's to place.

Parameters:

    method            "mean_variance", "risk_parity" or "black_litterman" (default mean_variance)
    rebalance_days    trading days between rebalances (default 5)
    delay_seconds     trading seconds after the open of its daily sample (default 600)
    risk_aversion     λ of the mean-variance utility mu'w - λ/2 w'Σw, annual units (default 4)
    max_weight        cap on each bond's weight, or null (default 0.10)
    max_sector        cap on each sector's weight, or null (default 0.25)
    cash_reserve      the least share of equity held in cash (default 0.20)
    cost_bps          transaction cost per unit of value traded, bp; mean-variance and
                      Black-Litterman (default 0: none)
    shrinkage         intensity towards the diagonal, in (0, 1] (default 0.5)
    history_days      daily samples kept for the covariance (default 60)
    min_history_days  daily returns needed before the sample replaces the prior (default 10)
    prior_volatility  annual volatility of a clean price, before the sample (default 0.03)
    pull_days         trading days over which a price's gap to the evaluated price closes,
                      or null for carry alone (default null)
    views             Black-Litterman views: {long, short, spread_bp} (long out-earns short
                      by spread_bp a year) or {bond, return_bp} (bond earns return_bp a year)
    market_weights    Black-Litterman market weights, symbol: weight (default: equal)
    tau               Black-Litterman's τ, the prior's uncertainty (default 0.05)
    sectors           symbol: sector, in place of the bonds' terms
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.analytics.performance import DAILY_PERIODS_PER_YEAR
from sim.errors import ConfigurationError
from sim.strategy.api import Valuation
from sim.units import NS_PER_SECOND
from strategies.portfolio import (
    BlackLittermanPosterior,
    PortfolioLimits,
    PortfolioSolverError,
    black_litterman,
    mean_variance,
    rebalance,
    risk_parity,
)


class View(BaseModel):
    """A Black-Litterman view: relative, ``{long, short, spread_bp}`` (`long` out-earns `short`
    by `spread_bp` a year), or absolute, ``{bond, return_bp}`` (`bond` earns `return_bp` a
    year)."""

    model_config = ConfigDict(extra="forbid")

    long: str | None = None
    short: str | None = None
    spread_bp: float | None = Field(None, ge=-10_000, le=10_000)
    bond: str | None = None
    return_bp: float | None = Field(None, ge=-10_000, le=10_000)

    @model_validator(mode="after")
    def _one_form(self):
        relative = (self.long, self.short, self.spread_bp)
        absolute = (self.bond, self.return_bp)
        if all(v is not None for v in relative) and all(v is None for v in absolute):
            if self.long == self.short:
                raise ValueError(f"long and short must be two bonds (both {self.long!r})")
            return self
        if all(v is not None for v in absolute) and all(v is None for v in relative):
            return self
        raise ValueError("a view is {long, short, spread_bp} or {bond, return_bp}")

    @property
    def legs(self) -> dict[str, float]:
        """Its bonds and their weights in the view's portfolio (a row of P)."""
        if self.bond is not None:
            return {self.bond: 1.0}
        return {self.long: 1.0, self.short: -1.0}

    @property
    def annual_return(self) -> float:
        """What the view's portfolio earns, an annual fraction (its entry of Q)."""
        return (self.return_bp if self.bond is not None else self.spread_bp) / 1e4


# --- estimates -----------------------------------------------------------------------------


def daily_returns(prices: np.ndarray) -> np.ndarray:
    """Simple returns between consecutive rows of `prices` (a row per day, a column per bond)."""
    prices = np.asarray(prices, dtype=float)
    return prices[1:] / prices[:-1] - 1


def shrunk_covariance(returns: np.ndarray, shrinkage: float) -> np.ndarray:
    """The sample covariance of `returns` (a row per day) moved towards its own diagonal:
    (1 - shrinkage) S + shrinkage diag(S)."""
    sample = np.atleast_2d(np.cov(returns, rowvar=False, ddof=1))
    return (1 - shrinkage) * sample + shrinkage * np.diag(np.diag(sample))


def covariance_estimate(
    prices: np.ndarray, *, shrinkage: float, prior_volatility: float, min_returns: int
) -> np.ndarray:
    """The annual covariance of the bonds' price returns from daily `prices` (module
    docstring): the shrunk sample once there are `min_returns` returns, the prior before; a
    bond whose price never moved takes the prior variance."""
    if min_returns < 2:
        raise ValueError(f"a sample covariance needs two returns or more (got {min_returns})")
    prices = np.asarray(prices, dtype=float)
    prior = prior_volatility**2
    returns = daily_returns(prices)
    if len(returns) < min_returns:
        return np.eye(prices.shape[1]) * prior
    cov = shrunk_covariance(returns, shrinkage) * DAILY_PERIODS_PER_YEAR
    unmoved = np.diag(cov) == 0  # its row and column are zero too
    cov[unmoved, unmoved] = prior
    return cov


def expected_return(ytm: float | None, clean: float, mid: float | None, pull_days: float | None):
    """A bond's annual expected return: its evaluated yield, plus the pull of the market's
    discount to the evaluated `clean` price (`mid`, per 100 face) over `pull_days` trading days
    when both are given. None without a yield."""
    if ytm is None:
        return None
    if pull_days is None or mid is None:
        return ytm
    return ytm + (clean / mid - 1) * DAILY_PERIODS_PER_YEAR / pull_days


def invested_share(
    sector_of: Sequence[str | None],
    max_weight: float | None,
    max_sector: float | None,
    cash_reserve: float,
) -> float:
    """The share of equity the bonds take: 1 - cash_reserve, or what the caps can hold of it
    when that is less (each sector the lesser of its cap and its bonds' caps)."""
    bond_cap = np.inf if max_weight is None else max_weight
    if max_sector is None:
        capacity = bond_cap * len(sector_of)
    else:
        members: dict[str | None, int] = defaultdict(int)
        for sector in sector_of:
            members[sector] += 1
        capacity = sum(min(max_sector, bond_cap * count) for count in members.values())
    return float(min(1.0 - cash_reserve, capacity))


# --- from weights to orders ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderTicket:
    """An order the allocator routes: `qty` units of `symbol` to buy or sell."""

    symbol: str
    side: Literal["buy", "sell"]
    qty: int


@dataclass(frozen=True)
class Holdings:
    """What the allocator owns of cash and of its bonds, valued: paise and units, pending
    trades included."""

    cash: int
    units: dict[str, int]
    unit_values: dict[str, int]  # paise per unit: evaluated clean plus accrued, each rounded

    @property
    def equity(self) -> int:
        return self.cash + sum(self.units[s] * self.unit_values[s] for s in self.units)

    def weight(self, symbol: str) -> float:
        return self.units[symbol] * self.unit_values[symbol] / self.equity if self.equity else 0.0


def holdings(ctx, valuations: Mapping[str, Valuation]) -> Holdings:
    """Its cash, and its units of the bonds of `valuations` valued at them."""
    units, values = {}, {}
    for symbol, valuation in valuations.items():
        face = ctx.instrument(symbol).unit_face_value
        units[symbol] = ctx.position(symbol)
        values[symbol] = round(valuation.clean * face) + round(valuation.accrued * face)
    return Holdings(ctx.cash(), units, values)


def orders_to_weights(
    ctx, held: Holdings, weights: Mapping[str, float], cash_reserve: float
) -> list[OrderTicket]:
    """The orders that bring `held` towards `weights` (symbol: share of equity; what `weights`
    leaves out is left as it is), sells first and of its free units, each for what the visible
    depth can fill, and buys within the free cash and the reserve (module docstring). Reads
    the context's instruments, valuations, free units and routing plans; sends nothing."""
    equity = held.equity
    sells, buys = [], []
    for symbol, weight in weights.items():
        lot = ctx.instrument(symbol).lot_size
        target = int(weight * equity / held.unit_values[symbol]) // lot * lot
        change = target - held.units[symbol]
        # Only settled units not offered already can be sold; a holding off the lot grid
        # keeps its odd units.
        qty = (change if change > 0 else min(-change, ctx.free_units(symbol))) // lot * lot
        if qty:
            side = "buy" if change > 0 else "sell"
            (buys if change > 0 else sells).append(_fillable(ctx, OrderTicket(symbol, side, qty)))
    proceeds = sum(cash for _, cash in sells)
    cost = sum(cash for _, cash in buys)
    budget = max(0, min(ctx.free_cash(), held.cash + proceeds - cash_reserve * equity))
    share = min(1.0, budget / cost) if cost else 1.0
    orders = [ticket for ticket, _ in sells]
    for ticket, _ in buys:
        lot = ctx.instrument(ticket.symbol).lot_size
        orders.append(OrderTicket(ticket.symbol, "buy", int(ticket.qty * share) // lot * lot))
    return [order for order in orders if order.qty]


def _fillable(ctx, ticket: OrderTicket) -> tuple[OrderTicket, int]:
    """The part of `ticket` the visible depth can fill (`Context.plan_route`), and the paise it
    is expected to pay (a buy) or bring (a sell): each venue's share at the worst price it
    takes, taker fees and accrued interest included."""
    plan = ctx.plan_route(ticket.symbol, ticket.side, ticket.qty)
    instrument = ctx.instrument(ticket.symbol)
    accrued = round(ctx.valuation(ticket.symbol).accrued * instrument.unit_face_value)
    notional = sum(c.expected_fill * c.limit for c in plan.children) * instrument.tick_value
    notional += plan.filled * accrued
    cash = notional + plan.fees if ticket.side == "buy" else notional - plan.fees
    return OrderTicket(ticket.symbol, ticket.side, plan.filled), cash


# --- the strategy --------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimates:
    """The bonds a rebalance can weigh (those with a yield) and their estimates."""

    bonds: tuple[str, ...]
    expected_returns: np.ndarray  # annual
    cov: np.ndarray  # annual
    returns_used: int  # daily returns in the covariance; 0 while it is the prior


@dataclass(frozen=True, eq=False)
class Allocation:
    """A method's target weights of the bonds weighed, and Black-Litterman's posterior."""

    weights: np.ndarray
    posterior: BlackLittermanPosterior | None = None


class Allocator:
    """Builds a portfolio by mean-variance, risk parity or Black-Litterman, and rebalances it."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        method: Literal["mean_variance", "risk_parity", "black_litterman"] = "mean_variance"
        rebalance_days: int = Field(5, ge=1, le=10_000, description="trading days apart")
        delay_seconds: float = Field(600.0, gt=0, description="after each open")
        risk_aversion: float = Field(4.0, gt=0, le=1e6, description="λ, annual units")
        max_weight: float | None = Field(0.10, gt=0, le=1, description="per bond")
        max_sector: float | None = Field(0.25, gt=0, le=1, description="per sector")
        cash_reserve: float = Field(0.20, ge=0, lt=1, description="least share in cash")
        cost_bps: float = Field(0.0, ge=0, le=10_000, description="per unit traded")
        shrinkage: float = Field(0.5, gt=0, le=1, description="towards the diagonal")
        history_days: int = Field(60, ge=2, le=10_000, description="daily samples kept")
        min_history_days: int = Field(10, ge=2, le=10_000, description="returns before use")
        prior_volatility: float = Field(0.03, gt=0, le=10, description="annual, clean price")
        pull_days: float | None = Field(None, gt=0, description="days a price gap closes")
        views: list[View] = Field(default_factory=list, description="Black-Litterman's")
        market_weights: dict[str, float] = Field(default_factory=dict, description="default equal")
        tau: float = Field(0.05, gt=0, le=10, description="Black-Litterman's τ")
        sectors: dict[str, str] = Field(default_factory=dict, description="symbol: sector")

        @model_validator(mode="after")
        def _consistent(self):
            if self.cost_bps > 0 and self.method == "risk_parity":
                raise ValueError("cost_bps applies to mean_variance and black_litterman only")
            if (self.views or self.market_weights) and self.method != "black_litterman":
                raise ValueError("views and market_weights apply to black_litterman only")
            if any(weight < 0 for weight in self.market_weights.values()):
                raise ValueError("market_weights must not be negative")
            if self.min_history_days >= self.history_days:
                raise ValueError(
                    f"min_history_days ({self.min_history_days}) must be fewer than the "
                    f"history_days kept ({self.history_days})"
                )
            return self

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.bonds: tuple[str, ...] = ()
        self.sectors: dict[str, str | None] = {}
        self.trading: tuple[str, ...] = ()  # its bonds that still trade today
        self.valuations: dict[str, Valuation] = {}  # each bond's, as last sampled
        self.prices: deque[dict[str, float]] = deque(maxlen=self.params.history_days)
        self.first_day: int | None = None
        self.sampled_day: int | None = None

    def on_start(self, ctx) -> None:
        p = self.params
        self.bonds = tuple(dict.fromkeys(symbol for _, symbol in ctx.markets))
        named = [(f"views.{i}", symbol) for i, v in enumerate(p.views) for symbol in v.legs]
        named += [(f"market_weights.{s}", s) for s in p.market_weights]
        named += [(f"sectors.{s}", s) for s in p.sectors]
        for where, symbol in named:
            if symbol not in self.bonds:
                raise ConfigurationError(
                    f"Allocator params: {where}: {symbol!r} is not a bond of its markets"
                )
        self.sectors = {s: p.sectors.get(s) or ctx.terms(s)["sector"] for s in self.bonds}
        unplaced = [s for s, sector in self.sectors.items() if sector is None]
        if unplaced and p.max_sector is not None:
            raise ConfigurationError(
                f"Allocator params: sectors: no sector for {', '.join(unplaced)}; name them "
                "in sectors, or set max_sector to null"
            )
        ctx.set_timer(int(p.delay_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        day = ctx.day
        if self.sampled_day != day:
            self.sampled_day = day
            self.trading = tuple(s for s in self.bonds if ctx.trades_on(s, day))
            self.valuations |= {s: ctx.valuation(s) for s in self.trading}
            self.prices.append({s: self.valuations[s].clean for s in self.trading})
            if self.first_day is None:
                self.first_day = day
            if (day - self.first_day) % self.params.rebalance_days == 0:
                self.rebalance(ctx)
        open_ns, close_ns = ctx.session(day)
        ctx.set_timer(close_ns - open_ns)  # the same time of day at the next open

    # --- a rebalance -----------------------------------------------------------------------

    def rebalance(self, ctx) -> None:
        """Estimate, weigh and trade to the weights (module docstring)."""
        p = self.params
        estimates = self.estimate(ctx)
        held = holdings(ctx, self.valuations)
        try:
            allocation = self.weigh(estimates, held)
        except PortfolioSolverError as error:
            ctx.log("rebalance skipped", method=p.method, reason=str(error))
            return
        weights = dict.fromkeys(
            self.trading, 0.0
        )  # a bond that no longer trades waits to be redeemed
        weights.update(zip(estimates.bonds, allocation.weights.tolist(), strict=True))
        orders = orders_to_weights(ctx, held, weights, p.cash_reserve)
        for order in orders:
            why = {"allocator": p.method, "target_weight": round(weights[order.symbol], 6)}
            ctx.route(order.symbol, order.side, order.qty, decision=why)
        ctx.log("rebalance", **self._figures(estimates, allocation, held, weights, orders))

    def _figures(self, estimates, allocation, held, weights, orders) -> dict:
        """A rebalance's log fields: the weights (of the bonds weighed or held) and each
        sector's, the cash share they leave, equity and cash before trading (paise), the
        estimates (annual bp; Black-Litterman's implied and posterior returns too) and the
        orders."""
        by_sector: dict[str, float] = defaultdict(float)
        for symbol, weight in weights.items():
            by_sector[str(self.sectors[symbol])] += weight
        bonds = estimates.bonds

        def in_bp(values: np.ndarray) -> dict[str, float]:
            return {s: round(v * 1e4, 2) for s, v in zip(bonds, values.tolist(), strict=True)}

        figures = {
            "method": self.params.method,
            "weights": {s: round(w, 6) for s, w in weights.items() if w or held.units[s]},
            "sector_weights": {s: round(w, 6) for s, w in sorted(by_sector.items())},
            "cash_weight": round(1 - sum(weights.values()), 6),
            "equity_paise": held.equity,
            "cash_paise": held.cash,
            "expected_returns_bp": in_bp(estimates.expected_returns),
            "volatility_bp": in_bp(np.sqrt(np.diag(estimates.cov))),
            "returns_used": estimates.returns_used,
            "orders": [[o.symbol, o.side, o.qty] for o in orders],
        }
        if allocation.posterior is not None:
            figures["implied_returns_bp"] = in_bp(allocation.posterior.implied_returns)
            figures["posterior_returns_bp"] = in_bp(allocation.posterior.expected_returns)
        return figures

    def estimate(self, ctx) -> Estimates:
        """Expected returns of the bonds that trade and have a yield, and their covariance
        (module docstring)."""
        p = self.params
        returns, kept = [], []
        for symbol in self.trading:
            valuation = self.valuations[symbol]
            mid = self._mid(ctx, symbol) if p.pull_days is not None else None
            expected = expected_return(valuation.ytm, valuation.clean, mid, p.pull_days)
            if expected is not None:
                returns.append(expected)
                kept.append(symbol)
        if not kept:
            return Estimates((), np.zeros(0), np.zeros((0, 0)), 0)
        prices = np.array([[sample[s] for s in kept] for sample in self.prices])
        cov = covariance_estimate(
            prices,
            shrinkage=p.shrinkage,
            prior_volatility=p.prior_volatility,
            min_returns=p.min_history_days,
        )
        used = len(prices) - 1 if len(prices) - 1 >= p.min_history_days else 0
        return Estimates(tuple(kept), np.array(returns), cov, used)

    def weigh(self, estimates: Estimates, held: Holdings) -> Allocation:
        """The target weights of `estimates.bonds` by the method (module docstring)."""
        p = self.params
        bonds = estimates.bonds
        if not bonds:
            return Allocation(np.zeros(0))
        if p.method == "risk_parity":
            return Allocation(risk_parity(estimates.cov) * (1 - p.cash_reserve))
        sectors = [self.sectors[s] for s in bonds]
        invested = invested_share(sectors, p.max_weight, p.max_sector, p.cash_reserve)
        if invested <= 0:
            return Allocation(np.zeros(len(bonds)))
        limits = PortfolioLimits(p.max_weight, p.max_sector, 1 - invested).as_kwargs()
        limits["sector_of"] = sectors
        mu, cov, posterior = estimates.expected_returns, estimates.cov, None
        if p.method == "black_litterman":
            posterior = black_litterman(cov, self._market_weights(bonds), p.risk_aversion,
                                        p.tau, *self._views(bonds))  # fmt: skip
            mu, cov = posterior.expected_returns, posterior.cov
        if p.cost_bps > 0:
            current = np.array([held.weight(s) for s in bonds])
            cost = p.cost_bps / 1e4 * DAILY_PERIODS_PER_YEAR / p.rebalance_days
            weights = rebalance(current, mu, cov, p.risk_aversion, cost, **limits)
        else:
            weights = mean_variance(mu, cov, p.risk_aversion, **limits)
        return Allocation(weights, posterior)

    def _market_weights(self, bonds: tuple[str, ...]) -> np.ndarray:
        """Black-Litterman's market portfolio over `bonds`: `market_weights`, or equal."""
        given = self.params.market_weights
        weights = np.array([given.get(s, 0.0) for s in bonds]) if given else np.ones(len(bonds))
        total = weights.sum()
        return weights / total if total > 0 else weights

    def _views(self, bonds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """P and Q of the views whose bonds are all among `bonds` (annual fractions)."""
        index = {s: i for i, s in enumerate(bonds)}
        rows, values = [], []
        for view in self.params.views:
            if all(symbol in index for symbol in view.legs):
                row = np.zeros(len(bonds))
                for symbol, weight in view.legs.items():
                    row[index[symbol]] = weight
                rows.append(row)
                values.append(view.annual_return)
        return np.array(rows).reshape(len(rows), len(bonds)), np.array(values)

    @staticmethod
    def _mid(ctx, symbol: str) -> float | None:
        """The mid of the best bid and ask over its venues of `symbol`, per 100 face (None
        without both)."""
        quotes = [ctx.quote(venue, symbol) for venue, s in ctx.markets if s == symbol]
        bids = [q.bid for q in quotes if q.bid is not None]
        asks = [q.ask for q in quotes if q.ask is not None]
        if not bids or not asks:
            return None
        return (max(bids) + min(asks)) / 2 * float(ctx.instrument(symbol).tick_size)
