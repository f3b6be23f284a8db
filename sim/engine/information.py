"""What agents may know of value during a run, as opposed to the fundamental itself.

A valuation agency publishes every instrument's fair value at each session's open, and again
for what a shock moved when it strikes (recorded in fair_values.parquet, with the curve in
curve.parquet). Agents with a model of their own observe the fundamental with noise. The
scenario's shocks that agents react to (panic, redemption waves, liquidity withdrawal, repo
haircuts) have a level on each day. Values are in ticks of each instrument.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sim.pricing.curve_shocks import path_fraction
from sim.records.recorder import Recorder


class Information:
    """Published valuations, looks at the fundamental and shock levels for one run."""

    def __init__(
        self,
        fundamental,
        tick_sizes: dict[str, float],
        shocks,
        recorder: Recorder,
        accrued,
        trades_on,
    ):
        """`accrued(day)`: each bond's accrued interest per 100 face to the settlement date of
        the day's trades, published with its fair clean price. `trades_on(symbol, day)`:
        whether the instrument still trades that day (a matured bond has no fair value)."""
        self.fundamental = fundamental
        self.accrued = accrued
        self.trades_on = trades_on
        self.tick_sizes = tick_sizes  # floats: a Decimal division per look would be slow
        self.shocks = shocks
        self.recorder = recorder
        self._published: dict[str, float] = {}  # symbol -> fair value in ticks
        self._valuation: dict[str, tuple[float, float]] = {}  # clean, accrued per 100 face

    def fundamental_ticks(self, symbol: str, now: int) -> float:
        """The fundamental value at `now`, in ticks."""
        return self.fundamental.value(symbol, now) / self.tick_sizes[symbol]

    def published_fair_value(self, symbol: str) -> float:
        """The last published valuation, in ticks: the fair value as of this session's open,
        or as re-marked after a shock that moved it since."""
        return self._published[symbol]

    def valuation(self, symbol: str) -> tuple[float, float]:
        """The last published (fair clean price, accrued interest), per 100 face."""
        return self._valuation[symbol]

    def observe_fundamental(self, symbol: str, noise_ticks: float, rng, now: int) -> float:
        """A noisy observation of the fundamental at `now`, in ticks."""
        noise = float(rng.normal(0.0, noise_ticks)) if noise_ticks > 0 else 0.0
        return self.fundamental_ticks(symbol, now) + noise

    def shock_level(
        self,
        kind: type,
        day: int,
        size: Callable[[Any], float] | None = None,
        not_yet: Collection = (),
    ) -> float:
        """The level on `day` of the scenario's shocks of class `kind` (a spec of
        `sim.scenario.shocks`), leaving out those `not_yet` struck: each one's full size
        (`size(shock)`, by default its `level`) times its path's fraction on that day; the
        largest if several, 0.0 if none."""
        levels = [
            (shock.level if size is None else size(shock))
            * path_fraction(shock.path, day - shock.day)
            for shock in self.shocks
            if isinstance(shock, kind) and shock.day <= day and shock not in not_yet
        ]
        return max(levels, default=0.0)

    def valuation_detail(self, symbol: str, day: int, now: int):
        """The pricing engine's fair value of `symbol` in force now, with its breakdown
        (`sim.pricing.FairValue`); None when the fundamental gives none (a value that is not a
        bond's, a bond in default)."""
        detail = getattr(self.fundamental, "fair_value_detail", None)
        return None if detail is None else detail(symbol, day, now)

    def fair_value_rows(self, day: int, now: int) -> dict[str, tuple]:
        """(fair clean, fair yield, spread bp) of every instrument that trades on `day`."""
        return {
            s: self.fundamental.fair_value_row(s, day, now)
            for s in self.tick_sizes
            if self.trades_on(s, day)
        }

    def publish(self, day: int, now: int, rows: dict[str, tuple]) -> None:
        """Publish (and record) fair values, and the curve they come from."""
        accrued = self.accrued(day)
        for symbol, fair in rows.items():
            interest = accrued.get(symbol, 0.0)
            self._published[symbol] = fair[0] / self.tick_sizes[symbol]
            self._valuation[symbol] = (fair[0], interest)
            self.recorder.fair_value(now, symbol, *fair, interest)
        for tenor, rate in self.fundamental.curve_rows(day):
            self.recorder.curve(now, tenor, rate)

    def publish_redemption(self, now: int, symbol: str, final_coupon: float) -> None:
        """The last valuation of a bond its issuer redeemed now: par, plus the final coupon
        (per 100 face) as its accrued interest, exactly what each unit was paid; no yield or
        spread."""
        self._published[symbol] = 100.0 / self.tick_sizes[symbol]
        self._valuation[symbol] = (100.0, final_coupon)
        self.recorder.fair_value(now, symbol, 100.0, None, None, final_coupon)

    def apply_shock(self, shock, day: int, now: int) -> list[str]:
        """A shock strikes the fundamental; a valuation agency re-marks what it moved, which
        it returns."""
        before = self.fair_value_rows(day, now)
        self.fundamental.apply_shock(shock, now)
        after = self.fair_value_rows(day, now)
        moved = {symbol: row for symbol, row in after.items() if row != before[symbol]}
        if moved:
            self.publish(day, now, moved)
        return list(moved)
