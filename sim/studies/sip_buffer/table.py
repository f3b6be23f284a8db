"""The study's table: per condition and buffer share, each outcome's mean over seeds with its
95% confidence interval (`sim.studies.sweep.summarize`: Student t over seeds).

Outcomes, per run, from the SIP cohort's metrics (`agents/sip.py`, group "sip"):

- absorption_value, absorption_units: the share of early-exit volume the pool bought, by value
  at the fair value of each request, and by units;
- book_share: the share of early-exit units sold on the book instead (the rest, to 1 -
  absorption, was still open at the end);
- book_shortfall_bp: the price impact of the exits sold on the book: volume-weighted, bp below
  the fair value when each sell was sent (``sip.exit_book_value_at_fair_paise`` against
  ``sip.exit_book_notional_paise``; null in a run where none traded);
- idle_buffer_rupees: the pool's mean free cash over the run's closes;
- carry_forgone_rupees: what that idle cash would have earned at `carry_rate` a year,
  ``sum over closes of free cash x carry_rate / 252``: the cost of the buffer sitting in cash;
- carry_forgone_bp: the same as bp of the SIP inflows over the run (which, as both scale with
  time, is also the yearly cost as bp of a year's inflows);
- utilisation: the pool's inventory at fair value over its capital, mean over closes.
"""

from __future__ import annotations

import polars as pl

from sim.studies.sweep import summarize

SHARE = "sip.buffer_fraction"
OUTCOMES = (
    "absorption_value",
    "absorption_units",
    "book_share",
    "book_shortfall_bp",
    "idle_buffer_rupees",
    "carry_forgone_rupees",
    "carry_forgone_bp",
    "utilisation",
    "exits",
)
TRADING_DAYS_PER_YEAR = 252


def outcomes(rows: pl.DataFrame, carry_rate: float) -> pl.DataFrame:
    """The sweep's rows (`sim.studies.sweep.sweep`) reduced to the study's outcomes, one row
    per (point, seed), in the layout `summarize` reads."""
    days = pl.col("summary.trading_days")
    idle_paise_days = pl.col("sip.pool_idle_cash_paise_days")
    requested = pl.col("sip.exit_units_requested")
    carry_paise = idle_paise_days * carry_rate / TRADING_DAYS_PER_YEAR
    at_fair, sold = (
        pl.col("sip.exit_book_value_at_fair_paise"),
        pl.col("sip.exit_book_notional_paise"),
    )
    fixed = ["point", SHARE, "seed", "status", "error", "wall_seconds"]
    return _with_metric_columns(rows).select(
        *fixed,
        absorption_value=pl.col("sip.absorption_rate_value"),
        absorption_units=pl.col("sip.absorption_rate_units"),
        book_share=pl.when(requested > 0).then(pl.col("sip.exit_units_sold") / requested),
        book_shortfall_bp=pl.when(at_fair > 0).then((at_fair - sold) / at_fair * 10_000),
        idle_buffer_rupees=idle_paise_days / days / 100,
        carry_forgone_rupees=carry_paise / 100,
        carry_forgone_bp=carry_paise / pl.col("sip.contributions_paise") * 10_000,
        utilisation=pl.col("sip.buffer_utilisation"),
        exits=pl.col("sip.exits"),
    )


def _with_metric_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows whose every run failed have no metric columns: add them as nulls."""
    needed = [
        "summary.trading_days",
        "sip.pool_idle_cash_paise_days",
        "sip.exit_units_requested",
        "sip.exit_units_sold",
        "sip.absorption_rate_value",
        "sip.absorption_rate_units",
        "sip.exit_book_value_at_fair_paise",
        "sip.exit_book_notional_paise",
        "sip.contributions_paise",
        "sip.buffer_utilisation",
        "sip.exits",
    ]
    missing = [pl.lit(None, pl.Float64).alias(name) for name in needed if name not in rows.columns]
    return rows.with_columns(missing) if missing else rows


def table(per_run: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per condition (the keys of `per_run`, each `outcomes`' frame) and share: n and each
    outcome's mean, ci_low and ci_high, in columns ``<outcome>_mean`` and so on."""
    frames = []
    for condition, runs in per_run.items():
        long = summarize(runs)
        wide = long.pivot(
            on="metric",
            index=["point", SHARE],
            values=["mean", "ci_low", "ci_high"],
            aggregate_function="first",
        )
        n = long.filter(pl.col("metric") == "absorption_value").select("point", n=pl.col("n"))
        renamed = {
            f"{stat}_{m}": f"{m}_{stat}" for stat in ("mean", "ci_low", "ci_high") for m in OUTCOMES
        }
        wide = wide.rename({k: v for k, v in renamed.items() if k in wide.columns})
        columns = [f"{m}_{stat}" for m in OUTCOMES for stat in ("mean", "ci_low", "ci_high")]
        wide = wide.with_columns(
            [pl.lit(None, pl.Float64).alias(c) for c in columns if c not in wide.columns]
        )
        frames.append(
            wide.join(n, on="point")
            .select(
                pl.lit(condition).alias("condition"),
                pl.col(SHARE).alias("buffer_share"),
                "n",
                *columns,
            )
            .sort("buffer_share")
        )
    return pl.concat(frames)


def markdown(frame: pl.DataFrame) -> str:
    """The table for a deck or RESULTS.md: the headline columns, rounded."""

    def ci(row: dict, name: str, scale: float = 1.0, digits: int = 0) -> str:
        mean = row[f"{name}_mean"]
        if mean is None:
            return "-"
        low, high = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        text = f"{mean * scale:.{digits}f}"
        if low is not None and high is not None:
            text += f" [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
        return text

    lines = [
        "| condition | buffer share | runs | absorbed, by value % [95% CI] | by units % "
        "| sold on the book % | book exits' shortfall, bp | idle buffer, Rs lakh "
        "| carry forgone, Rs | carry forgone, bp of inflows |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in frame.iter_rows(named=True):
        lines.append(
            f"| {row['condition']} | {row['buffer_share']:.2f} | {row['n']} "
            f"| {ci(row, 'absorption_value', 100, 1)} | {ci(row, 'absorption_units', 100, 1)} "
            f"| {ci(row, 'book_share', 100, 1)} | {ci(row, 'book_shortfall_bp', 1, 1)} "
            f"| {ci(row, 'idle_buffer_rupees', 1e-5, 2)} | {ci(row, 'carry_forgone_rupees')} "
            f"| {ci(row, 'carry_forgone_bp', 1, 1)} |"
        )
    return "\n".join(lines) + "\n"
