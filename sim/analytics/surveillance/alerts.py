"""The alert record: one row per suspected abuse, the same columns from every detector.

Columns (`ALERT_SCHEMA`; a regulator's report reads exactly these):

    detector    String   which detector raised it (`params.DETECTOR_NAMES`)
    agent       Int64    the account
    client      String   the client code(s) concerned, null when the account itself is the
                         owner (an omnibus account's investor: its code; a wash trade: the codes
                         on both sides, "1, 2")
    venue       String   null when the pattern spans venues
    instrument  String
    start, end  Int64    the pattern's first and last event, ns
    score       Float64  its strength, larger = stronger (each detector says what it measures)
    order_ids   List[Int64]  the orders that make the pattern (ids are per venue and instrument)
    trade_ids   List[Int64]  the trades that make it (trades.parquet's trade_id)
    evidence    String   one line for a reader: sizes, times, prices

Alerts are sorted by start, then detector, agent, client, venue, instrument and end, so the
same frames always give the same table. Evidence prints times as the run's wall clock and
prices in the instrument's own terms when its tick size is known, else in ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

ALERT_SCHEMA: dict[str, pl.DataType] = {
    "detector": pl.String(),
    "agent": pl.Int64(),
    "client": pl.String(),
    "venue": pl.String(),
    "instrument": pl.String(),
    "start": pl.Int64(),
    "end": pl.Int64(),
    "score": pl.Float64(),
    "order_ids": pl.List(pl.Int64),
    "trade_ids": pl.List(pl.Int64),
    "evidence": pl.String(),
}
ALERT_COLUMNS: tuple[str, ...] = tuple(ALERT_SCHEMA)
SORT_KEYS = ("start", "detector", "agent", "client", "venue", "instrument", "end")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def empty_alerts() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERT_SCHEMA)


def to_alerts(detector: str, found: pl.DataFrame, evidence: Callable[[dict], str]) -> pl.DataFrame:
    """`found` (a detector's rows with the alert columns but `detector` and `evidence`, and
    whatever else `evidence` reads) as alerts: `evidence(row)` writes each row's line."""
    if found.is_empty():
        return empty_alerts()
    lines = [evidence(row) for row in found.iter_rows(named=True)]
    return found.with_columns(
        detector=pl.lit(detector), evidence=pl.Series(lines, dtype=pl.String)
    ).select(pl.col(name).cast(dtype) for name, dtype in ALERT_SCHEMA.items())


def sort_alerts(alerts: pl.DataFrame) -> pl.DataFrame:
    return alerts.sort(SORT_KEYS, nulls_last=True, maintain_order=True)


def clock(time_ns: int) -> str:
    """A time as the run's wall clock, to the millisecond: "2024-03-04 15:22:03.125"."""
    moment = _EPOCH + timedelta(microseconds=time_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def hhmmss(time_ns: int) -> str:
    """The time of day alone: "15:22:03"."""
    return (_EPOCH + timedelta(microseconds=time_ns // 1000)).strftime("%H:%M:%S")


def seconds(duration_ns: int) -> str:
    return f"{duration_ns / 1e9:.1f} s"


class PriceFormat:
    """Ticks as the instrument's price ("100.12") where `instruments` (symbol, tick_size)
    gives its tick size, else as "10012 ticks"."""

    def __init__(self, instruments: pl.DataFrame | None) -> None:
        self._ticks: dict[str, Decimal] = {}
        if instruments is not None and {"symbol", "tick_size"} <= set(instruments.columns):
            for symbol, tick in instruments.select("symbol", "tick_size").iter_rows():
                self._ticks[str(symbol)] = Decimal(str(tick))

    def __call__(self, instrument: str | None, ticks: float | None) -> str:
        if ticks is None:
            return "none"
        tick = self._ticks.get(instrument)
        if tick is None:
            return f"{ticks:g} ticks"
        value = Decimal(str(ticks)) * tick
        return str(value.quantize(tick if value % tick == 0 else tick / 10))  # a mid: half a tick

    def range(self, instrument: str | None, low: float | None, high: float | None) -> str:
        """Prices from `low` to `high`: "100.10", or "100.10-100.14" when they differ."""
        if low == high:
            return self(instrument, low)
        return f"{self(instrument, low)}-{self(instrument, high)}"
