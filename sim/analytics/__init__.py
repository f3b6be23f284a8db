"""Metrics of a run, computed from its frames: plain dicts of numbers, ready for metrics.json.

:func:`compute_metrics` gathers the groups this package owns (market quality, stylized facts of
mid returns, agent PnL by kind); `sim.records.summary` adds the run's own groups to the same dict
(summary, ledger, events, and each population's). Cohorts (retail, SIP) are one agent each
in agents.parquet, so their investors' spread of PnL is in their own groups, not in
``pnl_by_kind``.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.market_quality import market_quality
from sim.analytics.stylized import (
    minute_mid_return_segments,
    minute_mid_returns,
    stylized_facts,
)

__all__ = [
    "compute_metrics",
    "market_quality",
    "minute_mid_return_segments",
    "minute_mid_returns",
    "pnl_by_kind",
    "stylized_facts",
]


def pnl_by_kind(agents: pl.DataFrame) -> dict:
    """Count, sum, mean and median of the agents' `pnl` column (its own unit) per `kind`, and
    the sums of its parts (the `pnl_*` columns of `sim.analytics.attribution`) where present."""
    parts = [c for c in agents.columns if c.startswith("pnl_")]
    table = (
        agents.group_by(pl.col("kind").cast(pl.String))
        .agg(
            count=pl.len(),
            pnl_sum=pl.col("pnl").sum(),
            pnl_mean=pl.col("pnl").mean(),
            pnl_median=pl.col("pnl").median(),
            **{f"{part}_sum": pl.col(part).sum() for part in parts},
        )
        .sort("kind")
    )
    return {
        row.pop("kind"): {key: _plain(value) for key, value in row.items()}
        for row in table.iter_rows(named=True)
    }


def _plain(value):
    """Counts and integer sums stay int; other numbers become float (NaN as None)."""
    if value is None or isinstance(value, int):
        return value
    value = float(value)
    return None if value != value else value


def compute_metrics(
    frames: dict[str, pl.DataFrame],
    agents: pl.DataFrame,
    instruments: pl.DataFrame | None = None,
) -> dict:
    """Market quality and stylized facts per instrument and venue, and PnL by agent kind.

    `frames` are the recorder's frames (quotes, trades and book are used); `instruments`
    (symbol, tick_size, unit_face_value), when given, adds notional turnover in rupees.
    """
    quotes = frames["quotes"]
    facts: dict[str, dict[str, dict]] = {}
    pairs = quotes.select(pl.col("instrument", "venue").cast(pl.String)).unique()
    for instrument, venue in pairs.sort("instrument", "venue").iter_rows():
        segments = minute_mid_return_segments(quotes, instrument, venue)
        facts.setdefault(instrument, {})[venue] = stylized_facts(segments)
    return {
        "market_quality": market_quality(quotes, frames["trades"], frames["book"], instruments),
        "stylized_facts": facts,
        "pnl_by_kind": pnl_by_kind(agents),
    }
