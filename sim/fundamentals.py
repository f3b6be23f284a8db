"""Fundamental values per instrument: what an instrument is "really" worth at a time.

Two processes share one small interface (`Fundamental`): ``value(symbol, t_ns)`` is the value
per 100 face at ``t_ns`` and ``apply_shock(shock, t_ns)`` lets scenario shocks move it.

- `MeanRevertingFundamental`: the equity-style oracle of ABIDES (an Ornstein–Uhlenbeck value
  with compound-Poisson "megashocks"), used for calibration against ABIDES' RMSC04.
- `BondFundamental`: bond fair values from the pricing engine, driven by a daily curve factor
  model, a common credit-spread factor and rare downgrades.

Both are deterministic functions of the generator they are built with: the values do not depend
on how often or in which order they are queried (each symbol and each stretch of time draws from
its own stream). Shocks are plain data (`SpreadShock`, `FundamentalJump`, the curve shocks of
`sim.pricing.curve_shocks`) or mappings / objects with a ``kind`` field (`as_shock`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from sim.calendar import NS_PER_DAY, NS_PER_SECOND, TradingCalendar
from sim.pricing import (
    DEFAULT_SPREAD_TABLE,
    Bond,
    ButterflyShock,
    CompositeShock,
    ParallelShock,
    Rating,
    SpreadTable,
    TwistShock,
    ZeroCurve,
    fair_value_of,
)
from sim.pricing.curve_shocks import FULL_FROM_DAY_0, path_fraction

TRADING_DAYS_PER_YEAR = 250


class Fundamental(Protocol):
    """What agents, the kernel and the recorder need from a fundamental process.

    ``value``: price per 100 face at ``t_ns``. ``apply_shock``: a scenario shock acts from
    ``t_ns`` on (shocks must arrive in time order). ``fair_value_row``: ``(fair clean price,
    fair yield, spread bp)`` for the recorder; ``curve_rows``: the day's ``(tenor_years,
    zero_rate)`` points.
    """

    @property
    def symbols(self) -> tuple[str, ...]: ...
    def value(self, symbol: str, t_ns: int) -> float: ...
    def apply_shock(self, shock: Any, t_ns: int) -> None: ...
    def fair_value_row(self, symbol: str, day: int, t_ns: int) -> tuple[float, Any, Any]: ...
    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]: ...


# --- shocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpreadShock:
    """Credit spreads of bonds rated ``ratings`` (all when empty) move by ``size_bp``.

    ``path`` is a time path in trading days from the shock's day, as for curve shocks.
    """

    kind: ClassVar[str] = "spread"
    size_bp: float
    ratings: tuple[str, ...] = ()
    path: tuple[tuple[float, float], ...] = FULL_FROM_DAY_0

    def __post_init__(self) -> None:
        checked = ParallelShock(self.size_bp, self.path)  # same number and path rules
        object.__setattr__(self, "size_bp", checked.size_bp)
        object.__setattr__(self, "path", checked.path)
        ratings = (self.ratings,) if isinstance(self.ratings, str) else tuple(self.ratings)
        object.__setattr__(self, "ratings", tuple(Rating.parse(r).value for r in ratings))

    def applies_to(self, rating: Rating) -> bool:
        return not self.ratings or rating.value in self.ratings


@dataclass(frozen=True)
class FundamentalJump:
    """Mean-reverting values of ``symbols`` (all when empty) jump by ``size_pct`` percent."""

    kind: ClassVar[str] = "fundamental_jump"
    size_pct: float
    symbols: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if _check_number("fundamental_jump size_pct", self.size_pct, signed=True) <= -100:
            raise ValueError(f"fundamental_jump size_pct must be > -100, got {self.size_pct!r}")
        symbols = (self.symbols,) if isinstance(self.symbols, str) else tuple(self.symbols)
        object.__setattr__(self, "size_pct", float(self.size_pct))
        object.__setattr__(self, "symbols", symbols)


CurveShock = ParallelShock | TwistShock | ButterflyShock | CompositeShock
_CURVE_KINDS = {
    "rates_parallel": ParallelShock,
    "rates_twist": TwistShock,
    "rates_butterfly": ButterflyShock,
}
_OWN_KINDS = {"spread": SpreadShock, "fundamental_jump": FundamentalJump}
# Shocks to the market, not to values: agents react to them, fundamentals do not.
IGNORED_KINDS = frozenset({"panic", "liquidity_withdrawal"})


# Scenario files spell the curve shocks' pivots with their unit; the pricing engine without.
_SCENARIO_FIELD_NAMES = {
    "short_pivot_years": "short_pivot",
    "long_pivot_years": "long_pivot",
    "belly_years": "belly",
}


def as_shock(shock: Any) -> CurveShock | SpreadShock | FundamentalJump | None:
    """The shock object for ``shock``, or None for kinds that leave fundamentals alone.

    Accepts the shock dataclasses themselves, or a mapping or object (a validated scenario
    entry, say) with a ``kind`` of ``rates_parallel``, ``rates_twist``, ``rates_butterfly``,
    ``spread``, ``fundamental_jump``, ``panic`` or ``liquidity_withdrawal``. Fields the shock
    does not use, such as when it is scheduled, are ignored: timing is the kernel's business.
    """
    if isinstance(shock, CurveShock | SpreadShock | FundamentalJump):
        return shock
    if isinstance(shock, Mapping):
        table = dict(shock)
    elif hasattr(shock, "model_dump"):
        table = shock.model_dump()
    else:
        table = dict(vars(shock)) if hasattr(shock, "__dict__") else {}
    kind = getattr(table.get("kind"), "value", table.get("kind"))  # an Enum kind gives its value
    if kind in IGNORED_KINDS:
        return None
    cls = _CURVE_KINDS.get(kind) or _OWN_KINDS.get(kind)
    if cls is None:
        known = sorted([*_CURVE_KINDS, *_OWN_KINDS, *IGNORED_KINDS])
        raise ValueError(f"unknown shock kind {kind!r}; expected one of {known}")
    names = set(cls.__dataclass_fields__) - {"kind"}
    table = {_SCENARIO_FIELD_NAMES.get(k, k): v for k, v in table.items()}
    try:
        return cls(**{k: v for k, v in table.items() if k in names and v is not None})
    except TypeError as exc:
        raise ValueError(f"{kind} shock: {exc}") from None


def _shock_start_day(calendar: TradingCalendar, t_ns: int) -> int:
    """First trading day a shock at ``t_ns`` acts on: its own if in or before that session."""
    if t_ns < calendar.start_ns:
        return 0
    day = calendar.day_index(t_ns)
    return day if calendar.in_session(t_ns) else day + 1


# --- mean-reverting value with jumps ------------------------------------------------------

_CHUNK = 1024  # grid steps per chunk; a power of two for the dyadic bridge
_SKELETON_BLOCK = 64
_JUMP_BLOCK = 64
_CACHED_CHUNKS = 32  # 256 KB a symbol: a whole session stays cached


def _ou_variance(kappa: float, dt: float) -> float:
    """Variance of an OU transition over ``dt`` per unit ``sigma**2``."""
    return dt if kappa == 0 else -math.expm1(-2.0 * kappa * dt) / (2.0 * kappa)


def _check_number(name: str, value: Any, *, positive: bool = False, signed: bool = False) -> float:
    """``value`` as a float if it is a finite number, ``>= 0`` (``> 0``) unless ``signed``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if signed and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if not signed and (not math.isfinite(value) or value < 0 or (positive and value == 0)):
        raise ValueError(
            f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return float(value)


def _stream(seed: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """A generator of its own for one use of one symbol, named by ``key``."""
    return np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *key))
    )


class _SymbolPath:
    """One symbol's value path: skeleton, cached chunks and jump lists."""

    def __init__(self, r_bar: float, initial: float, seed: np.random.SeedSequence) -> None:
        self.r_bar = r_bar
        self.seed = seed
        self.skeleton = [initial - r_bar]  # deviation from r_bar at each chunk start
        self.skeleton_rng = _stream(seed, 0)
        self.jump_rng = _stream(seed, 1)
        self.chunks: dict[int, np.ndarray] = {}
        # Jumps: times (ns), sizes and the summed jump effect just after each (levels).
        self.jump_times: list[int] = []
        self.jump_sizes: list[float] = []
        self.jump_levels: list[float] = []
        self.jump_clock = 0.0
        self.shock_times: list[int] = []
        self.shock_levels: list[float] = []


class MeanRevertingFundamental:
    """Ornstein–Uhlenbeck values with compound-Poisson jumps (ABIDES' sparse oracle).

    Per symbol, with ``t`` in seconds from ``start_ns`` and ``X(0) = initial`` (default r_bar):

        dX = kappa_per_second (r_bar - X) dt + sigma_s dW + dJ

    ``sigma_s`` is in price units per 100 face per sqrt(second) (variance ``sigma_s**2`` per
    second). Jumps arrive as a Poisson process at ``jump_rate_per_day`` per 24 hours of clock
    time; each is ``±jump_mean_pct`` percent of r_bar (either sign with probability 1/2) plus
    normal noise of sd ``jump_sd_pct`` percent of r_bar (ABIDES' bimodal megashock), and then
    mean-reverts like the rest of X. Values are floored at 0.

    The diffusion is sampled exactly on a fixed grid of ``grid_ns`` (default one second): chunk
    ends by exact OU transitions in sequence, chunk interiors by an exact dyadic OU bridge from
    a stream of their own, so any query pattern sees the same path, and unqueried chunks (nights)
    cost one draw. Between grid points the diffusion is held at the last grid value; jumps act at
    their exact times. The clock runs through overnight gaps, so a night moves the value too.

    Mapping from ABIDES RMSC04 (integer cents and per-ns rates; r_bar = 100_000 cents <-> 100
    per 100 face, a price scale of 1e-3): kappa 1.67e-16/ns -> ``kappa_per_second=1.67e-7``;
    megashock lambda_a 2.77778e-18/ns x 8.64e13 ns/day -> ``jump_rate_per_day=2.4e-4``; mean
    1000 cents -> ``jump_mean_pct=1.0``; variance 50_000 cents**2 -> ``jump_sd_pct=0.2236``.
    fund_vol=5e-5 is ambiguous: ABIDES' config calls it a std, its code passes the OU variance
    formula as the normal's std (jpmorganchase/abides-jpmc-public#10). Read as the std rate its
    config says (the fix proposed there), ``sigma_s = 5e-5 * sqrt(1e9) * 1e-3 ≈ 1.58e-3`` per
    sqrt(s), 0.24% over a 6.5-hour day: the reading we recommend. Read as a variance rate, it
    is ``sqrt(5e-5 * 1e9) * 1e-3 ≈ 0.224`` (34% a day). ABIDES' sigma_s (0 in RMSC04) shocks
    r_bar in its dense oracle and has no counterpart here.
    """

    def __init__(
        self,
        symbols_to_r_bar: Mapping[str, float],
        kappa_per_second: float,
        sigma_s: float,
        jump_rate_per_day: float,
        jump_mean_pct: float,
        jump_sd_pct: float,
        rng: np.random.Generator,
        *,
        start_ns: int,
        grid_ns: int = NS_PER_SECOND,
        initial: Mapping[str, float] | None = None,
    ) -> None:
        if not symbols_to_r_bar:
            raise ValueError("symbols_to_r_bar needs at least one symbol")
        for symbol, r_bar in symbols_to_r_bar.items():
            _check_number(f"r_bar of {symbol!r}", r_bar, positive=True)
        initial = dict(initial or {})
        unknown = sorted(set(initial) - set(symbols_to_r_bar))
        if unknown:
            raise ValueError(f"initial values for unknown symbols: {unknown}")
        for symbol, x0 in initial.items():
            _check_number(f"initial value of {symbol!r}", x0)
        self.kappa = _check_number("kappa_per_second", kappa_per_second)
        self.sigma = _check_number("sigma_s", sigma_s)
        self.jump_rate_per_day = _check_number("jump_rate_per_day", jump_rate_per_day)
        self.jump_mean_pct = _check_number("jump_mean_pct", jump_mean_pct)
        self.jump_sd_pct = _check_number("jump_sd_pct", jump_sd_pct)
        if isinstance(grid_ns, bool) or not isinstance(grid_ns, int) or grid_ns <= 0:
            raise ValueError(f"grid_ns must be a positive integer, got {grid_ns!r}")
        if isinstance(start_ns, bool) or not isinstance(start_ns, int):
            raise ValueError(f"start_ns must be an integer ns time, got {start_ns!r}")
        self.start_ns = start_ns
        self.grid_ns = grid_ns
        h = grid_ns / NS_PER_SECOND
        chunk_seconds = _CHUNK * h
        self._chunk_decay = math.exp(-self.kappa * chunk_seconds)
        self._chunk_sd = self.sigma * math.sqrt(_ou_variance(self.kappa, chunk_seconds))
        # Dyadic bridge: the midpoint of an interval of 2m steps, given both ends, is normal
        # with mean phi (d_left + d_right) / (1 + phi**2) and variance v / (1 + phi**2), where
        # phi and v are the decay and variance over m steps.
        self._levels = []
        half = _CHUNK // 2
        while half >= 1:
            phi = math.exp(-self.kappa * half * h)
            var = self.sigma**2 * _ou_variance(self.kappa, half * h)
            self._levels.append((phi / (1 + phi * phi), math.sqrt(var / (1 + phi * phi))))
            half //= 2
        base = np.random.SeedSequence(rng.integers(0, 2**63, size=4).tolist())
        names = sorted(symbols_to_r_bar)
        self._paths = {
            s: _SymbolPath(
                float(symbols_to_r_bar[s]),
                float(initial.get(s, symbols_to_r_bar[s])),
                np.random.SeedSequence(base.entropy, spawn_key=(i,)),
            )
            for i, s in enumerate(names)
        }

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._paths)

    def value(self, symbol: str, t_ns: int) -> float:
        """Value per 100 face of ``symbol`` at ``t_ns`` (any query order gives the same path)."""
        path = self._path(symbol)
        step = (t_ns - self.start_ns) // self.grid_ns
        if step < 0:
            raise ValueError(f"time {t_ns} ns is before the process starts at {self.start_ns}")
        chunk, offset = divmod(step, _CHUNK)
        values = path.chunks.get(chunk)
        if values is None:
            values = self._make_chunk(path, chunk)
        x = float(values[offset])
        if self.jump_rate_per_day:
            x += self._jump_effect(path, t_ns)
        if path.shock_times:
            x += self._decayed(path.shock_times, path.shock_levels, t_ns)
        return max(x, 0.0)

    def observe(self, symbol: str, t_ns: int, noise_sd: float, rng: np.random.Generator) -> float:
        """A noisy observation: the value plus normal noise of sd ``noise_sd`` (price units)."""
        _check_number("noise_sd", noise_sd)
        return self.value(symbol, t_ns) + float(rng.normal(0.0, noise_sd))

    def jumps(self, symbol: str, until_ns: int) -> list[tuple[int, float]]:
        """The random jumps (time ns, size per 100 face) of ``symbol`` at or before ``until_ns``."""
        path = self._path(symbol)
        if not self.jump_rate_per_day:
            return []
        self._draw_jumps(path, until_ns)
        n = bisect_right(path.jump_times, until_ns)
        return list(zip(path.jump_times[:n], path.jump_sizes[:n], strict=True))

    def apply_shock(self, shock: Any, t_ns: int) -> None:
        """A `FundamentalJump` moves the value by a percentage of its value at ``t_ns``.

        The jump then mean-reverts like any other. Symbols this process does not hold are left
        to other fundamentals; rates, spread and market shocks have no effect here.
        """
        shock = as_shock(shock)
        if not isinstance(shock, FundamentalJump):
            return
        for symbol in shock.symbols or self.symbols:
            path = self._paths.get(symbol)
            if path is None:
                continue
            if path.shock_times and t_ns < path.shock_times[-1]:
                raise ValueError(
                    f"shocks must arrive in time order: {t_ns} ns is before {path.shock_times[-1]}"
                )
            size = self.value(symbol, t_ns) * shock.size_pct / 100.0
            before = self._decayed(path.shock_times, path.shock_levels, t_ns)
            path.shock_times.append(t_ns)
            path.shock_levels.append(before + size)

    def fair_value_row(self, symbol: str, day: int, t_ns: int) -> tuple[float, None, None]:
        """``(value at t_ns, None, None)``: there is no yield or spread behind this value."""
        return self.value(symbol, t_ns), None, None

    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]:
        """No curve drives this process."""
        return ()

    # --- internals ----------------------------------------------------------------------

    def _path(self, symbol: str) -> _SymbolPath:
        try:
            return self._paths[symbol]
        except KeyError:
            raise ValueError(
                f"unknown symbol {symbol!r}; this fundamental has {self.symbols}"
            ) from None

    def _make_chunk(self, path: _SymbolPath, chunk: int) -> np.ndarray:
        while len(path.skeleton) < chunk + 2:
            noise = path.skeleton_rng.standard_normal(_SKELETON_BLOCK)
            for z in noise:
                path.skeleton.append(self._chunk_decay * path.skeleton[-1] + self._chunk_sd * z)
        noise = _stream(path.seed, 2, chunk).standard_normal(_CHUNK - 1)
        dev = np.empty(_CHUNK + 1)
        dev[0], dev[_CHUNK] = path.skeleton[chunk], path.skeleton[chunk + 1]
        used, step = 0, _CHUNK
        for coef, sd in self._levels:
            half = step // 2
            n = _CHUNK // step
            dev[half::step] = (
                coef * (dev[0:_CHUNK:step] + dev[step::step]) + sd * noise[used : used + n]
            )
            used += n
            step = half
        values = path.r_bar + dev[:_CHUNK]
        if len(path.chunks) >= _CACHED_CHUNKS:
            del path.chunks[next(iter(path.chunks))]
        path.chunks[chunk] = values
        return values

    def _draw_jumps(self, path: _SymbolPath, until_ns: int) -> None:
        """Pre-draw jump times and sizes until one falls after ``until_ns``."""
        mean_gap_ns = NS_PER_DAY / self.jump_rate_per_day
        scale = path.r_bar / 100.0
        while not path.jump_times or path.jump_times[-1] < until_ns:
            rng = path.jump_rng
            gaps = rng.exponential(mean_gap_ns, _JUMP_BLOCK)
            signs = rng.integers(0, 2, _JUMP_BLOCK) * 2 - 1
            noise = rng.standard_normal(_JUMP_BLOCK)
            for gap, sign, z in zip(gaps, signs, noise, strict=True):
                path.jump_clock += gap
                t = self.start_ns + int(path.jump_clock)
                size = scale * (sign * self.jump_mean_pct + self.jump_sd_pct * z)
                before = self._decayed(path.jump_times, path.jump_levels, t)
                path.jump_times.append(t)
                path.jump_sizes.append(size)
                path.jump_levels.append(before + size)

    def _jump_effect(self, path: _SymbolPath, t_ns: int) -> float:
        if not path.jump_times or path.jump_times[-1] < t_ns:
            self._draw_jumps(path, t_ns)
        return self._decayed(path.jump_times, path.jump_levels, t_ns)

    def _decayed(self, times: list[int], levels: list[float], t_ns: int) -> float:
        """Summed effect at ``t_ns`` of the jumps listed, each decaying at rate kappa."""
        i = bisect_right(times, t_ns) - 1
        if i < 0:
            return 0.0
        return levels[i] * math.exp(-self.kappa * (t_ns - times[i]) / NS_PER_SECOND)


# --- bond fair values ---------------------------------------------------------------------


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
            _check_number(f"BondFactorParams.{name}", getattr(self, name), signed=True)
        _check_number("BondFactorParams.decay_years", self.decay_years, positive=True)
        for factor in ("level", "slope", "credit"):
            _check_number(f"BondFactorParams.{factor}_vol_bp", getattr(self, f"{factor}_vol_bp"))
            name = f"{factor}_kappa_per_year"
            _check_number(f"BondFactorParams.{name}", getattr(self, name))
        p = _check_number("BondFactorParams.downgrade_prob_per_year", self.downgrade_prob_per_year)
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
    return math.exp(-kappa), vol * math.sqrt(_ou_variance(kappa, 1.0))


@dataclass(frozen=True)
class _Day:
    """One day under one set of shocks: the curve and ``(clean, ytm, spread_bp)`` per bond."""

    curve: ZeroCurve
    rows: dict[str, tuple[float, float, float]]


class BondFundamental:
    """Bond fair values from the pricing engine under daily curve, credit and rating moves.

    Each trading day ``d`` has a zero curve (`BondFactorParams`), a common credit factor and a
    rating per bond; a bond's fair value is `sim.pricing.fair_value_of` at the day's settle date
    (T+``settlement_lag_days`` from the day's open) off that curve, with its rating's spread
    from the spread table plus the credit factor plus active `SpreadShock`\\ s (floored at 0 bp).
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
            if bond.maturity <= self._settle[-1]:
                raise ValueError(
                    f"bond {symbol!r} matures on {bond.maturity}, on or before the last settle "
                    f"date {self._settle[-1]}"
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
        """Curve and spread shocks act from ``t_ns`` on; other kinds are ignored here."""
        shock = as_shock(shock)
        if not isinstance(shock, CurveShock | SpreadShock):
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
        """Rating of ``symbol`` on ``day`` (after that morning's downgrades)."""
        self._check_symbol(symbol)
        self.calendar.session(day)  # a clear error outside the calendar
        self._draw_until(day)
        return self._ratings[day][self.symbols.index(symbol)]

    def fair_clean(self, symbol: str, day: int) -> float:
        """Fair clean price per 100 face on ``day``."""
        return self._row(self._end_of_day(day), symbol)[0]

    def fair_yield(self, symbol: str, day: int) -> float:
        """Yield to maturity (compounded at the bond's frequency) at the fair clean price."""
        return self._row(self._end_of_day(day), symbol)[1]

    def fair_value_row(self, symbol: str, day: int, t_ns: int) -> tuple[float, float, float]:
        """``(fair clean, fair yield, spread bp)`` in force at ``t_ns`` on ``day``."""
        self.calendar.session(day)  # a clear error outside the calendar
        return self._row(self._state(day, bisect_right(self._shock_times, t_ns)), symbol)

    def curve_rows(self, day: int) -> tuple[tuple[float, float], ...]:
        """``(tenor_years, zero_rate)`` of every node of the day's curve."""
        c = self.curve(day)
        return tuple(zip(c.tenors, c.rates, strict=True))

    # --- internals ----------------------------------------------------------------------

    def _row(self, state: _Day, symbol: str) -> tuple[float, float, float]:
        self._check_symbol(symbol)
        return state.rows[symbol]

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
            z = self._factor_rng.standard_normal(3)
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
        rows = {}
        for (symbol, bond), rating in zip(self._bonds.items(), self._ratings[day], strict=True):
            extra = self._credit[day] + sum(
                s.size_bp * path_fraction(s.path, day - start)
                for start, s in active
                if isinstance(s, SpreadShock) and s.applies_to(rating)
            )
            table_bp = table.spread_bp(rating, (bond.maturity - settle).days / 365.0)
            # The floor keeps the total spread >= 0 when the credit factor runs negative.
            adj = max(extra, -table_bp)
            fair = fair_value_of(
                bond, settle, curve, rating, model_adjustment_bp=adj, spread_table=table
            )
            rows[symbol] = (fair.clean_price, fair.ytm, fair.total_spread_bp)
        state = _Day(curve, rows)
        self._days[key] = state
        return state
