"""`MeanRevertingFundamental`: ABIDES' equity-style oracle, an Ornstein–Uhlenbeck value with
compound-Poisson jumps, sampled exactly and independently of the query pattern."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.fundamentals.base import check_number, ou_variance
from sim.scenario.shocks import FundamentalJumpShock
from sim.units import NS_PER_DAY, NS_PER_SECOND

_CHUNK = 1024  # grid steps per chunk; a power of two for the dyadic bridge
_SKELETON_BLOCK = 64
_JUMP_BLOCK = 64
_CACHED_CHUNKS = 32  # 256 KB a symbol: a whole session stays cached


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
            check_number(f"r_bar of {symbol!r}", r_bar, positive=True)
        initial = dict(initial or {})
        unknown = sorted(set(initial) - set(symbols_to_r_bar))
        if unknown:
            raise ValueError(f"initial values for unknown symbols: {unknown}")
        for symbol, x0 in initial.items():
            check_number(f"initial value of {symbol!r}", x0)
        self.kappa = check_number("kappa_per_second", kappa_per_second)
        self.sigma = check_number("sigma_s", sigma_s)
        self.jump_rate_per_day = check_number("jump_rate_per_day", jump_rate_per_day)
        self.jump_mean_pct = check_number("jump_mean_pct", jump_mean_pct)
        self.jump_sd_pct = check_number("jump_sd_pct", jump_sd_pct)
        if isinstance(grid_ns, bool) or not isinstance(grid_ns, int) or grid_ns <= 0:
            raise ValueError(f"grid_ns must be a positive integer, got {grid_ns!r}")
        if isinstance(start_ns, bool) or not isinstance(start_ns, int):
            raise ValueError(f"start_ns must be an integer ns time, got {start_ns!r}")
        self.start_ns = start_ns
        self.grid_ns = grid_ns
        h = grid_ns / NS_PER_SECOND
        chunk_seconds = _CHUNK * h
        self._chunk_decay = math.exp(-self.kappa * chunk_seconds)
        self._chunk_sd = self.sigma * math.sqrt(ou_variance(self.kappa, chunk_seconds))
        # Dyadic bridge: the midpoint of an interval of 2m steps, given both ends, is normal
        # with mean phi (d_left + d_right) / (1 + phi**2) and variance v / (1 + phi**2), where
        # phi and v are the decay and variance over m steps.
        self._levels = []
        half = _CHUNK // 2
        while half >= 1:
            phi = math.exp(-self.kappa * half * h)
            var = self.sigma**2 * ou_variance(self.kappa, half * h)
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
        check_number("noise_sd", noise_sd)
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
        """A scenario's `FundamentalJumpShock` moves the value by a percentage of its value at
        ``t_ns``.

        The jump then mean-reverts like any other. Symbols this process does not hold are left
        to other fundamentals; rates, spread and market shocks have no effect here.
        """
        if not isinstance(shock, FundamentalJumpShock):
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
