"""Walk-forward windows: the first training window, then rolling test windows each with the
training days just before it."""

from __future__ import annotations

import pytest

from sim.strategy.walk_forward import WalkForward


def test_rolling_windows_follow_one_another():
    windows = WalkForward(train_days=4, test_days=2)
    assert [windows.fold(day) for day in range(9)] == [None] * 4 + [0, 0, 1, 1, 2]
    assert [windows.in_test(day) for day in (3, 4)] == [False, True]
    assert (windows.train_window(0), windows.test_window(0)) == (range(0, 4), range(4, 6))
    assert (windows.train_window(1), windows.test_window(1)) == (range(2, 6), range(6, 8))


@pytest.mark.parametrize(("train", "test"), [(0, 1), (1, 0), (1.5, 1), (True, 1)])
def test_windows_need_whole_days(train, test):
    with pytest.raises(ValueError, match="must be a whole number >= 1"):
        WalkForward(train, test)
