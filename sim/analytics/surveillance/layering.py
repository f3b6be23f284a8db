"""Layering: several resting orders at different prices on one side of a book, all cancelled
soon, while their owner trades the other way.

The orders are `spoofing.quick_cancels` of any size: resting limit orders cancelled within
`spoof_max_lifetime_seconds`, at most `spoof_max_fill_share` filled. One owner's on one side of
one book, placed at most `spoof_episode_gap_seconds` apart, are a layer set; a set of at least
`layering_min_levels` distinct prices is layering when the owner traded the instrument on the
other side (any venue) between the set's first placement and `spoof_grace_seconds` after its
last cancel. One alert per set. Score: the set's size as a multiple of its book's median order.
"""

from __future__ import annotations

import polars as pl

from sim.analytics.surveillance.activity import Activity
from sim.analytics.surveillance.alerts import clock, hhmmss, to_alerts
from sim.analytics.surveillance.params import SurveillanceParams
from sim.analytics.surveillance.spoofing import SIDE_WORDS, TRADED_WORDS, episodes, quick_cancels


def layering(activity: Activity, params: SurveillanceParams) -> pl.DataFrame:
    found = episodes(quick_cancels(activity, params), activity, params).filter(
        pl.col("levels") >= params.layering_min_levels
    )
    prices = activity.prices

    def evidence(row: dict) -> str:
        instrument, side = row["instrument"], row["side"]
        return (
            f"{row['levels']} {SIDE_WORDS[side]} levels at "
            f"{prices.range(instrument, row['low_price'], row['high_price'])}, {row['size']} "
            f"units in {len(row['order_ids'])} orders placed from {clock(row['start'])}, all "
            f"cancelled by {hhmmss(row['end'])} ({row['score']:.1f}x the book's median order of "
            f"{row['median_qty']:g}); meanwhile {TRADED_WORDS[-side]} {row['traded']} units in "
            f"{row['trades']} trades at {prices.range(instrument, row['low'], row['high'])}"
        )

    return to_alerts("layering", found, evidence)
