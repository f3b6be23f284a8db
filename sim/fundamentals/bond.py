"""`BondFundamental`: bond fair values from the pricing engine under a daily curve factor
model (`BondFactorParams`), a common credit-spread factor and rare downgrades."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.fundamentals.base import check_number, ou_variance
from sim.market.calendar import TradingCalendar
from sim.pricing import (
    DEFAULT_SPREAD_TABLE,
    Bond,
    FairValue,
    Rating,
    SpreadTable,
    ZeroCurve,
    defaulted_value,
    fair_value_of,
)
from sim.pricing.curve_shocks import CurveShock, path_fraction
from sim.scenario.shocks import (
    CURVE_SHOCKS,
    DefaultShock,
    DowngradeShock,
    SpreadShock,
    VolatilityShock,
)

TRADING_DAYS_PER_YEAR = 250


@dataclass(frozen=True)
class BondFactorParams:
    """Parameters of `BondFundamental` (illustrative defaults of Indian-market magnitude).

    The zero curve is Nelson–Siegel in two moving factors plus a fixed hump:
    ``r(t) = level - slope * f(t) + curvature * (f(t) - exp(-t / decay_years))`` with
    ``f(t) = (1 - exp(-t / decay_years)) / (t / decay_years)``, so ``level`` is the zero rate
    at very long maturities and ``level - slope`` the short rate (decimals). Level, slope and
    the common credit factor (bp, starting at 0) are mean-reverting (exact OU steps of one
    trading day, ``TRADING_DAYS_PER_YEAR`` to the year) towards their starting values, with
    volatilities in bp per sqrt(trading day) and mean-reversion speeds per year.
    ``downgrade_prob_per_year`` is each bond's chance a year of losing one notch (to BIG at
    worst; default is not modelled). ``tenors`` are the nodes of the daily `ZeroCurve`.
    """

    level: float = 0.072
    slope: float = 0.008
    curvature: float = 0.0
    decay_years: float = 2.0
    level_vol_bp: float = 4.0
    slope_vol_bp: float = 2.5
    credit_vol_bp: float = 1.5
    level_kappa_per_year: float = 0.5
    slope_kappa_per_year: float = 1.0
    credit_kappa_per_year: float = 2.0
    downgrade_prob_per_year: float = 0.02
    settlement_lag_days: int = 1
    spread_table: SpreadTable = DEFAULT_SPREAD_TABLE
    tenors: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0)

    def __post_init__(self) -> None:
        for name in ("level", "slope", "curvature"):
            check_number(f"BondFactorParams.{name}", getattr(self, name), signed=True)
        check_number("BondFactorParams.decay_years", self.decay_years, positive=True)
        for factor in ("level", "slope", "credit"):
            check_number(f"BondFactorParams.{factor}_vol_bp", getattr(self, f"{factor}_vol_bp"))
            name = f"{factor}_kappa_per_year"
            check_number(f"BondFactorParams.{name}", getattr(self, name))
        p = check_number("BondFactorParams.downgrade_prob_per_year", self.downgrade_prob_per_year)
        if p > 1:
            raise ValueError(f"BondFactorParams.downgrade_prob_per_year must be <= 1, got {p}")
        lag = self.settlement_lag_days
        if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
            raise ValueError(
                f"BondFactorParams.settlement_lag_days must be an int >= 0, got {lag!r}"
            )
        ZeroCurve(tuple(self.tenors), tuple(0.0 for _ in self.tenors))  # validates the tenors
        object.__setattr__(self, "tenors", tuple(float(t) for t in self.tenors))

    def zero_rates(self, level: float, slope: float) -> np.ndarray:
        """Zero rates at ``tenors`` for the given level and slope."""
        x = np.maximum(np.asarray(self.tenors), 1e-10) / self.decay_years
        loading = -np.expm1(-x) / x
        return level - slope * loading + self.curvature * (loading - np.exp(-x))


def _daily_ou(vol: float, kappa_per_year: float) -> tuple[float, float]:
    """Decay and noise sd (in the units of ``vol``) of a one-trading-day OU step."""
    kappa = kappa_per_year / TRADING_DAYS_PER_YEAR
    return math.exp(-kappa), vol * math.sqrt(ou_variance(kappa, 1.0))


@dataclass(frozen=True)
class _Day:
    """One day under one set of shocks: the curve, ``(clean, ytm, spread_bp)`` per bond still
    trading (ytm and spread None in default), the pricing engine's fair value with its
    breakdown per bond priced off the curve (not those in default), and every bond's rating."""

    curve: ZeroCurve
    rows: dict[str, tuple[float, float | None, float | None]]
    details: dict[str, FairValue]
    ratings: dict[str, Rating]


class BondFundamental:
    """Bond fair values from the pricing engine under daily curve, credit and rating moves.

    Each trading day ``d`` has a zero curve (`BondFactorParams`), a common credit factor and a
    rating per bond; a bond's fair value is `sim.pricing.fair_value_of` at the day's settle date
    (T+``settlement_lag_days`` from the day's open) off that curve, with its rating's spread
    from the spread table plus the credit factor plus active `SpreadShock`\\ s and default
    contagion (floored at 0 bp).
    A bond has no value from the first day whose settle date is on or after its maturity (it no
    longer trades; the run redeems it).
    The scenario's credit events name issuers (``issuers``: symbol -> (issuer, sector)): a
    `DowngradeShock` moves its issuer's bonds down from its time on, on top of the random
    downgrades; a `DefaultShock` rates them D, worth their recovery (``recovery`` of face unless
    the shock says otherwise; clean, no yield or spread),
    and widens the other bonds of the issuer's sector along its path. `VolatilityShock`\\ s
    (given up front, as they act on the daily draws) multiply the factors' daily moves from
    their day on.
    ``value`` is the fair clean price, piecewise constant: the day's value all day (and through
    the night after), changing only when a shock arrives. A curve or spread shock acts from its
    time on, on its day's value and on later days along its path (in trading days from the
    first session at or after the shock). Day-level accessors (`curve`, `fair_clean`, ...)
    include every shock applied so far that acts on that day. Days are computed lazily and
    cached; the factor and downgrade draws come from streams of their own, one day at a time,
    so values do not depend on the query pattern.
    """

    def __init__(
        self,
        bonds: Mapping[str, tuple[Bond, Rating | str]],
        calendar: TradingCalendar,
        params: BondFactorParams,
        rng: np.random.Generator,
        issuers: Mapping[str, tuple[str, str | None]] | None = None,
        volatility: tuple[VolatilityShock, ...] = (),
        recovery: float = 0.4,
    ) -> None:
        if not bonds:
            raise ValueError("bonds needs at least one (Bond, rating) entry")
        self.calendar = calendar
        self.params = params
        self._settle = [
            calendar.to_datetime(
                calendar.settlement_time(calendar.session(d)[0], params.settlement_lag_days)
            ).date()
            for d in range(calendar.days)
        ]
        self._bonds: dict[str, Bond] = {}
        ratings: list[Rating] = []
        for symbol in sorted(bonds):
            try:
                bond, rating = bonds[symbol]
            except (TypeError, ValueError):
                raise ValueError(f"bond {symbol!r} must be a (Bond, rating) pair") from None
            if not isinstance(bond, Bond):
                raise ValueError(f"bond {symbol!r}: expected a sim.pricing.Bond, got {bond!r}")
            rating = Rating.parse(rating)
            if rating is Rating.D:
                raise ValueError(f"bond {symbol!r} is rated D: a defaulted bond has no fair value")
            if bond.issue > self._settle[0]:
                raise ValueError(
                    f"bond {symbol!r} is issued on {bond.issue}, after the first settle date "
                    f"{self._settle[0]}"
                )
            if bond.maturity <= self._settle[0]:
                raise ValueError(
                    f"bond {symbol!r} matures on {bond.maturity}, on or before the first settle "
                    f"date {self._settle[0]}"
                )
            self._bonds[symbol] = bond
            ratings.append(rating)
        self._factor_rng, self._downgrade_rng = rng.spawn(2)
        self._level = [params.level]
        self._slope = [params.slope]
        self._credit = [0.0]  # bp
        self._ratings = [tuple(ratings)]
        self._steps = (
            _daily_ou(params.level_vol_bp / 1e4, params.level_kappa_per_year),
            _daily_ou(params.slope_vol_bp / 1e4, params.slope_kappa_per_year),
            _daily_ou(params.credit_vol_bp, params.credit_kappa_per_year),
        )
        self._daily_downgrade = (
            -math.expm1(math.log1p(-params.downgrade_prob_per_year) / TRADING_DAYS_PER_YEAR)
            if params.downgrade_prob_per_year < 1
            else 1.0
        )
        self._issuers = dict(issuers or {})
        self._sectors = {issuer: sector for issuer, sector in self._issuers.values()}
        self._volatility = volatility
        self._recovery = recovery
        self._shocks: list[tuple[int, int, Any]] = []  # (time ns, start day, shock)
        self._shock_times: list[int] = []
        self._days: dict[tuple[int, int], _Day] = {}

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._bonds)

    def value(self, symbol: str, t_ns: int) -> float:
        """Fair clean price per 100 face of ``symbol`` at ``t_ns`` (from the first open on)."""
        version = bisect_right(self._shock_times, t_ns) if self._shock_times else 0
        return self._row(self._state(self.calendar.day_index(t_ns), version), symbol)[0]

    def apply_shock(self, shock: Any, t_ns: int) -> None:
        """Curve, spread, downgrade and default shocks act from ``t_ns`` on: a scenario's
        (`sim.scenario.shocks`) or the pricing engine's curve moves themselves; other kinds are
        ignored here."""
        if isinstance(shock, CURVE_SHOCKS):
            shock = shock.curve_shock()
        if not isinstance(shock, CurveShock | SpreadShock | DowngradeShock | DefaultShock):
            return
        if self._shock_times and t_ns < self._shock_times[-1]:
            raise ValueError(
                f"shocks must arrive in time order: {t_ns} ns is before {self._shock_times[-1]}"
            )
        self._shocks.append((t_ns, _shock_start_day(self.calendar, t_ns), shock))
        self._shock_times.append(t_ns)

    def curve(self, day: int) -> ZeroCurve:
        """The risk-free zero curve of trading day ``day``."""
        return self._end_of_day(day).curve

    def spread_bp(self, symbol: str, day: int) -> float:
        """Total credit spread (bp, continuous) over the curve on ``day``."""
        return self._row(self._end_of_day(day), symbol)[2]

    def rating(self, symbol: str, day: int) -> Rating:
        """Rating of ``symbol`` on ``day`` (after that morning's downgrades and the day's
        credit events applied so far)."""
        self._check_symbol(symbol)
        return self._end_of_day(day).ratings[symbol]

    def fair_clean(self, symbol: str, day: int) -> float:
        """Fair clean price per 100 face on ``day``."""
        return self._row(self._end_of_day(day), symbol)[0]

    def fair_yield(self, symbol: str, day: int) -> float:
        """Yield to maturity (compounded at the bond's frequency) at the fair clean price."""
        return self._row(self._end_of_day(day), symbol)[1]

    def fair_value_row(
        self, symbol: str, day: int, t_ns: int
    ) -> tuple[float, float | None, float | None]:
        """``(fair clean, fair yield, spread bp)`` in force at ``t_ns`` on ``day``."""
        self.calendar.session(day)  # a clear error outside the calendar
        return self._row(self._state(day, bisect_right(self._shock_times, t_ns)), symbol)

    def fair_value_detail(self, symbol: str, day: int, t_ns: int) -> FairValue | None:
        """The fair value in force at ``t_ns`` on ``day`` with its breakdown (risk-free price,
        rating spread, credit adjustment: the credit factor and the spread shocks), None for a
        bond in default, worth its recovery."""
        state = self._state(day, bisect_right(self._shock_times, t_ns))
        self._row(state, symbol)  # a clear error for a bond that no longer trades
        return state.details.get(symbol)

    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]:
        """``(tenor_years, zero_rate)`` of every node of the day's curve."""
        c = self.curve(day)
        return tuple(zip(c.tenors, c.rates, strict=True))

    # --- internals ----------------------------------------------------------------------

    def _row(self, state: _Day, symbol: str) -> tuple[float, float | None, float | None]:
        self._check_symbol(symbol)
        row = state.rows.get(symbol)
        if row is None:
            raise ValueError(
                f"bond {symbol!r} matures on {self._bonds[symbol].maturity}: a trade would "
                "settle on or after it, so it has no fair value"
            )
        return row

    def _check_symbol(self, symbol: str) -> None:
        if symbol not in self._bonds:
            raise ValueError(f"unknown symbol {symbol!r}; this fundamental has {self.symbols}")

    def _end_of_day(self, day: int) -> _Day:
        close = self.calendar.session(day)[1]
        return self._state(day, bisect_right(self._shock_times, close))

    def _draw_until(self, day: int) -> None:
        """Advance factors and ratings one trading day at a time up to ``day``."""
        order = list(Rating)
        while len(self._level) <= day:
            z = self._factor_rng.standard_normal(3) * self._volatility_multiple(len(self._level))
            (dl, sl), (ds, ss), (dc, sc) = self._steps
            p = self.params
            self._level.append(p.level + dl * (self._level[-1] - p.level) + sl * z[0])
            self._slope.append(p.slope + ds * (self._slope[-1] - p.slope) + ss * z[1])
            self._credit.append(dc * self._credit[-1] + sc * z[2])
            u = self._downgrade_rng.random(len(self._bonds))
            self._ratings.append(
                tuple(
                    order[r.rank + 1]
                    if draw < self._daily_downgrade and r.rank < Rating.BIG.rank
                    else r
                    for r, draw in zip(self._ratings[-1], u, strict=True)
                )
            )

    def _volatility_multiple(self, day: int) -> float:
        """How many times the calm volatility the factors move with into ``day``."""
        levels = [
            s.level * path_fraction(s.path, day - s.day) for s in self._volatility if s.day <= day
        ]
        return 1.0 + max(levels, default=0.0)

    def _credit_events(self, day: int, active) -> tuple[dict[str, Rating], dict[str, float]]:
        """Each bond's rating after the scenario's downgrades and defaults active on ``day``,
        and the recovery of those in default."""
        order = list(Rating)
        ratings = dict(zip(self._bonds, self._ratings[day], strict=True))
        recovery: dict[str, float] = {}
        for _, event in active:
            if not isinstance(event, DowngradeShock | DefaultShock):
                continue
            for symbol, (issuer, _) in self._issuers.items():
                if issuer != event.issuer or ratings[symbol] is Rating.D:
                    continue
                if isinstance(event, DefaultShock):
                    ratings[symbol] = Rating.D
                    recovery[symbol] = self._recovery if event.recovery is None else event.recovery
                else:
                    rank = min(ratings[symbol].rank + event.notches, Rating.BIG.rank)
                    ratings[symbol] = order[rank]
        return ratings, recovery

    def _extra_spread_bp(self, symbol: str, rating: Rating, day: int, active) -> float:
        """Spread (bp) on top of the table's: the credit factor, spread shocks and contagion."""
        sector = self._issuers.get(symbol, (symbol, None))[1]
        extra = self._credit[day]
        for start, s in active:
            if isinstance(s, SpreadShock) and s.applies_to(rating, sector):
                extra += s.size_bp * path_fraction(s.path, day - start)
            elif isinstance(s, DefaultShock) and sector and self._sectors.get(s.issuer) == sector:
                extra += s.contagion_bp * path_fraction(s.path, day - start)
        return extra

    def _state(self, day: int, version: int) -> _Day:
        key = (day, version)
        cached = self._days.get(key)
        if cached is not None:
            return cached
        self._draw_until(day)
        p = self.params
        curve = ZeroCurve(p.tenors, tuple(p.zero_rates(self._level[day], self._slope[day])))
        active = [(start, s) for _, start, s in self._shocks[:version] if start <= day]
        for start, s in active:
            if isinstance(s, CurveShock):
                curve = s.apply(curve, day - start)
        settle, table = self._settle[day], p.spread_table
        ratings, recovery = self._credit_events(day, active)
        rows: dict[str, tuple[float, float | None, float | None]] = {}
        details: dict[str, FairValue] = {}
        for symbol, bond in self._bonds.items():
            rating = ratings[symbol]
            if bond.maturity <= settle:
                continue  # no longer traded: the last day's value stands until redemption
            if rating is Rating.D:
                rows[symbol] = (defaulted_value(recovery.get(symbol, 0.0)), None, None)
                continue
            extra = self._extra_spread_bp(symbol, rating, day, active)
            table_bp = table.spread_bp(rating, (bond.maturity - settle).days / 365.0)
            # The floor keeps the total spread >= 0 when the credit factor runs negative.
            adj = max(extra, -table_bp)
            fair = fair_value_of(
                bond, settle, curve, rating, model_adjustment_bp=adj, spread_table=table
            )
            rows[symbol] = (fair.clean_price, fair.ytm, fair.total_spread_bp)
            details[symbol] = fair
        state = _Day(curve, rows, details, ratings)
        self._days[key] = state
        return state


def _shock_start_day(calendar: TradingCalendar, t_ns: int) -> int:
    """First trading day a shock at ``t_ns`` acts on: its own if in or before that session."""
    if t_ns < calendar.start_ns:
        return 0
    day = calendar.day_index(t_ns)
    return day if calendar.in_session(t_ns) else day + 1
