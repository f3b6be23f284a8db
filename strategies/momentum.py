"""Time-series momentum: long a bond while its mid trends up, flat otherwise.

Every `interval_seconds` of trading time it samples each bond's mid (the best bid and ask over
the venues listing it, as quoted to it; a bond without both is not sampled) and compares two
simple moving averages of the last samples, the classic crossover:

    fast = mean of the last `fast` mids,  slow = mean of the last `slow` mids
    fast > slow * (1 + band_bp / 1e4)   ->  trend up:   hold max_position units
    fast < slow * (1 - band_bp / 1e4)   ->  trend down: hold none
    otherwise                           ->  keep what it holds (the band damps whipsaws)

Nothing is decided before a bond has `slow` samples. Holdings are units beyond those it started
with, which it never sells: it is long or flat, never short. It trades with one
immediate-or-cancel order at the far touch in whole lots, within its free cash and its free
units, one order per bond on its way at a time, and logs each order with the averages behind it
(`strategies.mean_reversion.TargetTrader`). Parameters:

    fast              samples in the fast average (default 6)
    slow              samples in the slow average, more than fast (default 24)
    band_bp           how far apart, bp of the slow average, the averages must be (default 2)
    max_position      units of each bond it may hold beyond its start (default 100)
    interval_seconds  trading seconds between samples (default 300)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.units import NS_PER_SECOND
from strategies.execution import TargetTrader, best_touch

UP, DOWN, FLAT = 1, -1, 0


class Momentum:
    """Moving-average crossover on each bond's mid: long on an up-trend, flat on a down-trend."""

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

        fast: int = Field(6, ge=1, description="samples in the fast average")
        slow: int = Field(24, ge=2, le=10_000, description="samples in the slow average")
        band_bp: float = Field(2.0, ge=0, le=1000, description="bp the averages must differ by")
        max_position: int = Field(100, ge=1, description="units per bond beyond its start")
        interval_seconds: float = Field(300.0, gt=0, description="trading seconds between samples")

        @model_validator(mode="after")
        def _fast_under_slow(self):
            if self.fast >= self.slow:
                raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
            return self

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()
        self.trader = TargetTrader()
        self.mids: dict[str, deque[float]] = {}

    def on_start(self, ctx) -> None:
        self.trader.begin(ctx)
        self.mids = {symbol: deque(maxlen=self.params.slow) for symbol in self.trader.venues}
        ctx.set_timer(int(self.params.interval_seconds * NS_PER_SECOND))

    def on_timer(self, ctx) -> None:
        p = self.params
        for symbol, venues in self.trader.venues.items():
            touch = best_touch(ctx, venues)
            if touch.mid is None:
                continue
            mids = self.mids[symbol]
            mids.append(touch.mid)
            if len(mids) < p.slow:
                continue
            fast, slow = moving_averages(mids, p.fast, p.slow)
            held = self.trader.holding(ctx, symbol)
            target = target_position(trend(fast, slow, p.band_bp), held, p.max_position)
            self.trader.trade_toward(
                ctx, symbol, target, touch, fast_ma=round(fast, 2), slow_ma=round(slow, 2)
            )

    def on_order(self, ctx, request, response) -> None:
        self.trader.answered(request)


def moving_averages(mids: Sequence[float], fast: int, slow: int) -> tuple[float, float]:
    """The means of the last `fast` and the last `slow` of `mids` (oldest first)."""
    recent = list(mids)[-slow:]
    return sum(recent[-fast:]) / fast, sum(recent) / slow


def trend(fast: float, slow: float, band_bp: float) -> int:
    """UP when the fast average is above the slow one by more than the band, DOWN when below
    by more, FLAT inside it."""
    if fast > slow * (1 + band_bp / 1e4):
        return UP
    if fast < slow * (1 - band_bp / 1e4):
        return DOWN
    return FLAT


def target_position(direction: int, held: int, limit: int) -> int:
    """Units to hold beyond the start: the limit in an up-trend, none in a down-trend, else
    what it holds."""
    if direction == UP:
        return limit
    if direction == DOWN:
        return 0
    return held
