"""`pulse`: a run's Liquidity Pulse as one frame, a row per listing and interval.

The frame's columns (the modules named say exactly how each is measured):

- where and when: ``interval`` ("1h", "1d", ... from `PulseParams.intervals`), ``day`` (trading
  day, 0-based), ``slot`` (the interval's place in its day), ``start`` and ``end`` (ns; the
  interval is ``(start, end]``), ``instrument``, ``venue`` (a venue's book, or "all": the
  venues' consolidated book), ``issuer``, ``sector``, ``sector_group`` (`sim.pulse.sectors`),
  ``rating`` and ``grade`` (the issuer's, as published that day: `sim.pulse.credit`);
- the liquidity features (`sim.pulse.features`): ``quoted_spread_bp``, ``depth_rupees``,
  ``makers_two_sided``, ``turnover_velocity``, ``minutes_since_trade``, ``order_imbalance``,
  ``sip_activity``, and the counts behind them, ``snapshots`` and ``trades``;
- ``liquidity`` (0–100, `sim.pulse.liquidity`), ``repayment`` (0–100, the issuer's that day,
  `sim.pulse.repayment`) and ``score`` (0–100, `sim.pulse.combined`), each with
  ``<name>_uncertainty`` (a standard deviation in index points), ``<name>_points`` (a struct:
  every feature's points, the index being 50 plus their sum, `sim.pulse.scoring`) and
  ``<name>_drivers`` (the largest three: a list of {feature, points}).

Rows are sorted by interval, start, instrument and venue. The same run and params give the
same frame, bit for bit. A run without rated bonds has no repayment index, so its repayment
and score columns are null.
"""

from __future__ import annotations

import polars as pl

from sim.pulse.combined import combine
from sim.pulse.features import snapshot_features
from sim.pulse.liquidity import liquidity_index
from sim.pulse.params import PulseParams
from sim.pulse.repayment import REPAYMENT_FEATURES, repayment_index

COLUMNS = (
    "interval", "day", "slot", "start", "end", "instrument", "venue", "issuer", "sector",
    "sector_group", "rating", "grade",
    "quoted_spread_bp", "depth_rupees", "makers_two_sided", "turnover_velocity",
    "minutes_since_trade", "order_imbalance", "sip_activity", "snapshots", "trades",
    "liquidity", "liquidity_uncertainty", "liquidity_points", "liquidity_drivers",
    "repayment", "repayment_uncertainty", "repayment_points", "repayment_drivers",
    "score", "score_uncertainty", "score_points", "score_drivers",
)  # fmt: skip


def pulse(result, params: PulseParams | None = None) -> pl.DataFrame:
    """The Liquidity Pulse of `result` (a `sim.Result`): see the module's docstring."""
    params = params or PulseParams()
    per_snapshot = snapshot_features(result, params)
    liquidity = liquidity_index(result, params, per_snapshot)
    if result.instruments["rating"].is_not_null().any():
        repayment = repayment_index(result, params, per_snapshot)
    else:
        repayment = _no_repayment(liquidity)
    return (
        combine(liquidity, repayment, result.instruments, params.weights)
        .select(COLUMNS)
        .sort("interval", "start", "instrument", "venue")
    )


def _no_repayment(liquidity: pl.DataFrame) -> pl.DataFrame:
    """A repayment frame that matches no row: its columns typed as a real one's, no rows."""
    return pl.DataFrame(
        schema={
            "day": pl.Int32,
            "issuer": pl.String,
            "repayment": pl.Float64,
            "repayment_uncertainty": pl.Float64,
            "repayment_points": pl.Struct({f.name: pl.Float64 for f in REPAYMENT_FEATURES}),
            "repayment_drivers": liquidity.schema["liquidity_drivers"],
            "rating": pl.String,
            "grade": pl.String,
        }
    )
