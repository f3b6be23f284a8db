"""Scalar random draws taken from a NumPy generator in blocks.

A NumPy `Generator` call costs about the same for one number as for sixty-four: a scalar
`integers` is a microsecond, a scalar `random` or `normal` a third of one. Agents draw a few
scalars at every wake-up and every request, so drawing them one call at a time was about a
tenth of a simulation's run time. `ScalarDraws` takes them from the generator a block at a time
and hands them out one by one.

Uniforms, standard normals and standard exponentials each come from their own block, so the
values equal what the generator's own scalar calls would give for the same draws (`normal` is
``loc + scale * standard_normal()`` in NumPy too). Integers are the one exception: they are a
uniform scaled to the range, not NumPy's bounded-integer algorithm. The blocks are drawn from
the generator in the order they run out, so the stream depends only on the seed and the calls
made, as every draw in a run must.
"""

from __future__ import annotations

import numpy as np

BLOCK = 64  # draws per refill: the refill's cost is spread thin, the buffers stay small


class ScalarDraws:
    """Buffered scalar draws from `generator`. Any other `Generator` method (an array draw,
    a distribution without a buffer here) passes through to the generator, unbuffered."""

    __slots__ = ("_exponentials", "_normals", "_uniforms", "generator")

    def __init__(self, generator: np.random.Generator) -> None:
        self.generator = generator
        self._uniforms: list[float] = []
        self._normals: list[float] = []
        self._exponentials: list[float] = []

    def __getattr__(self, name: str):
        if name == "generator":  # not set yet: an instance being copied or unpickled
            raise AttributeError(name)
        return getattr(self.generator, name)

    def random(self) -> float:
        """A uniform float in [0, 1)."""
        buffer = self._uniforms
        if not buffer:
            _refill(buffer, self.generator.random)
        return buffer.pop()

    def standard_normal(self) -> float:
        buffer = self._normals
        if not buffer:
            _refill(buffer, self.generator.standard_normal)
        return buffer.pop()

    def standard_exponential(self) -> float:
        buffer = self._exponentials
        if not buffer:
            _refill(buffer, self.generator.standard_exponential)
        return buffer.pop()

    def integers(self, low: int, high: int | None = None) -> int:
        """A uniform integer in [low, high), or in [0, low) when `high` is None (as NumPy)."""
        if high is None:
            low, high = 0, low
        span = high - low
        if not 0 < span < 2**53:
            raise ValueError(f"integers: need low < high within 2**53, got [{low}, {high})")
        buffer = self._uniforms  # random(), inlined: agents draw integers at every arrival
        if not buffer:
            _refill(buffer, self.generator.random)
        # u * span never rounds up to span itself: u <= 1 - 2**-53 sits at least half a unit
        # in the last place below 1, and stays so once scaled by any span below 2**53.
        return low + int(buffer.pop() * span)

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return low + (high - low) * self.random()

    def normal(self, loc: float = 0.0, scale: float = 1.0) -> float:
        return loc + scale * self.standard_normal()

    def exponential(self, scale: float = 1.0) -> float:
        return scale * self.standard_exponential()


def _refill(buffer: list[float], draw) -> None:
    """The next block of `draw`'s values, reversed so that pop() hands them out in order."""
    buffer.extend(draw(BLOCK)[::-1].tolist())
