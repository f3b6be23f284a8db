"""The liquidity index against the liquidity a trade actually found: what no industry score
can check, and a simulator can.

- **Realised cost** (`realised_costs`): for every bond, listing and trading day, the mean over
  the day's book snapshots of the cost of a standard round trip (`sim.pulse.round_trip`), in
  bp of mid.
- **Rank correlation**: Spearman's rho between a bond's daily liquidity index on the
  consolidated book (known at day d's close) and its realised cost there on day d + 1, over
  every bond and day with both. The goal is rho <= -0.5: a higher index, a cheaper trade. The
  same on each venue's own book, and two views of where it comes from: the mean over days of
  the cross-sectional rho (which bonds are cheaper) and the mean over bonds of the time-series
  rho (when a bond is cheaper).
- **Lead time** (`lead_time`): whether the market's index (the mean over bonds) falls ahead of
  the stress. The reference is the days before the scenario's first shock; the index has
  fallen on the first day from that shock on when it is below the reference mean by more than
  twice the reference's standard deviation and at least `FALL_POINTS` points. The stress day
  is the first day of a shock that takes liquidity away (`STRESS_KINDS`), or of the first
  shock if none does; the lead is the stress day minus the fall day (positive: ahead; 0: the
  same day; negative: after). The realised stress day is the first day from the first shock on
  when the market's realised cost (the median over bonds) is above its reference mean by more
  than twice its standard deviation and a quarter of the mean, and the lead on it is measured
  the same way. A run without a shock, or with one on day 0, has no reference: None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from sim.pulse import snapshots as snap
from sim.pulse.liquidity import liquidity_index
from sim.pulse.params import PulseParams
from sim.pulse.round_trip import round_trip_costs
from sim.pulse.timeline import Timeline

GOAL = -0.5
FALL_POINTS = 5.0
STRESS_KINDS = frozenset(
    {"liquidity_withdrawal", "panic", "participation", "redemption_wave", "venue_halt", "default"}
)


def realised_costs(result, params: PulseParams | None = None) -> pl.DataFrame:
    """Per trading day and listing: day, venue ("all": the consolidated book), instrument,
    cost_bp (the mean over the day's snapshots), filled (the mean share the recorded book
    filled) and snapshots."""
    params = params or PulseParams()
    timeline = Timeline.from_manifest(result.manifest)
    book, instruments = result.book, result.instruments
    book_levels = snap.levels(book)
    snapshot_grid = snap.grid(book, snap.listings(book, result.quotes), instruments)
    books = snap.measures(
        book_levels, snapshot_grid, instruments, params.depth_bp, params.one_sided_spread_bp
    )
    costs = round_trip_costs(
        book_levels,
        books,
        result.fair_values,
        instruments,
        params.round_trip_rupees,
        params.unfilled_penalty_bp,
    )
    return (
        timeline.assign(costs, "1d")
        .group_by("day", "venue", "instrument")
        .agg(pl.col("cost_bp").mean(), pl.col("filled").mean(), snapshots=pl.len())
        .sort("day", "venue", "instrument")
    )


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho (Pearson's on average ranks), None with fewer than 3 pairs or a
    constant side."""
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    pairs = pl.DataFrame({"x": x, "y": y})
    return float(pairs.select(pl.corr("x", "y", method="spearman")).item())


def _mean_rho(pairs: pl.DataFrame, by: str) -> float | None:
    """The mean over groups `by` of the rho within each."""
    rhos = [
        _spearman(g["liquidity"].to_numpy(), g["cost_bp"].to_numpy())
        for _, g in pairs.group_by(by, maintain_order=True)
    ]
    found = [r for r in rhos if r is not None]
    return float(np.mean(found)) if found else None


def next_day_pairs(index: pl.DataFrame, costs: pl.DataFrame) -> pl.DataFrame:
    """Each bond's daily index on day d beside its realised cost on day d + 1, per venue:
    day, venue, instrument, liquidity, cost_bp."""
    tomorrow = costs.select((pl.col("day") - 1).alias("day"), "venue", "instrument", "cost_bp")
    return (
        index.select("day", "venue", "instrument", "liquidity")
        .join(tomorrow, on=["day", "venue", "instrument"])
        .drop_nulls()
        .sort("day", "venue", "instrument")
    )


def _first_day(series: np.ndarray, start: int, beyond) -> int | None:
    hits = [d for d in range(start, series.size) if beyond(series[d])]
    return hits[0] if hits else None


def lead_time(market_index: np.ndarray, market_cost: np.ndarray, shocks: list[dict]) -> dict:
    """Whether and how far ahead the market's daily index fell (see the module's docstring);
    `market_index` and `market_cost` are per trading day, `shocks` the scenario's."""
    days = [int(s["day"]) for s in shocks]
    if not days or min(days) == 0:
        return {"stress_day": None, "fall_day": None, "lead_days": None, "falls_ahead": None}
    first = min(days)
    stressing = [int(s["day"]) for s in shocks if s.get("kind") in STRESS_KINDS]
    stress_day = min(stressing) if stressing else first
    calm_index, calm_cost = market_index[:first], market_cost[:first]
    floor = calm_index.mean() - max(2 * calm_index.std(), FALL_POINTS)
    ceiling = calm_cost.mean() + max(2 * calm_cost.std(), 0.25 * calm_cost.mean())
    fall = _first_day(market_index, first, lambda value: value < floor)
    realised = _first_day(market_cost, first, lambda value: value > ceiling)
    return {
        "first_shock_day": first,
        "stress_day": stress_day,
        "fall_day": fall,
        "lead_days": None if fall is None else stress_day - fall,
        "falls_ahead": None if fall is None else fall < stress_day,
        "realised_stress_day": realised,
        "lead_on_realised_days": None if fall is None or realised is None else realised - fall,
        "reference_index": float(calm_index.mean()),
        "fall_threshold": float(floor),
        "trough_index": float(market_index[first:].min()),
        "trough_day": int(first + market_index[first:].argmin()),
    }


def validate(result, params: PulseParams | None = None) -> dict[str, Any]:
    """The liquidity index against tomorrow's realised cost in `result` (see the module's
    docstring): rho and its parts, the number of pairs, whether it meets the goal, and the
    lead time."""
    params = params or PulseParams()
    daily = params.model_copy(update={"intervals": ("1d",)})
    index = liquidity_index(result, daily)
    costs = realised_costs(result, daily)
    pairs = next_day_pairs(index, costs)
    consolidated = pairs.filter(pl.col("venue") == snap.ALL_VENUES)
    rho = _spearman(consolidated["liquidity"].to_numpy(), consolidated["cost_bp"].to_numpy())
    market = (
        index.filter(pl.col("venue") == snap.ALL_VENUES)
        .group_by("day")
        .agg(pl.col("liquidity").mean())
        .join(
            costs.filter(pl.col("venue") == snap.ALL_VENUES)
            .group_by("day")
            .agg(pl.col("cost_bp").median()),
            on="day",
        )
        .sort("day")
    )
    shocks = list(result.manifest["scenario"].get("shocks") or [])
    return {
        "run_id": result.run_id,
        "scenario": result.manifest["scenario"]["run"]["name"],
        "seed": result.manifest["seed"],
        "days": int(market.height),
        "pairs": int(consolidated.height),
        "round_trip_rupees": params.round_trip_rupees,
        "spearman": rho,
        "goal": GOAL,
        "meets_goal": rho is not None and rho <= GOAL,
        "spearman_by_venue": {
            venue: _spearman(group["liquidity"].to_numpy(), group["cost_bp"].to_numpy())
            for (venue,), group in pairs.filter(pl.col("venue") != snap.ALL_VENUES).group_by(
                "venue", maintain_order=True
            )
        },
        "cross_section_rho": _mean_rho(consolidated, "day"),
        "time_series_rho": _mean_rho(consolidated, "instrument"),
        "median_cost_bp": _finite(costs.filter(pl.col("venue") == snap.ALL_VENUES)["cost_bp"]),
        "lead": lead_time(market["liquidity"].to_numpy(), market["cost_bp"].to_numpy(), shocks),
    }


def _finite(values: pl.Series) -> float | None:
    value = values.median()
    return float(value) if value is not None and math.isfinite(value) else None
