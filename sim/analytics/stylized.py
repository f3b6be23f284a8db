"""Stylized facts of one-minute mid-price returns: fat tails, no linear memory, clustering.

Mid prices are sampled on a one-minute grid per trading day. Quotes are recorded on every change,
so the quote in force at the end of a minute is the last one at or before it (carried forward
through quiet minutes, which then return exactly 0). A minute whose quote in force is one-sided
has no mid. Returns are log differences of consecutive minutes' mids within one day: never across
the overnight gap, and never across a minute without a mid.

Returns come in *segments*: runs of consecutive minutes within one day. Pooling over days, seeds
or instruments is done by passing all their segments to :func:`stylized_facts`: moments
(mean, variance, kurtosis) use the concatenated sample, while lagged products for the
autocorrelations are only formed within a segment, so no pair of returns straddles a gap.

A trading day is a calendar day of the clock (``time // 86_400 s``): sessions must not cross
midnight in the clock's time zone, which holds for IST sessions on a UTC clock and for LOBSTER.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from sim.units import NS_PER_DAY, NS_PER_MINUTE

MAX_LAG = 10


def minute_mids(quotes: pl.DataFrame, instrument: str, venue: str | None = None) -> pl.DataFrame:
    """Mid price (in ticks) at the end of every minute of every day that has quotes.

    Columns: day, minute (both int64, minutes counted from the clock's epoch) and mid (Float64,
    null where the quote in force is one-sided). The grid runs from the first to the last minute
    with a quote on each day. `venue` may be None only when the instrument has one venue.
    """
    rows = quotes.filter(pl.col("instrument").cast(pl.String) == instrument)
    if venue is not None:
        rows = rows.filter(pl.col("venue").cast(pl.String) == venue)
    elif "venue" in rows.columns:
        venues = rows["venue"].cast(pl.String).unique().sort().to_list()
        if len(venues) > 1:
            raise ValueError(
                f"{instrument} is quoted on several venues ({', '.join(venues)}); pass venue="
            )
    rows = rows.select(
        "time", day=pl.col("time") // NS_PER_DAY, mid=(pl.col("bid") + pl.col("ask")) / 2
    ).sort("time")
    grid = (
        rows.group_by("day")
        .agg(
            pl.int_ranges(
                pl.col("time").min() // NS_PER_MINUTE, pl.col("time").max() // NS_PER_MINUTE + 1
            ).alias("minute")
        )
        .explode("minute")
        .with_columns(pl.col("minute").cast(pl.Int64))
        .with_columns(end=(pl.col("minute") + 1) * NS_PER_MINUTE - 1)
        .sort("end")
    )
    # The quote in force at the end of each minute: the last one at or before it, that day.
    # Both sides are sorted by time overall, hence within each day.
    return (
        grid.join_asof(rows, left_on="end", right_on="time", by="day", check_sortedness=False)
        .sort("day", "minute")
        .select("day", "minute", "mid")
    )


def minute_mid_return_segments(
    quotes: pl.DataFrame, instrument: str, venue: str | None = None
) -> list[np.ndarray]:
    """One-minute log mid returns as runs of consecutive minutes within a day (see module doc)."""
    mids = minute_mids(quotes, instrument, venue)
    segments: list[np.ndarray] = []
    for (_,), day in mids.partition_by("day", as_dict=True, maintain_order=True).items():
        log_mid = np.log(day["mid"].to_numpy().astype(float))  # null -> NaN
        returns = np.diff(log_mid)
        valid = np.isfinite(returns)
        # Split where a return is missing: the runs between gaps are the segments.
        edges = np.flatnonzero(np.diff(np.concatenate(([False], valid, [False])).astype(np.int8)))
        segments.extend(returns[start:stop] for start, stop in edges.reshape(-1, 2))
    return segments


def minute_mid_returns(
    quotes: pl.DataFrame, instrument: str, venue: str | None = None
) -> np.ndarray:
    """One-minute log mid returns of an instrument, all days concatenated (see module doc)."""
    segments = minute_mid_return_segments(quotes, instrument, venue)
    return np.concatenate(segments) if segments else np.empty(0)


def _segments(returns: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(returns, np.ndarray) and returns.ndim == 1:
        returns = [returns]
    segments = [np.asarray(segment, dtype=float) for segment in returns]
    for segment in segments:
        if segment.ndim != 1 or not np.isfinite(segment).all():
            raise ValueError("returns must be 1-d arrays of finite numbers")
    return segments


def autocorrelation(returns: np.ndarray | Sequence[np.ndarray], lags: int = MAX_LAG) -> dict:
    """Sample autocorrelation at lags 1..`lags`, pooled over segments (see module doc).

    ``acf(k) = Σ_segments Σ_t (r_t − m)(r_{t+k} − m) / Σ (r_t − m)²`` with ``m`` the pooled mean;
    for one segment this is the usual (biased) estimator. Keys are "1".."lags" (JSON-ready);
    a lag with no pair of returns, or a zero variance, gives None.
    """
    segments = _segments(returns)
    pooled = np.concatenate(segments) if segments else np.empty(0)
    centred = [segment - pooled.mean() for segment in segments] if pooled.size else []
    denominator = sum(float(np.dot(c, c)) for c in centred)
    acf: dict[str, float | None] = {}
    for lag in range(1, lags + 1):
        pairs = sum(max(len(c) - lag, 0) for c in centred)
        if pairs == 0 or denominator == 0:
            acf[str(lag)] = None
            continue
        numerator = sum(float(np.dot(c[:-lag], c[lag:])) for c in centred if len(c) > lag)
        acf[str(lag)] = numerator / denominator
    return acf


def _excess_kurtosis(x: np.ndarray) -> float:
    """m4 / m2^2 - 3 with population moments (scipy.stats.kurtosis's default), written out
    because importing scipy.stats costs a quarter of a second per run."""
    centred = x - x.mean()
    m2 = float(np.mean(centred**2))
    return float(np.mean(centred**4)) / (m2 * m2) - 3.0


def stylized_facts(returns: np.ndarray | Sequence[np.ndarray], lags: int = MAX_LAG) -> dict:
    """Excess kurtosis, autocorrelation of returns and of absolute returns, sample size.

    `returns` is one array (one contiguous series) or a sequence of segments. Pooling over seeds
    concatenates their segments; note that mixing runs of different volatility itself adds
    kurtosis. Values are None when the sample is too small.
    """
    segments = _segments(returns)
    pooled = np.concatenate(segments) if segments else np.empty(0)
    excess = _excess_kurtosis(pooled) if pooled.size >= 4 and pooled.std() > 0 else None
    return {
        "n": int(pooled.size),
        "excess_kurtosis": excess,
        "acf_returns": autocorrelation(segments, lags),
        "acf_abs_returns": autocorrelation([np.abs(s) for s in segments], lags),
    }


# ABIDES' RMSC04 day as the design card reports it: excess kurtosis about 4 (per-seed median),
# lag-1 autocorrelation +0.27, clustering that fades after lag 3. Only these are known.
ABIDES_RMSC04 = {"series": "ABIDES RMSC04 (design card)", "excess_kurtosis": 4.0, "acf_1": 0.27}


def comparison_table(series: dict[str, Sequence[np.ndarray]], abides: bool = True) -> pl.DataFrame:
    """Stylized facts of several return samples side by side, one row each: bondlab runs, the
    LOBSTER days (`lobster_segments`), and by default ABIDES' RMSC04 figures.

    `series` maps a row's name to its return segments (`minute_mid_return_segments`, pooled
    over seeds by concatenating the lists). Columns: series, n, excess_kurtosis, acf_1 (returns
    at lag 1), acf_2_5 (lags 2 to 5) and abs_acf_1_10 (absolute returns at lags 1 to 10), null
    where a figure is not known or the sample is too small.
    """
    rows = []
    for name, segments in series.items():
        facts = stylized_facts(segments)
        acf, abs_acf = facts["acf_returns"], facts["acf_abs_returns"]
        rows.append(
            {
                "series": name,
                "n": facts["n"],
                "excess_kurtosis": facts["excess_kurtosis"],
                "acf_1": acf.get("1"),
                "acf_2_5": [acf.get(str(k)) for k in range(2, 6)],
                "abs_acf_1_10": [abs_acf.get(str(k)) for k in range(1, MAX_LAG + 1)],
            }
        )
    if abides:
        rows.insert(0, {**ABIDES_RMSC04, "n": None, "acf_2_5": None, "abs_acf_1_10": None})
    schema = {
        "series": pl.String,
        "n": pl.Int64,
        "excess_kurtosis": pl.Float64,
        "acf_1": pl.Float64,
        "acf_2_5": pl.List(pl.Float64),
        "abs_acf_1_10": pl.List(pl.Float64),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def lobster_segments(message_file) -> list[np.ndarray]:
    """The one-minute mid return segments of a LOBSTER day (its order book file beside it)."""
    from sim.analytics.lobster import read_lobster_quotes

    quotes = read_lobster_quotes(message_file)  # its instrument is the day's ticker
    return minute_mid_return_segments(quotes, quotes["instrument"][0])
