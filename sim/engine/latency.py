"""Latency models: small pluggable objects that draw one delay in integer nanoseconds.

Each agent and venue holds one; the kernel calls ``sample(rng)`` with the agent's own source of
randomness, its `sim.engine.draws.ScalarDraws` (which offers every method of a NumPy generator), so
delays are reproducible from the run's seed.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sim.engine.draws import ScalarDraws


@runtime_checkable
class Latency(Protocol):
    """Draws one delay."""

    def sample(self, rng: np.random.Generator | ScalarDraws) -> int:
        """A delay in nanoseconds, an ``int >= 0``."""
        ...


def _non_negative_ns(name: str, value: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer number of ns, got {value!r}")
    try:
        ns = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer number of ns, got {value!r}") from None
    if ns < 0:
        raise ValueError(f"{name} must be >= 0, got {ns}")
    return ns


@dataclass(frozen=True)
class FixedLatency:
    """Always ``ns``; draws nothing from the generator."""

    ns: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ns", _non_negative_ns("ns", self.ns))

    def sample(self, rng: np.random.Generator | ScalarDraws) -> int:
        return self.ns


@dataclass(frozen=True)
class JitteredLatency:
    """``base_ns`` plus exponential jitter with mean ``jitter_ns``, rounded to the nearest ns.

    One ``rng.exponential`` draw per sample, so the mean delay is ``base_ns + jitter_ns``, the
    minimum is ``base_ns`` and the tail is light but unbounded, as on a real network path.
    """

    base_ns: int
    jitter_ns: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_ns", _non_negative_ns("base_ns", self.base_ns))
        object.__setattr__(self, "jitter_ns", _non_negative_ns("jitter_ns", self.jitter_ns))

    def sample(self, rng: np.random.Generator | ScalarDraws) -> int:
        # The same draw as rng.exponential(jitter_ns), which is jitter_ns times a standard
        # exponential, without the checks of its scale on every call.
        return self.base_ns + int(rng.standard_exponential() * self.jitter_ns + 0.5)


def latency_from(base_us: float, jitter_us: float) -> FixedLatency | JitteredLatency:
    """A latency model from microseconds: fixed when ``jitter_us`` is 0, jittered otherwise."""
    values = {"base_us": base_us, "jitter_us": jitter_us}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValueError(f"{name} must be a number of microseconds, got {value!r}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    base_ns, jitter_ns = round(base_us * 1000), round(jitter_us * 1000)
    return JitteredLatency(base_ns, jitter_ns) if jitter_ns else FixedLatency(base_ns)
