"""Statistical arbitrage across one curve: buy the bond whose market spread sits unusually far
above the group's fitted spread curve, sell the group's richest holding to switch into it.

The groups are the bonds of its markets (`group_by = "markets"`, the default: choose them with
the ``[strategy]`` population's ``markets``), or those of each issuer or rating among them
(`group_by = "issuer"` or `"rating"`, from the bonds' terms, `ctx.terms`; the rating at issue).
Every `interval_seconds` of trading time, for each bond with a two-sided quote and a
spread-based valuation (`ctx.valuation`), and each group on its own:

    spread duration  D = -dP / (P_mid * s_r / 1e4)      years
                     from the valuation's rating-spread step: s_r bp moved the dirty price
                     from P0 (risk-free) to P0 + dP, P_mid = P0 + dP / 2 (a central difference)
    market spread    s = S + (F - M) / (D * (F + a)) * 1e4      bp
                     the bond's evaluated spread S (`valuation.spread_bp`) moved by the market's
                     discount to the evaluated clean price F, at the mid M (ticks converted to
                     price per 100), over the dirty price F + a: the spread at which the market
                     prices it, to first order in the gap
    curve            s = alpha + beta * D + e, fitted over the group by least squares (at least
                     `MIN_BONDS` bonds; with two the line would pass through both)
    z-score          z = (e - mean) / sd of the bond's previous `window` residuals (sample sd)

A high z means the bond's yield is high against the curve and its own history: cheap. Holdings
are units beyond those it started with, which it never sells (long only), and each bond's
target is

    z > entry_z            ->  max_position     buy it; and switch out of the group's richest
                                                holding (lowest z) if that z is below the
                                                bought bond's by more than entry_z: target 0
    z < exit_z             ->  0                the cheapness is gone (|z| < exit_z, or rich)
    otherwise              ->  what it holds

Nothing is decided for a bond before it has `window` residuals. Sells go before buys. It trades
with one immediate-or-cancel order at the far touch in whole lots, within its free cash and its
free units, one order per bond on its way at a time, and logs each order with the spread,
residual and z behind it (`strategies.execution.TargetTrader`). Parameters:

    entry_z           z-score to buy at (default 2)
    exit_z            z-score to sell under, below entry_z (default 0.5)
    window            residuals in the rolling mean and sd (default 48)
    group_by          "markets", "issuer" or "rating": the bonds a curve is fitted over
    max_position      units of each bond it may hold beyond its start (default 100)
    interval_seconds  trading seconds between looks (default 300)
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.units import NS_PER_SECOND
from strategies.execution import TargetTrader, best_touch

MIN_BONDS = 3  # a curve fitted through fewer leaves no residual


class StatArb:
    """Relative value on the z-score of each bond's residual from the group's spread curve."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        entry_z: float = Field(2.0, gt=0, le=100, description="z-score to buy at")
        exit_z: float = Field(0.5, ge=-100, description="z-score to sell under")
        window: int = Field(48, ge=2, le=10_000, description="residuals in the rolling stats")
        max_position: int = Field(100, ge=1, description="units per bond beyond its start")
        interval_seconds: float = Field(300.0, gt=0, description="trading seconds between looks")
        group_by: Literal["markets", "issuer", "rating"] = "markets"

        @model_validator(mode="after")
        def _exit_under_entry(self):
            if self.exit_z >= self.entry_z:
                raise ValueError(
                    f"exit_z ({self.exit_z}) must be smaller than entry_z ({self.entry_z})"
                )
            return self

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.trader = TargetTrader()
        self.residuals: dict[str, deque[float]] = {}
        self.group_of: dict[str, object] = {}

    def on_start(self, ctx) -> None:
        self.trader.begin(ctx)
        self.residuals = {s: deque(maxlen=self.params.window) for s in self.trader.venues}
        by = self.params.group_by
        self.group_of = {
            s: None if by == "markets" else ctx.terms(s)[by] for s in self.trader.venues
        }
        ctx.set_timer(int(self.params.interval_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        groups = defaultdict(list)
        for symbol in self.trader.venues:
            groups[self.group_of[symbol]].append(symbol)
        for members in groups.values():
            self._look(ctx, members)

    def _look(self, ctx, members: list[str]) -> None:
        """One group: its curve, each bond's z-score, and the trades toward the targets."""
        points, touches = {}, {}
        for symbol in members:
            touch = best_touch(ctx, self.trader.venues[symbol])
            if touch.mid is None:
                continue
            tick = float(ctx.instrument(symbol).tick_size)
            point = curve_point(ctx.valuation(symbol), touch.mid * tick)
            if point is not None:
                points[symbol], touches[symbol] = point, touch
        if len(points) < MIN_BONDS:
            return
        fitted = curve_residuals(
            [p.duration for p in points.values()], [p.spread_bp for p in points.values()]
        )
        scores = {}
        for symbol, residual in zip(points, fitted, strict=True):
            history = self.residuals[symbol]
            z = z_score(history, residual) if len(history) == history.maxlen else None
            history.append(residual)
            if z is not None:
                scores[symbol] = (z, residual)
        held = {s: self.trader.holding(ctx, s) for s in scores}
        targets = target_positions(
            {s: z for s, (z, _) in scores.items()},
            held,
            self.params.entry_z,
            self.params.exit_z,
            self.params.max_position,
        )
        # Sells first: a switch leaves the rich bond before it enters the cheap one.
        for symbol in sorted(targets, key=lambda s: targets[s] > held[s]):
            z, residual = scores[symbol]
            self.trader.trade_toward(
                ctx,
                symbol,
                targets[symbol],
                touches[symbol],
                spread_bp=round(points[symbol].spread_bp, 2),
                duration=round(points[symbol].duration, 3),
                residual_bp=round(residual, 2),
                z=round(z, 3),
            )

    def on_order(self, ctx, request, response) -> None:
        self.trader.answered(request)


class CurvePoint(NamedTuple):
    """A bond on its group's spread curve: spread duration (years) and market spread (bp)."""

    duration: float
    spread_bp: float


def curve_point(valuation, mid_clean: float) -> CurvePoint | None:
    """The bond's spread duration and its market spread at `mid_clean` (per 100 face), from
    its valuation (the formulas in the module docstring); None without a spread-based
    valuation or a rating-spread step to measure the duration by."""
    rating = next((c for c in valuation.components if c.name == "rating_spread"), None)
    if valuation.spread_bp is None or rating is None or rating.spread_bp <= 0:
        return None
    risk_free_dirty = valuation.risk_free_clean + valuation.accrued
    middle = risk_free_dirty + rating.price_effect / 2
    duration = -rating.price_effect / (middle * rating.spread_bp / 1e4)
    dirty = valuation.clean + valuation.accrued
    spread = valuation.spread_bp + (valuation.clean - mid_clean) / (duration * dirty) * 1e4
    return CurvePoint(duration, spread)


def curve_residuals(durations: Sequence[float], spreads_bp: Sequence[float]) -> list[float]:
    """Residuals of `spreads_bp` from their least-squares line in `durations`."""
    x, y = np.asarray(durations, float), np.asarray(spreads_bp, float)
    design = np.column_stack([np.ones_like(x), x])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return (y - design @ coefficients).tolist()


def z_score(history: Sequence[float], value: float) -> float | None:
    """How many sample standard deviations `value` lies above the mean of `history`; None
    when the history does not vary."""
    if max(history) == min(history):
        return None
    mean = math.fsum(history) / len(history)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in history) / (len(history) - 1))
    return (value - mean) / sd


def target_positions(
    scores: dict[str, float], held: dict[str, int], entry_z: float, exit_z: float, limit: int
) -> dict[str, int]:
    """Units to hold beyond the start, per bond of `scores` (z-scores): the rule in the module
    docstring, cheapest bond first."""
    targets = dict(held)
    for symbol in sorted(scores, key=scores.get, reverse=True):
        z = scores[symbol]
        if z > entry_z:
            targets[symbol] = limit
            holdings = [s for s in scores if s != symbol and targets[s] > 0]
            if holdings:
                richest = min(holdings, key=scores.get)
                if scores[richest] < z - entry_z:
                    targets[richest] = 0
        elif z < exit_z:
            targets[symbol] = 0
    return targets
