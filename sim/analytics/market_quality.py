"""Market quality per instrument and venue: spread, depth, volatility, turnover, price impact.

All functions take the recorder's frames (prices in ticks, quantities in units, times in ns) and
return plain JSON-ready dicts; a statistic that cannot be computed (no quotes, no trades, too
few minutes) is None.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import polars as pl

from sim.analytics.stylized import minute_mid_return_segments, minute_mids
from sim.units import NS_PER_DAY, NS_PER_MINUTE

TOP_LEVELS = 5


def _number(value) -> float | None:
    """A finite float, or None for missing/NaN/inf."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pick(frame: pl.DataFrame, instrument: str, venue: str) -> pl.DataFrame:
    return frame.filter(
        (pl.col("instrument").cast(pl.String) == instrument)
        & (pl.col("venue").cast(pl.String) == venue)
    )


def spread_and_depth(quotes: pl.DataFrame) -> dict:
    """Quoted spread (ticks and bps of mid) and depth at best, from L1 quotes of one book.

    Means and medians weigh every quote update equally; ``spread_ticks_time_weighted`` weighs
    each two-sided quote by how long it stood (until the next update the same day; the last
    quote of a day has no known duration and weighs nothing). Depth at best is bid_qty + ask_qty
    (an empty side counts 0), averaged over updates.
    """
    rows = (
        quotes.sort("time", maintain_order=True)
        .with_columns(
            spread=(pl.col("ask") - pl.col("bid")).cast(pl.Float64),
            mid=(pl.col("ask") + pl.col("bid")) / 2,
            depth=pl.col("bid_qty").fill_null(0) + pl.col("ask_qty").fill_null(0),
            duration=(pl.col("time").shift(-1) - pl.col("time"))
            .over(pl.col("time") // NS_PER_DAY)
            .fill_null(0),
        )
        .with_columns(spread_bps=pl.col("spread") / pl.col("mid") * 1e4)
    )
    two_sided = rows.drop_nulls("spread")
    weight = two_sided["duration"].sum()
    weighted = (two_sided["spread"] * two_sided["duration"]).sum() / weight if weight else None
    return {
        "quote_count": rows.height,
        "spread_ticks_mean": _number(two_sided["spread"].mean()),
        "spread_ticks_median": _number(two_sided["spread"].median()),
        "spread_ticks_time_weighted": _number(weighted),
        "spread_bps_mean": _number(two_sided["spread_bps"].mean()),
        "spread_bps_median": _number(two_sided["spread_bps"].median()),
        "depth_best_mean": _number(rows["depth"].mean()),
    }


def depth_top(book: pl.DataFrame, levels: int = TOP_LEVELS) -> float | None:
    """Mean total quantity (both sides) in the best `levels` levels of the L2 snapshots."""
    per_snapshot = (
        book.filter(pl.col("level") <= levels).group_by("time").agg(pl.col("qty").sum())["qty"]
    )
    return _number(per_snapshot.mean())


def turnover(trades: pl.DataFrame, tick_size: float | None, unit_face_value: float | None):
    """Trade count, traded quantity and notional (ticks × units, and rupees when known)."""
    notional_ticks = (trades["price"] * trades["qty"]).sum() if trades.height else 0
    rupees = None
    if tick_size is not None and unit_face_value is not None:
        # price per 100 face = ticks * tick_size, so one unit is worth that * face / 100.
        rupees = float(notional_ticks) * tick_size * unit_face_value / 100
    return {
        "trade_count": trades.height,
        "turnover_qty": int(trades["qty"].sum()) if trades.height else 0,
        "turnover_notional_ticks": int(notional_ticks),
        "turnover_notional_rupees": rupees,
    }


def kyle_lambda(quotes: pl.DataFrame, trades: pl.DataFrame, instrument: str, venue: str) -> dict:
    """Price impact: OLS of the 1-minute mid change (ticks) on 1-minute signed volume (units).

    Signed volume is Σ aggressor_side × qty of the trades in the minute (0 when none); the mid
    change is between the quotes in force at the ends of consecutive minutes of one day. Returns
    the slope (ticks per unit, Kyle's lambda), its R² and the number of minutes used.
    """
    mids = minute_mids(quotes, instrument, venue)
    flow = (
        _pick(trades, instrument, venue)
        .with_columns(minute=pl.col("time") // NS_PER_MINUTE)
        .group_by("minute")
        .agg(signed_volume=(pl.col("aggressor_side").cast(pl.Int64) * pl.col("qty")).sum())
    )
    sample = (
        mids.with_columns(change=pl.col("mid").diff().over("day"))
        .join(flow, on="minute", how="left")
        .drop_nulls("change")
    )
    y = sample["change"].to_numpy()
    x = sample["signed_volume"].fill_null(0).to_numpy().astype(float)
    if len(x) < 3 or np.var(x) == 0:
        return {"kyle_lambda": None, "kyle_lambda_r2": None, "kyle_lambda_n": len(x)}
    slope = np.cov(x, y, bias=True)[0, 1] / np.var(x)
    r2 = np.corrcoef(x, y)[0, 1] ** 2 if np.var(y) > 0 else None
    return {"kyle_lambda": _number(slope), "kyle_lambda_r2": _number(r2), "kyle_lambda_n": len(x)}


def volatility(quotes: pl.DataFrame, instrument: str, venue: str) -> dict:
    """Standard deviation of 1-minute log mid returns (not annualised) and their count."""
    segments = minute_mid_return_segments(quotes, instrument, venue)
    returns = np.concatenate(segments) if segments else np.empty(0)
    sd = float(np.std(returns, ddof=1)) if returns.size >= 2 else None
    return {"volatility_1min": _number(sd), "returns_1min_n": int(returns.size)}


def _sizes(instruments: pl.DataFrame | None) -> dict[str, tuple[float, float]]:
    if instruments is None:
        return {}
    return {
        str(row["symbol"]): (float(Decimal(str(row["tick_size"]))), float(row["unit_face_value"]))
        for row in instruments.iter_rows(named=True)
    }


def market_quality(
    quotes: pl.DataFrame,
    trades: pl.DataFrame,
    book: pl.DataFrame,
    instruments: pl.DataFrame | None = None,
) -> dict:
    """All market-quality statistics, as ``{instrument: {venue: {name: value}}}``.

    `instruments` (symbol, tick_size, unit_face_value) adds the notional turnover in rupees.
    """
    keys = pl.concat(
        [frame.select(pl.col("instrument", "venue").cast(pl.String)) for frame in (quotes, trades)]
    )
    sizes = _sizes(instruments)
    out: dict[str, dict[str, dict]] = {}
    for instrument, venue in keys.unique().sort("instrument", "venue").iter_rows():
        book_quotes = _pick(quotes, instrument, venue)
        book_trades = _pick(trades, instrument, venue)
        tick_size, face = sizes.get(instrument, (None, None))
        out.setdefault(instrument, {})[venue] = {
            **spread_and_depth(book_quotes),
            "depth_top5_mean": depth_top(_pick(book, instrument, venue)),
            **volatility(book_quotes, instrument, venue),
            **turnover(book_trades, tick_size, face),
            **kyle_lambda(book_quotes, book_trades, instrument, venue),
        }
    return out
