"""Walk-forward evaluation: a run's trading days in rolling train and test windows.

The first `train_days` days train; then test windows of `test_days` days follow one another,
each with the `train_days` days before it as its training window:

    fold 0: train [0, T)         test [T, T + S)
    fold 1: train [S, T + S)     test [T + S, T + 2S)
    ...

A learning strategy reads its context's `walk_forward` (None outside a walk-forward backtest)
to fit at the start of each test window on its training window only, and the backtest scores
the test windows alone: results are out of sample by construction.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WalkForward:
    """Rolling windows of `train_days` training days and `test_days` test days."""

    train_days: int
    test_days: int

    def __post_init__(self) -> None:
        for name in ("train_days", "test_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"walk-forward {name} must be a whole number >= 1, got {value!r}")

    def fold(self, day: int) -> int | None:
        """The test window trading day `day` lies in (0 first), None in the first training
        window."""
        return None if day < self.train_days else (day - self.train_days) // self.test_days

    def in_test(self, day: int) -> bool:
        """Whether `day` is out of sample: in a test window."""
        return day >= self.train_days

    def test_window(self, fold: int) -> range:
        """The trading days of fold `fold`'s test window."""
        start = self.train_days + fold * self.test_days
        return range(start, start + self.test_days)

    def train_window(self, fold: int) -> range:
        """The trading days fold `fold` trains on: the `train_days` before its test window."""
        end = self.train_days + fold * self.test_days
        return range(end - self.train_days, end)
