"""Rolling-window percentiles, worked by hand, and the windows a run uses."""

import numpy as np
import pytest

from sim.pulse.normalise import percentiles, windows_for


@pytest.mark.parametrize(
    ("run_days", "expected"),
    [(120, (7, 30, 90)), (94, (7, 30, 90)), (54, (7, 30, 54)), (20, (7, 20)), (3, (3,))],
)
def test_windows_that_do_not_fit_give_way_to_one_expanding_window(run_days, expected):
    assert windows_for((7, 30, 90), run_days) == expected


def test_a_percentile_is_the_mid_rank_among_the_window_and_the_cross_section():
    # Day 0: one interval (seq 0) of three bonds; day 1: the first interval (seq 10).
    values = np.array([1.0, 2.0, 3.0, 2.0, 5.0])
    days = np.array([0, 0, 0, 1, 1])
    seq = np.array([0, 0, 0, 10, 10])
    got = percentiles(values, days, seq, window=2)
    # Day 0 alone: 1 -> 0.5/3, 2 -> 1.5/3, 3 -> 2.5/3.
    assert got[:3] == pytest.approx([0.5 / 3, 1.5 / 3, 2.5 / 3])
    # Day 1 with day 0 in a 2-day window: 2 has 1 below and 2 equal among 5 -> (1 + 1) / 5;
    # 5 has 4 below -> 4.5 / 5.
    assert got[3:] == pytest.approx([2.0 / 5, 4.5 / 5])
    # A 1-day window holds day 1 alone.
    assert percentiles(values, days, seq, window=1)[3:] == pytest.approx([0.25, 0.75])


def test_later_intervals_are_not_in_an_earlier_ones_window():
    values = np.array([1.0, 100.0])
    days = np.array([0, 0])
    seq = np.array([0, 1])  # the same day, the second interval later
    assert percentiles(values, days, seq, window=5).tolist() == [0.5, 0.75]


def test_missing_values_are_left_out():
    values = np.array([1.0, np.nan, 3.0])
    got = percentiles(values, np.zeros(3, int), np.zeros(3, int), window=1)
    assert got[0] == 0.25 and np.isnan(got[1]) and got[2] == 0.75
