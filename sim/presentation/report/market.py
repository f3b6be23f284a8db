"""The ``market-quality`` section: each bond's book on each venue (spread, depth, volatility,
turnover, price impact), as `sim.analytics.market_quality` measured it when the run was written
(metrics.json's ``market_quality``), and the prices against fair value over the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.presentation.report.formats import number, rupees
from sim.presentation.report.model import Figure, Section, table

COLUMNS = (
    "bond", "venue", "quotes", "spread (ticks, time-weighted)", "spread (bp, mean)",
    "depth at best (units)", "depth top 5 (units)", "1-min volatility", "trades",
    "turnover (units)", "turnover (₹)", "Kyle's λ (ticks/unit)",
)  # fmt: skip


def market_quality_section(
    quality: Mapping[str, Mapping[str, Mapping[str, Any]]], figure: Figure | None
) -> Section:
    """The section of `quality` (``{bond: {venue: statistics}}``, `market_quality`'s output)
    and the price `figure` (None: the run has no bonds to draw)."""
    rows = []
    for bond, venues in sorted(quality.items()):
        for venue, s in sorted(venues.items()):
            notional = s.get("turnover_notional_rupees")
            rows.append((
                bond, venue, number(s.get("quote_count")),
                number(s.get("spread_ticks_time_weighted"), 3), number(s.get("spread_bps_mean"), 3),
                number(s.get("depth_best_mean"), 4), number(s.get("depth_top5_mean"), 4),
                number(s.get("volatility_1min"), 3), number(s.get("trade_count")),
                number(s.get("turnover_qty")),
                None if notional is None else rupees(notional * 100),
                number(s.get("kyle_lambda"), 3),
            ))  # fmt: skip
    books = sum(len(venues) for venues in quality.values())
    return Section(
        id="market-quality",
        lead=(
            f"{books} books ({len(quality)} bonds across their venues). Spreads are quoted "
            "ask minus bid; depth is the quantity displayed; volatility is the standard "
            "deviation of one-minute log mid returns; Kyle's λ is the one-minute mid change "
            "per unit of signed order flow.",
        ),
        tables=(table(COLUMNS, rows, caption="Each bond on each venue, over the run"),),
        figures=() if figure is None else (figure,),
        notes=(
            "From metrics.json (sim.analytics.market_quality, computed from the run's frames "
            "as it was written; the file's sha256 is in the manifest). A dash: not measurable "
            "(no two-sided quote, no trade, too few minutes).",
        ),
    )
