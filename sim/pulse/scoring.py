"""Features to a 0–100 index: weighted scores, each feature's points, the top drivers and an
uncertainty.

With `s_f` a feature's score in [0, 1] (`sim.pulse.normalise`) and `w_f` its weight over the
weights of the features in use (those with a positive weight that the run has any value of):

    index = 100 * sum_f w_f s_f = 50 + sum_f points_f,   points_f = 100 w_f (s_f - 1/2)

so the index is in [0, 100], rises with every score, and each feature's points say how far it
moved the index from the neutral 50 (the drivers are the largest in size). The uncertainty is a
standard deviation in index points,

    uncertainty = 100 * sqrt(sum_f w_f^2 (sd_f^2 + recent_f^2 + (1 - coverage_f) / 12))

Stability: sd_f is the score's spread over the normalisation windows (how much it depends on
the reference) and recent_f its standard deviation over the entity's last `RECENT` intervals,
this one included (how much it has been moving: a jumpy book's score is a less certain
nowcast). Coverage: coverage_f is 1 when the feature was measured and 0 when it was missing (a
neutral 0.5 stands in; 1/12 is the variance of a score known only to lie in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.pulse.normalise import window_scores

TOP_DRIVERS = 3
RECENT = 5


@dataclass(frozen=True)
class Feature:
    """A feature: its name (weights and drivers use it), the column holding its raw value, and
    whether a higher value means more liquidity (or support). A feature with an absolute
    `scale` (a monotone map of raw values onto [0, 1] in the direction of
    `higher_is_better`) is scored by it instead of by its rank in the windows."""

    name: str
    column: str
    higher_is_better: bool
    scale: Callable[[np.ndarray], np.ndarray] | None = None

    def scores(
        self, frame: pl.DataFrame, windows: tuple[int, ...], pool: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's score in [0, 1] and its standard deviation over the windows."""
        if self.scale is None:
            return window_scores(frame, self.column, self.higher_is_better, windows, pool)
        raw = frame[self.column].cast(pl.Float64).fill_nan(None).to_numpy().astype(float)
        score = np.where(np.isnan(raw), 0.5, np.clip(self.scale(raw), 0.0, 1.0))
        return score, np.zeros(frame.height)


def drivers(points: str, names: list[str], top: int = TOP_DRIVERS) -> pl.Expr:
    """The `top` features of struct column `points` by size: a list of {feature, points}."""
    entries = [
        pl.struct(feature=pl.lit(name), points=pl.col(points).struct.field(name)) for name in names
    ]
    size = pl.element().struct.field("points").abs()
    return (
        pl.concat_list(entries)
        .list.eval(pl.element().sort_by(size, descending=True))
        .list.head(top)
    )


def index_scores(
    frame: pl.DataFrame,
    features: tuple[Feature, ...],
    weights: Mapping[str, float],
    windows: tuple[int, ...],
    pool: list[str],
    entity: list[str],
    name: str,
) -> pl.DataFrame:
    """`frame` (with ``day``, ``seq`` and each feature's column) with the index `name`,
    ``{name}_uncertainty``, ``{name}_points`` (a struct: every feature's points, 0 for one not
    in use) and ``{name}_drivers``. `pool` columns group the rows normalised together and
    `entity` columns the rows of one listing (or issuer) over time."""
    used = [f for f in features if weights[f.name] > 0 and frame[f.column].is_not_null().any()]
    if not used:
        raise ValueError(f"{name}: the run has no value of any weighted feature")
    total = sum(weights[f.name] for f in used)
    index = np.full(frame.height, 50.0)
    variance = np.zeros(frame.height)
    points = {f.name: np.zeros(frame.height) for f in features}
    for feature in used:
        share = weights[feature.name] / total
        score, spread = feature.scores(frame, windows, pool)
        measured = frame[feature.column].cast(pl.Float64).fill_nan(None).is_not_null().to_numpy()
        points[feature.name] = 100.0 * share * (score - 0.5)
        index += points[feature.name]
        recent = _recent_sd(frame, score, entity)
        variance += share**2 * (spread**2 + recent**2 + (~measured) / 12.0)
    return frame.with_columns(
        pl.Series(name, index),
        pl.Series(f"{name}_uncertainty", 100.0 * np.sqrt(variance)),
        pl.DataFrame(points).to_struct(f"{name}_points"),
    ).with_columns(drivers(f"{name}_points", [f.name for f in features]).alias(f"{name}_drivers"))


def _recent_sd(frame: pl.DataFrame, score: np.ndarray, entity: list[str]) -> np.ndarray:
    """Standard deviation of `score` over each entity's last `RECENT` rows by ``seq`` (0 for
    an entity's first row)."""
    return (
        frame.select(*entity, "seq", score=pl.Series(score))
        .with_row_index("_row")
        .sort("seq", "_row")
        .with_columns(
            recent=pl.col("score")
            .rolling_std(window_size=RECENT, min_samples=2, ddof=0)
            .over(entity)
            .fill_null(0.0)
        )
        .sort("_row")["recent"]
        .to_numpy()
    )
