"""The liquidity index's features, per listing (each venue's book and the consolidated one,
`ALL_VENUES`) and interval, from a run's own records.

| feature (weight key) | column | unit | better when |
|---|---|---|---|
| quoted_spread | quoted_spread_bp | bp of mid, mean over the interval's book snapshots | lower |
| depth | depth_rupees | face within `depth_bp` of mid, both sides, mean over snapshots | higher |
| maker_presence | makers_two_sided | makers quoting both sides, mean over snapshots | higher |
| turnover | turnover_velocity | units traded / units outstanding, per session | higher |
| trade_recency | minutes_since_trade | trading minutes since the last trade, at the end | lower |
| order_imbalance | order_imbalance | abs(buy - sell aggressor units) / units traded | lower |
| sip_activity | sip_activity | units the SIP pool moved / units outstanding, per session | higher |

`sim.pulse.snapshots`, `sim.pulse.makers` and `sim.pulse.activity` define each one exactly. An
interval has a row for a listing when the book was snapshotted in it (``snapshots``, how many
times), so the book's recording interval should not exceed the index's.
"""

from __future__ import annotations

import polars as pl

from sim.pulse import snapshots as snap
from sim.pulse.activity import activity
from sim.pulse.makers import presence
from sim.pulse.params import PulseParams
from sim.pulse.scoring import Feature
from sim.pulse.timeline import Timeline

LIQUIDITY_FEATURES: tuple[Feature, ...] = (
    Feature("quoted_spread", "quoted_spread_bp", higher_is_better=False),
    Feature("depth", "depth_rupees", higher_is_better=True),
    Feature("maker_presence", "makers_two_sided", higher_is_better=True),
    Feature("turnover", "turnover_velocity", higher_is_better=True),
    Feature("trade_recency", "minutes_since_trade", higher_is_better=False),
    Feature("order_imbalance", "order_imbalance", higher_is_better=False),
    Feature("sip_activity", "sip_activity", higher_is_better=True),
)


def snapshot_features(result, params: PulseParams) -> pl.DataFrame:
    """Per listing and book snapshot: spread_bp, depth_rupees, makers_two_sided (and the
    book's bid, ask and mid in ticks)."""
    book, instruments = result.book, result.instruments
    pairs = snap.listings(book, result.quotes)
    snapshot_grid = snap.grid(book, pairs, instruments)
    books = snap.measures(
        snap.levels(book), snapshot_grid, instruments, params.depth_bp, params.one_sided_spread_bp
    )
    makers = presence(result.orders, result.trades, result.agents, snapshot_grid)
    return books.join(makers, on=["time", "venue", "instrument"], how="left")


def interval_features(
    result, timeline: Timeline, spec: str, per_snapshot: pl.DataFrame
) -> pl.DataFrame:
    """One row per listing and interval of kind `spec`: interval, day, slot, start, end, venue,
    instrument, the features' columns and the counts behind them (snapshots, trades)."""
    books = (
        timeline.assign(per_snapshot, spec)
        .group_by("day", "slot", "venue", "instrument")
        .agg(
            quoted_spread_bp=pl.col("spread_bp").mean(),
            depth_rupees=pl.col("depth_rupees").mean(),
            makers_two_sided=pl.col("makers_two_sided").mean(),
            snapshots=pl.len(),
        )
    )
    grid = timeline.intervals(spec).join(books, on=["day", "slot"])
    return activity(grid, result.trades, result.transfers, result.agents, timeline, spec)
