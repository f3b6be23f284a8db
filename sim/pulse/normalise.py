"""Rolling-window normalisation: a raw feature to a score in [0, 1] by where it stands among
recent values.

A value's percentile in a window is its mid-rank among the window's values, ``(number below +
half the number equal) / number``, with the value itself among them, so it lies in (0, 1) and
never falls as the value rises (the window's other values held): the mapping is monotone. A
feature where lower is better (a spread) scores one minus its percentile.

The window of `w` trading days for a row of interval ``(day d, slot k)`` holds every row of the
same pool (`pool` columns: the same interval kind, and per-venue books apart from the
consolidated one) from the open of day ``d - w + 1`` to the end of that interval, every bond
pooled: the current cross-section and the recent past, and nothing later (no look-ahead).
Pooling bonds keeps the cross-section's order (a tight AAA book scores above a wide BBB one),
and the past keeps a market-wide deterioration visible: in a stress everything is worse than
last week.

Windows: each of `PulseParams.windows_days` (7, 30, 90) is used where the run has at least that
many trading days; the longer ones are replaced by one expanding window (everything since the
first open), so a 20-day run uses 7 days and the expanding window, a 94-day run 7, 30 and 90.
Early in a run a window holds what there is. A row's score is the mean over the windows
weighted by their lengths (7 : 30 : 90), and the standard deviation with the same weights
measures how much it depends on the reference (its stability). The longer windows anchor the
level and the week adds responsiveness: with equal weights a stress that lasts is half
forgotten within a week (the 7-day window holds nothing else), while the costs of trading stay
high (benchmarks/RESULTS.md has the figures both ways).
A missing value (null: no trade to measure an imbalance from) scores 0.5, no information, and
is left out of every window.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def windows_for(windows_days: tuple[int, ...], run_days: int) -> tuple[int, ...]:
    """The windows a run of `run_days` uses: those that fit, then one expanding window
    (`run_days`) standing in for the rest."""
    fit = tuple(w for w in windows_days if w <= run_days)
    return fit if len(fit) == len(windows_days) else (*fit, run_days)


def percentiles(values: np.ndarray, days: np.ndarray, seq: np.ndarray, window: int) -> np.ndarray:
    """Mid-rank percentile of each value among the window's (see the module's docstring).

    `days` are the rows' trading days and `seq` their intervals' positions in time (rows of one
    interval share one); NaN values get NaN.
    """
    out = np.full(values.size, np.nan)
    valid = ~np.isnan(values)
    if not valid.any():
        return out
    rows, values, days, seq = np.flatnonzero(valid), values[valid], days[valid], seq[valid]
    order = np.argsort(values, kind="stable")
    ranked, ranked_seq = values[order], seq[order]
    below = np.searchsorted(ranked, values, side="left")
    at_or_below = np.searchsorted(ranked, values, side="right")
    # Each day's first interval, so that a window of w days starts at day d - w + 1's.
    by_day = np.argsort(days, kind="stable")
    day_list, first = np.unique(days[by_day], return_index=True)
    first_seq = np.minimum.reduceat(seq[by_day], first)
    for current in np.unique(seq):
        here = seq == current
        start = np.searchsorted(day_list, days[here][0] - window + 1, side="left")
        inside = (ranked_seq >= first_seq[start]) & (ranked_seq <= current)
        counts = np.concatenate([[0], np.cumsum(inside)])
        less, upto = counts[below[here]], counts[at_or_below[here]]
        out[rows[here]] = (less + 0.5 * (upto - less)) / counts[-1]
    return out


def window_scores(
    frame: pl.DataFrame,
    column: str,
    higher_is_better: bool,
    windows: tuple[int, ...],
    pool: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's score in [0, 1] (the mean over `windows`, weighted by their lengths) and its
    standard deviation over them; `frame` has `column`, ``day`` and ``seq`` (the interval's
    position in time)."""
    scores = np.full((len(windows), frame.height), np.nan)
    indexed = frame.with_row_index("_row")
    for _, group in indexed.group_by(pool, maintain_order=True):
        rows = group["_row"].to_numpy()
        values = group[column].cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
        for i, window in enumerate(windows):
            scores[i, rows] = percentiles(
                values, group["day"].to_numpy(), group["seq"].to_numpy(), window
            )
    if not higher_is_better:
        scores = 1.0 - scores
    scores = np.where(np.isnan(scores), 0.5, scores)
    weights = np.asarray(windows, dtype=float)[:, None] / sum(windows)
    mean = (weights * scores).sum(axis=0)
    return mean, np.sqrt((weights * (scores - mean) ** 2).sum(axis=0))
