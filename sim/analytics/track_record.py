"""One account's track record in a run, from the run's records: its equity curve and daily
returns, what it traded and held, and the figures a backtest reports.

- **Equity** at each close is the account's cash plus its positions at the published
  valuation (`accounts`, recorded by the kernel: the valuation agents.parquet's PnL uses with
  ``recording.marks = "fair_value"``). Before the first close it is the account's capital
  (agents.parquet `capital`: its endowment at the first valuation). An account given money
  during the run (a deposit) would show it as a gain: strategies are not.
- **Daily returns** are simple returns of the equity from close to close, the first from the
  capital: one per trading day, as `sim.analytics.performance` expects (252 a year).
- **Fills**: every trade of the account, maker or taker, with its side (+1 bought, -1 sold) and
  its clean notional in paise (price in ticks times the instrument's tick value times units).
- **Turnover**: clean notional traded over the mean equity at the closes.
- **Inventory**: units held of each bond beyond the starting holding, after each of its fills:
  the largest gross (summed over bonds, absolute) and the gross at the end.
- **Scored days**: a walk-forward backtest scores its test windows alone. The performance
  figures and ``pnl_rupees`` are then over those days (the P&L the sum of their daily
  changes); the P&L's parts, what it traded and held stay over the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from sim.analytics import performance


def _account(frame: pl.DataFrame, agent: int) -> pl.DataFrame:
    return frame.filter(pl.col("agent") == agent)


def capital(result, agent: int) -> int:
    """The account's capital (paise): its endowment at the first valuation, plus deposits."""
    row = _account(result.agents, agent)
    if row.is_empty():
        raise ValueError(f"{result.run_id}: no agent {agent}")
    return int(row["capital"].item())


def equity_curve(result, agent: int) -> pl.DataFrame:
    """(day, time, cash, positions_value, equity, pnl) at each close, paise; ``pnl`` is the
    equity less the capital."""
    start = capital(result, agent)
    rows = _account(result.accounts, agent).sort("time")
    return rows.select(
        pl.int_range(pl.len()).alias("day"),
        "time",
        "cash",
        "positions_value",
        (pl.col("cash") + pl.col("positions_value")).alias("equity"),
    ).with_columns((pl.col("equity") - start).alias("pnl"))


def daily_returns(curve: pl.DataFrame, start: int) -> np.ndarray:
    """Close-to-close simple returns of `curve`'s equity, the first from `start` (the
    capital); NaN where the equity before was not positive."""
    equity = curve["equity"].to_numpy().astype(np.float64)
    before = np.concatenate(([float(start)], equity[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before > 0, equity / before - 1.0, np.nan)


def fills(result, agent: int) -> pl.DataFrame:
    """(time, venue, instrument, side, qty, price, notional) of every trade of the account."""
    instruments = result.instruments
    symbols = instruments["symbol"].cast(pl.String)
    tick_value = dict(zip(symbols, _tick_values(instruments), strict=True))
    trades = result.trades.filter(
        (pl.col("maker_agent") == agent) | (pl.col("taker_agent") == agent)
    )
    taker_side = pl.col("aggressor_side").cast(pl.Int64)
    side = pl.when(pl.col("taker_agent") == agent).then(taker_side).otherwise(-taker_side)
    value = pl.col("instrument").cast(pl.String).replace_strict(tick_value, return_dtype=pl.Int64)
    return trades.sort("time").select(
        "time",
        pl.col("venue").cast(pl.String),
        pl.col("instrument").cast(pl.String),
        side.alias("side"),
        "qty",
        "price",
        (pl.col("price") * value * pl.col("qty")).alias("notional"),
    )


def _tick_values(instruments: pl.DataFrame) -> list[int]:
    """Paise one tick is worth on a unit: tick size (per 100 face) of the unit's face value."""
    ticks = instruments["tick_size"].cast(pl.Float64).to_list()
    faces = instruments["unit_face_value"].to_list()
    return [round(tick * face) for tick, face in zip(ticks, faces, strict=True)]


def inventory(traded: pl.DataFrame) -> dict[str, int]:
    """The largest gross inventory after a fill (units beyond the start, absolute, summed over
    bonds) and the gross inventory at the end."""
    if traded.is_empty():
        return {"max_inventory_units": 0, "final_inventory_units": 0}
    held: dict[str, int] = {}
    gross, peak = 0, 0
    for symbol, side, qty in traded.select("instrument", "side", "qty").iter_rows():
        before = held.get(symbol, 0)
        held[symbol] = before + side * qty
        gross += abs(held[symbol]) - abs(before)
        peak = max(peak, gross)
    return {"max_inventory_units": peak, "final_inventory_units": gross}


def track_record(
    result,
    agent: int,
    periods_per_year: float = performance.DAILY_PERIODS_PER_YEAR,
    scored: Sequence[bool] | None = None,
) -> dict[str, float | int]:
    """Every figure of the account's run as one flat dict: `performance.summary` of its daily
    returns on the `scored` days (default: every day); ``days`` and ``scored_days``;
    ``pnl_rupees`` (over the scored days) and its parts (agents.parquet, the whole run);
    ``orders``, ``fills``, ``traded_rupees``, ``turnover``; the inventory figures."""
    start = capital(result, agent)
    curve = equity_curve(result, agent)
    returns = daily_returns(curve, start)
    mask = np.ones(curve.height, bool) if scored is None else np.asarray(scored, bool)
    if mask.shape != (curve.height,):
        raise ValueError(f"scored needs one flag per day ({curve.height}), got {mask.shape}")
    changes = np.diff(curve["pnl"].to_numpy(), prepend=0)
    traded = fills(result, agent)
    row: Mapping = _account(result.agents, agent).row(0, named=True)
    mean_equity = float(curve["equity"].mean()) if curve.height else float(start)
    notional = int(traded["notional"].sum()) if traded.height else 0
    return {
        **performance.summary(returns[mask], periods_per_year),
        "days": curve.height,
        "scored_days": int(mask.sum()),
        "capital_rupees": start / 100,
        "pnl_rupees": int(changes[mask].sum()) / 100,
        **{f"{k}_rupees": row[k] / 100 for k in row if k.startswith("pnl_")},
        "orders": int(row["orders"]),
        "fills": traded.height,
        "traded_rupees": notional / 100,
        "turnover": notional / mean_equity if mean_equity > 0 else float("nan"),
        **inventory(traded),
    }
